// Eviction (Options::eviction): a set of a new key into a full LockFreeTable evicts an
// entry by CLOCK instead of failing; the option is the table's, refused where an engine
// has no eviction; what is evicted is counted, the table stays consistent (every buffer
// accounted for), across threads and processes.
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmtable/lockfree_table.hpp"
#include "shmtable/mutex_table.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

class Eviction : public ::testing::Test {
protected:
  Options options(std::uint64_t capacity, std::optional<bool> eviction = true) {
    Options o;
    o.name = name_.str();
    o.capacity = capacity;
    o.eviction = eviction;
    return o;
  }
  // The entries a table of `capacity` slots holds before an insert evicts.
  static std::uint64_t full_at(std::uint64_t capacity) {
    return capacity * kEvictLoadPercent / 100;
  }
  // After any mix of writes, with nothing in flight: every buffer is in one place, the
  // counter agrees with the slots, nothing for recover() to do.
  static void expect_consistent(LockFreeTable &t) {
    const RecoveryReport r = t.recover();
    EXPECT_EQ(r.buffers_reclaimed, 0u);
    EXPECT_EQ(r.pending_cleared, 0u);
    EXPECT_EQ(r.duplicate_keys, 0u);
    EXPECT_EQ(r.corrupt_slots, 0u);
    EXPECT_EQ(r.entries, t.keys().size());
    EXPECT_EQ(t.stats().leaked_buffers, 0u);
  }

  ScopedName name_{"evict"};
};

TEST_F(Eviction, OffByDefaultAFullTableRefusesANewKey) {
  Options o;
  o.name = name_.str();
  o.capacity = 16;
  LockFreeTable t(o);
  std::uint64_t stored = 0;
  bool refused = false;
  for (int i = 0; i < 64 && !refused; ++i) {
    try {
      t.set("k" + std::to_string(i), "v");
      ++stored;
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), Errc::kTableFull) << e.what();
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(stored, 16u); // every slot, as fast-shm-cache fills maxKeys
  EXPECT_EQ(t.stats().evictions, 0u);
}

TEST_F(Eviction, ANewKeyIntoAFullTableEvictsInsteadOfFailing) {
  LockFreeTable t(options(100));
  for (int i = 0; i < 1000; ++i) {
    t.set("k" + std::to_string(i), "v" + std::to_string(i));
  }
  const std::vector<std::string> keys = t.keys();
  // At most the fill level; below it by the inserts whose own window was full too, and
  // that evicted there as well (E2).
  EXPECT_LE(keys.size(), full_at(100));
  EXPECT_GE(keys.size(), full_at(100) / 2);
  EXPECT_EQ(t.size(), keys.size());
  for (const std::string &k : keys) {
    EXPECT_EQ(t.get(k), "v" + k.substr(1)); // what remains is what was written
  }
  const TableStats s = t.stats();
  EXPECT_EQ(s.inserts, 1000u);
  EXPECT_EQ(s.evictions, 1000u - keys.size());
  EXPECT_EQ(s.table_full, 0u);
  expect_consistent(t);
}

TEST_F(Eviction, AReadKeySurvivesAndAnUnreadOneIsEvicted) {
  // CLOCK: the hand clears a mark as it passes and evicts an unmarked entry; a read
  // marks its entry again. The hot key is read after every insert, so the hand never
  // finds it unmarked; the cold key, never read, goes within two turns of the hand.
  LockFreeTable t(options(64));
  t.set("hot", "h");
  t.set("cold", "c");
  for (int i = 0; i < 64 * 4; ++i) {
    t.set("n" + std::to_string(i), "v");
    ASSERT_EQ(t.get("hot"), "h") << "after insert " << i;
  }
  EXPECT_FALSE(t.contains("cold"));
  EXPECT_GT(t.stats().evictions, 0u);
  expect_consistent(t);
}

TEST_F(Eviction, UpdatesOfPresentKeysNeverEvict) {
  LockFreeTable t(options(32));
  for (int i = 0; i < 200; ++i) {
    t.set("k" + std::to_string(i), "v");
  }
  const std::uint64_t evicted = t.stats().evictions;
  const std::vector<std::string> keys = t.keys();
  for (int round = 0; round < 5; ++round) {
    for (const std::string &k : keys) {
      t.set(k, "w" + std::to_string(round));
      EXPECT_TRUE(t.compare_and_set(k, "w" + std::to_string(round), "x"));
    }
  }
  EXPECT_EQ(t.stats().evictions, evicted);
  EXPECT_EQ(t.keys().size(), keys.size());
  for (const std::string &k : keys) {
    EXPECT_EQ(t.get(k), "x");
  }
  expect_consistent(t);
}

