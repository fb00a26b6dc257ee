// The lock-free engine's slot operations: LockFreeTable's whole data path, as a template
// over the atomics policy (lockfree_atomics.hpp). Private to the library and its tests.
//
// LockFreeTable (lockfree_table.cpp) instantiates it once, with NativeAtomics, over its
// mapped segment; the Relacy model (proofs/relacy/) instantiates the same code with a
// policy whose every access is a Relacy atomic, over a segment laid out by the same
// layout code. Nothing here touches shared memory except through `atomics_`.
//
// IMPLEMENTATION DETAILS (papers/protocol.md has the full argument)
//
//   slot s:  [ version | buffer | timed | fp | bound | state ]  --names-->  record buffer
//            (16 bytes, lock cmpxchg16b only)              [klen|vlen|deadline|key|value]
//
// A key K hashes (XXH3-64, seeded) to h. Its home is home_of(h, capacity), its
// fingerprint the top 15 bits (both in lockfree_layout.hpp). K may live at home + d
// (mod capacity) for d <= bound(home), where bound(home) is kept in the home slot's
// control word.
//
// Slot states and who moves them (every arrow is one cas128; the version grows by one,
// and the reservation starts a new epoch, M2 in lockfree_layout.hpp):
//
//      kFree --reserve (inserter)--> kPending --promote (owner only)--> kLive <-+
//        ^                              |                                 |     |
//        +--withdraw (owner) / cancel --+                                 +-----+
//        |         (rival inserter of K, or recover())                   |  update
//        +-----------------------------erase / clear----------------------+  (any writer)
//        +------reclaim (a writer that met it expired, purge_expired: T2)--+
//
// Invariants, each kept where noted below:
//  W1. Every successful CAS on a word increases its version (cas128.hpp).
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
// the word named all along (I2), else retry the slot. A write that does not need the
// value may instead decide whether a kLive word is its key's from the word's epoch and
// its thread's key memo, without reading the record (M1, M2: key_memo.hpp).
//
// Expiry (a write with a ttl; the clock and its choice: expiry.hpp):
//  T1. A record carries its deadline (0: none), written with it while unreachable (I2),
//      and the word that publishes it is `timed` exactly when the deadline is not 0
//      (fill() and the word made from the same `deadline`). So a reader of an untimed
//      word neither reads the deadline nor the clock, and a timed one reads the deadline
//      in its R2 copy, validated by R3 as the rest of the record is.
//  T2. An entry is absent from its deadline on: every read treats a validated kLive
//      record whose deadline has passed as a miss, and every write as an absent key
//      (an overwrite replaces it in place: to I3 it is still the key's one live slot).
//      A writer that meets one may free it (reclaim()): a CAS from the very word whose
//      record it found expired, so a record published since is never freed (W1). The
//      free is no change to the table's contents, which were already without the key.
//
// Eviction (a table opened with Options::eviction; g_.marks() is then not null):
//  E1. (marks) A slot's reference mark says "used since the hand last passed". It only
//      chooses victims; nothing's correctness reads it, so every access is relaxed and
//      a lost store costs a worse choice at most. A read that finds a live entry sets the
//      mark if it is clear: readers store to shared memory once per entry per turn of the
//      hand, never on every read (touch()). An update marks its entry too; an insert
//      leaves its new entry unmarked (unmark()).
//  E2. (evict) An insert into a table that holds evict_at() entries or more first moves
//      CLOCK's hand (a shared counter) over the slots: a marked entry loses its mark, an
//      unmarked one is evicted: a CAS from the very word the hand loaded to kFree, an
//      erase by nobody (its linearization point). So is an insert whose key's slots are
//      all taken, from the key's home on; in a table that evicts those are the first
//      kEvictWindow (probe_limit()). Only a kLive word is evicted, never a kPending
//      reservation, whose owner holds its buffer (I4, P1); the freed buffer goes to the
//      pool (the inserter holds its own: P2).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "buffer_pool.hpp"
#include "counter_text.hpp"
#include "key_hash.hpp"
#include "key_memo.hpp"
#include "lockfree_atomics.hpp"
#include "lockfree_layout.hpp"
#include "magazine.hpp"
#include "params.hpp"
#include "planted.hpp"
#include "shmtable/error.hpp"
#include "shmtable/recovery.hpp"
#include "shmtable/segment.hpp"
#include "shmtable/updater.hpp"
#include "shmtable/value_view.hpp"
#include "writer_thread.hpp"

#ifndef SHMTABLE_PLANTED_BUG
#define SHMTABLE_PLANTED_BUG "none"
#endif

namespace shmtable::detail::lockfree {

constexpr PlantedBug planted_from(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kPlantedBugNames); ++i) {
    if (kPlantedBugNames[i] == name) {
      return static_cast<PlantedBug>(i);
    }
  }
  return static_cast<PlantedBug>(-1);
}
// The bug this translation unit plants (SHMTABLE_PLANTED_BUG, set by meson). Internal
// linkage on purpose: a planted build of the engine is its own instantiation.
constexpr PlantedBug kPlanted = planted_from(SHMTABLE_PLANTED_BUG);
static_assert(static_cast<int>(kPlanted) >= 0, "SHMTABLE_PLANTED_BUG names no known bug");

// The n <= 8 bytes at p as one little-endian word, zero-padded: how keys and values sit
// in a record. Never reads outside [p, p + n), and never calls memcpy: a short tail is
// assembled from at most two overlapping loads.
inline std::uint64_t pack(const char *p, std::size_t n) noexcept {
  std::uint64_t v = 0;
  if (n == 8) {
    std::memcpy(&v, p, 8);
  } else if (n >= 4) {
    std::uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4); // overlaps a on the bytes they share, which agree
    v = a | (std::uint64_t{b} << ((n - 4) * 8));
  } else if (n > 0) { // bytes 0, n/2 and n-1 cover every position of n <= 3
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    v = u[0] | (std::uint64_t{u[n / 2]} << (n / 2 * 8)) |
        (std::uint64_t{u[n - 1]} << ((n - 1) * 8));
  }
  return v;
}

