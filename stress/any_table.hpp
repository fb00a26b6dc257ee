// stress/any_table.hpp: one handle type over all engines, picked at run time: the
// shared-memory engines (any_table.cpp) and RedisTable (any_table_redis.cpp, where the
// build has hiredis; any_table_no_redis.cpp says it has not).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shmtable/shmtable.hpp"

namespace shmtable::stress {

// What --engine names: a shared-memory engine (EngineName, the list every tool shares),
// or "redis", a RedisTable on the server at `redis_url`, which only this harness adds.
struct StressEngine {
  std::optional<EngineName> shm; // nullopt: redis
  std::string redis_url;         // redis: "redis://HOST:PORT" (RedisOptions::connect_to)

  bool redis() const noexcept { return !shm; }
  std::string_view name() const noexcept { return shm ? to_string(*shm) : "redis"; }
  bool operator==(EngineName e) const noexcept { return shm == e; }
};

// The engine called `name` ("redis" or an EngineName's), or nullopt if none is.
std::optional<StressEngine> parse_stress_engine(std::string_view name);

class AnyTable {
public:
  virtual ~AnyTable() = default;
  virtual void set(std::string_view key, std::string_view value) = 0;
  virtual std::optional<std::string> get(std::string_view key) const = 0;
  virtual bool erase(std::string_view key) = 0;
  virtual bool contains(std::string_view key) const = 0;
  virtual std::int64_t add(std::string_view key, std::int64_t delta) = 0;
  virtual bool compare_and_set(std::string_view key, std::string_view expected,
                               std::string_view desired) = 0;
  virtual bool set_if_absent(std::string_view key, std::string_view value) = 0;
  // The writes with a ttl (table.hpp, "Expiry").
  virtual void set(std::string_view key, std::string_view value, std::chrono::nanoseconds ttl) = 0;
  virtual bool set_if_absent(std::string_view key, std::string_view value,
                             std::chrono::nanoseconds ttl) = 0;
  virtual std::int64_t add(std::string_view key, std::int64_t delta,
                           std::chrono::nanoseconds ttl) = 0;
  // Frees every expired entry; returns how many.
  virtual std::size_t purge_expired() = 0;
  // Entries the table evicted since it was created (TableStats::evictions; 0 for a table
  // without the statistics, on a server).
  virtual std::uint64_t evictions() const = 0;
  virtual std::vector<std::string> keys() const = 0;
  virtual void clear() = 0;
  virtual std::size_t size() const = 0;
  // A shared-memory table's repair; a table on a server has nothing to repair, and
  // throws std::logic_error (the audit does not call it there: fsck.hpp).
  virtual RecoveryReport recover() = 0;
  // Slots; UINT64_MAX for a table on a server, whose room is the server's memory.
  virtual std::uint64_t capacity() const = 0;
  // Record buffers beyond one per slot (lock-free: in flight, spares, crash leaks); 0 for
  // an engine whose updates need no buffer (the mutex engines write in place).
  virtual std::uint64_t buffer_reserve() const = 0;
  // Where the key's probe starts; nullopt for a table without slots (redis).
  virtual std::optional<std::uint64_t> home_slot(std::string_view key) const = 0;
  // The lock-free engine's fingerprint of the key; nullopt for engines without one.
  virtual std::optional<std::uint64_t> fingerprint(std::string_view key) const = 0;
  // This handle created the segment; false on a server, where nothing is created.
  virtual bool created() const = 0;
  virtual void close() = 0;
};

// Opens (or creates) the table with `opts` on engine `e`; `robust` is set from `e`.
std::unique_ptr<AnyTable> open_table(EngineName e, Options opts);
// The same, or for redis a RedisTable with `opts`' name and limits on e.redis_url, over
// a connection of its own (so open one per process, after fork()).
std::unique_ptr<AnyTable> open_table(const StressEngine &e, const Options &opts);

// The redis engine, in any_table_redis.cpp where shmtable-stress is built with hiredis
// and in any_table_no_redis.cpp where it is not (or for a planted-bug harness, which
// links no engine library but its own).
// Whether this build can open a RedisTable; if not, `why`.
bool redis_built(std::string &why);
// A RedisTable with `opts`' name and limits on the server at `url`; without hiredis,
// std::runtime_error saying so.
std::unique_ptr<AnyTable> open_redis_table(const std::string &url, const Options &opts);

} // namespace shmtable::stress
