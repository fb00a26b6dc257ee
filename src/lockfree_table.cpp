// LockFreeTable: out-of-place records published through 128-bit control words.
//
// IMPLEMENTATION DETAILS (papers/protocol.md has the full argument)
//
//   slot s:  [ version | buffer | fp | bound | state ]  --names-->  record buffer
//            (16 bytes, lock cmpxchg16b only)                      [klen|vlen|key|value]
//
// A key K hashes (XXH3-64, seeded) to h. Its home is h % capacity, its fingerprint the
// top 16 bits. K may live at home + d (mod capacity) for d <= bound(home), where
// bound(home) is kept in the home slot's control word.
//
// Slot states and who moves them (every arrow is one cas128, version + 1):
//
//      kFree --reserve (inserter)--> kPending --promote (owner only)--> kLive <-+
//        ^                              |                                 |     |
//        +--withdraw (owner) / cancel --+                                 +-----+
//        |         (rival inserter of K, or recover())                   |  update
//        +-----------------------------erase / clear----------------------+  (any writer)
//
// Invariants, each kept where noted below:
//  W1. Every successful CAS on a word increments its version (cas128.hpp).
//  I1. (bounds) If slot home+d is kPending or kLive with a key homed at `home`, then
//      d <= bound(home). Bounds only grow while other handles are attached. Kept by
//      insert_new(): raise_bound() before the reserving CAS.
//  I2. (immutability) A record buffer named by a kPending or kLive word is never
//      written; it is freed only after a CAS made the word stop naming it (P1 in
//      buffer_pool.hpp). Kept by mutate()/erase()/clear() and the pool.
//  I3. (no duplicates) At most one slot is kLive with key K. Kept by insert_new(): an
//      inserter reserves (kPending), then scans K's whole bound for K: a kLive K makes
//      it withdraw, a rival kPending K is cancelled, and it promotes only if its own
//      reservation is still in place. Of two overlapping reservations of K the later
//      scan sees the earlier one (the reserving CAS is a full barrier before the scan),
//      so both cannot promote.
//  I4. (ownership) Only the owner promotes its reservation, so a failed promote means
//      "cancelled", unambiguously; the owner's buffer index identifies its reservation
//      (no one else can hold that buffer, P1), so a version bumped by a bound raise is
//      told apart from a cancellation.
//
// Reads (R1-R3): load the word (acquire), copy the record with relaxed loads, fence
// (acquire), re-load the version (relaxed); equal versions mean the copy is the record
// the word named all along (I2), else retry the slot.
#include "shmtable/lockfree_table.hpp"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <unordered_set>

#include <xxhash.h>

#include "buffer_pool.hpp"
#include "counter_text.hpp"
#include "lockfree_layout.hpp"
#include "params.hpp"
#include "shmtable/error.hpp"

#ifndef SHMTABLE_PLANTED_BUG
#define SHMTABLE_PLANTED_BUG "none"
#endif

namespace shmtable {

using detail::BufferPool;
using detail::Ctrl;
using detail::kFree;
using detail::kLive;
using detail::kPending;
using detail::LockFreeControl;
using detail::Word128;

namespace {

constexpr PlantedBug planted_from(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kPlantedBugNames); ++i) {
    if (kPlantedBugNames[i] == name) {
      return static_cast<PlantedBug>(i);
    }
  }
  return static_cast<PlantedBug>(-1);
}
constexpr PlantedBug kPlanted = planted_from(SHMTABLE_PLANTED_BUG);
static_assert(static_cast<int>(kPlanted) >= 0, "SHMTABLE_PLANTED_BUG names no known bug");

constexpr std::uint32_t kRecordHeaderBytes = 8;

std::uint32_t words_for(std::uint32_t bytes) { return (bytes + 7) / 8; }

std::atomic_ref<std::uint64_t> at(std::uint64_t *w) { return std::atomic_ref<std::uint64_t>(*w); }

// Record words are read racily by design (a reader may copy a buffer that is being
// recycled) and validated afterwards (R3), so every access is an atomic one: relaxed,
// because the ordering comes from the control word and the fences around the copy
// (kRecordLoad/kRecordStore in cas128.hpp: acquire/release under TSan, which has no
// fences).
std::uint64_t load_word(std::uint64_t *w) { return at(w).load(detail::kRecordLoad); }
void store_word(std::uint64_t *w, std::uint64_t v) { at(w).store(v, detail::kRecordStore); }

