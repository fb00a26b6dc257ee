// bench/floor_table.hpp: the floor, an unsynchronized table with the lock-free engine's
// layout. What memory alone costs: the same hash (seeded XXH3-64), the same control
// words (state, fingerprint, bound, buffer), the same record buffers and probe bounds,
// read and written with plain loads and stores, and no version, no CAS, no fence, no
// re-check. It exists to be measured against.
//
// Sharing::kPrivate (the default): one thread of one process. Sharing::kShared: the
// memory is shared with the processes forked after construction, so that several
// processes can run the one workload the floor can serve unsynchronized: gets and
// update() of present keys, which write a record in place and change no control word.
// Inserts and erases stay single-process (the free list and bump counter are each
// process's own copy), and two processes updating one key may tear its value: what is
// measured is the memory traffic of the workload, not a usable table.
//
// Its per-key operations (get_into, set, update, erase) are out-of-line calls, as the
// engines' are: a caller reaches those through the library's shared object. Inlined into
// a benchmark's loop, the floor would also skip the call and have the table's geometry
// hoisted out of the loop, a difference that has nothing to do with synchronization (at
// 1 Ki slots, 1.1 ns of a 9 ns get on the Intel VM of 2026-12-01).
//
// Publish::kAtomicRmw adds to each update() the one step no correct multi-writer table
// can leave out: an atomic read-modify-write (here a fetch_add on the slot's control
// word) that orders the update against other writers, as the lock-free engine's
// publishing CAS and a mutex's lock acquisition do. With it, the floor is the least a
// synchronized update costs.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "key_hash.hpp"
#include "lockfree_layout.hpp"
#include "shmtable/lockfree_table.hpp"

namespace shmtable::bench {

class FloorTable {
public:
  enum class Sharing { kPrivate, kShared };
  enum class Publish { kPlain, kAtomicRmw };

  FloorTable(std::uint64_t capacity, std::uint32_t max_key_bytes, std::uint32_t max_value_bytes,
             std::uint64_t seed = 0x5eed, Sharing sharing = Sharing::kPrivate)
      : capacity_(capacity), max_key_(max_key_bytes), max_value_(max_value_bytes), seed_(seed) {
    // The engine's own layout function: the same offsets, slot and record sizes.
    const Layout lay = LockFreeTable::layout_for(
        TableParams{EngineKind::kLockFree, 0u, capacity, max_key_bytes, max_value_bytes, seed});
    bytes_ = lay.total_bytes;
    const int share = sharing == Sharing::kShared ? MAP_SHARED : MAP_PRIVATE;
    void *p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, share | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      throw std::runtime_error("floor: mmap of " + std::to_string(bytes_) + " bytes failed");
    }
    base_ = static_cast<std::byte *>(p);
    // The engine's geometry of that layout (lockfree_layout.hpp): where the words and the
    // records are, the record size, the probe limit.
    const detail::lockfree::LockFreeGeometry g = detail::lockfree::geometry_of(
        base_, lay, static_cast<std::uint32_t>(LockFreeTable::buffers_for(capacity)));
    words_ = g.words();
    records_ = reinterpret_cast<std::uint64_t *>(g.records());
    value_word_ = detail::lockfree::value_word_for(g.max_key_bytes());
    record_words_ = g.record_bytes() / 8;
    buffers_ = g.buffer_count();
    max_distance_ = g.max_distance();
  }
  ~FloorTable() { ::munmap(base_, bytes_); }
  FloorTable(const FloorTable &) = delete;
  FloorTable &operator=(const FloorTable &) = delete;

  [[gnu::noinline]] std::optional<std::size_t> get_into(std::string_view key,
                                                        std::span<char> out) const {
    return get_into_inlined(key, out);
  }
  // get_into() compiled into its caller: the floor as measured before its operations
  // were calls, which micro_bench keeps beside it (BM_GetHitFloorInlined) for comparison.
  [[gnu::always_inline]] std::optional<std::size_t> get_into_inlined(std::string_view key,
                                                                     std::span<char> out) const {
    const Probe p = probe(key);
    const std::optional<std::uint64_t> slot = find(p);
    if (!slot) {
      return std::nullopt;
    }
    const std::uint64_t *rec = record(detail::lockfree::Ctrl{words_[*slot]}.buffer());
    const std::size_t len = detail::lockfree::record_value_len(rec[0]);
    if (len > out.size()) {
      throw std::length_error("floor: buffer too small");
    }
    std::memcpy(out.data(), rec + value_word_, len);
    return len;
  }