// `Geometry` is LockFreeGeometry or a type with the same accessors; it is held by value,
// so it should be small (LockFreeTable passes a pointer to itself).
template <class Atomics, class Geometry = LockFreeGeometry> class LockFreeEngine {
  static_assert(SlotAtomics<Atomics>, "see lockfree_atomics.hpp for what a policy provides");

public:
  explicit LockFreeEngine(const Geometry &g, Atomics atomics = Atomics()) noexcept
      : g_(g), atomics_(atomics) {}

  // ---- LockFreeTable's operations, with its contracts (lockfree_table.hpp) ------------
  // A write that may create its key sets *inserted when it did (stats()); nullptr: not
  // asked. `deadline` (0: none; expiry.hpp's deadline_after) goes to what set() and
  // set_if_absent() store, and to a key add() creates; a key add() finds keeps its own,
  // as update() and compare_and_set() keep it.
  void set(std::string_view key, std::string_view value, std::uint64_t deadline = 0,
           bool *inserted = nullptr) const;
  void set_with(std::string_view key, ValueSource value, void *ctx, bool *inserted = nullptr) const;
  // The reads are inlined into their callers with their probe and scan (below), so that
  // the geometry stays in registers (LockFreeTable's is one pointer to the handle).
  [[gnu::always_inline]] std::optional<std::string> get(std::string_view key) const;
  [[gnu::always_inline]] std::optional<std::size_t> get_into(std::string_view key,
                                                             std::span<char> out) const;
  [[gnu::always_inline]] bool contains(std::string_view key) const;
  [[gnu::always_inline]] bool get_with(std::string_view key, ValueReader reader, void *ctx) const;
  [[gnu::always_inline]] CachedGet get_cached(std::string_view key, const CachingReader &reader,
                                              void *ctx) const;
  std::size_t get_many(std::span<const std::string_view> keys, ManyReader reader, void *ctx) const;
  bool erase(std::string_view key) const;
  std::int64_t add(std::string_view key, std::int64_t delta, std::uint64_t deadline = 0,
                   bool *inserted = nullptr) const;
  bool update(std::string_view key, Updater fn, void *ctx, bool *inserted = nullptr) const;
  bool compare_and_set(std::string_view key, std::string_view expected,
                       std::string_view desired) const;
  bool set_if_absent(std::string_view key, std::string_view value,
                     std::uint64_t deadline = 0) const;
  // Frees every expired entry (T2); returns how many. Safe beside any operation.
  std::size_t purge_expired() const;
  std::vector<std::string> keys() const;
  // Returns how many entries it erased.
  std::uint64_t clear() const;
  std::size_t size() const noexcept;
  // recover()'s work. The caller guarantees that nobody else uses the segment meanwhile
  // (LockFreeTable runs it inside Segment::run_exclusive).
  RecoveryReport recover_alone() const;
  // Returns the handle's spare to the pool and its permit (P3, P4): at close, and before
  // recover_alone().
  void drop_magazine() const noexcept;
  std::uint64_t home_slot(std::string_view key) const noexcept {
    return home_of(key_hash(key.data(), key.size(), g_.hash_seed()), g_.capacity());
  }
  std::uint64_t fingerprint(std::string_view key) const noexcept {
    return fingerprint_of(key_hash(key.data(), key.size(), g_.hash_seed()));
  }

private:
  // keys()'s filter: whether get() finds the record it just read (definition below).
  bool findable(std::uint64_t slot, Ctrl c, std::string_view padded, std::size_t len) const;
  // The caller's key, hashed once per operation. Its words are packed where they are
  // compared or written (key_word()), not into an array up front.
  struct Probe {
    std::string_view key;
    std::uint64_t home;
    std::uint64_t fp;
    std::uint64_t live_bits; // live_key_bits(fp): find()'s one compare per word
    std::uint32_t nwords;    // words_for(key.size())
    // A write's: its thread's key memo (key_memo.hpp), or null (reads, and handles
    // without one). A visit without a sink consults it; a write's successes feed it.
    KeyMemo *memo = nullptr;
    std::uint64_t key_word(std::uint32_t i) const noexcept {
      const std::size_t off = std::size_t{i} * 8;
      return pack(key.data() + off, std::min<std::size_t>(8, key.size() - off));
    }
  };
  // Where visit() copies a live value to: a string, the caller's span, or (reader) the
  // caller's own code, handed the bytes in place.
  struct Sink {
    std::string *str = nullptr;
    std::span<char> span{};
    ValueReader reader = nullptr;
    const CachingReader *caching = nullptr; // get_cached: asked before reading
    void *reader_ctx = nullptr;
    std::size_t len = 0;
    bool too_small = false;
    bool held = false; // get_cached: the caller holds this version's value; not read
  };
  enum class InsertResult { kInserted, kKeyIsLive };
  enum class Found { kNo, kLive, kPending };
  // The deadline a write gives what it stores (T1): `deadline`, or with `keep`, the
  // present entry's own (a read-modify-write: its Sink carries it) if there is one.
  struct Life {
    std::uint64_t deadline = 0;
    bool keep = false;
  };

  Word128 *word(std::uint64_t slot) const noexcept { return g_.words() + slot; }
  std::uint64_t next_slot(std::uint64_t slot, std::uint64_t d) const noexcept {
    return slot + d < g_.capacity() ? slot + d : (slot + d) % g_.capacity();
  }
  // The record buffer `index` (< buffer_count(), checked by the caller).
  std::uint64_t *record(std::uint32_t index) const noexcept {
    return reinterpret_cast<std::uint64_t *>(g_.records() + std::size_t{index} * g_.record_bytes());
  }
  // Calls hint(line) for every cache line that record `index` (< buffer_count()) touches,
  // up to `max_lines` of them from its start (records need not start on a line).
  template <class Hint>
  void for_record_lines(std::uint32_t index, std::size_t max_lines, Hint hint) const noexcept {
    const auto first = reinterpret_cast<std::uintptr_t>(record(index));
    const std::uintptr_t end =
        first + std::min<std::size_t>(g_.record_bytes(), max_lines * kCacheLineBytes);
    for (std::uintptr_t line = first & ~std::uintptr_t{kCacheLineBytes - 1}; line < end;
         line += kCacheLineBytes) {
      hint(reinterpret_cast<const void *>(line));
    }
  }
  // P3: the handle's spare, now this operation's alone, as the magazine keeps it: the
  // buffer's index + 1, or 0 if it has none. A plain integer, not std::optional: GCC
  // returns an optional<uint32_t> from a call through memory, two narrow stores read back
  // by one wider load, which stalls store forwarding on every write.
  std::uint32_t take_spare() const noexcept;
  // Lines of a spare to ask for when the next write's shape is unknown (an erase's
  // buffer), and at most in any case (hints for a value of kilobytes would cost more
  // than the misses they save): 512 bytes, e.g. a 256-byte value after a key area of
  // up to 248 bytes.
  static constexpr std::size_t kSpareLinesToOwn = 8;
  // Gives back a buffer no slot names any more: kept as the handle's spare if it may
  // keep one (P4) and has none, else pushed to the pool. A kept spare's first
  // `lines_to_own` lines are asked for (PREFETCHW) for the handle's next write.
  void release(std::uint32_t buffer, std::size_t lines_to_own = kSpareLinesToOwn) const noexcept;
  // How many of a record's first lines a write of the same shape as one of
  // `value_bytes` stores (the header, the key area, the value), up to kSpareLinesToOwn.
  std::size_t lines_written(std::size_t value_bytes) const noexcept {
    const std::size_t bytes = 8 * value_word() + value_bytes;
    return std::min((bytes + kCacheLineBytes - 1) / kCacheLineBytes, kSpareLinesToOwn);
  }
  bool holds_permit(Magazine &m) const noexcept;
  // Where a record's value starts, in words (value_word_for, lockfree_layout.hpp).
  std::size_t value_word() const noexcept { return value_word_for(g_.max_key_bytes()); }
  BasicBufferPool<Atomics> pool() const noexcept {
    return BasicBufferPool<Atomics>(&g_.control()->pool, g_.records(), g_.record_bytes(),
                                    g_.buffer_count(), atomics_, &g_.control()->pool_out);
  }
  // The handle's spares as its home stripe counts them (Magazine::held, L1): a count for
  // stats(), guarding no data. A one-thread handle's calls never overlap, so a relaxed
  // load and store suffice; threads sharing a handle add atomically.
  void count_spare(const Magazine &m, std::int64_t delta) const noexcept {
    if (m.held == nullptr) {
      return;
    }
    const auto d = static_cast<std::uint64_t>(delta);
    if (m.one_thread) {
      atomics_.store(m.held, atomics_.load(m.held, std::memory_order_relaxed) + d,
                     std::memory_order_relaxed);
    } else {
      atomics_.fetch_add(m.held, d, std::memory_order_relaxed);
    }
  }
  // The live-entry counter: statistics with no ordering duties (size() is best-effort and
  // recover() recounts), so every access to it is relaxed.
  std::uint64_t *entries() const noexcept { return &g_.control()->entries; }
  // Marks the table as holding entries with a deadline, for size() (once: a read after).
  // Relaxed: a flag that orders nothing; a size() that misses it counts by the counter,
  // as it would have a moment before.
  void note_timed() const noexcept {
    if (atomics_.load(&g_.control()->timed, std::memory_order_relaxed) == 0) {
      atomics_.store(&g_.control()->timed, 1, std::memory_order_relaxed);
    }
  }

  // Record words are read racily by design (a reader may copy a buffer that is being
  // recycled) and validated afterwards (R3), so every access is an atomic one: relaxed,
  // because the ordering comes from the control word and the fences around the copy
  // (kRecordLoad/kRecordStore in cas128.hpp: acquire/release under TSan, which has no
  // fences).
  std::uint64_t load_word(std::uint64_t *w) const { return atomics_.load(w, Atomics::kRecordLoad); }
  void store_word(std::uint64_t *w, std::uint64_t v) const {
    atomics_.store(w, v, Atomics::kRecordStore);
  }

  [[gnu::always_inline]] Probe probe_for(std::string_view key) const;
  // The calling thread's key memo, for a write through a handle that has an id in it.
  // A policy whose threads are fibers of one thread (Relacy's) says so: its fibers share
  // one memo (M1 allows it), kept off the heap (a model checker counts allocations), and
  // no WriterThread is made for them.
  static constexpr bool kFibers = requires { Atomics::kThreadsAreFibers; };
  static WriterThread *writer_thread() {
    if constexpr (kFibers) {
      return nullptr;
    } else {
      return &WriterThread::get();
    }
  }
  KeyMemo *write_memo(WriterThread *t) const {
    if (g_.memo_handle() == 0) {
      return nullptr;
    }
    if constexpr (kFibers) {
      static KeyMemo fibers_memo;
      return &fibers_memo;
    } else {
      if (!t->memo) [[unlikely]] {
        t->memo = std::make_unique<KeyMemo>();
      }
      return t->memo.get();
    }
  }
  // T1, T2: whether the deadline of the record at `rec` (a timed word's, read racily:
  // R2, validated by the caller's R3) has passed. Out of line and cold: a read of an
  // untimed entry then has no call in it, so no registers to save around one.
  [[gnu::noinline, gnu::cold]] bool deadline_passed(std::uint64_t *rec) const {
    return expired_at(load_word(rec + kDeadlineWord), atomics_.now_ns());
  }
  // Whether the key words at `words` (a record's, read racily: R2) are p's key.
  [[gnu::always_inline]] bool key_matches(std::uint64_t *words, const Probe &p) const {
    const std::size_t full = p.key.size() / 8;
    for (std::size_t i = 0; i < full; ++i) {
      std::uint64_t mine;
      std::memcpy(&mine, p.key.data() + i * 8, 8);
      if (load_word(words + i) != mine) {
        return false;
      }
    }
    return full == p.nwords ||
           load_word(words + full) == p.key_word(static_cast<std::uint32_t>(full));
  }
  // With `expired`, the key's expired entry is Found::kLive with *expired set (a write
  // overwrites or frees it); without, it is Found::kNo (T2). With `live_only` (find()'s:
  // a constant once inlined) a kPending word of the key is Found::kNo, decided from the
  // word alone with the rest.
  [[gnu::always_inline]] Found visit(std::uint64_t slot, const Probe &p, Ctrl &c, Sink *sink,
                                     bool *expired = nullptr, bool live_only = false) const;

  // With `expired`, a slot whose entry is the key's but expired is returned too, and
  // *expired set; without, it is a miss.
  [[gnu::always_inline]] std::optional<std::uint64_t> find(const Probe &p, Ctrl &c, Sink *sink,
                                                           bool *expired = nullptr) const;
  std::uint32_t fill(std::optional<std::uint32_t> &held, const Probe &p, std::string_view value,
                     std::uint64_t deadline) const;
  bool publish(std::uint64_t slot, Ctrl &expected, const Ctrl &desired) const;
  // T2: what the kLive word `c` of `slot` names, by one seqlock read of its record's
  // deadline if it is timed: kExpired, kChanged (the word moved on meanwhile: whatever
  // it names now was not judged), or kAlive (no deadline, or one still ahead).
  enum class Judged { kAlive, kExpired, kChanged };
  Judged judge(std::uint64_t slot, const Ctrl &c) const;
  bool expired_entry(std::uint64_t slot, const Ctrl &c) const {
    return judge(slot, c) == Judged::kExpired;
  }
  // T2: frees the expired entry that `c` (validated) names; false if the word changed.
  // An operation that holds a buffer of its own (P2) passes `to_pool`: the freed one
  // then goes straight to the pool, never to the handle's spare, so that a crash before
  // the operation ends leaks no more than P2 allows (its buffer in hand, and the spare).
  bool reclaim(std::uint64_t slot, Ctrl c, bool to_pool = false) const;
  // Frees the expired entries among the slots a key homed at `home` may use. Returns the
  // room it saw there: free slots, and expired entries (freed by it, or changed by
  // another writer after it read them), so that an insert looks again whenever room
  // appeared since its scan, whoever made it.
  std::size_t reclaim_near(std::uint64_t home) const;
  // E1: a read or a write found (or stored) the live entry of `slot`.
  void touch(std::uint64_t slot) const noexcept {
    std::uint64_t *const marks = g_.marks();
    if (marks != nullptr && atomics_.load(marks + slot, std::memory_order_relaxed) == 0) {
      atomics_.store(marks + slot, 1, std::memory_order_relaxed); // a hint: orders nothing (E1)
    }
  }
  // E1: a new entry starts unmarked (whatever its slot's last entry left): a key set
  // once and never read again is the hand's first choice, not protected for a turn. On
  // the study's zipfian trace this missed 4-7 % less than starting marked
  // (results/2026-12-02-eviction-study).
  void unmark(std::uint64_t slot) const noexcept {
    std::uint64_t *const marks = g_.marks();
    if (marks != nullptr && atomics_.load(marks + slot, std::memory_order_relaxed) != 0) {
      atomics_.store(marks + slot, 0, std::memory_order_relaxed); // a hint: orders nothing (E1)
    }
  }
  // How far past its home an insert may place a key: max_distance(), or in a table that
  // evicts kEvictWindow - 1 (E2). An evicting table runs full for good, and under its
  // churn the bounds, which only grow, drift up to the largest displacement ever used,
  // which every miss then scans: micro_bench's insert into a full 16 Ki-slot table took
  // 16 us with the whole max_distance() open, 345 ns with 64 slots, 255 ns with 32
  // (2026-12-02). A key whose window is full evicts there instead (evict_near), so a miss
  // scans at most kEvictWindow slots. 64 rather than 32: the study's hit ratio at 90 % of
  // its key set was 0.9855 against 0.9847 (exact LRU 0.9861), window evictions being
  // CLOCK over the window only.
  static constexpr std::uint64_t kEvictWindow = 64;
  std::uint64_t probe_limit() const noexcept {
    return g_.marks() != nullptr ? std::min<std::uint64_t>(kEvictWindow - 1, g_.max_distance())
                                 : g_.max_distance();
  }
  // E2: the hand's step at `slot`. kFreed: it evicted the slot's entry, or freed it
  // expired (T2); kFree: the slot was free; kPassed: a marked entry (its mark now
  // cleared), a reservation, or a word that changed under the CAS. Without
  // `second_chance` a marked entry is evicted as an unmarked one is.
  enum class Step { kPassed, kFree, kFreed };
  Step hand_step(std::uint64_t slot, bool second_chance = true) const;
  // E2: moves the shared hand until it frees an entry (at most two turns: the first may
  // only clear marks). False if it found none to free.
  bool evict_by_hand() const;
  // E2: the same over the slots a key homed at `home` may use, from home on: true once a
  // slot there is free or freed. Two turns with second chances, then one without, so
  // that readers marking the window's entries again between turns cannot make an insert
  // report table_full beside entries it could have evicted.
  bool evict_near(std::uint64_t home) const;
  InsertResult insert_new(const Probe &p, std::uint32_t buffer, bool timed) const;
  bool cancel_rivals(const Probe &p, std::uint64_t mine) const;
  void raise_bound(std::uint64_t home, std::uint64_t distance) const;
  template <class Decide>
  bool mutate(std::string_view key, bool reads_value, Decide &&decide, Life life = {},
              bool *inserted = nullptr) const {
    return mutate(
        key, reads_value, decide, [] {}, life, inserted);
  }
  // The same, calling before() once, after the key's home line has been asked for and
  // before the first read of it (set_with's value source). Sets *inserted (if not null)
  // when it created the key.
  template <class Decide, class Before>
  bool mutate(std::string_view key, bool reads_value, Decide &&decide, Before &&before, Life life,
              bool *inserted) const;

  Geometry g_;
  [[no_unique_address]] Atomics atomics_;
};

