// add()'s value format, shared by both engines: a decimal signed 64-bit integer as text.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shmtable/error.hpp"

namespace shmtable::detail {

// current (nullopt = absent, counts as 0) + delta, as text. Errc::kNotANumber if the
// current value is not a decimal int64 or the sum overflows.
inline std::string add_to_text(std::optional<std::string_view> current, std::int64_t delta,
                               std::int64_t &sum) {
  std::int64_t base = 0;
  if (current) {
    const char *b = current->data();
    const char *e = b + current->size();
    const auto [end, ec] = std::from_chars(b, e, base);
    if (current->empty() || ec != std::errc() || end != e) {
      throw Error(Errc::kNotANumber, "add: the key's value (" + std::to_string(current->size()) +
                                         " bytes) is not a decimal signed 64-bit integer");
    }
  }
  if (__builtin_add_overflow(base, delta, &sum)) {
    throw Error(Errc::kNotANumber, "add: " + std::to_string(base) + " + " + std::to_string(delta) +
                                       " overflows a signed 64-bit integer");
  }
  return std::to_string(sum);
}

} // namespace shmtable::detail
