// The lock-free engine's own claims, across processes: nothing touched at creation,
// no duplicate keys under racing inserts, churn never fills, SIGKILLed writers block
// nobody and tear nothing, and recover() reclaims what they leaked.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "buffer_pool.hpp"
#include "cas128.hpp"
#include "key_hash.hpp"
#include "lockfree_layout.hpp"
#include "params.hpp"
#include "planted.hpp"
#include "shmtable/shmtable.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

Options named(const std::string &name, std::uint64_t capacity) {
  Options o;
  o.name = name;
  o.capacity = capacity;
  return o;
}

TEST(LockFree, ThisBuildCarriesNoPlantedBug) {
  EXPECT_EQ(detail::lockfree::planted_bug_name(), "none");
}

TEST(LockFree, ATenMillionSlotTableIsCreatedAndAttachedWithoutTouchingASlot) {
  ScopedName name("lf10m");
  const Options o = named(name.str(), 10'000'000);
  if (const auto free = shm_free_bytes(); free && *free < 4'000'000'000) {
    GTEST_SKIP() << "/dev/shm has " << *free << " bytes free, less than this sparse table's size";
  }
  LockFreeTable creator(o);
  ASSERT_TRUE(creator.created());
  LockFreeTable opener(o);
  EXPECT_FALSE(opener.created());
  EXPECT_GT(creator.layout().total_bytes, 3'000'000'000u); // words + record buffers
  EXPECT_LE(resident_pages(name.dev_path()), 1u) << "only the header page may exist";
  const pid_t child = spawn([&] {
    LockFreeTable t(o);
    return t.created() || t.size() != 0 ? 1 : 0;
  });
  EXPECT_EQ(exit_code(child), 0);
  EXPECT_LE(resident_pages(name.dev_path()), 1u);
  creator.set("one", "key"); // and it works: one word page, one record page
  EXPECT_EQ(opener.get("one"), "key");
  EXPECT_LE(resident_pages(name.dev_path()), 4u);
}

// The control word is read in one 16-byte load exactly where the CPU guarantees it is
// atomic (AVX reported), and lo/hi/lo when asked to; both read what the other wrote.
TEST(LockFree, AControlWordIsReadInOneLoadOnlyWhereTheCpuMakesItAtomic) {
  ScopedName name("lfload");
  LockFreeTable::force_split_control_load(false);
  LockFreeTable best(named(name.str(), 64));
  EXPECT_EQ(best.control_load() == LockFreeTable::ControlLoad::kVector,
            detail::lockfree::cpu_has_atomic_vector_load());
  LockFreeTable::force_split_control_load(true);
  LockFreeTable split(named(name.str(), 64));
  LockFreeTable::force_split_control_load(false);
  EXPECT_EQ(split.control_load(), LockFreeTable::ControlLoad::kSplit);
  best.set("a", "written by the vector-load handle");
  split.set("b", "written by the split-load handle");
  EXPECT_EQ(split.get("a"), "written by the vector-load handle");
  EXPECT_EQ(best.get("b"), "written by the split-load handle");
  // The same snapshot through both loads, on a word with every field set.
  detail::lockfree::Word128 w{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(detail::lockfree::load128(&w), w);
  EXPECT_EQ(detail::lockfree::load128_vector(&w), w);
}

TEST(LockFree, HomeSlotsAreInRangeAndEvenAtEveryCapacity) {
  // home_of() scales the hash's 48 bits below the fingerprint: every capacity, from 1 to
  // past 2^32, gets homes inside it; a small one gets each home about equally often.
  for (const std::uint64_t cap :
       {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{1000},
        std::uint64_t{13334}, (std::uint64_t{1} << 32) + 7}) {
    for (const std::uint64_t h : {std::uint64_t{0}, ~std::uint64_t{0},
                                  std::uint64_t{0x0000ffffffffffff}, std::uint64_t{1} << 47}) {
      EXPECT_LT(detail::lockfree::home_of(h, cap), cap) << "hash " << h << ", capacity " << cap;
    }
  }
  constexpr std::uint64_t kCap = 97;
  std::vector<int> hits(kCap, 0);
  constexpr int kKeys = 97 * 400;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "key:" + std::to_string(i);
    ++hits[detail::lockfree::home_of(detail::lockfree::key_hash(key.data(), key.size(), 1), kCap)];
  }
  for (std::uint64_t s = 0; s < kCap; ++s) {
    EXPECT_GT(hits[s], 300) << "home " << s; // 400 expected; 5 standard deviations off
    EXPECT_LT(hits[s], 500) << "home " << s;
  }
}

// get_cached: read once, then held while the entry is unchanged; any change of the
// entry (an update, even to the same bytes; an erase and re-insert) makes it read again.
TEST(LockFree, GetCachedHoldsOnlyWhileTheEntryIsUnchanged) {
  ScopedName name("lfcached");
  LockFreeTable t(named(name.str(), 64));
  KeptValue kept;
  const CachingReader &reader = KeptValue::kReader;
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kAbsent);
  t.set("k", "one");
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kRead);
  EXPECT_EQ(kept.value, "one");
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kHeld);
  t.set("k", "one"); // the same bytes, a new entry
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kRead);
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kHeld);
  t.set("k", "two");
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kRead);
  EXPECT_EQ(kept.value, "two");
  ASSERT_TRUE(t.erase("k"));
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kAbsent);
  t.set("k", "three"); // very likely the same slot again: its version has moved on
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kRead);
  EXPECT_EQ(kept.value, "three");
  // Two updates between reads: a writer's spare alternates between two buffers, so the
  // slot names the kept value's buffer again, holding another value; only the version
  // tells them apart (the planted bug cache_by_buffer keeps by buffer).
  t.set("k", "five");
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kRead);
  t.set("k", "six");
  t.set("k", "seven");
  EXPECT_EQ(t.get_cached("k", reader, &kept), CachedGet::kRead);
  EXPECT_EQ(kept.value, "seven");
  // Another key is never answered from this one's kept value.
  t.set("other", "four");
  EXPECT_EQ(t.get_cached("other", reader, &kept), CachedGet::kRead);
  EXPECT_EQ(kept.value, "four");
}