std::uint64_t pack(const char *p, std::size_t n) { // n <= 8 bytes, zero-padded
  std::uint64_t v = 0;
  if (n == 8) {
    std::memcpy(&v, p, 8); // the common case: one load, no call
  } else {
    std::memcpy(&v, p, n);
  }
  return v;
}

void cpu_pause(unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    _mm_pause();
  }
}

// After a cancelled reservation: a random pause that grows with the round, so that two
// inserters of one key stop cancelling each other (obstruction-free progress).
void backoff(unsigned round) {
  thread_local std::minstd_rand rng(
      static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
                            reinterpret_cast<std::uintptr_t>(&round)));
  const unsigned limit = 1u << std::min(round, 12u);
  cpu_pause(1 + rng() % limit);
  if (round > 16) {
    std::this_thread::yield();
  }
}

} // namespace

std::string_view planted_bug_name() noexcept {
  return kPlantedBugNames[static_cast<std::size_t>(kPlanted)];
}

// The caller's key, hashed and packed once per operation.
struct LockFreeTable::Probe {
  std::string_view key;
  std::uint64_t home;
  std::uint64_t fp;
  std::uint32_t nwords; // words_for(key.size())
  std::uint64_t words[kMaxKeyBytesLimit / 8];
};

// Where visit() copies a live value to: a string, or the caller's span.
struct LockFreeTable::Sink {
  std::string *str = nullptr;
  std::span<char> span{};
  std::size_t len = 0;
  bool too_small = false;
};

// ---- Layout ------------------------------------------------------------------------

std::uint64_t LockFreeTable::buffers_for(std::uint64_t capacity) noexcept {
  return capacity + std::max<std::uint64_t>(64, capacity / 8);
}

Layout LockFreeTable::layout_for(const TableParams &p) {
  detail::check_sizing(p);
  if ((p.flags & kFlagRobust) != 0) {
    throw Error(Errc::kInvalidArgument,
                "robust: only MutexTable has a robust mode; LockFreeTable is crash-safe as is");
  }
  constexpr std::uint64_t kMaxBuffers = 0xfffffff0ULL; // buffer indexes are 32 bits
  if (buffers_for(p.capacity) > kMaxBuffers) {
    throw Error(Errc::kInvalidArgument, "capacity: " + std::to_string(p.capacity) +
                                            " slots exceed the lock-free engine's limit of " +
                                            std::to_string(kMaxBuffers * 8 / 9));
  }
  Layout lay;
  lay.params = p;
  lay.slot_bytes = sizeof(Word128);
  lay.control_offset = kHeaderBytes;
  lay.slots_offset = detail::round_up(kHeaderBytes + sizeof(LockFreeControl), kCacheLineBytes);
  const std::uint64_t record_bytes =
      kRecordHeaderBytes + 8ULL * (words_for(p.max_key_bytes) + words_for(p.max_value_bytes));
  const std::uint64_t records_offset =
      detail::round_up(lay.slots_offset + p.capacity * sizeof(Word128), kCacheLineBytes);
  const std::uint64_t bytes = records_offset + buffers_for(p.capacity) * record_bytes;
  if (bytes > kMaxSegmentBytes) {
    throw Error(Errc::kInvalidArgument,
                "capacity: " + std::to_string(p.capacity) + " slots need " + std::to_string(bytes) +
                    " bytes, over the segment limit of " + std::to_string(kMaxSegmentBytes));
  }
  lay.total_bytes = bytes;
  lay.reserve = false; // all-zero is the empty table: touch nothing
  const std::uint64_t abi[] = {sizeof(Word128),
                               alignof(Word128),
                               sizeof(LockFreeControl),
                               offsetof(LockFreeControl, entries),
                               detail::kBoundShift,
                               detail::kFpShift,
                               detail::kBufferShift,
                               kRecordHeaderBytes,
                               3 /* hash: XXH3-64 */};
  lay.abi_signature = XXH64(abi, sizeof abi, 0);
  return lay;
}

