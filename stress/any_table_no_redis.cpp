// stress/any_table_no_redis.cpp: the redis engine where shmtable-stress has none (built
// without hiredis, or a planted-bug harness, which links only its own engine library).
#include <stdexcept>

#include "any_table.hpp"

namespace shmtable::stress {
namespace {

constexpr const char *kWhy =
    "this shmtable-stress was built without RedisTable (hiredis was not found: "
    "apt-get install libhiredis-dev, then reconfigure; planted-bug harnesses never have it)";

} // namespace

bool redis_built(std::string &why) {
  why = kWhy;
  return false;
}

std::unique_ptr<AnyTable> open_redis_table(const std::string &, const Options &) {
  throw std::runtime_error(kWhy);
}

} // namespace shmtable::stress