// get_many answers each key as get() does, in the caller's order, through both
// control-word loads; an oversize key fails the call before anything is read.
TEST(LockFree, GetManyAnswersEachKeyAsGetDoes) {
  for (const bool split : {false, true}) {
    ScopedName name(split ? "lfmany-s" : "lfmany-v");
    LockFreeTable::force_split_control_load(split);
    LockFreeTable t(named(name.str(), 4096));
    LockFreeTable::force_split_control_load(false);
    std::vector<std::string> keys;
    for (int i = 0; i < 3000; ++i) {
      keys.push_back("key:" + std::to_string(i));
      if (i % 3 != 0) {
        t.set(keys.back(), std::string(static_cast<std::size_t>(i % 200), 'a' + i % 26));
      }
    }
    keys.push_back(std::string("with\0nul", 8));
    t.set(keys.back(), std::string("\xff\x00binary", 8));
    const std::vector<std::string_view> views(keys.begin(), keys.end());
    const auto got = t.get_many(views);
    ASSERT_EQ(got.size(), keys.size());
    std::size_t present = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(got[i], t.get(keys[i])) << keys[i];
      present += got[i] ? 1 : 0;
    }
    EXPECT_EQ(present, t.size());
    EXPECT_EQ(t.get_many(std::span<const std::string_view>()).size(), 0u);
    const std::string big(t.max_key_bytes() + 1, 'k');
    const std::string_view bad[] = {"key:1", big};
    try {
      t.get_many(bad);
      ADD_FAILURE() << "an oversize key was accepted";
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), Errc::kKeyTooLarge);
    }
  }
}

