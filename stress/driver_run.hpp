// stress/driver_run.hpp: shmtable-stress's commands: a scenario run in epochs (worker
// processes, crashes, watchdog, audit and check), create-race, and the check of a recorded
// history.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "checker.hpp"
#include "driver_cli.hpp"
#include "shmtable/recovery.hpp"

namespace shmtable::stress::driver {

// One epoch's workers, as the runner saw them.
struct Tally {
  std::uint64_t started = 0, kills = 0, hangs = 0, worker_failures = 0;
  bool hang_expected = false;
  std::vector<std::string> messages;
  double seconds = 0;
};

struct EpochResult; // one epoch's outcome (driver_run.cpp)

// The epochs of one run, summed.
struct Totals {
  std::uint64_t epochs = 0;
  std::size_t worker_ops = 0, incomplete = 0;
  Tally tally;
  std::uint64_t online = 0;
  bool segment = true;      // false: a table on a server, whose audits skip recover()
  RecoveryReport recovered; // the first recover() of each audit, summed
  bool second_found_more = false;
  std::size_t entries = 0;    // the last audit's
  std::uint64_t refilled = 0; // the last audit's
  std::uint64_t fsck_violations = 0, expected_damage = 0;
  std::vector<std::string> fsck_messages;
  CheckReport r;
  double check_secs = 0;
  bool buffers_may_run_out = false;
  std::uint64_t violations_ = 0;

  std::uint64_t violations() const { return violations_; }

  void add(const EpochResult &e); // driver_run.cpp
  int report(const Cli &c) const; // driver_report.cpp
};

// The commands; each returns the exit status.
int run_check(const Cli &c);
int run_create_race(const Cli &c);
int run_scenario(Cli &c);

} // namespace shmtable::stress::driver
