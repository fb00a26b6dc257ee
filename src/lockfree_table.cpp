// LockFreeTable: the lock-free engine's handle: its segment, and its operations.
//
// The slot protocol itself lives in lockfree_engine.hpp (LockFreeEngine, a template over
// the atomics policy so that the Relacy model in proofs/relacy/ runs the same code); this
// file attaches the segment, computes the layout and forwards every operation to the
// engine instantiated with NativeAtomics (inline lock cmpxchg16b and atomic_ref, see
// lockfree_atomics.hpp). papers/protocol.md has the argument.
#include "shmtable/lockfree_table.hpp"

#include <cpuid.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include <xxhash.h>

#include "expiry.hpp"
#include "lockfree_engine.hpp"
#include "lockfree_inspect.hpp"
#include "lockfree_layout.hpp"
#include "magazine.hpp"
#include "params.hpp"
#include "shmtable/error.hpp"
#include "stats_handle.hpp"

namespace shmtable::detail::lockfree {
// The engine's geometry, read in place from a handle's members: one pointer, so building
// an engine for each operation costs nothing (a copied LockFreeGeometry costs ~20
// instructions per get, measured with callgrind).
struct LockFreeTableView {
  const LockFreeTable *t;

  LockFreeControl *control() const noexcept { return t->control_; }
  Word128 *words() const noexcept { return t->words_; }
  std::byte *records() const noexcept { return t->records_; }
  std::uint64_t capacity() const noexcept { return t->capacity(); }
  std::uint64_t hash_seed() const noexcept { return t->layout().params.hash_seed; }
  std::uint64_t max_distance() const noexcept { return t->max_distance_; }
  std::uint32_t max_key_bytes() const noexcept { return t->max_key_bytes(); }
  std::uint32_t max_value_bytes() const noexcept { return t->max_value_bytes(); }
  std::uint32_t record_bytes() const noexcept { return t->record_bytes_; }
  std::uint32_t buffer_count() const noexcept { return t->buffer_count_; }
  Magazine *magazine() const noexcept { return t->magazine_.get(); }
  std::uint64_t memo_handle() const noexcept { return t->memo_handle_; }
  // A reclaim freed an expired entry (T2): the handle's `expirations` count.
  void note_expired() const noexcept { t->stats_->add(stats::kExpirations); }
  // An insert evicted an entry (E2): the handle's `evictions` count.
  void note_evicted() const noexcept { t->stats_->add(stats::kEvictions); }
  std::uint64_t *marks() const noexcept { return t->marks_; }
  std::uint64_t evict_at() const noexcept { return t->evict_at_; }
};
} // namespace shmtable::detail::lockfree