  // Batched gets with the engine's pipeline (ManyPipeline: the same distances and
  // prefetches as LockFreeTable::get_many) and plain loads: what overlapping the misses
  // can win with no synchronization at all. Calls visit(i, bytes, size) for each key i
  // found; returns how many were.
  template <class Visit>
  std::size_t get_many(std::span<const std::string_view> keys, Visit &&visit) const {
    using P = detail::lockfree::ManyPipeline;
    Probe probes[P::kRing];
    std::size_t hits = 0;
    const std::size_t n = keys.size();
    for (std::size_t j = 0; j < n + P::kLookupAt; ++j) {
      if (j < n) {
        Probe &p = probes[j % P::kRing];
        p = probe(keys[j]);
        __builtin_prefetch(&words_[p.home]);
        __builtin_prefetch(&words_[(p.home + P::kProbeAhead) % capacity_]);
      }
      if (j >= P::kRecordAt && j - P::kRecordAt < n) {
        const Probe &p = probes[(j - P::kRecordAt) % P::kRing];
        const std::uint64_t last =
            std::min<std::uint64_t>(detail::lockfree::Ctrl{words_[p.home]}.bound(), P::kProbeAhead);
        std::uint64_t slot = p.home;
        for (std::uint64_t d = 0; d <= last; ++d) {
          const detail::lockfree::Ctrl c{words_[slot]};
          if (c.state() == detail::lockfree::kLive && c.fingerprint() == p.fp) {
            prefetch_record(c.buffer());
            break;
          }
          slot = slot + 1 == capacity_ ? 0 : slot + 1;
        }
      }
      if (j >= P::kLookupAt) {
        const std::size_t i = j - P::kLookupAt;
        if (const std::optional<std::uint64_t> slot = find(probes[i % P::kRing])) {
          const std::uint64_t *rec = record(detail::lockfree::Ctrl{words_[*slot]}.buffer());
          visit(i, reinterpret_cast<const char *>(rec + value_word_),
                static_cast<std::size_t>(detail::lockfree::record_value_len(rec[0])));
          ++hits;
        }
      }
    }
    return hits;
  }

  // Writes the value of a present key in place; false if the key is absent. The one
  // write that Sharing::kShared allows in more than one process.
  [[gnu::noinline]] bool update(std::string_view key, std::string_view value,
                                Publish publish = Publish::kPlain) {
    return update_in_place(key, value, publish);
  }

  // The floor of the engines' update(): one lookup reads a present key's value into
  // `out`, modify(bytes, size) changes it there, and it is written back in place. False
  // if the key is absent or its value empty; std::length_error, as get_into's, if the
  // value is longer than `out`.
  template <class Modify>
  bool read_modify_write(std::string_view key, std::span<char> out, Modify &&modify,
                         Publish publish = Publish::kPlain) {
    const Probe p = probe(key);
    const std::optional<std::uint64_t> slot = find(p);
    if (!slot) {
      return false;
    }
    std::uint64_t *rec = record(detail::lockfree::Ctrl{words_[*slot]}.buffer());
    const std::size_t len = detail::lockfree::record_value_len(rec[0]);
    if (len == 0) {
      return false;
    }
    if (len > out.size()) {
      throw std::length_error("floor: buffer too small");
    }
    std::memcpy(out.data(), rec + value_word_, len);
    modify(out.data(), len);
    write(rec, p, std::string_view(out.data(), len));
    published(*slot, publish);
    return true;
  }

  [[gnu::noinline]] void set(std::string_view key, std::string_view value) {
    if (update_in_place(key, value, Publish::kPlain)) {
      return;
    }
    const Probe p = probe(key);
    std::uint64_t slot = p.home;
    std::uint64_t d = 0;
    for (; d <= max_distance_; ++d, slot = slot + 1 == capacity_ ? 0 : slot + 1) {
      if (detail::lockfree::Ctrl{words_[slot]}.state() == detail::lockfree::kFree) {
        break;
      }
    }
    if (d > max_distance_ || (free_.empty() && bump_ == buffers_)) {
      throw std::runtime_error("floor: table full");
    }
    std::uint32_t buffer = 0;
    if (free_.empty()) {
      buffer = bump_++;
    } else {
      buffer = free_.back();
      free_.pop_back();
    }
    write(record(buffer), p, value);
    detail::lockfree::Ctrl home{words_[p.home]};
    if (home.bound() < d) {
      words_[p.home] = home.with_bound(d).w;
    }
    words_[slot] =
        detail::lockfree::Ctrl{words_[slot]}.with_entry(detail::lockfree::kLive, p.fp, buffer).w;
  }

