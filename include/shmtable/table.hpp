// shmtable/table.hpp: the contract every table keeps, stated once, and the concepts
// that say what a table provides.
//
// A table is a handle to one named key-value table. The shared-memory engines,
// LockFreeTable and MutexTable, keep it in a segment that the processes of one machine
// map; RedisTable (shmtable/redis_table.hpp, when built) keeps it in a key namespace of a
// Redis server, for processes on several machines. Each one's header says only what
// differs (how it keeps the contract, and what it offers beyond it). Code that works
// with any table is written against `Table` below; code that also uses what a segment
// has (capacity, layout, recover()) against `SharedMemoryTable`, as the tests, the
// stress harness, the benchmarks, the fuzz targets and the Node addon are.
//
// ---- Per-key operations --------------------------------------------------------------
// Linearizable, and safe to call concurrently from any threads of any processes (a
// LockFreeTable handle opened with Options::one_thread takes one call at a time; the
// other engine refuses that option).
// Errc::kKeyTooLarge / kValueTooLarge on oversize input, before anything changes.
// Errc::kTableFull if the key is new and the table finds no room for it (each engine's
// header says what room is). A table made with Options::eviction makes room instead, by
// evicting an entry: an erase of that key by nobody, atomic as any erase.
// A table on a server (RedisTable) can also fail with Errc::kConnectionLost, kTimeout or
// kServerError; a write that fails so may or may not take effect. Its room is the
// server's memory, which an overwrite can also find exhausted (its header says).
//
//   set(key, value)           inserts or overwrites.
//   set_with(key, source, ctx)
//                             set() of the value that source(ctx) returns
//                             (shmtable/updater.hpp), called once: kKeyTooLarge before
//                             source is called, kValueTooLarge for what it returns, and
//                             an exception from source propagates. Either way the key
//                             keeps its value. set_with(key, fn) takes any callable fn()
//                             returning std::string_view.
//   get(key)                  the value, or nullopt if absent.
//   get_into(key, out)        copies the value into `out` without allocating; returns its
//                             length, or nullopt if absent. Errc::kBufferTooSmall if `out`
//                             is shorter than the value. The bytes of `out` beyond the
//                             returned length, and all of it on a miss or an error, are
//                             unspecified.
//   erase(key)                true if the key was present.
//   contains(key)             whether the key is present.
//   add(key, delta)           the key's value read as a decimal signed 64-bit integer (an
//                             absent key counts as 0) plus `delta`, stored as decimal text
//                             and returned. Errc::kNotANumber if the value is not such an
//                             integer or the sum overflows (the value is unchanged).
//   compare_and_set(key, expected, desired)
//                             stores `desired` only if the key is present with exactly
//                             `expected`; true if stored.
//   set_if_absent(key, value) inserts only if the key is absent; true if inserted.
//   update(key, fn, ctx)      replaces the key's value with what fn(ctx, current, scratch)
//                             (shmtable/updater.hpp) makes of the current one (nullopt if
//                             absent), in one atomic step and one lookup, where get() then
//                             compare_and_set() take two; fn returning nullopt stores
//                             nothing. True if a value was stored. fn must not call the
//                             table (an engine may forbid more: its header says), and
//                             each engine says how often it may run.
//                             kValueTooLarge if what fn returns is over the limit, and an
//                             exception from fn propagates; either way the key keeps its
//                             value. update(key, fn) takes any callable fn(current, scratch).
//
// ---- Expiry --------------------------------------------------------------------------
// An entry may have a deadline: from it on, the entry is absent to every operation (get,
// get_into, contains, keys, size, erase, add, compare_and_set, set_if_absent, update), as
// if erased at that moment. A shared-memory table's clock is the system's real-time
// clock, read coarsely (CLOCK_REALTIME_COARSE: same in every process and container, and
// valid across a reboot for a file-backed table), so expiry is exact to its tick, a few
// ms (clock_getres); stepping the system clock moves every deadline's moment with it: a
// step back lengthens lives, and an entry already found expired, not freed yet, can then
// be found present again (outside the linearizability this contract promises, which
// assumes the clock never goes back). A server's table uses the server's clock
// (RedisTable: to the millisecond).
// `ttl` is any std::chrono duration; Errc::kInvalidArgument (naming the operation) for a
// ttl <= 0 or over 100 years, before anything changes.
//
//   set(key, value, ttl)      set(), and the entry expires ttl from now.
//   set_if_absent(key, value, ttl)
//                             set_if_absent(), and what it inserts expires ttl from now.
//   add(key, delta, ttl)      add(); a key that add creates (absent or expired) expires
//                             ttl from now, and a present key keeps its own deadline (a
//                             counter for a fixed window: add(key, 1, window)).
//   purge_expired()           frees every expired entry; returns how many (a server that
//                             frees them itself: 0).
// The writes without a ttl store an entry without a deadline: set() and set_with() clear
// one; add(), compare_and_set() and update() keep a present entry's. Expired entries are
// freed by writers that meet them (their key's, or a new key's that finds no room
// otherwise) and by purge_expired(): a table full of expired entries is not full.
// size() counts by walking the slots once any entry had a deadline (see each engine).
//
// ---- Whole-table operations ----------------------------------------------------------
// Safe to call concurrently with everything above, but best-effort under concurrent
// writes: keys() and size() may miss or include keys that change meanwhile, keys() may
// list a key twice (erased behind the scan and inserted again ahead of it), and clear()
// is not atomic. They never crash, hang or return a key that was never written.
//
//   keys()      every key, in no particular order.
//   size()      how many keys there are.
//   clear()     erases every key.
//   close()     detaches (the destructor does too); the handle must not be used afterwards.
//
// max_key_bytes(), max_value_bytes(): the limits the table enforces.
//
// ---- What a shared-memory table adds (SharedMemoryTable) -----------------------------
// size() cannot fail (noexcept).
//
//   recover()   repairs what crashed processes left (shmtable/recovery.hpp). It runs only
//               if this handle is the only one attached, in any process (else Errc::kBusy,
//               nothing changed). Not detected, so the caller's to ensure: that no other
//               thread uses THIS handle meanwhile, as for close() and assignment.
//   inspect()   a read-only walk of the slots (shmtable/inspection.hpp): entries, free
//               slots, how far keys lie from home, and what is wrong (corruption, and
//               what crashes left for recover()). Stores nothing to shared memory and
//               takes no lock in it, so it is safe beside any writer. Exact when no
//               other handle is attached (it then holds the segment file's attach lock,
//               as recover() does, so that none attaches meanwhile), a best-effort
//               snapshot otherwise.
//   stats()     the statistics shared by every process attached (shmtable/stats.hpp):
//               hits and misses per key looked up (get, get_into, contains, and the
//               lock-free engine's get_with, get_cached, get_many); sets: operations that
//               stored a value (set, set_with, add, update that stored, a successful
//               compare_and_set or set_if_absent), inserts: those that created the key;
//               erases: keys removed by erase and clear; table_full: operations refused
//               with Errc::kTableFull; entries: size(); and (lock-free) the record buffers
//               crashed processes leaked since the last recover(). Cumulative since the
//               table's creation. A sum of per-thread stripes read with relaxed loads: a
//               snapshot, exact once the writers are done. A handle opened with
//               Options::stats = false counts nothing.
//
// capacity(): the table's slots, as created.
// created(): this handle created the table. layout(): where everything is in the segment.
// home_slot(key): the slot the key's probe sequence starts at (for diagnostics, and for
// stress runs that need keys colliding on purpose). Engine::layout_for(params): the
// layout the engine gives a table of `params`; Engine::kEngine: what the segment header
// records.
//
// Caveats, for every table: do not use a handle in a child after fork(); open the table
// again there. Keys and values are byte strings (any bytes, including NUL).
#pragma once

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "shmtable/inspection.hpp"
#include "shmtable/options.hpp"
#include "shmtable/recovery.hpp"
#include "shmtable/segment.hpp"
#include "shmtable/stats.hpp"
#include "shmtable/updater.hpp"

