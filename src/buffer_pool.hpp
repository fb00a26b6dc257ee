// The lock-free engine's pool of record buffers: a Treiber stack whose head is a
// 128-bit word {version, top | bump}, so a pop that read a stale `next` fails its CAS
// (the version defeats ABA) instead of corrupting the list.
//
// P1. A buffer is in exactly one of: the free list, unreached (index >= bump), a slot's
//     control word (kPending or kLive), the hands of one operation, or a handle's
//     magazine as its spare (magazine.hpp, P3). Only the holder writes its bytes; a
//     buffer in a slot is immutable (readers copy it and re-check the slot's version,
//     which changes before the buffer can be freed).
// P2. A crash leaks at most the buffer each operation in flight in the dying process
//     held, and its handles' spares; recover() finds them as buffers that are below
//     bump, in no slot and not on the free list.
//
// A template over the engine's atomics policy (lockfree_atomics.hpp), so that the Relacy
// model runs this very code; BufferPool is the production instance.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "lockfree_atomics.hpp"

namespace shmtable::detail::lockfree {

template <SlotAtomics Atomics> class BasicBufferPool {
public:
  BasicBufferPool() = default;
  // `out`: the count of buffers out of the pool (LockFreeControl::pool_out, L1), or
  // nullptr for a pool that counts nothing.
  BasicBufferPool(Word128 *head, std::byte *records, std::uint32_t record_bytes,
                  std::uint32_t count, Atomics atomics = Atomics(), std::uint64_t *out = nullptr)
      : head_(head), records_(records), record_bytes_(record_bytes), count_(count),
        atomics_(atomics), out_(out) {}

  std::uint64_t *words(std::uint32_t index) const noexcept {
    return reinterpret_cast<std::uint64_t *>(records_ + std::size_t{index} * record_bytes_);
  }
  std::uint32_t count() const noexcept { return count_; }

  // Takes a buffer (P1: it is now the caller's alone), or nullopt if none is free.
  std::optional<std::uint32_t> pop() const noexcept {
    count_out(1); // L1: before the CAS, so that a crash never hides a popped buffer
    Word128 h = atomics_.load128(head_); // acquire: pairs with push()'s CAS, so `next` is visible
    for (;;) {
      const auto top = static_cast<std::uint32_t>(h.hi);
      const auto bump = static_cast<std::uint32_t>(h.hi >> 32);
      std::uint32_t got;
      Word128 next_head;
      if (top != 0 && top <= count_) { // a corrupted top reads as an empty list
        got = top - 1;
        // Relaxed: may read a value a racing pop+reuse wrote; then the version has moved
        // on and the CAS below fails. The value is bounds-checked before any use.
        const auto next =
            static_cast<std::uint32_t>(atomics_.load(link(got), std::memory_order_relaxed));
        next_head = {h.lo + 1, (std::uint64_t{bump} << 32) | (next <= count_ ? next : 0)};
      } else if (bump < count_) {
        got = bump;
        next_head = {h.lo + 1, std::uint64_t{bump + 1} << 32};
      } else {
        count_out(-1); // nothing popped
        return std::nullopt;
      }
      if (atomics_.cas128(head_, h, next_head)) {
        // Release fence: orders the CAS above (and every slot CAS that preceded this
        // buffer's free, which happens-before it through the push/pop pair) before the
        // caller's relaxed stores of new contents. A reader that reads any of those
        // stores and then issues its acquire fence therefore sees the slot's version
        // change when it re-checks (the seqlock edge, R3 in lockfree_engine.hpp).
        atomics_.writer_fence();
        return got;
      }
    }
  }

  // Returns a buffer that is no longer reachable from any slot (P1).
  void push(std::uint32_t index) const noexcept {
    Word128 h = atomics_.load128(head_);
    // Release fence: the slot CAS that unpublished this buffer happens-before the link
    // store below, which overwrites the record's first word. A reader that copies that
    // word and then fences (R3) therefore sees the slot's new version (seqlock edge 2).
    atomics_.writer_fence();
    for (;;) {
      // kRecordStore (relaxed; release under TSan): published to poppers by the CAS below.
      atomics_.store(link(index), static_cast<std::uint32_t>(h.hi), Atomics::kRecordStore);
      const Word128 next_head = {h.lo + 1, (h.hi & ~0xffffffffULL) | (std::uint64_t{index} + 1)};
      if (atomics_.cas128(head_, h, next_head)) {
        count_out(-1); // L1: after the CAS, as pop()'s count comes before its CAS
        return;
      }
    }
  }

  // recover() only (run_exclusive): the pool's raw head.
  Word128 head() const noexcept { return atomics_.load128(head_); }
  void reset(std::uint32_t bump) const noexcept {
    Word128 h = atomics_.load128(head_);
    while (!atomics_.cas128(head_, h, Word128{h.lo + 1, std::uint64_t{bump} << 32})) {
    }
  }
  std::uint32_t next_of(std::uint32_t index) const noexcept {
    // Relaxed: recover() runs alone (run_exclusive); nothing to order against.
    return static_cast<std::uint32_t>(atomics_.load(link(index), std::memory_order_relaxed));
  }

private:
  // Relaxed: a count for stats() (L1), guarding no data; its line is the head's.
  void count_out(std::int64_t delta) const noexcept {
    if (out_ != nullptr) {
      atomics_.fetch_add(out_, static_cast<std::uint64_t>(delta), std::memory_order_relaxed);
    }
  }
  // A free buffer's first word: the next free index + 1 (lockfree_layout.hpp).
  std::uint64_t *link(std::uint32_t index) const noexcept { return words(index); }

  Word128 *head_ = nullptr;
  std::byte *records_ = nullptr;
  std::uint32_t record_bytes_ = 0;
  std::uint32_t count_ = 0;
  [[no_unique_address]] Atomics atomics_{};
  std::uint64_t *out_ = nullptr;
};

using BufferPool = BasicBufferPool<NativeAtomics>;

} // namespace shmtable::detail::lockfree
