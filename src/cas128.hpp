// The 128-bit words of the lock-free engine: the one place that touches them as a whole.
//
// Every 16-byte compare-and-swap in the library goes through cas128(), which is an
// inline `lock cmpxchg16b`. Not std::atomic<unsigned __int128>: g++ routes that through
// libatomic, whose fallback is a lock table private to one process, which is no lock at
// all for another process mapping the same segment (papers/protocol.md, section 2). The meson
// test `cmpxchg16b` disassembles the built library to prove the instruction is there and
// that no __atomic_*_16 call is.
//
// Readers never store. They read a word in one of two ways, both atomic snapshots of the
// whole 16 bytes (the handle picks one when it opens, see control_load_path()):
//  - load128_vector(): one aligned 16-byte MOVDQA. Atomic on CPUs that report AVX:
//    Intel SDM Vol. 3A §8.1.1 ("Processors that enumerate support for Intel AVX ...
//    guarantee that the 16-byte memory operations performed by the following
//    instructions will always be carried out atomically: MOVAPD, MOVAPS, and MOVDQA"),
//    AMD APM Vol. 2 §7.3.2 (CPUID Fn0000_0001_ECX[AVX] = 1 extends the atomicity of
//    cacheable, naturally aligned single loads to a double quadword).
//  - load128(): the fallback for every other CPU. Two 8-byte acquire loads of lo around
//    one of hi, accepted only if both reads of lo agree. That is sound because of
//    invariant W1 below: no two successful CASes leave the same `lo`, so equal lo reads
//    bracket a hi read that belongs to the same word value.
//
// W1. `lo` is a version that every successful cas128() on a word increases (the
//     callers build `desired` with lo + 1, or a slot's reservation with the next epoch,
//     lockfree_layout.hpp; 64 bits never wrap in practice).
//
// Under ThreadSanitizer (threads-only builds) both go through the compiler's 16-byte
// __atomic builtins instead, which TSan instruments (emulating them with a lock that is
// correct between threads of one process), so TSan sees every synchronisation edge.
#pragma once

#include <cpuid.h>
#include <emmintrin.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#if !defined(__x86_64__)
#error "shmtable's lock-free engine needs x86-64: its control words use lock cmpxchg16b"
#endif
#if !defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_16)
#error "shmtable's lock-free engine needs cmpxchg16b: compile with -mcx16 (meson adds it)"
#endif

#if defined(__SANITIZE_THREAD__)
#define SHMTABLE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMTABLE_TSAN 1
#endif
#endif

namespace shmtable::detail::lockfree {

struct alignas(16) Word128 {
  std::uint64_t lo; // version (W1)
  std::uint64_t hi; // payload, meaning given by the owner of the word
  friend bool operator==(const Word128 &, const Word128 &) = default;
};
static_assert(sizeof(Word128) == 16 && alignof(Word128) == 16,
              "cmpxchg16b needs a 16-byte, 16-byte-aligned operand");

#if defined(SHMTABLE_TSAN)

inline bool cas128(Word128 *w, Word128 &expected, Word128 desired) noexcept {
  auto *p = reinterpret_cast<unsigned __int128 *>(w);
  auto e = (static_cast<unsigned __int128>(expected.hi) << 64) | expected.lo;
  const auto d = (static_cast<unsigned __int128>(desired.hi) << 64) | desired.lo;
  const bool ok = __atomic_compare_exchange_n(p, &e, d, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  expected = {static_cast<std::uint64_t>(e), static_cast<std::uint64_t>(e >> 64)};
  return ok;
}

inline Word128 load128(const Word128 *w) noexcept {
  auto *p = reinterpret_cast<const unsigned __int128 *>(w);
  const auto v = __atomic_load_n(p, __ATOMIC_ACQUIRE);
  return {static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64)};
}
inline Word128 load128_vector(const Word128 *w) noexcept { return load128(w); }

#else

// Sequentially consistent and a full barrier: a locked instruction on x86-64 is ordered
// with every load and store before and after it (this is what makes the inserters'
// store-then-scan handshake work, see lockfree_engine.hpp I3). On failure `expected`
// receives the word's current value. The "memory" clobber keeps the compiler from
// moving any access across it.
inline bool cas128(Word128 *w, Word128 &expected, Word128 desired) noexcept {
  bool ok;
  asm volatile("lock cmpxchg16b %1"
               : "=@ccz"(ok), "+m"(*w), "+a"(expected.lo), "+d"(expected.hi)
               : "b"(desired.lo), "c"(desired.hi)
               : "memory");
  return ok;
}

inline Word128 load128(const Word128 *w) noexcept {
  auto *mut = const_cast<Word128 *>(w); // atomic_ref needs a non-const object; no store
  std::atomic_ref<std::uint64_t> lo(mut->lo);
  std::atomic_ref<std::uint64_t> hi(mut->hi);
  for (;;) {
    // Acquire on each: the hi read may not move above the first lo read, nor the second
    // lo read above the hi read; and whatever the CAS that wrote this value published
    // (a buffer's contents) is visible to the caller's later loads. Partner: cas128().
    const std::uint64_t v1 = lo.load(std::memory_order_acquire);
    const std::uint64_t h = hi.load(std::memory_order_acquire);
    const std::uint64_t v2 = lo.load(std::memory_order_acquire);
    if (v1 == v2) {
      return {v1, h}; // W1: no CAS landed between the lo reads, so h goes with v1
    }
  }
}

// One 16-byte load, for CPUs where cpu_has_atomic_vector_load() holds (and only those:
// elsewhere MOVDQA may tear between the halves). Inline asm on a memory operand, so the
// compiler can neither split it nor merge it with another access; the "memory" clobber
// keeps every later access of the caller below it, which with x86-TSO's load-load order
// makes it an acquire load (partner: the CAS that wrote the value, cas128()). The test
// `cmpxchg16b` finds the instruction in the built library.
inline Word128 load128_vector(const Word128 *w) noexcept {
  __m128i v;
  asm volatile("movdqa %1, %0" : "=x"(v) : "m"(*w) : "memory");
  return {static_cast<std::uint64_t>(_mm_cvtsi128_si64(v)),
          static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)))};
}

