// The conformance suite: written once, run against every engine in engines.hpp (and
// RedisTable where it is built). Conformance is the contract of every Table;
// SharedMemoryConformance what a SharedMemoryTable adds (a fixed capacity, recover()).
#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include <gtest/gtest.h>

#include "engines.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

template <class E> class Conformance : public ::testing::Test {
protected:
  using Table = typename E::Table;

  Options options(std::uint64_t capacity = 64) {
    Options o;
    o.name = name_.str();
    o.capacity = capacity;
    E::configure(o);
    return o;
  }
  Table open(const Options &o) { return open_table<E>(o); }
  Table make(std::uint64_t capacity = 64) { return open(options(capacity)); }
  // A table with slots: a key that is new to a full one is Errc::kTableFull. (RedisTable
  // has none; its server's memory is its room.)
  static constexpr bool kHasSlots = SharedMemoryTable<Table>;

  ScopedName name_{"conf"};
};

TYPED_TEST_SUITE_P(Conformance);

template <class E> class SharedMemoryConformance : public Conformance<E> {};
TYPED_TEST_SUITE_P(SharedMemoryConformance);

TYPED_TEST_P(Conformance, SetThenGetReturnsTheValue) {
  auto t = this->make();
  t.set("session:123", "active");
  EXPECT_EQ(t.get("session:123"), "active");
  EXPECT_EQ(t.size(), 1u);
}

TYPED_TEST_P(Conformance, MissingKeyIsAbsent) {
  auto t = this->make();
  EXPECT_EQ(t.get("nope"), std::nullopt);
  EXPECT_FALSE(t.contains("nope"));
  EXPECT_FALSE(t.erase("nope"));
}

TYPED_TEST_P(Conformance, OverwriteKeepsOneEntry) {
  auto t = this->make();
  t.set("k", "one");
  t.set("k", "two, longer");
  t.set("k", "3");
  EXPECT_EQ(t.get("k"), "3");
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.keys(), std::vector<std::string>{"k"});
}

TYPED_TEST_P(Conformance, EraseRemovesTheKeyOnce) {
  auto t = this->make();
  t.set("a", "1");
  t.set("b", "2");
  EXPECT_TRUE(t.erase("a"));
  EXPECT_FALSE(t.erase("a"));
  EXPECT_FALSE(t.contains("a"));
  EXPECT_TRUE(t.contains("b"));
  EXPECT_EQ(t.size(), 1u);
  t.set("a", "again");
  EXPECT_EQ(t.get("a"), "again");
}

TYPED_TEST_P(Conformance, KeysListsEveryKeyOnce) {
  auto t = this->make();
  std::set<std::string> want;
  for (int i = 0; i < 40; ++i) {
    want.insert("key" + std::to_string(i));
    t.set("key" + std::to_string(i), "v");
  }
  auto got = t.keys();
  EXPECT_EQ(got.size(), want.size());
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
}

TYPED_TEST_P(Conformance, ClearEmptiesTheTable) {
  auto t = this->make();
  for (int i = 0; i < 30; ++i) {
    t.set(std::to_string(i), "v");
  }
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.keys().empty());
  EXPECT_FALSE(t.contains("7"));
  t.set("7", "back");
  EXPECT_EQ(t.get("7"), "back");
}

TYPED_TEST_P(Conformance, KeysAndValuesAreBinarySafe) {
  auto t = this->make();
  const std::string key("a\0b\xff", 4);
  const std::string value("\0\0\x01\x80zz", 6);
  t.set(key, value);
  EXPECT_EQ(t.get(key), value);
  EXPECT_FALSE(t.contains(std::string("a\0c\xff", 4)));
  EXPECT_FALSE(t.contains("a")); // a C-string view of the key is another key
  EXPECT_EQ(t.keys(), std::vector<std::string>{key});
}

