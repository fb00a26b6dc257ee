// Expiry (shmtable/table.hpp, "Expiry"), on every table: an entry with a deadline is
// absent to every operation from then on. On the shared-memory engines also: writers and
// purge_expired() free it, a table full of expired entries takes new keys, and a
// file-backed table keeps deadlines across reopening.
//
// Waiting for a deadline is waiting on the table clock itself (CLOCK_REALTIME_COARSE),
// not a timing threshold: a test that needs an entry expired waits until that clock has
// passed the deadline, however long the machine takes.
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "engines.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

using namespace std::chrono_literals;

// The table clock, as the engines read it.
std::uint64_t table_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Returns once the table clock has passed `ttl` from `written` (a reading taken after the
// writes), and a margin: every entry written before it with `ttl` has expired, on the
// coarse clock and on a server's (whose clock runs up to a coarse tick ahead of it, and
// which rounds a ttl up to a whole millisecond).
void wait_past(std::uint64_t written, std::chrono::nanoseconds ttl) {
  constexpr std::uint64_t kMargin = 20'000'000; // 20 ms: a coarse tick and a ms, with room
  while (table_now_ns() <= written + static_cast<std::uint64_t>(ttl.count()) + kMargin) {
    std::this_thread::sleep_for(1ms);
  }
}

constexpr auto kShort = 2ms; // expires within a test
constexpr auto kLong = 1h;   // outlives every test

template <class E> class Expiry : public ::testing::Test {
protected:
  using Table = typename E::Table;
  Options options(std::uint64_t capacity = 64) {
    Options o;
    o.name = name_.str();
    o.capacity = capacity;
    E::configure(o);
    return o;
  }
  Table make(std::uint64_t capacity = 64) { return open_table<E>(options(capacity)); }
  ScopedName name_{"expiry"};
};
TYPED_TEST_SUITE_P(Expiry);
template <class E> class SharedMemoryExpiry : public Expiry<E> {};
TYPED_TEST_SUITE_P(SharedMemoryExpiry);

TYPED_TEST_P(Expiry, AnEntryBeforeItsDeadlineIsPresentToEveryOperation) {
  auto t = this->make();
  t.set("k", "v", kLong);
  EXPECT_EQ(t.get("k"), "v");
  EXPECT_TRUE(t.contains("k"));
  EXPECT_EQ(t.keys(), std::vector<std::string>{"k"});
  EXPECT_EQ(t.size(), 1u);
  EXPECT_FALSE(t.set_if_absent("k", "other", kLong));
  EXPECT_TRUE(t.compare_and_set("k", "v", "w"));
  EXPECT_EQ(t.get("k"), "w");
  EXPECT_EQ(t.purge_expired(), 0u);
  EXPECT_TRUE(t.erase("k"));
  EXPECT_EQ(t.size(), 0u);
}

TYPED_TEST_P(Expiry, AnExpiredEntryIsAbsentToEveryOperation) {
  auto t = this->make();
  for (const char *key : {"get", "contains", "erase", "cas", "update", "absent", "add"}) {
    t.set(key, "7", kShort);
  }
  wait_past(table_now_ns(), kShort);
  t.set("kept", "x");
  EXPECT_EQ(t.get("get"), std::nullopt);
  std::array<char, 16> buf{};
  EXPECT_EQ(t.get_into("get", buf), std::nullopt);
  EXPECT_FALSE(t.contains("contains"));
  EXPECT_FALSE(t.erase("erase"));
  EXPECT_FALSE(t.compare_and_set("cas", "7", "8"));
  EXPECT_EQ(t.get("cas"), std::nullopt);
  std::optional<std::string> seen = "not called";
  EXPECT_TRUE(t.update("update", [&](std::optional<std::string_view> cur, std::string &) {
    seen = cur ? std::optional<std::string>(*cur) : std::nullopt;
    return std::optional<std::string_view>("fresh");
  }));
  EXPECT_EQ(seen, std::nullopt);
  EXPECT_EQ(t.get("update"), "fresh");
  EXPECT_TRUE(t.set_if_absent("absent", "new"));
  EXPECT_EQ(t.get("absent"), "new");
  EXPECT_EQ(t.add("add", 5), 5); // from 0, not 7
  std::vector<std::string> keys = t.keys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"absent", "add", "kept", "update"}));
  EXPECT_EQ(t.size(), 4u);
}

