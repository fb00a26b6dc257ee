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
  std::size_t violations = 0;       // keys with no linearization
  std::size_t inconclusive = 0;     // keys whose search ran out of steps
  std::uint64_t steps = 0;          // search steps over all keys
  std::vector<KeyFailure> failures; // the first few (at most 10), violations first
  bool ok() const noexcept { return violations == 0 && inconclusive == 0; }
};

// Checks `history` as described above. Throws std::invalid_argument for a malformed history:
// a completed operation without response_ns, a response_ns before invoke_ns, a result kind
// kUnknown when completed (or another when not), or a result the operation cannot return
// (a get answering with a flag, not_a_number from anything but add, ...).
CheckReport check_linearizable(const std::vector<Operation> &history,
                               const CheckOptions &options = {});

} // namespace shmtable::stress
