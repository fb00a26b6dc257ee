// Threads of one process on the table, through one mapping and through two: the part of
// the concurrency story ThreadSanitizer can see (it cannot see across processes).
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engines.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

template <class E> class Threads : public ::testing::Test {
protected:
  Options options() {
    Options o;
    o.name = name_.str();
    o.capacity = 128;
    E::configure(o);
    return o;
  }
  ScopedName name_{"thr"};
};

TYPED_TEST_SUITE(Threads, SharedHandleEngines, EngineNames);

TYPED_TEST(Threads, HotKeysFromFourThreadsOnTwoMappings) {
  typename TypeParam::Table a(this->options());
  typename TypeParam::Table b(this->options()); // a second mapping, as another process has
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      auto &t = th % 2 == 0 ? a : b;
      const std::string me = "t" + std::to_string(th);
      for (int i = 0; i < 5000; ++i) {
        const std::string key = "hot" + std::to_string(i % 4);
        switch ((i + th) % 4) {
        case 0:
          t.set(key, checked_value(me, static_cast<std::uint64_t>(i),
                                   static_cast<std::size_t>(i % 100)));
          break;
        case 1:
          t.erase(key);
          break;
        case 2:
          (void)t.contains(key);
          break;
        default:
          if (auto v = t.get(key); v && !value_is_intact(*v)) {
            ++torn;
          }
        }
      }
    });
  }
  for (auto &th : threads) {
    th.join();
  }
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(a.keys().size(), a.size());
}

TYPED_TEST(Threads, RacingInsertsOfOneKeyLeaveOneEntry) {
  typename TypeParam::Table t(this->options());
  for (int round = 0; round < 50; ++round) {
    const std::string key = "race:" + std::to_string(round);
    std::vector<std::thread> threads;
    for (int th = 0; th < 4; ++th) {
      threads.emplace_back([&, th] { t.set(key, std::to_string(th)); });
    }
    for (auto &th : threads) {
      th.join();
    }
    ASSERT_TRUE(t.contains(key));
  }
  const auto keys = t.keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
  EXPECT_EQ(t.size(), 50u);
}

// As above, but the keys' probe chains start with tombstones: an insert that took the
// first free slot without scanning the rest of the chain would duplicate the key.
TYPED_TEST(Threads, RacingInsertsPastTombstonesLeaveOneEntry) {
  Options o = this->options();
  o.capacity = 16;
  typename TypeParam::Table t(o);
  for (int round = 0; round < 300; ++round) {
    for (int f = 0; f < 12; ++f) {
      t.set("filler:" + std::to_string(f), "x");
    }
    for (int f = 0; f < 12; f += 2) {
      t.erase("filler:" + std::to_string(f)); // tombstones inside the chains
    }
    const std::string key = "race:" + std::to_string(round);
    std::atomic<int> arrived{0};
    std::vector<std::thread> threads;
    for (int th = 0; th < 4; ++th) {
      threads.emplace_back([&, th] {
        arrived.fetch_add(1);
        while (arrived.load() < 4) { // start together, or there is no race
          std::this_thread::yield();
        }
        t.set(key, std::to_string(th));
      });
    }
    for (auto &th : threads) {
      th.join();
    }
    const auto keys = t.keys();
    ASSERT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size())
        << "duplicate key in round " << round;
    t.clear();
  }
}

TYPED_TEST(Threads, ChurnWithReadersAndWholeTableCalls) {
  typename TypeParam::Table t(this->options());
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      (void)t.keys();
      (void)t.size();
      (void)t.get("churn:1");
    }
  });
  std::vector<std::thread> writers;
  for (int th = 0; th < 2; ++th) {
    writers.emplace_back([&, th] {
      for (int i = 0; i < 3000; ++i) {
        const std::string k = "churn:" + std::to_string(th) + ":" + std::to_string(i);
        t.set(k, "v");
        t.erase(k);
      }
    });
  }
  for (auto &w : writers) {
    w.join();
  }
  stop = true;
  reader.join();
  EXPECT_EQ(t.size(), 0u);
}

TYPED_TEST(Threads, AddUpdateAndCompareAndSetNeverLoseAnIncrement) {
  typename TypeParam::Table a(this->options());
  typename TypeParam::Table b(this->options());
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      auto &t = th % 2 == 0 ? a : b;
      for (int i = 0; i < kPerThread; ++i) {
        t.add("counter", 1);
        t.update("update-counter",
                 [](std::optional<std::string_view> cur,
                    std::string &s) -> std::optional<std::string_view> {
                   s = std::to_string((cur ? std::stoll(std::string(*cur)) : 0) + 1);
                   return s;
                 });
        for (;;) { // the same increment, by hand, with compare_and_set
          const std::string cur = t.get("cas-counter").value_or("");
          if (cur.empty()
                  ? t.set_if_absent("cas-counter", "1")
                  : t.compare_and_set("cas-counter", cur, std::to_string(std::stoll(cur) + 1))) {
            break;
          }
        }
      }
    });
  }
  for (auto &th : threads) {
    th.join();
  }
  EXPECT_EQ(a.get("counter"), std::to_string(4 * kPerThread));
  EXPECT_EQ(b.get("cas-counter"), std::to_string(4 * kPerThread));
  EXPECT_EQ(a.get("update-counter"), std::to_string(4 * kPerThread));
}

