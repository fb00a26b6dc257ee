// stress/checker.hpp: a linearizability checker for the table's per-key operations.
//
// The table is a map, and a map's operations on distinct keys commute, so a history is
// linearizable iff each key's sub-history is (locality; Herlihy & Wing 1990). The checker
// splits the history by key and searches each key's sub-history for a linearization with
// Wing & Gong's algorithm, pruned with Lowe's memoisation of (linearized set, state)
// pairs, the linearized set held as an incremental 128-bit Zobrist hash.
//
// The sequential specification (the state of a key is "absent" or a byte string; every
// key starts absent):
//   get -> the value, or absent          set(v) -> ok; state v
//   erase -> was present; state absent   contains -> is present
//   add(d) -> new value n: state absent counts as 0; the state, read as a decimal signed
//      64-bit integer, plus d is n, and the state becomes n as text. If the state is not
//      such an integer (full match of std::from_chars) or the sum overflows, the result
//      is error "not_a_number" and nothing changes.
//   compare_and_set(e, d) -> state == e; if so the state becomes d
//   set_if_absent(v) -> state absent; if so the state becomes v
//   clear: not atomic across keys. For each key it is one erase at some point within
//      its interval (a key present throughout is erased), plus up to k further optional
//      erases, k the number of writes to that key that overlap it (a slot-by-slot clear
//      may meet a key again after it was erased and re-inserted).
//   Errors (each has no effect; an error an operation cannot return fails its key):
//      key_too_large: any operation with a key, in any state. value_too_large: set, add,
//      compare_and_set, set_if_absent, in any state (the driver checks the limits and
//      that the table was left as it was).
//      table_full: only an operation that would insert the key (set, add,
//      set_if_absent), at a point where the key is absent: per-key decomposition cannot
//      judge whether the table was full, but it can judge that there was nothing to
//      replace. With CheckOptions::buffers_may_run_out (a lock-free run whose crashes
//      may have leaked more record buffers than the pool's reserve), set, add and
//      compare_and_set may also fail so on a present key (no buffer for the new value).
//   An operation that did not complete may take effect once, at a point between its
//      invocation and its response_ns bound (or any time after, if none), or never.
//   Expiry: set, set_if_absent and add may carry a ttl (Operation::ttl_ns). What such a
//      set or set_if_absent stores, and the key such an add creates, has a deadline, and
//      the entry vanishes (the key becomes absent) at it: a moment the history does not
//      record, but bounds through its readings of the table clock (checker_expiry.hpp:
//      present to every operation that read the clock short of the earliest deadline
//      possible, absent to every one that read it at the latest or past, either in
//      between). add and compare_and_set keep the entry's deadline; a set without ttl
//      stores an entry without one.
//   Evictions: with CheckOptions::eviction_budget E, up to E spontaneous erases of a
//      present key ("an erase by nobody": a set of a new key into a full table may evict
//      another) in the whole history. Each key's search uses as few as it can (0, then 1,
//      ...); the history passes if their sum is at most E.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "operation.hpp"

namespace shmtable::stress {

struct CheckOptions {
  // Search steps allowed per key before the key is reported inconclusive (neither
  // proven linearizable nor shown not to be). 0: no limit.
  std::uint64_t max_steps_per_key = 100'000'000;
  // Worker threads for checking keys in parallel; 0 = hardware threads.
  unsigned threads = 0;
  // Whether record buffers may have run out (see "Errors" above).
  bool buffers_may_run_out = false;
  // Spontaneous erases allowed in the whole history (see "Evictions" above): the
  // evictions the table counted (TableStats::evictions) during it.
  std::uint64_t eviction_budget = 0;
};

struct KeyFailure {
  std::string key;
  bool inconclusive = false; // step budget ran out; otherwise a proven violation
  // Human-readable: the operation no linearization could get past, with its interval,
  // the operations concurrent with it, and the state(s) the longest linearized prefix
  // reached. Enough to find the operations in the JSON lines.
  std::string explanation;
};

struct CheckReport {
  std::size_t operations = 0; // operations checked (after expanding clear per key)
  std::size_t keys = 0;
  std::size_t violations = 0;   // keys with no linearization
  std::size_t inconclusive = 0; // keys whose search ran out of steps
  std::uint64_t steps = 0;      // search steps over all keys
  // Spontaneous erases the linearizations found use, over the keys that have one; more
  // than CheckOptions::eviction_budget is a violation of the history as a whole (counted
  // in `violations` as one, with a failure of key "" that lists the keys that use them).
  std::uint64_t evictions = 0;
  std::uint64_t eviction_budget = 0;
  std::vector<KeyFailure> failures; // the first few (at most 10), violations first
  bool ok() const noexcept { return violations == 0 && inconclusive == 0; }
};

// Checks `history` as described above. Throws std::invalid_argument for a malformed history:
// a completed operation without response_ns, a response_ns before invoke_ns (or a
// response_clock_ns before invoke_clock_ns), a ttl without invoke_clock_ns, a result kind
// kUnknown when completed (or another when not), or a result the operation cannot return
// (a get answering with a flag, not_a_number from anything but add, ...).
CheckReport check_linearizable(const std::vector<Operation> &history,
                               const CheckOptions &options = {});

} // namespace shmtable::stress
