// stress/table_adapter.hpp: the part of AnyTable that any Table (shmtable/table.hpp)
// serves the same way; any_table.cpp and any_table_redis.cpp add what each kind of
// table has of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "any_table.hpp"
#include "shmtable/table.hpp"

namespace shmtable::stress {

template <Table T> class TableAdapter : public AnyTable {
public:
  template <class... Args>
  explicit TableAdapter(Args &&...args) : t_(std::forward<Args>(args)...) {}

  // Every other set goes through set_with (the value made by a source, after the key's
  // slot was asked for, on the lock-free engine), so the histories check both write paths.
  void set(std::string_view k, std::string_view v) override {
    if ((++sets_ & 1) == 0) {
      t_.set_with(k, [&] { return v; });
    } else {
      t_.set(k, v);
    }
  }
  std::optional<std::string> get(std::string_view k) const override { return t_.get(k); }
  bool erase(std::string_view k) override { return t_.erase(k); }
  bool contains(std::string_view k) const override { return t_.contains(k); }
  std::int64_t add(std::string_view k, std::int64_t d) override { return t_.add(k, d); }
  // Every other compare_and_set goes through update, with a callback that compares: the
  // same contract, by the read-modify-write path. On an absent (or expired) key the
  // callback lingers (4096 pause instructions: microseconds) before it declines, as a real one
  // computing something would: an expired entry found there is freed after it returns (T2,
  // lockfree_engine.hpp), so writes of the key meet that free in flight.
  bool compare_and_set(std::string_view k, std::string_view e, std::string_view d) override {
    if ((++compares_ & 1) == 0) {
      return t_.update(k,
                       [&](const std::optional<std::string_view> &current,
                           std::string &) -> std::optional<std::string_view> {
                         if (!current) {
                           for (int i = 0; i < 4096; ++i) {
                             __builtin_ia32_pause();
                           }
                           return std::nullopt;
                         }
                         return *current == e ? std::optional<std::string_view>(d) : std::nullopt;
                       });
    }
    return t_.compare_and_set(k, e, d);
  }
  bool set_if_absent(std::string_view k, std::string_view v) override {
    return t_.set_if_absent(k, v);
  }
  void set(std::string_view k, std::string_view v, std::chrono::nanoseconds ttl) override {
    t_.set(k, v, ttl);
  }
  bool set_if_absent(std::string_view k, std::string_view v,
                     std::chrono::nanoseconds ttl) override {
    return t_.set_if_absent(k, v, ttl);
  }
  std::int64_t add(std::string_view k, std::int64_t d, std::chrono::nanoseconds ttl) override {
    return t_.add(k, d, ttl);
  }
  std::size_t purge_expired() override { return t_.purge_expired(); }
  std::vector<std::string> keys() const override { return t_.keys(); }
  void clear() override { t_.clear(); }
  std::size_t size() const override { return t_.size(); }
  void close() override { t_.close(); }

protected:
  T t_;

private:
  std::uint64_t sets_ = 0;
  std::uint64_t compares_ = 0;
};

} // namespace shmtable::stress
