// stress/any_table.hpp: one handle type over all engines, picked at run time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shmtable/shmtable.hpp"

namespace shmtable::stress {

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
  virtual std::vector<std::string> keys() const = 0;
  virtual void clear() = 0;
  virtual std::size_t size() const = 0;
  virtual RecoveryReport recover() = 0;
  virtual std::uint64_t capacity() const = 0;
  // Record buffers beyond one per slot (lock-free: in flight, spares, crash leaks); 0 for
  // an engine whose updates need no buffer (the mutex engines write in place).
  virtual std::uint64_t buffer_reserve() const = 0;
  virtual std::uint64_t home_slot(std::string_view key) const = 0;
  // The lock-free engine's fingerprint of the key; nullopt for engines without one.
  virtual std::optional<std::uint64_t> fingerprint(std::string_view key) const = 0;
  virtual bool created() const = 0;
  virtual void close() = 0;
};

// Opens (or creates) the table with `opts` on engine `e`; `robust` is set from `e`.
std::unique_ptr<AnyTable> open_table(EngineName e, Options opts);

} // namespace shmtable::stress
