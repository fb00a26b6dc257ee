// bench/eviction_test.cpp: the eviction study's simulator is right: hit counts worked out
// by hand for exact LRU and CLOCK, exact LRU against a plain list, a sampled LRU that
// cannot miss the oldest entry against exact LRU, the coarse clock's store-on-read rule,
// the warm-up's bookkeeping, and the trace's hottest key against zipf's law.
#include <algorithm>
#include <cmath>
#include <list>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "eviction.hpp"

namespace shmtable::bench::eviction {
namespace {

// Capacity 3, most recent first:
//   1 miss [1]        2 miss [2 1]      3 miss [3 2 1]    1 HIT  [1 3 2]
//   4 miss [4 1 3]    2 miss [2 4 1]    5 miss [5 2 4]    1 miss [1 5 2]
//   2 HIT  [2 1 5]    3 miss [3 2 1]    4 miss [4 3 2]    5 miss [5 4 3]
const std::vector<std::uint32_t> kHandTrace{1, 2, 3, 1, 4, 2, 5, 1, 2, 3, 4, 5};

TEST(Eviction, ExactLruHitsAsWorkedOutByHand) {
  ExactLru lru(8, 3);
  const Outcome o = replay(lru, kHandTrace, 0);
  EXPECT_EQ(o.gets, 12u);
  EXPECT_EQ(o.hits, 2u);
  EXPECT_EQ(o.read_stores, 2u); // every hit moves its entry
  EXPECT_EQ(lru.size(), 3u);
  for (const std::uint32_t k : {3u, 4u, 5u}) {
    EXPECT_TRUE(lru.contains(k)) << k;
  }
}

// CLOCK, capacity 3, slots [a b c], hand at ^, a starred key has its bit set:
//   1 2 3 fill the slots in order               [1 2 3] ^0
//   1 HIT, bit set (a store)                    [1* 2 3] ^0
//   4: clears 1's bit, evicts 2                 [1 4 3] ^2
//   2: evicts 3                                 [1 4 2] ^0
//   5: evicts 1 (its second chance spent)       [5 4 2] ^1
//   1: evicts 4                                 [5 1 2] ^2
//   2 HIT, bit set (a store)                    [5 1 2*] ^2
//   3: clears 2's bit, evicts 5                 [3 1 2] ^1
//   4: evicts 1                                 [3 4 2] ^2
//   5: evicts 2                                 [3 4 5] ^0
TEST(Eviction, ClockHitsAsWorkedOutByHand) {
  Clock clock(8, 3);
  const Outcome o = replay(clock, kHandTrace, 0);
  EXPECT_EQ(o.hits, 2u);
  EXPECT_EQ(o.read_stores, 2u);
  for (const std::uint32_t k : {3u, 4u, 5u}) {
    EXPECT_TRUE(clock.contains(k)) << k;
  }
  // A hit on an entry whose bit is already set stores nothing.
  EXPECT_TRUE(clock.get(5));
  EXPECT_TRUE(clock.get(5));
  EXPECT_EQ(clock.read_stores, 3u);
}

std::vector<std::uint32_t> random_trace(std::uint32_t keys, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint32_t> t(n);
  for (auto &k : t) {
    k = static_cast<std::uint32_t>(rng() % keys);
  }
  return t;
}

TEST(Eviction, ExactLruAgreesWithAPlainList) {
  const auto trace = random_trace(40, 20000, 3);
  for (const std::uint64_t cap : {1u, 7u, 20u, 39u}) {
    ExactLru lru(40, cap);
    std::list<std::uint32_t> model; // most recent first
    std::uint64_t model_hits = 0;
    for (const auto k : trace) {
      const auto it = std::find(model.begin(), model.end(), k);
      if (it != model.end()) {
        ++model_hits;
        model.erase(it);
      } else if (model.size() == cap) {
        model.pop_back();
      }
      model.push_front(k);
    }
    EXPECT_EQ(replay(lru, trace, 0).hits, model_hits) << cap;
    for (const auto k : model) {
      EXPECT_TRUE(lru.contains(k)) << cap << " " << k;
    }
  }
}

// 64 samples of 3 entries miss the least recently used one with probability (2/3)^64,
// about 5e-12 an eviction: with an exact clock, this sampled LRU is exact LRU.
TEST(Eviction, SampledLruThatCannotMissTheOldestIsExactLru) {
  const auto trace = random_trace(8, 5000, 4);
  ExactLru lru(8, 3);
  SampledLru sampled(8, 3, 64, 0, 1, 0, 5);
  const Outcome a = replay(lru, trace, 100);
  const Outcome b = replay(sampled, trace, 100);
  EXPECT_EQ(a.hits, b.hits);
  EXPECT_EQ(a.read_stores, b.read_stores); // an exact clock stores on every hit
}

// Epochs of 2 sets: a hit stores only into an entry stamped in an earlier epoch.
TEST(Eviction, CoarseClockStoresOnlyIntoStaleEntries) {
  SampledLru s(8, 4, 5, 2, 1, 0, 6);
  EXPECT_FALSE(s.get(1));
  s.set(1);              // stamped 0; one set in the epoch
  EXPECT_TRUE(s.get(1)); // stamp 0 = now: no store
  EXPECT_FALSE(s.get(2));
  s.set(2);              // the second set ends epoch 0: now 1
  EXPECT_TRUE(s.get(1)); // stamp 0 < 1: a store
  EXPECT_TRUE(s.get(1)); // now stamped 1: no store
  EXPECT_TRUE(s.get(2)); // stamp 0 < 1: a store
  EXPECT_EQ(s.read_stores, 2u);
}

// A table that holds every key misses once per key, whatever the policy; the warm-up's
// requests count neither as gets nor as hits nor as stores.
TEST(Eviction, EveryPolicyMissesOncePerKeyWhenAllFit) {
  const auto trace = random_trace(50, 3000, 7);
  std::vector<std::unique_ptr<Policy>> policies;
  policies.push_back(std::make_unique<ExactLru>(50, 50));
  policies.push_back(std::make_unique<RandomEviction>(50, 50, 1));
  policies.push_back(std::make_unique<Clock>(50, 50));
  policies.push_back(std::make_unique<SampledLru>(50, 50, 5, 0, 1, 16, 1));
  policies.push_back(std::make_unique<SampledLru>(50, 50, 5, 3, 1, 0, 1));
  std::vector<bool> seen(50, false);
  std::uint64_t first_after_warmup = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    first_after_warmup += !seen[trace[i]] && i >= 1000 ? 1 : 0;
    seen[trace[i]] = true;
  }
  for (auto &p : policies) {
    const Outcome o = replay(*p, trace, 1000);
    EXPECT_EQ(o.gets, 2000u);
    EXPECT_EQ(o.hits, 2000u - first_after_warmup);
    EXPECT_LE(o.read_stores, o.hits);
  }
}

// Redis' pool: a full table, one eviction per set, the size held.
TEST(Eviction, RedisPoolKeepsTheCapacity) {
  const auto trace = random_trace(100, 20000, 8);
  SampledLru s(100, 30, 5, 0, 1, 16, 9);
  const Outcome o = replay(s, trace, 0);
  EXPECT_EQ(s.size(), 30u);
  EXPECT_GT(o.hits, 0u);
  // Near a third of the gets hit on a uniform trace at a third of the keys.
  EXPECT_NEAR(double(o.hits) / double(o.gets), 0.3, 0.03);
}

// The trace's hottest key takes rank 0's share, 1 / zeta(n, theta) (plus any rank the
// scrambling hashes onto the same key, a tail rank's sliver), and a seed gives one trace.
TEST(Eviction, TraceHottestKeyFollowsZipfsLaw) {
  constexpr std::uint64_t n = 1000;
  const auto trace = make_trace(n, 200000, 0.99, 11);
  std::map<std::uint32_t, std::uint64_t> counts;
  for (const auto k : trace) {
    ASSERT_LT(k, n);
    ++counts[k];
  }
  std::uint64_t top = 0;
  for (const auto &[k, c] : counts) {
    top = std::max(top, c);
  }
  double zeta = 0;
  for (std::uint64_t i = 1; i <= n; ++i) {
    zeta += 1 / std::pow(static_cast<double>(i), 0.99);
  }
  EXPECT_NEAR(double(top) / double(trace.size()), 1 / zeta, 0.01);
  EXPECT_EQ(make_trace(n, 1000, 0.99, 11),
            std::vector<std::uint32_t>(trace.begin(), trace.begin() + 1000));
  EXPECT_NE(make_trace(n, 1000, 0.99, 12),
            std::vector<std::uint32_t>(trace.begin(), trace.begin() + 1000));
}

} // namespace
} // namespace shmtable::bench::eviction
