// shmtable/lockfree_table.hpp: the lock-free engine.
//
// The contract of every engine (shmtable/table.hpp), with no lock anywhere on the data
// path:
//  - Every slot is a 16-byte control word {version, state, fingerprint, bound, buffer}
//    that writers change only with an inline `lock cmpxchg16b`. Keys and values live
//    out of place, in record buffers taken from a lock-free pool inside the segment;
//    a write fills a private buffer, then publishes it with one CAS.
//  - Readers take seqlock-style snapshots: read the control word, copy the buffer it
//    names, re-check the word's version. They never store to shared memory.
//  - Every operation is linearizable, per key, across threads and processes. get,
//    contains, set of an existing key, erase, add, compare_and_set never wait for
//    another process: they retry only when another operation has completed a CAS.
//    Inserts of distinct keys do not wait either. Racing first inserts of ONE key
//    resolve by cancelling each other's reservations (never by waiting), with backoff
//    (obstruction-free; papers/protocol.md, "Progress").
//  - A process killed at any instruction blocks nobody and leaves no torn value; what
//    it leaves (one thread on one handle) is at most two record buffers (its
//    operation's, and the spare its handle keeps for its next write) and one reserved
//    slot, which recover() reclaims once no other handle is attached.
//  - Each handle keeps one spare record buffer between writes, so a stream of updates
//    never touches the buffer pool's shared head; close() gives it back.
//  - The empty table is all-zero bytes: creating a 10-million-slot table touches no slot.
//
// papers/protocol.md has the states, invariants, linearization points and the crash
// and memory-ordering arguments; src/lockfree_engine.hpp states each invariant where it
// is kept.
//
// Caveat: x86-64 only (cmpxchg16b).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shmtable/inspection.hpp"
#include "shmtable/options.hpp"
#include "shmtable/recovery.hpp"
#include "shmtable/segment.hpp"
#include "shmtable/stats.hpp"
#include "shmtable/table.hpp"
#include "shmtable/updater.hpp"
#include "shmtable/value_view.hpp"

namespace shmtable {

namespace detail::lockfree {
struct LockFreeControl;
struct Word128;
struct LockFreeTableView;
struct Magazine;
} // namespace detail::lockfree
namespace detail::stats {
class StatsHandle;
} // namespace detail::stats

class LockFreeTable : public detail::CallableOverloads<LockFreeTable> {
public:
  static constexpr EngineKind kEngine = EngineKind::kLockFree;

  // Attaches to or creates the table described by `opts` (see Options; `robust` must be
  // false: crash safety is built in). Throws Error.
  explicit LockFreeTable(const Options &opts);
  ~LockFreeTable();
  LockFreeTable(LockFreeTable &&) noexcept;
  LockFreeTable &operator=(LockFreeTable &&) noexcept;

  // ---- Per-key operations: the contract of shmtable/table.hpp ----------------------
  // Errc::kTableFull if a new key finds no free slot within its probe limit, or no free
  // record buffer (papers/protocol.md, "Capacity"). Fullness is physical, as seen at that
  // moment: slots reserved by other inserters count as taken, even those whose inserters
  // withdraw a moment later. With Options::eviction the table counts as full from
  // kEvictLoadPercent of its capacity on, and a new key evicts an entry there instead
  // (CLOCK: papers/protocol.md, section 15).
  void set(std::string_view key, std::string_view value);
  // Calls source() after the key is hashed and its home slot's cache line asked for: the
  // line comes over while the caller makes the value (the Node package decodes it from a
  // JS string there).
  void set_with(std::string_view key, ValueSource source, void *ctx);
  using CallableOverloads::set_with;
  std::optional<std::string> get(std::string_view key) const;
  // A lock-free read may copy a record it then discards: hence get_into()'s unspecified
  // bytes beyond the value.
  std::optional<std::size_t> get_into(std::string_view key, std::span<char> out) const;
  bool erase(std::string_view key);
  bool contains(std::string_view key) const;
  std::int64_t add(std::string_view key, std::int64_t delta);
  bool compare_and_set(std::string_view key, std::string_view expected, std::string_view desired);
  bool set_if_absent(std::string_view key, std::string_view value);
  // `fn` may run more than once: again, with the newer value, each time another writer
  // changed the key between its read and this update's publish. It must not write to any
  // LockFreeTable (the thread's read-modify-write scratch is shared by all of them).
  bool update(std::string_view key, Updater fn, void *ctx);
  using CallableOverloads::update;