TYPED_TEST_P(Expiry, AWriteWithoutTtlClearsTheDeadlineAndReadModifyWritesKeepIt) {
  auto t = this->make();
  t.set("plain", "1", kShort);
  t.set("plain", "2"); // no deadline any more
  t.set("counter", "1", kShort);
  EXPECT_EQ(t.add("counter", 1), 2);                   // keeps the deadline
  EXPECT_EQ(t.add("counter", 1, kLong), 3);            // a present key keeps its own
  EXPECT_TRUE(t.compare_and_set("counter", "3", "4")); // keeps it too
  t.set("updated", "1", kShort);
  EXPECT_TRUE(t.update("updated", [](std::optional<std::string_view>, std::string &) {
    return std::optional<std::string_view>("2");
  }));
  wait_past(table_now_ns(), kShort);
  EXPECT_EQ(t.get("plain"), "2");
  EXPECT_EQ(t.get("counter"), std::nullopt);
  EXPECT_EQ(t.get("updated"), std::nullopt);
  EXPECT_EQ(t.add("counter", 1, kLong), 1); // created again, with the new deadline
  EXPECT_EQ(t.get("counter"), "1");
}

TYPED_TEST_P(Expiry, AFixedWindowCounterStartsOverAfterItsWindow) {
  auto t = this->make();
  EXPECT_EQ(t.add("hits", 1, kShort), 1);
  EXPECT_EQ(t.add("hits", 1, kShort), 2);
  EXPECT_EQ(t.add("hits", 1, kShort), 3);
  wait_past(table_now_ns(), kShort);
  EXPECT_EQ(t.add("hits", 1, kShort), 1);
  wait_past(table_now_ns(), kShort);
  EXPECT_FALSE(t.contains("hits"));
}

TYPED_TEST_P(SharedMemoryExpiry, PurgeFreesEveryExpiredEntryAndOnlyThose) {
  auto t = this->make();
  for (int i = 0; i < 10; ++i) {
    t.set("short" + std::to_string(i), "v", kShort);
    t.set("long" + std::to_string(i), "v", kLong);
    t.set("none" + std::to_string(i), "v");
  }
  EXPECT_EQ(t.size(), 30u);
  wait_past(table_now_ns(), kShort);
  EXPECT_EQ(t.size(), 20u); // expired entries are not counted, freed or not
  const std::uint64_t before = t.stats().expirations;
  EXPECT_EQ(t.purge_expired(), 10u);
  EXPECT_EQ(t.purge_expired(), 0u);
  EXPECT_EQ(t.stats().expirations, before + 10) << "each freed entry counted once";
  EXPECT_EQ(t.size(), 20u);
  EXPECT_EQ(t.keys().size(), 20u);
  const std::uint64_t inserts = t.stats().inserts;
  t.set("long0", "again");         // present: an update
  t.set("short0", "again", kLong); // freed, absent: an insert
  EXPECT_EQ(t.stats().inserts, inserts + 1);
}

TYPED_TEST_P(SharedMemoryExpiry, RecoverFreesExpiredEntriesAndCountsTheRest) {
  auto t = this->make();
  t.set("short", "v", kShort);
  t.set("long", "v", kLong);
  t.set("none", "v");
  wait_past(table_now_ns(), kShort);
  const RecoveryReport r = t.recover();
  EXPECT_EQ(r.entries, 2u) << "the expired entry is absent: freed, not counted";
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.keys().size(), 2u);
  EXPECT_EQ(t.purge_expired(), 0u) << "recover() freed it";
}

