// MutexTable::inspect(): a read-only walk of the mutex engine's slots
// (shmtable/inspection.hpp).
//
// It takes no lock: taking one is a store to shared memory, and in the faithful mode a
// lock whose holder died would hang the walk forever, where fsck is wanted most. So it
// reads each slot's fields with relaxed atomic loads, racing the writers that hold the
// slot's mutex (M1 in mutex_table.cpp), and checks what the invariants say:
//   - a slot's state is empty, occupied or tombstone, and an occupied slot's lengths are
//     within the table's limits (in robust mode its live half is 0 or 1);
//   - no key is occupied twice (M2), and no empty slot lies between a key's home and its
//     slot (M3), or find_locked() would stop before it;
//   - the entry counter matches the occupied slots, and no lock is held (only alone).
// Every field a writer stores is valid on its own (a length within its limit, a state
// of the three), so a read that races a write never looks corrupt; a duplicate or an
// unreachable key seen across two moments is read again before it is reported.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "mutex_layout.hpp"
#include "shmtable/error.hpp"
#include "shmtable/hash.hpp"
#include "shmtable/mutex_table.hpp"

namespace shmtable::detail::mutex {

struct MutexInspect {
  using Kind = InspectionFinding::Kind;

  const MutexTable &t;

  struct Slot {
    std::uint8_t state;
    std::uint8_t live;
    std::uint16_t key_len;
    std::uint32_t value_len;
    int lock; // the mutex's lock word (glibc: the owner's tid, or flags; 0 when free)
  };
  struct Key { // an occupied slot's key, for the checks after the walk
    std::uint64_t hash;
    std::uint64_t slot;
    std::uint64_t home;
  };

  MutexSlotHeader *slot(std::uint64_t i) const noexcept {
    return reinterpret_cast<MutexSlotHeader *>(t.slots_ + i * t.slot_bytes_);
  }
  template <class T> static T relaxed(T &field) noexcept {
    return std::atomic_ref<T>(field).load(std::memory_order_relaxed);
  }
  static int lock_word(pthread_mutex_t &m) noexcept { return relaxed(m.__data.__lock); }

  Slot read(std::uint64_t i) const noexcept {
    MutexSlotHeader *s = slot(i);
    Slot r{};
    r.state = relaxed(s->state);
    r.live = relaxed(s->live);
    r.key_len = relaxed(s->key_len);
    r.value_len = relaxed(s->value_len[t.robust_ ? (r.live & 1u) : 0u]);
    r.lock = lock_word(s->mutex);
    return r;
  }
  // The key bytes of slot i (key_len <= max_key_bytes), read as 8-byte words: the key
  // area is 8-byte aligned and the slot extends past its rounded-up length (layout_for).
  std::string key(std::uint64_t i, std::uint16_t len) const {
    auto *words = reinterpret_cast<std::uint64_t *>(reinterpret_cast<std::byte *>(slot(i)) +
                                                    sizeof(MutexSlotHeader));
    std::string k((len + 7u) / 8u * 8u, '\0');
    for (std::size_t w = 0; w * 8 < len; ++w) {
      const std::uint64_t v = relaxed(words[w]);
      std::memcpy(k.data() + w * 8, &v, 8);
    }
    k.resize(len);
    return k;
  }
  // The key occupying slot i now, or nullopt; with the time of its slot's last write
  // (nanoseconds: a write in between changes it).
  std::optional<std::string> key_now(std::uint64_t i, std::uint64_t *written = nullptr) const {
    const Slot s = read(i);
    if (s.state != kSlotOccupied || s.key_len > t.max_key_bytes()) {
      return std::nullopt;
    }
    if (written != nullptr) {
      *written = relaxed(slot(i)->timestamp_ns);
    }
    return key(i, s.key_len);
  }
  std::uint64_t home_of(const std::string &k) const noexcept {
    return fnv1a(k, t.layout().params.hash_seed) % t.capacity();
  }