template <class A, class G>
inline typename LockFreeEngine<A, G>::Probe
LockFreeEngine<A, G>::probe_for(std::string_view key) const {
  check_key_size(key.size(), g_.max_key_bytes());
  Probe p;
  p.key = key;
  const std::uint64_t h = key_hash(key.data(), key.size(), g_.hash_seed());
  p.home = home_of(h, g_.capacity());
  p.fp = fingerprint_of(h);
  p.live_bits = live_key_bits(p.fp);
  p.nwords = words_for(static_cast<std::uint32_t>(key.size()));
  return p;
}

// One seqlock read of `slot` (R1-R3), starting from `c`, a word of `slot` the caller has
// just loaded (R1: acquire, inside load128; it pairs with the CAS that published the
// word, so the record it names is visible in full below, I2). Returns whether the slot
// holds p's key, and in what state; on kLive with a sink, the value has been copied
// there. On return `c` is the validated control word.
template <class A, class G>
inline typename LockFreeEngine<A, G>::Found
LockFreeEngine<A, G>::visit(std::uint64_t slot, const Probe &p, Ctrl &c, Sink *sink, bool *expired,
                            bool live_only) const {
  for (;; c.w = atomics_.load128(word(slot))) { // a failed R3 re-reads the word (R1)
    // Decided from the word alone, which load128 read atomically: a word that is not the
    // key's (by its fingerprint), or (live_only) not kLive, is not the key's live slot.
    if (live_only ? !c.live_with(p.live_bits) : c.state() == kFree || c.fingerprint() != p.fp) {
      return Found::kNo;
    }
    const std::uint64_t state = live_only ? kLive : c.state();
    // The one bounds check of this validated word: every index below derives from it or
    // from the table's own geometry.
    if (c.buffer() >= g_.buffer_count()) {
      return Found::kNo; // corrupted word: never index with it (recover() frees it)
    }
    if (p.memo != nullptr && sink == nullptr && state == kLive && !c.timed()) {
      // A write that needs no value: the word's epoch and the memo may say whose record
      // it names (M1, M2), decided from the word alone, after its bounds check above (the
      // caller CASes this word and releases its buffer). No R3: the record is not read.
      // Not for a timed word, whose deadline is in the record (T1).
      switch (p.memo->lookup(g_.memo_handle(), slot, c.epoch(), p.key)) {
      case KeyMemo::Says::kThisKey:
        return Found::kLive;
      case KeyMemo::Says::kOtherKey:
        return Found::kNo;
      case KeyMemo::Says::kUnknown:
        break;
      }
    }
    std::uint64_t *rec = record(c.buffer());
    // R2: the copy. Relaxed loads; may race with a recycler's stores, which R3 detects.
    const std::uint64_t head = load_word(rec);
    bool match = record_key_len(head) == p.key.size() && key_matches(rec + kKeyWord, p);
    // T1, T2: only a timed word's record has a deadline to read (R2, validated by R3
    // with the rest), and only then is the clock read. An expired value is not copied: a
    // read's is no match (a miss once R3 validates it), a write's is `gone`.
    bool gone = false; // T2: the key's entry, expired, for a write (never for a read)
    if (c.timed() && match && state == kLive && deadline_passed(rec)) [[unlikely]] {
      if (expired == nullptr) {
        match = false;
      } else {
        gone = true;
      }
    }
    if (match && state == kLive && sink != nullptr && !gone) {
      const std::size_t len = std::min<std::uint64_t>(record_value_len(head), g_.max_value_bytes());
      std::uint64_t *val = rec + value_word();
      sink->len = len;
      if (sink->caching != nullptr) {
        // Held: R3 below validates that the word still has this version, so the entry
        // was this key with this value from before R1 until R3 (W1, P1): nothing to read.
        const std::uint64_t version =
            kPlanted == PlantedBug::kCacheByBuffer ? c.buffer() : c.version();
        sink->held = sink->caching->holds(sink->reader_ctx, slot, version);
        if (!sink->held) { // R2 by the caller's code, as get_with's reader
          sink->caching->read(
              sink->reader_ctx,
              ValueView{reinterpret_cast<const char *>(val), len, atomics_.is_ascii(val, len)},
              slot, version);
        }
      } else if (sink->reader != nullptr) {
        // R2 by the caller's code, on the bytes in place (get_with's contract: copy only).
        sink->reader(sink->reader_ctx, ValueView{reinterpret_cast<const char *>(val), len,
                                                 atomics_.is_ascii(val, len)});
      } else if (sink->str != nullptr) {
        sink->str->resize(len);
        atomics_.copy_record(sink->str->data(), val, len); // R2
      } else {
        sink->too_small = len > sink->span.size();
        if (!sink->too_small) {
          atomics_.copy_record(sink->span.data(), val, len); // R2
        }
      }
    }
    // R3: acquire fence, then the version again. If any load of the copy read a store
    // made after this buffer was recycled, the fence synchronises with the recycler's
    // release fence (BufferPool::pop), which comes after the CAS that unpublished the
    // buffer from this slot: the re-load below then cannot miss that CAS (W1). The
    // planted bug no_reader_fence drops this fence (and only this one).
    if constexpr (kPlanted != PlantedBug::kNoReaderFence) {
      atomics_.reader_fence();
    }
    if (kPlanted == PlantedBug::kSkipRecheck || atomics_.load_version(word(slot)) == c.version()) {
      if (match && state == kLive && p.memo != nullptr && sink == nullptr) {
        p.memo->note(g_.memo_handle(), slot, c.epoch(), p.key); // M1: a validated read
      }
      if (gone) [[unlikely]] {
        *expired = true; // a write: the key's one live slot (I3), absent (T2)
        return Found::kLive;
      }
      return !match ? Found::kNo : state == kLive ? Found::kLive : Found::kPending;
    }
  }
}

