// MutexTable: fast-shm-cache's design (FNV-1a, linear probing, a process-shared pthread
// mutex per slot, a table-wide mutex), with the choices documented in mutex_table.hpp.
//
// Invariants (kept by the code below; papers/mutex-baseline.md argues them):
//  M1. Every byte of a slot is read or written only while holding that slot's mutex.
//  M2. A slot's state changes from empty/tombstone to occupied, and from occupied to
//      tombstone, only while the table-wide mutex is also held (insert, erase, clear).
//      Hence at most one insert runs at a time, and it scans the key's whole chain
//      first: no duplicate keys.
//  M3. Chain integrity: for every occupied slot m whose key hashes to home h, no slot
//      in [h, m) (cyclically) is empty. Erase leaves a tombstone; a tombstone t is
//      turned back into empty only while the slot after it is empty and the table-wide
//      mutex is held, which cannot break M3 for any chain (a chain spanning t would
//      have to span the empty slot t+1 too).
//  M4. (robust) The value a reader can see is in half `live`; writers fill the other
//      half and publish it by storing `live` last, so a writer killed at any instruction
//      leaves the previous value visible. An insert publishes by storing `state` last.
#include "shmtable/mutex_table.hpp"

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <xxhash.h>

#include "counter_text.hpp"
#include "expiry.hpp"
#include "key_memo.hpp"
#include "mutex_layout.hpp"
#include "params.hpp"
#include "segment_header.hpp"
#include "shmtable/error.hpp"
#include "shmtable/hash.hpp"
#include "stats_handle.hpp"

