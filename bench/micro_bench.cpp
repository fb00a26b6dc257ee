// bench/micro_bench.cpp: Google Benchmark micro-benchmarks of the engines and the floor,
// BM_<Op><Engine>/<slots>/<load %>/<key bytes>/<value bytes>[/threads:N].
//
// Engines: LockFree, FaithfulMutex, RobustMutex, and Floor (the lock-free layout read and
// written without synchronization, one thread only: what memory alone costs). Keys and
// values are made before timing; keys have exactly <key bytes> bytes.
//
// Five sweeps (bench/run.sh picks them with --benchmark_filter):
//   ops:     every operation, 16384 slots, load 25/50/75/90 %, keys/values 16/64 and 64/256
//   threads: get, set and add from 1 to all hardware threads on one table (load 75 %)
//   sizes:   get hit at 1 Ki, 64 Ki and 1 Mi slots (load 75 %), the floor's figure (its
//            get a call, as the engines' are; and, for comparison, compiled into the loop)
//   batch:   single gets against get_many at 1 Mi and 16 Mi slots (BM_Get{Single,Many})
//   ttl:     get and set of entries without and with a deadline (BM_{GetHit,SetUpdate}
//            {,Timed}), 16 Ki slots at 75 %, 16/64 B: what expiry costs a read and a write
//   stats:   get hit and set of an existing key, 16384 slots, load 75 %, keys/values
//            16/64, by handles that count in the shared statistics (the default) and by
//            handles opened with Options::stats = false (engine names ending NoStats):
//            what counting costs
//   evict:   a table made with Options::eviction against one without (LockFreeEvicting,
//            LockFree), 16 Ki slots, 16/64 B: a get hit at load 75 % (below the fill
//            level, nothing evicted: what the reference mark's check costs a read), and
//            a set of a new key into the full evicting table, which evicts one entry,
//            against an insert and an erase on the other (BM_InsertEvict, BM_InsertErase,
//            load 90 %)
// Multi-threaded runs share one table; thread 0 builds it before the timing loop (whose
// start is a barrier for all threads) and drops it after.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "floor_table.hpp"
#include "keys.hpp"
#include "shmtable/shmtable.hpp"

