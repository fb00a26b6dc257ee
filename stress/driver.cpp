// stress/driver.cpp: shmtable-stress, the stress and crash-torture harness.
//
//   shmtable-stress COMMAND [options]        (--help for the list)
//
// A run forks worker processes that hammer one table and record every operation in a
// shared log (shared_log.hpp); optionally SIGKILLs them at random and starts
// replacements; watches for hangs; then audits the table (fsck.hpp) and checks the
// whole history for linearizability (checker.hpp). Exit status: 0 clean, 1 a violation
// (or, with --expect-violation, none found), 2 bad usage.
//
// Its parts: the command line (driver_cli.hpp), the commands and their runs
// (driver_run.hpp), and what is printed of them (driver_report.hpp).
#include <cstdio>
#include <exception>

#include "driver_cli.hpp"
#include "driver_run.hpp"

int main(int argc, char **argv) {
  using namespace shmtable::stress::driver;
  Cli cli = parse(argc, argv);
  try {
    if (cli.command == "check") {
      return run_check(cli);
    }
    if (cli.command == "create-race") {
      return run_create_race(cli);
    }
    return run_scenario(cli);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "shmtable-stress: %s\n", e.what());
    return 2;
  }
}