TEST_F(Eviction, ExpiredEntriesAreFreedBeforeLiveOnesAreEvicted) {
  using namespace std::chrono_literals;
  LockFreeTable t(options(64));
  const std::uint64_t full = full_at(64);
  for (std::uint64_t i = 0; i < full; ++i) {
    t.set("old" + std::to_string(i), "v", 1ns); // expired by the time it is read back
  }
  while (t.contains("old0")) {
    std::this_thread::yield(); // the table clock's next tick
  }
  t.set("new", "v");
  EXPECT_EQ(t.stats().evictions, 0u); // the hand freed an expired entry: no eviction
  EXPECT_GE(t.stats().expirations, 1u);
  EXPECT_TRUE(t.contains("new"));
}

TEST_F(Eviction, TheOptionIsTheTablesAndComparedWhenGiven) {
  LockFreeTable creator(options(64, true));
  expect_error(Errc::kLayoutMismatch, "eviction", [&] { LockFreeTable other(options(64, false)); });
  Options any = options(64, std::nullopt); // whatever the table has
  any.open_mode = OpenMode::kOpen;
  LockFreeTable opener(any);
  for (int i = 0; i < 200; ++i) {
    opener.set("k" + std::to_string(i), "v"); // evicts, as the table does
  }
  EXPECT_EQ(creator.size(), full_at(64));
  EXPECT_GT(creator.stats().evictions, 0u);
}

TEST_F(Eviction, AMoveAssignedHandleTakesTheOtherTablesSetting) {
  ScopedName plain_name{"evict-plain"};
  Options plain;
  plain.name = plain_name.str();
  plain.capacity = 16;
  // An evicting handle assigned a plain table's: it must refuse when full, and its reads
  // must not mark the evicting table it closed (its marks are unmapped then).
  LockFreeTable a(options(64));
  a.set("old", "v");
  a = LockFreeTable(plain);
  bool refused = false;
  for (int i = 0; i < 32 && !refused; ++i) {
    try {
      a.set("k" + std::to_string(i), "v");
      EXPECT_EQ(a.get("k" + std::to_string(i)), "v");
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), Errc::kTableFull) << e.what();
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
  // A plain handle assigned an evicting table's: it must evict.
  LockFreeTable b(plain);
  b = LockFreeTable(options(64));
  for (int i = 0; i < 200; ++i) {
    b.set("n" + std::to_string(i), "v");
  }
  EXPECT_EQ(b.size(), full_at(64));
  EXPECT_EQ(b.stats().table_full, 0u);
}

TEST_F(Eviction, TheMutexEnginesRefuseTheOptionNamingIt) {
  for (const bool robust : {false, true}) {
    Options o = options(64, true);
    o.robust = robust;
    expect_error(Errc::kInvalidArgument, "eviction", [&] { MutexTable t(o); });
  }
  Options o = options(64, false);
  MutexTable t(o); // eviction off: as before
  t.set("a", "1");
  EXPECT_EQ(t.get("a"), "1");
}

TEST_F(Eviction, ThreadsInsertingDistinctKeysNeverFailAndLoseNothing) {
  LockFreeTable t(options(256));
  constexpr int kThreads = 4;
  constexpr int kEach = 5000;
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        const std::string k = "w" + std::to_string(w) + "-" + std::to_string(i);
        t.set(k, k);
        if (const auto v = t.get(k); v) {
          EXPECT_EQ(*v, k);
        }
      }
    });
  }
  for (auto &th : threads) {
    th.join();
  }
  const TableStats s = t.stats();
  EXPECT_EQ(s.table_full, 0u);
  EXPECT_EQ(s.inserts, std::uint64_t{kThreads} * kEach);
  for (const std::string &k : t.keys()) {
    EXPECT_EQ(t.get(k), k);
  }
  expect_consistent(t);
  EXPECT_EQ(s.inserts - s.evictions, t.size());
}

TEST_F(Eviction, ProcessesShareOneTableThatEvicts) {
  LockFreeTable t(options(128));
  std::vector<pid_t> kids;
  for (int w = 0; w < 2; ++w) {
    kids.push_back(spawn([&, w] {
      LockFreeTable mine(options(128, std::nullopt));
      for (int i = 0; i < 3000; ++i) {
        const std::string k = "p" + std::to_string(w) + "-" + std::to_string(i);
        mine.set(k, k);
      }
      return 0;
    }));
  }
  for (const pid_t pid : kids) {
    EXPECT_EQ(exit_code(pid), 0);
  }
  const TableStats s = t.stats();
  EXPECT_EQ(s.inserts, 6000u);
  EXPECT_EQ(s.table_full, 0u);
  EXPECT_EQ(s.inserts - s.evictions, t.size());
  for (const std::string &k : t.keys()) {
    EXPECT_EQ(t.get(k), k);
  }
  expect_consistent(t);
}

} // namespace
} // namespace shmtable::test