TYPED_TEST_P(Conformance, EmptyKeyAndEmptyValueAreValid) {
  auto t = this->make();
  t.set("", "empty key");
  t.set("k", "");
  EXPECT_EQ(t.get(""), "empty key");
  EXPECT_EQ(t.get("k"), "");
  EXPECT_TRUE(t.contains("k"));
}

TYPED_TEST_P(Conformance, KeyAndValueAtExactLimitsFit) {
  auto t = this->make();
  const std::string key(t.max_key_bytes(), 'k');
  const std::string value(t.max_value_bytes(), 'v');
  EXPECT_EQ(t.max_key_bytes(), 64u);
  EXPECT_EQ(t.max_value_bytes(), 256u);
  t.set(key, value);
  EXPECT_EQ(t.get(key), value);
}

TYPED_TEST_P(Conformance, OversizeKeyIsRejectedAndTableIntact) {
  auto t = this->make();
  t.set("keep", "me");
  const std::string big(65, 'k');
  expect_error(Errc::kKeyTooLarge, "65 bytes exceeds the table's max_key_bytes of 64",
               [&] { t.set(big, "v"); });
  expect_error(Errc::kKeyTooLarge, "max_key_bytes", [&] { (void)t.get(big); });
  expect_error(Errc::kKeyTooLarge, "max_key_bytes", [&] { (void)t.contains(big); });
  expect_error(Errc::kKeyTooLarge, "max_key_bytes", [&] { (void)t.erase(big); });
  EXPECT_EQ(t.get("keep"), "me");
  EXPECT_EQ(t.size(), 1u);
}

TYPED_TEST_P(Conformance, OversizeValueIsRejectedAndTableIntact) {
  auto t = this->make();
  t.set("k", "old");
  expect_error(Errc::kValueTooLarge, "257 bytes exceeds the table's max_value_bytes of 256",
               [&] { t.set("k", std::string(257, 'v')); });
  expect_error(Errc::kValueTooLarge, "max_value_bytes",
               [&] { t.set("new", std::string(1000, 'v')); });
  EXPECT_EQ(t.get("k"), "old");
  EXPECT_FALSE(t.contains("new"));
  EXPECT_EQ(t.size(), 1u);
}

TYPED_TEST_P(Conformance, GetIntoCopiesIntoTheCallersBuffer) {
  auto t = this->make();
  t.set("k", "hello");
  std::array<char, 256> buf{};
  EXPECT_EQ(t.get_into("k", buf), 5u);
  EXPECT_EQ(std::string_view(buf.data(), 5), "hello");
  EXPECT_EQ(t.get_into("absent", buf), std::nullopt);
  std::array<char, 3> small{};
  expect_error(Errc::kBufferTooSmall, "buffer of 3 bytes is smaller than the value's 5",
               [&] { (void)t.get_into("k", small); });
  EXPECT_EQ(t.get("k"), "hello");
}

TYPED_TEST_P(SharedMemoryConformance, FullTableIsReportedAndStaysIntact) {
  auto t = this->make(8);
  for (int i = 0; i < 8; ++i) {
    t.set("k" + std::to_string(i), std::to_string(i));
  }
  expect_error(Errc::kTableFull, "table is full", [&] { t.set("one-more", "x"); });
  EXPECT_EQ(t.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(t.get("k" + std::to_string(i)), std::to_string(i));
  }
  t.set("k3", "updated while full"); // updates still work
  EXPECT_EQ(t.get("k3"), "updated while full");
  EXPECT_TRUE(t.erase("k5"));
  t.set("one-more", "fits now");
  EXPECT_EQ(t.get("one-more"), "fits now");
}

TYPED_TEST_P(Conformance, EveryKeyFitsUpToCapacity) {
  auto t = this->make(100); // maxKeys distinct keys always fit (fast-shm-cache's contract)
  for (int i = 0; i < 100; ++i) {
    t.set("user:" + std::to_string(i * 7919), "x");
  }
  EXPECT_EQ(t.size(), 100u);
}