// The slot where p's key is live (with its validated word in `c`), or nullopt. Scans
// home .. home + bound(home), which covers every slot the key can be in (I1). The home
// word is loaded once: the same atomic snapshot gives the bound and is R1 of the first
// visit.
template <class A, class G>
inline std::optional<std::uint64_t> LockFreeEngine<A, G>::find(const Probe &p, Ctrl &c, Sink *sink,
                                                               bool *expired) const {
  c.w = atomics_.load128(word(p.home)); // R1 of the home word
  const std::uint64_t bound = c.bound();
  if (visit(p.home, p, c, sink, expired, /*live_only=*/true) == Found::kLive) {
    if (expired == nullptr) {
      touch(p.home); // E1: a read's hit
    }
    return p.home;
  }
  std::uint64_t slot = p.home;
  for (std::uint64_t d = 1; d <= bound; ++d) {
    slot = slot + 1 == g_.capacity() ? 0 : slot + 1;
    c.w = atomics_.load128(word(slot)); // R1
    if (visit(slot, p, c, sink, expired, /*live_only=*/true) == Found::kLive) {
      if (expired == nullptr) {
        touch(slot); // E1: a read's hit
      }
      return slot;
    }
  }
  return std::nullopt;
}

// Writes key and value into the buffer in hand (taking one from the pool first if
// needed). The buffer is private to us (P1), so nobody reads it as valid until a CAS
// publishes it.
template <class A, class G>
std::uint32_t LockFreeEngine<A, G>::fill(std::optional<std::uint32_t> &held, const Probe &p,
                                         std::string_view value, std::uint64_t deadline) const {
  const BasicBufferPool<A> pool = this->pool();
  if (!held) {
    if (const std::uint32_t spare = take_spare(); spare != 0) {
      held = spare - 1; // P3: the common case of a steady stream of writes
    }
  }
  if (!held) {
    held = pool.pop();
    if (!held) {
      throw Error(Errc::kTableFull,
                  "set: no free record buffer (all " + std::to_string(g_.buffer_count()) +
                      " are holding entries, in flight, or leaked by crashed writers until "
                      "recover())");
    }
  }
  // Release fence once the buffer is ours, however it came (pool, spare, or kept in hand
  // across a retry), before its first store: the CAS that unpublished it happens-before
  // the fence (program order, the spare's release/acquire hand-over, the caller's own
  // hand-over of a one-thread handle between threads, or pop()'s CAS),
  // so a reader that reads any store below and then fences (R3) sees that CAS's version.
  atomics_.writer_fence();
  std::uint64_t *rec = pool.words(*held);
  store_word(rec, record_header(p.key.size(), value.size()));
  store_word(rec + kDeadlineWord, deadline); // T1: its word is timed iff this is not 0
  for (std::uint32_t i = 0; i < p.nwords; ++i) {
    store_word(rec + kKeyWord + i, p.key_word(i));
  }
  std::uint64_t *val = rec + value_word();
  atomics_.fill_record(val, value.data(), value.size());
  return *held;
}

// Replaces a live entry's word (update or erase). The CAS is seq_cst: its release half
// publishes the new buffer's contents to readers' R1 acquire; its acquire half orders
// it before our push of the old buffer.
template <class A, class G>
bool LockFreeEngine<A, G>::publish(std::uint64_t slot, Ctrl &expected, const Ctrl &desired) const {
  if constexpr (kPlanted == PlantedBug::kCasAsStore) {
    const Word128 now = atomics_.load128(word(slot));
    if (now != expected.w) {
      expected.w = now;
      return false;
    }
    atomics_.store128_planted(word(slot), desired.w); // the planted bug: no CAS
    return true;
  }
  return atomics_.cas128(word(slot), expected.w, desired.w);
}

template <class A, class G>
void LockFreeEngine<A, G>::raise_bound(std::uint64_t home, std::uint64_t distance) const {
  Ctrl h{atomics_.load128(word(home))};
  while (h.bound() < distance) {
    if (atomics_.cas128(word(home), h.w, h.with_bound(distance).w)) {
      return;
    }
  }
}

// I3's scan, after our reservation at `mine`: false if p's key is live elsewhere (we
// must withdraw); otherwise every rival reservation of the key has been cancelled.
template <class A, class G>
bool LockFreeEngine<A, G>::cancel_rivals(const Probe &p, std::uint64_t mine) const {
  if constexpr (kPlanted == PlantedBug::kNoDupScan) {
    return true;
  }
  // Read after our reserving CAS (a full barrier), so this bound covers every rival that
  // reserved before us (I1: it raised the bound before reserving).
  const Ctrl home{atomics_.load128(word(p.home))};
  std::uint64_t slot = p.home;
  for (std::uint64_t d = 0; d <= home.bound();
       ++d, slot = slot + 1 == g_.capacity() ? 0 : slot + 1) {
    if (slot == mine) {
      continue;
    }
    for (;;) {
      Ctrl c{atomics_.load128(word(slot))}; // R1
      bool expired = false; // an expired entry of the key is its live slot all the same
      const Found f = visit(slot, p, c, nullptr, &expired);
      if (f == Found::kLive) {
        return false; // the key's live slot, expired or not (I3; T2: overwritten in place)
      }
      if (f == Found::kNo || atomics_.cas128(word(slot), c.w, c.freed().w)) {
        break; // cancelled: its owner's promote will fail (I4) and it keeps its buffer
      }
      // The rival's word changed (promoted, withdrawn, or a bound raise): look again.
    }
  }
  return true;
}

template <class A, class G>
typename LockFreeEngine<A, G>::Judged LockFreeEngine<A, G>::judge(std::uint64_t slot,
                                                                  const Ctrl &c) const {
  if (c.state() != kLive || !c.timed() || c.buffer() >= g_.buffer_count()) {
    return Judged::kAlive;
  }
  const std::uint64_t deadline = load_word(record(c.buffer()) + kDeadlineWord); // R2
  atomics_.reader_fence();                                                      // R3
  if (atomics_.load_version(word(slot)) != c.version()) {
    return Judged::kChanged;
  }
  return expired_at(deadline, atomics_.now_ns()) ? Judged::kExpired : Judged::kAlive;
}

template <class A, class G>
bool LockFreeEngine<A, G>::reclaim(std::uint64_t slot, Ctrl c, bool to_pool) const {
  if constexpr (kPlanted == PlantedBug::kReclaimStaleWord) {
    c.w = atomics_.load128(word(slot)); // the planted bug: not the word found expired
  }
  const std::uint32_t old = c.buffer();
  // T2: from the word whose record was found expired, so nothing published since is lost.
  if (!publish(slot, c, c.freed())) {
    return false;
  }
  if (to_pool) {
    pool().push(old); // I2; P2: not the spare while this operation holds a buffer
  } else {
    release(old); // I2, P3
  }
  atomics_.fetch_sub(entries(), 1, std::memory_order_relaxed); // statistics
  g_.note_expired();                                           // statistics
  return true;
}