LockFreeTable::LockFreeTable(const Options &opts)
    : segment_([&] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (__get_cpuid(1, &a, &b, &c, &d) == 0 || (c & bit_CMPXCHG16B) == 0) {
          throw Error(Errc::kSystem, "this CPU has no cmpxchg16b, which LockFreeTable needs");
        }
        if (opts.robust) {
          throw Error(Errc::kInvalidArgument, "robust: only MutexTable has a robust mode; "
                                              "LockFreeTable is crash-safe as is");
        }
        return Segment::attach(opts,
                               TableParams{kEngine, 0u, opts.capacity, opts.max_key_bytes,
                                           opts.max_value_bytes, opts.hash_seed},
                               &LockFreeTable::layout_for, {});
      }()) {
  const Layout &lay = segment_.layout();
  control_ = reinterpret_cast<LockFreeControl *>(segment_.base() + lay.control_offset);
  words_ = reinterpret_cast<Word128 *>(segment_.base() + lay.slots_offset);
  records_ = segment_.base() +
             detail::round_up(lay.slots_offset + capacity() * sizeof(Word128), kCacheLineBytes);
  record_bytes_ = static_cast<std::uint32_t>(
      kRecordHeaderBytes + 8ULL * (words_for(max_key_bytes()) + words_for(max_value_bytes())));
  buffer_count_ = static_cast<std::uint32_t>(buffers_for(capacity()));
  max_distance_ = std::min<std::uint64_t>(capacity() - 1, detail::kMaxBound);
}

LockFreeTable::~LockFreeTable() = default;
LockFreeTable::LockFreeTable(LockFreeTable &&) noexcept = default;
LockFreeTable &LockFreeTable::operator=(LockFreeTable &&) noexcept = default;

// ---- Private helpers --------------------------------------------------------------

namespace {
// The live-entry counter: statistics with no ordering duties (size() is best-effort and
// recover() recounts), so every access to it is relaxed.
std::atomic_ref<std::uint64_t> entries_of(LockFreeControl *control) {
  return std::atomic_ref<std::uint64_t>(control->entries);
}

BufferPool pool_of(LockFreeControl *control, std::byte *records, std::uint32_t record_bytes,
                   std::uint32_t count) {
  return BufferPool(&control->pool, records, record_bytes, count);
}
} // namespace

// inline: not interposable, so calls in this file are inlined even under -fPIC.
inline Word128 *LockFreeTable::word(std::uint64_t slot) const noexcept { return words_ + slot; }

std::uint64_t LockFreeTable::home_slot(std::string_view key) const noexcept {
  return XXH3_64bits_withSeed(key.data(), key.size(), layout().params.hash_seed) % capacity();
}

LockFreeTable::Probe LockFreeTable::probe_for(std::string_view key) const {
  detail::check_key_size(key.size(), max_key_bytes());
  Probe p; // words[] beyond nwords stay unwritten: only the first nwords are ever read
  p.key = key;
  const std::uint64_t h = XXH3_64bits_withSeed(key.data(), key.size(), layout().params.hash_seed);
  p.home = h % capacity();
  p.fp = h >> 48;
  p.nwords = words_for(static_cast<std::uint32_t>(key.size()));
  for (std::uint32_t i = 0; i < p.nwords; ++i) {
    const std::size_t off = std::size_t{i} * 8;
    p.words[i] = pack(key.data() + off, std::min<std::size_t>(8, key.size() - off));
  }
  return p;
}

void LockFreeTable::check_value(std::string_view value) const {
  detail::check_value_size(value.size(), max_value_bytes());
}

