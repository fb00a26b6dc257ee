// inspect() and inspect_segment(): read-only looks at a table. What a healthy table
// reports on every engine (counts, probe lengths, alone or not, beside a writer), what
// each engine's corruption and crash leftovers look like when planted by hand through
// the documented layouts, and that neither look changes, locks or removes anything.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "buffer_pool.hpp"
#include "cas128.hpp"
#include "engines.hpp"
#include "lockfree_layout.hpp"
#include "mutex_layout.hpp"
#include "shmtable/shmtable.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

using Kind = InspectionFinding::Kind;

std::string findings_text(const TableInspection &r) {
  std::string s;
  for (const auto &f : r.findings) {
    s += std::string(to_string(f.kind)) + " at " + std::to_string(f.slot) + ": " + f.message + "\n";
  }
  return s;
}

// What every inspection of a table that nobody damaged says.
void expect_clean(const TableInspection &r) {
  EXPECT_TRUE(r.consistent()) << findings_text(r);
  EXPECT_FALSE(r.needs_recovery()) << findings_text(r);
  EXPECT_TRUE(r.findings.empty()) << findings_text(r);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_EQ(r.live + r.free_slots + r.pending + r.corrupt, r.capacity);
  EXPECT_EQ(std::accumulate(r.probe_lengths.begin(), r.probe_lengths.end(), std::uint64_t{0}),
            r.live);
  EXPECT_TRUE(r.probe_lengths.empty() || r.probe_lengths.back() != 0) << "trimmed";
}

template <class E> class Inspect : public ::testing::Test {
protected:
  using Table = typename E::Table;
  Table open(const std::string &name, std::uint64_t capacity = 64) {
    Options o;
    o.name = name;
    o.capacity = capacity;
    E::configure(o);
    return Table(o);
  }
  // The `nth` key (of "k0", "k1", ...) whose probe starts at `home`.
  static std::string key_homed_at(const Table &t, std::uint64_t home, int nth = 0) {
    for (int i = 0;; ++i) {
      std::string k = "k" + std::to_string(i);
      if (t.home_slot(k) == home && nth-- == 0) {
        return k;
      }
    }
  }
};
TYPED_TEST_SUITE(Inspect, Engines, EngineNames);

TYPED_TEST(Inspect, AnEmptyTableIsCleanAndAlone) {
  ScopedName name("insp-empty");
  auto t = this->open(name.str());
  const TableInspection r = t.inspect();
  expect_clean(r);
  EXPECT_TRUE(r.alone);
  EXPECT_EQ(r.capacity, 64u);
  EXPECT_EQ(r.live, 0u);
  EXPECT_EQ(r.free_slots, 64u);
  EXPECT_EQ(r.counted_entries, 0u);
  EXPECT_TRUE(r.probe_lengths.empty());
  EXPECT_EQ(r.locks_held, 0u);
  EXPECT_EQ(r.buffers.has_value(), t.layout().params.engine == EngineKind::kLockFree);
}

TYPED_TEST(Inspect, CountsAndProbeLengthsAreWhatWasWritten) {
  ScopedName name("insp-fill");
  auto t = this->open(name.str());
  // Three keys of one home lie 0, 1 and 2 slots past it; the rest wherever they fall.
  const std::uint64_t home = 10;
  for (int i = 0; i < 3; ++i) {
    t.set(this->key_homed_at(t, home, i), "v" + std::to_string(i));
  }
  TableInspection r = t.inspect();
  expect_clean(r);
  EXPECT_EQ(r.live, 3u);
  EXPECT_EQ(r.probe_lengths, (std::vector<std::uint64_t>{1, 1, 1}));
  EXPECT_EQ(r.max_probe_length(), 2u);
  EXPECT_DOUBLE_EQ(r.mean_probe_length(), 1.0);
  if (r.buffers) {
    EXPECT_EQ(r.max_bound, 2u);
    EXPECT_EQ(r.slack_bounds, 0u);
  }
  for (int i = 0; i < 40; ++i) {
    t.set("key-" + std::to_string(i), std::string(static_cast<std::size_t>(i), 'x'));
  }
  r = t.inspect();
  expect_clean(r);
  EXPECT_TRUE(r.alone);
  EXPECT_EQ(r.live, 43u);
  EXPECT_EQ(r.live, t.size());
  EXPECT_EQ(r.counted_entries, t.size());
  if (r.buffers) {
    const BufferAccounting &b = *r.buffers;
    EXPECT_EQ(b.in_slots, 43u);
    EXPECT_EQ(b.total, LockFreeTable::buffers_for(64));
    EXPECT_EQ(b.handed_out, b.in_slots + b.free_listed + b.elsewhere);
    EXPECT_LE(b.elsewhere, 1u) << "at most this handle's spare";
  }
}

