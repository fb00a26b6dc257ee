// The statistics region of a segment, shared by both engines: its layout and its
// invariants. Private to the library and its tests. Each engine's layout_for() places
// it right after the engine's control block (stats_offset_for()), before the slots.
//
//   region: [overflow stripe | stripe 0 | stripe 1 | ... | stripe kStripes - 1]
//
//   stripe (kStripeBytes = two cache lines, so no two stripes share a line):
//   +-------+-------+------+--------+------+---------+--------+-----------+
//   | owner | spare | hits | misses | sets | inserts | erases | evictions |  line 0
//   +-------+-------+------+--------+------+---------+--------+-----------+
//   | expirations | table_full | reserved (6 words)                      |  line 1
//   +-------------+------------+-----------------------------------------+
//     owner: 0 = free; else owner_word(pid, handle id) of the handle that holds it.
//     spare: (lock-free) a handle's home stripe: how many spare record buffers the
//            handle holds (magazine.hpp); a two's-complement count.
//
// All-zero is the empty region: every stripe free, every count 0. Creation touches it
// not at all.
//
// S1. A stripe's counts are written by its owner only, one thread at a time, with a
//     relaxed load and a relaxed store (a plain mov, no lock prefix); the overflow
//     stripe, which has no owner, by anyone, with atomic fetch_add. Readers sum relaxed
//     loads: statistics, guarding no data.
// S2. Ownership passes only by a CAS on `owner` (acquire: claim 0 -> me, or a dead
//     process's word -> me) and by the owner's release store of 0 (close). The release
//     store follows the owner's last count store, and the claimer's acquire CAS reads
//     it, so the next owner's first increment starts from every count before it: counts
//     are never lost when a stripe changes hands. A dead owner made no release store;
//     its stores were done when it died, at most an increment in flight is lost.
// S3. Counts only grow (cumulative since creation); nothing resets them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "segment_header.hpp"

namespace shmtable::detail::stats {

enum Counter : unsigned {
  kHits,
  kMisses,
  kSets,
  kInserts,
  kErases,
  kEvictions,
  kExpirations,
  kTableFull,
  kCounters
};

inline constexpr std::size_t kStripes = 128;
inline constexpr std::size_t kStripeBytes = 2 * kCacheLineBytes;

struct Stripe {
  std::uint64_t owner;
  std::uint64_t spare;
  std::uint64_t counts[kCounters];
  std::uint64_t reserved[6];
};

struct StatsRegion {
  Stripe overflow;
  Stripe stripes[kStripes];
};

static_assert(sizeof(Stripe) == kStripeBytes, "a stripe is two whole cache lines");
static_assert(offsetof(Stripe, counts) + kTableFull * 8 < kStripeBytes &&
                  offsetof(Stripe, counts) + kSets * 8 < kCacheLineBytes,
              "owner and the data path's counters (hits, misses, sets) share line 0");
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "stripes are shared between processes");

// Where the region starts: the first cache line after an engine's control block of
// `control_bytes`, at `control_offset`.
constexpr std::uint64_t stats_offset_for(std::uint64_t control_offset, std::size_t control_bytes) {
  return (control_offset + control_bytes + kCacheLineBytes - 1) / kCacheLineBytes * kCacheLineBytes;
}

// What an engine's abi_signature adds for the region: its shape.
inline constexpr std::uint64_t kAbiWords[] = {sizeof(Stripe), kStripes, offsetof(Stripe, counts),
                                              kCounters, sizeof(StatsRegion)};

// An owner word: the process and (the low half of) the handle's process-unique id. Never
// 0: pids are positive.
constexpr std::uint64_t owner_word(std::uint32_t pid, std::uint64_t handle_id) {
  return std::uint64_t{pid} << 32 | (handle_id & 0xffffffffULL);
}
constexpr std::uint32_t owner_pid(std::uint64_t owner) {
  return static_cast<std::uint32_t>(owner >> 32);
}

} // namespace shmtable::detail::stats
