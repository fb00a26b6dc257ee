// LockFreeTable::inspect(): a read-only walk of the lock-free engine's slots, buffer pool
// and counters (shmtable/inspection.hpp). Private to the library and its tests.
//
// It reads shared memory exactly as a reader does (lockfree_engine.hpp, R1-R3: a control
// word, then the record it names, then the word's version again) and stores nothing, so
// it is safe beside writers of any process and cannot disturb them. What it checks is
// what recover() repairs (lockfree_engine.hpp, recover_alone), found without repairing:
//   - every word's state is one of kFree, kPending, kLive, and a word that names a record
//     buffer names one the pool has handed out, and no other word names it (P1);
//   - a live record's lengths are within the table's limits, its fingerprint is its key's,
//     its key's padding is zero, it lies within the probe limit, and within its home's
//     probe bound (I1); no key is live twice (I3);
//   - the free list is a chain of handed-out buffers that no slot names; every handed-out
//     buffer is in a slot, on the free list or in some handle's hands (P1, P2, P4).
// Under concurrent writers each finding it reports holds at one moment: a word's read is
// validated by its version (R3), bounds only grow while handles are attached, and a key
// seen in two slots is reported only if both words are unchanged after both were read.
// The pool's and the counters' accounting is exact only when nobody else is attached.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "buffer_pool.hpp"
#include "key_hash.hpp"
#include "lockfree_layout.hpp"
#include "shmtable/inspection.hpp"

namespace shmtable::detail::lockfree {

// What the inspecting handle holds itself, which is not leaked: its spare buffer (index +
// 1, or 0) and whether it holds a spare permit (magazine.hpp).
struct OwnHoldings {
  std::uint32_t spare = 0;
  bool permit = false;
};

template <class Atomics, class Geometry> class Inspector {
public:
  Inspector(const Geometry &g, Atomics atomics = Atomics()) : g_(g), atomics_(atomics) {}

  // `others()` says whether another handle is attached (Segment::others_attached): asked
  // before the walk and after it.
  template <class Others> TableInspection run(OwnHoldings own, Others &&others) const;

private:
  using Kind = InspectionFinding::Kind;
  static constexpr std::uint8_t kInSlot = 1;
  static constexpr std::uint8_t kListed = 2;
  // A word that keeps changing under the read is left out after this many tries (only
  // with writers attached; the walk must end).
  static constexpr unsigned kMaxTries = 10000;

  struct Record {
    std::uint32_t key_len = 0;
    std::uint32_t value_len = 0;
    std::string padded; // the key's words as stored, padding included (if key_len fits)
  };
  struct Seen { // a live key, for the duplicate check
    std::uint64_t hash;
    std::uint64_t slot;
    std::uint64_t version;
  };

  Word128 *word(std::uint64_t slot) const noexcept { return g_.words() + slot; }
  Ctrl load(std::uint64_t slot) const noexcept { return Ctrl{atomics_.load128(word(slot))}; }
  BasicBufferPool<Atomics> pool() const noexcept {
    return BasicBufferPool<Atomics>(&g_.control()->pool, g_.records(), g_.record_bytes(),
                                    g_.buffer_count(), atomics_);
  }
  std::uint32_t bump() const noexcept {
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>(pool().head().hi >> 32, g_.buffer_count()));
  }
  // R2 then R3 of the record `c` names (c.buffer() < buffer_count()): false if the word
  // changed meanwhile (the copy is then void).
  bool read_record(std::uint64_t slot, Ctrl c, Record &out) const {
    std::uint64_t *rec = pool().words(c.buffer());
    const std::uint64_t head = atomics_.load(rec, Atomics::kRecordLoad);
    out.key_len = record_key_len(head);
    out.value_len = record_value_len(head);
    out.padded.clear();
    if (out.key_len <= g_.max_key_bytes()) {
      out.padded.resize(round_up(out.key_len, 8));
      for (std::uint32_t i = 0; i < words_for(out.key_len); ++i) {
        const std::uint64_t v = atomics_.load(rec + kKeyWord + i, Atomics::kRecordLoad);
        std::memcpy(out.padded.data() + std::size_t{i} * 8, &v, 8);
      }
    }
    atomics_.reader_fence(); // R3
    return atomics_.load_version(word(slot)) == c.version();
  }
  // The key live in `slot` at `version`, read again: nullopt if the word has moved on.
  std::optional<std::string> key_at(std::uint64_t slot, std::uint64_t version) const {
    const Ctrl c = load(slot);
    Record r;
    if (c.version() != version || c.state() != kLive || c.buffer() >= g_.buffer_count() ||
        !read_record(slot, c, r) || r.key_len > g_.max_key_bytes()) {
      return std::nullopt;
    }
    r.padded.resize(r.key_len);
    return r.padded;
  }
  void check_duplicates(std::vector<Seen> &seen, TableInspection &out) const;

