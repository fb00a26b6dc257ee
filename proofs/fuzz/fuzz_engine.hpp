// The engine a fuzz target is built against: meson compiles each target once per engine
// with SHMTABLE_FUZZ_ENGINE set to its name, "lockfree" or "mutex" (proofs/fuzz/meson.build;
// a mutex target takes its robust setting from each input).
#pragma once

#include "shmtable/shmtable.hpp"

#ifndef SHMTABLE_FUZZ_ENGINE
#error "define SHMTABLE_FUZZ_ENGINE as an engine's name: \"lockfree\" or \"mutex\""
#endif

static_assert(shmtable::parse_engine_name(SHMTABLE_FUZZ_ENGINE).has_value(),
              "SHMTABLE_FUZZ_ENGINE names no engine");
static_assert(*shmtable::parse_engine_name(SHMTABLE_FUZZ_ENGINE) != shmtable::EngineName::kRobust,
              "the mutex fuzz targets take robust from each input: build them as \"mutex\"");

using FuzzTable = shmtable::EngineTable<*shmtable::parse_engine_name(SHMTABLE_FUZZ_ENGINE)>;