// One seqlock read of `slot` (R1-R3). Returns whether it holds p's key, and in what
// state; on kLive with a sink, the value has been copied there. `c` is the validated
// control word.
LockFreeTable::Found LockFreeTable::visit(std::uint64_t slot, const Probe &p, Ctrl &c,
                                          Sink *sink) const {
  const BufferPool pool = pool_of(control_, records_, record_bytes_, buffer_count_);
  for (;;) {
    // R1: acquire (inside load128): pairs with the CAS that published the word, so the
    // record it names is visible in full below (I2).
    c.w = detail::load128(word(slot));
    const std::uint64_t state = c.state();
    if (state == kFree || c.fingerprint() != p.fp) {
      return Found::kNo; // decided from the word alone, which load128 read atomically
    }
    if (c.buffer() >= buffer_count_) {
      return Found::kNo; // corrupted word: never index with it (recover() frees it)
    }
    std::uint64_t *rec = pool.words(c.buffer());
    // R2: the copy. Relaxed loads; may race with a recycler's stores, which R3 detects.
    const std::uint64_t head = load_word(rec);
    bool match = static_cast<std::uint32_t>(head) == p.key.size();
    for (std::uint32_t i = 0; match && i < p.nwords; ++i) {
      match = load_word(rec + 1 + i) == p.words[i];
    }
    if (match && state == kLive && sink != nullptr) {
      const std::size_t len = std::min<std::uint64_t>(head >> 32, max_value_bytes());
      const std::uint64_t *val = rec + 1 + words_for(max_key_bytes());
      char *dst = nullptr;
      if (sink->str != nullptr) {
        sink->str->resize(detail::round_up(len, 8));
        dst = sink->str->data();
      } else {
        dst = sink->span.data();
      }
      sink->too_small = sink->str == nullptr && len > sink->span.size();
      sink->len = len;
      if (!sink->too_small) {
        const std::size_t full = sink->str != nullptr ? words_for(len) : len / 8;
        std::uint64_t *src = const_cast<std::uint64_t *>(val);
        std::size_t i = 0;
        for (; i + 4 <= full; i += 4) { // four words per step: a 256-byte value in 8 steps
          const std::uint64_t v[4] = {load_word(src + i), load_word(src + i + 1),
                                      load_word(src + i + 2), load_word(src + i + 3)};
          std::memcpy(dst + i * 8, v, sizeof v);
        }
        for (; i < full; ++i) {
          const std::uint64_t v = load_word(src + i);
          std::memcpy(dst + i * 8, &v, 8);
        }
        if (full * 8 < len) { // the span's tail: only the bytes it has room for
          const std::uint64_t v = load_word(const_cast<std::uint64_t *>(val + full));
          std::memcpy(dst + full * 8, &v, len - full * 8);
        }
      }
    }
    // R3: acquire fence, then the version again. If any load of the copy read a store
    // made after this buffer was recycled, the fence synchronises with the recycler's
    // release fence (BufferPool::pop), which comes after the CAS that unpublished the
    // buffer from this slot: the re-load below then cannot miss that CAS (W1).
    detail::reader_fence();
    if (kPlanted == PlantedBug::kSkipRecheck || detail::load_version(word(slot)) == c.version()) {
      if (sink != nullptr && sink->str != nullptr && match && state == kLive) {
        sink->str->resize(sink->len);
      }
      return !match ? Found::kNo : state == kLive ? Found::kLive : Found::kPending;
    }
  }
}

// The slot where p's key is live (with its validated word in `c`), or nullopt. Scans
// home .. home + bound(home), which covers every slot the key can be in (I1).
std::optional<std::uint64_t> LockFreeTable::find(const Probe &p, Ctrl &c, Sink *sink) const {
  const Ctrl home{detail::load128(word(p.home))};
  std::uint64_t slot = p.home;
  for (std::uint64_t d = 0; d <= home.bound(); ++d) {
    if (visit(slot, p, c, sink) == Found::kLive) {
      return slot;
    }
    slot = slot + 1 == capacity() ? 0 : slot + 1;
  }
  return std::nullopt;
}

