// stress/driver_cli.hpp: shmtable-stress's command line: the options, their parsing, and
// the checks and defaults that depend on the command.
#pragma once

#include <cstdint>
#include <string>

#include "checker.hpp"
#include "workload.hpp"

namespace shmtable::stress::driver {

struct Cli {
  std::string command;
  std::string file; // check
  RunConfig cfg;
  std::uint64_t keys = 0;
  std::uint64_t max_ops = 0; // operations per epoch; 0: apply_defaults' default
  bool crash = false;
  unsigned kill_interval_ms = 50;
  unsigned hang_ms = 3000;
  std::uint64_t rounds = 200;
  std::string history;
  std::string summary;
  bool expect_violation = false;
  bool quiet = false;
  CheckOptions check;
  bool seed_given = false;
  bool same_fingerprint = false;
  // The check's eviction budget is the evictions the table counted during each epoch
  // (driver_run.cpp, evictions_so_far): only meaningful on a table that evicts.
  bool evictions_from_stats = false;
};

// The command and its options. A usage error (or no command) prints the usage and exits with
// status 2; --help prints it and exits with 0. The seed is drawn here unless --seed gives it.
Cli parse(int argc, char **argv);

// For a scenario command: the scenario, and the defaults and limits that depend on it (a
// usage error exits as in parse).
void apply_defaults(Cli &c);

} // namespace shmtable::stress::driver
