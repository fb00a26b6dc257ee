// stress/history.hpp: histories as JSON lines (format: stress/README.md, "History format").
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "operation.hpp"

namespace shmtable::stress {

// One operation as one line of JSON (no trailing newline).
std::string to_json_line(const Operation &op);

// Parses one line; throws std::runtime_error naming the field that is missing or wrong.
Operation from_json_line(const std::string &line);

// Writes every operation, one per line, replacing the file or appending to it (a run's
// later epochs). Throws std::runtime_error on an I/O error.
void write_history(const std::string &path, const std::vector<Operation> &history,
                   bool append = false);

// Reads a whole file; a bad line throws std::runtime_error with its line number.
std::vector<Operation> read_history(const std::string &path);

} // namespace shmtable::stress
