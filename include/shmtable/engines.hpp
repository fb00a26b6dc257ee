// shmtable/engines.hpp: every engine, checked against the Table concept, and picked by
// name at run time.
#pragma once

#include <type_traits>

#include "shmtable/lockfree_table.hpp"
#include "shmtable/mutex_table.hpp"
#include "shmtable/table.hpp"

namespace shmtable {

static_assert(Table<LockFreeTable>);
static_assert(Table<MutexTable>);

// The class that serves engine E ("robust" is MutexTable opened with robust = true:
// options_for()).
template <EngineName E>
using EngineTable = std::conditional_t<E == EngineName::kLockFree, LockFreeTable, MutexTable>;

// Calls fn(std::type_identity<T>{}) with T the class that serves engine `e`, and returns
// what it returns: how code written against the concept is instantiated for a name.
template <class Fn> decltype(auto) visit_engine(EngineName e, Fn &&fn) {
  if (e == EngineName::kLockFree) {
    return fn(std::type_identity<LockFreeTable>{});
  }
  return fn(std::type_identity<MutexTable>{});
}

} // namespace shmtable
