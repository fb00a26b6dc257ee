// LockFreeTable's in-segment layout: the control word's fields, the record format, and
// where each part lies in a mapping (LockFreeGeometry). Private to the library, its tests
// and bench/'s floor table, which lays out its memory with it.
//
//   segment: [SegmentHeader | LockFreeControl | statistics | control words | record buffers
//             | reference marks (Options::eviction only)]
//            (statistics: stats_region.hpp, at stats_offset_of())
//
//   control word (16 bytes, one per slot, 4 per cache line; changed only by cas128):
//   +-----------------------+-------------+--------+--------------+-----------+-------+
//   | version (lo, 64 bits) | buffer (32) | timed  | fingerprint  | bound     | state |
//   | epoch: bits 63..16    | bits 63..32 | (1) 31 | (15) 30..16  | (14) 15..2| (2)   |
//   +-----------------------+-------------+--------+--------------+-----------+-------+
//     version: grows with every change (W1); its top 48 bits are the epoch (M2 below).
//     state:  kFree (0), kPending (1: reserved by an inserter, invisible to readers),
//             kLive (2: holds a key and its value, in `buffer`).
//     fingerprint: the top 15 bits of the key's hash (skip a slot without reading it).
//     timed:  the record has a deadline (T1 below): only then does anyone read the
//             record's deadline word or the clock.
//     bound:  for keys whose home is THIS slot: every one of them lies within `bound`
//             probe steps of here. Unrelated to this slot's own entry.
//     buffer: index of the record buffer holding the key and value (kPending, kLive).
//
//   record buffer (record_bytes each, 8-byte words, written only while unreachable):
//   +--------------------------+------------+-----------------------+-----------------------+
//   | key_len (32) | value_len | deadline   | key bytes, zero-padded| value bytes, zero-    |
//   |              | (32)      | (64, ns)   | to 8 [max_key_bytes]  | padded [max_value_b.] |
//   +--------------------------+------------+-----------------------+-----------------------+
//     deadline: when the entry expires, in ns of the table clock (expiry.hpp); 0: never.
//     A record with a deadline is published only by a word with `timed` set, and one
//     without by a word with it clear (T1).
//     While a buffer is on the free list its first word holds the next free index + 1.
//
//   reference marks (a table that evicts: one 8-byte word per slot, after the records):
//     CLOCK's "used lately" mark of the slot's entry (E1 in lockfree_engine.hpp): 1 when
//     a read found the entry since the eviction hand last passed, else 0. A hint for the
//     choice of a victim only: nothing's correctness reads it.
//
// All-zero is the empty table: every word kFree with bound 0, the pool's free list empty
// and its bump counter 0 (no buffer handed out yet), every statistic 0. Creation touches
// no slot page.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "cas128.hpp"
#include "params.hpp"
#include "segment_header.hpp"
#include "shmtable/config.hpp"
#include "shmtable/segment.hpp"
#include "stats_region.hpp"

