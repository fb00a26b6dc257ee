// stress/create_race.hpp: processes racing to create the same segment, many rounds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "any_table.hpp"

namespace shmtable::stress {

struct CreateRaceReport {
  std::uint64_t rounds = 0;
  std::uint64_t violations = 0;
  std::vector<std::string> messages; // the first few violations
};

// Each round, `procs` processes start together on a barrier and open one fresh name:
// even rounds with kOpenOrCreate (exactly one must report created()), odd rounds with
// kCreate (exactly one succeeds, the others get already_exists and attach with kOpen).
// Each then writes its own key and, after a second barrier, reads every other's: all
// must share one table. After the last close the name must be gone (persist is false).
CreateRaceReport create_race(EngineName engine, const std::string &name_prefix, unsigned procs,
                             std::uint64_t rounds, bool progress);

} // namespace shmtable::stress