TYPED_TEST_P(Conformance, ErasingInsideACollisionChainKeepsLaterKeys) {
  auto t = this->make(16);
  for (int i = 0; i < 16; ++i) {
    t.set("c" + std::to_string(i), std::to_string(i));
  }
  for (int i = 0; i < 16; i += 3) {
    EXPECT_TRUE(t.erase("c" + std::to_string(i)));
  }
  for (int i = 0; i < 16; ++i) {
    const auto v = t.get("c" + std::to_string(i));
    if (i % 3 == 0) {
      EXPECT_EQ(v, std::nullopt) << i;
    } else {
      EXPECT_EQ(v, std::to_string(i)) << i;
    }
  }
}

TYPED_TEST_P(Conformance, ChurnAtHalfLoadNeverFills) {
  auto t = this->make(64);
  std::deque<std::string> live;
  for (int i = 0; i < 20000; ++i) {
    const std::string k = "churn:" + std::to_string(i);
    ASSERT_NO_THROW(t.set(k, "v")) << "op " << i;
    live.push_back(k);
    if (live.size() > 32) {
      ASSERT_TRUE(t.erase(live.front()));
      live.pop_front();
    }
  }
  EXPECT_EQ(t.size(), 32u);
}

TYPED_TEST_P(Conformance, LimitsAreConfigurableAtCreation) {
  Options o = this->options(32);
  o.max_key_bytes = 8;
  o.max_value_bytes = 1000;
  auto t = this->open(o);
  EXPECT_EQ(t.max_key_bytes(), 8u);
  EXPECT_EQ(t.max_value_bytes(), 1000u);
  t.set("12345678", std::string(1000, 'v'));
  expect_error(Errc::kKeyTooLarge, "of 8", [&] { t.set("123456789", "v"); });
}

TYPED_TEST_P(Conformance, ASecondHandleSeesTheSameTable) {
  auto a = this->make();
  a.set("shared", "yes");
  Options o = this->options();
  o.open_mode = OpenMode::kOpen;
  auto b = this->open(o);
  EXPECT_FALSE(b.created());
  EXPECT_TRUE(a.created());
  EXPECT_EQ(b.get("shared"), "yes");
  b.set("back", "too");
  EXPECT_EQ(a.get("back"), "too");
}

