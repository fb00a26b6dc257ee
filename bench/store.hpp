// bench/store.hpp: what the YCSB driver measures, behind one interface. A Store is one
// engine or peer for a whole driver run (it may start a server); a Client is one
// process's handle to it. Adapters live one per file (stores_engines.cpp for shmtable's
// engines and the floor, peer_*.cpp for the peers; RedisTable, a server's table, beside
// the Redis peer in peer_redis.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shmtable::bench {

// The records every run starts from, made before timing: key i is keys[i] and holds a
// value of value_bytes bytes.
struct Dataset {
  std::vector<std::string> keys;
  std::uint32_t key_bytes = 0;
  std::uint32_t value_bytes = 0;
  std::uint64_t slots = 0; // the engines' and the floor's table size (>= keys.size())
  std::string value(std::uint64_t i) const; // the value loaded for key i
};

class Client {
public:
  virtual ~Client() = default;
  // Copies the key's value into `buf`; false if absent.
  virtual bool read(std::string_view key, std::span<char> buf) = 0;
  virtual void update(std::string_view key, std::string_view value) = 0;
  // YCSB F's read-modify-write: read the value, change its first byte, write it back.
  // Atomic where the store offers it (see each adapter); returns false if absent.
  virtual bool read_modify_write(std::string_view key, std::span<char> buf) = 0;
};

class Store {
public:
  virtual ~Store() = default;
  virtual std::string name() const = 0;
  // How F's read-modify-write is done, for the results' notes.
  virtual std::string rmw_note() const = 0;
  // In the parent, before each measured run: a fresh store holding the dataset.
  virtual void prepare(const Dataset &data) = 0;
  // In each worker process, after fork: its own handle.
  virtual std::unique_ptr<Client> attach(const Dataset &data) = 0;
  // In the parent, after each run.
  virtual void finish() = 0;
};

// The stores by name: lockfree, mutex (the faithful baseline), robust, floor, floor-rmw,
// boost, redis, redis-table (RedisTable on its own redis-server), memcached. Returns
// nullptr and sets `why` when the store cannot run here (a peer that is not installed),
// so the driver skips it with that reason.
std::unique_ptr<Store> make_store(std::string_view name, std::string &why);
std::vector<std::string> all_store_names();

// Peer factories, one per file; each sets `why` and returns nullptr when unavailable.
std::unique_ptr<Store> make_engine_store(std::string_view name);
std::unique_ptr<Store> make_boost_store(std::string &why);
std::unique_ptr<Store> make_redis_store(std::string &why);
std::unique_ptr<Store> make_redis_table_store(std::string &why); // in peer_redis.cpp
std::unique_ptr<Store> make_memcached_store(std::string &why);

} // namespace shmtable::bench
