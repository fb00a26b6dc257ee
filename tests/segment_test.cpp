// The segment layer: modes, O(1) creation, persistence and crash semantics, unlink.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "segment_header.hpp"
#include "shmtable/shmtable.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

Options named(const std::string &name, bool persist = false) {
  Options o;
  o.name = name;
  o.capacity = 64;
  o.persist = persist;
  return o;
}

// Pages of `path` in the page cache (for shm: pages that exist at all), via mincore.

// The lock-free engine's layout contract: 64-byte slots whose empty state is all zero,
// so its initialiser does nothing. Used to show what the segment layer itself costs.
Layout zero_engine_layout(const TableParams &p) {
  Layout lay;
  lay.params = p;
  lay.slot_bytes = 64;
  lay.control_offset = kHeaderBytes;
  lay.slots_offset = 4096;
  lay.total_bytes = lay.slots_offset + p.capacity * lay.slot_bytes;
  lay.abi_signature = 64;
  return lay;
}

TEST(Segment, ModeIsExactlyWhatWasAskedWhateverTheUmask) {
  const mode_t old = ::umask(077);
  for (unsigned mode : {0600u, 0640u, 0666u}) {
    ScopedName name("mode");
    Options o = named(name.str());
    o.mode = mode;
    MutexTable t(o);
    struct stat st {};
    ASSERT_EQ(::stat(name.dev_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, mode);
  }
  ::umask(old);
  ScopedName name("mode-default");
  MutexTable t(named(name.str()));
  struct stat st {};
  ASSERT_EQ(::stat(name.dev_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the default mode is 0600";
}

TEST(Segment, CreatingAndAttachingTenMillionZeroSlotsTouchesNoSlotPage) {
  ScopedName name("tenmillion");
  Options o = named(name.str());
  o.capacity = 10'000'000; // 640 MB of slots
  if (const auto free = shm_free_bytes(); free && *free < 4096 + o.capacity * 64) {
    GTEST_SKIP() << "/dev/shm has " << *free << " bytes free, less than this sparse table's size";
  }
  const TableParams req{EngineKind::kLockFree, 0, o.capacity, 64, 256, 0};
  Segment creator = Segment::attach(o, req, &zero_engine_layout, {});
  ASSERT_TRUE(creator.created());
  Segment opener = Segment::attach(o, req, &zero_engine_layout, {});
  ASSERT_FALSE(opener.created());
  EXPECT_EQ(opener.layout().total_bytes, 4096u + 640'000'000u);
  // Only the header page exists; the 156,251 slot pages were never touched.
  EXPECT_LE(resident_pages(name.dev_path()), 1u);
  // And an opener in another process attaches without touching them either.
  const pid_t child = spawn([&] {
    Segment s = Segment::attach(o, req, &zero_engine_layout, {});
    return s.created() ? 1 : 0;
  });
  EXPECT_EQ(exit_code(child), 0);
  EXPECT_LE(resident_pages(name.dev_path()), 1u);
}

TEST(Segment, TheFaithfulMutexEngineInitialisesEverySlot) {
  // The contrast to the test above: fast-shm-cache's design initialises one mutex per slot.
  ScopedName name("mutexpages");
  Options o = named(name.str());
  o.capacity = 20'000; // 7.7 MB: small enough for a 64 MB /dev/shm
  MutexTable t(o);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // Every page of the slots; the statistics region before them is all-zero, untouched.
  const std::size_t slot_pages = (t.layout().total_bytes - t.layout().slots_offset) / page;
  EXPECT_GE(resident_pages(name.dev_path()), slot_pages);
}

TEST(Segment, NonPersistentTableVanishesWithItsLastHandle) {
  ScopedName name("lastclose");
  auto a = std::make_unique<MutexTable>(named(name.str()));
  a->set("k", "v");
  auto b = std::make_unique<MutexTable>(named(name.str()));
  a.reset();
  EXPECT_TRUE(exists(name.dev_path())) << "b is still attached";
  EXPECT_EQ(b->get("k"), "v");
  b.reset();
  EXPECT_FALSE(exists(name.dev_path())) << "the last close removes a persist=false table";
}

TEST(Segment, NonPersistentTableOfACrashedProcessStartsEmpty) {
  ScopedName name("crashed");
  const pid_t child = spawn([&] {
    MutexTable t(named(name.str()));
    t.set("left", "behind");
    ::raise(SIGKILL); // no close, no destructor
    return 1;
  });
  const auto status = wait_for(child, std::chrono::seconds(30));
  ASSERT_TRUE(status && WIFSIGNALED(*status));
  EXPECT_TRUE(exists(name.dev_path())) << "nobody closed it";
  MutexTable t(named(name.str()));
  EXPECT_TRUE(t.created()) << "its only holder died: the contents are gone";
  EXPECT_EQ(t.get("left"), std::nullopt);
  EXPECT_EQ(t.size(), 0u);
  t.close();
  EXPECT_FALSE(exists(name.dev_path()));
}

TEST(Segment, OpenOnlyOfAStaleTableSaysMissingAndRemovesIt) {
  ScopedName name("stale-open");
  const pid_t holder = spawn([&] {
    MutexTable t(named(name.str()));
    t.set("old", "contents");
    ::raise(SIGKILL);
    return 1;
  });
  wait_for(holder, std::chrono::seconds(30));
  ASSERT_TRUE(exists(name.dev_path()));
  Options o = named(name.str());
  o.open_mode = OpenMode::kOpen;
  for (int i = 0; i < 2; ++i) {
    try {
      MutexTable t(o);
      FAIL() << "attached to the dead processes' table";
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), Errc::kSegmentMissing) << e.what();
    }
    EXPECT_FALSE(exists(name.dev_path())) << "the stale table must be removed, not served later";
  }
}

TEST(Segment, AZeroReadyTimeoutStillOpens) {
  ScopedName name("timeout0");
  Options o = named(name.str());
  o.ready_timeout_ms = 0;
  MutexTable a(o);
  MutexTable b(o);
  EXPECT_TRUE(a.created());
  EXPECT_FALSE(b.created());
}

// An opener waits for another process's recover()/run_exclusive() only up to its
// ready_timeout_ms, then says why: a stopped recover() must not hang every opener. Once
// the holder is done, opening works again.
TEST(Segment, AnOpenerWaitsForAnExclusiveHolderOnlyUntilItsTimeout) {
  ScopedName name("exclwait");
  Options o = named(name.str(), true);
  const TableParams req{EngineKind::kLockFree, 0, o.capacity, 64, 256, 0};
  int inside[2], release[2];
  ASSERT_EQ(::pipe(inside), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t holder = spawn([&] {
    Segment s = Segment::attach(o, req, &zero_engine_layout, {});
    const bool ran = s.run_exclusive([&] {
      char c = 1;
      (void)!::write(inside[1], &c, 1);
      (void)!::read(release[0], &c, 1); // until the test lets go
    });
    return ran ? 0 : 1;
  });
  char c = 0;
  ASSERT_EQ(::read(inside[0], &c, 1), 1);
  Options waiting = o;
  waiting.ready_timeout_ms = 100;
  try {
    Segment s = Segment::attach(waiting, req, &zero_engine_layout, {});
    ADD_FAILURE() << "attached while another handle held the table exclusively";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), Errc::kBusy) << e.what();
    EXPECT_NE(std::string(e.what()).find("ready_timeout_ms"), std::string::npos) << e.what();
  }
  ASSERT_EQ(::write(release[1], &c, 1), 1);
  EXPECT_EQ(exit_code(holder), 0);
  Segment after = Segment::attach(waiting, req, &zero_engine_layout, {});
  EXPECT_FALSE(after.created());
  for (int fd : {inside[0], inside[1], release[0], release[1]}) {
    ::close(fd);
  }
}