// Model-based: random operation sequences against std::unordered_map, on a small table
// so that probe chains, tombstones and wrap-around are exercised constantly.
TYPED_TEST_P(Conformance, RandomOperationsMatchAnUnorderedMap) {
  for (std::uint32_t seed : {1u, 2u, 3u, 0xC0FFEEu}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ScopedName name("model");
    Options o = this->options(24);
    o.name = name.str();
    auto t = this->open(o);
    std::unordered_map<std::string, std::string> model;
    constexpr bool slots = TestFixture::kHasSlots; // 24 of them: else never full
    std::mt19937 rng(seed);
    std::array<char, 256> buf{};
    for (int step = 0; step < 30000; ++step) {
      const std::string key = "k" + std::to_string(rng() % 40);
      const std::string value(rng() % 12, static_cast<char>('a' + rng() % 26));
      switch (rng() % 11) {
      case 0:
      case 1: {
        bool full = false;
        try {
          t.set(key, value);
        } catch (const Error &e) {
          ASSERT_EQ(e.code(), Errc::kTableFull);
          full = true;
        }
        ASSERT_EQ(full, slots && !model.contains(key) && model.size() == 24) << "step " << step;
        if (!full) {
          model[key] = value;
        }
        break;
      }
      case 2:
      case 3: {
        const auto it = model.find(key);
        const auto got = t.get(key);
        ASSERT_EQ(got.has_value(), it != model.end()) << "step " << step << " key " << key;
        if (got) {
          ASSERT_EQ(*got, it->second) << "step " << step;
        }
        break;
      }
      case 4:
        ASSERT_EQ(t.erase(key), model.erase(key) == 1) << "step " << step;
        break;
      case 5:
        ASSERT_EQ(t.contains(key), model.contains(key)) << "step " << step;
        break;
      case 6: {
        const auto n = t.get_into(key, buf);
        ASSERT_EQ(n.has_value(), model.contains(key));
        if (n) {
          ASSERT_EQ(std::string(buf.data(), *n), model[key]);
        }
        break;
      }
      case 7:
        if (rng() % 500 == 0) {
          t.clear();
          model.clear();
        } else {
          auto ks = t.keys();
          ASSERT_EQ(ks.size(), model.size()) << "step " << step;
          for (const auto &k : ks) {
            ASSERT_TRUE(model.contains(k)) << k;
          }
        }
        break;
      case 8: { // add: numbers count, anything else is refused and left alone
        const auto it = model.find(key);
        const bool numeric =
            it == model.end() || (!it->second.empty() &&
                                  it->second.find_first_not_of("-0123456789") == std::string::npos);
        const bool full = slots && it == model.end() && model.size() == 24;
        const std::int64_t want = it == model.end() ? 3 : numeric ? std::stoll(it->second) + 3 : 0;
        try {
          const std::int64_t sum = t.add(key, 3);
          ASSERT_TRUE(numeric && !full) << "step " << step;
          ASSERT_EQ(sum, want) << "step " << step;
          model[key] = std::to_string(sum);
        } catch (const Error &e) {
          ASSERT_EQ(e.code(), numeric ? Errc::kTableFull : Errc::kNotANumber) << "step " << step;
        }
        break;
      }
      case 9: { // compare_and_set against the current value half of the time
        const auto it = model.find(key);
        const std::string expected = it != model.end() && rng() % 2 == 0 ? it->second : "x";
        const bool ok = t.compare_and_set(key, expected, value);
        ASSERT_EQ(ok, it != model.end() && it->second == expected) << "step " << step;
        if (ok) {
          it->second = value;
        }
        break;
      }
      case 10: {
        bool full = false;
        bool inserted = false;
        try {
          inserted = t.set_if_absent(key, value);
        } catch (const Error &e) {
          ASSERT_EQ(e.code(), Errc::kTableFull);
          full = true;
        }
        ASSERT_EQ(full, slots && !model.contains(key) && model.size() == 24) << "step " << step;
        ASSERT_EQ(inserted, !full && !model.contains(key)) << "step " << step;
        if (inserted) {
          model[key] = value;
        }
        break;
      }
      }
      ASSERT_EQ(t.size(), model.size()) << "step " << step;
    }
  }
}

TYPED_TEST_P(Conformance, AddCountsFromAbsentAndRefusesNonNumbers) {
  auto t = this->make();
  EXPECT_EQ(t.add("hits", 1), 1);
  EXPECT_EQ(t.add("hits", 41), 42);
  EXPECT_EQ(t.add("hits", -50), -8);
  EXPECT_EQ(t.get("hits"), "-8");
  t.set("name", "alice");
  expect_error(Errc::kNotANumber, "not a decimal", [&] { t.add("name", 1); });
  EXPECT_EQ(t.get("name"), "alice");
  t.set("big", std::to_string(INT64_MAX));
  expect_error(Errc::kNotANumber, "overflows", [&] { t.add("big", 1); });
  EXPECT_EQ(t.get("big"), std::to_string(INT64_MAX));
  t.set("empty", "");
  expect_error(Errc::kNotANumber, "not a decimal", [&] { t.add("empty", 1); });
  expect_error(Errc::kKeyTooLarge, "max_key_bytes of 64", [&] { t.add(std::string(65, 'k'), 1); });
  EXPECT_EQ(t.size(), 4u);
}