namespace shmtable::detail::lockfree {

struct Magazine; // magazine.hpp

enum SlotStateLF : std::uint64_t { kFree = 0, kPending = 1, kLive = 2 };

// The fields of `hi`, from bit 0 up: state | bound | fingerprint | timed | buffer.
inline constexpr unsigned kStateBits = 2;
inline constexpr std::uint64_t kStateMask = (std::uint64_t{1} << kStateBits) - 1;
inline constexpr unsigned kBoundShift = 2;
inline constexpr unsigned kBoundBits = 14;
inline constexpr std::uint64_t kMaxBound = (1u << kBoundBits) - 1; // probe distance limit
inline constexpr unsigned kFpShift = 16;
inline constexpr unsigned kFpBits = 15;
inline constexpr std::uint64_t kFpMax = (std::uint64_t{1} << kFpBits) - 1;
inline constexpr unsigned kTimedShift = 31;
inline constexpr unsigned kTimedBits = 1;
inline constexpr unsigned kBufferShift = 32;
inline constexpr unsigned kBufferBits = 32;
// `lo` is the version, all 64 bits; version >> kEpochShift is the epoch.
inline constexpr unsigned kEpochShift = 16;

// Each field in place in `hi`.
inline constexpr std::uint64_t kStateField = kStateMask;
inline constexpr std::uint64_t kBoundField = kMaxBound << kBoundShift;
inline constexpr std::uint64_t kFpField = kFpMax << kFpShift;
inline constexpr std::uint64_t kTimedField = std::uint64_t{1} << kTimedShift;
inline constexpr std::uint64_t kBufferField = ~std::uint64_t{0} << kBufferShift;

// The fields of `hi` tile its 64 bits without overlap: each starts where the one below
// ends, no two share a bit, and together they cover the word.
static_assert(kStateBits == kBoundShift && kBoundShift + kBoundBits == kFpShift &&
                  kFpShift + kFpBits == kTimedShift && kTimedShift + kTimedBits == kBufferShift &&
                  kBufferShift + kBufferBits == 64,
              "state, bound, fingerprint, timed and buffer are adjacent and end at bit 63");
static_assert((kStateField & kBoundField) == 0 && (kStateField & kFpField) == 0 &&
                  (kStateField & kBufferField) == 0 && (kBoundField & kFpField) == 0 &&
                  (kBoundField & kBufferField) == 0 && (kFpField & kBufferField) == 0 &&
                  (kTimedField & (kStateField | kBoundField | kFpField | kBufferField)) == 0,
              "no two fields of a control word share a bit");
static_assert((kStateField | kBoundField | kFpField | kTimedField | kBufferField) ==
                  ~std::uint64_t{0},
              "the fields cover all of hi");
static_assert(kLive <= kStateMask, "every slot state fits the state field");
static_assert(kBufferBits == 32, "buffer indexes are 32 bits (Ctrl::buffer())");
static_assert(kBoundBits <= 16, "recover() keeps bounds as 16-bit numbers");
static_assert(kEpochShift < 64, "an epoch keeps some of the version's bits");

// A key's fingerprint, as its control word carries it: the top 15 bits of its hash.
constexpr std::uint64_t fingerprint_of(std::uint64_t hash) noexcept {
  return hash >> (64 - kFpBits);
}

// The fields of a word that say "kLive with fingerprint fp" (all in hi's low 32 bits),
// and their value for fp: a read decides both from a word by one masked compare.
inline constexpr std::uint64_t kLiveKeyFields = kFpField | kStateField;
constexpr std::uint64_t live_key_bits(std::uint64_t fp) noexcept { return fp << kFpShift | kLive; }

// A key's home slot: the hash's other 49 bits, scaled to [0, capacity) by one multiply
// (the high half of a 64 x 64-bit product; multiply-shift range reduction) rather than
// `hash % capacity`, whose `div` is about 15 cycles of latency on every operation. The
// fingerprint's bits are left out, so keys that share a home share a fingerprint only by
// chance (1 in 32 768). Each home is the image of floor(2^49 / capacity) of the 2^49
// values, or one more: as even as a remainder.
constexpr std::uint64_t home_of(std::uint64_t hash, std::uint64_t capacity) noexcept {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(hash << kFpBits) * capacity) >>
                                    64);
}

// Batched reads (LockFreeTable::get_many, and the floor's in bench/): a software
// pipeline over the keys. Key j is hashed and its home line prefetched at step j, its
// probe run read and its record prefetched at step j + kRecordAt, and it is looked up
// at step j + kLookupAt, so that about kLookupAt keys' misses are in flight at a time.
struct ManyPipeline {
  static constexpr std::size_t kRecordAt = 12;
  static constexpr std::size_t kLookupAt = 24;
  static constexpr std::size_t kRing = 32;        // > kLookupAt, a power of two
  static constexpr std::uint64_t kProbeAhead = 4; // slots past home worth prefetching (a line)
  static constexpr std::size_t kRecordLines = 4;  // record lines prefetched per key
};
static_assert(ManyPipeline::kRing > ManyPipeline::kLookupAt &&
                  ManyPipeline::kLookupAt > ManyPipeline::kRecordAt &&
                  (ManyPipeline::kRing & (ManyPipeline::kRing - 1)) == 0,
              "a key's probe stays in the ring from its hash to its lookup");