  Geometry g_;
  [[no_unique_address]] Atomics atomics_;
};

template <class A, class G>
template <class Others>
TableInspection Inspector<A, G>::run(OwnHoldings own, Others &&others) const {
  TableInspection out;
  const std::uint64_t cap = g_.capacity();
  out.capacity = cap;
  const bool alone_at_start = !others();
  std::uint32_t handed_out = bump();
  std::vector<std::uint8_t> marks(g_.buffer_count(), 0);
  std::vector<std::uint16_t> need(cap, 0); // per home: the farthest of its keys
  std::vector<std::uint64_t> lengths(g_.max_distance() + 1, 0);
  std::vector<Seen> seen;
  std::vector<std::uint64_t> pending;
  unsigned double_checks = 0; // rescans for a buffer named twice, while others write
  Record rec;
  for (std::uint64_t slot = 0; slot < cap; ++slot) {
    Ctrl c = load(slot); // R1
    for (unsigned tries = 0; tries < kMaxTries; ++tries, c = load(slot)) {
      const std::uint64_t state = c.state();
      if (state == kFree) {
        ++out.free_slots;
        break;
      }
      if (state != kPending && state != kLive) {
        ++out.corrupt;
        out.add(Kind::kCorruptSlot, slot,
                "state " + std::to_string(state) +
                    ", which no slot takes (0 free, 1 reserved, 2 live)");
        break;
      }
      const std::uint32_t buffer = c.buffer();
      if (buffer >= g_.buffer_count()) {
        ++out.corrupt;
        out.add(Kind::kCorruptSlot, slot,
                "names record buffer " + std::to_string(buffer) + ", beyond the pool's " +
                    std::to_string(g_.buffer_count()));
        break;
      }
      // The pool hands a buffer out before any word names it, and never takes one back
      // while handles are attached: a fresh look settles a buffer handed out meanwhile.
      if (buffer >= handed_out && buffer >= (handed_out = bump())) {
        ++out.corrupt;
        out.add(Kind::kCorruptSlot, slot,
                "names record buffer " + std::to_string(buffer) +
                    ", which the pool never handed out (" + std::to_string(handed_out) +
                    " so far)");
        break;
      }
      if ((marks[buffer] & kInSlot) != 0) {
        // Named by an earlier slot as well. Alone, that is so; with writers it may be a
        // buffer freed there and reused here since: reported only if an earlier word
        // names it now, while this one still does.
        bool twice = alone_at_start;
        if (!twice && double_checks < 64) {
          ++double_checks;
          for (std::uint64_t o = 0; o < slot && !twice; ++o) {
            const Ctrl oc = load(o);
            twice = (oc.state() == kLive || oc.state() == kPending) && oc.buffer() == buffer &&
                    atomics_.load_version(word(slot)) == c.version();
          }
        }
        if (twice) {
          ++out.corrupt;
          out.add(Kind::kCorruptSlot, slot,
                  "names record buffer " + std::to_string(buffer) +
                      ", which an earlier slot names");
        }
        break;
      }
      if (state == kPending) {
        marks[buffer] |= kInSlot; // its inserter fills it: not read
        ++out.pending;
        pending.push_back(slot);
        break;
      }
      if (!read_record(slot, c, rec)) {
        continue; // R3 failed: the word changed under the copy; read it again
      }
      marks[buffer] |= kInSlot;
      if (rec.key_len > g_.max_key_bytes() || rec.value_len > g_.max_value_bytes()) {
        ++out.corrupt;
        out.add(Kind::kCorruptSlot, slot,
                "its record holds a key of " + std::to_string(rec.key_len) +
                    " bytes and a value of " + std::to_string(rec.value_len) +
                    " bytes, over the table's limits of " + std::to_string(g_.max_key_bytes()) +
                    " and " + std::to_string(g_.max_value_bytes()));
        break;
      }
      const std::uint64_t hash = key_hash(rec.padded.data(), rec.key_len, g_.hash_seed());
      const std::uint64_t home = home_of(hash, cap);
      const std::uint64_t dist = (slot + cap - home) % cap;
      if (fingerprint_of(hash) != c.fingerprint()) {
        ++out.corrupt;
        out.add(Kind::kCorruptSlot, slot,
                "its word carries fingerprint " + std::to_string(c.fingerprint()) +
                    ", its record's key has " + std::to_string(fingerprint_of(hash)));
        break;
      }
      if (dist > g_.max_distance()) {
        ++out.corrupt;
        out.add(Kind::kCorruptSlot, slot,
                "its key lies " + std::to_string(dist) + " slots past its home slot " +
                    std::to_string(home) + ", beyond the probe limit of " +
                    std::to_string(g_.max_distance()));
        break;
      }
      if (std::any_of(rec.padded.begin() + rec.key_len, rec.padded.end(),
                      [](char ch) { return ch != 0; })) {
        ++out.corrupt;
        out.add(Kind::kDirtyKey, slot,
                "its record's key of " + std::to_string(rec.key_len) +
                    " bytes is followed by non-zero padding: lookups of the key miss it");
        break;
      }
      ++out.live;
      ++lengths[dist];
      need[home] = static_cast<std::uint16_t>(std::max<std::uint64_t>(need[home], dist));
      seen.push_back({hash, slot, c.version()});
      // I1, checked now: bounds only grow while handles are attached (recover() needs
      // to be alone), so a bound below dist now was below it while the key was live.
      if (const std::uint64_t bound = load(home).bound(); dist > bound) {
        out.add(Kind::kUnreachableKey, slot,
                "its key lies " + std::to_string(dist) + " slots past its home slot " +
                    std::to_string(home) + ", whose probe bound is " + std::to_string(bound) +
                    ": lookups of it stop short");
      }
      break;
    }
  }
  check_duplicates(seen, out);
  while (!lengths.empty() && lengths.back() == 0) {
    lengths.pop_back();
  }
  out.probe_lengths = std::move(lengths);
  for (std::uint64_t home = 0; home < cap; ++home) {
    const std::uint64_t bound = load(home).bound();
    out.max_bound = std::max(out.max_bound, bound);
    out.slack_bounds += bound > need[home] ? 1 : 0;
  }

  // The free list, walked as recover() walks it: at most one step per handed-out buffer.
  // With others attached it changes under the walk, which then only counts.
  handed_out = bump();
  std::vector<std::pair<std::uint64_t, std::string>> list_faults;
  std::uint64_t listed = 0;
  const BasicBufferPool<A> pool = this->pool();
  for (auto top = static_cast<std::uint32_t>(pool.head().hi); top != 0 && listed <= handed_out;
       top = pool.next_of(top - 1)) {
    const std::uint32_t index = top - 1;
    if (index >= handed_out) {
      list_faults.emplace_back(index, "the free list leads to buffer " + std::to_string(index) +
                                          ", which the pool never handed out (" +
                                          std::to_string(handed_out) + " so far)");
      break;
    }
    if ((marks[index] & kListed) != 0) {
      list_faults.emplace_back(index, "the free list loops back to buffer " +
                                          std::to_string(index) + " after " +
                                          std::to_string(listed) + " buffers");
      break;
    }
    if ((marks[index] & kInSlot) != 0) {
      list_faults.emplace_back(index, "the free list holds buffer " + std::to_string(index) +
                                          ", which a slot names");
    }
    marks[index] |= kListed;
    ++listed;
  }
  BufferAccounting acc;
  acc.total = g_.buffer_count();
  acc.handed_out = handed_out;
  acc.in_slots = static_cast<std::uint64_t>(
      std::count_if(marks.begin(), marks.end(), [](std::uint8_t m) { return (m & kInSlot) != 0; }));
  acc.free_listed = listed;
  acc.elsewhere =
      acc.handed_out > acc.in_slots + listed ? acc.handed_out - acc.in_slots - listed : 0;
  // Relaxed: a count read for the report, ordered against nothing (magazine.hpp's P4
  // keeps it; recover() recounts it).
  acc.spare_permits = atomics_.load(&g_.control()->spares, std::memory_order_relaxed);
  out.buffers = acc;
  // Relaxed, as size() reads it; an insert counts after its promote, so the signed view
  // clamps an erase counted first to zero.
  const auto entries =
      static_cast<std::int64_t>(atomics_.load(&g_.control()->entries, std::memory_order_relaxed));
  out.counted_entries = entries < 0 ? 0 : static_cast<std::uint64_t>(entries);

  out.alone = alone_at_start && !others();
  if (!out.alone) {
    return out; // the rest is what writers in flight hold
  }
  for (auto &[index, message] : list_faults) {
    out.add(Kind::kFreeListCorrupt, InspectionFinding::kNoSlot, std::move(message));
  }
  for (const std::uint64_t slot : pending) {
    out.add(Kind::kPendingSlot, slot, "reserved by an inserter that is gone");
  }
  const std::uint64_t mine = own.spare != 0 ? 1 : 0;
  if (acc.elsewhere > mine) {
    out.add(Kind::kLeakedBuffers, InspectionFinding::kNoSlot,
            std::to_string(acc.elsewhere - mine) +
                " record buffers are in no slot, not free and held by no handle");
  }
  if (acc.spare_permits > (own.permit ? 1u : 0u)) {
    out.add(Kind::kStalePermits, InspectionFinding::kNoSlot,
            std::to_string(acc.spare_permits - (own.permit ? 1u : 0u)) +
                " spare permits are counted for handles that are gone");
  }
  if (out.counted_entries != out.live) {
    out.add(Kind::kCountMismatch, InspectionFinding::kNoSlot,
            "the entry counter says " + std::to_string(out.counted_entries) + ", the slots hold " +
                std::to_string(out.live) + " keys");
  }
  return out;
}

