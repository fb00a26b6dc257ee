// stress/values.hpp: the keys and values a stress run writes, and how a read is judged.
//
// Every value a run writes is unique and self-checking: it is generated from a 64-bit
// value id (process << 32 | sequence number) and a length, as
//   'v' <16 hex digits of the id> <filler derived from the id> '#' <8 hex digits>
// where the last 8 hex digits are XXH32 of everything before them. A read that returns
// anything else — a torn mixture of two values, bytes from a recycled buffer, a value
// of the wrong length — is caught on the spot, before the linearizability checker runs.
// Values made by add() are decimal integers, told apart by their first character.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shmtable::stress {

inline constexpr std::size_t kMinValueBytes = 26; // 'v' + 16 + '#' + 8 + >= 0 filler

// The value with id `id`, exactly `bytes` long (bytes >= kMinValueBytes).
std::string value_text(std::uint64_t id, std::size_t bytes);

struct ReadValue {
  enum class Kind : std::uint8_t { kValue, kNumber, kGarbage };
  Kind kind = Kind::kGarbage;
  std::uint64_t id = 0;    // kValue
  std::int64_t number = 0; // kNumber
};

// Classifies what a get returned. kValue only if the text is byte-for-byte the value of
// its id at length `bytes`; kNumber for add()'s decimal text; otherwise kGarbage.
ReadValue judge_value(std::string_view text, std::size_t bytes);

// Key `index` of a run, exactly `bytes` long (bytes >= 2): 'k', the index in hex, then
// filler derived from the index. Distinct for indexes below 16^(bytes - 1).
std::string key_text(std::uint64_t index, std::size_t bytes);

} // namespace shmtable::stress