// Writes key and value into the buffer in hand (taking one from the pool first if
// needed). The buffer is private to us (P1), so nobody reads it as valid until a CAS
// publishes it.
std::uint32_t LockFreeTable::fill(std::optional<std::uint32_t> &held, const Probe &p,
                                  std::string_view value) const {
  const BufferPool pool = pool_of(control_, records_, record_bytes_, buffer_count_);
  // Release fence before every (re)fill, also of a buffer kept in hand across a retry:
  // whatever unpublished it happens-before these stores for a reader's R3 (pop() has
  // one too, for buffers taken from the pool).
  detail::writer_fence();
  if (!held) {
    held = pool.pop(); // ends with the release fence the seqlock readers rely on (R3)
    if (!held) {
      throw Error(Errc::kTableFull,
                  "set: no free record buffer (all " + std::to_string(buffer_count_) +
                      " are holding entries, in flight, or leaked by crashed writers until "
                      "recover())");
    }
  }
  std::uint64_t *rec = pool.words(*held);
  store_word(rec, p.key.size() | (std::uint64_t{value.size()} << 32));
  for (std::uint32_t i = 0; i < p.nwords; ++i) {
    store_word(rec + 1 + i, p.words[i]);
  }
  std::uint64_t *val = rec + 1 + words_for(max_key_bytes());
  for (std::size_t off = 0; off < value.size(); off += 8) {
    store_word(val + off / 8,
               pack(value.data() + off, std::min<std::size_t>(8, value.size() - off)));
  }
  return *held;
}

// Replaces a live entry's word (update or erase). The CAS is seq_cst: its release half
// publishes the new buffer's contents to readers' R1 acquire; its acquire half orders
// it before our push of the old buffer.
bool LockFreeTable::publish(std::uint64_t slot, Ctrl &expected, const Ctrl &desired) const {
  if constexpr (kPlanted == PlantedBug::kCasAsStore) {
    const Word128 now = detail::load128(word(slot));
    if (now != expected.w) {
      expected.w = now;
      return false;
    }
    auto *w = word(slot); // the planted bug: two plain stores where one CAS belongs
    std::atomic_ref<std::uint64_t>(w->hi).store(desired.w.hi, std::memory_order_relaxed);
    // Release: the planted bug keeps the publish edge (partner: readers' R1 acquire) and
    // breaks only atomicity, so the checkers are shown to catch exactly that.
    std::atomic_ref<std::uint64_t>(w->lo).store(desired.w.lo, std::memory_order_release);
    return true;
  }
  return detail::cas128(word(slot), expected.w, desired.w);
}

void LockFreeTable::raise_bound(std::uint64_t home, std::uint64_t distance) const {
  Ctrl h{detail::load128(word(home))};
  while (h.bound() < distance) {
    if (detail::cas128(word(home), h.w, h.with_bound(distance).w)) {
      return;
    }
  }
}

// I3's scan, after our reservation at `mine`: false if p's key is live elsewhere (we
// must withdraw); otherwise every rival reservation of the key has been cancelled.
bool LockFreeTable::cancel_rivals(const Probe &p, std::uint64_t mine) const {
  if constexpr (kPlanted == PlantedBug::kNoDupScan) {
    return true;
  }
  // Read after our reserving CAS (a full barrier), so this bound covers every rival that
  // reserved before us (I1: it raised the bound before reserving).
  const Ctrl home{detail::load128(word(p.home))};
  std::uint64_t slot = p.home;
  for (std::uint64_t d = 0; d <= home.bound(); ++d, slot = slot + 1 == capacity() ? 0 : slot + 1) {
    if (slot == mine) {
      continue;
    }
    for (;;) {
      Ctrl c;
      const Found f = visit(slot, p, c, nullptr);
      if (f == Found::kLive) {
        return false;
      }
      if (f == Found::kNo || detail::cas128(word(slot), c.w, c.freed().w)) {
        break; // cancelled: its owner's promote will fail (I4) and it keeps its buffer
      }
      // The rival's word changed (promoted, withdrawn, or a bound raise): look again.
    }
  }
  return true;
}