namespace shmtable {

using detail::mutex::MutexControl;
using detail::mutex::MutexSlotHeader;
namespace st = detail::stats;

namespace {

using detail::round_up;

std::atomic_ref<std::uint8_t> state_of(MutexSlotHeader *s) {
  return std::atomic_ref<std::uint8_t>(s->state);
}

// A slot's state is read and written only under the slot's mutex (M1), and the mutex
// orders every access between threads and processes, so relaxed suffices here. The one
// store that must be ordered for crash recovery, publishing an insert, uses release at
// its call site instead.
std::uint8_t load_state(MutexSlotHeader *s) { return state_of(s).load(std::memory_order_relaxed); }
void store_state(MutexSlotHeader *s, std::uint8_t v) {
  state_of(s).store(v, std::memory_order_relaxed);
}

// The control block's counters (num_entries, recovered) are statistics with no ordering
// duties: size() and recovered_locks() are best-effort snapshots, so every access to
// them is relaxed.
std::atomic_ref<std::uint64_t> counter(std::uint64_t &c) {
  return std::atomic_ref<std::uint64_t>(c);
}

std::uint64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

char *key_bytes(MutexSlotHeader *s) noexcept {
  return reinterpret_cast<char *>(s) + sizeof(MutexSlotHeader);
}

// Releases a mutex that MutexTable::lock() acquired, at the end of the scope.
class Held {
public:
  explicit Held(pthread_mutex_t *m) : m_(m) {}
  Held(const Held &) = delete;
  Held &operator=(const Held &) = delete;
  ~Held() { pthread_mutex_unlock(m_); }

private:
  pthread_mutex_t *m_;
};

} // namespace

Layout MutexTable::layout_for(const TableParams &p) {
  detail::check_sizing(p);
  if ((p.flags & kFlagEvict) != 0) {
    throw Error(Errc::kInvalidArgument,
                "eviction: only LockFreeTable evicts; MutexTable keeps fast-shm-cache's "
                "behaviour, an error on a full table");
  }
  const std::uint64_t halves = (p.flags & kFlagRobust) != 0 ? 2 : 1;
  Layout lay;
  lay.params = p;
  lay.slot_bytes = static_cast<std::uint32_t>(
      round_up(sizeof(MutexSlotHeader) + p.max_key_bytes + halves * p.max_value_bytes, 8));
  lay.control_offset = kHeaderBytes;
  lay.slots_offset =
      round_up(detail::mutex::stats_offset_of(lay) + sizeof(st::StatsRegion), kCacheLineBytes);
  if (p.capacity > (kMaxSegmentBytes - lay.slots_offset) / lay.slot_bytes) {
    throw Error(Errc::kInvalidArgument, "capacity: " + std::to_string(p.capacity) + " slots of " +
                                            std::to_string(lay.slot_bytes) +
                                            " bytes exceed the segment limit of " +
                                            std::to_string(kMaxSegmentBytes) + " bytes");
  }
  lay.total_bytes = lay.slots_offset + p.capacity * lay.slot_bytes;
  lay.reserve = true; // the initialiser below touches every slot's mutex anyway
  const std::uint64_t abi[] = {sizeof(pthread_mutex_t),
                               alignof(pthread_mutex_t),
                               sizeof(MutexSlotHeader),
                               offsetof(MutexSlotHeader, state),
                               offsetof(MutexSlotHeader, live),
                               offsetof(MutexSlotHeader, key_len),
                               offsetof(MutexSlotHeader, value_len),
                               offsetof(MutexSlotHeader, timestamp_ns),
                               offsetof(MutexSlotHeader, deadline),
                               sizeof(MutexControl),
                               offsetof(MutexControl, num_entries),
                               offsetof(MutexControl, timed),
                               st::kAbiWords[0],
                               st::kAbiWords[1],
                               st::kAbiWords[2],
                               st::kAbiWords[3],
                               st::kAbiWords[4]};
  lay.abi_signature = XXH64(abi, sizeof abi, 0);
  return lay;
}

namespace {
// The options MutexTable takes: one_thread is LockFreeTable's alone.
const Options &checked(const Options &opts) {
  if (opts.one_thread) {
    throw Error(Errc::kInvalidArgument, "one_thread: only LockFreeTable has a one-thread mode; "
                                        "MutexTable handles are thread-safe as they are");
  }
  return opts;
}
} // namespace

MutexTable::MutexTable(const Options &opts)
    : segment_(Segment::attach(
          checked(opts),
          TableParams{kEngine, opts.robust ? kFlagRobust : 0u, opts.capacity, opts.max_key_bytes,
                      opts.max_value_bytes, opts.hash_seed},
          &MutexTable::layout_for, [](std::byte *base, const Layout &lay) {
            // The faithful engine's empty state is not all-zero: every slot's mutex is
            // initialised here, touching every page, as fast-shm-cache does.
            pthread_mutexattr_t attr;
            pthread_mutexattr_init(&attr);
            pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
            if ((lay.params.flags & kFlagRobust) != 0) {
              pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
            }
            auto *control = reinterpret_cast<MutexControl *>(base + lay.control_offset);
            pthread_mutex_init(&control->global, &attr);
            for (std::uint64_t i = 0; i < lay.params.capacity; ++i) {
              auto *s =
                  reinterpret_cast<MutexSlotHeader *>(base + lay.slots_offset + i * lay.slot_bytes);
              pthread_mutex_init(&s->mutex, &attr);
            }
            pthread_mutexattr_destroy(&attr);
          })) {
  const Layout &lay = segment_.layout();
  control_ = reinterpret_cast<MutexControl *>(segment_.base() + lay.control_offset);
  slots_ = segment_.base() + lay.slots_offset;
  slot_bytes_ = lay.slot_bytes;
  robust_ = (lay.params.flags & kFlagRobust) != 0;
  stats_ = std::make_unique<st::StatsHandle>();
  // The handle id comes from the lock-free engine's counter, so that no two handles of
  // the process, of either engine, share one (the threads' stripe tables key on it).
  stats_->open(
      reinterpret_cast<st::StatsRegion *>(segment_.base() + detail::mutex::stats_offset_of(lay)),
      detail::lockfree::KeyMemo::new_handle_id(), opts.stats, false, /*home=*/false);
}

MutexTable::~MutexTable() { close(); }

MutexTable::MutexTable(MutexTable &&) noexcept = default;

MutexTable &MutexTable::operator=(MutexTable &&other) noexcept {
  if (this != &other) {
    close(); // our stripes go back to our own table first
    segment_ = std::move(other.segment_);
    control_ = other.control_;
    slots_ = other.slots_;
    slot_bytes_ = other.slot_bytes_;
    robust_ = other.robust_;
    stats_ = std::move(other.stats_);
  }
  return *this;
}

void MutexTable::close() noexcept {
  if (stats_) {
    stats_->close(); // before the unmap
  }
  segment_.close();
}

namespace {
// Runs a write, counting a refusal with Errc::kTableFull (the error propagates).
template <class F> decltype(auto) counting_full(const st::StatsHandle &stats, F &&f) {
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
void count_stored(const st::StatsHandle &stats, bool inserted) {
  stats.add(st::kSets);
  if (inserted) {
    stats.add(st::kInserts);
  }
}
} // namespace

// ---- The engine's helpers -----------------------------------------------------------

namespace detail::mutex {
// MutexTable's private helpers: a view of one handle. It writes the segment only through
// the handle's pointers, so it is const.
struct MutexOps {
  const MutexTable &t;