  [[gnu::noinline]] bool erase(std::string_view key) {
    const Probe p = probe(key);
    const std::optional<std::uint64_t> slot = find(p);
    if (!slot) {
      return false;
    }
    detail::lockfree::Ctrl c{words_[*slot]};
    free_.push_back(c.buffer());
    words_[*slot] = c.freed().w;
    return true;
  }

  std::uint64_t capacity() const { return capacity_; }

private:
  // update()'s body, inlined into set() too (one call per operation, as the engines').
  bool update_in_place(std::string_view key, std::string_view value, Publish publish) {
    const Probe p = probe(key);
    const std::optional<std::uint64_t> slot = find(p);
    if (!slot) {
      return false;
    }
    write(record(detail::lockfree::Ctrl{words_[*slot]}.buffer()), p, value); // in place: no reader
    published(*slot, publish);
    return true;
  }

  // After a write in place: Publish::kAtomicRmw's one atomic read-modify-write.
  void published(std::uint64_t slot, Publish publish) {
    if (publish == Publish::kAtomicRmw) {
      // Release: the record's stores before it are ordered before it, as before the
      // engine's publishing CAS. Nobody acquires it: it is here for its cost alone.
      std::atomic_ref<std::uint64_t>(words_[slot].lo).fetch_add(1, std::memory_order_release);
    }
  }
  struct Probe {
    std::string_view key;
    std::uint64_t home;
    std::uint64_t fp;
  };

  Probe probe(std::string_view key) const {
    if (key.size() > max_key_) {
      throw std::length_error("floor: key too large");
    }
    const std::uint64_t h =
        detail::lockfree::key_hash(key.data(), key.size(), seed_); // the engine's
    return {key, detail::lockfree::home_of(h, capacity_), detail::lockfree::fingerprint_of(h)};
  }

  std::uint64_t *record(std::uint32_t buffer) const {
    return records_ + std::size_t{buffer} * record_words_;
  }

  // The record's first lines (ManyPipeline::kRecordLines at most), from the line that
  // holds its first byte.
  void prefetch_record(std::uint32_t buffer) const {
    const auto first = reinterpret_cast<std::uintptr_t>(record(buffer));
    const std::uintptr_t end =
        first +
        std::min<std::size_t>(std::size_t{record_words_} * 8,
                              detail::lockfree::ManyPipeline::kRecordLines * kCacheLineBytes);
    for (std::uintptr_t line = first & ~std::uintptr_t{kCacheLineBytes - 1}; line < end;
         line += kCacheLineBytes) {
      __builtin_prefetch(reinterpret_cast<const void *>(line));
    }
  }

  // The engine's probe: home .. home + bound(home), fingerprint first, then the key.
  std::optional<std::uint64_t> find(const Probe &p) const {
    const std::uint64_t bound = detail::lockfree::Ctrl{words_[p.home]}.bound();
    std::uint64_t slot = p.home;
    for (std::uint64_t d = 0; d <= bound; ++d) {
      const detail::lockfree::Ctrl c{words_[slot]};
      if (c.state() == detail::lockfree::kLive && c.fingerprint() == p.fp) {
        const std::uint64_t *rec = record(c.buffer());
        if (detail::lockfree::record_key_len(rec[0]) == p.key.size() &&
            std::memcmp(rec + detail::lockfree::kKeyWord, p.key.data(), p.key.size()) == 0) {
          return slot;
        }
      }
      slot = slot + 1 == capacity_ ? 0 : slot + 1;
    }
    return std::nullopt;
  }

  void write(std::uint64_t *rec, const Probe &p, std::string_view value) const {
    if (value.size() > max_value_) {
      throw std::length_error("floor: value too large");
    }
    rec[0] = detail::lockfree::record_header(p.key.size(), value.size());
    std::memcpy(rec + detail::lockfree::kKeyWord, p.key.data(), p.key.size());
    std::memcpy(rec + value_word_, value.data(), value.size());
  }

  std::uint64_t capacity_;
  std::uint32_t max_key_;
  std::uint32_t max_value_;
  std::uint64_t seed_;
  std::size_t bytes_ = 0;
  std::byte *base_ = nullptr;
  detail::lockfree::Word128 *words_ = nullptr;
  std::uint64_t *records_ = nullptr;
  std::uint32_t value_word_ = 0; // the value's first word in a record
  std::uint32_t record_words_ = 0;
  std::uint32_t buffers_ = 0;
  std::uint32_t bump_ = 0;
  std::uint64_t max_distance_ = 0;
  std::vector<std::uint32_t> free_;
};

} // namespace shmtable::bench
