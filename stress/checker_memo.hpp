// stress/checker_memo.hpp: the memo tables of the checker's search (checker_search.cpp).
//
// Memo. A node is (linearized set, state). The set is the XOR of a random 128-bit key per
// operation (Zobrist hashing), updated by every lift and unlift; a table holds (hash, state
// id) pairs, never bitsets. A pair is recorded when its node is first entered; a node met
// again is not on the current path (sets only grow along a path), so it was fully explored
// and failed, and is skipped. Dominance: a node fully explored without success is also
// recorded under (hash of its completed operations, state) with its set of linearized
// optional operations (a linked list in a shared pool: a path's optional moves, newest
// first). A node with the same completed operations and state and a superset of those
// optional ones is skipped too: anything it can do, the recorded node could have done by
// dropping the extra ones (or, within a symmetric run, by using the earlier ones).
//
// Memory is bounded per worker: the tables and the pool have size limits (about 150 MiB in
// all); a full table overwrites and a full pool starts over from the current path, forgetting
// the dominance records. Forgetting costs time, never soundness.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "checker_internal.hpp"

namespace shmtable::stress::checker_detail {

// Nodes of the search keyed by (128-bit hash, state id), each with a 32-bit payload: open
// addressing with short linear probes. Bounded: at its size limit it overwrites, forgetting an
// older entry, which costs the search time but never soundness (entries only ever prune).
class NodeTable {
public:
  explicit NodeTable(std::size_t max_slots) : slots_(kInitialSlots), max_slots_(max_slots) {}

  // Records the key and returns true, or returns false if it is already there.
  bool insert_new(std::uint64_t lo, std::uint64_t hi, std::uint32_t state) {
    return insert(lo, hi, state, 0, true);
  }
  // Records the key with `payload`, beside any entries the key already has.
  void add(std::uint64_t lo, std::uint64_t hi, std::uint32_t state, std::uint32_t payload) {
    insert(lo, hi, state, payload, false);
  }
  // Whether pred(payload) holds for an entry with this key.
  template <class Pred>
  bool any_of(std::uint64_t lo, std::uint64_t hi, std::uint32_t state, Pred &&pred) const {
    const std::size_t mask = slots_.size() - 1;
    const std::size_t home = slot_of(lo, state) & mask;
    for (std::size_t i = 0; i < kMaxProbes; ++i) {
      const Slot &s = slots_[(home + i) & mask];
      if (s.state == kEmpty) {
        return false;
      }
      if (s.lo == lo && s.hi == hi && s.state == state && pred(s.payload)) {
        return true;
      }
    }
    return false;
  }
  bool empty() const { return size_ == 0; }
  void clear() {
    slots_.assign(kInitialSlots, Slot{});
    size_ = 0;
  }

private:
  static constexpr std::uint32_t kEmpty = kNone; // no state has this id
  struct Slot {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    std::uint32_t state = kEmpty;
    std::uint32_t payload = 0;
  };
  static constexpr std::size_t kInitialSlots = std::size_t{1} << 10;
  static constexpr std::size_t kMaxProbes = 32;

  static std::size_t slot_of(std::uint64_t lo, std::uint32_t state) {
    return static_cast<std::size_t>(mix64(lo ^ (state * 0x9e3779b97f4a7c15ULL)));
  }

  bool insert(std::uint64_t lo, std::uint64_t hi, std::uint32_t state, std::uint32_t payload,
              bool unique) {
    for (;;) {
      const std::size_t mask = slots_.size() - 1;
      const std::size_t home = slot_of(lo, state) & mask;
      for (std::size_t i = 0; i < kMaxProbes; ++i) {
        Slot &s = slots_[(home + i) & mask];
        if (s.state == kEmpty) {
          s = Slot{lo, hi, state, payload};
          if (++size_ * 2 > slots_.size() && slots_.size() < max_slots_) {
            grow();
          }
          return true;
        }
        if (unique && s.lo == lo && s.hi == hi && s.state == state) {
          return false;
        }
      }
      if (slots_.size() < max_slots_) {
        grow();
        continue;
      }
      slots_[home] = Slot{lo, hi, state, payload};
      return true;
    }
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    size_ = 0;
    for (const Slot &s : old) {
      if (s.state == kEmpty) {
        continue;
      }
      const std::size_t home = slot_of(s.lo, s.state) & mask;
      for (std::size_t i = 0; i < kMaxProbes; ++i) {
        Slot &t = slots_[(home + i) & mask];
        if (t.state == kEmpty) {
          t = s;
          ++size_;
          break;
        }
      } // no room within the probe limit (vanishingly rare): forgotten
    }
  }

  std::vector<Slot> slots_;
  std::size_t max_slots_;
  std::size_t size_ = 0;
};

} // namespace shmtable::stress::checker_detail