// Inserts p's key with the record in `buffer` (filled, private). kKeyIsLive if the key
// turned out to be live already; the buffer is then still ours.
LockFreeTable::InsertResult LockFreeTable::insert_new(const Probe &p, std::uint32_t buffer) const {
  for (unsigned round = 0;; ++round) {
    std::uint64_t slot = p.home;
    std::uint64_t d = 0;
    Ctrl c;
    for (; d <= max_distance_; ++d, slot = slot + 1 == capacity() ? 0 : slot + 1) {
      c.w = detail::load128(word(slot));
      if (c.state() == kFree) {
        break;
      }
    }
    if (d > max_distance_) {
      throw Error(Errc::kTableFull,
                  "set: table is full (no free slot within " + std::to_string(max_distance_ + 1) +
                      " probes of the key's home; capacity " + std::to_string(capacity()) + ")");
    }
    raise_bound(p.home, d); // I1: before the reservation becomes visible
    Ctrl mine = c.with_entry(kPending, p.fp, buffer);
    if (!detail::cas128(word(slot), c.w, mine.w)) {
      continue; // the slot was taken (or its bound raised): look again
    }
    if (!cancel_rivals(p, slot)) {
      // Withdraw. If a rival cancelled us first, the slot is no longer ours (I4).
      Ctrl now = mine;
      while (now.state() == kPending && now.buffer() == buffer &&
             !detail::cas128(word(slot), now.w, now.freed().w)) {
      }
      return InsertResult::kKeyIsLive;
    }
    // Promote: only the owner does (I4), so failure with our buffer gone means cancelled.
    Ctrl now = mine;
    while (now.state() == kPending && now.buffer() == buffer) {
      if (detail::cas128(word(slot), now.w, now.with_entry(kLive, p.fp, buffer).w)) {
        return InsertResult::kInserted; // linearization point of the insert
      }
    }
    backoff(round);
  }
}

