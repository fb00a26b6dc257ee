// bench/eviction.hpp: the eviction study's trace and its simulated policies
// (bench/eviction.cpp runs them; bench/eviction_test.cpp checks them).
//
// The trace is YCSB's scrambled zipfian over key indices [0, n) (bench/zipf.hpp, the
// chooser shmtable-ycsb uses), drawn with a seeded std::mt19937_64: the same seed gives
// the same trace. The workload is cache-aside: get the key; on a miss, set it.
//
// Every policy holds at most `capacity` of the n keys and counts the reads (gets that
// hit) that would store to shared memory in a table that kept its metadata there:
// exact LRU moves the entry on every hit; a sampled LRU with an exact clock stamps the
// entry on every hit; CLOCK sets a reference bit only when it is clear; the coarse
// clock stores the entry's stamp only when it is older than the current epoch. Random
// eviction never stores on a read.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "zipf.hpp"

namespace shmtable::bench::eviction {

inline std::vector<std::uint32_t> make_trace(std::uint64_t keys, std::uint64_t requests,
                                             double theta, std::uint64_t seed) {
  Zipfian z(keys, theta);
  std::mt19937_64 rng(seed);
  std::vector<std::uint32_t> trace(requests);
  for (auto &k : trace) {
    k = static_cast<std::uint32_t>(z.next(rng));
  }
  return trace;
}

class Policy {
public:
  virtual ~Policy() = default;
  // A get: true on a hit (and the policy notes the access).
  virtual bool get(std::uint32_t key) = 0;
  // A set of a key that get() just missed: inserted, evicting one entry if full.
  virtual void set(std::uint32_t key) = 0;
  virtual bool contains(std::uint32_t key) const = 0;
  virtual std::uint64_t size() const = 0;
  // Gets that stored to the entry's metadata (shared memory, in a table).
  std::uint64_t read_stores = 0;
};

// Exact LRU: a doubly-linked list over key indices, most recent at the head.
class ExactLru final : public Policy {
public:
  ExactLru(std::uint64_t keys, std::uint64_t capacity)
      : cap_(capacity), prev_(keys + 1, kNone), next_(keys + 1, kNone), in_(keys, 0) {
    head_ = static_cast<std::uint32_t>(keys); // the sentinel
    prev_[head_] = next_[head_] = head_;
  }
  bool get(std::uint32_t k) override {
    if (!in_[k]) {
      return false;
    }
    unlink(k);
    push_front(k);
    ++read_stores;
    return true;
  }
  void set(std::uint32_t k) override {
    if (size_ == cap_) {
      const std::uint32_t victim = prev_[head_];
      unlink(victim);
      in_[victim] = 0;
      --size_;
    }
    push_front(k);
    in_[k] = 1;
    ++size_;
  }
  bool contains(std::uint32_t k) const override { return in_[k] != 0; }
  std::uint64_t size() const override { return size_; }

private:
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  void unlink(std::uint32_t k) {
    next_[prev_[k]] = next_[k];
    prev_[next_[k]] = prev_[k];
  }
  void push_front(std::uint32_t k) {
    prev_[k] = head_;
    next_[k] = next_[head_];
    prev_[next_[head_]] = k;
    next_[head_] = k;
  }
  std::uint64_t cap_;
  std::uint64_t size_ = 0;
  std::uint32_t head_;
  std::vector<std::uint32_t> prev_, next_;
  std::vector<std::uint8_t> in_;
};

// The resident keys in a dense array, for uniform sampling; pos_ maps a key to its place.
class Residents {
public:
  explicit Residents(std::uint64_t keys) : pos_(keys, kAbsent) {}
  bool contains(std::uint32_t k) const { return pos_[k] != kAbsent; }
  std::uint64_t size() const { return keys_.size(); }
  void add(std::uint32_t k) {
    pos_[k] = static_cast<std::uint32_t>(keys_.size());
    keys_.push_back(k);
  }
  void remove(std::uint32_t k) {
    const std::uint32_t p = pos_[k];
    keys_[p] = keys_.back();
    pos_[keys_[p]] = p;
    keys_.pop_back();
    pos_[k] = kAbsent;
  }
  template <class Rng> std::uint32_t sample(Rng &rng) const {
    return keys_[std::uniform_int_distribution<std::size_t>(0, keys_.size() - 1)(rng)];
  }

private:
  static constexpr std::uint32_t kAbsent = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> keys_;
  std::vector<std::uint32_t> pos_;
};

// Random eviction: a resident key chosen uniformly. Reads store nothing.
class RandomEviction final : public Policy {
public:
  RandomEviction(std::uint64_t keys, std::uint64_t capacity, std::uint64_t seed)
      : cap_(capacity), in_(keys), rng_(seed) {}
  bool get(std::uint32_t k) override { return in_.contains(k); }
  void set(std::uint32_t k) override {
    if (in_.size() == cap_) {
      in_.remove(in_.sample(rng_));
    }
    in_.add(k);
  }
  bool contains(std::uint32_t k) const override { return in_.contains(k); }
  std::uint64_t size() const override { return in_.size(); }

private:
  std::uint64_t cap_;
  Residents in_;
  std::mt19937_64 rng_;
};

// CLOCK (second chance): `capacity` slots in a ring, one reference bit each. A hit sets
// its slot's bit, storing only if the bit was clear. A new entry takes the slot it
// evicted with its bit clear (the writer writes the slot anyway), just behind the hand,
// so it survives one turn of the hand. Eviction: the hand clears set bits until it meets
// a clear one, and evicts that slot's key. The table fills in slot order first.
class Clock final : public Policy {
public:
  // insert_marked: a new entry starts with its bit set, as the engine's did before
  // 2026-12-02 (E1 in src/lockfree_engine.hpp, which now leaves it clear too); the
  // classic CLOCK above starts it clear.
  Clock(std::uint64_t keys, std::uint64_t capacity, bool insert_marked = false)
      : slot_of_(keys, kAbsent), keys_(capacity), ref_(capacity, 0), insert_marked_(insert_marked) {
  }
  bool get(std::uint32_t k) override {
    const std::uint32_t s = slot_of_[k];
    if (s == kAbsent) {
      return false;
    }
    if (!ref_[s]) {
      ref_[s] = 1;
      ++read_stores;
    }
    return true;
  }
  void set(std::uint32_t k) override {
    std::uint32_t s;
    if (size_ < keys_.size()) {
      s = static_cast<std::uint32_t>(size_++);
    } else {
      while (ref_[hand_]) {
        ref_[hand_] = 0;
        advance();
      }
      s = hand_;
      slot_of_[keys_[s]] = kAbsent;
      advance();
    }
    keys_[s] = k;
    ref_[s] = insert_marked_ ? 1 : 0;
    slot_of_[k] = s;
  }
  bool contains(std::uint32_t k) const override { return slot_of_[k] != kAbsent; }
  std::uint64_t size() const override { return size_; }

private:
  static constexpr std::uint32_t kAbsent = std::numeric_limits<std::uint32_t>::max();
  void advance() { hand_ = hand_ + 1 == keys_.size() ? 0 : hand_ + 1; }
  std::vector<std::uint32_t> slot_of_;
  std::vector<std::uint32_t> keys_;
  std::vector<std::uint8_t> ref_;
  std::uint64_t size_ = 0;
  std::uint32_t hand_ = 0;
  bool insert_marked_ = false;
};

// Sampled LRU: each entry has a last-access stamp; an eviction samples `samples` resident
// keys uniformly (with replacement) and evicts the one with the oldest stamp (ties: the
// first sampled).
//
// The clock: with `epoch_every` 0 it ticks every `tick_every` requests; with
// tick_every 1 it is exact and every hit stores its stamp, as Redis does on every read
// (Redis' own clock ticks once a second: tick_every = its requests per second). With
// epoch_every E > 0 it is coarse: an epoch ends every E sets (inserts), e.g.
// capacity / 16 for 1/16 of the table's turnover. Either way a hit stores the current
// time only if the entry's stamp is older (a reader that stores only when its entry is
// stale), and that store is what read_stores counts.
//
// With `pool` > 0, Redis' eviction pool (evict.c, evictionPoolPopulate and
// performEvictions): the samples enter a pool of the `pool` best candidates seen so far,
// ordered by idle time as it was when they were sampled; the eviction takes the pool's
// most idle candidate that is still resident (whether it was read since or not, as Redis
// does).
class SampledLru final : public Policy {
public:
  SampledLru(std::uint64_t keys, std::uint64_t capacity, unsigned samples,
             std::uint64_t epoch_every, std::uint64_t tick_every, unsigned pool, std::uint64_t seed)
      : cap_(capacity), samples_(samples), epoch_every_(epoch_every), tick_every_(tick_every),
        in_(keys), stamp_(keys, 0), rng_(seed) {
    if (samples == 0 || tick_every == 0) {
      throw std::invalid_argument("sampled LRU: samples and tick_every must be at least 1");
    }
    pool_.reserve(pool);
    pool_size_ = pool;
  }
  bool get(std::uint32_t k) override {
    tick();
    if (!in_.contains(k)) {
      return false;
    }
    if (stamp_[k] != now_) { // a stamp is never newer than now_
      stamp_[k] = now_;
      ++read_stores;
    }
    return true;
  }
  void set(std::uint32_t k) override {
    if (in_.size() == cap_) {
      in_.remove(pool_size_ > 0 ? from_pool() : oldest_of_sample());
    }
    in_.add(k);
    stamp_[k] = now_;
    if (epoch_every_ > 0 && ++sets_ % epoch_every_ == 0) {
      ++now_;
    }
  }
  bool contains(std::uint32_t k) const override { return in_.contains(k); }
  std::uint64_t size() const override { return in_.size(); }

private:
  struct Candidate {
    std::uint64_t idle;
    std::uint32_t key;
  };
  void tick() {
    if (epoch_every_ == 0 && ++requests_ % tick_every_ == 0) {
      ++now_;
    }
  }
  std::uint32_t oldest_of_sample() {
    std::uint32_t best = in_.sample(rng_);
    for (unsigned i = 1; i < samples_; ++i) {
      const std::uint32_t k = in_.sample(rng_);
      if (stamp_[k] < stamp_[best]) {
        best = k;
      }
    }
    return best;
  }
  // evictionPoolPopulate: the pool ascends in idle time; a sample enters where it fits,
  // unless the pool is full and it is no more idle than the least idle candidate there.
  // When the pool is full and the sample fits inside, the least idle candidate leaves.
  void populate() {
    for (unsigned i = 0; i < samples_; ++i) {
      const std::uint32_t k = in_.sample(rng_);
      const Candidate c{now_ - stamp_[k], k};
      std::size_t at = 0;
      while (at < pool_.size() && pool_[at].idle < c.idle) {
        ++at;
      }
      if (at == 0 && pool_.size() == pool_size_) {
        continue;
      }
      if (pool_.size() < pool_size_) {
        pool_.insert(pool_.begin() + static_cast<std::ptrdiff_t>(at), c);
      } else { // full: drop the least idle, shift the ones before `at` down
        pool_.erase(pool_.begin());
        pool_.insert(pool_.begin() + static_cast<std::ptrdiff_t>(at - 1), c);
      }
    }
  }
  // performEvictions: populate, then take candidates from the most idle end until one is
  // still resident.
  std::uint32_t from_pool() {
    for (;;) {
      populate();
      while (!pool_.empty()) {
        const std::uint32_t k = pool_.back().key;
        pool_.pop_back();
        if (in_.contains(k)) {
          return k;
        }
      }
    }
  }