namespace {

using shmtable::bench::make_keys;

using shmtable::bench::FloorTable;

struct Shape {
  std::uint64_t slots;
  std::uint64_t keys; // slots * load
  std::uint32_t key_bytes;
  std::uint32_t value_bytes;
};

Shape shape_of(const benchmark::State &s) {
  const auto slots = static_cast<std::uint64_t>(s.range(0));
  return {slots, slots * static_cast<std::uint64_t>(s.range(1)) / 100,
          static_cast<std::uint32_t>(s.range(2)), static_cast<std::uint32_t>(s.range(3))};
}

template <class Table> struct ShmEngine {
  static std::unique_ptr<Table> make(const Shape &s, const char *tag, bool robust,
                                     bool stats = true, bool eviction = false) {
    shmtable::Options o;
    // A name of its own for every table (pid and a counter): the big tables of the /batch/
    // benchmarks stay open while others are made, and must never be attached by them.
    static std::uint64_t made = 0;
    o.name = std::string("shmtable-micro-") + tag + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(++made);
    o.capacity = s.slots;
    o.max_key_bytes = s.key_bytes;
    o.max_value_bytes = s.value_bytes;
    o.robust = robust;
    o.stats = stats;
    o.eviction = eviction;
    return std::make_unique<Table>(o);
  }
};

struct LockFree {
  using Table = shmtable::LockFreeTable;
  static constexpr bool kThreads = true;
  static std::unique_ptr<Table> make(const Shape &s) {
    return ShmEngine<Table>::make(s, "lf", false);
  }
};
struct FaithfulMutex {
  using Table = shmtable::MutexTable;
  static constexpr bool kThreads = true;
  static std::unique_ptr<Table> make(const Shape &s) {
    return ShmEngine<Table>::make(s, "mx", false);
  }
};
struct RobustMutex {
  using Table = shmtable::MutexTable;
  static constexpr bool kThreads = true;
  static std::unique_ptr<Table> make(const Shape &s) {
    return ShmEngine<Table>::make(s, "rb", true);
  }
};
// The same engines through handles that count nothing (Options::stats = false).
struct LockFreeNoStats {
  using Table = shmtable::LockFreeTable;
  static constexpr bool kThreads = true;
  static std::unique_ptr<Table> make(const Shape &s) {
    return ShmEngine<Table>::make(s, "lfns", false, false);
  }
};
struct FaithfulMutexNoStats {
  using Table = shmtable::MutexTable;
  static constexpr bool kThreads = true;
  static std::unique_ptr<Table> make(const Shape &s) {
    return ShmEngine<Table>::make(s, "mxns", false, false);
  }
};

// The lock-free engine on a table that evicts (Options::eviction).
struct LockFreeEvicting {
  using Table = shmtable::LockFreeTable;
  static constexpr bool kThreads = true;
  static std::unique_ptr<Table> make(const Shape &s) {
    return ShmEngine<Table>::make(s, "lfev", false, true, true);
  }
};

// The floor has no add or compare_and_set: single-threaded, they are a get and a set.
class FloorOps : public FloorTable {
public:
  using FloorTable::FloorTable;
  std::int64_t add(std::string_view key, std::int64_t delta) {
    std::array<char, 32> buf{};
    const auto len = get_into(key, buf);
    std::int64_t v = 0;
    if (len) {
      std::from_chars(buf.data(), buf.data() + *len, v);
    }
    v += delta;
    const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), v).ptr;
    set(key, std::string_view(buf.data(), static_cast<std::size_t>(end - buf.data())));
    return v;
  }
  bool compare_and_set(std::string_view key, std::string_view expected, std::string_view desired) {
    std::array<char, 1024> buf{};
    const auto len = get_into(key, buf);
    if (!len || std::string_view(buf.data(), *len) != expected) {
      return false;
    }
    set(key, desired);
    return true;
  }
};
struct Floor {
  using Table = FloorOps;
  static constexpr bool kThreads = false;
  static std::unique_ptr<Table> make(const Shape &s) {
    return std::make_unique<Table>(s.slots, s.key_bytes, s.value_bytes);
  }
};
// The floor with its get compiled into the benchmark's loop (no call; the table's
// geometry hoisted out of the loop): the figure the floor gave before its operations
// were calls, shown beside BM_GetHitFloor/sizes in the report.
class FloorInlinedOps : public FloorOps {
public:
  using FloorOps::FloorOps;
  std::optional<std::size_t> get_into(std::string_view key, std::span<char> out) const {
    return get_into_inlined(key, out);
  }
};
struct FloorInlined {
  using Table = FloorInlinedOps;
  static constexpr bool kThreads = false;
  static std::unique_ptr<Table> make(const Shape &s) {
    return std::make_unique<Table>(s.slots, s.key_bytes, s.value_bytes);
  }
};

// The table of the running benchmark, shared by its threads.
template <class E> struct Fixture {
  static inline std::unique_ptr<typename E::Table> table;
  static inline std::vector<std::string> keys;
};

// What the timed benchmarks give every entry: a deadline that no run outlives.
constexpr std::chrono::nanoseconds kTimed = std::chrono::hours(1);

// Builds the benchmark's table; with `ttl`, every entry gets that time to live.
template <class E>
std::unique_ptr<typename E::Table> &setup(benchmark::State &state, bool counters,
                                          std::chrono::nanoseconds ttl = {}) {
  if (state.thread_index() == 0) {
    const Shape s = shape_of(state);
    Fixture<E>::table = E::make(s);
    Fixture<E>::keys = make_keys(s.keys, s.key_bytes, 'k');
    const std::string value = counters ? std::string("0") : std::string(s.value_bytes, 'v');
    for (const auto &k : Fixture<E>::keys) {
      if (ttl.count() > 0) {
        if constexpr (requires { Fixture<E>::table->set(k, value, ttl); }) {
          Fixture<E>::table->set(k, value, ttl);
        } else {
          throw std::logic_error("this table has no expiry"); // the floor: no timed runs
        }
      } else {
        Fixture<E>::table->set(k, value);
      }
    }
    state.SetLabel("slots " + std::to_string(s.slots) + " load " + std::to_string(state.range(1)) +
                   "% k" + std::to_string(s.key_bytes) + " v" + std::to_string(s.value_bytes));
  }
  return Fixture<E>::table; // dereferenced only inside the loop, after its start barrier
}

