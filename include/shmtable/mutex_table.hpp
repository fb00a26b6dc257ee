// shmtable/mutex_table.hpp: the mutex baseline engine.
//
// The contract of every engine (shmtable/table.hpp), kept by a faithful rebuild of
// fast-shm-cache's design: FNV-1a hashing, linear probing over a fixed array of slots,
// one process-shared pthread mutex per slot and one table-wide mutex, keys up to 64
// bytes and values up to 256 bytes by default. Every claim the lock-free engine makes is
// measured against this table.
//
// Where fast-shm-cache is silent we chose (papers/mutex-baseline.md has the argument):
//  - Every probe step locks the slot it inspects, as a per-slot mutex design implies.
//  - Updates of an existing key take only that slot's mutex. Structural changes (insert
//    of a new key, erase, clear) also take the table-wide mutex, which makes them
//    linearizable and rules out duplicate keys under racing inserts.
//  - erase leaves a tombstone so that keys further down the probe chain stay reachable;
//    inserts reuse tombstones, and erase turns trailing tombstones back into empty slots,
//    so a churn workload never fills the table.
//  - A full table is reported (Errc::kTableFull), never silently dropped.
//
// robust = true (off by default, so the default stays fast-shm-cache's design): the
// mutexes are PTHREAD_MUTEX_ROBUST. A process that dies holding one no longer blocks
// anybody: the next locker gets EOWNERDEAD and carries on. Values are written into the
// slot's inactive half and published by flipping one byte, so a writer killed mid-copy
// leaves the old value, never a torn one. In the default (faithful) mode a process killed
// while holding a mutex blocks every later user of that slot forever, as fast-shm-cache's
// would.
//
// Trust: this engine trusts every process that can write the segment. With robust =
// true, glibc keeps each mutex's links of its owner's robust list inside the mutex, so a
// process that scribbles on the segment can make another process's lock and unlock
// write anywhere in that process (either mode: hang it with a forged lock word). The
// lock-free engine stores no pointers in the segment and checks every index it reads
// from it, so a bad writer can corrupt the table's data but not its readers' memory.
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

namespace shmtable {

namespace detail::mutex {
struct MutexControl;
struct MutexOps;
struct MutexInspect;
} // namespace detail::mutex
namespace detail::stats {
class StatsHandle;
} // namespace detail::stats

class MutexTable : public detail::CallableOverloads<MutexTable> {
public:
  static constexpr EngineKind kEngine = EngineKind::kMutex;

  // Attaches to or creates the table described by `opts` (see Options; `one_thread` is
  // LockFreeTable's alone: kInvalidArgument here). Throws Error.
  explicit MutexTable(const Options &opts);
  ~MutexTable();
  MutexTable(MutexTable &&) noexcept;
  MutexTable &operator=(MutexTable &&) noexcept;

  // ---- Per-key operations: the contract of shmtable/table.hpp ----------------------
  // Errc::kTableFull if the key is new and no slot is free on its probe sequence.
  void set(std::string_view key, std::string_view value);
  // The faithful design asks for no line ahead: this is source(ctx), then set().
  void set_with(std::string_view key, ValueSource source, void *ctx);
  using CallableOverloads::set_with;
  std::optional<std::string> get(std::string_view key) const;
  std::optional<std::size_t> get_into(std::string_view key, std::span<char> out) const;
  bool erase(std::string_view key);
  bool contains(std::string_view key) const;
  std::int64_t add(std::string_view key, std::int64_t delta);
  bool compare_and_set(std::string_view key, std::string_view expected, std::string_view desired);
  bool set_if_absent(std::string_view key, std::string_view value);

  // ---- Expiry: the contract of shmtable/table.hpp ---------------------------------
  // Each value half carries its deadline. An expired entry keeps its slot until a
  // writer of its key overwrites it in place, an insert that meets it before any free
  // slot, erase() or purge_expired() frees it.
  void set(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl);
  bool set_if_absent(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl);
  std::int64_t add(std::string_view key, std::int64_t delta, std::chrono::nanoseconds ttl);
  std::size_t purge_expired();
  // `fn` runs once, under the key's slot mutex (the table's, for an absent key).
  bool update(std::string_view key, Updater fn, void *ctx);
  using CallableOverloads::update;

  // ---- Whole-table operations: the contract of shmtable/table.hpp ------------------
  // clear() is not atomic: an operation racing it may see a partially cleared table.
  // keys(), and size() once an entry with a deadline was written, lock each slot in turn:
  // in faithful mode they wait forever behind a slot lock whose holder died, as every
  // call on that slot does.
  std::vector<std::string> keys() const;
  void clear();
  std::size_t size() const noexcept;

  // Takes over every lock a dead process held (faithful mode: re-initialises it) and
  // recounts entries. A thread using this handle meanwhile would have a mutex it holds
  // re-initialised.
  RecoveryReport recover();

  // A read-only walk of the slots (shmtable/inspection.hpp). It takes no slot or table
  // mutex (a lock is a store, and a faithful one whose holder died would hang it): it
  // reads each slot racily, and reports the locks it finds held.
  TableInspection inspect() const;

  // The table's shared statistics (shmtable/stats.hpp); leaked_buffers is always 0.
  TableStats stats() const;

  // ---- Properties: shmtable/table.hpp's, then this engine's ---------------------------
  std::uint64_t capacity() const noexcept { return layout().params.capacity; }
  std::uint32_t max_key_bytes() const noexcept { return layout().params.max_key_bytes; }
  std::uint32_t max_value_bytes() const noexcept { return layout().params.max_value_bytes; }
  bool robust() const noexcept { return robust_; }
  bool created() const noexcept { return segment_.created(); }
  const Layout &layout() const noexcept { return segment_.layout(); }
  // Robust mode: how many times a lock was recovered from a dead holder (all processes).
  std::uint64_t recovered_locks() const noexcept;
  // FNV-1a of the key, seeded, modulo capacity.
  std::uint64_t home_slot(std::string_view key) const noexcept;

  void close() noexcept;

  // The segment layout this engine uses for `params` (validated; Errc::kInvalidArgument).
  static Layout layout_for(const TableParams &params);

private:
  // The writes, each with a deadline (0: none; expiry.hpp), serving both overloads.
  std::int64_t add_until(std::string_view key, std::int64_t delta, std::uint64_t deadline);
  void set_until(std::string_view key, std::string_view value, std::uint64_t deadline);
  bool set_if_absent_until(std::string_view key, std::string_view value, std::uint64_t deadline);

  // The engine's helpers (src/mutex_table.cpp) read the members below through it.
  friend struct detail::mutex::MutexOps;
  friend struct detail::mutex::MutexInspect; // inspect(): src/mutex_inspect.cpp

  Segment segment_;
  detail::mutex::MutexControl *control_ = nullptr;
  std::byte *slots_ = nullptr;
  std::uint32_t slot_bytes_ = 0;
  bool robust_ = false;
  // This handle's stripes of the statistics region (src/stats_handle.hpp).
  std::unique_ptr<detail::stats::StatsHandle> stats_;
};

} // namespace shmtable
