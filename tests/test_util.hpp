// Helpers shared by the test binaries: unique segment names, forked children.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

#include <xxhash.h>

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

inline bool exists(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Runs `body` in a forked child; its return value is the child's exit code. An escaping
// exception exits with 99 after printing it. Flushes stdio first (TOOLCHAIN.md).
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

} // namespace shmtable::test