// LockFreeTable::get_cached from a reader thread that keeps what it read, by slot and
// version, while a writer counts one key up on another mapping: every value the reader
// gets, held or read, is one the writer wrote, and they never go backwards (a single
// writer's values, read linearizably). Held answers must happen, or the cache is idle.
TEST(ThreadsCached, AHeldValueIsNeverStale) {
  ScopedName name("thrcache");
  Options o;
  o.name = name.str();
  o.capacity = 64;
  LockFreeTable writer_side(o);
  LockFreeTable reader_side(o);
  constexpr int kWrites = 20000;
  writer_side.set("counter", "0");
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 1; i <= kWrites; ++i) {
      writer_side.set("counter", std::to_string(i));
      if (i % 64 == 0) {
        std::this_thread::yield(); // let the reader see some values many times
      }
    }
    done.store(true);
  });
  KeptValue kept;
  const CachingReader &reader = KeptValue::kReader;
  long last = 0, held = 0, read = 0, backwards = 0, bad = 0, after_done = 0;
  // Ends once the last write has been seen and something was held (ending when the
  // writer is done could leave `kept` one write behind), or, if the table is broken,
  // a bounded number of gets after the writer ended: two suffice when it is not.
  for (;;) {
    const CachedGet r = reader_side.get_cached("counter", reader, &kept);
    ASSERT_NE(r, CachedGet::kAbsent);
    if (r == CachedGet::kRead) {
      ++read;
    } else {
      ++held;
    }
    char *end = nullptr;
    const long n = std::strtol(kept.value.c_str(), &end, 10);
    bad += *end != '\0' || n < 0 || n > kWrites;
    backwards += n < last;
    last = std::max(last, n);
    if (done.load() && ((last == kWrites && held > 0) || ++after_done > 1000)) {
      break;
    }
  }
  writer.join();
  EXPECT_EQ(bad, 0) << "a value nobody wrote";
  EXPECT_EQ(backwards, 0) << "a held value older than one read before it";
  EXPECT_GT(held, 0);
  EXPECT_GT(read, 0);
  EXPECT_EQ(reader_side.get_cached("counter", reader, &kept), CachedGet::kHeld);
  EXPECT_EQ(kept.value, std::to_string(kWrites));
}

// One-thread handles, one per thread, on one table (the Node package's shape with
// worker threads): writes from every thread keep their spares with plain loads and
// stores, values stay whole, no key is held twice, and once every handle has closed
// every buffer is in a slot or on the free list (recover() finds nothing to reclaim).
TEST(ThreadsOneThread, OneThreadHandlesOnePerThreadKeepTheTableWhole) {
  ScopedName name("lfonethread");
  Options shared;
  shared.name = name.str();
  shared.capacity = 128;
  LockFreeTable keeper(shared); // holds the table between the threads' handles
  Options o = shared;
  o.one_thread = true;
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      LockFreeTable t(o);
      const std::string me = "t" + std::to_string(th);
      for (int i = 0; i < 5000; ++i) {
        const std::string key = "hot" + std::to_string(i % 8);
        if ((i + th) % 5 == 4) {
          t.erase(key);
        } else if ((i + th) % 5 == 3) {
          if (auto v = t.get(key); v && !value_is_intact(*v)) {
            ++torn;
          }
        } else {
          t.set(key, checked_value(me, static_cast<std::uint64_t>(i),
                                   static_cast<std::size_t>(i % 100)));
        }
      }
    });
  }
  for (auto &th : threads) {
    th.join();
  }
  EXPECT_EQ(torn.load(), 0);
  const auto keys = keeper.keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
  EXPECT_EQ(keys.size(), keeper.size());
  const RecoveryReport r = keeper.recover();
  EXPECT_EQ(r.buffers_reclaimed, 0u);
  EXPECT_EQ(r.spares_cleared, 0u);
  EXPECT_EQ(r.duplicate_keys, 0u);
}

// A one-thread handle handed from thread to thread, each hand-over a join: the
// caller's synchronization carries the spare (kept with plain loads and stores) from
// one thread's writes to the next one's (ThreadSanitizer checks the edges).
TEST(ThreadsOneThread, AOneThreadHandleHandedOnByJoinsKeepsItsValues) {
  ScopedName name("lfhandon");
  Options o;
  o.name = name.str();
  o.capacity = 64;
  LockFreeTable keeper(o); // holds the table for the check after t closes
  o.one_thread = true;
  LockFreeTable t(o);
  for (int th = 0; th < 4; ++th) {
    std::thread([&, th] {
      for (int i = 0; i < 200; ++i) {
        t.set("k" + std::to_string(i % 8), "t" + std::to_string(th) + ":" + std::to_string(i));
      }
    }).join();
  }
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(t.get("k" + std::to_string(i)), "t3:" + std::to_string(192 + i));
  }
  t.close(); // its spare goes back to the table
  const RecoveryReport r = keeper.recover();
  EXPECT_EQ(r.buffers_reclaimed, 0u);
  EXPECT_EQ(r.entries, 8u);
}

} // namespace
} // namespace shmtable::test