// A segment of another user that every user may write could have been planted by anyone:
// it is refused, naming the owner and the mode; the same segment shared through a group
// (not world-writable) is attached. Changing a file's owner needs root.
TEST(Segment, AWorldWritableSegmentOfAnotherUserIsRefused) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a segment to another user";
  }
  ScopedName name("foreign");
  Options o = named(name.str(), true);
  o.mode = 0666;
  { MutexTable planted(o); }
  ASSERT_EQ(::chown(name.dev_path().c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod(name.dev_path().c_str(), 0666), 0);
  try {
    MutexTable t(named(name.str(), true));
    ADD_FAILURE() << "attached to a world-writable segment of uid 65534";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), Errc::kPermissionDenied) << e.what();
    EXPECT_NE(std::string(e.what()).find("uid 65534"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0666"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(exists(name.dev_path())) << "a refused segment is left alone";
  ASSERT_EQ(::chmod(name.dev_path().c_str(), 0660), 0);
  MutexTable shared(named(name.str(), true));
  EXPECT_FALSE(shared.created());
}

TEST(Segment, NonPersistentTableSurvivesTheCrashOfOneOfItsHolders) {
  ScopedName name("onecrash");
  MutexTable t(named(name.str()));
  t.set("mine", "1");
  const pid_t child = spawn([&] {
    MutexTable c(named(name.str()));
    c.set("theirs", "2");
    ::raise(SIGKILL);
    return 1;
  });
  wait_for(child, std::chrono::seconds(30));
  MutexTable again(named(name.str()));
  EXPECT_FALSE(again.created()) << "we are still attached: it is not stale";
  EXPECT_EQ(again.get("theirs"), "2");
  EXPECT_EQ(again.get("mine"), "1");
}

TEST(Segment, PersistentFileBackedTableSurvivesCloseAndReopen) {
  char dir[] = "/tmp/shmtable-persist-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  Options o;
  o.path = std::string(dir) + "/table.shm";
  o.capacity = 128;
  o.persist = true;
  {
    MutexTable t(o);
    EXPECT_TRUE(t.created());
    t.set("config:mode", "fast");
    t.set(std::string("bin\0key", 7), std::string("\0v", 2));
  }
  ASSERT_TRUE(exists(o.path));
  const pid_t child = spawn([&] { // another process reopens it from the file
    MutexTable t(o);
    return !t.created() && t.get("config:mode") == "fast" ? 0 : 1;
  });
  EXPECT_EQ(exit_code(child), 0);
  {
    MutexTable t(o);
    EXPECT_FALSE(t.created());
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.get(std::string("bin\0key", 7)), std::string("\0v", 2));
  }
  unlink_path(o.path);
  EXPECT_FALSE(exists(o.path));
  ::rmdir(dir);
}