template <class E> void teardown(benchmark::State &state, std::uint64_t ops_per_iter = 1) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(ops_per_iter));
  if (state.thread_index() == 0) {
    Fixture<E>::table.reset();
    Fixture<E>::keys.clear();
  }
}

// Where thread t starts in the key list, so threads do not walk in lockstep.
std::size_t start_of(const benchmark::State &state, std::size_t n) {
  return n * static_cast<std::size_t>(state.thread_index()) /
         static_cast<std::size_t>(state.threads());
}

template <class E> void BM_GetHit(benchmark::State &state) {
  auto &t = setup<E>(state, false);
  std::vector<char> buf(shape_of(state).value_bytes);
  const std::size_t n = shape_of(state).keys;
  std::size_t i = start_of(state, n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(t->get_into(Fixture<E>::keys[i], buf));
    i = i + 1 == n ? 0 : i + 1;
  }
  teardown<E>(state);
}

// As BM_GetHit, every entry with a deadline (an hour ahead): the read of the deadline and
// of the table clock that a timed entry costs.
template <class E> void BM_GetHitTimed(benchmark::State &state) {
  auto &t = setup<E>(state, false, kTimed);
  std::vector<char> buf(shape_of(state).value_bytes);
  const std::size_t n = shape_of(state).keys;
  std::size_t i = start_of(state, n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(t->get_into(Fixture<E>::keys[i], buf));
    i = i + 1 == n ? 0 : i + 1;
  }
  teardown<E>(state);
}

template <class E> void BM_GetMiss(benchmark::State &state) {
  auto &t = setup<E>(state, false);
  const auto absent = make_keys(4096, shape_of(state).key_bytes, 'a');
  std::vector<char> buf(shape_of(state).value_bytes);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t->get_into(absent[i], buf));
    i = (i + 1) % absent.size();
  }
  teardown<E>(state);
}

template <class E> void BM_SetUpdate(benchmark::State &state) {
  auto &t = setup<E>(state, false);
  const std::string value(shape_of(state).value_bytes, 'w');
  const std::size_t n = shape_of(state).keys;
  std::size_t i = start_of(state, n);
  for (auto _ : state) {
    t->set(Fixture<E>::keys[i], value);
    i = i + 1 == n ? 0 : i + 1;
  }
  teardown<E>(state);
}

// As BM_SetUpdate, each set giving its entry a deadline (set(key, value, ttl)).
template <class E> void BM_SetUpdateTimed(benchmark::State &state) {
  auto &t = setup<E>(state, false, kTimed);
  const std::string value(shape_of(state).value_bytes, 'w');
  const std::size_t n = shape_of(state).keys;
  std::size_t i = start_of(state, n);
  for (auto _ : state) {
    t->set(Fixture<E>::keys[i], value, kTimed);
    i = i + 1 == n ? 0 : i + 1;
  }
  teardown<E>(state);
}

// A fresh key inserted, then erased: two operations per iteration. Each thread has keys
// of its own.
template <class E> void BM_InsertErase(benchmark::State &state) {
  auto &t = setup<E>(state, false);
  const auto fresh =
      make_keys(1024, shape_of(state).key_bytes, static_cast<char>('A' + state.thread_index()));
  const std::string value(shape_of(state).value_bytes, 'n');
  std::size_t i = 0;
  for (auto _ : state) {
    t->set(fresh[i], value);
    t->erase(fresh[i]);
    i = (i + 1) % fresh.size();
  }
  teardown<E>(state, 2);
}

// A fresh key set into a table at its fill level (one that evicts: load 90 %), so each
// set evicts an entry: one operation per iteration, to set beside BM_InsertErase's two.
// The fresh keys come round again only after many turns of the hand: by then each is
// evicted, and its set is an insert again.
template <class E> void BM_InsertEvict(benchmark::State &state) {
  auto &t = setup<E>(state, false);
  const auto fresh =
      make_keys(65536, shape_of(state).key_bytes, static_cast<char>('A' + state.thread_index()));
  const std::string value(shape_of(state).value_bytes, 'n');
  std::size_t i = 0;
  for (auto _ : state) {
    t->set(fresh[i], value);
    i = i + 1 == fresh.size() ? 0 : i + 1;
  }
  teardown<E>(state);
}

