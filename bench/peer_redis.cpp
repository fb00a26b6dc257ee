// bench/peer_redis.cpp: the Redis peer, and RedisTable on Redis. Each has a redis-server
// of its own on a free loopback port, reached through hiredis (Debian's libhiredis-dev),
// one connection per process: "redis" with hiredis's commands directly, "redis-table"
// through shmtable::RedisTable (libshmtable-redis), the Table contract on the server.
// Their ratio is what the abstraction costs over the raw client.
#include <memory>
#include <stdexcept>
#include <string>

#include "server.hpp" // support/
#include "store.hpp"

#if SHMTABLE_HAVE_HIREDIS
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "engine_client.hpp"
#include "shmtable/redis_table.hpp"

namespace shmtable::bench {
namespace {

struct ReplyFree {
  void operator()(redisReply *r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

struct ContextFree {
  void operator()(redisContext *c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

Context connect(int port) {
  Context c(redisConnect("127.0.0.1", port));
  if (!c || c->err != 0) {
    throw std::runtime_error("redis: cannot connect to port " + std::to_string(port) + ": " +
                             (c ? c->errstr : "out of memory"));
  }
  return c;
}

Reply command(redisContext *c, const char *fmt, std::string_view a, std::string_view b = {}) {
  Reply r(static_cast<redisReply *>(redisCommand(c, fmt, a.data(), a.size(), b.data(), b.size())));
  if (!r || r->type == REDIS_REPLY_ERROR) {
    throw std::runtime_error(std::string("redis: ") + (r ? r->str : c->errstr));
  }
  return r;
}

// A fresh database holding the dataset: FLUSHALL, then key i as `prefix` + keys[i].
// Pipelined: every SET queued, then the replies read.
void load(int port, const Dataset &data, std::string_view prefix) {
  Context c = connect(port);
  const Reply flushed(static_cast<redisReply *>(redisCommand(c.get(), "FLUSHALL")));
  if (!flushed || flushed->type == REDIS_REPLY_ERROR) {
    throw std::runtime_error("redis: FLUSHALL failed");
  }
  std::string key;
  for (std::size_t i = 0; i < data.keys.size(); ++i) {
    key.assign(prefix);
    key += data.keys[i];
    const std::string v = data.value(i);
    redisAppendCommand(c.get(), "SET %b %b", key.data(), key.size(), v.data(), v.size());
  }
  for (std::size_t i = 0; i < data.keys.size(); ++i) {
    void *reply = nullptr;
    if (redisGetReply(c.get(), &reply) != REDIS_OK) {
      throw std::runtime_error(std::string("redis: load failed: ") + c->errstr);
    }
    const Reply r(static_cast<redisReply *>(reply));
    if (r->type == REDIS_REPLY_ERROR) {
      throw std::runtime_error(std::string("redis: load failed: ") + r->str);
    }
  }
}

class RedisClient final : public Client {
public:
  explicit RedisClient(int port) : c_(connect(port)) {}

  bool read(std::string_view key, std::span<char> buf) override {
    const Reply r = command(c_.get(), "GET %b", key);
    if (r->type != REDIS_REPLY_STRING) {
      return false;
    }
    std::memcpy(buf.data(), r->str, std::min(buf.size(), static_cast<std::size_t>(r->len)));
    return true;
  }
  void update(std::string_view key, std::string_view value) override {
    command(c_.get(), "SET %b %b", key, value);
  }
  bool read_modify_write(std::string_view key, std::span<char> buf) override {
    const Reply r = command(c_.get(), "GET %b", key);
    if (r->type != REDIS_REPLY_STRING || r->len == 0) {
      return false;
    }
    std::string v(r->str, r->len);
    v[0] = v[0] == 'z' ? 'a' : static_cast<char>(v[0] + 1);
    command(c_.get(), "SET %b %b", key, v);
    std::memcpy(buf.data(), v.data(), std::min(buf.size(), v.size()));
    return true;
  }

private:
  Context c_;
};

class RedisStore final : public Store {
public:
  explicit RedisStore(std::unique_ptr<support::RedisServer> server) : server_(std::move(server)) {}

  std::string name() const override { return "redis"; }
  std::string rmw_note() const override { return "GET + SET, two round trips (not atomic)"; }

  void prepare(const Dataset &data) override { load(server_->process().port(), data, ""); }
  std::unique_ptr<Client> attach(const Dataset &) override {
    return std::make_unique<RedisClient>(server_->process().port());
  }
  void finish() override {}

private:
  std::unique_ptr<support::RedisServer> server_;
};

// RedisTable (shmtable/redis_table.hpp) as a store: the Table contract on a Redis server,
// driven by the engines' own client (EngineClient), so that beside "redis" it shows what
// the abstraction costs and beside the engines what leaving shared memory costs.
class RedisTableStore final : public Store {
public:
  explicit RedisTableStore(std::unique_ptr<support::RedisServer> server)
      : server_(std::move(server)) {}

  std::string name() const override { return "redis-table"; }
  std::string rmw_note() const override {
    return "update(): WATCH+GET, then MULTI/SET/EXEC, each pipelined, retried if the key "
           "changed meanwhile: atomic, two round trips";
  }

  // The dataset is loaded as the Redis peer loads it (pipelined, which RedisTable does not
  // offer), under the table's own namespace; one key is then read back through a
  // RedisTable, so that a load outside the table's namespace fails here.
  void prepare(const Dataset &data) override {
    load(server_->process().port(), data, std::string(kName) + ":");
    const RedisTable t(options(data), server_->url());
    if (!data.keys.empty() && t.get(data.keys[0]) != data.value(0)) {
      throw std::runtime_error("redis-table: the loaded key '" + data.keys[0] +
                               "' does not read back through RedisTable");
    }
  }
  // Each worker its own handle, so its own connection; F's read-modify-write is update().
  std::unique_ptr<Client> attach(const Dataset &data) override {
    return std::make_unique<EngineClient<RedisTable>>(RedisTable(options(data), server_->url()),
                                                      true);
  }
  void finish() override {}

private:
  static constexpr std::string_view kName = "ycsb"; // the table: keys are "ycsb:KEY"

  // The shared-memory engines' Options, as a user moving a table to a server passes them.
  static Options options(const Dataset &data) {
    Options o;
    o.name = std::string(kName);
    o.max_key_bytes = std::max<std::uint32_t>(data.key_bytes, 1);
    o.max_value_bytes = std::max<std::uint32_t>(data.value_bytes, 1);
    return o;
  }

  std::unique_ptr<support::RedisServer> server_;
};

} // namespace

std::unique_ptr<Store> make_redis_store(std::string &why) {
  auto server = support::RedisServer::start(why);
  if (!server) {
    return nullptr;
  }
  return std::make_unique<RedisStore>(std::move(server));
}

std::unique_ptr<Store> make_redis_table_store(std::string &why) {
  auto server = support::RedisServer::start(why);
  if (!server) {
    return nullptr;
  }
  return std::make_unique<RedisTableStore>(std::move(server));
}

} // namespace shmtable::bench

#else

namespace shmtable::bench {
std::unique_ptr<Store> make_redis_store(std::string &why) {
  why = "built without hiredis (apt-get install libhiredis-dev, then reconfigure the build)";
  return nullptr;
}
std::unique_ptr<Store> make_redis_table_store(std::string &why) {
  why = "built without hiredis, so without RedisTable (apt-get install libhiredis-dev, then "
        "reconfigure the build)";
  return nullptr;
}
} // namespace shmtable::bench

#endif
