// bench/peer_memcached.cpp: the memcached peer. A memcached of its own on a free loopback
// port, reached through libmemcached (Debian's libmemcached-dev), one client per process.
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "server.hpp" // support/
#include "store.hpp"

#if SHMTABLE_HAVE_LIBMEMCACHED
#include <libmemcached/memcached.h>

#include <cstdlib>
#include <cstring>
#include <optional>

namespace shmtable::bench {
namespace {

struct MemcFree {
  void operator()(memcached_st *m) const { memcached_free(m); }
};
using Memc = std::unique_ptr<memcached_st, MemcFree>;

Memc connect(int port) {
  Memc m(memcached_create(nullptr));
  if (!m || memcached_server_add(m.get(), "127.0.0.1", static_cast<in_port_t>(port)) !=
                MEMCACHED_SUCCESS) {
    throw std::runtime_error("memcached: cannot add server on port " + std::to_string(port));
  }
  memcached_behavior_set(m.get(), MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  return m;
}

void check(memcached_st *m, memcached_return_t rc, const char *what) {
  if (rc != MEMCACHED_SUCCESS) {
    throw std::runtime_error(std::string("memcached: ") + what + ": " + memcached_strerror(m, rc));
  }
}

class MemcachedClient final : public Client {
public:
  explicit MemcachedClient(int port) : m_(connect(port)) {}

  bool read(std::string_view key, std::span<char> buf) override {
    return fetch(key, buf).has_value();
  }
  void update(std::string_view key, std::string_view value) override {
    check(m_.get(),
          memcached_set(m_.get(), key.data(), key.size(), value.data(), value.size(), 0, 0), "set");
  }
  bool read_modify_write(std::string_view key, std::span<char> buf) override {
    const std::optional<std::size_t> len = fetch(key, buf);
    if (!len || *len == 0) {
      return false;
    }
    buf[0] = buf[0] == 'z' ? 'a' : static_cast<char>(buf[0] + 1);
    update(key, std::string_view(buf.data(), std::min(buf.size(), *len)));
    return true;
  }

private:
  // The value's length, its bytes copied into `buf` (as many as fit); nullopt if absent.
  std::optional<std::size_t> fetch(std::string_view key, std::span<char> buf) {
    std::size_t len = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc{};
    char *v = memcached_get(m_.get(), key.data(), key.size(), &len, &flags, &rc);
    if (v == nullptr) {
      if (rc != MEMCACHED_NOTFOUND) {
        check(m_.get(), rc, "get");
      }
      return std::nullopt;
    }
    std::memcpy(buf.data(), v, std::min(buf.size(), len));
    std::free(v);
    return len;
  }

  Memc m_;
};

class MemcachedStore final : public Store {
public:
  explicit MemcachedStore(const std::string &path)
      : server_(path, {"-p", "{port}", "-U", "0", "-l", "127.0.0.1", "-m", "1024", "-u",
                       ::getuid() == 0 ? "root" : "nobody"}) {}

  std::string name() const override { return "memcached"; }
  std::string rmw_note() const override { return "get + set, two round trips (not atomic)"; }

  void prepare(const Dataset &data) override {
    Memc m = connect(server_.port());
    check(m.get(), memcached_flush(m.get(), 0), "flush_all");
    for (std::size_t i = 0; i < data.keys.size(); ++i) {
      const std::string v = data.value(i);
      check(m.get(),
            memcached_set(m.get(), data.keys[i].data(), data.keys[i].size(), v.data(), v.size(), 0,
                          0),
            "set");
    }
  }
  std::unique_ptr<Client> attach(const Dataset &) override {
    return std::make_unique<MemcachedClient>(server_.port());
  }
  void finish() override {}

private:
  support::Server server_;
};

} // namespace

std::unique_ptr<Store> make_memcached_store(std::string &why) {
  std::string path;
  if (!support::Server::find("memcached", path, why)) {
    why += " (apt-get install memcached)";
    return nullptr;
  }
  return std::make_unique<MemcachedStore>(path);
}

} // namespace shmtable::bench

#else

namespace shmtable::bench {
std::unique_ptr<Store> make_memcached_store(std::string &why) {
  why = "built without libmemcached (apt-get install libmemcached-dev, then reconfigure the build)";
  return nullptr;
}
} // namespace shmtable::bench

#endif