TYPED_TEST(Inspect, AnErasedSlotIsATombstoneOnlyBeforeAKeyInTheMutexEngine) {
  ScopedName name("insp-erase");
  auto t = this->open(name.str());
  const std::string a = this->key_homed_at(t, 20, 0);
  const std::string b = this->key_homed_at(t, 20, 1);
  t.set(a, "1");
  t.set(b, "2"); // one slot past a
  ASSERT_TRUE(t.erase(a));
  TableInspection r = t.inspect();
  expect_clean(r);
  EXPECT_EQ(r.live, 1u);
  EXPECT_EQ(r.probe_lengths, (std::vector<std::uint64_t>{0, 1}));
  const bool mutex = t.layout().params.engine == EngineKind::kMutex;
  EXPECT_EQ(r.tombstones, mutex ? 1u : 0u) << "a's slot keeps b reachable";
  ASSERT_TRUE(t.erase(b));
  r = t.inspect();
  expect_clean(r);
  EXPECT_EQ(r.tombstones, 0u) << "trailing tombstones become empty";
  EXPECT_EQ(r.free_slots, 64u);
}

TYPED_TEST(Inspect, AnotherHandleMakesItASnapshotWithoutFindings) {
  ScopedName name("insp-other");
  auto t = this->open(name.str());
  t.set("a", "1");
  {
    auto other = this->open(name.str());
    other.set("b", "2");
    const TableInspection r = t.inspect();
    EXPECT_FALSE(r.alone);
    expect_clean(r);
    EXPECT_EQ(r.live, 2u);
  }
  EXPECT_TRUE(t.inspect().alone) << "the other handle closed";
}

// A process writing and erasing hot keys while the walk runs again and again: no
// finding of corruption, ever (a racing write never looks like one), and the walk never
// writes (the writer's own checks of its values pass).
TYPED_TEST(Inspect, AWalkBesideAWriterFindsNoCorruption) {
  ScopedName name("insp-race");
  auto t = this->open(name.str(), 32);
  Gate go;
  const pid_t writer = spawn([&] {
    auto w = this->open(name.str(), 32);
    go.wait();
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(800);
    for (std::uint64_t i = 0; std::chrono::steady_clock::now() < end; ++i) {
      const std::string k = "hot-" + std::to_string(i % 12);
      if (i % 3 == 2) {
        w.erase(k);
      } else {
        w.set(k, checked_value("w", i));
      }
      if (const auto v = w.get("hot-0"); v && !value_is_intact(*v)) {
        return 1;
      }
    }
    return 0;
  });
  go.open();
  int walks = 0;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
       std::chrono::steady_clock::now() < end; ++walks) {
    const TableInspection r = t.inspect();
    ASSERT_TRUE(r.consistent()) << findings_text(r);
    EXPECT_LE(r.live, 12u);
  }
  EXPECT_EQ(exit_code(writer), 0);
  EXPECT_GT(walks, 10);
  const TableInspection r = t.inspect();
  EXPECT_TRUE(r.alone);
  expect_clean(r);
}

// ---- The lock-free engine, damaged by hand --------------------------------------------

Options lockfree_options(const std::string &name, std::uint64_t capacity = 64) {
  Options o;
  o.name = name;
  o.capacity = capacity;
  return o;
}

// A second read-write mapping of a lock-free table, to plant what a crash or a stray
// write would leave (src/lockfree_layout.hpp).
class RawLockFree {
public:
  RawLockFree(const std::string &path, const LockFreeTable &t)
      : g_(detail::lockfree::geometry_of(map(path, t.layout()), t.layout(), t.buffer_count())),
        bytes_(t.layout().total_bytes) {}
  RawLockFree(const RawLockFree &) = delete;
  RawLockFree &operator=(const RawLockFree &) = delete;
  ~RawLockFree() { ::munmap(base_, bytes_); }