TEST(Segment, PersistentNamedTableSurvivesItsProcesses) {
  ScopedName name("persist");
  const pid_t child = spawn([&] {
    MutexTable(named(name.str(), true)).set("k", "kept");
    return 0;
  });
  ASSERT_EQ(exit_code(child), 0);
  MutexTable t(named(name.str(), true));
  EXPECT_FALSE(t.created());
  EXPECT_EQ(t.get("k"), "kept");
}

// persist unset takes the segment's, as a zero capacity does: an opener that does not
// care opens a persistent table (and leaves it there on close) or a non-persistent one;
// a persist that is set is still compared. Unset when creating means false.
TEST(Segment, AnUnsetPersistAdoptsTheSegments) {
  ScopedName name("adoptpersist");
  Options any = named(name.str());
  any.persist = std::nullopt;
  MutexTable(named(name.str(), true)).set("k", "kept");
  {
    MutexTable t(any);
    EXPECT_FALSE(t.created());
    EXPECT_EQ(t.get("k"), "kept");
  }
  EXPECT_TRUE(exists(name.dev_path())) << "the adopting handle's close kept a persistent table";
  expect_error(Errc::kLayoutMismatch, "persist: the segment has true, the options ask for false",
               [&] { MutexTable t(named(name.str(), false)); });
  unlink(name.str());
  {
    MutexTable t(any);
    EXPECT_TRUE(t.created());
  }
  EXPECT_FALSE(exists(name.dev_path())) << "created with persist unset: not persistent";
}

// A table larger than the free space of /dev/shm would be created sparse and kill the
// first writer past that space with SIGBUS: creation refuses it, naming both sizes and
// the file system, and leaves no name behind.
TEST(Segment, ATableLargerThanTheFreeSpaceIsRefusedAtCreation) {
  const std::optional<std::uint64_t> free = shm_free_bytes();
  if (!free) {
    GTEST_SKIP() << "/dev/shm has no size limit here: there is no free space to exceed";
  }
  const std::uint64_t avail = *free;
  ScopedName name("nospace");
  Options o = named(name.str());
  o.capacity = avail / 64 * 4 + 1000; // 64-byte slots: four times the space there is
  const TableParams req{EngineKind::kLockFree, 0, o.capacity, 64, 256, 0};
  try {
    Segment s = Segment::attach(o, req, &zero_engine_layout, {});
    ADD_FAILURE() << "created a segment of " << s.layout().total_bytes << " bytes";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument) << e.what();
    const std::string what = e.what();
    EXPECT_NE(what.find("shm '" + name.str() + "': capacity: " + std::to_string(o.capacity) +
                        " slots need " + std::to_string(4096 + o.capacity * 64) + " bytes"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("available in /dev/shm"), std::string::npos) << what;
  }
  EXPECT_FALSE(exists(name.dev_path())) << "a refused creation leaves nothing behind";
  // The engines take the same path: a billion keys' worth of lock-free table.
  Options big = named(name.str());
  big.capacity = 1'333'333'334;
  if (big.capacity * 400 < avail) {
    GTEST_SKIP() << "/dev/shm has room for a billion-slot table here";
  }
  expect_error(Errc::kInvalidArgument, "available in /dev/shm", [&] { LockFreeTable t(big); });
  EXPECT_FALSE(exists(name.dev_path()));
}

