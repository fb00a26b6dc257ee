// Several processes on one table: visibility both ways, racing creators, hot keys.
#include <unistd.h>

#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "engines.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

template <class E> class MultiProcess : public ::testing::Test {
protected:
  Options options(bool persist = false) {
    Options o;
    o.name = name_.str();
    o.capacity = 256;
    o.persist = persist;
    E::configure(o);
    return o;
  }
  ScopedName name_{"mp"};
};

TYPED_TEST_SUITE(MultiProcess, Engines, EngineNames);

TYPED_TEST(MultiProcess, AChildSeesTheParentsWritesAndViceVersa) {
  typename TypeParam::Table t(this->options());
  t.set("from:parent", "hello");
  const pid_t child = spawn([&] {
    typename TypeParam::Table c(this->options());
    if (c.created() || c.get("from:parent") != "hello") {
      return 1;
    }
    c.set("from:child", "hi back");
    return 0;
  });
  ASSERT_EQ(exit_code(child), 0);
  EXPECT_EQ(t.get("from:child"), "hi back");
  EXPECT_EQ(t.size(), 2u);
}

TYPED_TEST(MultiProcess, RacingCreatorsEndUpSharingOneTable) {
  constexpr int kProcs = 8;
  Gate gate;
  std::vector<pid_t> kids;
  for (int i = 0; i < kProcs; ++i) {
    kids.push_back(spawn([&, i] {
      gate.wait();
      typename TypeParam::Table c(this->options(true));
      c.set("child:" + std::to_string(i), "here");
      return c.created() ? 10 : 0; // exit code tells the parent who created it
    }));
  }
  gate.open();
  int creators = 0;
  for (pid_t k : kids) {
    const int code = exit_code(k);
    ASSERT_TRUE(code == 0 || code == 10) << code;
    creators += code == 10;
  }
  EXPECT_EQ(creators, 1);
  typename TypeParam::Table t(this->options(true));
  EXPECT_EQ(t.size(), static_cast<std::size_t>(kProcs));
  for (int i = 0; i < kProcs; ++i) {
    EXPECT_TRUE(t.contains("child:" + std::to_string(i))) << i;
  }
}

TYPED_TEST(MultiProcess, AMismatchedOpenInAnotherProcessFailsClearly) {
  typename TypeParam::Table t(this->options());
  t.set("k", "v");
  const pid_t child = spawn([&] {
    Options o = this->options();
    o.capacity = 2048;
    try {
      typename TypeParam::Table c(o);
    } catch (const Error &e) {
      const std::string m = e.what();
      return e.code() == Errc::kLayoutMismatch &&
                     m.find("capacity: the segment has 256, the options ask for 2048") !=
                         std::string::npos
                 ? 0
                 : 1;
    }
    return 2;
  });
  EXPECT_EQ(exit_code(child), 0);
  EXPECT_EQ(t.get("k"), "v");
}

// Writers and readers on a few hot keys: every value a reader sees was written whole.
TYPED_TEST(MultiProcess, HotKeysNeverYieldATornOrInventedValue) {
  constexpr int kProcs = 4;
  constexpr int kOps = 20000;
  typename TypeParam::Table t(this->options());
  Gate gate;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    kids.push_back(spawn([&, p] {
      typename TypeParam::Table c(this->options());
      gate.wait();
      const std::string me = "w" + std::to_string(p);
      for (int i = 0; i < kOps; ++i) {
        const std::string key = "hot" + std::to_string(i % 3);
        switch ((i * 7 + p) % 5) {
        case 0:
        case 1:
          c.set(key, checked_value(me, static_cast<std::uint64_t>(i),
                                   static_cast<std::size_t>(i % 200)));
          break;
        case 2:
          c.erase(key);
          break;
        default:
          if (auto v = c.get(key); v && !value_is_intact(*v)) {
            std::fprintf(stderr, "torn value: %s\n", v->c_str());
            return 1;
          }
        }
      }
      return 0;
    }));
  }
  gate.open();
  for (pid_t k : kids) {
    EXPECT_EQ(exit_code(k), 0);
  }
  for (const auto &k : t.keys()) {
    EXPECT_TRUE(value_is_intact(*t.get(k))) << k;
  }
  EXPECT_EQ(t.keys().size(), t.size());
}

TYPED_TEST(MultiProcess, ConcurrentInsertsOfDistinctKeysAreAllKept) {
  constexpr int kProcs = 4;
  constexpr int kKeys = 50;
  typename TypeParam::Table t(this->options());
  Gate gate;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    kids.push_back(spawn([&, p] {
      typename TypeParam::Table c(this->options());
      gate.wait();
      for (int i = 0; i < kKeys; ++i) {
        c.set("p" + std::to_string(p) + ":" + std::to_string(i), std::to_string(i));
        c.set("same:" + std::to_string(i), "p" + std::to_string(p)); // racing inserts
      }
      return 0;
    }));
  }
  gate.open();
  for (pid_t k : kids) {
    EXPECT_EQ(exit_code(k), 0);
  }
  const auto keys = t.keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size())
      << "duplicate keys";
  EXPECT_EQ(t.size(), static_cast<std::size_t>(kProcs * kKeys + kKeys));
  for (int p = 0; p < kProcs; ++p) {
    for (int i = 0; i < kKeys; ++i) {
      EXPECT_EQ(t.get("p" + std::to_string(p) + ":" + std::to_string(i)), std::to_string(i));
    }
  }
}

} // namespace
} // namespace shmtable::test
