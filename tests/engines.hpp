// The engines every conformance test runs against. A new engine joins the whole suite
// by adding one type here (a TestEngine, below).
#pragma once

#include <gtest/gtest.h>

#include <concepts>
#include <memory>
#include <stdexcept>
#include <string>

#include "shmtable/shmtable.hpp"

#if SHMTABLE_HAVE_REDIS_TABLE
#include "server.hpp" // support/
#include "shmtable/redis_table.hpp"
#endif

namespace shmtable::test {

// fast-shm-cache's design, as fast-shm-cache has it.
struct FaithfulMutex {
  using Table = MutexTable;
  static constexpr std::string_view kName = to_string(EngineName::kMutex);
  static void configure(Options &) {}
};

// The same engine with robust process-shared mutexes and two value halves.
struct RobustMutex {
  using Table = MutexTable;
  static constexpr std::string_view kName = to_string(EngineName::kRobust);
  static void configure(Options &o) { o.robust = true; }
};

// The lock-free engine: 128-bit control words, seqlock reads, out-of-place records. On
// CPUs that report AVX its handles read a control word in one 16-byte load.
struct LockFree {
  using Table = LockFreeTable;
  static constexpr std::string_view kName = to_string(EngineName::kLockFree);
  static void configure(Options &) { LockFreeTable::force_split_control_load(false); }
};

// The same engine with the other control-word read, lo/hi/lo (what CPUs without AVX
// run), so that both paths pass every test on any machine.
struct LockFreeSplitLoad {
  using Table = LockFreeTable;
  static constexpr const char *kName = "lockfree-split";
  static void configure(Options &) { LockFreeTable::force_split_control_load(true); }
};

// The same engine with one-thread handles (Options::one_thread): each handle's calls
// never overlap, and its writes keep their spare with plain loads and stores.
struct LockFreeOneThread {
  using Table = LockFreeTable;
  static constexpr const char *kName = "lockfree-one-thread";
  static void configure(Options &o) {
    LockFreeTable::force_split_control_load(false);
    o.one_thread = true;
  }
};

#if SHMTABLE_HAVE_REDIS_TABLE
// RedisTable, on a redis-server of the test binary's own (started at the first open, on
// a free loopback port, and stopped when the binary exits). Each table is its own key
// namespace there, so tests do not see each other's keys.
struct Redis {
  using Table = RedisTable;
  static constexpr std::string_view kName = "redis";
  static void configure(Options &) {}
  static support::RedisServer &server() {
    static const std::unique_ptr<support::RedisServer> s = [] {
      std::string why;
      auto started = support::RedisServer::start(why);
      if (!started) {
        throw std::runtime_error("the Redis tests need a redis-server: " + why);
      }
      return started;
    }();
    return *s;
  }
  static RedisTable open(const Options &o) { return RedisTable(o, server().url()); }
};
#endif

// What a test engine is: a Table (shmtable/table.hpp) and how the suite opens it: with
// E::open(options) where the engine has one, else by the constructor from Options.
template <class E>
concept TestEngine = Table<typename E::Table> && requires(Options &o) {
  { E::kName } -> std::convertible_to<std::string_view>;
  E::configure(o);
};
static_assert(TestEngine<FaithfulMutex> && TestEngine<RobustMutex> && TestEngine<LockFree> &&
              TestEngine<LockFreeSplitLoad> && TestEngine<LockFreeOneThread>);

template <TestEngine E> typename E::Table open_table(const Options &o) {
  if constexpr (requires { E::open(o); }) {
    return E::open(o);
  } else {
    return typename E::Table(o);
  }
}

// The shared-memory engines (SharedMemoryTable).
using Engines =
    ::testing::Types<FaithfulMutex, RobustMutex, LockFree, LockFreeSplitLoad, LockFreeOneThread>;
// The engines whose handles take calls from several threads at once (every one but
// LockFreeOneThread): for suites that share a handle between threads.
using SharedHandleEngines =
    ::testing::Types<FaithfulMutex, RobustMutex, LockFree, LockFreeSplitLoad>;

struct EngineNames {
  template <class E> static std::string GetName(int) { return std::string(E::kName); }
};

} // namespace shmtable::test
