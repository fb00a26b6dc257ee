// shmtable/stats.hpp: the statistics every process attached to a shared-memory table
// shares (LockFreeTable::stats(), MutexTable::stats()).
//
// The counters are cumulative since the table was created: they live in the segment,
// survive every handle's close (a persistent table keeps them across reopens), and are
// never reset (recover() resets only the leaked-buffer accounting). Each thread of each
// handle counts into a stripe of its own, and stats() sums the stripes: a relaxed
// snapshot, in which an operation that has returned in another thread may not be
// counted yet; exact once the writers are done (joined, or their processes exited).
// A handle opened with Options::stats = false counts nothing.
#pragma once

#include <cstdint>

namespace shmtable {

struct TableStats {
  // Keys looked up by get, get_into, contains (and the lock-free engine's get_with,
  // get_cached and get_many, per key) that were present (hits) or absent (misses).
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  // Operations that stored a value: set, set_with, add, update that stored, and a
  // successful compare_and_set or set_if_absent. `inserts` counts those of them that
  // created the key.
  std::uint64_t sets = 0;
  std::uint64_t inserts = 0;
  // Keys removed by erase (when present) and by clear.
  std::uint64_t erases = 0;
  // Entries evicted by inserts into a full table made with Options::eviction
  // (LockFreeTable; always 0 on a table that does not evict).
  std::uint64_t evictions = 0;
  // Expired entries freed (table.hpp, "Expiry"): by a writer that met one, an erase or a
  // set_if_absent-like write of an expired key, purge_expired(). An expired entry no
  // writer has met yet is not counted.
  std::uint64_t expirations = 0;
  // Operations refused with Errc::kTableFull.
  std::uint64_t table_full = 0;
  // size().
  std::uint64_t entries = 0;
  // LockFreeTable only (0 on MutexTable): record buffers out of the pool that are in no
  // live slot, no spare of a handle whose process is alive, and no operation in flight,
  // i.e. what crashed processes leaked since the last recover(), which reclaims them
  // and resets this count. Exact when no write is in flight; a write that a crash
  // interrupted can leave it off by one until recover().
  std::uint64_t leaked_buffers = 0;
  // Diagnostics: the stripes held by open handles now, and how many the table has.
  // Threads beyond them share one overflow stripe, counted with atomic increments.
  std::uint32_t stripes_in_use = 0;
  std::uint32_t stripes = 0;
};

} // namespace shmtable