namespace shmtable {

namespace detail {
// Stand-ins for the callables set_with(key, fn) and update(key, fn) take, for the concept.
struct SampleSource {
  std::string_view operator()() const;
};
struct SampleUpdate {
  std::optional<std::string_view> operator()(const std::optional<std::string_view> &,
                                             std::string &) const;
};
} // namespace detail

// What every table provides: the operations above, with these signatures. (Left as
// written: clang-format 14 splits a "noexcept ->" requirement over two lines.)
// clang-format off
template <class T>
concept Table =
    std::movable<T> &&
    requires(T &t, const T &ct, std::string_view s, std::span<char> out, std::int64_t delta,
             ValueSource source, Updater fn, void *ctx, std::chrono::nanoseconds ttl) {
      { t.set(s, s) } -> std::same_as<void>;
      { t.set_with(s, source, ctx) } -> std::same_as<void>;
      { t.set_with(s, detail::SampleSource{}) } -> std::same_as<void>;
      { ct.get(s) } -> std::same_as<std::optional<std::string>>;
      { ct.get_into(s, out) } -> std::same_as<std::optional<std::size_t>>;
      { t.erase(s) } -> std::same_as<bool>;
      { ct.contains(s) } -> std::same_as<bool>;
      { t.add(s, delta) } -> std::same_as<std::int64_t>;
      { t.compare_and_set(s, s, s) } -> std::same_as<bool>;
      { t.set_if_absent(s, s) } -> std::same_as<bool>;
      { t.update(s, fn, ctx) } -> std::same_as<bool>;
      { t.update(s, detail::SampleUpdate{}) } -> std::same_as<bool>;
      { t.set(s, s, ttl) } -> std::same_as<void>;
      { t.set_if_absent(s, s, ttl) } -> std::same_as<bool>;
      { t.add(s, delta, ttl) } -> std::same_as<std::int64_t>;
      { t.purge_expired() } -> std::same_as<std::size_t>;
      { ct.keys() } -> std::same_as<std::vector<std::string>>;
      { t.clear() } -> std::same_as<void>;
      { ct.size() } -> std::same_as<std::size_t>;
      { ct.max_key_bytes() } noexcept -> std::same_as<std::uint32_t>;
      { ct.max_value_bytes() } noexcept -> std::same_as<std::uint32_t>;
      { t.close() } noexcept -> std::same_as<void>;
    };

// What a shared-memory engine provides beyond that: it opens from Options, and has a
// segment with a layout, a capacity, a recover() and the shared statistics. (Statistics
// are not in Table: they count in stripes of the segment at the cost of a store per
// call, which a table on a server has no counterpart for; RedisTable has none.)
template <class T>
concept SharedMemoryTable =
    Table<T> && std::constructible_from<T, const Options &> &&
    std::same_as<std::remove_cv_t<decltype(T::kEngine)>, EngineKind> &&
    requires(T &t, const T &ct, std::string_view s, const TableParams &params) {
      { ct.size() } noexcept -> std::same_as<std::size_t>;
      { t.recover() } -> std::same_as<RecoveryReport>;
      { ct.inspect() } -> std::same_as<TableInspection>;
      { ct.stats() } -> std::same_as<TableStats>;
      { ct.capacity() } noexcept -> std::same_as<std::uint64_t>;
      { ct.created() } noexcept -> std::same_as<bool>;
      { ct.layout() } noexcept -> std::same_as<const Layout &>;
      { ct.home_slot(s) } noexcept -> std::same_as<std::uint64_t>;
      { T::layout_for(params) } -> std::same_as<Layout>;
    };
// clang-format on

namespace detail {
// The callable overloads, written once for every engine: an engine derives from
// CallableOverloads<Engine> and brings them in with `using` next to its own
// set_with(key, ValueSource, ctx) and update(key, Updater, ctx).
template <class Engine> class CallableOverloads {
public:
  // set_with() of any callable fn() returning the value's bytes (std::string_view).
  template <class Fn> void set_with(std::string_view key, Fn &&fn) {
    self().set_with(key, value_source_for<std::remove_reference_t<Fn>>(), updater_ctx(fn));
  }
  // update() with any callable fn(current, scratch).
  template <class Fn> bool update(std::string_view key, Fn &&fn) {
    return self().update(key, updater_for<std::remove_reference_t<Fn>>(), updater_ctx(fn));
  }

private:
  Engine &self() noexcept { return static_cast<Engine &>(*this); }
};
} // namespace detail

// ---- Engines by name -------------------------------------------------------------------
// The shared-memory engines. How every tool names one at run time (shmtable-stress
// --engine, the benchmarks' stores, the Node package's `engine` option): this list and
// its parser are the only ones.
enum class EngineName {
  kLockFree, // "lockfree": LockFreeTable
  kMutex,    // "mutex": MutexTable as fast-shm-cache has it (robust = false)
  kRobust,   // "robust": MutexTable with robust locks (robust = true)
};
inline constexpr std::array kEngineNames{EngineName::kLockFree, EngineName::kMutex,
                                         EngineName::kRobust};

constexpr std::string_view to_string(EngineName e) noexcept {
  switch (e) {
  case EngineName::kLockFree:
    return "lockfree";
  case EngineName::kMutex:
    return "mutex";
  case EngineName::kRobust:
    return "robust";
  }
  return "?";
}

// The engine called `name`, or nullopt if no engine is.
constexpr std::optional<EngineName> parse_engine_name(std::string_view name) noexcept {
  for (EngineName e : kEngineNames) {
    if (to_string(e) == name) {
      return e;
    }
  }
  return std::nullopt;
}

// The names, for a message: "lockfree, mutex or robust".
inline std::string engine_name_list() {
  std::string list;
  for (std::size_t i = 0; i < kEngineNames.size(); ++i) {
    list += i == 0 ? "" : i + 1 == kEngineNames.size() ? " or " : ", ";
    list += to_string(kEngineNames[i]);
  }
  return list;
}

// The engine whose table has `params` (as a segment's header records them:
// inspect_segment()), or nullopt for an engine kind this build does not know.
constexpr std::optional<EngineName> engine_name_of(const TableParams &params) noexcept {
  switch (params.engine) {
  case EngineKind::kLockFree:
    return EngineName::kLockFree;
  case EngineKind::kMutex:
    return (params.flags & kFlagRobust) != 0 ? EngineName::kRobust : EngineName::kMutex;
  }
  return std::nullopt;
}

// `opts` as engine `e` opens a table: Options::robust is true only for "robust".
inline Options options_for(EngineName e, Options opts) {
  opts.robust = e == EngineName::kRobust;
  return opts;
}

} // namespace shmtable