namespace shmtable {

using detail::lockfree::LockFreeControl;
using detail::lockfree::Word128;
namespace st = detail::stats;

namespace {
// The production policies under names with internal linkage, so that the engine's
// instantiations are local to this file: not exported from the library, not
// interposable, and GCC may inline and specialise them freely. One per way of reading a
// control word (cas128.hpp): the handle picks one when it opens.
struct SplitAtomics : detail::lockfree::NativeAtomics {};
struct VectorAtomics : detail::lockfree::VectorLoadAtomics {};
template <class A>
using EngineOf = detail::lockfree::LockFreeEngine<A, detail::lockfree::LockFreeTableView>;

// Runs f(engine) on the engine instantiation of t's control-word load path: one
// predictable branch per operation, none inside it.
template <class F>
[[gnu::always_inline]] inline decltype(auto) with_engine(const LockFreeTable *t, F &&f) {
  if (t->control_load() == LockFreeTable::ControlLoad::kVector) {
    return f(EngineOf<VectorAtomics>({t}));
  }
  return f(EngineOf<SplitAtomics>({t}));
}

// force_split_control_load(): read by every handle when it opens.
std::atomic<bool> g_force_split{false};

// Runs a write, counting a refusal with Errc::kTableFull (the error propagates).
template <class F>
[[gnu::always_inline]] inline decltype(auto) counting_full(const st::StatsHandle &stats, F &&f) {
  try {
    return f();
  } catch (const Error &e) {
    if (e.code() == Errc::kTableFull) {
      stats.add(st::kTableFull);
    }
    throw;
  }
}

// A stored value: one set, and one insert if it created the key.
[[gnu::always_inline]] inline void count_stored(const st::StatsHandle &stats, bool inserted) {
  stats.add(st::kSets);
  if (inserted) {
    stats.add(st::kInserts);
  }
}
} // namespace

void LockFreeTable::force_split_control_load(bool on) noexcept {
  g_force_split.store(on, std::memory_order_relaxed); // a setting, no data to publish
}

std::string_view detail::lockfree::planted_bug_name() noexcept {
  return kPlantedBugNames[static_cast<std::size_t>(detail::lockfree::kPlanted)];
}

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
  lay.slots_offset = detail::round_up(
      detail::lockfree::stats_offset_of(lay) + sizeof(st::StatsRegion), kCacheLineBytes);
  const std::uint64_t record_bytes =
      detail::lockfree::record_bytes_for(p.max_key_bytes, p.max_value_bytes);
  std::uint64_t bytes =
      detail::lockfree::records_offset_for(lay) + buffers_for(p.capacity) * record_bytes;
  if ((p.flags & kFlagEvict) != 0) { // E1: a reference mark per slot, after the records
    bytes = detail::lockfree::marks_offset_for(lay, buffers_for(p.capacity)) +
            p.capacity * sizeof(std::uint64_t);
  }
  if (bytes > kMaxSegmentBytes) {
    throw Error(Errc::kInvalidArgument,
                "capacity: " + std::to_string(p.capacity) + " slots need " + std::to_string(bytes) +
                    " bytes, over the segment limit of " + std::to_string(kMaxSegmentBytes));
  }
  lay.total_bytes = bytes;
  lay.reserve = false; // all-zero is the empty table: touch nothing
  const std::uint64_t abi[] = {
      sizeof(Word128),
      alignof(Word128),
      sizeof(LockFreeControl),
      offsetof(LockFreeControl, entries),
      offsetof(LockFreeControl, pool_out),
      st::kAbiWords[0],
      st::kAbiWords[1],
      st::kAbiWords[2],
      st::kAbiWords[3],
      st::kAbiWords[4],
      detail::lockfree::kBoundShift,
      detail::lockfree::kFpShift,
      detail::lockfree::kBufferShift,
      detail::lockfree::kEpochShift, // M2: what a reservation does to the version
      detail::lockfree::kRecordHeaderBytes,
      offsetof(LockFreeControl, hand),
      kEvictLoadPercent,
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
  const detail::lockfree::LockFreeGeometry g = detail::lockfree::geometry_of(
      segment_.base(), segment_.layout(), static_cast<std::uint32_t>(buffers_for(capacity())));
  control_ = g.control();
  words_ = g.words();
  records_ = g.records();
  record_bytes_ = g.record_bytes();
  buffer_count_ = g.buffer_count();
  max_distance_ = g.max_distance();
  marks_ = g.marks();
  evict_at_ = g.evict_at();
  memo_handle_ = detail::lockfree::KeyMemo::new_handle_id();
  stats_ = std::make_unique<st::StatsHandle>();
  stats_->open(reinterpret_cast<st::StatsRegion *>(segment_.base() +
                                                   detail::lockfree::stats_offset_of(layout())),
               memo_handle_, opts.stats, opts.one_thread, /*home=*/true);
  magazine_ = std::make_unique<detail::lockfree::Magazine>();
  magazine_->one_thread = opts.one_thread;
  // The spare is counted in the home stripe (L1); without one the handle keeps none.
  magazine_->held = stats_->home() != nullptr ? &stats_->home()->spare : nullptr;
  magazine_->may_keep = stats_->home() != nullptr;
  vector_load_ = !g_force_split.load(std::memory_order_relaxed) &&
                 detail::lockfree::cpu_has_atomic_vector_load();
}

LockFreeTable::~LockFreeTable() { close(); }

void LockFreeTable::close() noexcept {
  if (magazine_ && segment_.base() != nullptr) {
    with_engine(
        this, [](auto e) __attribute__((always_inline)) { e.drop_magazine(); });
  }
  if (stats_) {
    stats_->close(); // after the spare's count went back to 0, before the unmap
  }
  segment_.close();
}
LockFreeTable::LockFreeTable(LockFreeTable &&) noexcept = default;
LockFreeTable &LockFreeTable::operator=(LockFreeTable &&other) noexcept {
  if (this != &other) {
    close(); // this handle's spare goes back to its own table first
    segment_ = std::move(other.segment_);
    control_ = other.control_;
    words_ = other.words_;
    records_ = other.records_;
    record_bytes_ = other.record_bytes_;
    buffer_count_ = other.buffer_count_;
    max_distance_ = other.max_distance_;
    marks_ = other.marks_;
    evict_at_ = other.evict_at_;
    vector_load_ = other.vector_load_;
    magazine_ = std::move(other.magazine_);
    memo_handle_ = other.memo_handle_;
    stats_ = std::move(other.stats_);
  }
  return *this;
}

// ---- Operations: the engine over this handle's mapping ---------------------------------

std::uint64_t LockFreeTable::home_slot(std::string_view key) const noexcept {
  return with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.home_slot(key); });
}

