// shmtable/engines.hpp: every shared-memory engine, checked against the SharedMemoryTable
// concept, and picked by name at run time. (RedisTable is not among them: it lives in
// its own library, shmtable/redis_table.hpp.)
#pragma once

#include <type_traits>

#include "shmtable/lockfree_table.hpp"
#include "shmtable/mutex_table.hpp"
#include "shmtable/table.hpp"

namespace shmtable {

static_assert(SharedMemoryTable<LockFreeTable>);
static_assert(SharedMemoryTable<MutexTable>);

// The class that serves engine E ("robust" is MutexTable opened with robust = true:
// options_for()). Specialised for every EngineName: a name without its class does not
// compile.
template <EngineName E> struct EngineClass;
template <> struct EngineClass<EngineName::kLockFree> { using type = LockFreeTable; };
template <> struct EngineClass<EngineName::kMutex> { using type = MutexTable; };
template <> struct EngineClass<EngineName::kRobust> { using type = MutexTable; };
template <EngineName E> using EngineTable = typename EngineClass<E>::type;

// Calls fn(std::type_identity<T>{}) with T the class that serves engine `e`, and returns
// what it returns: how code written against the concept is instantiated for a name. A
// switch with no default, so that -Wswitch names a new engine that is missing here.
template <class Fn> decltype(auto) visit_engine(EngineName e, Fn &&fn) {
  switch (e) {
  case EngineName::kLockFree:
    return fn(std::type_identity<EngineTable<EngineName::kLockFree>>{});
  case EngineName::kMutex:
    return fn(std::type_identity<EngineTable<EngineName::kMutex>>{});
  case EngineName::kRobust:
    return fn(std::type_identity<EngineTable<EngineName::kRobust>>{});
  }
  __builtin_unreachable(); // e is one of the enumerators above
}

} // namespace shmtable
