// The shmtable tool's command line: what each command takes, how argv is parsed
// against that, and how a command fails (exit codes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "shmtable/error.hpp"

namespace shmtable::tool {

// Exit codes, the same for every command (`shmtable help` lists them).
enum Exit : int {
  kExitOk = 0,
  kExitNo = 1,            // the answer is no: get/del of an absent key, fsck found corruption
  kExitUsage = 2,         // bad command line, or bad input (load)
  kExitTable = 3,         // the table could not be opened or the operation failed
  kExitNeedsRecovery = 4, // fsck: no corruption, but what crashes left (run recover)
};

// A failure: main() prints "shmtable: COMMAND: message" to stderr and exits with `code`.
class Failure : public std::runtime_error {
public:
  Failure(int code, const std::string &message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

private:
  int code_;
};

[[noreturn]] inline void usage_error(const std::string &message) {
  throw Failure(kExitUsage, message);
}

// An Error's message without the library's "shmtable: " and " [code]" around it.
std::string bare_message(const Error &e);

struct Args;

// One command: its synopsis, help text, the flags (no value) and options (one value)
// it takes, its positional arguments, and the function that runs it.
struct Command {
  std::string_view name;
  // Whether the first positional argument is the table's NAME, which --path FILE
  // replaces.
  bool takes_table;
  std::vector<std::string_view> positional; // after NAME; "[X]" is optional
  std::vector<std::string_view> flags;
  std::vector<std::string_view> options;
  std::string_view summary; // one line, for `shmtable help`
  std::string_view help;    // the rest of `shmtable COMMAND --help`
  int (*run)(const Args &);
};

// A parsed command line.
struct Args {
  const Command *command = nullptr;
  std::string self; // the path this binary can be started by again (demo)
  std::string name; // the table's NAME, when the command takes one and --path is absent
  std::vector<std::string> positional; // after NAME
  std::set<std::string, std::less<>> flags;
  std::map<std::string, std::string, std::less<>> options;

  bool has(std::string_view flag) const { return flags.contains(flag); }
  std::optional<std::string> option(std::string_view name) const;
  // The option as a number: nullopt if absent; a usage error if it is not a decimal
  // number within [min, max].
  std::optional<std::uint64_t> number(std::string_view name, std::uint64_t min = 0,
                                      std::uint64_t max = UINT64_MAX) const;
  // The option as a number of seconds (a fraction allowed): nullopt if absent; a usage
  // error if it is not one within [min, max] ("0.01..86400").
  std::optional<double> seconds(std::string_view name, double min, double max,
                                std::string_view range) const;
  // Positional argument i (after NAME), or `fallback` if absent.
  std::string arg(std::size_t i, std::string fallback = "") const {
    return i < positional.size() ? positional[i] : fallback;
  }
};

// Every command, in the order `shmtable help` lists them.
const std::vector<Command> &commands();
const Command *find_command(std::string_view name);

// Parses argv[2..] for `cmd`: a usage error for an unknown option, a missing value, a
// missing or extra argument. "--" ends the options (for keys that start with "-").
Args parse(const Command &cmd, int argc, char **argv, std::string self);

// `shmtable help` and `shmtable COMMAND --help`.
std::string overview();
std::string command_help(const Command &cmd);

} // namespace shmtable::tool