TYPED_TEST_P(SharedMemoryExpiry, ATableFullOfExpiredEntriesIsNotFull) {
  auto t = this->make(32);
  std::size_t held = 0;
  for (int i = 0;; ++i) { // fill until the table is full, every entry expiring
    try {
      t.set("old" + std::to_string(i), "v", kShort);
      ++held;
    } catch (const Error &e) {
      ASSERT_EQ(e.code(), Errc::kTableFull);
      break;
    }
  }
  ASSERT_GT(held, 0u);
  wait_past(table_now_ns(), kShort);
  // As many new keys as the table held, without purge_expired(): writers free the room.
  for (std::size_t i = 0; i < held; ++i) {
    t.set("new" + std::to_string(i), "v");
  }
  for (std::size_t i = 0; i < held; ++i) {
    EXPECT_EQ(t.get("new" + std::to_string(i)), "v") << i;
  }
  EXPECT_EQ(t.size(), held);
}

TYPED_TEST_P(Expiry, ABadTtlIsRefusedAndChangesNothing) {
  auto t = this->make();
  t.set("k", "v");
  for (const std::chrono::nanoseconds bad :
       {std::chrono::nanoseconds(0), std::chrono::nanoseconds(-5),
        std::chrono::nanoseconds(std::chrono::hours(24 * 365 * 101))}) {
    expect_error(Errc::kInvalidArgument, "ttl", [&] { t.set("k", "w", bad); });
    expect_error(Errc::kInvalidArgument, "ttl", [&] { t.set_if_absent("n", "w", bad); });
    expect_error(Errc::kInvalidArgument, "ttl", [&] { t.add("c", 1, bad); });
  }
  EXPECT_EQ(t.get("k"), "v");
  EXPECT_FALSE(t.contains("n"));
  EXPECT_FALSE(t.contains("c"));
  EXPECT_EQ(t.size(), 1u);
}

TYPED_TEST_P(Expiry, AnotherProcessSeesTheDeadline) {
  auto t = this->make();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int rc = 0;
    try {
      auto c = open_table<TypeParam>(this->options());
      c.set("theirs", "v", kShort);
      c.set("lasting", "v", kLong);
    } catch (...) {
      rc = 1;
    }
    _exit(rc);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  wait_past(table_now_ns(), kShort);
  EXPECT_FALSE(t.contains("theirs"));
  EXPECT_EQ(t.get("lasting"), "v");
  EXPECT_EQ(t.size(), 1u);
}

TYPED_TEST_P(SharedMemoryExpiry, AFileBackedTableKeepsDeadlinesAcrossReopening) {
  const std::string path = "/tmp/" + this->name_.str() + ".table";
  Options o = this->options();
  o.name.clear();
  o.path = path;
  o.persist = true;
  {
    auto t = open_table<TypeParam>(o);
    t.set("short", "v", kShort);
    t.set("long", "v", kLong);
  }
  wait_past(table_now_ns(), kShort);
  {
    auto t = open_table<TypeParam>(o);
    EXPECT_FALSE(t.contains("short"));
    EXPECT_EQ(t.get("long"), "v");
  }
  unlink_path(path);
}

REGISTER_TYPED_TEST_SUITE_P(Expiry, AnEntryBeforeItsDeadlineIsPresentToEveryOperation,
                            AnExpiredEntryIsAbsentToEveryOperation,
                            AWriteWithoutTtlClearsTheDeadlineAndReadModifyWritesKeepIt,
                            AFixedWindowCounterStartsOverAfterItsWindow,
                            ABadTtlIsRefusedAndChangesNothing, AnotherProcessSeesTheDeadline);
REGISTER_TYPED_TEST_SUITE_P(SharedMemoryExpiry, PurgeFreesEveryExpiredEntryAndOnlyThose,
                            RecoverFreesExpiredEntriesAndCountsTheRest,
                            ATableFullOfExpiredEntriesIsNotFull,
                            AFileBackedTableKeepsDeadlinesAcrossReopening);
INSTANTIATE_TYPED_TEST_SUITE_P(Engines, Expiry, Engines, EngineNames);
INSTANTIATE_TYPED_TEST_SUITE_P(Engines, SharedMemoryExpiry, Engines, EngineNames);
#if SHMTABLE_HAVE_REDIS_TABLE
INSTANTIATE_TYPED_TEST_SUITE_P(Server, Expiry, ::testing::Types<Redis>, EngineNames);
#endif

} // namespace
} // namespace shmtable::test