template <class A, class G>
std::size_t LockFreeEngine<A, G>::reclaim_near(std::uint64_t home) const {
  std::size_t room = 0;
  std::uint64_t slot = home;
  const std::uint64_t limit = probe_limit();
  for (std::uint64_t d = 0; d <= limit; ++d, slot = slot + 1 == g_.capacity() ? 0 : slot + 1) {
    const Ctrl c{atomics_.load128(word(slot))}; // R1
    if (c.state() == kFree) {
      ++room; // freed since the insert's scan (another inserter's reclaim, an erase)
      continue;
    }
    switch (judge(slot, c)) {
    case Judged::kExpired:
      // The inserter holds its filled buffer: the freed one goes to the pool (P2). If the
      // word changed, another writer dealt with it: look again all the same.
      reclaim(slot, c, /*to_pool=*/true);
      ++room;
      break;
    case Judged::kChanged: // freed (and perhaps taken again) by another writer: look again
      ++room;
      break;
    case Judged::kAlive:
      break;
    }
  }
  return room;
}

template <class A, class G>
typename LockFreeEngine<A, G>::Step LockFreeEngine<A, G>::hand_step(std::uint64_t slot,
                                                                    bool second_chance) const {
  Ctrl c{atomics_.load128(word(slot))};
  if (c.state() == kFree) {
    return Step::kFree;
  }
  // E2: never a reservation; its owner holds its buffer (I4). The planted bug takes one.
  const bool victim =
      c.state() == kLive || (kPlanted == PlantedBug::kEvictPending && c.state() == kPending);
  if (!victim || c.buffer() >= g_.buffer_count()) {
    return Step::kPassed; // a reservation, or a corrupted word (recover() frees it)
  }
  switch (judge(slot, c)) {
  case Judged::kExpired: // absent already (T2): freeing it is room, not an eviction
    return reclaim(slot, c, /*to_pool=*/true) ? Step::kFreed : Step::kPassed;
  case Judged::kChanged:
    return Step::kPassed;
  case Judged::kAlive:
    break;
  }
  std::uint64_t *const mark = g_.marks() + slot;
  if (second_chance && atomics_.load(mark, std::memory_order_relaxed) != 0) {
    atomics_.store(mark, 0, std::memory_order_relaxed); // second chance (E1: a hint)
    return Step::kPassed;
  }
  const std::uint32_t old = c.buffer();
  if (!publish(slot, c, c.freed())) { // E2: from the word loaded above; linearization point
    return Step::kPassed;             // changed: written, erased or evicted meanwhile
  }
  pool().push(old); // I2; P2: the inserter holds its own filled buffer
  atomics_.fetch_sub(entries(), 1, std::memory_order_relaxed); // statistics
  g_.note_evicted();                                           // statistics
  return Step::kFreed;
}

template <class A, class G> bool LockFreeEngine<A, G>::evict_by_hand() const {
  for (std::uint64_t steps = 0; steps < 2 * g_.capacity(); ++steps) {
    // Relaxed: the hand only spreads evictions over the table; it orders nothing, and
    // each step's own loads and CAS carry what it decides (E2).
    const std::uint64_t slot =
        atomics_.fetch_add(&g_.control()->hand, 1, std::memory_order_relaxed) % g_.capacity();
    if (hand_step(slot) == Step::kFreed) {
      return true;
    }
  }
  return false;
}

template <class A, class G> bool LockFreeEngine<A, G>::evict_near(std::uint64_t home) const {
  for (unsigned turn = 0; turn < 3; ++turn) { // the first turn may only clear marks
    std::uint64_t slot = home;
    for (std::uint64_t d = 0; d <= probe_limit();
         ++d, slot = slot + 1 == g_.capacity() ? 0 : slot + 1) {
      if (hand_step(slot, /*second_chance=*/turn < 2) != Step::kPassed) {
        return true;
      }
    }
  }
  return false;
}

// Inserts p's key with the record in `buffer` (filled, private). kKeyIsLive if the key
// turned out to be live already; the buffer is then still ours.
template <class A, class G>
typename LockFreeEngine<A, G>::InsertResult
LockFreeEngine<A, G>::insert_new(const Probe &p, std::uint32_t buffer, bool timed) const {
  // The counter read signed, as size() reads it: an erase may count before the insert it
  // erases (a transient below zero), and a process killed between a promote and its
  // count leaves it one low until recover(); read unsigned, either would wrap to "full"
  // and make every insert evict. A count that is low lets the table fill past evict_at,
  // where the window's own eviction (evict_near) still makes room.
  if (g_.marks() != nullptr &&
      static_cast<std::int64_t>(atomics_.load(entries(), std::memory_order_relaxed)) >=
          static_cast<std::int64_t>(g_.evict_at())) {
    evict_by_hand(); // E2: the table is full; false only if no entry could be freed
  }
  const std::uint64_t limit = probe_limit();
  for (unsigned round = 0;; ++round) {
    std::uint64_t slot = p.home;
    std::uint64_t d = 0;
    Ctrl c;
    for (; d <= limit; ++d, slot = slot + 1 == g_.capacity() ? 0 : slot + 1) {
      c.w = atomics_.load128(word(slot));
      if (c.state() == kFree) {
        break;
      }
    }
    if (d > limit && reclaim_near(p.home) != 0) {
      continue; // T2: expired entries held the room, or room appeared: look again
    }
    if (d > limit && g_.marks() != nullptr && evict_near(p.home)) {
      continue; // E2: every slot of the key's was taken; one is free now
    }
    if (d > limit) {
      throw Error(Errc::kTableFull,
                  "set: table is full (no free slot within " + std::to_string(limit + 1) +
                      " probes of the key's home; capacity " + std::to_string(g_.capacity()) + ")");
    }
    raise_bound(p.home, d); // I1: before the reservation becomes visible
    // M2: a new key enters the slot with a new epoch (the planted bug keeps the old one).
    Ctrl mine = kPlanted == PlantedBug::kReserveKeepsEpoch
                    ? c.with_entry(kPending, p.fp, buffer, timed)
                    : c.reserved(p.fp, buffer, timed);
    if (!atomics_.cas128(word(slot), c.w, mine.w)) {
      continue; // the slot was taken (or its bound raised): look again
    }
    if (!cancel_rivals(p, slot)) {
      // Withdraw. If a rival cancelled us first, the slot is no longer ours (I4).
      Ctrl now = mine;
      while (now.state() == kPending && now.buffer() == buffer &&
             !atomics_.cas128(word(slot), now.w, now.freed().w)) {
      }
      return InsertResult::kKeyIsLive;
    }
    // Promote: only the owner does (I4), so failure with our buffer gone means cancelled.
    Ctrl now = mine;
    while (now.state() == kPending && now.buffer() == buffer) {
      const Ctrl promoted = now.with_entry(kLive, p.fp, buffer, timed);
      if (atomics_.cas128(word(slot), now.w, promoted.w)) {
        if (p.memo != nullptr) {
          p.memo->note(g_.memo_handle(), slot, promoted.epoch(), p.key); // M1: our promote
        }
        unmark(slot);                   // E1: a new entry starts unmarked
        return InsertResult::kInserted; // linearization point of the insert
      }
    }
    atomics_.backoff(round);
  }
}