#endif

// Whether this CPU guarantees that an aligned 16-byte MOVDQA is atomic: CPUID leaf 1,
// ECX bit 28 (AVX), as both vendors' manuals above state it.
inline bool cpu_has_atomic_vector_load() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & bit_AVX) != 0;
}

// Whether this CPU has PREFETCHW (CPUID 0x80000001, ECX bit 8: every AMD64 CPU, Intel
// since Broadwell), which fetches a line in the state a store needs.
inline bool cpu_has_prefetchw() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001, &a, &b, &c, &d) != 0 && (c & bit_PRFCHW) != 0;
}

// Asked once, when the library is loaded.
inline const bool kHasPrefetchW = cpu_has_prefetchw();

// A hint that this core is about to write the line of `p`: fetches it for ownership, so
// that a line another core holds moves here once, not first shared (for a read) and then
// again (for the store). Never faults, never stores; a no-op where PREFETCHW is missing.
inline void prefetch_for_write(const void *p) noexcept {
  if (kHasPrefetchW) {
    asm volatile("prefetchw %0" : : "m"(*static_cast<const char *>(p)));
  }
}

// The version alone: what a seqlock reader re-checks after copying. Relaxed is enough
// because the caller issues atomic_thread_fence(acquire) before it (see the engine's
// read protocol), which orders the copy's loads before this one.
inline std::uint64_t load_version(const Word128 *w) noexcept {
#if defined(SHMTABLE_TSAN)
  return load128(w).lo;
#else
  return std::atomic_ref<std::uint64_t>(const_cast<Word128 *>(w)->lo)
      .load(std::memory_order_relaxed);
#endif
}