std::uint64_t LockFreeTable::fingerprint(std::string_view key) const noexcept {
  return with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.fingerprint(key); });
}

// The writes with a deadline (0: none), each the body of both its overloads; inlined
// into them, so the plain ones cost what they did before expiry.
[[gnu::always_inline]] inline void
LockFreeTable::set_until(std::string_view key, std::string_view value, std::uint64_t deadline) {
  bool inserted = false;
  counting_full(*stats_, [&] {
    with_engine(
        this, [&](auto e) __attribute__((always_inline)) {
          return e.set(key, value, deadline, &inserted);
        });
  });
  count_stored(*stats_, inserted);
}

[[gnu::always_inline]] inline bool LockFreeTable::set_if_absent_until(std::string_view key,
                                                                      std::string_view value,
                                                                      std::uint64_t deadline) {
  const bool stored = counting_full(*stats_, [&] {
    return with_engine(
        this, [&](auto e)
                  __attribute__((always_inline)) { return e.set_if_absent(key, value, deadline); });
  });
  if (stored) {
    count_stored(*stats_, true); // only an absent (or expired) key is stored
  }
  return stored;
}

[[gnu::always_inline]] inline std::int64_t
LockFreeTable::add_until(std::string_view key, std::int64_t delta, std::uint64_t deadline) {
  bool inserted = false;
  const std::int64_t sum = counting_full(*stats_, [&] {
    return with_engine(
        this, [&](auto e) __attribute__((always_inline)) {
          return e.add(key, delta, deadline, &inserted);
        });
  });
  count_stored(*stats_, inserted);
  return sum;
}

void LockFreeTable::set(std::string_view key, std::string_view value) { set_until(key, value, 0); }

void LockFreeTable::set_with(std::string_view key, ValueSource source, void *ctx) {
  bool inserted = false;
  counting_full(*stats_, [&] {
    with_engine(
        this, [&](auto e) __attribute__((always_inline)) {
          return e.set_with(key, source, ctx, &inserted);
        });
  });
  count_stored(*stats_, inserted);
}

std::optional<std::string> LockFreeTable::get(std::string_view key) const {
  std::optional<std::string> v = with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.get(key); });
  stats_->add(v ? st::kHits : st::kMisses);
  return v;
}

std::optional<std::size_t> LockFreeTable::get_into(std::string_view key,
                                                   std::span<char> out) const {
  const std::optional<std::size_t> n = with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.get_into(key, out); });
  stats_->add(n ? st::kHits : st::kMisses);
  return n;
}

bool LockFreeTable::get_with(std::string_view key, ValueReader reader, void *ctx) const {
  const bool found = with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.get_with(key, reader, ctx); });
  stats_->add(found ? st::kHits : st::kMisses);
  return found;
}

CachedGet LockFreeTable::get_cached(std::string_view key, const CachingReader &reader,
                                    void *ctx) const {
  const CachedGet got = with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.get_cached(key, reader, ctx); });
  stats_->add(got != CachedGet::kAbsent ? st::kHits : st::kMisses);
  return got;
}

std::size_t LockFreeTable::get_many(std::span<const std::string_view> keys, ManyReader reader,
                                    void *ctx) const {
  for (const std::string_view k : keys) {
    detail::check_key_size(k.size(), max_key_bytes()); // all checked before any is read
  }
  const std::size_t found = with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.get_many(keys, reader, ctx); });
  stats_->add(st::kHits, found);
  stats_->add(st::kMisses, keys.size() - found);
  return found;
}

std::vector<std::optional<std::string>>
LockFreeTable::get_many(std::span<const std::string_view> keys) const {
  std::vector<std::optional<std::string>> out(keys.size());
  get_many(
      keys,
      [](void *ctx, std::size_t i, const ValueView &v) {
        auto &slot = (*static_cast<std::vector<std::optional<std::string>> *>(ctx))[i];
        if (v.bytes == nullptr) {
          slot.reset(); // absent after all
        } else {
          slot.emplace(v.bytes, v.size);
        }
      },
      &out);
  return out;
}

bool LockFreeTable::contains(std::string_view key) const {
  const bool found = with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.contains(key); });
  stats_->add(found ? st::kHits : st::kMisses);
  return found;
}

bool LockFreeTable::erase(std::string_view key) {
  const bool erased = with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.erase(key); });
  if (erased) {
    stats_->add(st::kErases);
  }
  return erased;
}

std::int64_t LockFreeTable::add(std::string_view key, std::int64_t delta) {
  return add_until(key, delta, 0);
}