// The one write path: reads the key's current value, asks `decide` for the new one and
// installs it atomically, retrying from the read if anything changed in between.
// decide(std::optional<std::string_view> current, std::string &scratch)
//   -> std::optional<std::string_view>: the value to write (the caller's own bytes, or
//   text it built in `scratch`), or nullopt not to write. A plain set hands its
//   argument through: no copy, no allocation.
// Without `reads_value`, `current` only tells present from absent (its bytes are not
// copied: a plain set does not need them).
template <class A, class G>
template <class Decide, class Before>
bool LockFreeEngine<A, G>::mutate(std::string_view key, bool reads_value, Decide &&decide,
                                  Before &&before, Life life, bool *inserted) const {
  Probe p = probe_for(key);
  WriterThread *const thread = writer_thread(); // null for fibers
  p.memo = write_memo(thread);
  const BasicBufferPool<A> pool = this->pool();
  // A hint, not a store: the home control word's line, which find reads and the CAS
  // writes, asked for in one transfer for ownership, so that it comes over once,
  // exclusive, instead of shared for find's load and again for the CAS. (The spare's
  // lines, which fill() writes, were asked for when it became the spare: release().)
  prefetch_for_write(word(p.home));
  before(); // work of the caller's that the line's transfer overlaps (set_with)
  std::optional<std::uint32_t> held; // the one buffer this operation may hold (P2)
  struct GiveBack {
    const LockFreeEngine &engine;
    std::optional<std::uint32_t> &held;
    ~GiveBack() {
      if (held) {
        engine.release(*held);
      }
    }
  } give_back{*this, held};
  // The current value and the scratch text: per thread and reused where threads are
  // real (a read-modify-write of a value past the small-string size would otherwise
  // allocate on every call; no operation calls mutate() from inside another). A policy
  // whose threads are fibers of one thread (Relacy's) says so, and each call then has
  // its own.
  std::string own_current;
  std::string own_scratch;
  std::string &current = thread == nullptr ? own_current : thread->strings[0];
  std::string &scratch = thread == nullptr ? own_scratch : thread->strings[1];
  for (;;) {
    Ctrl c;
    Sink sink{&current};
    bool expired = false; // the key's slot holds it expired: absent, overwritten in place (T2)
    const std::optional<std::uint64_t> slot = find(p, c, reads_value ? &sink : nullptr, &expired);
    const bool present = slot && !expired;
    const std::optional<std::string_view> next =
        decide(present ? std::optional<std::string_view>(current) : std::nullopt, scratch);
    if (!next) {
      if (expired) {
        // T2; if the word changed, someone else dealt with it. A buffer still in hand
        // (kept across a withdrawal) sends the freed one to the pool (P2).
        reclaim(*slot, c, /*to_pool=*/held.has_value());
      }
      return false; // linearized at the validated read of `c` (or the absent scan)
    }
    check_value_size(next->size(), g_.max_value_bytes());
    // A kept deadline is read from the record `c` names after validation: if the CAS
    // below succeeds, `c` was current all along and its record unchanged (I2), so the
    // read was of that record.
    const std::uint64_t deadline = life.keep && present && c.timed()
                                       ? load_word(record(c.buffer()) + kDeadlineWord)
                                   : life.keep && present ? 0
                                                          : life.deadline;
    if (deadline != 0) {
      note_timed();
    }
    if (slot) {
      const std::uint32_t old = c.buffer();
      std::uint32_t buf;
      if constexpr (kPlanted == PlantedBug::kPublishBeforeWrite) {
        const std::optional<std::uint32_t> got = pool.pop();
        if (!got) {
          throw Error(Errc::kTableFull, "set: no free record buffer");
        }
        buf = *got; // the planted bug: publish first, write the record afterwards
        if (!publish(*slot, c, c.with_entry(kLive, p.fp, buf, deadline != 0))) {
          pool.push(buf);
          continue;
        }
        std::optional<std::uint32_t> late = buf;
        fill(late, p, *next, deadline);
        pool.push(old);
        return true;
      }
      buf = fill(held, p, *next, deadline);
      const Ctrl updated = c.with_entry(kLive, p.fp, buf, deadline != 0); // T1
      // Whether the memo already holds (slot, this epoch, key): find() without a sink
      // either took its answer from the memo or noted its validated read (visit()), and
      // an update keeps the epoch unless its version crosses into the next one.
      const bool memo_knows = !reads_value && updated.epoch() == c.epoch();
      if (publish(*slot, c, updated)) { // linearization point
        held.reset();                   // now in the slot (P1)
        if (expired && inserted != nullptr) {
          *inserted = true; // over an expired entry: the key was absent (T2)
        }
        if (p.memo != nullptr && !memo_knows) {
          p.memo->note(g_.memo_handle(), *slot, updated.epoch(), p.key); // M1: our update
        }
        if constexpr (kPlanted == PlantedBug::kSpareKeepsLive) {
          release(buf); // the planted bug: the live buffer becomes the spare (P3 broken)
          pool.push(old);
          return true;
        }
        // E1: an update marks its entry; over an expired one it is an insert (T2), unmarked.
        if (expired) {
          unmark(*slot);
        } else {
          touch(*slot);
        }
        // I2, P3: unpublished by the CAS above; readers catch it by R3. The next write
        // is likely of this one's shape: its lines are the ones to own.
        release(old, lines_written(next->size()));
        return true;
      }
      continue;
    }
    const std::uint32_t buf = fill(held, p, *next, deadline);
    if (insert_new(p, buf, deadline != 0) == InsertResult::kInserted) { // T1
      held.reset();
      atomics_.fetch_add(entries(), 1, std::memory_order_relaxed); // statistics
      if (inserted != nullptr) {
        *inserted = true;
      }
      return true;
    }
    // The key became live meanwhile: decide again against its value. From here on
    // without the memo: where a record and the memo disagree (a corrupted record, which
    // reads reject and a memo entry may still name), the find and the insert's scan
    // must judge alike, or each would send the operation back to the other forever.
    p.memo = nullptr;
  }
}

// ---- Operations ---------------------------------------------------------------------

template <class A, class G>
void LockFreeEngine<A, G>::set(std::string_view key, std::string_view value, std::uint64_t deadline,
                               bool *inserted) const {
  check_value_size(value.size(), g_.max_value_bytes());
  mutate(
      key, /*reads_value=*/false,
      [&](std::optional<std::string_view>, std::string &) -> std::optional<std::string_view> {
        return value;
      },
      Life{deadline, false}, inserted);
}

// set() of a value that source(ctx) makes (e.g. by decoding it) while the home control
// word's line, asked for above, is on its way: an operation's first miss, and with
// other processes writing the key, a transfer from another core.
template <class A, class G>
void LockFreeEngine<A, G>::set_with(std::string_view key, ValueSource source, void *ctx,
                                    bool *inserted) const {
  std::string_view value;
  mutate(
      key, /*reads_value=*/false,
      [&](std::optional<std::string_view>, std::string &) -> std::optional<std::string_view> {
        return value;
      },
      [&] {
        value = source(ctx);
        check_value_size(value.size(), g_.max_value_bytes());
      },
      Life{}, inserted);
}

template <class A, class G>
inline std::optional<std::string> LockFreeEngine<A, G>::get(std::string_view key) const {
  const Probe p = probe_for(key);
  std::string out;
  Sink sink{&out};
  Ctrl c;
  if (!find(p, c, &sink)) {
    if constexpr (kPlanted == PlantedBug::kFullOnRead) {
      if (size() >= g_.capacity()) {
        throw Error(Errc::kTableFull, "get: table is full");
      }
    }
    return std::nullopt;
  }
  return out;
}

template <class A, class G>
inline std::optional<std::size_t> LockFreeEngine<A, G>::get_into(std::string_view key,
                                                                 std::span<char> out) const {
  const Probe p = probe_for(key);
  Sink sink;
  sink.span = out;
  Ctrl c;
  if (!find(p, c, &sink)) {
    return std::nullopt;
  }
  if (sink.too_small) {
    detail::throw_buffer_too_small(out.size(), sink.len);
  }
  return sink.len;
}

template <class A, class G>
inline bool LockFreeEngine<A, G>::get_with(std::string_view key, ValueReader reader,
                                           void *ctx) const {
  const Probe p = probe_for(key);
  Sink sink;
  sink.reader = reader;
  sink.reader_ctx = ctx;
  Ctrl c;
  return find(p, c, &sink).has_value();
}

template <class A, class G>
inline CachedGet LockFreeEngine<A, G>::get_cached(std::string_view key, const CachingReader &reader,
                                                  void *ctx) const {
  const Probe p = probe_for(key);
  Sink sink;
  sink.caching = &reader;
  sink.reader_ctx = ctx;
  Ctrl c;
  if (!find(p, c, &sink)) {
    return CachedGet::kAbsent;
  }
  return sink.held ? CachedGet::kHeld : CachedGet::kRead;
}

// Batched reads: for tables far larger than the caches a get waits on one or two DRAM
// misses (control word, record) that nothing overlaps. Here a batch of keys is hashed
// and their home words prefetched, then each home word is read (the misses now overlap)
// and the record it names prefetched, then every key is looked up exactly as get does
// (find: R1-R3 on each slot), its lines now in cache. The prefetches are hints, not
// stores, and what the middle pass reads only chooses what to prefetch: each key's read
// is the seqlock read of a single get, linearizable on its own.
template <class A, class G>
std::size_t LockFreeEngine<A, G>::get_many(std::span<const std::string_view> keys,
                                           ManyReader reader, void *ctx) const {
  // The pipeline's distances: ManyPipeline (lockfree_layout.hpp).
  constexpr std::size_t kRecordAt = ManyPipeline::kRecordAt;
  constexpr std::size_t kLookupAt = ManyPipeline::kLookupAt;
  constexpr std::size_t kRing = ManyPipeline::kRing;
  constexpr std::uint64_t kProbeAhead = ManyPipeline::kProbeAhead;
  struct Each {
    ManyReader reader;
    void *ctx;
    std::size_t index;
    bool called;
  };
  const ValueReader one = [](void *c, const ValueView &v) {
    auto *e = static_cast<Each *>(c);
    e->called = true;
    e->reader(e->ctx, e->index, v);
  };
  std::size_t hits = 0;
  Probe probes[kRing];
  const std::size_t n = keys.size();
  for (std::size_t j = 0; j < n + kLookupAt; ++j) {
    if (j < n) {
      Probe &p = probes[j % kRing];
      p = probe_for(keys[j]);
      // The home word's line, and the next one where the probe run may continue.
      __builtin_prefetch(word(p.home));
      __builtin_prefetch(word(next_slot(p.home, kProbeAhead)));
    }
    if (j >= kRecordAt && j - kRecordAt < n) {
      // The record of the first slot of the run whose word carries the key's fingerprint
      // (at load 0.75 the key is in its home slot only about half the time). What is
      // read here only chooses what to prefetch.
      const Probe &p = probes[(j - kRecordAt) % kRing];
      std::uint64_t slot = p.home;
      Ctrl c{atomics_.load128(word(slot))};
      const std::uint64_t last = std::min<std::uint64_t>(c.bound(), kProbeAhead);
      for (std::uint64_t d = 0;; ++d) {
        if (c.state() == kLive && c.fingerprint() == p.fp && c.buffer() < g_.buffer_count()) {
          for_record_lines(c.buffer(), ManyPipeline::kRecordLines,
                           [](const void *line) { __builtin_prefetch(line); });
          break;
        }
        if (d == last) {
          break;
        }
        slot = next_slot(slot, 1);
        c.w = atomics_.load128(word(slot));
      }
    }
    if (j >= kLookupAt) {
      const std::size_t i = j - kLookupAt;
      Each each{reader, ctx, i, false};
      Sink sink;
      sink.reader = one;
      sink.reader_ctx = &each;
      Ctrl c;
      if (find(probes[i % kRing], c, &sink)) {
        ++hits;
      } else if (each.called) { // a copy was made, then the key turned out absent
        reader(ctx, i, ValueView{nullptr, 0, false});
      }
    }
  }
  return hits;
}