  std::uint64_t cap_;
  unsigned samples_;
  std::uint64_t epoch_every_;
  std::uint64_t tick_every_;
  std::uint64_t requests_ = 0;
  Residents in_;
  std::vector<std::uint64_t> stamp_;
  std::mt19937_64 rng_;
  std::uint64_t now_ = 0;
  std::uint64_t sets_ = 0;
  std::vector<Candidate> pool_;
  std::size_t pool_size_ = 0;
};

// One policy run over a trace, cache-aside; hits and read stores counted from request
// `warmup` on.
struct Outcome {
  std::uint64_t gets = 0;
  std::uint64_t hits = 0;
  std::uint64_t read_stores = 0;
};

inline Outcome replay(Policy &p, const std::vector<std::uint32_t> &trace, std::uint64_t warmup) {
  Outcome o;
  std::uint64_t stores_before = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (i == warmup) {
      stores_before = p.read_stores;
    }
    const bool hit = p.get(trace[i]);
    if (!hit) {
      p.set(trace[i]);
    }
    if (i >= warmup) {
      ++o.gets;
      o.hits += hit ? 1 : 0;
    }
  }
  o.read_stores = p.read_stores - (warmup < trace.size() ? stores_before : p.read_stores);
  return o;
}

} // namespace shmtable::bench::eviction
