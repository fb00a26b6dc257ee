// The error matrix: every bad input names its field and limit, and leaves the table as
// it was. (Oversize keys/values, a too-small buffer and a full table are in the
// conformance suite, per engine.)
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "segment_header.hpp"
#include "shmtable/shmtable.hpp"
#include "test_util.hpp"

namespace shmtable::test {
namespace {

Options persistent(const std::string &name) {
  Options o;
  o.name = name;
  o.capacity = 32;
  o.persist = true;
  return o;
}

// Rewrites the header of a closed persistent segment. With `rechecksum` the checksum is
// recomputed, so that the check under test is the one that fires.
void patch_header(const std::string &path, const std::function<void(detail::SegmentHeader &)> &fn,
                  bool rechecksum) {
  const int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  detail::SegmentHeader h{};
  ASSERT_EQ(::pread(fd, &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  fn(h);
  if (rechecksum) {
    h.checksum = XXH64(&h, detail::kChecksummedBytes, 0);
  }
  ASSERT_EQ(::pwrite(fd, &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  ::close(fd);
}

TEST(Errors, InvalidNamesAreRefusedWithTheReason) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "must not be empty"},
      {std::string(201, 'n'), "201 bytes exceeds the limit of 200"},
      {"a/b", "'/' is not allowed"},
      {"../etc", "must not start with '.'"},
      {".hidden", "must not start with '.'"},
      {"sp ace", "0x20 is not allowed"},
      {"new\nline", "0x0a is not allowed"},
  };
  for (const auto &[name, why] : cases) {
    Options o;
    o.name = name;
    if (!name.empty()) { // an empty name is "no name": see the next test
      expect_error(Errc::kInvalidName, why, [&] { MutexTable t(o); });
    }
    // name = name: clang 14 cannot capture a structured binding.
    expect_error(Errc::kInvalidName, why, [&, name = name] { unlink(name); });
  }
  EXPECT_NO_THROW(validate_name("Valid.name-1_x"));
  EXPECT_NO_THROW(validate_name(std::string(200, 'n')));
}

TEST(Errors, ExactlyOneOfNameAndPathIsRequired) {
  Options neither;
  expect_error(Errc::kInvalidArgument, "exactly one of name and path",
               [&] { MutexTable t(neither); });
  Options both;
  both.name = "x";
  both.path = "/tmp/x";
  expect_error(Errc::kInvalidArgument, "exactly one of name and path", [&] { MutexTable t(both); });
}

TEST(Errors, OutOfRangeCreationOptionsNameTheField) {
  ScopedName name("range");
  Options o;
  o.name = name.str();
  o.mode = 0400;
  expect_error(Errc::kInvalidArgument, "mode: 0400", [&] { MutexTable t(o); });
  o.mode = 01777;
  expect_error(Errc::kInvalidArgument, "mode: 01777", [&] { MutexTable t(o); });
  o.mode = 0600;
  o.max_key_bytes = 5000;
  expect_error(Errc::kInvalidArgument, "max_key_bytes: 5000 is outside 1..4096",
               [&] { MutexTable t(o); });
  o.max_key_bytes = 64;
  o.max_value_bytes = 2u << 20;
  expect_error(Errc::kInvalidArgument, "max_value_bytes: 2097152 is outside 1..1048576",
               [&] { MutexTable t(o); });
  o.max_value_bytes = 256;
  o.capacity = 1ULL << 40;
  expect_error(Errc::kInvalidArgument, "exceed the segment limit", [&] { MutexTable t(o); });
  EXPECT_FALSE(exists(name.dev_path())) << "a refused creation must not leave a segment behind";
}

TEST(Errors, EachLayoutFieldMismatchIsNamed) {
  ScopedName name("mismatch");
  MutexTable keep(persistent(name.str()));
  keep.set("k", "v");
  struct Case {
    std::function<void(Options &)> change;
    std::string message;
  };
  const Case cases[] = {
      {[](Options &o) { o.capacity = 64; }, "capacity: the segment has 32, the options ask for 64"},
      {[](Options &o) { o.max_key_bytes = 32; }, "max_key_bytes: the segment has 64"},
      {[](Options &o) { o.max_value_bytes = 512; }, "max_value_bytes: the segment has 256"},
      {[](Options &o) { o.hash_seed = 9; }, "hash_seed: the segment has 0, the options ask for 9"},
      {[](Options &o) { o.robust = true; },
       "robust: the segment has false, the options ask for true"},
      {[](Options &o) { o.persist = false; }, "persist: the segment has true"},
  };
  for (const auto &c : cases) {
    Options o = persistent(name.str());
    c.change(o);
    expect_error(Errc::kLayoutMismatch, c.message, [&] { MutexTable t(o); });
  }
  // Zero sizing fields adopt the segment's.
  Options adopt = persistent(name.str());
  adopt.capacity = 0;
  adopt.max_key_bytes = 0;
  adopt.max_value_bytes = 0;
  MutexTable t(adopt);
  EXPECT_EQ(t.capacity(), 32u);
  EXPECT_EQ(keep.get("k"), "v") << "refused opens must leave the table intact";
}

TEST(Errors, AnotherEnginesSegmentIsRefused) {
  ScopedName name("engine");
  MutexTable(persistent(name.str())).set("k", "v");
  patch_header(
      name.dev_path(),
      [](detail::SegmentHeader &h) {
        h.engine = static_cast<std::uint32_t>(EngineKind::kLockFree);
      },
      true);
  expect_error(Errc::kLayoutMismatch,
               "engine: the segment belongs to the 'lockfree' engine, this handle is 'mutex'",
               [&] { MutexTable t(persistent(name.str())); });
}

TEST(Errors, AnotherFormatVersionIsRefused) {
  ScopedName name("version");
  MutexTable(persistent(name.str())).close();
  patch_header(
      name.dev_path(), [](detail::SegmentHeader &h) { h.format_version = 99; }, true);
  expect_error(Errc::kLayoutMismatch,
               "format_version: the segment has 99, this library reads " +
                   std::to_string(kFormatVersion),
               [&] { MutexTable t(persistent(name.str())); });
}

TEST(Errors, AnotherBuildsSlotLayoutIsRefused) {
  ScopedName name("abi");
  MutexTable(persistent(name.str())).close();
  patch_header(
      name.dev_path(), [](detail::SegmentHeader &h) { h.slot_bytes += 8; }, true);
  expect_error(Errc::kLayoutMismatch, "slot_bytes: the segment has 408, this build computes 400",
               [&] { MutexTable t(persistent(name.str())); });
}

TEST(Errors, CorruptedHeadersAreRefused) {
  struct Case {
    std::function<void(detail::SegmentHeader &)> corrupt;
    std::string message;
  };
  const Case cases[] = {
      {[](detail::SegmentHeader &h) { h.magic ^= 1; }, "not a shmtable segment (magic is"},
      {[](detail::SegmentHeader &h) { h.capacity = 33; }, "header checksum mismatch"},
      {[](detail::SegmentHeader &h) { h.hash_seed ^= 0xff00; }, "header checksum mismatch"},
      {[](detail::SegmentHeader &h) { h.ready = 7; }, "ready flag holds 7"},
  };
  for (const auto &c : cases) {
    ScopedName name("corrupt");
    MutexTable(persistent(name.str())).set("k", "v");
    patch_header(name.dev_path(), c.corrupt, false);
    expect_error(Errc::kCorruptedHeader, c.message, [&] { MutexTable t(persistent(name.str())); });
  }
}

TEST(Errors, ATruncatedSegmentIsRefused) {
  ScopedName name("short");
  MutexTable(persistent(name.str())).close();
  ASSERT_EQ(::truncate(name.dev_path().c_str(), 4096), 0);
  expect_error(Errc::kCorruptedHeader, "size: the segment is 4096 bytes, its header says",
               [&] { MutexTable t(persistent(name.str())); });
}

TEST(Errors, AForeignFileIsRefusedAndLeftAlone) {
  char dir[] = "/tmp/shmtable-foreign-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/notes.txt";
  const std::string text = "these are somebody's notes, not a table\n";
  {
    FILE *f = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  Options o;
  o.path = path;
  expect_error(Errc::kCorruptedHeader, "not a shmtable segment", [&] { MutexTable t(o); });
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<std::size_t>(st.st_size), text.size()) << "the file must be untouched";
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST(Errors, OpeningAMissingSegmentSaysSo) {
  ScopedName name("missing");
  Options o;
  o.name = name.str();
  o.open_mode = OpenMode::kOpen;
  expect_error(Errc::kSegmentMissing, name.str(), [&] { MutexTable t(o); });
  expect_error(Errc::kSegmentMissing, "unlink", [&] { unlink(name.str()); });
  EXPECT_FALSE(exists(name.dev_path()));
}

TEST(Errors, ExclusiveCreateOfAnExistingTableSaysSo) {
  ScopedName name("exists");
  Options o;
  o.name = name.str();
  MutexTable first(o);
  first.set("k", "v");
  o.open_mode = OpenMode::kCreate;
  expect_error(Errc::kAlreadyExists, "already exists", [&] { MutexTable t(o); });
  EXPECT_EQ(first.get("k"), "v");
}

TEST(Errors, PermissionDeniedIsReported) {
  ScopedName name("perm");
  Options o;
  o.name = name.str();
  MutexTable owner(o); // mode 0600: nobody else may open it
  owner.set("secret", "s");
  const pid_t child = spawn([&] {
    if (::geteuid() == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) { // become 'nobody'
        return 3;
      }
    } else if (::chmod(name.dev_path().c_str(), 0) != 0) { // not root: deny ourselves
      return 4;
    }
    try {
      MutexTable t(o);
    } catch (const Error &e) {
      const bool named = std::string(e.what()).find("Permission denied") != std::string::npos;
      return e.code() == Errc::kPermissionDenied && named ? 0 : 1;
    }
    return 2;
  });
  EXPECT_EQ(exit_code(child), 0);
  ::chmod(name.dev_path().c_str(), 0600);
  EXPECT_EQ(owner.get("secret"), "s");
}

TEST(Errors, AGateHeldForeverTimesOut) {
  ScopedName name("notready");
  Options o;
  o.name = name.str();
  o.capacity = 64;
  o.persist = true;
  MutexTable(o).close();
  // Play a process that is deciding about the table (opening or closing it) and stopped.
  const int fd = hold_gate(name.dev_path());
  ASSERT_GE(fd, 0);
  o.ready_timeout_ms = 200;
  expect_error(Errc::kNotReady,
               "held its gate (opening or closing it) for over 200 ms "
               "(ready_timeout_ms)",
               [&] { MutexTable t(o); });
  ::close(fd); // it lets go: the open goes through
  MutexTable t(o);
  EXPECT_FALSE(t.created());
}

TEST(Errors, ATableTooLargeForItsStorageFailsCleanly) {
  ScopedName name("toolarge");
  const pid_t child = spawn([&] {
    // Play a small /dev/shm: the kernel refuses to grow files past RLIMIT_FSIZE.
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit lim{1 << 20, 1 << 20};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) {
      return 3;
    }
    Options o;
    o.name = name.str();
    // 40 MB: 100000 slots of 400 bytes after 16832 bytes of header, control block and
    // statistics.
    o.capacity = 100000;
    try {
      MutexTable t(o);
    } catch (const Error &e) {
      const bool named = std::string(e.what()).find("40016832 bytes") != std::string::npos;
      return e.code() == Errc::kSystem && named && !exists(name.dev_path()) ? 0 : 1;
    }
    return 2;
  });
  EXPECT_EQ(exit_code(child), 0);
}

TEST(Errors, EveryCodeHasItsOwnName) {
  std::set<std::string_view> names;
  for (int c = static_cast<int>(Errc::kInvalidArgument); c <= static_cast<int>(Errc::kServerError);
       ++c) {
    names.insert(to_string(static_cast<Errc>(c)));
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(Errc::kServerError));
  EXPECT_FALSE(names.contains("unknown"));
  EXPECT_EQ(to_string(Errc::kTableFull), "table_full");
}

} // namespace
} // namespace shmtable::test
