// stress/create_race.cpp: see create_race.hpp.
#include "create_race.hpp"

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>

#include "workload.hpp"

namespace shmtable::stress {
namespace {

constexpr std::uint64_t kBarrierTimeoutNs = 10'000'000'000ULL;

struct Shared {
  std::atomic<std::uint64_t> arrived{0}; // barrier: processes arrived, over all rounds
  std::atomic<std::uint64_t> failures{0};
  std::atomic<bool> abort{false}; // a barrier timed out: every process gives up
  char message[256];
  std::atomic<bool> message_taken{false};
};

// Waits until `procs * generation` processes have arrived. Release (in the acq_rel
// increment) pairs with the acquire loads of the waiters: everything a process did before
// arriving happens before everything any process does after leaving, e.g. the table
// writes of phase 2 before the reads of phase 3.
bool barrier(Shared &s, unsigned procs, std::uint64_t generation) {
  s.arrived.fetch_add(1, std::memory_order_acq_rel);
  const std::uint64_t deadline = now_ns() + kBarrierTimeoutNs;
  while (s.arrived.load(std::memory_order_acquire) < procs * generation) {
    // Relaxed: once one process has missed a barrier the count is off for good, so all
    // stop rather than time out round after round (or pass a barrier early).
    if (s.abort.load(std::memory_order_relaxed)) {
      return false;
    }
    if (now_ns() > deadline) {
      s.abort.store(true, std::memory_order_relaxed);
      return false;
    }
    sched_yield();
  }
  return true;
}

void fail(Shared &s, const std::string &what) {
  s.failures.fetch_add(1, std::memory_order_relaxed); // relaxed: read after every child exits
  // Relaxed: only one process wins the message slot; the parent reads it after wait().
  if (!s.message_taken.exchange(true, std::memory_order_relaxed)) {
    std::snprintf(s.message, sizeof s.message, "%s", what.c_str());
  }
}

// The key process `p` writes in each round. Appended, not `"p" + std::to_string(p)`: at
// -O3 GCC 12 reports a false -Wrestrict inside that operator+.
std::string process_key(unsigned p) {
  std::string key = "p";
  key += std::to_string(p);
  return key;
}

bool round_child(EngineName engine, const std::string &name, unsigned me, unsigned procs,
                 std::uint64_t round, Shared &s, std::atomic<std::uint64_t> &creators) {
  const std::uint64_t base = round * 3; // three barriers per round
  Options o;
  o.name = name;
  o.capacity = 64;
  if (!barrier(s, procs, base + 1)) {
    fail(s, "round " + std::to_string(round) + ": start barrier timed out");
    return false;
  }
  std::unique_ptr<AnyTable> t;
  try {
    if (round % 2 == 0) {
      o.open_mode = OpenMode::kOpenOrCreate;
      t = open_table(engine, o);
    } else {
      o.open_mode = OpenMode::kCreate;
      try {
        t = open_table(engine, o);
      } catch (const Error &e) {
        if (e.code() != Errc::kAlreadyExists) {
          throw;
        }
        o.open_mode = OpenMode::kOpen;
        t = open_table(engine, o);
      }
    }
    if (t->created()) {
      creators.fetch_add(1, std::memory_order_relaxed); // relaxed: read after wait()
    }
    t->set(process_key(me), "round-" + std::to_string(round));
  } catch (const std::exception &e) {
    fail(s, "round " + std::to_string(round) + ", process " + std::to_string(me) + ": " + e.what());
  }
  if (!barrier(s, procs, base + 2)) {
    fail(s, "round " + std::to_string(round) + ": write barrier timed out");
    return false;
  }
  if (t) {
    for (unsigned p = 0; p < procs; ++p) {
      const auto v = t->get(process_key(p));
      if (!v || *v != "round-" + std::to_string(round)) {
        fail(s, "round " + std::to_string(round) + ": process " + std::to_string(me) +
                    " does not see process " + std::to_string(p) +
                    "'s write: two tables under one name");
      }
    }
    t->close();
  }
  return barrier(s, procs, base + 3);
}

} // namespace

CreateRaceReport create_race(EngineName engine, const std::string &name_prefix, unsigned procs,
                             std::uint64_t rounds, bool progress) {
  const std::size_t bytes = sizeof(Shared) + sizeof(std::atomic<std::uint64_t>) * rounds;
  void *mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    throw std::runtime_error("create-race: mmap failed");
  }
  auto *s = new (mem) Shared;
  auto *creators = reinterpret_cast<std::atomic<std::uint64_t> *>(s + 1); // one per round
  for (std::uint64_t r = 0; r < rounds; ++r) {
    new (&creators[r]) std::atomic<std::uint64_t>(0);
  }
  std::vector<pid_t> kids;
  for (unsigned me = 0; me < procs; ++me) {
    const pid_t pid = fork();
    if (pid == 0) {
      for (std::uint64_t r = 0; r < rounds; ++r) {
        if (!round_child(engine, name_prefix + "-" + std::to_string(r), me, procs, r, *s,
                         creators[r])) {
          _exit(1);
        }
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  std::uint64_t shown = 0;
  for (std::size_t alive = kids.size(); alive > 0;) {
    alive = 0;
    for (pid_t &k : kids) {
      int status = 0;
      const pid_t got = k > 0 ? waitpid(k, &status, WNOHANG) : -1;
      if (got == 0) {
        ++alive;
      } else if (got == k) {
        k = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          fail(*s, "a create-race process " +
                       std::string(WIFSIGNALED(status) ? "died of a signal" : "gave up"));
          s->abort.store(true, std::memory_order_relaxed); // the others stop too
        }
      }
    }
    // Acquire: pairs with the barrier's acq_rel arrivals (only a progress figure here).
    const std::uint64_t done = s->arrived.load(std::memory_order_acquire) / (3 * procs);
    if (progress && done >= shown + 100) {
      shown = done;
      std::fprintf(stderr, "[create-race] %llu/%llu rounds\n",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(rounds));
    }
    usleep(2000);
  }
  // Every child has been reaped: wait() orders all their writes before these reads.
  CreateRaceReport report;
  report.rounds = rounds;
  for (std::uint64_t r = 0; r < rounds; ++r) {
    const std::uint64_t n = creators[r].load(std::memory_order_relaxed);
    const std::string name = name_prefix + "-" + std::to_string(r);
    if (n != 1) {
      ++report.violations;
      report.messages.push_back("round " + std::to_string(r) + ": " + std::to_string(n) +
                                " processes created " + name + " (exactly one must)");
    }
    if (access(("/dev/shm/" + name).c_str(), F_OK) == 0) {
      ++report.violations;
      report.messages.push_back("round " + std::to_string(r) + ": " + name +
                                " still exists after every process closed it");
      shm_unlink(("/" + name).c_str());
    }
  }
  report.violations += s->failures.load(std::memory_order_relaxed);
  if (s->message_taken.load(std::memory_order_relaxed)) {
    report.messages.emplace_back(s->message);
  }
  munmap(mem, bytes);
  return report;
}

} // namespace shmtable::stress
