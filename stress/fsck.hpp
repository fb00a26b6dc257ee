// stress/fsck.hpp: the end-of-run audit of a table nobody else has open.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "any_table.hpp"
#include "operation.hpp"
#include "workload.hpp"

namespace shmtable::stress {

struct FsckReport {
  // false: a table on a server (redis), which has no segment: recover() and the refill
  // below were skipped, and `first`, `second` and `refilled` are zero.
  bool segment = true;
  RecoveryReport first;  // recover() after the run
  RecoveryReport second; // recover() again: must find nothing
  std::size_t entries = 0;
  std::uint64_t refilled = 0; // distinct keys inserted after clear(): should be capacity
  std::uint64_t violations = 0;
  std::uint64_t expected_damage = 0; // faithful engine after a crash: torn values it cannot avoid
  std::vector<std::string> messages;
};

// With no process killed, first checks that size() agrees with keys(). Then runs
// recover(), checks the table (no duplicate keys, every value a stress value or a
// number, size() agrees, leaks within the crash bound), reads every key of the run into
// `final_reads` (as process `process`, so the checker ties the final contents to the
// history), runs recover() again, then clears the table (also in `final_reads`), refills
// it to capacity and clears it again: it ends empty.
// `killed`: processes that died without closing; `damage_expected`: the faithful engine
// after a crash, whose torn values are the design's known failure, not a finding.
// `written`: further keys to read back (churn: every key ever inserted).
// On a server (cfg.engine.redis()) there is no segment: nothing for recover() to repair
// and no slots to refill, so those steps are skipped (FsckReport::segment says so); the
// rest is done, and after clear() the namespace must be empty.
FsckReport fsck(AnyTable &table, const RunConfig &cfg, std::uint64_t killed, bool damage_expected,
                std::uint32_t process, const std::vector<std::string> &written,
                std::vector<Operation> &final_reads);

} // namespace shmtable::stress