  detail::lockfree::BufferPool pool() const {
    return {&g_.control()->pool, g_.records(), g_.record_bytes(), g_.buffer_count()};
  }
  detail::lockfree::Word128 *word(std::uint64_t slot) const { return g_.words() + slot; }
  detail::lockfree::Ctrl ctrl(std::uint64_t slot) const {
    return {detail::lockfree::load128(word(slot))};
  }
  void put(std::uint64_t slot, detail::lockfree::Ctrl desired) const {
    detail::lockfree::Ctrl c = ctrl(slot);
    ASSERT_TRUE(detail::lockfree::cas128(word(slot), c.w, desired.w));
  }
  std::uint64_t *record(std::uint32_t buffer) const { return pool().words(buffer); }
  detail::lockfree::LockFreeControl *control() const { return g_.control(); }

private:
  std::byte *map(const std::string &path, const Layout &lay) {
    const int fd = ::open(path.c_str(), O_RDWR);
    base_ = static_cast<std::byte *>(
        ::mmap(nullptr, lay.total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    ::close(fd);
    EXPECT_NE(base_, MAP_FAILED);
    return base_;
  }

  std::byte *base_ = nullptr;
  detail::lockfree::LockFreeGeometry g_;
  std::uint64_t bytes_;
};

// The slot where the live key `k` is, found by the probe the engine makes.
std::uint64_t slot_of(const RawLockFree &raw, const LockFreeTable &t, const std::string &k) {
  for (std::uint64_t d = 0; d < t.capacity(); ++d) {
    const std::uint64_t s = (t.home_slot(k) + d) % t.capacity();
    const auto c = raw.ctrl(s);
    if (c.state() == detail::lockfree::kLive && c.fingerprint() == t.fingerprint(k) &&
        (raw.record(c.buffer())[0] & 0xffffffffu) == k.size()) {
      return s;
    }
  }
  ADD_FAILURE() << "no slot holds " << k;
  return 0;
}

TEST(InspectLockFree, WhatADeadWriterLeftNeedsRecoveryAndIsNoCorruption) {
  ScopedName name("insp-lf-dead");
  LockFreeTable t(lockfree_options(name.str()));
  t.set("kept", "1");
  {
    RawLockFree raw(name.dev_path(), t);
    (void)*raw.pool().pop(); // a writer died holding this one
    const std::uint32_t reserved = *raw.pool().pop();
    const auto free_slot = (t.home_slot("kept") + 5) % t.capacity();
    raw.put(free_slot, raw.ctrl(free_slot).reserved(7, reserved)); // an inserter died here
    raw.control()->spares += 1;                                    // a handle died with a permit
  }
  TableInspection r = t.inspect();
  EXPECT_TRUE(r.alone);
  EXPECT_TRUE(r.consistent()) << findings_text(r);
  EXPECT_TRUE(r.needs_recovery());
  EXPECT_EQ(r.pending, 1u);
  EXPECT_EQ(r.count(Kind::kPendingSlot), 1u);
  EXPECT_EQ(r.count(Kind::kLeakedBuffers), 1u);
  EXPECT_EQ(r.count(Kind::kStalePermits), 1u);
  EXPECT_EQ(r.count(Kind::kCountMismatch), 0u);
  ASSERT_TRUE(r.buffers);
  EXPECT_EQ(r.buffers->in_slots, 2u);
  EXPECT_EQ(r.buffers->elsewhere, 1u);
  EXPECT_EQ(r.buffers->spare_permits, 1u);
  const RecoveryReport rec = t.recover();
  EXPECT_EQ(rec.pending_cleared, 1u);
  EXPECT_EQ(rec.buffers_reclaimed, 2u);
  r = t.inspect();
  expect_clean(r);
  EXPECT_EQ(r.live, 1u);
}

TEST(InspectLockFree, TheSameLeftoversBesideAnotherHandleAreWritesInFlight) {
  ScopedName name("insp-lf-flight");
  LockFreeTable t(lockfree_options(name.str()));
  LockFreeTable other(lockfree_options(name.str()));
  RawLockFree raw(name.dev_path(), t);
  (void)*raw.pool().pop();
  const TableInspection r = t.inspect();
  EXPECT_FALSE(r.alone);
  EXPECT_TRUE(r.findings.empty()) << findings_text(r);
  EXPECT_EQ(r.buffers->elsewhere, 1u) << "counted, not reported";
}

TEST(InspectLockFree, ImpossibleWordsAreCorruptSlots) {
  ScopedName name("insp-lf-corrupt");
  LockFreeTable t(lockfree_options(name.str()));
  t.set("kept", "1");
  RawLockFree raw(name.dev_path(), t);
  const std::uint64_t kept = slot_of(raw, t, "kept");
  const std::uint64_t s1 = (kept + 1) % 64;
  const std::uint64_t s2 = (kept + 2) % 64;
  const std::uint64_t s3 = (kept + 3) % 64;
  raw.put(s1, raw.ctrl(s1).with_entry(detail::lockfree::kLive, 1, 0xfffffff0u)); // no such buffer
  raw.put(s2, raw.ctrl(s2).with_entry(3, 1, 0));                                 // no such state
  raw.put(s3, raw.ctrl(s3).with_entry(detail::lockfree::kLive, t.fingerprint("kept"),
                                      raw.ctrl(kept).buffer())); // kept's buffer, again
  const TableInspection r = t.inspect();
  EXPECT_FALSE(r.consistent());
  EXPECT_EQ(r.count(Kind::kCorruptSlot), 3u) << findings_text(r);
  EXPECT_EQ(r.corrupt, 3u);
  EXPECT_EQ(r.live, 1u);
  EXPECT_EQ(t.get("kept"), "1") << "inspect() changed nothing";
  EXPECT_EQ(t.recover().corrupt_slots, 3u) << "what recover() frees, inspect() found";
  expect_clean(t.inspect());
}

TEST(InspectLockFree, ADuplicateADirtyKeyAndAnUnreachableKeyAreFound) {
  ScopedName name("insp-lf-keys");
  LockFreeTable t(lockfree_options(name.str(), 4096));
  auto key_homed_at = [&](std::uint64_t home, int nth) {
    for (int i = 0;; ++i) {
      std::string k = "k" + std::to_string(i);
      if (t.home_slot(k) == home && nth-- == 0) {
        return k;
      }
    }
  };
  const std::string dup = key_homed_at(100, 0);
  const std::string far = key_homed_at(200, 1);
  t.set(key_homed_at(200, 0), "home"); // far lands one slot past its home
  t.set(far, "far");
  t.set(dup, "d");
  t.set("abc", "padded");
  RawLockFree raw(name.dev_path(), t);
  // dup's record, copied to a buffer of its own, in the next slot, its home's bound
  // raised to cover it: the key is live twice.
  const std::uint32_t copy = *raw.pool().pop();
  std::memcpy(raw.record(copy), raw.record(raw.ctrl(100).buffer()),
              detail::lockfree::record_bytes_for(64, 256));
  raw.put(101, raw.ctrl(101).with_entry(detail::lockfree::kLive, t.fingerprint(dup), copy));
  raw.put(100, raw.ctrl(100).with_bound(1));
  // far's home bound lowered below it; abc's key padding scribbled on.
  ASSERT_EQ(slot_of(raw, t, far), 201u);
  raw.put(200, raw.ctrl(200).with_bound(0));
  raw.record(raw.ctrl(slot_of(raw, t, "abc")).buffer())[detail::lockfree::kKeyWord] |=
      std::uint64_t{0x5a} << 40;
  const TableInspection r = t.inspect();
  EXPECT_FALSE(r.consistent());
  EXPECT_EQ(r.count(Kind::kDuplicateKey), 1u) << findings_text(r);
  EXPECT_EQ(r.count(Kind::kUnreachableKey), 1u) << findings_text(r);
  EXPECT_EQ(r.count(Kind::kDirtyKey), 1u) << findings_text(r);
  const RecoveryReport rec = t.recover();
  EXPECT_EQ(rec.duplicate_keys, 1u);
  EXPECT_EQ(rec.bounds_raised, 1u);
  EXPECT_EQ(rec.keys_repaired, 1u);
}

TEST(InspectLockFree, AFreeListThatLoopsIsFound) {
  ScopedName name("insp-lf-list");
  LockFreeTable t(lockfree_options(name.str()));
  RawLockFree raw(name.dev_path(), t);
  const std::uint32_t b = *raw.pool().pop();
  raw.pool().push(b);
  raw.record(b)[0] = b + 1; // its link leads back to itself
  const TableInspection r = t.inspect();
  EXPECT_FALSE(r.consistent());
  EXPECT_EQ(r.count(Kind::kFreeListCorrupt), 1u) << findings_text(r);
  EXPECT_EQ(r.buffers->free_listed, 1u);
}

// ---- The mutex engine, damaged by hand -----------------------------------------------

Options mutex_options(const std::string &name, bool robust) {
  Options o;
  o.name = name;
  o.capacity = 64;
  o.robust = robust;
  return o;
}

class RawMutex {
public:
  RawMutex(const std::string &path, const Layout &lay) : lay_(lay) {
    const int fd = ::open(path.c_str(), O_RDWR);
    base_ = static_cast<std::byte *>(
        ::mmap(nullptr, lay.total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    ::close(fd);
    EXPECT_NE(base_, MAP_FAILED);
  }
  RawMutex(const RawMutex &) = delete;
  RawMutex &operator=(const RawMutex &) = delete;
  ~RawMutex() { ::munmap(base_, lay_.total_bytes); }
  detail::mutex::MutexSlotHeader *slot(std::uint64_t i) const {
    return reinterpret_cast<detail::mutex::MutexSlotHeader *>(base_ + lay_.slots_offset +
                                                              i * lay_.slot_bytes);
  }
  // Copies slot `from`'s state, lengths, key and values (not its mutex) over slot `to`.
  void copy_entry(std::uint64_t from, std::uint64_t to) const {
    const std::size_t skip = sizeof(pthread_mutex_t);
    std::memcpy(reinterpret_cast<std::byte *>(slot(to)) + skip,
                reinterpret_cast<std::byte *>(slot(from)) + skip, lay_.slot_bytes - skip);
  }

private:
  Layout lay_;
  std::byte *base_ = nullptr;
};

std::string mutex_key_homed_at(const MutexTable &t, std::uint64_t home, int nth) {
  for (int i = 0;; ++i) {
    std::string k = "k" + std::to_string(i);
    if (t.home_slot(k) == home && nth-- == 0) {
      return k;
    }
  }
}

TEST(InspectMutex, ImpossibleSlotsDuplicatesAndBrokenChainsAreFound) {
  for (const bool robust : {false, true}) {
    ScopedName name(robust ? "insp-mx-r" : "insp-mx-f");
    MutexTable t(mutex_options(name.str(), robust));
    const std::string a = mutex_key_homed_at(t, 10, 0);
    const std::string b = mutex_key_homed_at(t, 10, 1);
    t.set(a, "a");   // slot 10
    t.set(b, "b");   // slot 11
    t.set("x", "x"); // somewhere
    RawMutex raw(name.dev_path(), t.layout());
    raw.copy_entry(10, 30);  // a twice: 30 is unreachable from 10 (empty slots between)
    raw.copy_entry(11, 12);  // b twice, reachable: a duplicate
    raw.slot(40)->state = 7; // no such state
    const TableInspection r = t.inspect();
    EXPECT_FALSE(r.consistent());
    EXPECT_EQ(r.count(Kind::kCorruptSlot), 1u) << findings_text(r);
    EXPECT_EQ(r.count(Kind::kDuplicateKey), 2u) << findings_text(r);
    EXPECT_EQ(r.count(Kind::kUnreachableKey), 1u) << findings_text(r);
    EXPECT_EQ(r.count(Kind::kCountMismatch), 1u) << findings_text(r);
    EXPECT_EQ(r.live, 5u);
    EXPECT_EQ(t.get(a), "a") << "inspect() changed nothing";
  }
}

// A process that died holding a slot's lock: the walk takes no lock, so it does not hang
// behind it even in the faithful mode, and reports it; recover() then finds it too.
TEST(InspectMutex, ALockWhoseHolderDiedIsReportedWithoutWaitingForIt) {
  for (const bool robust : {false, true}) {
    ScopedName name(robust ? "insp-mx-lock-r" : "insp-mx-lock-f");
    MutexTable t(mutex_options(name.str(), robust));
    t.set("session", "v");
    const Layout lay = t.layout();
    const std::uint64_t home = t.home_slot("session");
    const pid_t child = spawn([&] {
      const int fd = ::shm_open(("/" + name.str()).c_str(), O_RDWR, 0);
      auto *base = static_cast<std::byte *>(
          ::mmap(nullptr, lay.total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
      auto *s = reinterpret_cast<detail::mutex::MutexSlotHeader *>(base + lay.slots_offset +
                                                                   home * lay.slot_bytes);
      pthread_mutex_lock(&s->mutex);
      ::raise(SIGKILL);
      return 2;
    });
    ASSERT_TRUE(wait_for(child, std::chrono::seconds(30)).has_value());
    TableInspection r = t.inspect();
    EXPECT_TRUE(r.alone);
    EXPECT_TRUE(r.consistent()) << findings_text(r);
    EXPECT_TRUE(r.needs_recovery());
    EXPECT_EQ(r.locks_held, 1u);
    ASSERT_EQ(r.count(Kind::kHeldLock), 1u);
    EXPECT_EQ(r.findings.front().slot, home);
    const RecoveryReport rec = t.recover();
    EXPECT_EQ(rec.locks_reset, robust ? 0u : 1u);
    r = t.inspect();
    expect_clean(r);
    EXPECT_EQ(t.get("session"), "v");
  }
}

// ---- inspect_segment(): the header, without attaching ----------------------------------

TEST(InspectSegment, SaysEngineLayoutAndAttachedHandles) {
  ScopedName name("insp-seg");
  Options o = mutex_options(name.str(), true);
  o.persist = true;
  o.max_value_bytes = 100;
  {
    MutexTable t(o);
    t.set("a", "1");
    t.set("b", "2");
    const SegmentInfo info = inspect_segment(name.str());
    EXPECT_EQ(info.entries, 2u) << "the entry counter, read from the file";
    EXPECT_TRUE(info.ready);
    EXPECT_EQ(info.display, "shm '" + name.str() + "'");
    EXPECT_EQ(info.layout.params.engine, EngineKind::kMutex);
    EXPECT_EQ(engine_name_of(info.layout.params), EngineName::kRobust);
    EXPECT_EQ(info.layout.params.capacity, 64u);
    EXPECT_EQ(info.layout.params.max_value_bytes, 100u);
    EXPECT_NE(info.layout.params.flags & kFlagPersist, 0u);
    EXPECT_EQ(info.layout.total_bytes, t.layout().total_bytes);
    EXPECT_EQ(info.layout.slot_bytes, t.layout().slot_bytes);
    EXPECT_EQ(info.file_bytes, t.layout().total_bytes);
    EXPECT_TRUE(info.in_use);
    if (info.attached_handles) {
      EXPECT_EQ(*info.attached_handles, 1u);
      MutexTable second(o);
      EXPECT_EQ(inspect_segment(name.str()).attached_handles, 2u);
    }
  }
  const SegmentInfo after = inspect_segment(name.str());
  EXPECT_FALSE(after.in_use);
  EXPECT_EQ(after.attached_handles.value_or(0), 0u);
}

// An open removes a dead table (not persistent, every process gone); a look does not.
TEST(InspectSegment, NeverRemovesADeadTable) {
  ScopedName name("insp-dead");
  const pid_t child = spawn([&] {
    LockFreeTable t(lockfree_options(name.str()));
    t.set("k", "v");
    ::raise(SIGKILL); // no close: the name stays, with nobody attached
    return 0;
  });
  ASSERT_TRUE(wait_for(child, std::chrono::seconds(30)).has_value());
  const SegmentInfo info = inspect_segment(name.str());
  EXPECT_TRUE(info.ready);
  EXPECT_FALSE(info.in_use);
  EXPECT_EQ(engine_name_of(info.layout.params), EngineName::kLockFree);
  EXPECT_EQ(info.layout.params.flags & kFlagPersist, 0u);
  EXPECT_TRUE(exists(name.dev_path()));
}

TEST(InspectSegment, RefusesWhatIsNotATable) {
  ScopedName name("insp-bad");
  expect_error(Errc::kSegmentMissing, name.str(), [&] { inspect_segment(name.str()); });
  expect_error(Errc::kInvalidName, "name", [&] { inspect_segment("a/b"); });
  {
    const int fd = ::open(name.dev_path().c_str(), O_CREAT | O_RDWR, 0600);
    ASSERT_GE(fd, 0);
    const std::string text(400, 'x');
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  expect_error(Errc::kCorruptedHeader, "not a shmtable segment",
               [&] { inspect_segment(name.str()); });
  expect_error(Errc::kCorruptedHeader, "not a shmtable segment",
               [&] { inspect_segment_path(name.dev_path()); });
  expect_error(Errc::kSegmentMissing, "open",
               [&] { inspect_segment_path(name.dev_path() + "-missing"); });
}

TEST(InspectSegment, ReadsAFileBackedTable) {
  ScopedName name("insp-file");
  const std::string path = "/tmp/" + name.str() + ".tbl";
  Options o;
  o.path = path;
  o.persist = true;
  o.capacity = 128;
  {
    LockFreeTable t(o);
    t.set("a", "b");
  }
  const SegmentInfo info = inspect_segment_path(path);
  EXPECT_EQ(info.display, "file '" + path + "'");
  EXPECT_EQ(info.entries, 1u);
  EXPECT_EQ(engine_name_of(info.layout.params), EngineName::kLockFree);
  EXPECT_EQ(info.layout.params.capacity, 128u);
  EXPECT_FALSE(info.in_use);
  unlink_path(path);
}

} // namespace
} // namespace shmtable::test