  template <class Others> TableInspection run(Others &&others) const;
  void check_duplicates(const std::vector<Key> &keys, TableInspection &out) const;
  void check_chains(const std::vector<Key> &keys, const std::vector<std::uint8_t> &empty,
                    bool alone, TableInspection &out) const;
};

template <class Others> TableInspection MutexInspect::run(Others &&others) const {
  TableInspection out;
  const std::uint64_t cap = t.capacity();
  out.capacity = cap;
  const bool alone_at_start = !others();
  std::vector<std::uint8_t> empty(cap, 0);
  std::vector<Key> keys;
  std::vector<std::uint64_t> held; // slots whose lock was held
  const bool global_held = lock_word(t.control_->global) != 0;
  for (std::uint64_t i = 0; i < cap; ++i) {
    const Slot s = read(i);
    if (s.lock != 0) {
      held.push_back(i);
    }
    if (s.state == kSlotEmpty) {
      empty[i] = 1;
      ++out.free_slots;
      continue;
    }
    if (s.state == kSlotTombstone) {
      ++out.tombstones;
      ++out.free_slots; // inserts reuse it
      continue;
    }
    std::string why;
    if (s.state != kSlotOccupied) {
      why = "state " + std::to_string(s.state) + ", which no slot takes (0 empty, 1 occupied, " +
            "2 tombstone)";
    } else if (s.key_len > t.max_key_bytes() || s.value_len > t.max_value_bytes()) {
      why = "holds a key of " + std::to_string(s.key_len) + " bytes and a value of " +
            std::to_string(s.value_len) + " bytes, over the table's limits of " +
            std::to_string(t.max_key_bytes()) + " and " + std::to_string(t.max_value_bytes());
    } else if (t.robust_ && s.live > 1) {
      why = "its live value half is " + std::to_string(s.live) + ", neither 0 nor 1";
    }
    if (!why.empty()) {
      ++out.corrupt;
      out.add(Kind::kCorruptSlot, i, std::move(why));
      continue;
    }
    const std::string k = key(i, s.key_len);
    const std::uint64_t hash = fnv1a(k, t.layout().params.hash_seed);
    const std::uint64_t home = hash % cap;
    const std::uint64_t dist = (i + cap - home) % cap;
    ++out.live;
    if (dist >= out.probe_lengths.size()) {
      out.probe_lengths.resize(dist + 1, 0);
    }
    ++out.probe_lengths[dist];
    keys.push_back({hash, i, home});
  }
  out.counted_entries = relaxed(t.control_->num_entries);
  out.locks_held = held.size() + (global_held ? 1 : 0);
  check_chains(keys, empty, alone_at_start, out);
  check_duplicates(keys, out);
  out.alone = alone_at_start && !others();
  if (!out.alone) {
    return out; // held locks and a moving count are writers at work
  }
  if (global_held) {
    out.add(Kind::kHeldLock, InspectionFinding::kNoSlot,
            "the table-wide lock is held by a process that is gone");
  }
  for (const std::uint64_t i : held) {
    out.add(Kind::kHeldLock, i, "its lock is held by a process that is gone");
  }
  if (out.counted_entries != out.live) {
    out.add(Kind::kCountMismatch, InspectionFinding::kNoSlot,
            "the entry counter says " + std::to_string(out.counted_entries) + ", the slots hold " +
                std::to_string(out.live) + " keys");
  }
  return out;
}

// M3: find_locked() walks from a key's home to the first empty slot, so a key with an
// empty slot between its home and itself is never found. Walks the slots once, cyclically
// from an empty one, keeping how many non-empty slots precede each.
void MutexInspect::check_chains(const std::vector<Key> &keys,
                                const std::vector<std::uint8_t> &empty, bool alone,
                                TableInspection &out) const {
  const std::uint64_t cap = t.capacity();
  const auto first_empty = std::find(empty.begin(), empty.end(), std::uint8_t{1});
  if (first_empty == empty.end() || keys.empty()) {
    return; // no empty slot: every probe reaches every slot
  }
  const auto e = static_cast<std::uint64_t>(first_empty - empty.begin());
  // keys are in slot order: start with the first one past e, and wrap.
  std::size_t k = static_cast<std::size_t>(
      std::upper_bound(keys.begin(), keys.end(), e,
                       [](std::uint64_t s, const Key &key) { return s < key.slot; }) -
      keys.begin());
  std::uint64_t run = 0; // non-empty slots just before slot i
  for (std::uint64_t n = 1; n <= cap; ++n) {
    const std::uint64_t i = (e + n) % cap;
    const std::uint64_t prev = i == 0 ? cap - 1 : i - 1;
    run = empty[prev] != 0 ? 0 : run + 1;
    if (k == keys.size()) {
      k = 0;
    }
    if (keys[k].slot != i) {
      continue;
    }
    const Key &key = keys[k++];
    const std::uint64_t dist = (i + cap - key.home) % cap;
    if (dist <= run) {
      continue;
    }
    // Seen across moments: read the key and its chain again before reporting.
    if (!alone) {
      const auto now = key_now(i);
      bool gap = false;
      for (std::uint64_t s = key.home; now && s != i && !gap; s = s + 1 == cap ? 0 : s + 1) {
        gap = read(s).state == kSlotEmpty;
      }
      if (!now || home_of(*now) != key.home || !gap) {
        continue;
      }
    }
    out.add(Kind::kUnreachableKey, i,
            "its key's home is slot " + std::to_string(key.home) + ", " + std::to_string(dist) +
                " slots back, with an empty slot between: lookups of it stop there");
  }
}

// M2: no key occupies two slots. Equal keys have equal hashes: only those are compared.
void MutexInspect::check_duplicates(const std::vector<Key> &keys, TableInspection &out) const {
  std::vector<Key> by_hash = keys;
  std::sort(by_hash.begin(), by_hash.end(), [](const Key &a, const Key &b) {
    return a.hash != b.hash ? a.hash < b.hash : a.slot < b.slot;
  });
  for (std::size_t i = 0; i + 1 < by_hash.size(); ++i) {
    for (std::size_t j = i + 1; j < by_hash.size() && by_hash[j].hash == by_hash[i].hash; ++j) {
      // Both read again, then the first once more, unwritten since: equal hashes of
      // distinct keys are no finding, nor (with writers attached) a key erased from one
      // slot and inserted in the other between two reads.
      std::uint64_t written = 0;
      std::uint64_t again = 0;
      const auto a = key_now(by_hash[i].slot, &written);
      const auto b = key_now(by_hash[j].slot);
      const auto a2 = key_now(by_hash[i].slot, &again);
      if (!a || !b || *a != *b || a2 != a || again != written) {
        continue;
      }
      out.add(Kind::kDuplicateKey, by_hash[j].slot,
              "holds the key that slot " + std::to_string(by_hash[i].slot) + " holds too (" +
                  std::to_string(a->size()) + " bytes)");
    }
  }
}

} // namespace shmtable::detail::mutex

namespace shmtable {

TableInspection MutexTable::inspect() const {
  if (segment_.base() == nullptr) {
    throw Error(Errc::kInvalidArgument, "inspect: the handle is closed");
  }
  const auto walk = [&] {
    return detail::mutex::MutexInspect{*this}.run([this] { return segment_.others_attached(); });
  };
  // Alone, the walk holds the attach lock as recover() does (LockFreeTable::inspect()
  // says why); with others attached it is best effort.
  TableInspection r;
  if (!const_cast<Segment &>(segment_).run_exclusive([&] { r = walk(); })) {
    r = walk();
  }
  return r;
}

} // namespace shmtable
