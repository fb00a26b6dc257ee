// stress/any_table_redis.cpp: AnyTable over RedisTable (the redis engine of
// shmtable-stress; linked where the build has hiredis, any_table_no_redis.cpp elsewhere).
#include <limits>
#include <stdexcept>

#include "any_table.hpp"
#include "shmtable/redis_table.hpp"
#include "table_adapter.hpp"

namespace shmtable::stress {
namespace {

// What a shared-memory table has and a server has not: no slots (capacity unbounded,
// no home slot or fingerprint), no record buffers, nothing to recover.
class RedisAdapter final : public TableAdapter<RedisTable> {
public:
  explicit RedisAdapter(const RedisOptions &opts) : TableAdapter(opts) {}
  RecoveryReport recover() override {
    throw std::logic_error("recover(): a table on a server has no segment, so nothing to repair");
  }
  std::uint64_t capacity() const override { return std::numeric_limits<std::uint64_t>::max(); }
  std::uint64_t buffer_reserve() const override { return 0; }
  std::uint64_t evictions() const override { return 0; }
  std::optional<std::uint64_t> home_slot(std::string_view) const override { return std::nullopt; }
  std::optional<std::uint64_t> fingerprint(std::string_view) const override { return std::nullopt; }
  bool created() const override { return false; }
};

} // namespace

bool redis_built(std::string &) { return true; }

std::unique_ptr<AnyTable> open_redis_table(const std::string &url, const Options &opts) {
  RedisOptions r;
  r.name = opts.name;
  r.max_key_bytes = opts.max_key_bytes;
  r.max_value_bytes = opts.max_value_bytes;
  r.connect_to(url);
  // No timeout of its own: a call that never returns is the watchdog's to report, as a
  // hang (--hang-ms), like a blocked call on a shared-memory engine; an Errc::kTimeout
  // would be an unexpected error instead, on a loaded machine as much as on a dead server.
  r.command_timeout_ms = 0;
  return std::make_unique<RedisAdapter>(r);
}

} // namespace shmtable::stress