// A decoded control word value. Every change builds a new value from an observed one
// and keeps the fields it does not own (in particular `bound`, which belongs to the
// keys homed here, not to this slot's entry).
struct Ctrl {
  Word128 w;

  std::uint64_t version() const { return w.lo; }
  std::uint64_t epoch() const { return w.lo >> kEpochShift; }
  std::uint64_t state() const { return w.hi & kStateMask; }
  std::uint64_t bound() const { return (w.hi >> kBoundShift) & kMaxBound; }
  std::uint64_t fingerprint() const { return (w.hi >> kFpShift) & kFpMax; }
  std::uint32_t buffer() const { return static_cast<std::uint32_t>(w.hi >> kBufferShift); }
  bool timed() const { return (w.hi & kTimedField) != 0; }
  // Whether the word is kLive with the fingerprint of live_key_bits(fp) == `bits`.
  bool live_with(std::uint64_t bits) const { return (w.hi & kLiveKeyFields) == bits; }

  // The same slot holding (state, fp, buffer, timed), bound kept, version + 1 (W1).
  Ctrl with_entry(std::uint64_t state, std::uint64_t fp, std::uint32_t buffer,
                  bool timed = false) const {
    const std::uint64_t bound_bits = w.hi & kBoundField;
    return {{w.lo + 1, bound_bits | state | (fp << kFpShift) | (timed ? kTimedField : 0) |
                           (static_cast<std::uint64_t>(buffer) << kBufferShift)}};
  }
  Ctrl freed() const { return with_entry(kFree, 0, 0); }
  // The reservation of this (kFree) slot for a key: kPending with (fp, buffer), bound
  // kept, and the version raised to the start of the next epoch (W1: it grows).
  // M2. Within one epoch a slot is bound to one key: a key enters a slot only by this
  //     word, and every other change keeps the epoch or (a version's low bits carrying
  //     over) moves it on with the key unchanged. A thread's key memo (key_memo.hpp)
  //     rests on it.
  Ctrl reserved(std::uint64_t fp, std::uint32_t buffer, bool timed = false) const {
    Ctrl r = with_entry(kPending, fp, buffer, timed);
    r.w.lo = (w.lo | ((std::uint64_t{1} << kEpochShift) - 1)) + 1;
    return r;
  }
  // The same entry with another bound, version + 1 (W1). Lowering is recover()'s alone.
  // Callers never pass more than kMaxBound; a bad one is clamped all the same, never let
  // into the other fields (a corrupt bound must not become a corrupt fingerprint) nor
  // wrapped to a smaller bound (which would hide keys: I1).
  Ctrl with_bound(std::uint64_t bound) const {
    return {{w.lo + 1, (w.hi & ~kBoundField) | (std::min(bound, kMaxBound) << kBoundShift)}};
  }
};