bool LockFreeTable::update(std::string_view key, Updater fn, void *ctx) {
  bool inserted = false;
  const bool stored = counting_full(*stats_, [&] {
    return with_engine(
        this, [&](auto e)
                  __attribute__((always_inline)) { return e.update(key, fn, ctx, &inserted); });
  });
  if (stored) {
    count_stored(*stats_, inserted);
  }
  return stored;
}

bool LockFreeTable::compare_and_set(std::string_view key, std::string_view expected,
                                    std::string_view desired) {
  const bool stored = with_engine(
      this, [&](auto e) __attribute__((always_inline)) {
        return e.compare_and_set(key, expected, desired);
      });
  if (stored) {
    count_stored(*stats_, false); // over a present value: never an insert
  }
  return stored;
}

bool LockFreeTable::set_if_absent(std::string_view key, std::string_view value) {
  return set_if_absent_until(key, value, 0);
}

void LockFreeTable::set(std::string_view key, std::string_view value,
                        std::chrono::nanoseconds ttl) {
  set_until(key, value, detail::deadline_after(ttl, "set"));
}

bool LockFreeTable::set_if_absent(std::string_view key, std::string_view value,
                                  std::chrono::nanoseconds ttl) {
  return set_if_absent_until(key, value, detail::deadline_after(ttl, "set_if_absent"));
}

std::int64_t LockFreeTable::add(std::string_view key, std::int64_t delta,
                                std::chrono::nanoseconds ttl) {
  return add_until(key, delta, detail::deadline_after(ttl, "add"));
}

std::size_t LockFreeTable::purge_expired() {
  return with_engine(this, [&](auto e) { return e.purge_expired(); });
}

std::vector<std::string> LockFreeTable::keys() const {
  return with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.keys(); });
}

void LockFreeTable::clear() {
  const std::uint64_t erased = with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.clear(); });
  stats_->add(st::kErases, erased);
}

std::size_t LockFreeTable::size() const noexcept {
  return with_engine(
      this, [&](auto e) __attribute__((always_inline)) { return e.size(); });
}

RecoveryReport LockFreeTable::recover() {
  RecoveryReport report;
  // Nobody else is attached while it runs (Segment L5), which recover_alone() needs.
  const bool ran = segment_.run_exclusive([&] {
    report = with_engine(
        this, [](auto e) __attribute__((always_inline)) {
          e.drop_magazine(); // our own spare and permit first: the rest belong to the dead
          return e.recover_alone();
        });
    stats_->free_others_alone(); // the dead's stripes, and their spares now pooled (L1)
  });
  if (!ran) {
    throw Error(Errc::kBusy, "recover: other handles are attached to " + segment_.display_name() +
                                 "; it runs only when this handle is the only one");
  }
  return report;
}

TableStats LockFreeTable::stats() const {
  if (segment_.base() == nullptr) {
    throw Error(Errc::kInvalidArgument, "stats: the handle is closed");
  }
  TableStats s = st::sum_stats(stats_->region());
  s.entries = size();
  // L1 (lockfree_layout.hpp). Relaxed: a count, guarding no data.
  const auto out = static_cast<std::int64_t>(
      std::atomic_ref<std::uint64_t>(control_->pool_out).load(std::memory_order_relaxed));
  const std::int64_t leaked =
      out - static_cast<std::int64_t>(s.entries) - st::live_spares(stats_->region());
  s.leaked_buffers = leaked > 0 ? static_cast<std::uint64_t>(leaked) : 0;
  return s;
}

TableInspection LockFreeTable::inspect() const {
  if (segment_.base() == nullptr) {
    throw Error(Errc::kInvalidArgument, "inspect: the handle is closed");
  }
  detail::lockfree::OwnHoldings own;
  own.spare = magazine_->spare.load(std::memory_order_relaxed); // this handle's: a hint
  own.permit =
      magazine_->permit.load(std::memory_order_relaxed) == detail::lockfree::Magazine::kHeld;
  // The lo/hi/lo control-word load, correct on every CPU: the walk is no hot path.
  const detail::lockfree::Inspector<SplitAtomics, detail::lockfree::LockFreeTableView> inspector(
      {this});
  const auto walk = [&] {
    return inspector.run(own, [this] { return segment_.others_attached(); });
  };
  // Alone, the walk holds the attach lock as recover() does (openers wait), so that no
  // handle attaches, writes and leaves between its two looks at who is attached: what it
  // reports as crash leftovers is then exact. The lock is the segment file's, not shared
  // memory, and only this handle's own lock changes (run_exclusive keeps nothing else).
  TableInspection r;
  if (!const_cast<Segment &>(segment_).run_exclusive([&] { r = walk(); })) {
    r = walk(); // others attached: best effort (shmtable/inspection.hpp)
  }
  return r;
}

} // namespace shmtable
