// bench/tools_test.cpp: the benchmark's own instruments are right: the latency histogram's
// buckets and percentiles, the zipfian chooser's distribution, and the floor table.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "floor_table.hpp"
#include "histogram.hpp"
#include "zipf.hpp"

namespace shmtable::bench {
namespace {

TEST(Histogram, EveryValueLandsInABucketWhoseMiddleIsWithinOne32nd) {
  for (std::uint64_t v : {0ULL, 1ULL, 63ULL, 64ULL, 65ULL, 127ULL, 128ULL, 1000ULL, 123456789ULL,
                          (1ULL << 40) + 12345, ~0ULL}) {
    const std::size_t i = Histogram::index(v);
    ASSERT_LT(i, Histogram::kBuckets) << v;
    EXPECT_NEAR(Histogram::value(i), static_cast<double>(v), static_cast<double>(v) / 32 + 1) << v;
  }
}

TEST(Histogram, IndexIsMonotonic) {
  std::size_t last = 0;
  for (std::uint64_t v = 0; v < 100000; ++v) {
    const std::size_t i = Histogram::index(v);
    ASSERT_GE(i, last) << v;
    last = i;
  }
}

TEST(Histogram, PercentilesOfAKnownDistribution) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 10000; ++v) {
    h.record(v);
  }
  EXPECT_EQ(h.total(), 10000u);
  EXPECT_NEAR(h.quantile(0.5), 5000, 5000.0 / 32);
  EXPECT_NEAR(h.quantile(0.99), 9900, 9900.0 / 32);
  EXPECT_NEAR(h.quantile(0.999), 9990, 9990.0 / 32);
  Histogram other;
  other.record(1u << 20);
  h.merge(other);
  EXPECT_NEAR(h.quantile(1.0), 1 << 20, (1 << 20) / 32.0);
}

TEST(Zipfian, RankFrequenciesFollowTheLaw) {
  constexpr std::uint64_t n = 1000;
  constexpr double theta = 0.99;
  Zipfian z(n, theta);
  std::mt19937_64 rng(42);
  std::map<std::uint64_t, int> counts;
  constexpr int draws = 400000;
  for (int i = 0; i < draws; ++i) {
    const std::uint64_t r = z.rank(rng);
    ASSERT_LT(r, n);
    ++counts[r];
  }
  double zeta = 0;
  for (std::uint64_t i = 1; i <= n; ++i) {
    zeta += 1 / std::pow(static_cast<double>(i), theta);
  }
  // Ranks 0 and 1 are exact in Gray et al.'s method; the tail is approximate.
  EXPECT_NEAR(counts[0] / double(draws), 1 / zeta, 0.01);
  EXPECT_NEAR(counts[1] / double(draws), 1 / std::pow(2.0, theta) / zeta, 0.01);
  EXPECT_GT(counts[2], counts[50]);
}

TEST(Zipfian, ScramblingKeepsKeysInRangeAndSpreadsTheHotOnes) {
  Zipfian z(10000, 0.99);
  std::mt19937_64 rng(7);
  std::map<std::uint64_t, int> counts;
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t k = z.next(rng);
    ASSERT_LT(k, 10000u);
    ++counts[k];
  }
  // The hottest key is not key 0 or 1: the ranks were hashed.
  const auto hottest = std::max_element(counts.begin(), counts.end(),
                                        [](auto &a, auto &b) { return a.second < b.second; });
  EXPECT_GT(hottest->first, 1u);
}

TEST(FloorTable, BehavesAsAMap) {
  FloorTable t(64, 16, 64);
  std::map<std::string, std::string> model;
  std::mt19937 rng(3);
  char buf[64];
  for (int i = 0; i < 5000; ++i) {
    const std::string k = "key" + std::to_string(rng() % 40);
    switch (rng() % 3) {
    case 0: {
      const std::string v(rng() % 64, static_cast<char>('a' + rng() % 26));
      t.set(k, v);
      model[k] = v;
      break;
    }
    case 1:
      EXPECT_EQ(t.erase(k), model.erase(k) == 1);
      break;
    default: {
      const auto len = t.get_into(k, buf);
      const auto it = model.find(k);
      ASSERT_EQ(len.has_value(), it != model.end()) << k;
      if (len) {
        EXPECT_EQ(std::string(buf, *len), it->second);
      }
    }
    }
  }
}

// The floor's batched gets find what its single gets find, over batches longer and
// shorter than the pipeline, misses included.
TEST(FloorTable, GetManyFindsWhatGetFinds) {
  FloorTable t(4096, 16, 64);
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) {
    keys.push_back(std::to_string(i) + "k"); // not "k" + ...: GCC 12 -O3 warns falsely
    if (i % 3 != 0) {
      t.set(keys.back(), "value " + std::to_string(i));
    }
  }
  for (const std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{64}, keys.size()}) {
    for (std::size_t start = 0; start + batch <= keys.size(); start += batch) {
      const std::vector<std::string_view> views(keys.begin() + start, keys.begin() + start + batch);
      std::vector<std::string> got(batch, "(absent)");
      const std::size_t hits = t.get_many(
          views, [&](std::size_t i, const char *v, std::size_t n) { got[i] = std::string(v, n); });
      std::size_t expected_hits = 0;
      for (std::size_t i = 0; i < batch; ++i) {
        char buf[64];
        const auto len = t.get_into(views[i], buf);
        expected_hits += len.has_value();
        EXPECT_EQ(got[i], len ? std::string(buf, *len) : "(absent)") << views[i];
      }
      EXPECT_EQ(hits, expected_hits);
    }
  }
}

// Sharing::kShared: the floor of a multi-process run. An update made in a forked child
// is what the parent then reads, in both publish modes; an absent key is not inserted.
TEST(FloorTable, ASharedFloorShowsAChildsUpdatesToItsParent) {
  for (const auto publish : {FloorTable::Publish::kPlain, FloorTable::Publish::kAtomicRmw}) {
    FloorTable t(64, 16, 64, 0x5eed, FloorTable::Sharing::kShared);
    t.set("a", "before");
    const pid_t child = ::fork();
    ASSERT_NE(child, -1);
    if (child == 0) {
      const bool ok = t.update("a", "after", publish) && !t.update("b", "x", publish);
      ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    char buf[64];
    const auto len = t.get_into("a", buf);
    ASSERT_TRUE(len.has_value());
    EXPECT_EQ(std::string(buf, *len), "after");
    EXPECT_FALSE(t.get_into("b", buf).has_value());
  }
}

} // namespace
} // namespace shmtable::bench