template <class E> void BM_Add(benchmark::State &state) {
  auto &t = setup<E>(state, true);
  const std::size_t n = shape_of(state).keys;
  std::size_t i = start_of(state, n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(t->add(Fixture<E>::keys[i], 1));
    i = i + 1 == n ? 0 : i + 1;
  }
  teardown<E>(state);
}

// Successful compare_and_set: thread t owns keys i with i % threads == t and flips each
// between two values it knows.
template <class E> void BM_CompareAndSet(benchmark::State &state) {
  auto &t = setup<E>(state, false);
  const std::size_t n = shape_of(state).keys;
  const auto step = static_cast<std::size_t>(state.threads());
  const std::string a(shape_of(state).value_bytes, 'v'), b(shape_of(state).value_bytes, 'w');
  std::vector<std::uint8_t> flipped(n);
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    const bool f = flipped[i] != 0;
    benchmark::DoNotOptimize(t->compare_and_set(Fixture<E>::keys[i], f ? b : a, f ? a : b));
    flipped[i] = f ? 0 : 1;
    i += step;
    if (i >= n) {
      i = static_cast<std::size_t>(state.thread_index());
    }
  }
  teardown<E>(state);
}

// ---- Batched reads on big tables --------------------------------------------------------
// BM_Get{Single,Many}<Engine>/batch/<slots>/<batch>: gets of present keys (load 75 %,
// 16-byte keys, 64-byte values) on tables of 1 Mi and 16 Mi slots, far beyond the caches:
// one get_into per key, against get_many over `batch` keys at a time (the lock-free
// engine), and the floor's single gets. items_per_second counts keys. A table is built
// once per engine and size and kept for every benchmark that reads it (a 16 Mi-slot
// table takes seconds to load).
template <class E> struct BigTable {
  // Built on first use and kept for the whole process: a table per size, never rebuilt
  // between benchmarks or repetitions (freeing gigabytes of shared memory, then loading
  // it again, disturbed the runs that followed).
  static typename E::Table &of(std::uint64_t slots) {
    static std::map<std::uint64_t, std::unique_ptr<typename E::Table>> tables;
    auto &table = tables[slots];
    if (!table) {
      const Shape s{slots, slots * 3 / 4, 16, 64};
      table = E::make(s);
      const std::string value(s.value_bytes, 'v');
      // Loaded in a shuffled order, so that a key's record buffer (handed out in the
      // order of insertion) is unrelated to its place in the key list: walking the keys
      // in order then reads records at random, as it reads control words.
      const auto &k = keys(slots);
      std::vector<std::uint32_t> order(k.size());
      for (std::uint32_t i = 0; i < order.size(); ++i) {
        order[i] = i;
      }
      std::shuffle(order.begin(), order.end(), std::mt19937_64(slots));
      for (const std::uint32_t i : order) {
        table->set(k[i], value);
      }
    }
    return *table;
  }
  // The keys, walked in order: consecutive keys' hashes are unrelated, so the table is
  // read at random, while the key list itself streams (as a caller's batch would).
  static const std::vector<std::string> &keys(std::uint64_t slots) {
    static std::map<std::uint64_t, std::vector<std::string>> lists;
    auto &k = lists[slots];
    if (k.empty()) {
      k = make_keys(slots * 3 / 4, 16, 'k');
    }
    return k;
  }
  static const std::vector<std::string_view> &views(std::uint64_t slots) {
    static std::map<std::uint64_t, std::vector<std::string_view>> lists;
    auto &v = lists[slots];
    if (v.empty()) {
      const auto &k = keys(slots);
      v.assign(k.begin(), k.end());
    }
    return v;
  }
};

template <class E> void BM_GetSingle(benchmark::State &state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  auto &t = BigTable<E>::of(slots);
  const auto &keys = BigTable<E>::keys(slots);
  std::vector<char> buf(64);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.get_into(keys[i], buf));
    i = i + 1 == keys.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("slots " + std::to_string(slots) + " load 75% k16 v64");
}

