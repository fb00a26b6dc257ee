// The engines every conformance test runs against. A new engine joins the whole suite
// by adding one type here.
#pragma once

#include <gtest/gtest.h>

#include "shmtable/shmtable.hpp"

namespace shmtable::test {

// The seed's design, as the seed has it.
struct FaithfulMutex {
  using Table = MutexTable;
  static constexpr const char *kName = "mutex";
  static void configure(Options &) {}
};

// The same engine with robust process-shared mutexes and two value halves.
struct RobustMutex {
  using Table = MutexTable;
  static constexpr const char *kName = "mutex-robust";
  static void configure(Options &o) { o.robust = true; }
};

// The lock-free engine: 128-bit control words, seqlock reads, out-of-place records.
struct LockFree {
  using Table = LockFreeTable;
  static constexpr const char *kName = "lockfree";
  static void configure(Options &) {}
};

using Engines = ::testing::Types<FaithfulMutex, RobustMutex, LockFree>;

struct EngineNames {
  template <class E> static std::string GetName(int) { return E::kName; }
};

} // namespace shmtable::test