// A header with ready = 0 is what a creator of an earlier version, which initialised
// tables under their names, left when it died: the next open removes it and creates anew.
TEST(Segment, ACreationCutShortIsRedone) {
  ScopedName name("unfinished");
  MutexTable(named(name.str(), true)).close();
  const int fd = ::open(name.dev_path().c_str(), O_RDWR);
  const std::uint32_t zero = 0;
  ASSERT_EQ(::pwrite(fd, &zero, sizeof zero, offsetof(detail::SegmentHeader, ready)), 4);
  ::close(fd);
  MutexTable t(named(name.str(), true));
  EXPECT_TRUE(t.created());
  t.set("k", "v");
  EXPECT_EQ(t.get("k"), "v");
}

// A table gets its name only once it is complete, so a creator killed at any point
// leaves either nothing under the name or a whole table; never an empty or half-made file
// (which the next open would have to guess about).
TEST(Segment, ACreatorKilledAtAnyPointLeavesNoHalfMadeFile) {
  ScopedName name("killedcreator");
  Options o = named(name.str(), true);
  o.capacity = 1 << 18; // the faithful mutex engine writes every slot: a slow creation
  o.max_key_bytes = 16;
  o.max_value_bytes = 16;
  const auto create = [&] {
    MutexTable t(o);
    return 0;
  };
  // Kills spread over one whole creation, as long as it takes on this machine.
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(exit_code(spawn(create)), 0);
  const auto creation = std::chrono::steady_clock::now() - start;
  shmtable::unlink(name.str());
  constexpr int kRounds = 12;
  int whole = 0;
  for (int round = 0; round < kRounds; ++round) {
    const pid_t creator = spawn(create);
    std::this_thread::sleep_for(creation * round / (kRounds - 2));
    ::kill(creator, SIGKILL);
    (void)exit_code(creator);
    struct stat st {};
    if (::stat(name.dev_path().c_str(), &st) != 0) {
      continue; // killed before it named its table: nothing under the name
    }
    ++whole;
    Options reopen = o;
    reopen.open_mode = OpenMode::kOpen;
    MutexTable t(reopen); // a complete, ready table, or this throws
    EXPECT_EQ(t.capacity(), o.capacity);
    shmtable::unlink(name.str());
  }
  std::printf("of %d creators killed during a %lld ms creation, %d left a whole table and "
              "the others nothing\n",
              kRounds,
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(creation).count()),
              whole);
}

// Processes racing to create a mutex table (whose creation writes every slot) wait for
// the one creating it, up to their ready_timeout_ms, instead of each building a copy;
// the lock-free engine's O(1) creation never waits. The lock file goes with its creator.
TEST(Segment, ACostlyCreationIsWaitedForAndACheapOneIsNot) {
  ScopedName name("costly");
  const std::string lock_file = "/dev/shm/." + name.str() + detail::kCreatingSuffix;
  const int held = hold_creation_lock(name.str());
  ASSERT_GE(held, 0);
  Options o = named(name.str());
  o.ready_timeout_ms = 200;
  expect_error(Errc::kNotReady, "another process kept creating it for over 200 ms",
               [&] { MutexTable t(o); });
  {
    LockFreeTable cheap(o);
    EXPECT_TRUE(cheap.created());
  }
  ::close(held); // the "creator" died before naming its table: the next one creates it
  MutexTable t(o);
  EXPECT_TRUE(t.created());
  struct stat st {};
  EXPECT_NE(::stat(lock_file.c_str(), &st), 0) << "the creation lock file is left behind";
  ::unlink(lock_file.c_str());
}