// Under writers that keep replacing and erasing values, every value get_many reports is
// one that was written whole, and ascii says the truth about it.
TEST(LockFree, GetManyUnderConcurrentWritersReturnsOnlyWholeValues) {
  ScopedName name("lfmanyrace");
  LockFreeTable t(named(name.str(), 256));
  std::vector<std::string> keys;
  for (int i = 0; i < 64; ++i) {
    keys.push_back("hot:" + std::to_string(i));
  }
  const auto value_of = [](char tag, std::size_t n) { return std::string(n, tag); };
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      LockFreeTable mine(named(name.str(), 0)); // a handle of its own, with its own spare
      std::mt19937 rng(static_cast<unsigned>(w));
      while (!stop.load()) {
        const std::string &k = keys[rng() % keys.size()];
        if (rng() % 8 == 0) {
          mine.erase(k);
        } else {
          const char tag = static_cast<char>(rng() % 2 == 0 ? 'a' + rng() % 26 : 0xe9);
          mine.set(k, value_of(tag, 1 + rng() % 250));
        }
      }
    });
  }
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  struct Seen {
    std::vector<std::optional<std::string>> values;
    std::vector<bool> ascii;
  } seen{std::vector<std::optional<std::string>>(keys.size()), std::vector<bool>(keys.size())};
  for (int round = 0; round < 3000; ++round) {
    t.get_many(
        views,
        [](void *ctx, std::size_t i, const ValueView &v) {
          auto *s = static_cast<Seen *>(ctx);
          if (v.bytes == nullptr) {
            s->values[i].reset();
          } else {
            s->values[i].emplace(v.bytes, v.size);
            s->ascii[i] = v.ascii;
          }
        },
        &seen);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!seen.values[i]) {
        continue;
      }
      const std::string &v = *seen.values[i];
      ASSERT_FALSE(v.empty());
      ASSERT_EQ(v, value_of(v[0], v.size())) << "a torn value for " << keys[i];
      ASSERT_EQ(seen.ascii[i], static_cast<unsigned char>(v[0]) < 0x80) << keys[i];
      seen.values[i].reset();
    }
  }
  stop = true;
  for (auto &w : writers) {
    w.join();
  }
}

// Opening a Table with `o` fails with kInvalidArgument naming `field` (an option of the
// other engine), before any segment is touched.
template <class Table> void expect_refused_naming(const Options &o, const std::string &field) {
  try {
    Table t(o);
    ADD_FAILURE() << field << " was accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(field + ":"), std::string::npos) << e.what();
  }
}

TEST(LockFree, RobustIsRefusedWithAClearError) {
  ScopedName name("lfrobust");
  Options o = named(name.str(), 64);
  o.robust = true;
  expect_refused_naming<LockFreeTable>(o, "robust");
}

TEST(LockFree, OneThreadIsRefusedByMutexTableWithAClearError) {
  ScopedName name("mxonethread");
  Options o = named(name.str(), 64);
  o.one_thread = true;
  expect_refused_naming<MutexTable>(o, "one_thread");
}

// Processes race set_if_absent on the same sequence of keys, on a table whose free
// slots are scattered by erased fillers: each key is won exactly once and lives in
// exactly one slot.
TEST(LockFree, ProcessesRacingToInsertOneKeyLeaveExactlyOneEntry) {
  ScopedName name("lfrace");
  const Options o = named(name.str(), 8192);
  LockFreeTable t(o);
  constexpr int kProcs = 4;
  constexpr int kRounds = 4000;
  Gate gate;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    kids.push_back(spawn([&, p] {
      LockFreeTable c(o);
      gate.wait();
      for (int r = 0; r < kRounds; ++r) {
        const std::string key = "race:" + std::to_string(r);
        if (c.set_if_absent(key, "p" + std::to_string(p))) {
          c.add("wins", 1);
        }
        c.set("filler:" + std::to_string(p) + ":" + std::to_string(r % 5), "x");
        c.erase("filler:" + std::to_string(p) + ":" + std::to_string((r + 2) % 5));
      }
      return 0;
    }));
  }
  gate.open();
  for (pid_t k : kids) {
    EXPECT_EQ(exit_code(k), 0);
  }
  EXPECT_EQ(t.get("wins"), std::to_string(kRounds)) << "set_if_absent won other than once";
  const auto keys = t.keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size())
      << "duplicate keys";
  const RecoveryReport r = t.recover();
  EXPECT_EQ(r.duplicate_keys, 0u);
  EXPECT_EQ(r.corrupt_slots, 0u);
  EXPECT_EQ(r.pending_cleared, 0u) << "a finished inserter left a reservation";
  EXPECT_EQ(r.buffers_reclaimed, 0u) << "a finished operation leaked a buffer";
  EXPECT_EQ(r.entries, keys.size());
}