// The seqlock's two fences and the orders of the record copies between them.
//
// Normal builds: relaxed record loads and stores, bracketed by an acquire fence in the
// reader (after its copy, before re-checking the version) and a release fence in the
// writer (after it takes a buffer, before it writes one), as in Boehm's "Can seqlocks
// get along with programming language memory models?".
//
// ThreadSanitizer (g++) does not support atomic_thread_fence. Its builds use the other
// correct form of the same edges instead: every record load is an acquire and every
// record store a release, so a reader that reads any recycled word synchronises with
// the store that wrote it, and through it with everything the recycler did before.
// R2's copy of a record's bytes into private memory, in the normal builds: 16-byte SSE
// loads (8-byte ones for short values) issued from inline asm, each byte read once, never
// outside [src, src + len). The copy races with recyclers by design and is validated
// afterwards (R3). The asm is outside the C++ memory model, where it stands for a run of
// relaxed loads: on x86-TSO its loads are performed in program order with the reader's
// later version re-load, and the acquire fence before that re-load keeps the compiler
// from moving it above them (volatile asm is not moved across a fence). The copy the
// Relacy model checks is the relaxed word-by-word one (lockfree_atomics.hpp,
// copy_by_words), which ThreadSanitizer builds use too. Its reason: word by word, a
// 256-byte value costs ~200 instructions; this way ~40.
[[gnu::always_inline]] inline void racy_copy(char *dst, const std::uint64_t *src,
                                             std::size_t len) noexcept {
  const char *s = reinterpret_cast<const char *>(src);
  const auto load16 = [](const char *p) {
    __m128i v;
    asm volatile("movdqu %1, %0" : "=x"(v) : "m"(*reinterpret_cast<const char(*)[16]>(p)));
    return v;
  };
  const auto load8 = [](const char *p) {
    std::uint64_t v;
    asm volatile("movq %1, %0" : "=r"(v) : "m"(*reinterpret_cast<const char(*)[8]>(p)));
    return v;
  };
  if (len >= 16) {
    for (std::size_t i = 0; i + 16 < len; i += 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i), load16(s + i));
    }
    // The last 16 bytes, overlapping the previous chunk where len is not a multiple.
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + len - 16), load16(s + len - 16));
  } else if (len >= 8) {
    const std::uint64_t a = load8(s), b = load8(s + len - 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + len - 8, &b, 8);
  } else if (len > 0) {
    const std::uint64_t v = load8(s); // the value area is padded to 8 bytes: in bounds
    for (std::size_t i = 0; i < len; ++i) {
      dst[i] = static_cast<char>(v >> (8 * i));
    }
  }
}

// The writer's side of racy_copy: `len` bytes into a record's value area that the writer
// holds (P1) but a slow reader may still be copying (it will fail R3). 16-byte SSE stores
// from inline asm, then the last partial word zero-padded (the layout's padding) as one
// 8-byte store. In C++ terms they stand for relaxed stores: they follow the writer's
// release fence and precede the publishing lock cmpxchg16b, and x86-TSO performs stores
// in program order; the asm's memory operands keep the compiler from moving them across
// either.
[[gnu::always_inline]] inline void racy_fill(std::uint64_t *dst, const char *src,
                                             std::size_t len) noexcept {
  char *d = reinterpret_cast<char *>(dst);
  std::size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i));
    asm volatile("movdqu %1, %0" : "=m"(*reinterpret_cast<char(*)[16]>(d + i)) : "x"(v));
  }
  for (; i < len; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, src + i, len - i < 8 ? len - i : 8);
    asm volatile("movq %1, %0" : "=m"(*reinterpret_cast<char(*)[8]>(d + i)) : "r"(w));
  }
}

// Whether the `len` bytes at `src` (a record's value area) are all ASCII, read the way
// racy_copy reads them (same argument): ORs 16-byte SSE loads and tests their sign bits.
[[gnu::always_inline]] inline bool racy_is_ascii(const std::uint64_t *src,
                                                 std::size_t len) noexcept {
  const char *s = reinterpret_cast<const char *>(src);
  __m128i acc = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    __m128i v;
    asm volatile("movdqu %1, %0" : "=x"(v) : "m"(*reinterpret_cast<const char(*)[16]>(s + i)));
    acc = _mm_or_si128(acc, v);
  }
  std::uint64_t high = static_cast<std::uint64_t>(_mm_movemask_epi8(acc));
  for (; i < len; i += 8) { // the value area is padded to 8 bytes: whole words are in bounds
    std::uint64_t w;
    asm volatile("movq %1, %0" : "=r"(w) : "m"(*reinterpret_cast<const char(*)[8]>(s + i)));
    const std::size_t n = len - i < 8 ? len - i : 8;
    high |= w & (0x8080808080808080ULL >> (8 * (8 - n)));
  }
  return high == 0;
}

#if defined(SHMTABLE_TSAN)
inline constexpr std::memory_order kRecordLoad = std::memory_order_acquire;
inline constexpr std::memory_order kRecordStore = std::memory_order_release;
inline void reader_fence() noexcept {}
inline void writer_fence() noexcept {}
#else
inline constexpr std::memory_order kRecordLoad = std::memory_order_relaxed;
inline constexpr std::memory_order kRecordStore = std::memory_order_relaxed;
inline void reader_fence() noexcept { std::atomic_thread_fence(std::memory_order_acquire); }
inline void writer_fence() noexcept { std::atomic_thread_fence(std::memory_order_release); }
#endif

} // namespace shmtable::detail::lockfree