  // ---- Expiry: the contract of shmtable/table.hpp ---------------------------------
  // An entry's deadline is in its record; its control word says whether it has one, so
  // a read of an entry without a deadline reads neither it nor the clock.
  void set(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl);
  bool set_if_absent(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl);
  std::int64_t add(std::string_view key, std::int64_t delta, std::chrono::nanoseconds ttl);
  std::size_t purge_expired();

  // ---- Reads in place (this engine only) ----------------------------------------------
  // Reads the value in place, without copying it first: calls reader(ctx, value) with
  // the value's bytes where they lie in shared memory, then validates the read; if a
  // writer replaced the value meanwhile, it calls reader again on the new one. Returns
  // whether the key is present; only if true was the last call's view valid (a key
  // erased during the read may have been copied, then found absent). In an earlier call the bytes
  // may change under the reader, and `ascii` may be wrong: the reader must only copy them (into a
  // string, a JS value...), never act on them, and must not call into this table. What reader
  // throws propagates.
  bool get_with(std::string_view key, ValueReader reader, void *ctx) const;
  // get_with() for a caller that keeps the values it reads, by slot: on a hit, it asks
  // reader.holds(ctx, slot, version) first, and if the caller holds the value of that
  // slot at that version, reads nothing and returns kHeld: the value is the one the
  // caller holds. Sound because every change of a slot's control word increases its
  // 64-bit version (papers/protocol.md, W1) and a buffer named by a live word is never
  // written (P1): an unchanged version is an unchanged entry, key and value. Else it calls
  // reader.read as get_with() calls its reader, adding the slot and version the value is
  // of, and returns kRead (the last call counts); kAbsent on a miss. A keeper of values
  // must key them by slot and version only: a version is meaningful in its slot alone.
  CachedGet get_cached(std::string_view key, const CachingReader &reader, void *ctx) const;

  // ---- Batched reads ------------------------------------------------------------
  // Looks up every key of `keys`, overlapping their cache misses (hash a batch, prefetch
  // their control words, then the records those name, then read each): for tables much
  // larger than the CPU caches, several times the throughput of one get() per key. Each
  // key's read is linearizable on its own, as a get(); the batch is not one snapshot.
  // Calls reader(ctx, i, value) for each present keys[i], with get_with()'s contract
  // (it may be called again for the same i; the last call counts). A last call with
  // value.bytes == nullptr means that keys[i] is absent after all (an earlier call's copy
  // is void). Returns the number of keys present. Errc::kKeyTooLarge for an oversize
  // key, before any key is read.
  std::size_t get_many(std::span<const std::string_view> keys, ManyReader reader, void *ctx) const;
  // The same, as values: result[i] is keys[i]'s value, or nullopt if absent.
  std::vector<std::optional<std::string>> get_many(std::span<const std::string_view> keys) const;

  // ---- Whole-table operations: the contract of shmtable/table.hpp ------------------
  // clear() erases each entry atomically, one at a time.
  std::vector<std::string> keys() const;
  void clear();
  std::size_t size() const noexcept;

  // Reclaims what crashed processes left (reserved slots, record buffers), recounts
  // entries and shrinks probe bounds. Processes opening the table meanwhile wait for it
  // to finish (up to their ready_timeout_ms). A per-handle count of operations in flight
  // would cost every read, so a thread using this handle meanwhile is not detected: its
  // in-flight write looks dead to recover(), which then frees what it holds.
  RecoveryReport recover();