// Distinct keys inserted and erased forever at load factor 0.5, from two processes.
TEST(LockFree, ChurnAtHalfLoadFromTwoProcessesNeverReportsFull) {
  ScopedName name("lfchurn");
  const Options o = named(name.str(), 512);
  LockFreeTable t(o);
  constexpr int kLive = 128; // per process: 256 of 512 slots
  std::vector<pid_t> kids;
  for (int p = 0; p < 2; ++p) {
    kids.push_back(spawn([&, p] {
      LockFreeTable c(o);
      for (int i = 0; i < 60000; ++i) {
        c.set("p" + std::to_string(p) + ":" + std::to_string(i), "v");
        if (i >= kLive) {
          if (!c.erase("p" + std::to_string(p) + ":" + std::to_string(i - kLive))) {
            return 2;
          }
        }
      }
      return 0;
    }));
  }
  for (pid_t k : kids) {
    EXPECT_EQ(exit_code(k), 0) << "1 and 99 mean an error (table_full), 2 a lost key";
  }
  EXPECT_EQ(t.size(), 2u * kLive);
  const RecoveryReport r = t.recover();
  EXPECT_EQ(r.entries, 2u * kLive);
  EXPECT_EQ(r.buffers_reclaimed, 0u);
}

// A second read-write mapping of a table's segment, to plant by hand what a crash or a
// stray write would leave, through the documented layout (src/lockfree_layout.hpp).
class RawSegment {
public:
  RawSegment(const std::string &path, const LockFreeTable &t) : lay_(t.layout()) {
    const int fd = ::open(path.c_str(), O_RDWR);
    if (fd < 0) {
      throw std::runtime_error("open " + path);
    }
    base_ = static_cast<std::byte *>(
        ::mmap(nullptr, lay_.total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    ::close(fd);
    if (base_ == MAP_FAILED) {
      throw std::runtime_error("mmap " + path);
    }
    const std::uint64_t records = detail::lockfree::records_offset_for(lay_);
    const auto record_bytes = static_cast<std::uint32_t>(
        detail::lockfree::record_bytes_for(lay_.params.max_key_bytes, lay_.params.max_value_bytes));
    auto *control =
        reinterpret_cast<detail::lockfree::LockFreeControl *>(base_ + lay_.control_offset);
    pool_ = detail::lockfree::BufferPool(&control->pool, base_ + records, record_bytes,
                                         t.buffer_count());
  }
  RawSegment(const RawSegment &) = delete;
  RawSegment &operator=(const RawSegment &) = delete;
  ~RawSegment() { ::munmap(base_, lay_.total_bytes); }

  const detail::lockfree::BufferPool &pool() const { return pool_; }

  // Makes the first free slot hold {state, fp, buffer}, as one CAS would.
  void occupy_first_free(std::uint64_t state, std::uint64_t fp, std::uint32_t buffer) {
    auto *words = reinterpret_cast<detail::lockfree::Word128 *>(base_ + lay_.slots_offset);
    for (std::uint64_t slot = 0;; ++slot) {
      detail::lockfree::Ctrl c{detail::lockfree::load128(&words[slot])};
      if (c.state() == detail::lockfree::kFree) {
        ASSERT_TRUE(detail::lockfree::cas128(&words[slot], c.w, c.with_entry(state, fp, buffer).w));
        return;
      }
    }
  }

  detail::lockfree::Word128 *word(std::uint64_t slot) const {
    return reinterpret_cast<detail::lockfree::Word128 *>(base_ + lay_.slots_offset) + slot;
  }
  // The record of the live entry in `slot`.
  std::uint64_t *record_at(std::uint64_t slot) const {
    const detail::lockfree::Ctrl c{detail::lockfree::load128(word(slot))};
    EXPECT_EQ(c.state(), detail::lockfree::kLive) << "slot " << slot;
    return pool_.words(c.buffer());
  }
  // The first live slot whose record's key is `n` bytes long; capacity if none.
  std::uint64_t live_slot_with_key_bytes(std::uint32_t n) const {
    for (std::uint64_t s = 0; s < lay_.params.capacity; ++s) {
      if (detail::lockfree::Ctrl{detail::lockfree::load128(word(s))}.state() ==
              detail::lockfree::kLive &&
          (record_at(s)[0] & 0xffffffffu) == n) {
        return s;
      }
    }
    return lay_.params.capacity;
  }
  // Moves the entry in `from` to the free slot `to`, as a stray writer could.
  void move_entry(std::uint64_t from, std::uint64_t to) {
    detail::lockfree::Ctrl src{detail::lockfree::load128(word(from))};
    detail::lockfree::Ctrl dst{detail::lockfree::load128(word(to))};
    ASSERT_EQ(dst.state(), detail::lockfree::kFree);
    ASSERT_TRUE(detail::lockfree::cas128(
        word(to), dst.w, dst.with_entry(src.state(), src.fingerprint(), src.buffer()).w));
    ASSERT_TRUE(detail::lockfree::cas128(word(from), src.w, src.freed().w));
  }

private:
  Layout lay_;
  std::byte *base_ = nullptr;
  detail::lockfree::BufferPool pool_;
};

// The `nth` key (of "k0", "k1", ...) whose probe starts at `home`.
std::string key_homed_at(const LockFreeTable &t, std::uint64_t home, int nth = 0) {
  for (int i = 0;; ++i) {
    std::string k = "k" + std::to_string(i);
    if (t.home_slot(k) == home && nth-- == 0) {
      return k;
    }
  }
}

// A stray write that puts an entry farther from its home than any probe goes (and than
// a bound field can say): recover() frees it as corrupt, and neither its home's bound nor
// anything sharing that word with the bound is harmed; a second recover() finds nothing.
TEST(LockFree, RecoverFreesAnEntryBeyondTheProbeLimitAndKeepsItsNeighbours) {
  ScopedName name("lffar");
  LockFreeTable t(named(name.str(), 40000));
  const std::uint64_t h = 100;
  const std::string k0 = key_homed_at(t, h);
  const std::string k1 = key_homed_at(t, h, 1); // same home: it lands in h + 1
  t.set(k0, "zero");
  t.set(k1, "one");
  RawSegment raw(name.dev_path(), t);
  ASSERT_EQ(detail::lockfree::Ctrl{detail::lockfree::load128(raw.word(h + 1))}.state(),
            detail::lockfree::kLive);
  raw.move_entry(h + 1, h + 20000); // 20000 steps from its home: past max_distance 16383
  const detail::lockfree::Ctrl before{detail::lockfree::load128(raw.word(h))};
  const RecoveryReport r = t.recover();
  EXPECT_EQ(r.corrupt_slots, 1u);
  EXPECT_EQ(r.entries, 1u);
  EXPECT_EQ(t.get(k0), "zero");
  EXPECT_EQ(t.get(k1), std::nullopt);
  const detail::lockfree::Ctrl after{detail::lockfree::load128(raw.word(h))};
  EXPECT_EQ(after.fingerprint(), before.fingerprint());
  EXPECT_EQ(after.buffer(), before.buffer());
  const RecoveryReport again = t.recover();
  EXPECT_EQ(again.corrupt_slots + again.bounds_raised + again.bounds_lowered, 0u)
      << "recover() is idempotent";
  EXPECT_EQ(t.get(k0), "zero");
}

// The bound field is clamped where it is written: an out-of-range bound cannot spill into
// the fingerprint or the buffer index, nor wrap to a smaller bound.
TEST(LockFree, ABoundIsWrittenWithinItsField) {
  const detail::lockfree::Ctrl c{{7, (std::uint64_t{0x2bcc} << detail::lockfree::kFpShift) |
                                         (std::uint64_t{42} << detail::lockfree::kBufferShift) |
                                         detail::lockfree::kLive}};
  const detail::lockfree::Ctrl b = c.with_bound(detail::lockfree::kMaxBound + 5);
  EXPECT_EQ(b.fingerprint(), 0x2bccu);
  EXPECT_EQ(b.buffer(), 42u);
  EXPECT_EQ(b.state(), detail::lockfree::kLive);
  EXPECT_EQ(b.bound(), detail::lockfree::kMaxBound) << "clamped: a smaller bound would hide keys";
}

// The fuzzer's finding: garbage in a key's zero padding hid the key from get() (whole-word
// compare) while keys() listed it, and a later set() made a duplicate. Now keys() lists
// only what get() finds, and recover() zeroes the padding, so the key is back, once.
TEST(LockFree, AKeyWithGarbageInItsPaddingIsNeverListedUnreadableAndRecoverRepairsIt) {
  ScopedName name("lfpad");
  LockFreeTable t(named(name.str(), 64));
  t.set("abc", "value");
  t.set("other", "kept");
  RawSegment raw(name.dev_path(), t);
  const std::uint64_t slot = raw.live_slot_with_key_bytes(3);
  ASSERT_LT(slot, t.capacity());
  raw.record_at(slot)[detail::lockfree::kKeyWord] |= std::uint64_t{0x5a}
                                                     << 40; // byte 5 of the key word: padding
  EXPECT_EQ(t.get("abc"), std::nullopt);
  EXPECT_EQ(t.keys(), std::vector<std::string>{"other"}) << "keys() agrees with get()";
  const RecoveryReport r = t.recover();
  EXPECT_EQ(r.keys_repaired, 1u);
  EXPECT_EQ(r.corrupt_slots, 0u);
  EXPECT_EQ(r.entries, 2u);
  EXPECT_EQ(t.get("abc"), "value");
  t.set("abc", "again");
  EXPECT_EQ(t.get("abc"), "again");
  const RecoveryReport again = t.recover();
  EXPECT_EQ(again.duplicate_keys + again.keys_repaired, 0u);
  EXPECT_EQ(again.entries, 2u);

  // Hidden by its padding, the key was set again: a clean twin holds the current value.
  // The padded record is stale: recover() frees it, and the current value stays. The
  // twin is made through a handle that has not written "abc": t's key memo knows the
  // slot by its epoch, and its set would overwrite the padded record instead.
  const std::uint64_t twin = raw.live_slot_with_key_bytes(3);
  ASSERT_LT(twin, t.capacity());
  raw.record_at(twin)[detail::lockfree::kKeyWord] |= std::uint64_t{0x5a} << 40;
  EXPECT_EQ(t.get("abc"), std::nullopt);
  {
    LockFreeTable fresh(named(name.str(), 64));
    fresh.set("abc", "current");
  }
  const RecoveryReport stale = t.recover();
  EXPECT_EQ(stale.corrupt_slots, 1u);
  EXPECT_EQ(stale.keys_repaired, 0u);
  EXPECT_EQ(stale.duplicate_keys, 0u);
  EXPECT_EQ(stale.entries, 2u);
  EXPECT_EQ(t.get("abc"), "current");
  EXPECT_TRUE(t.erase("abc"));
  EXPECT_EQ(t.get("abc"), std::nullopt) << "no stale twin reappears";
}

// M1, M2 (src/key_memo.hpp): a handle's key memo knows a slot by its epoch. When the
// slot is erased and re-bound to another key with the same home and fingerprint, the
// memo must not take it for the first key's: a set of that key inserts it anew and the
// other key keeps its value (the planted bug reserve_keeps_epoch breaks exactly this).
TEST(LockFree, AKeyMemoNeverTakesASlotReboundToAnotherKey) {
  ScopedName name("lfmemo");
  LockFreeTable a(named(name.str(), 64));
  LockFreeTable b(named(name.str(), 64));
  const std::string k = "memo-key";
  std::string j; // another key with k's home and fingerprint, as the table computes them
  for (std::uint64_t i = 0; j.empty(); ++i) {
    const std::string c = "other-" + std::to_string(i);
    if (a.fingerprint(c) == a.fingerprint(k) && a.home_slot(c) == a.home_slot(k)) {
      j = c;
    }
  }
  a.set(k, "1"); // a's memo: k's slot, this epoch
  a.set(k, "2"); // through the memo
  ASSERT_TRUE(b.erase(k));
  b.set(j, "other"); // the same slot, a new epoch
  a.set(k, "3");     // must not take j's slot for k's
  EXPECT_EQ(a.get(j), "other");
  EXPECT_EQ(b.get(k), "3");
  EXPECT_EQ(a.size(), 2u);
  a.set(k, "4"); // the memo's new entry, and j's
  EXPECT_TRUE(a.erase(j));
  EXPECT_EQ(b.get(k), "4");
  EXPECT_EQ(b.get(j), std::nullopt);
}

// A record corrupted under a key that a handle's memo knows (garbage in its key padding):
// reads no longer find it, the memo still does. A read-modify-write of the key must end
// (its find reads records, its insert's scan could ask the memo: after one withdrawal
// the operation decides from the records alone), and it makes the key anew, as a set
// through any other handle would (papers/protocol.md, section 12).
TEST(LockFree, AWriteEndsWhenTheMemoAndACorruptedRecordDisagree) {
  ScopedName name("lfmemopad");
  LockFreeTable t(named(name.str(), 64));
  t.set("abc", "5");
  t.set("abc", "6"); // memoized
  RawSegment raw(name.dev_path(), t);
  const std::uint64_t slot = raw.live_slot_with_key_bytes(3);
  ASSERT_LT(slot, t.capacity());
  raw.record_at(slot)[detail::lockfree::kKeyWord] |= std::uint64_t{0x5a}
                                                     << 40; // padding: reads miss it now
  EXPECT_EQ(t.add("abc", 1), 1);                            // absent to the read: made anew
  EXPECT_EQ(t.get("abc"), "1");
  EXPECT_EQ(t.recover().corrupt_slots, 1u); // the padded one is stale: freed
  EXPECT_EQ(t.get("abc"), "1");
}

// What a dead inserter leaves: a reservation naming a buffer, and a buffer taken from
// the pool and never published.
TEST(LockFree, RecoverReclaimsWhatADeadWriterLeft) {
  ScopedName name("lfleak");
  LockFreeTable t(named(name.str(), 64));
  t.set("kept", "1");
  {
    RawSegment raw(name.dev_path(), t);
    (void)*raw.pool().pop();                          // a writer died holding this one
    const std::uint32_t reserved = *raw.pool().pop(); // an inserter died after reserving
    raw.occupy_first_free(detail::lockfree::kPending, 7, reserved);
  }
  const RecoveryReport r = t.recover();
  EXPECT_EQ(r.pending_cleared, 1u);
  EXPECT_EQ(r.buffers_reclaimed, 2u);
  EXPECT_EQ(r.entries, 1u);
  EXPECT_EQ(t.get("kept"), "1");
  const RecoveryReport again = t.recover();
  EXPECT_EQ(again.pending_cleared + again.buffers_reclaimed, 0u) << "recover() is idempotent";
}

// A control word naming a buffer that does not exist (a stray write into the segment):
// every operation refuses to use the index, and recover() frees the slot.
TEST(LockFree, ACorruptedBufferIndexIsNeverUsed) {
  ScopedName name("lfcorrupt");
  LockFreeTable t(named(name.str(), 64));
  t.set("kept", "1");
  RawSegment raw(name.dev_path(), t);
  raw.occupy_first_free(detail::lockfree::kLive, 1, 0xfffffff0u);
  EXPECT_EQ(t.keys(), std::vector<std::string>{"kept"});
  EXPECT_EQ(t.get("kept"), "1");
  EXPECT_EQ(t.recover().corrupt_slots, 1u);
  raw.occupy_first_free(detail::lockfree::kLive, 1, 0xfffffff0u);
  t.clear(); // frees the word without touching the impossible buffer
  EXPECT_EQ(t.keys().size(), 0u);

  // The same corruption in the word of a key that t's key memo knows (only the buffer
  // field, so the epoch still matches): the memo's answer comes after the bounds check,
  // so neither a set (whose buffer would be released) nor an erase uses the index.
  t.set("known", "1");
  t.set("known", "2"); // memoized by both writes, and t now holds a spare
  const std::uint64_t slot = raw.live_slot_with_key_bytes(5);
  ASSERT_LT(slot, t.capacity());
  detail::lockfree::Word128 *w = raw.word(slot);
  detail::lockfree::Ctrl c{detail::lockfree::load128(w)};
  const detail::lockfree::Word128 bad{c.w.lo,
                                      (c.w.hi & 0xffffffffULL) | (std::uint64_t{0x7fffffff} << 32)};
  ASSERT_TRUE(detail::lockfree::cas128(w, c.w, bad));
  EXPECT_FALSE(t.erase("known")); // the corrupted slot is nobody's
  t.set("known", "3");            // a new entry elsewhere
  EXPECT_EQ(t.get("known"), "3");
  EXPECT_EQ(t.recover().corrupt_slots, 1u);
}

// Writers SIGKILLed at random moments, many times, while a survivor keeps reading and
// writing the same hot keys: the survivor finishes (nothing blocks it), never sees a
// torn value, and recover() finds a consistent table and reclaims every leak.
TEST(LockFree, WritersKilledMidOperationBlockNobodyAndRecoverReclaimsTheLeaks) {
  ScopedName name("lfkill");
  const Options o = named(name.str(), 64);
  LockFreeTable t(o);
  const auto writer = [&](const std::string &me, bool survivor) {
    LockFreeTable c(o);
    for (int i = 0;; ++i) {
      if (survivor && i % 1000 == 0 && c.contains("stop")) {
        return 0; // the parent is done killing
      }
      const std::string key = "hot" + std::to_string(i % 6);
      switch (i % 7) {
      case 0:
      case 1:
        c.set(key,
              checked_value(me, static_cast<std::uint64_t>(i), static_cast<std::size_t>(i % 150)));
        break;
      case 2:
        c.erase(key);
        break;
      case 3:
        c.add("count" + std::to_string(i % 2), 1);
        break;
      case 4:
        c.set_if_absent(key, checked_value(me, static_cast<std::uint64_t>(i)));
        break;
      default:
        if (auto v = c.get(key); v && !value_is_intact(*v)) {
          std::fprintf(stderr, "%s saw a torn value: %s\n", me.c_str(), v->c_str());
          return 1;
        }
      }
    }
  };
  const pid_t survivor = spawn([&] { return writer("survivor", true); });
  std::mt19937 rng(12345);
  int kills = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<pid_t> victims;
    for (int v = 0; v < 2; ++v) {
      victims.push_back(spawn([&, v] { return writer("victim" + std::to_string(v), false); }));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 8000));
    for (pid_t v : victims) {
      ::kill(v, SIGKILL);
      int status = 0;
      ::waitpid(v, &status, 0);
      kills += WIFSIGNALED(status) ? 1 : 0;
    }
  }
  t.set("stop", "1");
  EXPECT_EQ(exit_code(survivor, std::chrono::seconds(120)), 0)
      << "the survivor was blocked or saw a torn value";
  EXPECT_GE(kills, 70);
  for (const auto &k : t.keys()) {
    const auto v = t.get(k);
    ASSERT_TRUE(v.has_value()) << k;
    if (k.rfind("hot", 0) == 0) { // (count0/1 hold numbers, "stop" a flag)
      EXPECT_TRUE(value_is_intact(*v)) << k << " = " << *v;
    }
  }
  const RecoveryReport r = t.recover();
  std::printf("recover after %d kills: %llu buffers reclaimed, %llu reservations cleared, "
              "%llu bounds lowered\n",
              kills, static_cast<unsigned long long>(r.buffers_reclaimed),
              static_cast<unsigned long long>(r.pending_cleared),
              static_cast<unsigned long long>(r.bounds_lowered));
  EXPECT_EQ(r.duplicate_keys, 0u);
  EXPECT_EQ(r.corrupt_slots, 0u);
  EXPECT_EQ(r.bounds_raised, 0u) << "a key lay beyond its home's bound (I1)";
  EXPECT_LE(r.buffers_reclaimed, 2u * static_cast<std::uint64_t>(kills))
      << "at most two per crash: the operation's and the handle's spare";
  EXPECT_LE(r.spares_cleared, static_cast<std::uint64_t>(kills));
  EXPECT_LE(r.pending_cleared, static_cast<std::uint64_t>(kills));
  EXPECT_EQ(r.entries, t.keys().size());
  const RecoveryReport again = t.recover();
  EXPECT_EQ(again.buffers_reclaimed + again.pending_cleared, 0u);
  // Every buffer is accounted for again: the whole capacity fits.
  t.clear();
  for (std::uint64_t i = 0; i < t.capacity(); ++i) {
    t.set("fill:" + std::to_string(i), std::string(200, 'f'));
  }
  EXPECT_EQ(t.size(), t.capacity());
}

} // namespace
} // namespace shmtable::test
