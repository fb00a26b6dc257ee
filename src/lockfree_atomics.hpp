// The lock-free engine's atomics policy: every access the engine makes to shared memory,
// as one type that a model checker can replace.
//
// The engine (lockfree_engine.hpp) and its buffer pool (buffer_pool.hpp) are templates
// over a policy `A` that satisfies SlotAtomics below; they never touch a shared byte
// except through it. NativeAtomics is the production policy: exactly the operations of
// cas128.hpp (inline `lock cmpxchg16b`, the lo/hi/lo load128, the seqlock fences, the
// ThreadSanitizer branch) plus std::atomic_ref on the 8-byte words, all inline, so the
// library compiles to the same code it did before the seam existed. The Relacy model
// (proofs/relacy/) supplies a policy that maps each address into the segment to a Relacy
// atomic, so Relacy schedules and checks every one of these accesses (folly's
// `template <typename> class Atom`; concurrentqueue's Relacy build).
//
// Words are named by their address in the segment, as the engine computes it; a policy
// may rely on every address being one the layout defines (a control word, the pool head,
// an 8-byte record word, a counter of LockFreeControl).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "cas128.hpp"
#include "expiry.hpp"

namespace shmtable::detail::lockfree {

// What the engine needs from a policy. `mo` is whatever the engine passes: the record
// orders kRecordLoad / kRecordStore of the policy, or relaxed (links, counters).
template <class A>
concept SlotAtomics = requires(const A &a, Word128 *w, Word128 &expected, Word128 desired,
                               std::uint64_t *p, std::uint64_t v, std::memory_order mo,
                               unsigned round, char *dst, const char *src, std::size_t n) {
  // 16-byte control words and the pool head (cas128.hpp's contract: W1, full barrier).
  { a.cas128(w, expected, desired) } -> std::same_as<bool>;
  { a.load128(w) } -> std::same_as<Word128>;
  { a.load_version(w) } -> std::same_as<std::uint64_t>;
  // The planted `cas_as_store` bug's non-atomic publish (never used otherwise).
  a.store128_planted(w, desired);
  // 8-byte words: record words, free-list links, LockFreeControl's counters.
  { a.load(p, mo) } -> std::same_as<std::uint64_t>;
  a.store(p, v, mo);
  { a.fetch_add(p, v, mo) } -> std::same_as<std::uint64_t>;
  { a.fetch_sub(p, v, mo) } -> std::same_as<std::uint64_t>;
  // The seqlock's fences (R3 and the recyclers'), and the record orders that go with them.
  a.reader_fence();
  a.writer_fence();
  { A::kRecordLoad } -> std::convertible_to<std::memory_order>;
  { A::kRecordStore } -> std::convertible_to<std::memory_order>;
  // R2: copies `len` bytes of a record's value area (8-byte aligned, padded to 8 bytes)
  // into private memory. Racy by design; validated by the caller's R3.
  a.copy_record(dst, p, n);
  // The writer's fill of a record's value area it holds (8-byte aligned): `n` bytes from
  // `src`, the last word zero-padded. Racy with slow readers by design (they fail R3).
  a.fill_record(p, src, n);
  // R2, for in-place readers: whether those `len` bytes are all ASCII (racy, as above).
  { a.is_ascii(p, n) } -> std::same_as<bool>;
  // How an inserter whose reservation was cancelled waits before its next round.
  a.backoff(round);
  // The table clock (expiry.hpp), read only for an entry whose word is `timed`.
  { a.now_ns() } -> std::same_as<std::uint64_t>;
};

// R2's copy as relaxed (kRecordLoad) 8-byte loads, each stored straight to its place in
// `dst` (no stack temporary: four words stored to an array and read back as two 16-byte
// halves stall store forwarding on every half). What the Relacy model checks, and what
// ThreadSanitizer builds run.
// The fill as relaxed (kRecordStore) 8-byte stores, the last word zero-padded.
template <class A>
void fill_by_words(const A &a, std::uint64_t *dst, const char *src, std::size_t len) {
  for (std::size_t off = 0; off < len; off += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, src + off, len - off < 8 ? len - off : 8);
    a.store(dst + off / 8, w, A::kRecordStore);
  }
}

template <class A> bool is_ascii_by_words(const A &a, std::uint64_t *src, std::size_t len) {
  std::uint64_t high = 0;
  for (std::size_t i = 0; i * 8 < len; ++i) {
    const std::size_t n = len - i * 8 < 8 ? len - i * 8 : 8;
    high |= a.load(src + i, A::kRecordLoad) & (0x8080808080808080ULL >> (8 * (8 - n)));
  }
  return high == 0;
}