template <class A, class G> inline bool LockFreeEngine<A, G>::contains(std::string_view key) const {
  const Probe p = probe_for(key);
  Ctrl c;
  return find(p, c, nullptr).has_value();
}

template <class A, class G> bool LockFreeEngine<A, G>::erase(std::string_view key) const {
  Probe p = probe_for(key);
  p.memo = write_memo(writer_thread());
  for (;;) {
    Ctrl c;
    bool expired = false;
    const std::optional<std::uint64_t> slot = find(p, c, nullptr, &expired);
    if (!slot) {
      return false;
    }
    if (expired) {
      reclaim(*slot, c); // T2: it was absent already, so the erase finds nothing
      return false;
    }
    const std::uint32_t old = c.buffer();
    if (publish(*slot, c, c.freed())) {                            // linearization point
      release(old);                                                // I2, P3
      atomics_.fetch_sub(entries(), 1, std::memory_order_relaxed); // statistics
      return true;
    }
  }
}

template <class A, class G>
std::int64_t LockFreeEngine<A, G>::add(std::string_view key, std::int64_t delta,
                                       std::uint64_t deadline, bool *inserted) const {
  std::int64_t sum = 0;
  mutate(
      key, true,
      [&](std::optional<std::string_view> current,
          std::string &scratch) -> std::optional<std::string_view> {
        scratch = add_to_text(current, delta, sum);
        return scratch;
      },
      Life{deadline, true}, inserted);
  return sum;
}

template <class A, class G>
bool LockFreeEngine<A, G>::compare_and_set(std::string_view key, std::string_view expected,
                                           std::string_view desired) const {
  check_value_size(desired.size(), g_.max_value_bytes());
  return mutate(
      key, true,
      [&](std::optional<std::string_view> current,
          std::string &) -> std::optional<std::string_view> {
        if (!current || *current != expected) {
          return std::nullopt;
        }
        return desired;
      },
      Life{0, true});
}

template <class A, class G>
bool LockFreeEngine<A, G>::update(std::string_view key, Updater fn, void *ctx,
                                  bool *inserted) const {
  return mutate(
      key, /*reads_value=*/true,
      [&](std::optional<std::string_view> current, std::string &scratch) {
        return fn(ctx, current, scratch);
      },
      Life{0, true}, inserted);
}

template <class A, class G>
bool LockFreeEngine<A, G>::set_if_absent(std::string_view key, std::string_view value,
                                         std::uint64_t deadline) const {
  check_value_size(value.size(), g_.max_value_bytes());
  return mutate(
      key, false,
      [&](std::optional<std::string_view> current,
          std::string &) -> std::optional<std::string_view> {
        if (current) {
          return std::nullopt;
        }
        return value;
      },
      Life{deadline, false});
}

template <class A, class G> std::size_t LockFreeEngine<A, G>::purge_expired() const {
  std::size_t freed = 0;
  for (std::uint64_t slot = 0; slot < g_.capacity(); ++slot) {
    // Again while the slot holds an expired entry: a reclaim CAS fails also when only the
    // word's bound was raised meanwhile.
    for (Ctrl c{atomics_.load128(word(slot))}; expired_entry(slot, c);
         c.w = atomics_.load128(word(slot))) { // R1
      if (reclaim(slot, c)) {
        ++freed;
        break;
      }
    }
  }
  return freed;
}

template <class A, class G> std::vector<std::string> LockFreeEngine<A, G>::keys() const {
  const BasicBufferPool<A> pool = this->pool();
  std::vector<std::string> out;
  std::string key;
  for (std::uint64_t slot = 0; slot < g_.capacity(); ++slot) {
    for (;;) {
      const Ctrl c{atomics_.load128(word(slot))}; // R1
      if (c.state() != kLive || c.buffer() >= g_.buffer_count()) {
        break;
      }
      std::uint64_t *rec = pool.words(c.buffer());
      const std::uint32_t stored = record_key_len(load_word(rec));
      const std::size_t len = std::min<std::uint64_t>(stored, g_.max_key_bytes());
      key.resize(round_up(len, 8));
      for (std::size_t i = 0; i < words_for(static_cast<std::uint32_t>(len)); ++i) { // R2
        const std::uint64_t v = load_word(rec + kKeyWord + i);
        std::memcpy(key.data() + i * 8, &v, 8);
      }
      const std::uint64_t deadline = c.timed() ? load_word(rec + kDeadlineWord) : 0; // T1
      atomics_.reader_fence(); // R3, as in visit()
      if (atomics_.load_version(word(slot)) == c.version()) {
        if (stored == len && (deadline == 0 || !expired_at(deadline, atomics_.now_ns())) && // T2
            findable(slot, c, key, len)) { // an oversize length: corrupt
          key.resize(len);
          out.push_back(key);
        }
        break;
      }
    }
  }
  return out;
}

// keys() lists only what get() finds. In a healthy table every live record passes; a
// corrupted one (garbage in the key's padding, which get()'s whole-word compare sees, a
// fingerprint that is not the key's, a slot past its home's bound) is left to recover().
// `padded` holds the key's words as read, `len` bytes of key then the padding.
template <class A, class G>
bool LockFreeEngine<A, G>::findable(std::uint64_t slot, Ctrl c, std::string_view padded,
                                    std::size_t len) const {
  if (std::any_of(padded.begin() + static_cast<std::ptrdiff_t>(len), padded.end(),
                  [](char ch) { return ch != 0; })) {
    return false;
  }
  const std::uint64_t hash = key_hash(padded.data(), len, g_.hash_seed());
  const std::uint64_t home = home_of(hash, g_.capacity());
  const std::uint64_t dist = (slot + g_.capacity() - home) % g_.capacity();
  // I1: a live key's home bound covers it from before its reservation until recover().
  return fingerprint_of(hash) == c.fingerprint() &&
         dist <= Ctrl{atomics_.load128(word(home))}.bound();
}

template <class A, class G> std::uint64_t LockFreeEngine<A, G>::clear() const {
  std::uint64_t erased = 0;
  for (std::uint64_t slot = 0; slot < g_.capacity(); ++slot) {
    Ctrl c{atomics_.load128(word(slot))};
    while (c.state() == kLive) {
      const std::uint32_t old = c.buffer();
      if (atomics_.cas128(word(slot), c.w, c.freed().w)) { // erases this entry atomically
        if (old < g_.buffer_count()) { // a corrupted index is never used (recover() counts it)
          release(old);                // I2, P3
        }
        atomics_.fetch_sub(entries(), 1, std::memory_order_relaxed); // statistics
        ++erased;
        break;
      }
    }
  }
  return erased;
}

