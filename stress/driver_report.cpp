// stress/driver_report.cpp: what shmtable-stress prints, and its JSON summary
// (driver_report.hpp), and the report of a scenario run (Totals::report).
#include "driver_report.hpp"

#include <cstdio>
#include <fstream>
#include <string>

#include "any_table.hpp"
#include "driver_run.hpp"

namespace shmtable::stress::driver {

std::string fmt_count(double v) {
  char b[32];
  if (v >= 1e6) {
    std::snprintf(b, sizeof b, "%.2fM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(b, sizeof b, "%.1fk", v / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.0f", v);
  }
  return b;
}

nlohmann::json report_json(const CheckReport &r) {
  return {{"operations", r.operations},
          {"keys", r.keys},
          {"violations", r.violations},
          {"inconclusive", r.inconclusive},
          {"evictions", r.evictions},
          {"eviction_budget", r.eviction_budget},
          {"steps", r.steps}};
}

void print_check(const CheckReport &r, double secs) {
  std::printf("  linearizability: %zu operations over %zu keys checked in %.1f s: %zu violations, "
              "%zu inconclusive\n",
              r.operations, r.keys, secs, r.violations, r.inconclusive);
  if (r.eviction_budget != 0 || r.evictions != 0) {
    std::printf("  evictions: the linearizations found use %llu spontaneous erases; the table "
                "counted %llu\n",
                static_cast<unsigned long long>(r.evictions),
                static_cast<unsigned long long>(r.eviction_budget));
  }
  for (const KeyFailure &f : r.failures) {
    std::printf("  %s on key %s:\n%s\n", f.inconclusive ? "INCONCLUSIVE" : "VIOLATION",
                f.key.c_str(), f.explanation.c_str());
  }
}

int finish(const Cli &c, std::uint64_t violations, nlohmann::json summary) {
  summary["violations"] = violations;
  summary["seed"] = c.cfg.seed;
  if (!c.summary.empty()) {
    std::ofstream(c.summary) << summary.dump(2) << '\n';
  }
  if (c.expect_violation) {
    std::printf("verdict: %s\n", violations ? "PASS (the planted bug was caught)"
                                            : "FAIL (expected a violation, found none)");
    return violations ? 0 : 1;
  }
  std::printf("verdict: %s\n", violations
                                   ? ("FAIL: " + std::to_string(violations) + " violations").c_str()
                                   : "PASS");
  return violations ? 1 : 0;
}

int Totals::report(const Cli &c) const {
  const RunConfig &cfg = c.cfg;
  std::printf("summary: %zu operations by %llu processes in %.1f s (%s ops/s), %zu did not "
              "complete%s\n",
              worker_ops, static_cast<unsigned long long>(tally.started), tally.seconds,
              fmt_count(double(worker_ops) / tally.seconds).c_str(), incomplete,
              epochs > 1 ? (", in " + std::to_string(epochs) + " epochs").c_str() : "");
  std::printf("  crashes injected: %llu; hangs detected: %llu%s; workers failed: %llu\n",
              static_cast<unsigned long long>(tally.kills),
              static_cast<unsigned long long>(tally.hangs),
              tally.hangs ? (tally.hang_expected ? " (expected)" : " (a violation)") : "",
              static_cast<unsigned long long>(tally.worker_failures));
  for (const std::string &m : tally.messages) {
    std::printf("  %s\n", m.c_str());
  }
  std::printf("  values read torn or invented, unexpected errors (seen online): %llu\n",
              static_cast<unsigned long long>(online));
  if (segment) {
    std::printf("  recover(): %llu entries, %llu reservations freed, %llu buffers reclaimed, "
                "%llu spare permits reset, %llu locks reset; second recover(): %s\n",
                static_cast<unsigned long long>(recovered.entries),
                static_cast<unsigned long long>(recovered.pending_cleared),
                static_cast<unsigned long long>(recovered.buffers_reclaimed),
                static_cast<unsigned long long>(recovered.spares_cleared),
                static_cast<unsigned long long>(recovered.locks_reset),
                second_found_more ? "found more" : "nothing left");
    std::printf("  fsck: %zu entries, refilled %llu of %llu slots, %llu violations%s\n", entries,
                static_cast<unsigned long long>(refilled),
                static_cast<unsigned long long>(cfg.table.capacity),
                static_cast<unsigned long long>(fsck_violations),
                expected_damage
                    ? (", " + std::to_string(expected_damage) + " torn values (expected)").c_str()
                    : "");
  } else {
    std::printf("  recover() and the refill: skipped (a table on a server has no segment to "
                "repair, no slots to refill)\n");
    std::printf("  audit: %zu entries, every key read back, then cleared: %llu violations\n",
                entries, static_cast<unsigned long long>(fsck_violations));
  }
  for (const std::string &m : fsck_messages) {
    std::printf("  VIOLATION: %s\n", m.c_str());
  }
  print_check(r, check_secs);
  nlohmann::json recover = nullptr; // a server's audit has no recover()
  if (segment) {
    recover = {{"pending_cleared", recovered.pending_cleared},
               {"buffers_reclaimed", recovered.buffers_reclaimed},
               {"spares_cleared", recovered.spares_cleared},
               {"locks_reset", recovered.locks_reset}};
  }
  return finish(c, violations_,
                {{"command", c.command},
                 {"engine", cfg.engine.name()},
                 {"processes", cfg.procs},
                 {"operations", worker_ops},
                 {"epochs", epochs},
                 {"incomplete", incomplete},
                 {"seconds", tally.seconds},
                 {"kills", tally.kills},
                 {"hangs", tally.hangs},
                 {"hang_expected", tally.hang_expected},
                 {"worker_failures", tally.worker_failures},
                 {"online_violations", online},
                 {"audit", segment ? "segment" : "server"},
                 {"recover", recover},
                 {"fsck_violations", fsck_violations},
                 {"expected_damage", expected_damage},
                 {"check", report_json(r)},
                 {"buffers_may_run_out", buffers_may_run_out},
                 {"check_seconds", check_secs}});
}

} // namespace shmtable::stress::driver