template <class A> void copy_by_words(const A &a, char *dst, std::uint64_t *src, std::size_t len) {
  const std::size_t full = len / 8;
  for (std::size_t i = 0; i < full; ++i) {
    const std::uint64_t v = a.load(src + i, A::kRecordLoad);
    std::memcpy(dst + i * 8, &v, 8);
  }
  if (full * 8 < len) {
    const std::uint64_t v = a.load(src + full, A::kRecordLoad);
    for (std::size_t b = 0; b < len - full * 8; ++b) {
      dst[full * 8 + b] = static_cast<char>(v >> (8 * b));
    }
  }
}

// The production policy: cas128.hpp's operations and std::atomic_ref, nothing else.
struct NativeAtomics {
  static constexpr std::memory_order kRecordLoad = lockfree::kRecordLoad;
  static constexpr std::memory_order kRecordStore = lockfree::kRecordStore;

  static bool cas128(Word128 *w, Word128 &expected, Word128 desired) noexcept {
    return lockfree::cas128(w, expected, desired);
  }
  static Word128 load128(const Word128 *w) noexcept { return lockfree::load128(w); }
  static std::uint64_t load_version(const Word128 *w) noexcept { return lockfree::load_version(w); }
  static void store128_planted(Word128 *w, Word128 v) noexcept {
    // The planted bug: two plain stores where one CAS belongs. Relaxed for hi; release
    // for lo keeps the publish edge (partner: readers' R1 acquire), so the bug breaks
    // only atomicity and the checkers are shown to catch exactly that.
    std::atomic_ref<std::uint64_t>(w->hi).store(v.hi, std::memory_order_relaxed);
    std::atomic_ref<std::uint64_t>(w->lo).store(v.lo, std::memory_order_release);
  }

  // Every caller names its order and the edge it belongs to (lockfree_engine.hpp).
  static std::uint64_t load(std::uint64_t *p, std::memory_order mo) noexcept {
    return std::atomic_ref<std::uint64_t>(*p).load(mo);
  }
  static void store(std::uint64_t *p, std::uint64_t v, std::memory_order mo) noexcept {
    std::atomic_ref<std::uint64_t>(*p).store(v, mo);
  }
  static std::uint64_t fetch_add(std::uint64_t *p, std::uint64_t v, std::memory_order mo) noexcept {
    return std::atomic_ref<std::uint64_t>(*p).fetch_add(v, mo);
  }
  static std::uint64_t fetch_sub(std::uint64_t *p, std::uint64_t v, std::memory_order mo) noexcept {
    return std::atomic_ref<std::uint64_t>(*p).fetch_sub(v, mo);
  }

  static std::uint64_t now_ns() noexcept { return detail::clock_now_ns(); }
  static void reader_fence() noexcept { lockfree::reader_fence(); }
  static void writer_fence() noexcept { lockfree::writer_fence(); }

  [[gnu::always_inline]] static void copy_record(char *dst, std::uint64_t *src,
                                                 std::size_t len) noexcept {
#if defined(SHMTABLE_TSAN)
    copy_by_words(NativeAtomics{}, dst, src, len); // TSan sees each load
#else
    lockfree::racy_copy(dst, src, len);
#endif
  }
  [[gnu::always_inline]] static void fill_record(std::uint64_t *dst, const char *src,
                                                 std::size_t len) noexcept {
#if defined(SHMTABLE_TSAN)
    fill_by_words(NativeAtomics{}, dst, src, len);
#else
    lockfree::racy_fill(dst, src, len);
#endif
  }
  static bool is_ascii(std::uint64_t *src, std::size_t len) noexcept {
#if defined(SHMTABLE_TSAN)
    return is_ascii_by_words(NativeAtomics{}, src, len);
#else
    return lockfree::racy_is_ascii(src, len);
#endif
  }

  // A random pause that grows with the round, so that two inserters of one key stop
  // cancelling each other (obstruction-free progress, papers/protocol.md section 9).
  static void backoff(unsigned round) noexcept {
    thread_local std::minstd_rand rng(
        static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
                              reinterpret_cast<std::uintptr_t>(&round)));
    const unsigned limit = 1u << std::min(round, 12u);
    const unsigned n = 1 + rng() % limit;
    for (unsigned i = 0; i < n; ++i) {
      _mm_pause();
    }
    if (round > 16) {
      std::this_thread::yield();
    }
  }
};

static_assert(SlotAtomics<NativeAtomics>);

// The production policy on CPUs that guarantee 16-byte atomicity for aligned vector
// loads (cpu_has_atomic_vector_load(), cas128.hpp): every control word read is one
// MOVDQA instead of lo/hi/lo. Everything else is NativeAtomics's.
struct VectorLoadAtomics : NativeAtomics {
  static Word128 load128(const Word128 *w) noexcept { return lockfree::load128_vector(w); }
};

static_assert(SlotAtomics<VectorLoadAtomics>);

} // namespace shmtable::detail::lockfree