TYPED_TEST_P(Conformance, CompareAndSetStoresOnlyOverTheExpectedValue) {
  auto t = this->make();
  EXPECT_FALSE(t.compare_and_set("flag", "off", "on")) << "absent: nothing to compare";
  EXPECT_FALSE(t.contains("flag"));
  t.set("flag", "off");
  EXPECT_FALSE(t.compare_and_set("flag", "of", "on"));
  EXPECT_EQ(t.get("flag"), "off");
  EXPECT_TRUE(t.compare_and_set("flag", "off", "on"));
  EXPECT_EQ(t.get("flag"), "on");
  expect_error(Errc::kValueTooLarge, "max_value_bytes of 256",
               [&] { t.compare_and_set("flag", "on", std::string(257, 'v')); });
  EXPECT_EQ(t.get("flag"), "on");
}

TYPED_TEST_P(Conformance, SetIfAbsentInsertsOnlyOnce) {
  auto t = this->make();
  EXPECT_TRUE(t.set_if_absent("lock:job", "worker-1"));
  EXPECT_FALSE(t.set_if_absent("lock:job", "worker-2"));
  EXPECT_EQ(t.get("lock:job"), "worker-1");
  EXPECT_TRUE(t.erase("lock:job"));
  EXPECT_TRUE(t.set_if_absent("lock:job", "worker-2"));
  EXPECT_EQ(t.get("lock:job"), "worker-2");
  EXPECT_EQ(t.size(), 1u);
}

TYPED_TEST_P(Conformance, UpdateReplacesWhatItReadsAndNothingElse) {
  auto t = this->make();
  // Absent: fn sees nullopt; its text in `scratch` is stored.
  EXPECT_TRUE(t.update("visits",
                       [](std::optional<std::string_view> cur,
                          std::string &scratch) -> std::optional<std::string_view> {
                         EXPECT_FALSE(cur.has_value());
                         scratch = "1";
                         return scratch;
                       }));
  EXPECT_EQ(t.get("visits"), "1");
  // Present: fn sees the value; a view of it (a suffix here) may be returned.
  t.set("path", "/a/b/c");
  EXPECT_TRUE(t.update("path",
                       [](std::optional<std::string_view> cur, std::string &)
                           -> std::optional<std::string_view> { return cur->substr(2); }));
  EXPECT_EQ(t.get("path"), "/b/c");
  // nullopt stores nothing, for a present and for an absent key.
  const auto keep = [](std::optional<std::string_view>,
                       std::string &) -> std::optional<std::string_view> { return std::nullopt; };
  EXPECT_FALSE(t.update("path", keep));
  EXPECT_FALSE(t.update("absent", keep));
  EXPECT_EQ(t.get("path"), "/b/c");
  EXPECT_FALSE(t.contains("absent"));
  // An oversize result and an exception from fn both leave the value as it was.
  const std::string big(257, 'v');
  expect_error(Errc::kValueTooLarge, "max_value_bytes of 256", [&] {
    t.update("path",
             [&](std::optional<std::string_view>,
                 std::string &) -> std::optional<std::string_view> { return big; });
  });
  EXPECT_THROW(t.update("path",
                        [](std::optional<std::string_view>,
                           std::string &) -> std::optional<std::string_view> {
                          throw std::runtime_error("caller's own failure");
                        }),
               std::runtime_error);
  EXPECT_EQ(t.get("path"), "/b/c");
  EXPECT_EQ(t.size(), 2u);
  t.set("after", "x"); // the table still takes writes (no buffer or lock was kept)
  EXPECT_EQ(t.get("after"), "x");
}