// A dead non-persistent table that the opener may not remove (another user's, shared
// through a group, in the sticky /dev/shm) is started afresh under its name, within the
// opener's ready_timeout_ms.
TEST(Segment, ADeadTableTheOpenerMayNotRemoveIsStartedAfreshInPlace) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to play two users";
  }
  ScopedName name("deadshared");
  const pid_t holder = spawn([&] {
    MutexTable t(named(name.str()));
    t.set("left", "by the dead");
    ::_exit(0); // dies holding it: the table is dead, its name stays
    return 0;
  });
  ASSERT_EQ(exit_code(holder), 0);
  ASSERT_EQ(::chown(name.dev_path().c_str(), 0, 65534), 0); // root's, group nogroup
  ASSERT_EQ(::chmod(name.dev_path().c_str(), 0660), 0);
  struct stat before {};
  ASSERT_EQ(::stat(name.dev_path().c_str(), &before), 0);
  const pid_t opener = spawn([&] {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      return 4;
    }
    Options o = named(name.str());
    o.ready_timeout_ms = 1000;
    try {
      MutexTable t(o);
      return !t.created() ? 1 : t.get("left").has_value() ? 2 : 0;
    } catch (const Error &e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 3;
    }
  });
  EXPECT_EQ(exit_code(opener, std::chrono::seconds(30)), 0);
  struct stat dir {};
  struct stat after {};
  ASSERT_EQ(::stat("/dev/shm", &dir), 0);
  if ((dir.st_mode & S_ISVTX) != 0 && ::stat(name.dev_path().c_str(), &after) == 0) {
    EXPECT_EQ(after.st_ino, before.st_ino) << "the sticky /dev/shm forbids its removal";
  }
}

// A child forked while a process holds handles shares their open file descriptions. A
// close in the parent must still let go of the gate and the attach byte: a gate held
// through the child's copy would fail every opener with not_ready.
TEST(Segment, AForkedChildDoesNotKeepTheLocksOfAClosedHandle) {
  ScopedName name("forked");
  std::optional<MutexTable> h1(named(name.str()));
  std::optional<MutexTable> h2(named(name.str()));
  const pid_t idle = ::fork();
  ASSERT_GE(idle, 0);
  if (idle == 0) {
    ::pause(); // a worker that never touches the table
    ::_exit(0);
  }
  h1.reset(); // h2 is still attached: h1 takes the gate, leaves the name
  Options o = named(name.str());
  o.ready_timeout_ms = 200;
  {
    MutexTable opener(o);
    EXPECT_FALSE(opener.created());
  }
  h2.reset(); // the last handle: removes the name, the child notwithstanding
  EXPECT_FALSE(exists(name.dev_path()));
  ::kill(idle, SIGKILL);
  ::waitpid(idle, nullptr, 0);
}

// A table of another format version says so and is left alone, whatever the bytes at
// this version's `ready` and `flags` offsets: it is not a dead or unfinished table of
// ours, to be removed.
TEST(Segment, ATableOfAnotherFormatVersionIsRefusedAndLeftAlone) {
  char dir[] = "/tmp/shmtable-version-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/v2.table";
  detail::SegmentHeader h{};
  h.magic = kMagic;
  h.format_version = kFormatVersion + 1;
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  ASSERT_EQ(::ftruncate(fd, 4096), 0);
  ::close(fd);
  for (const OpenMode mode : {OpenMode::kOpen, OpenMode::kOpenOrCreate}) {
    Options o;
    o.path = path;
    o.open_mode = mode;
    expect_error(Errc::kLayoutMismatch,
                 "format_version: the segment has " + std::to_string(kFormatVersion + 1),
                 [&] { LockFreeTable t(o); });
    EXPECT_TRUE(exists(path)) << "a table of another version must not be removed";
  }
  ::unlink(path.c_str());
  ::rmdir(dir);
}

// A dangling symbolic link at `path` is reported as such, at once, not after the open's
// deadline as if other processes held the table.
TEST(Segment, ADanglingLinkAtThePathIsReportedAsOne) {
  char dir[] = "/tmp/shmtable-link-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string link = std::string(dir) + "/table";
  ASSERT_EQ(::symlink((std::string(dir) + "/missing").c_str(), link.c_str()), 0);
  Options o;
  o.path = link;
  expect_error(Errc::kInvalidArgument, "a symbolic link to a missing file",
               [&] { LockFreeTable t(o); });
  ::unlink(link.c_str());
  ::rmdir(dir);
}

