// stress/operation.hpp: one operation of a recorded history, as the checker sees it.
//
// A history is a vector of Operation, in any order. Keys and values are byte strings.
// Times are nanoseconds on one system-wide monotonic clock (CLOCK_MONOTONIC): an
// operation was invoked at `invoke_ns` and, if it completed, responded at `response_ns`.
// A history with expiry also has readings of the table clock (CLOCK_REALTIME_COARSE,
// src/expiry.hpp) around each operation, which bound its deadlines (checker_expiry.hpp).
// The JSON-lines form is documented in stress/README.md ("History format").
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace shmtable::stress {

enum class OpKind : std::uint8_t {
  kGet,           // key                     -> value | absent
  kSet,           // key, value              -> ok
  kErase,         // key                     -> bool (was present)
  kContains,      // key                     -> bool
  kAdd,           // key, delta              -> number (the new value)
  kCompareAndSet, // key, expected, desired -> bool (swapped)
  kSetIfAbsent,   // key, value              -> bool (inserted)
  kClear,         // (no key)                -> ok; erases every key, one at a time
};

inline constexpr std::string_view kOpNames[] = {
    "get", "set", "erase", "contains", "add", "compare_and_set", "set_if_absent", "clear"};

// Stable lower-case names, as written in the JSON lines ("get", "compare_and_set", ...).
inline std::string_view to_string(OpKind op) noexcept {
  return kOpNames[static_cast<std::size_t>(op)];
}
inline std::optional<OpKind> op_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(kOpNames); ++i) {
    if (kOpNames[i] == name) {
      return static_cast<OpKind>(i);
    }
  }
  return std::nullopt;
}

struct Result {
  enum class Kind : std::uint8_t {
    kUnknown, // the operation did not complete (its process was killed)
    kAbsent,  // get: no value
    kValue,   // get: `value`
    kBool,    // erase, contains, compare_and_set, set_if_absent: `flag`
    kNumber,  // add: `number`
    kOk,      // set, clear
    kError,   // any operation: `error` is the library's error code name, e.g. "table_full"
  };
  Kind kind = Kind::kUnknown;
  bool flag = false;
  std::int64_t number = 0;
  std::string value;
  std::string error;
};

struct Operation {
  std::uint32_t process = 0; // who ran it; a restarted worker gets a new number
  OpKind op = OpKind::kGet;
  std::string key;        // empty for clear
  std::string value;      // set / set_if_absent: the value; compare_and_set: expected
  std::string desired;    // compare_and_set: desired
  std::int64_t delta = 0; // add
  // set, set_if_absent, add: the time to live it was called with, ns; 0: none.
  std::uint64_t ttl_ns = 0;
  Result result; // kind kUnknown exactly when !completed
  std::uint64_t invoke_ns = 0;
  // Completed: the response time. Not completed: a time by which the operation can no
  // longer take effect (its process was seen dead), or nullopt when no such time is
  // known (it may take effect at any time after invoke_ns).
  std::optional<std::uint64_t> response_ns;
  bool completed = false;
  // The table clock read just before invoke_ns was read (so at invoke_ns the table clock
  // was at least this), and just after response_ns was (so at response_ns it was at most
  // this); nullopt where not recorded (a history without expiry, an older file).
  std::optional<std::uint64_t> invoke_clock_ns;
  std::optional<std::uint64_t> response_clock_ns;
};

} // namespace shmtable::stress
