// The engine a fuzz target is built against: meson compiles each target once per engine
// with SHMTABLE_FUZZ_ENGINE set (tests/fuzz/meson.build).
#pragma once

#include "shmtable/shmtable.hpp"

#if SHMTABLE_FUZZ_ENGINE == 1
using Table = shmtable::LockFreeTable;
#elif SHMTABLE_FUZZ_ENGINE == 2
using Table = shmtable::MutexTable;
#else
#error "define SHMTABLE_FUZZ_ENGINE as 1 (lock-free) or 2 (mutex)"
#endif