struct LockFreeControl {
  // The buffer pool's head: lo = version (W1); hi = free-list top + 1 (low 32 bits, 0 =
  // empty) | bump (high 32 bits: buffers [bump, count) were never handed out).
  Word128 pool;
  // Buffers out of the pool: pops minus pushes, kept on the pool head's line, which
  // every pop and push has just written, so the count adds no line to any path. For
  // stats() only (TableStats::leaked_buffers), never for the protocol's correctness:
  // L1. pool_out is never below the buffers truly out of the pool: a pop counts itself
  //     before its CAS (undone if the pool is empty), a push after its CAS
  //     (BasicBufferPool). recover() sets it to the buffers it left in slots. So
  //       leaked = pool_out - entries - spares of live handles (their home stripes'
  //                `spare`, stats_region.hpp)
  //     is exact when no write is in flight: every buffer out of the pool is in a live
  //     slot, a handle's spare, or an operation in flight (P1); what a dead process's
  //     operations held, and its handles' spares, is what remains. A crash between a
  //     slot's CAS and the count that follows it (entries, a push, a spare kept) leaves
  //     the sum off by one until recover().
  std::uint64_t pool_out;
  std::uint8_t pad0[40];
  std::uint64_t entries;    // live entries; relaxed statistics (recover() recounts)
  std::uint64_t recoveries; // completed recover() runs
  std::uint64_t spares;     // handles holding a spare permit (magazine.hpp, P4)
  std::uint64_t timed;      // not 0 once an entry with a deadline was written (size())
  std::uint64_t hand;       // eviction: CLOCK's hand, the next slot to examine (mod capacity)
  std::uint8_t pad1[24];
};

static_assert(offsetof(LockFreeControl, pool) == 0 && sizeof(LockFreeControl) == 128,
              "the pool head owns its cache line; counters live on the next one");

// Where the statistics region of a table of `lay` starts (after LockFreeControl).
constexpr std::uint64_t stats_offset_of(const Layout &lay) {
  return stats::stats_offset_for(lay.control_offset, sizeof(LockFreeControl));
}

// ---- Record buffers ------------------------------------------------------------------

inline constexpr std::uint32_t kRecordHeaderBytes = 16; // key_len | value_len << 32, deadline
inline constexpr std::uint32_t kDeadlineWord = 1;       // a record's deadline (0: none)
inline constexpr std::uint32_t kKeyWord = 2;            // its first key word
static_assert(kKeyWord * 8 == kRecordHeaderBytes && kDeadlineWord < kKeyWord,
              "the key follows the header words");

constexpr std::uint32_t words_for(std::uint32_t bytes) { return (bytes + 7) / 8; }

// A record's header word, and the lengths it holds.
constexpr std::uint64_t record_header(std::uint64_t key_len, std::uint64_t value_len) {
  return key_len | (value_len << 32);
}
constexpr std::uint32_t record_key_len(std::uint64_t header) {
  return static_cast<std::uint32_t>(header);
}
constexpr std::uint32_t record_value_len(std::uint64_t header) {
  return static_cast<std::uint32_t>(header >> 32);
}

// Where a record's value starts, in words: after its header words and its key area
// (max_key_bytes, whatever the key's own length).
constexpr std::uint32_t value_word_for(std::uint32_t max_key) {
  return kRecordHeaderBytes / 8 + words_for(max_key);
}

constexpr std::uint64_t record_bytes_for(std::uint32_t max_key, std::uint32_t max_value) {
  return 8ULL * (value_word_for(max_key) + words_for(max_value));
}

// ---- Geometry ------------------------------------------------------------------------

// Where the engine's parts are in one mapping of a segment, and its sizes. The engine
// reads them through these accessors only, so that another type with the same accessors
// can stand in (LockFreeTable's own members, in lockfree_table.cpp).
struct LockFreeGeometry {
  LockFreeControl *control_ = nullptr;
  Word128 *words_ = nullptr; // capacity control words
  std::byte *records_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t hash_seed_ = 0;
  std::uint64_t max_distance_ = 0; // max_distance_for(capacity)
  std::uint32_t max_key_bytes_ = 0;
  std::uint32_t max_value_bytes_ = 0;
  std::uint32_t record_bytes_ = 0;
  std::uint32_t buffer_count_ = 0;
  std::uint64_t *marks_ = nullptr; // reference marks; nullptr: the table does not evict
  std::uint64_t evict_at_ = 0;     // entries from which an insert evicts (evict_at_for)
  Magazine *magazine_ = nullptr;   // the handle's spare (magazine.hpp); none: every buffer pooled
  std::uint64_t memo_handle_ = 0;  // the handle's id in key memos (key_memo.hpp); 0: none

