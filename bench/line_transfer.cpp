// bench/line_transfer.cpp: shmtable-line-transfer, the round trip of one cache line
// between two CPUs. Two threads, pinned one per CPU, take turns incrementing one counter:
// each turn moves the line to the other core and back, so a round trip is what an update
// of a key last written in another process pays, twice. On a VM the figure depends on
// where the host places the virtual CPUs (same core complex or not) and may change
// between runs; bench/machine.sh records it before and after each benchmark run so that
// every multi-process figure can be read against it.
//
// Usage: shmtable-line-transfer [CPU_A CPU_B]   (default: the first and the last online)
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// The counter owns its line: nothing else moves with it.
struct alignas(64) Line {
  std::atomic<long> turn{0};
};

// Nanoseconds per round trip over `trips` round trips between `a` and `b`.
double measure(int a, int b, long trips) {
  Line line;
  bool pinned_b = true;
  // Each side waits for its parity, then passes the turn: acquire pairs with the other
  // side's release, so each increment follows the one before it (a real hand-over).
  std::thread other([&] {
    pinned_b = pin(b);
    for (long i = 1; i < 2 * trips; i += 2) {
      while (line.turn.load(std::memory_order_acquire) != i) {
      }
      line.turn.store(i + 1, std::memory_order_release);
    }
  });
  if (!pin(a)) {
    std::fprintf(stderr, "shmtable-line-transfer: cannot pin to CPU %d\n", a);
    std::exit(1);
  }
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < 2 * trips; i += 2) {
    while (line.turn.load(std::memory_order_acquire) != i) {
    }
    line.turn.store(i + 1, std::memory_order_release);
  }
  other.join();
  if (!pinned_b) {
    std::fprintf(stderr, "shmtable-line-transfer: cannot pin to CPU %d\n", b);
    std::exit(1);
  }
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  return took.count() / static_cast<double>(trips);
}

int cpu_arg(const char *s) {
  char *end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v >= CPU_SETSIZE) {
    std::fprintf(stderr, "shmtable-line-transfer: '%s' is not a CPU number\n", s);
    std::exit(2);
  }
  return static_cast<int>(v);
}

} // namespace

int main(int argc, char **argv) {
  int a = 0;
  int b = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  if (argc == 3) {
    a = cpu_arg(argv[1]);
    b = cpu_arg(argv[2]);
  } else if (argc != 1) {
    std::fprintf(stderr, "usage: shmtable-line-transfer [CPU_A CPU_B]\n");
    return 2;
  }
  if (a == b) {
    std::printf("line round trip: one CPU only, nothing to measure\n");
    return 0;
  }
  std::vector<double> ns;
  for (int rep = 0; rep < 5; ++rep) {
    ns.push_back(measure(a, b, 500000));
  }
  std::sort(ns.begin(), ns.end());
  std::printf("line round trip CPU %d <-> CPU %d: %.0f ns (median of 5; %.0f-%.0f)\n", a, b, ns[2],
              ns.front(), ns.back());
  return 0;
}
