// bench/peer_redis.cpp: the Redis peer. A redis-server of its own on a free loopback
// port, reached through hiredis (Debian's libhiredis-dev), one connection per process.
#include <memory>
#include <stdexcept>
#include <string>

#include "server.hpp" // support/
#include "store.hpp"

#if SHMTABLE_HAVE_HIREDIS
#include <hiredis/hiredis.h>

#include <cstring>

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

  void prepare(const Dataset &data) override {
    Context c = connect(server_->process().port());
    const Reply flushed(static_cast<redisReply *>(redisCommand(c.get(), "FLUSHALL")));
    if (!flushed || flushed->type == REDIS_REPLY_ERROR) {
      throw std::runtime_error("redis: FLUSHALL failed");
    }
    // Pipelined: queue every SET, then read the replies.
    for (std::size_t i = 0; i < data.keys.size(); ++i) {
      const std::string v = data.value(i);
      redisAppendCommand(c.get(), "SET %b %b", data.keys[i].data(), data.keys[i].size(), v.data(),
                         v.size());
    }
    for (std::size_t i = 0; i < data.keys.size(); ++i) {
      void *reply = nullptr;
      if (redisGetReply(c.get(), &reply) != REDIS_OK) {
        throw std::runtime_error(std::string("redis: load failed: ") + c->errstr);
      }
      freeReplyObject(reply);
    }
  }
  std::unique_ptr<Client> attach(const Dataset &) override {
    return std::make_unique<RedisClient>(server_->process().port());
  }
  void finish() override {}

private:
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

} // namespace shmtable::bench

#else

namespace shmtable::bench {
std::unique_ptr<Store> make_redis_store(std::string &why) {
  why = "built without hiredis (apt-get install libhiredis-dev, then reconfigure the build)";
  return nullptr;
}
} // namespace shmtable::bench

#endif