  MutexSlotHeader *slot(std::uint64_t index) const noexcept;
  std::uint64_t home(std::string_view key) const noexcept;
  void check_key(std::string_view key) const;
  void lock(void *mutex) const;
  void unlock(void *mutex) const noexcept;
  void recount() const;
  bool key_matches(const MutexSlotHeader *s, std::string_view key) const noexcept;
  std::string_view value_of(const MutexSlotHeader *s) const noexcept;
  // The deadline of the value readers see (0: none), and whether it has passed: from
  // then on the entry is absent to every operation (table.hpp, "Expiry").
  std::uint64_t deadline_of(const MutexSlotHeader *s) const noexcept;
  bool expired(const MutexSlotHeader *s) const noexcept;
  void write_value(MutexSlotHeader *s, std::string_view value,
                   std::uint64_t deadline) const noexcept;
  // Finds the key with its slot locked and calls on_found(slot); false if absent. An
  // expired entry is absent, unless `with_expired`: then on_found sees it too (writers
  // overwrite or free it in place).
  template <class F>
  bool find_locked(std::string_view key, F &&on_found, bool with_expired = false) const;
  // decide(current, next) says whether to store `next`; inserts if the key is absent
  // (or expired), and then sets *inserted. What it stores gets `deadline`, or with
  // `keep`, a present entry's own.
  template <class Decide>
  bool mutate(std::string_view key, Decide &&decide, bool *inserted, std::uint64_t deadline = 0,
              bool keep = false) const;
  void drop_trailing_tombstones(std::uint64_t index) const;
};
} // namespace detail::mutex

using detail::mutex::MutexOps;

MutexSlotHeader *MutexOps::slot(std::uint64_t index) const noexcept {
  return reinterpret_cast<MutexSlotHeader *>(t.slots_ + index * t.slot_bytes_);
}

std::uint64_t MutexOps::home(std::string_view key) const noexcept {
  return fnv1a(key, t.layout().params.hash_seed) % t.capacity();
}

void MutexOps::check_key(std::string_view key) const {
  detail::check_key_size(key.size(), t.max_key_bytes());
}

void MutexOps::lock(void *m) const {
  auto *mutex = static_cast<pthread_mutex_t *>(m);
  const int rc = pthread_mutex_lock(mutex);
  if (rc == 0) {
    return;
  }
  if (rc == EOWNERDEAD) {
    // Robust mode: the holder died. By M4 and the publish-last order of every writer,
    // what it left is consistent; mark the mutex usable again.
    pthread_mutex_consistent(mutex);
    counter(t.control_->recovered).fetch_add(1, std::memory_order_relaxed);
    if (mutex == &t.control_->global) {
      try {
        recount(); // it may have died between publishing a slot and counting it
      } catch (...) {
        pthread_mutex_unlock(mutex);
        throw;
      }
    }
    return;
  }
  throw Error(Errc::kSystem, std::string("pthread_mutex_lock: ") + std::strerror(rc));
}

void MutexOps::unlock(void *m) const noexcept {
  pthread_mutex_unlock(static_cast<pthread_mutex_t *>(m));
}

void MutexOps::recount() const {
  std::uint64_t n = 0;
  for (std::uint64_t i = 0; i < t.capacity(); ++i) {
    MutexSlotHeader *s = slot(i);
    lock(&s->mutex);
    n += load_state(s) == detail::mutex::kSlotOccupied ? 1 : 0;
    unlock(&s->mutex);
  }
  counter(t.control_->num_entries).store(n, std::memory_order_relaxed);
}

bool MutexOps::key_matches(const MutexSlotHeader *s, std::string_view key) const noexcept {
  // key_len comes from shared memory: compared, never trusted as a bound (key.size() is
  // ours and <= max_key_bytes).
  return s->key_len == key.size() &&
         std::memcmp(key_bytes(const_cast<MutexSlotHeader *>(s)), key.data(), key.size()) == 0;
}

std::string_view MutexOps::value_of(const MutexSlotHeader *s) const noexcept {
  const unsigned half = t.robust_ ? (s->live & 1u) : 0u;
  const std::uint32_t len = std::min(s->value_len[half], t.max_value_bytes()); // bound-check
  const char *v = key_bytes(const_cast<MutexSlotHeader *>(s)) + t.max_key_bytes() +
                  static_cast<std::size_t>(half) * t.max_value_bytes();
  return {v, len};
}

std::uint64_t MutexOps::deadline_of(const MutexSlotHeader *s) const noexcept {
  return s->deadline[t.robust_ ? (s->live & 1u) : 0u];
}

bool MutexOps::expired(const MutexSlotHeader *s) const noexcept {
  const std::uint64_t deadline = deadline_of(s);
  return deadline != 0 && detail::expired_at(deadline, detail::clock_now_ns());
}

// inline: GCC otherwise calls it from mutate(), 5 more instructions per set.
inline void MutexOps::write_value(MutexSlotHeader *s, std::string_view value,
                                  std::uint64_t deadline) const noexcept {
  const unsigned half = t.robust_ ? ((s->live & 1u) ^ 1u) : 0u;
  char *v = key_bytes(s) + t.max_key_bytes() + static_cast<std::size_t>(half) * t.max_value_bytes();
  if (!value.empty()) { // memcpy from a null view's data() is undefined even for 0 bytes
    std::memcpy(v, value.data(), value.size());
  }
  s->value_len[half] = static_cast<std::uint32_t>(value.size());
  s->deadline[half] = deadline; // the half's, as its length (M4)
  if (deadline != 0 && counter(t.control_->timed).load(std::memory_order_relaxed) == 0) {
    counter(t.control_->timed).store(1, std::memory_order_relaxed); // for size(); a flag
  }
  s->timestamp_ns = now_ns();
  if (t.robust_) {
    // Release: keeps the copy above before the flip in program order, so a process that
    // recovers this slot after we die sees either the old half or the complete new one
    // (M4). Its partner is the next locker's acquisition of the mutex.
    std::atomic_ref<std::uint8_t>(s->live).store(static_cast<std::uint8_t>(half),
                                                 std::memory_order_release);
  }
}

template <class F>
bool MutexOps::find_locked(std::string_view key, F &&on_found, bool with_expired) const {
  const std::uint64_t cap = t.capacity();
  std::uint64_t i = home(key);
  for (std::uint64_t n = 0; n < cap; ++n) {
    MutexSlotHeader *s = slot(i);
    lock(&s->mutex);
    Held held(&s->mutex);
    const std::uint8_t st = load_state(s);
    if (st == detail::mutex::kSlotEmpty) {
      return false;
    }
    if (st == detail::mutex::kSlotOccupied && key_matches(s, key)) {
      if (!with_expired && expired(s)) {
        return false; // the key's one slot (M2), and it is absent
      }
      on_found(s);
      return true;
    }
    i = i + 1 == cap ? 0 : i + 1;
  }
  return false;
}

template <class Decide>
bool MutexOps::mutate(std::string_view key, Decide &&decide, bool *inserted, std::uint64_t deadline,
                      bool keep) const {
  check_key(key);
  bool wrote = false;
  std::string next;
  // Fast path: the key has a slot; decide and write under its slot mutex alone. An
  // expired entry is an absent key, whose value is written in place (its state stays).
  const auto apply = [&](MutexSlotHeader *s) {
    const bool present = !expired(s);
    if (decide(present ? std::optional<std::string_view>(value_of(s)) : std::nullopt, next)) {
      detail::check_value_size(next.size(), t.max_value_bytes());
      write_value(s, next, keep && present ? deadline_of(s) : deadline);
      wrote = true;
      *inserted = !present; // over an expired entry: the key was absent, now it is not
    }
  };
  if (find_locked(key, apply, /*with_expired=*/true)) {
    return wrote;
  }
  lock(&t.control_->global);
  Held global(&t.control_->global);
  const std::uint64_t cap = t.capacity();
  constexpr std::uint64_t kNone = ~0ULL;
  std::uint64_t free_slot = kNone;
  std::uint64_t i = home(key);
  // M2: with the table-wide mutex held no other insert or erase runs, so this scan of
  // the whole chain decides whether the key exists.
  for (std::uint64_t n = 0; n < cap; ++n) {
    MutexSlotHeader *s = slot(i);
    lock(&s->mutex);
    Held held(&s->mutex);
    const std::uint8_t st = load_state(s);
    if (st == detail::mutex::kSlotOccupied) {
      if (key_matches(s, key)) { // inserted by a racer since our fast-path probe
        apply(s);
        return wrote;
      }
      if (free_slot == kNone && expired(s)) {
        // Another key's expired entry, before any free slot: freed here, where the
        // table-wide mutex and its slot's are held (M2), into a tombstone (M3). The key
        // was absent already, so the table's contents do not change.
        store_state(s, detail::mutex::kSlotTombstone);
        counter(t.control_->num_entries).fetch_sub(1, std::memory_order_relaxed);
        t.stats_->add(st::kExpirations);
        free_slot = i;
      }
    } else if (st == detail::mutex::kSlotEmpty || st == detail::mutex::kSlotTombstone) {
      if (free_slot == kNone) {
        free_slot = i;
      }
      if (st == detail::mutex::kSlotEmpty) {
        break; // M3: the key cannot be further along
      }
    }
    i = i + 1 == cap ? 0 : i + 1;
  }
  if (!decide(std::nullopt, next)) {
    return false;
  }
  detail::check_value_size(next.size(), t.max_value_bytes());
  if (free_slot == kNone) {
    throw Error(Errc::kTableFull, "set: table is full (all " + std::to_string(cap) +
                                      " slots of its capacity hold keys)");
  }
  MutexSlotHeader *s = slot(free_slot);
  lock(&s->mutex);
  Held held(&s->mutex);
  if (!key.empty()) {
    std::memcpy(key_bytes(s), key.data(), key.size());
  }
  s->key_len = static_cast<std::uint16_t>(key.size());
  write_value(s, next, deadline);
  // Release: the key and value bytes precede the state change in program order, so a
  // robust successor of a writer that died here sees a complete entry or none (M4).
  state_of(s).store(detail::mutex::kSlotOccupied, std::memory_order_release);
  counter(t.control_->num_entries).fetch_add(1, std::memory_order_relaxed);
  *inserted = true;
  return true;
}

void MutexOps::drop_trailing_tombstones(std::uint64_t index) const {
  // Caller holds the table-wide mutex, so no insert can fill the empty slot we rely on.
  const std::uint64_t cap = t.capacity();
  {
    MutexSlotHeader *next = slot(index + 1 == cap ? 0 : index + 1);
    lock(&next->mutex);
    Held held(&next->mutex);
    if (load_state(next) != detail::mutex::kSlotEmpty) {
      return;
    }
  }
  std::uint64_t i = index;
  for (std::uint64_t n = 0; n < cap; ++n) {
    MutexSlotHeader *s = slot(i);
    lock(&s->mutex);
    Held held(&s->mutex);
    if (load_state(s) != detail::mutex::kSlotTombstone) {
      return;
    }
    store_state(s, detail::mutex::kSlotEmpty); // M3: slot i+1 is empty
    i = i == 0 ? cap - 1 : i - 1;
  }
}

// ---- Public operations --------------------------------------------------------------

void MutexTable::set(std::string_view key, std::string_view value) { set_until(key, value, 0); }

void MutexTable::set(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl) {
  set_until(key, value, detail::deadline_after(ttl, "set"));
}

void MutexTable::set_until(std::string_view key, std::string_view value, std::uint64_t deadline) {
  const MutexOps ops{*this};
  detail::check_value_size(value.size(), max_value_bytes());
  bool inserted = false;
  counting_full(*stats_, [&] {
    ops.mutate(
        key,
        [&](std::optional<std::string_view>, std::string &next) {
          next.assign(value);
          return true;
        },
        &inserted, deadline);
  });
  count_stored(*stats_, inserted);
}

void MutexTable::set_with(std::string_view key, ValueSource source, void *ctx) {
  detail::check_key_size(key.size(), max_key_bytes());
  set(key, source(ctx));
}

std::int64_t MutexTable::add(std::string_view key, std::int64_t delta) {
  return add_until(key, delta, 0);
}

std::int64_t MutexTable::add(std::string_view key, std::int64_t delta,
                             std::chrono::nanoseconds ttl) {
  return add_until(key, delta, detail::deadline_after(ttl, "add"));
}

std::int64_t MutexTable::add_until(std::string_view key, std::int64_t delta,
                                   std::uint64_t deadline) {
  const MutexOps ops{*this};
  std::int64_t sum = 0;
  bool inserted = false;
  counting_full(*stats_, [&] {
    ops.mutate(
        key,
        [&](std::optional<std::string_view> current, std::string &next) {
          next = detail::add_to_text(current, delta, sum);
          return true;
        },
        &inserted, deadline, /*keep=*/true);
  });
  count_stored(*stats_, inserted);
  return sum;
}

bool MutexTable::set_if_absent(std::string_view key, std::string_view value) {
  return set_if_absent_until(key, value, 0);
}

bool MutexTable::set_if_absent(std::string_view key, std::string_view value,
                               std::chrono::nanoseconds ttl) {
  return set_if_absent_until(key, value, detail::deadline_after(ttl, "set_if_absent"));
}

bool MutexTable::set_if_absent_until(std::string_view key, std::string_view value,
                                     std::uint64_t deadline) {
  const MutexOps ops{*this};
  detail::check_value_size(value.size(), max_value_bytes());
  bool inserted = false;
  const bool stored = counting_full(*stats_, [&] {
    return ops.mutate(
        key,
        [&](std::optional<std::string_view> current, std::string &next) {
          if (current) {
            return false;
          }
          next.assign(value);
          return true;
        },
        &inserted, deadline);
  });
  if (stored) {
    count_stored(*stats_, true); // only an absent (or expired) key is stored
  }
  return stored;
}

std::size_t MutexTable::purge_expired() {
  const MutexOps ops{*this};
  ops.lock(&control_->global);
  Held global(&control_->global);
  std::size_t freed = 0;
  for (std::uint64_t i = 0; i < capacity(); ++i) {
    bool gone = false;
    {
      MutexSlotHeader *s = ops.slot(i);
      ops.lock(&s->mutex);
      Held held(&s->mutex);
      if (load_state(s) == detail::mutex::kSlotOccupied && ops.expired(s)) {
        store_state(s, detail::mutex::kSlotTombstone); // M2: both mutexes held; M3
        counter(control_->num_entries).fetch_sub(1, std::memory_order_relaxed);
        gone = true;
      }
    }
    if (gone) {
      ++freed;
      ops.drop_trailing_tombstones(i);
    }
  }
  stats_->add(st::kExpirations, freed);
  return freed;
}

bool MutexTable::compare_and_set(std::string_view key, std::string_view expected,
                                 std::string_view desired) {
  const MutexOps ops{*this};
  detail::check_value_size(desired.size(), max_value_bytes());
  bool inserted = false;
  const bool stored = ops.mutate(
      key,
      [&](std::optional<std::string_view> current, std::string &next) {
        if (!current || *current != expected) {
          return false;
        }
        next.assign(desired);
        return true;
      },
      &inserted, 0, /*keep=*/true);
  if (stored) {
    count_stored(*stats_, false); // over a present value: never an insert
  }
  return stored;
}

bool MutexTable::update(std::string_view key, Updater fn, void *ctx) {
  const MutexOps ops{*this};
  std::string scratch;
  bool inserted = false;
  const bool stored = counting_full(*stats_, [&] {
    return ops.mutate(
        key,
        [&](std::optional<std::string_view> current, std::string &next) {
          const std::optional<std::string_view> value = fn(ctx, current, scratch);
          if (!value) {
            return false;
          }
          next.assign(*value); // a view of `current` (the slot) or `scratch`: copied first
          return true;
        },
        &inserted, 0, /*keep=*/true);
  });
  if (stored) {
    count_stored(*stats_, inserted);
  }
  return stored;
}

std::optional<std::string> MutexTable::get(std::string_view key) const {
  const MutexOps ops{*this};
  ops.check_key(key);
  std::optional<std::string> out;
  ops.find_locked(key, [&](MutexSlotHeader *s) { out.emplace(ops.value_of(s)); });
  stats_->add(out ? st::kHits : st::kMisses);
  return out;
}

std::optional<std::size_t> MutexTable::get_into(std::string_view key, std::span<char> out) const {
  const MutexOps ops{*this};
  ops.check_key(key);
  std::optional<std::size_t> len;
  ops.find_locked(key, [&](MutexSlotHeader *s) {
    const std::string_view v = ops.value_of(s);
    if (v.size() > out.size()) {
      detail::throw_buffer_too_small(out.size(), v.size());
    }
    std::memcpy(out.data(), v.data(), v.size());
    len = v.size();
  });
  stats_->add(len ? st::kHits : st::kMisses);
  return len;
}

bool MutexTable::contains(std::string_view key) const {
  const MutexOps ops{*this};
  ops.check_key(key);
  const bool found = ops.find_locked(key, [](MutexSlotHeader *) {});
  stats_->add(found ? st::kHits : st::kMisses);
  return found;
}

bool MutexTable::erase(std::string_view key) {
  const MutexOps ops{*this};
  ops.check_key(key);
  ops.lock(&control_->global);
  Held global(&control_->global);
  std::uint64_t index = 0;
  bool was_expired = false;
  // M2: erase holds the table-wide mutex; the tombstone keeps the chain intact (M3). An
  // expired entry is freed the same way, but it was absent: the erase finds nothing.
  const bool found = ops.find_locked(
      key,
      [&](MutexSlotHeader *s) {
        was_expired = ops.expired(s);
        store_state(s, detail::mutex::kSlotTombstone);
        index = static_cast<std::uint64_t>(reinterpret_cast<std::byte *>(s) - slots_) / slot_bytes_;
      },
      /*with_expired=*/true);
  if (!found) {
    return false;
  }
  counter(control_->num_entries).fetch_sub(1, std::memory_order_relaxed);
  ops.drop_trailing_tombstones(index);
  if (was_expired) {
    stats_->add(st::kExpirations); // freed here, but absent already: no erase
    return false;
  }
  stats_->add(st::kErases);
  return true;
}

std::vector<std::string> MutexTable::keys() const {
  const MutexOps ops{*this};
  std::vector<std::string> out;
  for (std::uint64_t i = 0; i < capacity(); ++i) {
    MutexSlotHeader *s = ops.slot(i);
    ops.lock(&s->mutex);
    Held held(&s->mutex);
    if (load_state(s) == detail::mutex::kSlotOccupied && !ops.expired(s)) {
      out.emplace_back(key_bytes(s), std::min<std::size_t>(s->key_len, max_key_bytes()));
    }
  }
  return out;
}

void MutexTable::clear() {
  const MutexOps ops{*this};
  std::uint64_t erased = 0;
  ops.lock(&control_->global);
  Held global(&control_->global);
  // Two passes keep M3 at every instruction, so a process killed mid-clear (robust
  // mode) leaves a consistent table: first every entry becomes a tombstone (chains
  // intact), then, with no occupied slot left, tombstones may become empty.
  for (const std::uint8_t from : {detail::mutex::kSlotOccupied, detail::mutex::kSlotTombstone}) {
    const std::uint8_t to = from == detail::mutex::kSlotOccupied ? detail::mutex::kSlotTombstone
                                                                 : detail::mutex::kSlotEmpty;
    for (std::uint64_t i = 0; i < capacity(); ++i) {
      MutexSlotHeader *s = ops.slot(i);
      ops.lock(&s->mutex);
      Held held(&s->mutex);
      if (load_state(s) == from) {
        store_state(s, to);
        if (from == detail::mutex::kSlotOccupied) {
          counter(control_->num_entries).fetch_sub(1, std::memory_order_relaxed);
          ++erased;
        }
      }
    }
  }
  stats_->add(st::kErases, erased);
}

RecoveryReport MutexTable::recover() {
  const MutexOps ops{*this};
  RecoveryReport report;
  const bool ran = segment_.run_exclusive([&] {
    // Nobody else is attached (Segment L5), so a mutex that cannot be taken is held by
    // a dead process. Robust mutexes recover through EOWNERDEAD; the faithful engine's
    // cannot, so they are initialised afresh. The slot behind it is as its holder left
    // it: robust mode never shows a half-written value (M4); faithful mode may.
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (robust_) {
      pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    }
    const auto take = [&](pthread_mutex_t *m) {
      const int rc = pthread_mutex_trylock(m);
      if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        counter(control_->recovered).fetch_add(1, std::memory_order_relaxed);
      } else if (rc != 0) {
        pthread_mutex_init(m, &attr);
        ++report.locks_reset;
        pthread_mutex_lock(m);
      }
    };
    take(&control_->global);
    std::uint64_t n = 0;
    bool timed = false;
    for (std::uint64_t i = 0; i < capacity(); ++i) {
      MutexSlotHeader *s = ops.slot(i);
      take(&s->mutex);
      if (load_state(s) == detail::mutex::kSlotOccupied) {
        if (ops.expired(s)) {
          // Absent already (table.hpp, "Expiry"): freed while we are alone, into a
          // tombstone (M3), so that the count below is of present entries.
          store_state(s, detail::mutex::kSlotTombstone);
        } else {
          ++n;
          timed = timed || ops.deadline_of(s) != 0;
        }
      }
      pthread_mutex_unlock(&s->mutex);
    }
    counter(control_->num_entries).store(n, std::memory_order_relaxed);
    if (timed) { // size() counts by a walk once entries have deadlines (a flag)
      counter(control_->timed).store(1, std::memory_order_relaxed);
    }
    pthread_mutex_unlock(&control_->global);
    pthread_mutexattr_destroy(&attr);
    report.entries = n;
    stats_->free_others_alone(); // stripes of handles that are gone
  });
  if (!ran) {
    throw Error(Errc::kBusy, "recover: other handles are attached to " + segment_.display_name() +
                                 "; it runs only when this handle is the only one");
  }
  return report;
}

TableStats MutexTable::stats() const {
  if (segment_.base() == nullptr) {
    throw Error(Errc::kInvalidArgument, "stats: the handle is closed");
  }
  TableStats s = st::sum_stats(stats_->region());
  s.entries = size();
  return s;
}

std::size_t MutexTable::size() const noexcept {
  const std::uint64_t counted = counter(control_->num_entries).load(std::memory_order_relaxed);
  if (counter(control_->timed).load(std::memory_order_relaxed) == 0) {
    return counted;
  }
  // Entries with deadlines were written: expired ones still in their slots are not
  // counted, and only a walk, each slot under its mutex (M1), tells them.
  const MutexOps ops{*this};
  std::size_t n = 0;
  try {
    for (std::uint64_t i = 0; i < capacity(); ++i) {
      MutexSlotHeader *s = ops.slot(i);
      ops.lock(&s->mutex);
      Held held(&s->mutex);
      n += load_state(s) == detail::mutex::kSlotOccupied && !ops.expired(s);
    }
  } catch (const Error &) {
    return counted; // a lock failed (kSystem): the counter, which counts expired ones too
  }
  return n;
}

std::uint64_t MutexTable::home_slot(std::string_view key) const noexcept {
  return MutexOps{*this}.home(key);
}

std::uint64_t MutexTable::recovered_locks() const noexcept {
  return counter(control_->recovered).load(std::memory_order_relaxed);
}

} // namespace shmtable
