// Helpers shared by the test binaries: unique segment names, forked children.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "segment_header.hpp"
#include "shmtable/error.hpp"
#include "shmtable/value_view.hpp"

namespace shmtable::test {

// A segment name no other test (or concurrent test binary) uses; removed on scope exit.
class ScopedName {
public:
  explicit ScopedName(const std::string &tag) {
    static std::atomic<int> counter{0};
    name_ = "shmt-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + tag;
  }
  ScopedName(const ScopedName &) = delete;
  ScopedName &operator=(const ScopedName &) = delete;
  ~ScopedName() { ::shm_unlink(("/" + name_).c_str()); }
  const std::string &str() const { return name_; }
  std::string dev_path() const { return "/dev/shm/" + name_; }

private:
  std::string name_;
};

// Runs `f`, which must throw an Error with `code` whose message contains `needle`.
template <class F> void expect_error(Errc code, const std::string &needle, F &&f) {
  try {
    f();
    ADD_FAILURE() << "expected " << to_string(code) << ", nothing was thrown";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message '" << e.what() << "' does not mention '" << needle << "'";
  }
}

// A caller of LockFreeTable::get_cached that keeps one value, by slot and version. A read
// whose copy the engine then discards leaves a version the slot no longer has, so it is
// never held by mistake.
struct KeptValue {
  std::uint64_t slot = ~std::uint64_t{0};
  std::uint64_t version = 0;
  std::string value;

  static const CachingReader kReader; // defined below: it needs the complete type
};
inline const CachingReader KeptValue::kReader{
    [](void *ctx, std::uint64_t slot, std::uint64_t version) {
      auto *k = static_cast<KeptValue *>(ctx);
      return k->slot == slot && k->version == version;
    },
    [](void *ctx, const ValueView &v, std::uint64_t slot, std::uint64_t version) {
      auto *k = static_cast<KeptValue *>(ctx);
      k->value.assign(v.bytes, v.size);
      k->slot = slot;
      k->version = version;
    }};

// Free bytes in /dev/shm, or nullopt where it has no size limit (statvfs f_blocks 0).
// Creation refuses a table larger than the free space (segment.cpp, check_space), so a
// test of a big sparse table needs that much free, though it touches almost none of it.
inline std::optional<std::uint64_t> shm_free_bytes() {
  struct statvfs vfs {};
  if (::statvfs("/dev/shm", &vfs) != 0 || vfs.f_blocks == 0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

inline bool exists(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Runs `body` in a forked child; its return value is the child's exit code. An escaping
// exception exits with 99 after printing it. Flushes stdio first: the child inherits the
// parent's unflushed buffers, which both would otherwise write out.
inline pid_t spawn(const std::function<int()> &body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 98;
    try {
      rc = body();
    } catch (const std::exception &e) {
      std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
      rc = 99;
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  return pid;
}

// Waits for `pid` up to `timeout`; nullopt (and the child SIGKILLed and reaped) if it
// did not finish in time.
inline std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Write-locks byte `byte` of `path` with an open-file-description lock, as the library
// does (creating the file if `create`). Returns the descriptor; closing it lets go. -1
// if the lock is taken or the file cannot be opened.
inline int hold_byte_lock(const std::string &path, long byte, bool create) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  if (fd >= 0 && ::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Plays a process deciding about a segment (opening or closing it): its gate byte
// (src/segment.cpp, L2).
inline int hold_gate(const std::string &path) {
  return hold_byte_lock(path, detail::kGateByte, false);
}

// Plays a process creating the table `name` whose creation writes every page (the mutex
// engine): byte 0 of its creation lock file in /dev/shm (src/segment.cpp, CreationLock).
inline int hold_creation_lock(const std::string &name) {
  return hold_byte_lock("/dev/shm/." + name + detail::kCreatingSuffix, 0, true);
}

// Exit code of a child that exited normally; -1 otherwise (signal, timeout).
inline int exit_code(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  const auto status = wait_for(pid, timeout);
  if (!status || !WIFEXITED(*status)) {
    return -1;
  }
  return WEXITSTATUS(*status);
}

// Values that prove their own integrity: "<writer>:<seq>:<16 hex digits of XXH64>".
inline std::string checked_value(const std::string &writer, std::uint64_t seq,
                                 std::size_t pad = 0) {
  std::string body = writer + ":" + std::to_string(seq) + ":" + std::string(pad, 'x');
  char sum[17];
  std::snprintf(sum, sizeof sum, "%016llx",
                static_cast<unsigned long long>(XXH64(body.data(), body.size(), 7)));
  return body + ":" + sum;
}

inline bool value_is_intact(const std::string &v) {
  const auto colon = v.rfind(':');
  if (colon == std::string::npos || v.size() - colon != 17) {
    return false;
  }
  char sum[17];
  std::snprintf(sum, sizeof sum, "%016llx",
                static_cast<unsigned long long>(XXH64(v.data(), colon, 7)));
  return v.compare(colon + 1, 16, sum) == 0;
}

// How many pages of the file at `path` are resident in memory (mincore).
inline std::size_t resident_pages(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << path;
  struct stat st {};
  ::fstat(fd, &st);
  const auto bytes = static_cast<std::size_t>(st.st_size);
  void *p = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  EXPECT_NE(p, MAP_FAILED);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((bytes + page - 1) / page);
  EXPECT_EQ(::mincore(p, bytes, vec.data()), 0);
  ::munmap(p, bytes);
  std::size_t n = 0;
  for (unsigned char c : vec) {
    n += c & 1u;
  }
  return n;
}

// A one-shot barrier across fork(): children block reading a pipe until it closes.
class Gate {
public:
  Gate() {
    if (::pipe(fds_) != 0) {
      std::abort();
    }
  }
  ~Gate() { open(); }
  void wait() { // in a child
    ::close(fds_[1]);
    char c;
    while (::read(fds_[0], &c, 1) > 0) {
    }
  }
  void open() { // in the parent
    if (fds_[1] >= 0) {
      ::close(fds_[1]);
      fds_[1] = -1;
    }
  }

private:
  int fds_[2] = {-1, -1};
};

} // namespace shmtable::test
