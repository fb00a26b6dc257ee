// How the tool finds and opens the table a command names: NAME or --path FILE, its
// header read first (inspect_segment) so that it is opened with the engine and options
// it has, and never created except where a command says --create.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "cli.hpp"
#include "shmtable/shmtable.hpp"

namespace shmtable::tool {

// A table of either shared-memory engine.
using AnyTable = std::variant<LockFreeTable, MutexTable>;

// Runs fn(table) on whichever engine's handle `t` holds.
template <class Fn> decltype(auto) with_table(AnyTable &t, Fn &&fn) {
  return std::visit(std::forward<Fn>(fn), t);
}

// The table's header, read without attaching (Errc::kSegmentMissing if absent).
SegmentInfo look(const Args &a);

// The engine a table of `info` has; a table error for an engine kind this build does not
// know.
EngineName engine_of(const SegmentInfo &info);

// The engine --engine names, if given (a usage error for another name).
std::optional<EngineName> requested_engine(const Args &a);

struct Opened {
  AnyTable table;
  EngineName engine;
  SegmentInfo before; // the header as read before opening (attached handles: others')
  bool created = false;
};

// Opens the table `a` names with the engine and options its header records, checked
// against --engine, --capacity, --max-key-bytes, --max-value-bytes and --hash-seed where
// given (Errc::kLayoutMismatch names what differs). Never creates one, unless
// `may_create` and --create: then a missing table is created, persistent (a table made
// by a command that exits at once must outlive it), with --engine (default lockfree) and
// the sizing options (default: the library's).
Opened open_table(const Args &a, bool may_create = false);

// The flags and options open_table() reads, for the command list.
inline constexpr std::string_view kOpenOptionsHelp =
    "  --engine E         the engine the table must have: lockfree, mutex or robust\n"
    "  --capacity N, --max-key-bytes N, --max-value-bytes N, --hash-seed N\n"
    "                     the layout the table must have (an open fails naming what\n"
    "                     differs)\n";
inline constexpr std::string_view kCreateOptionsHelp =
    "  --create           create the table if it is missing: persistent (it outlives\n"
    "                     this command; remove it with shmtable unlink), with --engine\n"
    "                     (default lockfree) and the sizing options (defaults: capacity\n"
    "                     1024, keys <= 64 bytes, values <= 256 bytes, hash seed 0).\n"
    "                     Without it, a missing table is an error.\n";

} // namespace shmtable::tool