// Processes opening, writing and closing one non-persistent table, SIGKILLed at random
// points (inside an open, a close, the gate, a creation): once every one of them is
// dead, the next opener starts an empty table, never one left by the dead, and at every
// moment all live handles share one table. Each round's children use the table while
// their siblings die around them.
TEST(Segment, OpenersAndClosersKilledAtRandomNeverLeaveADeadTableToAttachTo) {
  ScopedName name("killround");
  std::mt19937 rng(11);
  for (int round = 0; round < 20; ++round) {
    std::vector<pid_t> kids;
    for (int k = 0; k < 4; ++k) {
      kids.push_back(spawn([&] {
        for (int i = 0;; ++i) {
          Options o = named(name.str());
          o.ready_timeout_ms = 2000;
          MutexTable t(o);
          const auto seen = t.get("round");
          if (seen && *seen != std::to_string(round)) {
            return 1; // a value of an earlier round, all of whose processes are dead
          }
          t.set("round", std::to_string(round));
          if (i % 3 == 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
          }
        }
        return 0;
      }));
    }
    for (const pid_t kid : kids) {
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
      ::kill(kid, SIGKILL);
    }
    for (const pid_t kid : kids) {
      EXPECT_EQ(exit_code(kid), -1) << "a child saw a value of another round";
    }
    MutexTable after(named(name.str()));
    EXPECT_TRUE(after.created()) << "round " << round << ": attached to a dead table";
    EXPECT_FALSE(after.get("round").has_value()) << "round " << round;
  }
}

// Somebody's empty file at a path is not an unfinished table: it is refused and left
// alone: neither initialised as a table nor removed by an open-only.
TEST(Segment, AnEmptyFileIsRefusedAndLeftAlone) {
  char dir[] = "/tmp/shmtable-empty-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/notes.txt";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  for (const OpenMode mode : {OpenMode::kOpen, OpenMode::kOpenOrCreate, OpenMode::kCreate}) {
    Options o;
    o.path = path;
    o.persist = true;
    o.open_mode = mode;
    expect_error(Errc::kCorruptedHeader, "not a shmtable segment (an empty file",
                 [&] { LockFreeTable t(o); });
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << "the file must not be removed";
    EXPECT_EQ(st.st_size, 0) << "nor grown";
  }
  ::unlink(path.c_str());
  ::rmdir(dir);
}

// The window the gate closes: a process deciding about a non-persistent table (here: a
// closer that holds the gate, as the last one out does) dies while an opener waits. The
// opener must not attach to what the dead processes left: it finds the table dead and
// starts an empty one.
TEST(Segment, AnOpenerQueuedBehindADyingLastHolderStartsEmpty) {
  ScopedName name("gatewindow");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t holder = spawn([&] {
    MutexTable t(named(name.str()));
    t.set("left", "by the dead");
    const int gate = hold_gate(name.dev_path()); // deciding, as a closer does
    char c = gate >= 0 ? 1 : 0;
    (void)!::write(ready[1], &c, 1);
    ::pause(); // until killed, holding the table and its gate
    return 0;
  });
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 1);
  std::optional<MutexTable> opened;
  std::thread opener([&] { opened.emplace(named(name.str())); }); // waits for the gate
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(holder, SIGKILL);
  opener.join();
  EXPECT_EQ(exit_code(holder), -1);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(opened->created());
  EXPECT_FALSE(opened->get("left").has_value());
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(Segment, AFileThatStartsWithZerosIsRefusedAndLeftAlone) {
  char dir[] = "/tmp/shmtable-zeros-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/disk.img";
  std::vector<char> bytes(4096 + 19, 0); // a sparse image: zeros first, data later
  bytes.back() = 'x';
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
  for (const OpenMode mode : {OpenMode::kOpen, OpenMode::kOpenOrCreate}) {
    Options o;
    o.path = path;
    o.persist = true;
    o.open_mode = mode;
    try {
      LockFreeTable t(o);
      ADD_FAILURE() << "a foreign file was opened as a table";
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), Errc::kCorruptedHeader) << e.what();
      const std::string want =
          "starts with " + std::to_string(sizeof(detail::SegmentHeader)) + " zero bytes";
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << "the file must not be removed";
    EXPECT_EQ(st.st_size, static_cast<off_t>(bytes.size())) << "nor truncated or grown";
  }
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST(Segment, UnlinkRemovesTheNameButNotAttachedMappings) {
  ScopedName name("unlink");
  MutexTable t(named(name.str(), true));
  t.set("k", "v");
  unlink(name.str());
  EXPECT_FALSE(exists(name.dev_path()));
  EXPECT_EQ(t.get("k"), "v") << "an attached handle keeps working";
  MutexTable fresh(named(name.str(), true));
  EXPECT_TRUE(fresh.created());
  EXPECT_EQ(fresh.get("k"), std::nullopt);
}

} // namespace
} // namespace shmtable::test
