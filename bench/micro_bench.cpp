// Single-thread micro-benchmarks of the engines, BM_<op><Engine>/<keys>. Keys are made
// before timing; every table has 16384 slots, so the argument is the load factor.
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "shmtable/shmtable.hpp"

namespace {

constexpr std::uint64_t kSlots = 16384;

struct FaithfulMutex {
  using Table = shmtable::MutexTable;
  static void configure(shmtable::Options &) {}
};
struct RobustMutex {
  using Table = shmtable::MutexTable;
  static void configure(shmtable::Options &o) { o.robust = true; }
};
struct LockFree {
  using Table = shmtable::LockFreeTable;
  static void configure(shmtable::Options &) {}
};

template <class E> typename E::Table make_table(const char *tag) {
  shmtable::Options o;
  o.name = std::string("shmtable-bench-") + tag + "-" + std::to_string(::getpid());
  o.capacity = kSlots;
  E::configure(o);
  return typename E::Table(o);
}

std::vector<std::string> make_keys(std::size_t n, const char *prefix) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    keys.push_back(prefix + std::to_string(i * 2654435761u % 1000003));
  }
  return keys;
}

void label(benchmark::State &state) {
  state.SetLabel("load " +
                 std::to_string(static_cast<double>(state.range(0)) / kSlots).substr(0, 4));
}

template <class E> void BM_GetHit(benchmark::State &state) {
  auto t = make_table<E>("get");
  const auto keys = make_keys(static_cast<std::size_t>(state.range(0)), "session:");
  for (const auto &k : keys) {
    t.set(k, std::string(64, 'v'));
  }
  std::array<char, 256> buf{};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.get_into(keys[i], buf));
    i = i + 1 == keys.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
  label(state);
}

template <class E> void BM_GetMiss(benchmark::State &state) {
  auto t = make_table<E>("miss");
  for (const auto &k : make_keys(static_cast<std::size_t>(state.range(0)), "session:")) {
    t.set(k, "v");
  }
  const auto absent = make_keys(4096, "absent:");
  std::array<char, 256> buf{};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.get_into(absent[i], buf));
    i = (i + 1) % absent.size();
  }
  state.SetItemsProcessed(state.iterations());
  label(state);
}

template <class E> void BM_SetUpdate(benchmark::State &state) {
  auto t = make_table<E>("set");
  const auto keys = make_keys(static_cast<std::size_t>(state.range(0)), "session:");
  const std::string value(64, 'v');
  for (const auto &k : keys) {
    t.set(k, value);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    t.set(keys[i], value);
    i = i + 1 == keys.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
  label(state);
}

template <class E> void BM_InsertErase(benchmark::State &state) {
  auto t = make_table<E>("churn");
  for (const auto &k : make_keys(static_cast<std::size_t>(state.range(0)), "session:")) {
    t.set(k, "v");
  }
  const auto fresh = make_keys(1024, "fresh:");
  std::size_t i = 0;
  for (auto _ : state) {
    t.set(fresh[i], "v");
    t.erase(fresh[i]);
    i = (i + 1) % fresh.size();
  }
  state.SetItemsProcessed(state.iterations() * 2);
  label(state);
}

#define SHMTABLE_SWEEP(fn)                                                                         \
  BENCHMARK_TEMPLATE(fn, FaithfulMutex)->Arg(4096)->Arg(8192)->Arg(12288);                         \
  BENCHMARK_TEMPLATE(fn, RobustMutex)->Arg(4096)->Arg(8192)->Arg(12288);                           \
  BENCHMARK_TEMPLATE(fn, LockFree)->Arg(4096)->Arg(8192)->Arg(12288)

SHMTABLE_SWEEP(BM_GetHit);
SHMTABLE_SWEEP(BM_GetMiss);
SHMTABLE_SWEEP(BM_SetUpdate);
SHMTABLE_SWEEP(BM_InsertErase);

} // namespace

BENCHMARK_MAIN();