// The one write path: reads the key's current value, asks `decide` for the new one and
// installs it atomically, retrying from the read if anything changed in between.
// decide(std::optional<std::string_view> current, std::string &next) -> bool (write?).
// Without `reads_value`, `current` only tells present from absent (its bytes are not
// copied: a plain set does not need them).
template <class Decide>
bool LockFreeTable::mutate(std::string_view key, bool reads_value, Decide &&decide) {
  const Probe p = probe_for(key);
  const BufferPool pool = pool_of(control_, records_, record_bytes_, buffer_count_);
  std::optional<std::uint32_t> held; // the one buffer this operation may hold (P2)
  struct GiveBack {
    const BufferPool &pool;
    std::optional<std::uint32_t> &held;
    ~GiveBack() {
      if (held) {
        pool.push(*held);
      }
    }
  } give_back{pool, held};
  std::string current;
  std::string next;
  for (;;) {
    Ctrl c;
    Sink sink{&current};
    const std::optional<std::uint64_t> slot = find(p, c, reads_value ? &sink : nullptr);
    if (!decide(slot ? std::optional<std::string_view>(current) : std::nullopt, next)) {
      return false; // linearized at the validated read of `c` (or the absent scan)
    }
    check_value(next);
    if (slot) {
      const std::uint32_t old = c.buffer();
      std::uint32_t buf;
      if constexpr (kPlanted == PlantedBug::kPublishBeforeWrite) {
        const std::optional<std::uint32_t> got = pool.pop();
        if (!got) {
          throw Error(Errc::kTableFull, "set: no free record buffer");
        }
        buf = *got; // the planted bug: publish first, write the record afterwards
        if (!publish(*slot, c, c.with_entry(kLive, p.fp, buf))) {
          pool.push(buf);
          continue;
        }
        std::optional<std::uint32_t> late = buf;
        fill(late, p, next);
        pool.push(old);
        return true;
      }
      buf = fill(held, p, next);
      if (publish(*slot, c, c.with_entry(kLive, p.fp, buf))) { // linearization point
        held.reset();                                          // now in the slot (P1)
        pool.push(old); // I2: unpublished by the CAS above; readers catch it by R3
        return true;
      }
      continue;
    }
    const std::uint32_t buf = fill(held, p, next);
    if (insert_new(p, buf) == InsertResult::kInserted) {
      held.reset();
      entries_of(control_).fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    // The key became live meanwhile: decide again against its value.
  }
}

// ---- Public operations --------------------------------------------------------------

void LockFreeTable::set(std::string_view key, std::string_view value) {
  check_value(value);
  mutate(key, /*reads_value=*/false, [&](std::optional<std::string_view>, std::string &next) {
    next.assign(value);
    return true;
  });
}

std::optional<std::string> LockFreeTable::get(std::string_view key) const {
  const Probe p = probe_for(key);
  std::string out;
  Sink sink{&out};
  Ctrl c;
  if (!find(p, c, &sink)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::size_t> LockFreeTable::get_into(std::string_view key,
                                                   std::span<char> out) const {
  const Probe p = probe_for(key);
  Sink sink;
  sink.span = out;
  Ctrl c;
  if (!find(p, c, &sink)) {
    return std::nullopt;
  }
  if (sink.too_small) {
    throw Error(Errc::kBufferTooSmall, "get_into: the buffer of " + std::to_string(out.size()) +
                                           " bytes is smaller than the value's " +
                                           std::to_string(sink.len) + " bytes");
  }
  return sink.len;
}

bool LockFreeTable::contains(std::string_view key) const {
  const Probe p = probe_for(key);
  Ctrl c;
  return find(p, c, nullptr).has_value();
}

bool LockFreeTable::erase(std::string_view key) {
  const Probe p = probe_for(key);
  const BufferPool pool = pool_of(control_, records_, record_bytes_, buffer_count_);
  for (;;) {
    Ctrl c;
    const std::optional<std::uint64_t> slot = find(p, c, nullptr);
    if (!slot) {
      return false;
    }
    const std::uint32_t old = c.buffer();
    if (publish(*slot, c, c.freed())) { // linearization point
      pool.push(old);                   // I2
      entries_of(control_).fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
  }
}

std::int64_t LockFreeTable::add(std::string_view key, std::int64_t delta) {
  std::int64_t sum = 0;
  mutate(key, true, [&](std::optional<std::string_view> current, std::string &next) {
    next = detail::add_to_text(current, delta, sum);
    return true;
  });
  return sum;
}

bool LockFreeTable::compare_and_set(std::string_view key, std::string_view expected,
                                    std::string_view desired) {
  check_value(desired);
  return mutate(key, true, [&](std::optional<std::string_view> current, std::string &next) {
    if (!current || *current != expected) {
      return false;
    }
    next.assign(desired);
    return true;
  });
}

bool LockFreeTable::set_if_absent(std::string_view key, std::string_view value) {
  check_value(value);
  return mutate(key, false, [&](std::optional<std::string_view> current, std::string &next) {
    if (current) {
      return false;
    }
    next.assign(value);
    return true;
  });
}

std::vector<std::string> LockFreeTable::keys() const {
  const BufferPool pool = pool_of(control_, records_, record_bytes_, buffer_count_);
  std::vector<std::string> out;
  std::string key;
  for (std::uint64_t slot = 0; slot < capacity(); ++slot) {
    for (;;) {
      const Ctrl c{detail::load128(word(slot))}; // R1
      if (c.state() != kLive || c.buffer() >= buffer_count_) {
        break;
      }
      std::uint64_t *rec = pool.words(c.buffer());
      const std::size_t len =
          std::min<std::uint64_t>(static_cast<std::uint32_t>(load_word(rec)), max_key_bytes());
      key.resize(detail::round_up(len, 8));
      for (std::size_t i = 0; i < words_for(static_cast<std::uint32_t>(len)); ++i) { // R2
        const std::uint64_t v = load_word(rec + 1 + i);
        std::memcpy(key.data() + i * 8, &v, 8);
      }
      detail::reader_fence(); // R3, as in visit()
      if (detail::load_version(word(slot)) == c.version()) {
        key.resize(len);
        out.push_back(key);
        break;
      }
    }
  }
  return out;
}

void LockFreeTable::clear() {
  const BufferPool pool = pool_of(control_, records_, record_bytes_, buffer_count_);
  for (std::uint64_t slot = 0; slot < capacity(); ++slot) {
    Ctrl c{detail::load128(word(slot))};
    while (c.state() == kLive) {
      const std::uint32_t old = c.buffer();
      if (detail::cas128(word(slot), c.w, c.freed().w)) { // erases this entry atomically
        if (old < buffer_count_) { // a corrupted index is never used (recover() counts it)
          pool.push(old);          // I2
        }
        entries_of(control_).fetch_sub(1, std::memory_order_relaxed);
        break;
      }
    }
  }
}

std::size_t LockFreeTable::size() const noexcept {
  // Relaxed statistics: an insert counts after its promote, so an erase of it may count
  // first; the signed view clamps that transient to zero.
  const auto n = static_cast<std::int64_t>(entries_of(control_).load(std::memory_order_relaxed));
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

RecoveryReport LockFreeTable::recover() {
  RecoveryReport report;
  const bool ran = segment_.run_exclusive([&] {
    // Nobody else is attached (Segment L5): every kPending word and every buffer that is
    // neither in a slot nor on the free list belongs to a dead operation (P2).
    const BufferPool pool = pool_of(control_, records_, record_bytes_, buffer_count_);
    const auto bump =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(pool.head().hi >> 32, buffer_count_));
    std::vector<std::uint8_t> in_slot(buffer_count_, 0);
    std::vector<std::uint16_t> bound(capacity(), 0);
    std::unordered_set<std::string> seen;
    std::uint64_t live = 0;
    for (std::uint64_t slot = 0; slot < capacity(); ++slot) {
      Ctrl c{detail::load128(word(slot))};
      if (c.state() == kFree) {
        continue;
      }
      if (c.state() == kPending) { // its inserter is gone: it never became visible
        ++report.pending_cleared;
        while (!detail::cas128(word(slot), c.w, c.freed().w)) {
        }
        continue; // its buffer is unmarked and returns to the pool below
      }
      bool corrupt = c.state() != kLive || c.buffer() >= bump || in_slot[c.buffer()] != 0;
      std::string key;
      std::uint64_t hash = 0;
      if (!corrupt) {
        std::uint64_t *rec = pool.words(c.buffer());
        const auto klen = static_cast<std::uint32_t>(load_word(rec));
        const auto vlen = static_cast<std::uint32_t>(load_word(rec) >> 32);
        corrupt = klen > max_key_bytes() || vlen > max_value_bytes();
        if (!corrupt) {
          key.resize(detail::round_up(klen, 8));
          for (std::uint32_t i = 0; i < words_for(klen); ++i) {
            const std::uint64_t v = load_word(rec + 1 + i);
            std::memcpy(key.data() + i * 8, &v, 8);
          }
          key.resize(klen);
          hash = XXH3_64bits_withSeed(key.data(), key.size(), layout().params.hash_seed);
          corrupt = (hash >> 48) != c.fingerprint();
        }
      }
      if (corrupt) {
        ++report.corrupt_slots;
        while (!detail::cas128(word(slot), c.w, c.freed().w)) {
        }
        continue;
      }
      in_slot[c.buffer()] = 1;
      ++live;
      if (!seen.insert(key).second) {
        ++report.duplicate_keys; // I3 broken: reported, left in place for inspection
      }
      const std::uint64_t home = hash % capacity();
      const std::uint64_t dist = (slot + capacity() - home) % capacity();
      bound[home] = static_cast<std::uint16_t>(std::max<std::uint64_t>(bound[home], dist));
    }
    // The free list as it was, to count what was leaked (cycle- and range-safe walk).
    std::uint64_t listed = 0;
    for (std::uint32_t top = static_cast<std::uint32_t>(pool.head().hi);
         top != 0 && top <= bump && listed <= bump; top = pool.next_of(top - 1)) {
      ++listed;
    }
    // Rebuild the free list from scratch: every handed-out buffer that no slot names.
    pool.reset(bump);
    std::uint64_t free_now = 0;
    for (std::uint32_t i = bump; i-- > 0;) {
      if (in_slot[i] == 0) {
        pool.push(i);
        ++free_now;
      }
    }
    report.buffers_reclaimed = free_now > listed ? free_now - listed : 0;
    // Shrink bounds to what the live keys need (safe only because we are alone: I1).
    for (std::uint64_t slot = 0; slot < capacity(); ++slot) {
      Ctrl c{detail::load128(word(slot))};
      if (c.bound() != bound[slot]) { // exact: a raise means I1 was broken (corruption)
        (c.bound() > bound[slot] ? report.bounds_lowered : report.bounds_raised) += 1;
        while (!detail::cas128(word(slot), c.w, c.with_bound(bound[slot]).w)) {
        }
      }
    }
    entries_of(control_).store(live, std::memory_order_relaxed);
    std::atomic_ref<std::uint64_t>(control_->recoveries) /* statistics: relaxed */.fetch_add(
        1, std::memory_order_relaxed);
    report.entries = live;
  });
  if (!ran) {
    throw Error(Errc::kBusy, "recover: other handles are attached to " + segment_.display_name() +
                                 "; it runs only when this handle is the only one");
  }
  return report;
}

} // namespace shmtable