  // A read-only walk of the slots, the buffer pool and the counters
  // (shmtable/inspection.hpp): reads as get() does, stores nothing. Its `buffers` says
  // where every record buffer is.
  TableInspection inspect() const;

  // The table's shared statistics (shmtable/stats.hpp), with leaked_buffers: what
  // crashed processes leaked since the last recover() (papers/protocol.md, "Statistics").
  TableStats stats() const;

  // ---- Properties: shmtable/table.hpp's, then this engine's ---------------------------
  std::uint64_t capacity() const noexcept { return layout().params.capacity; }
  std::uint32_t max_key_bytes() const noexcept { return layout().params.max_key_bytes; }
  std::uint32_t max_value_bytes() const noexcept { return layout().params.max_value_bytes; }
  bool created() const noexcept { return segment_.created(); }
  const Layout &layout() const noexcept { return segment_.layout(); }
  // XXH3-64 of the key, seeded, modulo capacity.
  std::uint64_t home_slot(std::string_view key) const noexcept;
  // Record buffers: capacity plus max(64, capacity / 8) for writes in flight, the
  // handles' spares (half of those at most) and crash leaks (papers/protocol.md, 10).
  std::uint32_t buffer_count() const noexcept { return buffer_count_; }
  // The 16-bit fingerprint a control word carries for the key (the top bits of the same
  // hash). Keys with one home slot and one fingerprint are told apart only by their
  // records: for stress runs that need such keys on purpose.
  std::uint64_t fingerprint(std::string_view key) const noexcept;

  // How this handle reads a slot's 16-byte control word: in one aligned 16-byte load
  // on CPUs that guarantee its atomicity (those reporting AVX), else as lo, hi, lo with
  // a version compare. Chosen when the handle opens.
  enum class ControlLoad { kVector, kSplit };
  ControlLoad control_load() const noexcept {
    return vector_load_ ? ControlLoad::kVector : ControlLoad::kSplit;
  }
  // For tests and diagnosis: handles opened after force_split_control_load(true) in this
  // process take the lo/hi/lo path even where one load would do; false restores the
  // choice by CPU.
  static void force_split_control_load(bool on) noexcept;

  // The handle's spare record buffer goes back to the table (see "Capacity" in
  // papers/protocol.md).
  void close() noexcept;

  static Layout layout_for(const TableParams &params);
  // Buffers a table of `capacity` slots gets (capacity + max(64, capacity / 8)).
  static std::uint64_t buffers_for(std::uint64_t capacity) noexcept;

private:
  // The writes, each with a deadline (0: none; src/expiry.hpp), serving both overloads.
  void set_until(std::string_view key, std::string_view value, std::uint64_t deadline);
  bool set_if_absent_until(std::string_view key, std::string_view value, std::uint64_t deadline);
  std::int64_t add_until(std::string_view key, std::int64_t delta, std::uint64_t deadline);

  // The engine (src/lockfree_engine.hpp) reads the members below through it.
  friend struct detail::lockfree::LockFreeTableView;

  Segment segment_;
  detail::lockfree::LockFreeControl *control_ = nullptr;
  detail::lockfree::Word128 *words_ = nullptr;
  std::byte *records_ = nullptr;
  std::uint32_t record_bytes_ = 0;
  std::uint32_t buffer_count_ = 0;
  std::uint64_t max_distance_ = 0;
  std::uint64_t *marks_ = nullptr; // Options::eviction: the reference marks; else nullptr
  std::uint64_t evict_at_ = 0;     // Options::eviction: entries from which inserts evict
  bool vector_load_ = false;       // control_load() == kVector
  // This handle's spare record buffer (src/magazine.hpp); on the heap so that the handle
  // stays movable.
  std::unique_ptr<detail::lockfree::Magazine> magazine_;
  // This handle's id in its threads' key memos (src/key_memo.hpp): unique in the process.
  std::uint64_t memo_handle_ = 0;
  // This handle's stripes of the statistics region (src/stats_handle.hpp).
  std::unique_ptr<detail::stats::StatsHandle> stats_;
};

} // namespace shmtable
