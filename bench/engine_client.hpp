// bench/engine_client.hpp: one process's Client over any table of the Table concept
// (shmtable/table.hpp): the shared-memory engines (stores_engines.cpp) and RedisTable
// (peer_redis.cpp) are driven by the same code.
#pragma once

#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "shmtable/table.hpp"
#include "store.hpp"

namespace shmtable::bench {

// The first byte of a value, changed: what F's read-modify-write writes back.
inline char bumped(char c) { return c == 'z' ? 'a' : static_cast<char>(c + 1); }

template <Table T> class EngineClient final : public Client {
public:
  EngineClient(T t, bool atomic_rmw) : t_(std::move(t)), atomic_rmw_(atomic_rmw) {}

  bool read(std::string_view key, std::span<char> buf) override {
    return t_.get_into(key, buf).has_value();
  }
  void update(std::string_view key, std::string_view value) override { t_.set(key, value); }

  bool read_modify_write(std::string_view key, std::span<char> buf) override {
    if (atomic_rmw_) {
      // One atomic step: the value is read (into buf, as a client that reads it would),
      // and its first byte bumped, in one lookup.
      return t_.update(key,
                       [&](std::optional<std::string_view> cur,
                           std::string &scratch) -> std::optional<std::string_view> {
                         if (!cur || cur->empty()) {
                           return std::nullopt;
                         }
                         if (cur->size() > buf.size()) { // as get_into's kBufferTooSmall
                           throw std::length_error("read-modify-write: buffer too small");
                         }
                         std::memcpy(buf.data(), cur->data(), cur->size());
                         scratch.assign(*cur);
                         scratch[0] = bumped(scratch[0]);
                         return scratch;
                       });
    }
    const auto len = t_.get_into(key, buf);
    if (!len || *len == 0) {
      return false;
    }
    next_.assign(buf.data(), *len); // reused: no allocation per operation
    next_[0] = bumped(next_[0]);
    t_.set(key, next_); // fast-shm-cache's API has no conditional write: get, then set
    return true;
  }

private:
  T t_;
  bool atomic_rmw_;
  std::string next_; // F's new value
};

} // namespace shmtable::bench
