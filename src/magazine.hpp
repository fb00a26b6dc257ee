// A handle's magazine: the one spare record buffer it keeps between writes, so that a
// steady stream of updates never touches the pool's shared head (two 16-byte CASes on
// one cache line that every writing process bounces). Process-private: it lives in the
// handle (LockFreeTable), not in the segment.
//
// P3. A buffer held as a spare is in no slot and not on the free list (P1's "hands of
//     one operation", held between operations): only the handle's next write fills it.
//     It enters the magazine only after the CAS that made its slot stop naming it, so a
//     reader still copying it fails R3 exactly as for a buffer recycled through the pool.
// P4. At most max_spares_for(buffer_count, capacity) handles keep a spare at a time: a
//     handle keeps one only while it holds a permit, counted in LockFreeControl::spares
//     (asked for once per handle: a handle refused stays without a spare until it is
//     reopened or recover() runs; returned at close). So `capacity` distinct keys fit
//     while the buffers in flight and leaked by crashes number at most the other half of
//     the spares beyond capacity (papers/protocol.md, "Capacity").
//
// A crash leaks the dead handle's spare and its permit, besides what P2 says (one buffer
// per operation in flight); recover() (alone) reclaims the buffer and resets the count.
#pragma once

#include <atomic>
#include <cstdint>

namespace shmtable::detail::lockfree {

struct Magazine {
  // The spare's buffer index + 1; 0 = empty. Threads sharing a handle hand the spare on
  // with release (keep) / acquire (take): the CAS that unpublished the buffer in one
  // thread happens-before the next fill's stores in another. A one-thread handle
  // (below) keeps and takes it with relaxed loads and stores.
  std::atomic<std::uint32_t> spare{0};
  // Options::one_thread, fixed when the handle opens: the handle's calls never overlap,
  // so every access to `spare` happens-before the next (program order, or the caller's
  // own synchronization when it hands the handle to another thread), and the CAS that
  // unpublished a kept buffer happens-before the fill that reuses it the same way.
  bool one_thread = false;
  // Whether this handle holds a permit (P4).
  enum Permit : std::uint8_t { kUnasked, kHeld, kRefused };
  std::atomic<std::uint8_t> permit{kUnasked};
  // Where the handle's spares are counted in the segment for stats() (its home stripe's
  // `spare`, stats_region.hpp; L1 in lockfree_layout.hpp): +1 for each spare kept, -1
  // for each taken or dropped. nullptr: not counted (the Relacy model).
  std::uint64_t *held = nullptr;
  // false: the handle keeps no spare (it has no home stripe to count it in, so that a
  // spare would read as leaked).
  bool may_keep = true;
};

// How many handles may keep a spare: half of the buffers beyond capacity (the other half
// covers writes in flight and crash leaks).
constexpr std::uint64_t max_spares_for(std::uint64_t buffer_count, std::uint64_t capacity) {
  return (buffer_count - capacity) / 2;
}

} // namespace shmtable::detail::lockfree