void BM_GetManyLockFree(benchmark::State &state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  auto &t = BigTable<LockFree>::of(slots);
  const auto &views = BigTable<LockFree>::views(slots);
  struct Out {
    char values[64][64];
  } out{};
  const shmtable::ManyReader copy = [](void *ctx, std::size_t i, const shmtable::ValueView &v) {
    if (v.bytes != nullptr) {
      std::memcpy(static_cast<Out *>(ctx)->values[i % 64], v.bytes,
                  std::min<std::size_t>(v.size, 64));
    }
  };
  std::size_t i = 0;
  for (auto _ : state) {
    if (i + batch > views.size()) {
      i = 0;
    }
    benchmark::DoNotOptimize(
        t.get_many(std::span<const std::string_view>(views.data() + i, batch), copy, &out));
    benchmark::ClobberMemory();
    i += batch;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  state.SetLabel("slots " + std::to_string(slots) + " load 75% k16 v64 batch " +
                 std::to_string(batch));
}

// The floor's batched gets: the same pipeline with plain loads, the most batching can
// win on this machine.
void BM_GetManyFloor(benchmark::State &state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  auto &t = BigTable<Floor>::of(slots);
  const auto &views = BigTable<Floor>::views(slots);
  struct Out {
    char values[64][64];
  } out{};
  std::size_t i = 0;
  for (auto _ : state) {
    if (i + batch > views.size()) {
      i = 0;
    }
    benchmark::DoNotOptimize(t.get_many(std::span<const std::string_view>(views.data() + i, batch),
                                        [&](std::size_t k, const char *bytes, std::size_t size) {
                                          std::memcpy(out.values[k % 64], bytes,
                                                      std::min<std::size_t>(size, 64));
                                        }));
    benchmark::ClobberMemory();
    i += batch;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  state.SetLabel("slots " + std::to_string(slots) + " load 75% k16 v64 batch " +
                 std::to_string(batch));
}

void batch_sweep(benchmark::internal::Benchmark *b) {
  for (const std::int64_t slots : {1 << 20, 1 << 24}) {
    b->Args({slots, 64});
  }
}

// ---- Sweeps ---------------------------------------------------------------------------

void ops_sweep(benchmark::internal::Benchmark *b) {
  for (const std::int64_t load : {25, 50, 75, 90}) {
    b->Args({16384, load, 16, 64});
    b->Args({16384, load, 64, 256});
  }
}

void size_sweep(benchmark::internal::Benchmark *b) {
  for (const std::int64_t slots : {1024, 65536, 1048576}) {
    b->Args({slots, 75, 16, 64});
  }
}

void stats_sweep(benchmark::internal::Benchmark *b) { b->Args({16384, 75, 16, 64}); }

int hardware_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

template <class E> void thread_sweep(benchmark::internal::Benchmark *b) {
  b->Args({16384, 75, 16, 64})->UseRealTime();
  if constexpr (E::kThreads) {
    b->ThreadRange(1, hardware_threads());
  }
}

#define SHMTABLE_OPS(fn)                                                                           \
  BENCHMARK_TEMPLATE(fn, LockFree)->Name(#fn "LockFree/ops")->Apply(ops_sweep);                    \
  BENCHMARK_TEMPLATE(fn, FaithfulMutex)->Name(#fn "FaithfulMutex/ops")->Apply(ops_sweep);          \
  BENCHMARK_TEMPLATE(fn, RobustMutex)->Name(#fn "RobustMutex/ops")->Apply(ops_sweep);              \
  BENCHMARK_TEMPLATE(fn, Floor)->Name(#fn "Floor/ops")->Apply(ops_sweep)

SHMTABLE_OPS(BM_GetHit);
SHMTABLE_OPS(BM_GetMiss);
SHMTABLE_OPS(BM_SetUpdate);
SHMTABLE_OPS(BM_InsertErase);
SHMTABLE_OPS(BM_Add);
SHMTABLE_OPS(BM_CompareAndSet);

#define SHMTABLE_THREADS(fn)                                                                       \
  BENCHMARK_TEMPLATE(fn, LockFree)->Name(#fn "LockFree/threads")->Apply(thread_sweep<LockFree>);   \
  BENCHMARK_TEMPLATE(fn, FaithfulMutex)                                                            \
      ->Name(#fn "FaithfulMutex/threads")                                                          \
      ->Apply(thread_sweep<FaithfulMutex>);                                                        \
  BENCHMARK_TEMPLATE(fn, RobustMutex)                                                              \
      ->Name(#fn "RobustMutex/threads")                                                            \
      ->Apply(thread_sweep<RobustMutex>)

SHMTABLE_THREADS(BM_GetHit);
SHMTABLE_THREADS(BM_SetUpdate);
SHMTABLE_THREADS(BM_Add);

BENCHMARK_TEMPLATE(BM_GetHit, LockFree)->Name("BM_GetHitLockFree/sizes")->Apply(size_sweep);
BENCHMARK_TEMPLATE(BM_GetHit, FaithfulMutex)
    ->Name("BM_GetHitFaithfulMutex/sizes")
    ->Apply(size_sweep);
BENCHMARK_TEMPLATE(BM_GetHit, Floor)->Name("BM_GetHitFloor/sizes")->Apply(size_sweep);
BENCHMARK_TEMPLATE(BM_GetHit, FloorInlined)->Name("BM_GetHitFloorInlined/sizes")->Apply(size_sweep);

void ttl_sweep(benchmark::internal::Benchmark *b) { b->Args({16384, 75, 16, 64}); }

#define SHMTABLE_TTL(fn)                                                                           \
  BENCHMARK_TEMPLATE(fn, LockFree)->Name(#fn "LockFree/ttl")->Apply(ttl_sweep);                    \
  BENCHMARK_TEMPLATE(fn, FaithfulMutex)->Name(#fn "FaithfulMutex/ttl")->Apply(ttl_sweep)

SHMTABLE_TTL(BM_GetHit);
SHMTABLE_TTL(BM_GetHitTimed);
SHMTABLE_TTL(BM_SetUpdate);
SHMTABLE_TTL(BM_SetUpdateTimed);

// Counting on and off, in pairs.
#define SHMTABLE_STATS(fn)                                                                         \
  BENCHMARK_TEMPLATE(fn, LockFree)->Name(#fn "LockFree/stats")->Apply(stats_sweep);                \
  BENCHMARK_TEMPLATE(fn, LockFreeNoStats)->Name(#fn "LockFreeNoStats/stats")->Apply(stats_sweep);  \
  BENCHMARK_TEMPLATE(fn, FaithfulMutex)->Name(#fn "FaithfulMutex/stats")->Apply(stats_sweep);      \
  BENCHMARK_TEMPLATE(fn, FaithfulMutexNoStats)                                                     \
      ->Name(#fn "FaithfulMutexNoStats/stats")                                                     \
      ->Apply(stats_sweep)

SHMTABLE_STATS(BM_GetHit);
SHMTABLE_STATS(BM_SetUpdate);

// Eviction on and off, in pairs.
void evict_get_sweep(benchmark::internal::Benchmark *b) { b->Args({16384, 75, 16, 64}); }
void evict_full_sweep(benchmark::internal::Benchmark *b) { b->Args({16384, 90, 16, 64}); }
BENCHMARK_TEMPLATE(BM_GetHit, LockFree)->Name("BM_GetHitLockFree/evict")->Apply(evict_get_sweep);
BENCHMARK_TEMPLATE(BM_GetHit, LockFreeEvicting)
    ->Name("BM_GetHitLockFreeEvicting/evict")
    ->Apply(evict_get_sweep);
BENCHMARK_TEMPLATE(BM_InsertErase, LockFree)
    ->Name("BM_InsertEraseLockFree/evict")
    ->Apply(evict_full_sweep);
BENCHMARK_TEMPLATE(BM_InsertEvict, LockFreeEvicting)
    ->Name("BM_InsertEvictLockFreeEvicting/evict")
    ->Apply(evict_full_sweep);

BENCHMARK_TEMPLATE(BM_GetSingle, LockFree)->Name("BM_GetSingleLockFree/batch")->Apply(batch_sweep);
BENCHMARK(BM_GetManyLockFree)->Name("BM_GetManyLockFree/batch")->Apply(batch_sweep);
BENCHMARK_TEMPLATE(BM_GetSingle, Floor)->Name("BM_GetSingleFloor/batch")->Apply(batch_sweep);
BENCHMARK(BM_GetManyFloor)->Name("BM_GetManyFloor/batch")->Apply(batch_sweep);

} // namespace

BENCHMARK_MAIN();
