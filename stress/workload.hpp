// stress/workload.hpp: what a stress run does, and the worker loop that does it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "any_table.hpp"
#include "shared_log.hpp"

namespace shmtable::stress {

enum class Scenario {
  kMix,       // random mix of every operation on a small, hot key set
  kFull,      // more keys than slots: inserts race for the last free slots
  kChurn,     // distinct keys inserted and erased at a fixed load factor
  kLimits,    // keys and values exactly at the size limits, and one byte over
  kCollide,   // every key has the same home slot
  kClearRace, // one worker calls clear() while the others write
};

// Operation weights in percent (they must sum to 100).
struct Mix {
  unsigned get = 30, set = 15, erase = 8, contains = 7, add = 15, compare_and_set = 15,
           set_if_absent = 10;
};

struct RunConfig {
  Scenario scenario = Scenario::kMix;
  StressEngine engine{EngineName::kLockFree, {}};
  Options table; // name, capacity, size limits
  unsigned procs = 4;
  std::uint64_t ops = 0; // total operations (0: run for `seconds`)
  double seconds = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> keys; // the key set (every scenario but churn)
  std::size_t key_bytes = 16;    // churn keys
  std::size_t value_bytes = 32;
  Mix mix;
  unsigned clear_permille = 0;    // clear-race: lane 0 calls clear() this often
  unsigned oversize_permille = 0; // limits: one-byte-over attempts, checked on the spot
  double load_factor = 0.5;       // churn
  // Expiry (--ttl-ms): this share of sets, set_if_absents and adds carry a ttl drawn from
  // 1 ms to ttl_ms (0: none do).
  unsigned ttl_ms = 0;
  unsigned ttl_percent = 50;
  // --on-tick N: every Nth operation of a worker first waits for the table clock's next
  // tick, so the workers meet entries together just as they expire (0: never).
  unsigned on_tick = 0;
};

// The text of key id `id` (an index into cfg.keys, or a churn key id).
std::string key_name(const RunConfig &cfg, std::uint64_t id);
// What a limits run's oversize attempts pass (Oversize in shared_log.hpp): one byte over.
std::string oversize_key(const RunConfig &cfg);
std::string oversize_value(const RunConfig &cfg);

// Runs lane `lane` as process `process`: opens the table by name, then records operations
// until the lane is full or the log's stop flag is set, then exits the process.
[[noreturn]] void run_worker(const RunConfig &cfg, const SharedLog &log, std::size_t lane,
                             std::uint32_t process);

// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the machine.
std::uint64_t now_ns() noexcept;
// The table clock (CLOCK_REALTIME_COARSE: src/expiry.hpp's, which deadlines are on).
std::uint64_t table_clock_ns() noexcept;

} // namespace shmtable::stress