TYPED_TEST_P(Conformance, SetWithStoresWhatItsSourceMakesCalledOnce) {
  auto t = this->make();
  int calls = 0;
  t.set_with("k", [&] {
    ++calls;
    return std::string_view("first");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(t.get("k"), "first");
  const std::string second = "second, longer";
  t.set_with("k", [&] {
    ++calls;
    return std::string_view(second);
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(t.get("k"), second);
  // An oversize key is refused before the source runs; an oversize value, an exception
  // from the source: the key keeps its value, and nothing is inserted.
  expect_error(Errc::kKeyTooLarge, "65 bytes exceeds the table's max_key_bytes of 64", [&] {
    t.set_with(std::string(65, 'k'), [&] {
      ++calls;
      return std::string_view("v");
    });
  });
  EXPECT_EQ(calls, 2);
  const std::string big(257, 'v');
  expect_error(Errc::kValueTooLarge, "257 bytes exceeds the table's max_value_bytes of 256",
               [&] { t.set_with("k", [&] { return std::string_view(big); }); });
  EXPECT_THROW(
      t.set_with("new",
                 []() -> std::string_view { throw std::runtime_error("caller's own failure"); }),
      std::runtime_error);
  EXPECT_EQ(t.get("k"), second);
  EXPECT_FALSE(t.contains("new"));
  EXPECT_EQ(t.size(), 1u);
  // Failed calls keep no buffer or lock: every key still fits up to capacity.
  for (int i = 0; i < 200; ++i) {
    EXPECT_THROW(t.set_with("new" + std::to_string(i),
                            []() -> std::string_view { throw std::runtime_error("again"); }),
                 std::runtime_error);
  }
  for (std::uint64_t i = 1; i < 64; ++i) {
    const std::string v = "v" + std::to_string(i);
    t.set_with("key" + std::to_string(i), [&] { return std::string_view(v); });
  }
  EXPECT_EQ(t.size(), 64u);
  EXPECT_EQ(t.get("key63"), "v63");
}

TYPED_TEST_P(SharedMemoryConformance, RecoverRunsOnlyForTheLastHandle) {
  auto t = this->make();
  t.set("a", "1");
  t.set("b", "2");
  {
    auto other = this->make();
    expect_error(Errc::kBusy, "other handles are attached", [&] { t.recover(); });
  }
  const RecoveryReport r = t.recover();
  EXPECT_EQ(r.entries, 2u);
  EXPECT_EQ(r.duplicate_keys, 0u);
  EXPECT_EQ(r.corrupt_slots, 0u);
  EXPECT_EQ(t.get("a"), "1");
  EXPECT_EQ(t.size(), 2u);
  t.set("c", "3"); // and the table works on
  EXPECT_EQ(t.keys().size(), 3u);
}

REGISTER_TYPED_TEST_SUITE_P(
    Conformance, SetThenGetReturnsTheValue, MissingKeyIsAbsent, OverwriteKeepsOneEntry,
    EraseRemovesTheKeyOnce, KeysListsEveryKeyOnce, ClearEmptiesTheTable, KeysAndValuesAreBinarySafe,
    EmptyKeyAndEmptyValueAreValid, KeyAndValueAtExactLimitsFit, OversizeKeyIsRejectedAndTableIntact,
    OversizeValueIsRejectedAndTableIntact, GetIntoCopiesIntoTheCallersBuffer,
    EveryKeyFitsUpToCapacity, ErasingInsideACollisionChainKeepsLaterKeys, ChurnAtHalfLoadNeverFills,
    LimitsAreConfigurableAtCreation, ASecondHandleSeesTheSameTable,
    RandomOperationsMatchAnUnorderedMap, AddCountsFromAbsentAndRefusesNonNumbers,
    CompareAndSetStoresOnlyOverTheExpectedValue, SetIfAbsentInsertsOnlyOnce,
    UpdateReplacesWhatItReadsAndNothingElse, SetWithStoresWhatItsSourceMakesCalledOnce);
REGISTER_TYPED_TEST_SUITE_P(SharedMemoryConformance, FullTableIsReportedAndStaysIntact,
                            RecoverRunsOnlyForTheLastHandle);

INSTANTIATE_TYPED_TEST_SUITE_P(Engines, Conformance, Engines, EngineNames);
INSTANTIATE_TYPED_TEST_SUITE_P(Engines, SharedMemoryConformance, Engines, EngineNames);
#if SHMTABLE_HAVE_REDIS_TABLE
INSTANTIATE_TYPED_TEST_SUITE_P(Server, Conformance, ::testing::Types<Redis>, EngineNames);
#endif

} // namespace
} // namespace shmtable::test
