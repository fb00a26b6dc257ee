// stress/driver_report.hpp: what shmtable-stress prints, and its JSON summary.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "checker.hpp"
#include "driver_cli.hpp"

namespace shmtable::stress::driver {

// A count for a human: 1.23M, 4.5k, 678.
std::string fmt_count(double v);

// The check's figures for the JSON summary.
nlohmann::json report_json(const CheckReport &r);

// The check's figures and its failures' explanations.
void print_check(const CheckReport &r, double secs);

// Writes the summary (--summary), with the violations and the seed, and prints the verdict;
// returns the exit status.
int finish(const Cli &c, std::uint64_t violations, nlohmann::json summary);

} // namespace shmtable::stress::driver
