// The engines every conformance test runs against. A new engine joins the whole suite
// by adding one type here (a TestEngine, below).
#pragma once

#include <gtest/gtest.h>

#include <concepts>
#include <string>

#include "shmtable/shmtable.hpp"

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

// What a test engine is: a Table (shmtable/table.hpp) and how the suite opens it.
template <class E>
concept TestEngine = Table<typename E::Table> && requires(Options &o) {
  { E::kName } -> std::convertible_to<std::string_view>;
  E::configure(o);
};
static_assert(TestEngine<FaithfulMutex> && TestEngine<RobustMutex> && TestEngine<LockFree> &&
              TestEngine<LockFreeSplitLoad> && TestEngine<LockFreeOneThread>);

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