// Keys live in two slots at once (I3). Equal keys have equal hashes, so only keys of one
// hash are compared, by reading both again: both words unchanged since the walk read
// them means both held the key at the moment the second was checked.
template <class A, class G>
void Inspector<A, G>::check_duplicates(std::vector<Seen> &seen, TableInspection &out) const {
  std::sort(seen.begin(), seen.end(), [](const Seen &a, const Seen &b) { return a.hash < b.hash; });
  for (std::size_t i = 0; i + 1 < seen.size(); ++i) {
    for (std::size_t j = i + 1; j < seen.size() && seen[j].hash == seen[i].hash; ++j) {
      const auto a = key_at(seen[i].slot, seen[i].version);
      const auto b = key_at(seen[j].slot, seen[j].version);
      if (a && b && *a == *b && atomics_.load_version(word(seen[i].slot)) == seen[i].version &&
          atomics_.load_version(word(seen[j].slot)) == seen[j].version) {
        const std::uint64_t first = std::min(seen[i].slot, seen[j].slot);
        const std::uint64_t second = std::max(seen[i].slot, seen[j].slot);
        out.add(Kind::kDuplicateKey, second,
                "holds the key that slot " + std::to_string(first) + " holds too (" +
                    std::to_string(a->size()) + " bytes)");
      }
    }
  }
}

} // namespace shmtable::detail::lockfree