  LockFreeControl *control() const noexcept { return control_; }
  Magazine *magazine() const noexcept { return magazine_; }
  std::uint64_t memo_handle() const noexcept { return memo_handle_; }
  // A reclaim freed an expired entry (T2). Counted by LockFreeTable's own view of its
  // geometry (stats()); nothing here.
  void note_expired() const noexcept {}
  // An insert evicted an entry (E2): as note_expired.
  void note_evicted() const noexcept {}
  std::uint64_t *marks() const noexcept { return marks_; }
  std::uint64_t evict_at() const noexcept { return evict_at_; }
  Word128 *words() const noexcept { return words_; }
  std::byte *records() const noexcept { return records_; }
  std::uint64_t capacity() const noexcept { return capacity_; }
  std::uint64_t hash_seed() const noexcept { return hash_seed_; }
  std::uint64_t max_distance() const noexcept { return max_distance_; }
  std::uint32_t max_key_bytes() const noexcept { return max_key_bytes_; }
  std::uint32_t max_value_bytes() const noexcept { return max_value_bytes_; }
  std::uint32_t record_bytes() const noexcept { return record_bytes_; }
  std::uint32_t buffer_count() const noexcept { return buffer_count_; }
};

// The probe limit: a key lies at most this many steps past its home.
constexpr std::uint64_t max_distance_for(std::uint64_t capacity) {
  return std::min<std::uint64_t>(capacity - 1, kMaxBound);
}

// The record buffers start on the first cache line after the control words.
constexpr std::uint64_t records_offset_for(const Layout &lay) {
  return round_up(lay.slots_offset + lay.params.capacity * sizeof(Word128), kCacheLineBytes);
}

// Where the reference marks start (meaningful for a table with kFlagEvict only).
constexpr std::uint64_t marks_offset_for(const Layout &lay, std::uint64_t buffers) {
  return round_up(records_offset_for(lay) + buffers * record_bytes_for(lay.params.max_key_bytes,
                                                                       lay.params.max_value_bytes),
                  kCacheLineBytes);
}

// How many entries a table that evicts holds before an insert evicts one
// (kEvictLoadPercent of the capacity, at least 1).
constexpr std::uint64_t evict_at_for(std::uint64_t capacity) {
  return std::max<std::uint64_t>(1, capacity / 100 * kEvictLoadPercent +
                                        capacity % 100 * kEvictLoadPercent / 100);
}

// The geometry of `lay` (as LockFreeTable::layout_for computed it) mapped at `base`.
inline LockFreeGeometry geometry_of(std::byte *base, const Layout &lay,
                                    std::uint32_t buffer_count) {
  LockFreeGeometry g;
  g.control_ = reinterpret_cast<LockFreeControl *>(base + lay.control_offset);
  g.words_ = reinterpret_cast<Word128 *>(base + lay.slots_offset);
  g.records_ = base + records_offset_for(lay);
  g.capacity_ = lay.params.capacity;
  g.hash_seed_ = lay.params.hash_seed;
  g.max_distance_ = max_distance_for(lay.params.capacity);
  g.max_key_bytes_ = lay.params.max_key_bytes;
  g.max_value_bytes_ = lay.params.max_value_bytes;
  g.record_bytes_ =
      static_cast<std::uint32_t>(record_bytes_for(g.max_key_bytes_, g.max_value_bytes_));
  g.buffer_count_ = buffer_count;
  if ((lay.params.flags & kFlagEvict) != 0) {
    g.marks_ = reinterpret_cast<std::uint64_t *>(base + marks_offset_for(lay, buffer_count));
    g.evict_at_ = evict_at_for(lay.params.capacity);
  }
  return g;
}

} // namespace shmtable::detail::lockfree
