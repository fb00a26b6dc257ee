// shmtable demo: two independent processes share one table (the README's first command).
// The second process is this same binary, started with `demo-peer NAME`: it attaches by
// name, as any other program would.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "commands.hpp"
#include "shmtable/shmtable.hpp"

extern char **environ;

namespace shmtable::tool {

namespace {

using Clock = std::chrono::steady_clock;

void say(const char *who, const std::string &line) {
  std::printf("[%-6s pid %6d] %s\n", who, static_cast<int>(::getpid()), line.c_str());
  std::fflush(stdout);
}

Options demo_options(const std::string &name) {
  Options o;
  o.name = name;
  o.capacity = 1024; // fast-shm-cache's default maxKeys
  return o;
}

// Alternates set/get on `key` for one second; returns operations per second.
double hammer(MutexTable &t, const std::string &key) {
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(1);
  long ops = 0;
  while (Clock::now() < end) {
    for (int i = 0; i < 1000; ++i, ++ops) {
      if (i % 2 == 0) {
        t.set(key, std::to_string(ops));
      } else {
        (void)t.get(key);
      }
    }
  }
  return static_cast<double>(ops) / std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

int run_demo_peer(const Args &a) {
  const std::string name = a.arg(0);
  Options o = demo_options(name);
  o.open_mode = OpenMode::kOpen;
  MutexTable t(o);
  say("peer", "attached to shm '" + name +
                  "' by name (created here: " + (t.created() ? "yes" : "no") + ")");
  say("peer", "reads session:42 = '" + t.get("session:42").value_or("<missing>") + "'");
  t.set("reply", "hello back from pid " + std::to_string(::getpid()));
  say("peer", "wrote reply");
  const double rate = hammer(t, "counter:peer");
  say("peer", "1 s of set/get on its own key, beside the writer: " +
                  std::to_string(static_cast<long>(rate)) + " ops/s");
  return 0;
}

int run_demo(const Args &a) {
  std::string name = a.arg(0);
  if (name.empty()) {
    name = "shmtable-demo-" + std::to_string(::getpid());
  }
  MutexTable t(demo_options(name));
  say("writer", "created shm '" + name + "': mutex engine, capacity " +
                    std::to_string(t.capacity()) +
                    ", keys <= " + std::to_string(t.max_key_bytes()) +
                    " B, values <= " + std::to_string(t.max_value_bytes()) + " B");
  t.set("session:42", "active");
  say("writer", "set session:42 = 'active'; starting a second process");

  std::string self = a.self;
  std::string arg1 = "demo-peer";
  char *argv[] = {self.data(), arg1.data(), name.data(), nullptr};
  pid_t child = 0;
  if (int rc = ::posix_spawn(&child, self.c_str(), nullptr, nullptr, argv, environ); rc != 0) {
    throw Failure(kExitTable, "cannot start " + self + ": " + std::strerror(rc));
  }
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::optional<std::string> reply;
  while (!(reply = t.get("reply")) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  say("writer", "sees the peer's write: reply = '" + reply.value_or("<missing>") + "'");
  const double rate = hammer(t, "counter:writer");
  say("writer", "1 s of set/get on its own key, beside the peer: " +
                    std::to_string(static_cast<long>(rate)) + " ops/s");
  int status = 0;
  ::waitpid(child, &status, 0);
  std::string keys;
  for (const auto &k : t.keys()) {
    keys += (keys.empty() ? "" : ", ") + k;
  }
  say("writer", "peer exited with status " + std::to_string(WEXITSTATUS(status)) + "; table has " +
                    std::to_string(t.size()) + " keys: " + keys);
  t.close();
  say("writer", "closed; persist=false, so the last close removed shm '" + name + "'");
  return (reply && WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : 1;
}

} // namespace shmtable::tool