template <class A, class G> std::size_t LockFreeEngine<A, G>::size() const noexcept {
  if (atomics_.load(&g_.control()->timed, std::memory_order_relaxed) != 0) {
    // T2: expired entries still in their slots are not counted; only a walk tells them.
    std::size_t n = 0;
    for (std::uint64_t slot = 0; slot < g_.capacity(); ++slot) {
      const Ctrl c{atomics_.load128(word(slot))};
      n += c.state() == kLive && c.buffer() < g_.buffer_count() && !expired_entry(slot, c);
    }
    return n;
  }
  // Relaxed statistics: an insert counts after its promote, so an erase of it may count
  // first; the signed view clamps that transient to zero.
  const auto n = static_cast<std::int64_t>(atomics_.load(entries(), std::memory_order_relaxed));
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

template <class A, class G> std::uint32_t LockFreeEngine<A, G>::take_spare() const noexcept {
  Magazine *m = g_.magazine();
  if (m != nullptr && m->one_thread) {
    // Relaxed: this handle's calls never overlap (Magazine::one_thread), so nobody else
    // takes or keeps the spare between this load and the store.
    const std::uint32_t v = m->spare.load(std::memory_order_relaxed);
    if (v == 0) {
      return 0;
    }
    m->spare.store(0, std::memory_order_relaxed);
    count_spare(*m, -1);
    if (v > g_.buffer_count()) {
      return 0; // never kept so; dropped, as the exchange below drops it
    }
    return v;
  }
  // Relaxed peek: a hint only (the exchange below decides), so an empty magazine costs
  // no read-modify-write.
  if (m == nullptr || m->spare.load(std::memory_order_relaxed) == 0) {
    return 0;
  }
  // Acquire: pairs with release()'s CAS in whichever thread of this handle kept it, so
  // the CAS that unpublished the buffer happens-before our fill (fill()'s fence edge).
  const std::uint32_t v = m->spare.exchange(0, std::memory_order_acquire);
  if (v != 0) {
    count_spare(*m, -1);
  }
  if (v > g_.buffer_count()) {
    return 0; // never kept so; dropped
  }
  return v; // 0: another thread of this handle took it first
}

template <class A, class G> bool LockFreeEngine<A, G>::holds_permit(Magazine &m) const noexcept {
  const auto state = m.permit.load(std::memory_order_relaxed); // this handle's own flag
  if (state != Magazine::kUnasked) {
    return state == Magazine::kHeld;
  }
  // Once per handle: take a permit if fewer than the limit are held (P4). Relaxed: a
  // count, totally ordered by its own modification order, guarding no data; a refusal
  // undoes its increment, so at most max_spares increments are ever kept.
  std::uint64_t *spares = &g_.control()->spares;
  const std::uint64_t held = atomics_.fetch_add(spares, 1, std::memory_order_relaxed);
  const bool granted = held < max_spares_for(g_.buffer_count(), g_.capacity());
  auto expected = static_cast<std::uint8_t>(Magazine::kUnasked);
  if (!granted ||
      !m.permit.compare_exchange_strong(expected, granted ? Magazine::kHeld : Magazine::kRefused,
                                        std::memory_order_relaxed)) {
    atomics_.fetch_sub(spares, 1, std::memory_order_relaxed); // refused, or a twin thread won
  }
  if (!granted) {
    expected = Magazine::kUnasked;
    m.permit.compare_exchange_strong(expected, Magazine::kRefused, std::memory_order_relaxed);
  }
  return m.permit.load(std::memory_order_relaxed) == Magazine::kHeld;
}

template <class A, class G>
void LockFreeEngine<A, G>::release(std::uint32_t buffer, std::size_t lines_to_own) const noexcept {
  Magazine *m = g_.magazine();
  if (m != nullptr && m->may_keep && m->spare.load(std::memory_order_relaxed) == 0 &&
      holds_permit(*m)) {
    bool kept = true;
    if (m->one_thread) {
      m->spare.store(buffer + 1, std::memory_order_relaxed); // relaxed: as take_spare()'s
    } else {
      // Release: pairs with take_spare()'s acquire exchange (P3's hand-over between the
      // threads of one handle).
      std::uint32_t empty = 0;
      kept = m->spare.compare_exchange_strong(empty, buffer + 1, std::memory_order_release,
                                              std::memory_order_relaxed);
    }
    if (kept) {
      count_spare(*m, 1);
      // Hints, not stores: the handle's next write fills this buffer, whose lines the
      // key's previous writer (perhaps another process) wrote last; asked for now, they
      // move while the caller does its own work between writes, instead of on the next
      // write's path to its publishing CAS, which waits for every store before it.
      for_record_lines(buffer, lines_to_own, [](const void *line) { prefetch_for_write(line); });
      return;
    }
  }
  pool().push(buffer);
}

template <class A, class G> void LockFreeEngine<A, G>::drop_magazine() const noexcept {
  Magazine *m = g_.magazine();
  if (m == nullptr) {
    return;
  }
  const std::uint32_t v = m->spare.exchange(0, std::memory_order_acquire); // as take_spare()
  if (v != 0) {
    count_spare(*m, -1);
  }
  if (v != 0 && v <= g_.buffer_count()) {
    pool().push(v - 1);
  }
  if (m->permit.exchange(Magazine::kUnasked, std::memory_order_relaxed) == Magazine::kHeld) {
    atomics_.fetch_sub(&g_.control()->spares, 1, std::memory_order_relaxed); // P4
  }
}

template <class A, class G> RecoveryReport LockFreeEngine<A, G>::recover_alone() const {
  RecoveryReport report;
  // Nobody else is attached (Segment L5): every kPending word and every buffer that is
  // neither in a slot nor on the free list belongs to a dead operation (P2).
  const BasicBufferPool<A> pool = this->pool();
  const auto bump =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(pool.head().hi >> 32, g_.buffer_count()));
  std::vector<std::uint8_t> in_slot(g_.buffer_count(), 0);
  std::vector<std::uint16_t> bound(g_.capacity(), 0);
  std::unordered_set<std::string> seen;
  std::uint64_t live = 0;
  // Live records whose key padding is not zero (reads compare whole key words, so get()
  // misses them while keys() could list them), decided after the scan: see below.
  struct Padded {
    std::uint64_t slot;
    Ctrl c;
    std::string key;
    std::uint64_t home, dist;
  };
  std::vector<Padded> padded;
  for (std::uint64_t slot = 0; slot < g_.capacity(); ++slot) {
    Ctrl c{atomics_.load128(word(slot))};
    if (c.state() == kFree) {
      continue;
    }
    if (c.state() == kPending) { // its inserter is gone: it never became visible
      ++report.pending_cleared;
      while (!atomics_.cas128(word(slot), c.w, c.freed().w)) {
      }
      continue; // its buffer is unmarked and returns to the pool below
    }
    bool corrupt = c.state() != kLive || c.buffer() >= bump || in_slot[c.buffer()] != 0;
    bool dirty = false; // garbage in the key's padding
    std::string key;
    std::uint64_t hash = 0;
    std::uint64_t dist = 0;
    if (!corrupt) {
      std::uint64_t *rec = pool.words(c.buffer());
      const std::uint32_t klen = record_key_len(load_word(rec));
      const std::uint32_t vlen = record_value_len(load_word(rec));
      corrupt = klen > g_.max_key_bytes() || vlen > g_.max_value_bytes();
      if (!corrupt) {
        key.resize(round_up(klen, 8));
        for (std::uint32_t i = 0; i < words_for(klen); ++i) {
          const std::uint64_t v = load_word(rec + kKeyWord + i);
          std::memcpy(key.data() + i * 8, &v, 8);
        }
        dirty = std::any_of(key.begin() + klen, key.end(), [](char ch) { return ch != 0; });
        key.resize(klen); // the hash does not depend on the padding
        hash = key_hash(key.data(), key.size(), g_.hash_seed());
        const std::uint64_t home = home_of(hash, g_.capacity());
        dist = (slot + g_.capacity() - home) % g_.capacity();
        // Past max_distance no probe reaches it, and no bound field can say it (I1).
        corrupt = fingerprint_of(hash) != c.fingerprint() || dist > g_.max_distance();
      }
    }
    if (corrupt) {
      ++report.corrupt_slots;
      while (!atomics_.cas128(word(slot), c.w, c.freed().w)) {
      }
      continue;
    }
    if (c.timed()) {
      // T2: an expired entry is absent already: freed while we are alone (its buffer,
      // unmarked, returns to the pool below), so that `live` counts present entries.
      // One still to expire makes size() count by a walk from here on.
      if (expired_at(load_word(pool.words(c.buffer()) + kDeadlineWord), atomics_.now_ns())) {
        while (!atomics_.cas128(word(slot), c.w, c.freed().w)) {
        }
        continue;
      }
      note_timed();
    }
    in_slot[c.buffer()] = 1;
    const std::uint64_t home = home_of(hash, g_.capacity());
    if (dirty) {
      padded.push_back({slot, c, std::move(key), home, dist});
      continue;
    }
    ++live;
    if (!seen.insert(key).second) {
      ++report.duplicate_keys; // I3 broken: reported, left in place for inspection
    }
    bound[home] = static_cast<std::uint16_t>(std::max<std::uint64_t>(bound[home], dist));
  }
  // A padded record's key was unreachable, so a later set() of it may have made a clean
  // twin, the current value: then the padded one is stale and freed as corrupt. Else its
  // bytes are intact: zero the padding (we are alone), and the entry is reachable again.
  for (Padded &d : padded) {
    if (seen.contains(d.key)) {
      ++report.corrupt_slots;
      in_slot[d.c.buffer()] = 0; // reclaimed below
      while (!atomics_.cas128(word(d.slot), d.c.w, d.c.freed().w)) {
      }
      continue;
    }
    const auto klen = static_cast<std::uint32_t>(d.key.size());
    std::uint64_t last = 0;
    std::memcpy(&last, d.key.data() + (words_for(klen) - 1) * 8, klen - (words_for(klen) - 1) * 8);
    store_word(pool.words(d.c.buffer()) + kKeyWord + words_for(klen) - 1, last); // last key word
    ++report.keys_repaired;
    ++live;
    seen.insert(std::move(d.key));
    bound[d.home] = static_cast<std::uint16_t>(std::max<std::uint64_t>(bound[d.home], d.dist));
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
  for (std::uint64_t slot = 0; slot < g_.capacity(); ++slot) {
    Ctrl c{atomics_.load128(word(slot))};
    if (c.bound() != bound[slot]) { // exact: a raise means I1 was broken (corruption)
      (c.bound() > bound[slot] ? report.bounds_lowered : report.bounds_raised) += 1;
      while (!atomics_.cas128(word(slot), c.w, c.with_bound(bound[slot]).w)) {
      }
    }
  }
  // Relaxed: statistics, and we are alone. Every permit still counted belonged to a dead
  // handle (ours was returned by drop_magazine() first): their spares were reclaimed above.
  report.spares_cleared = atomics_.load(&g_.control()->spares, std::memory_order_relaxed);
  atomics_.store(&g_.control()->spares, 0, std::memory_order_relaxed);
  atomics_.store(entries(), live, std::memory_order_relaxed);
  // L1 from here on: every handed-out buffer not pushed above is in a live slot. (The
  // caller frees the dead handles' stripes and their spare counts.)
  atomics_.store(&g_.control()->pool_out, bump - free_now, std::memory_order_relaxed);
  atomics_.fetch_add(&g_.control()->recoveries, 1, std::memory_order_relaxed);
  report.entries = live;
  return report;
}

} // namespace shmtable::detail::lockfree
