// Checks on TableParams shared by both engines' layout_for(). Private to the library.
#pragma once

#include <string>

#include "shmtable/config.hpp"
#include "shmtable/error.hpp"
#include "shmtable/segment.hpp"

namespace shmtable::detail {

constexpr std::uint64_t round_up(std::uint64_t v, std::uint64_t to) {
  return (v + to - 1) / to * to;
}

// Errc::kInvalidArgument naming the field unless capacity >= 1 and both limits are in
// their documented ranges.
inline void check_sizing(const TableParams &p) {
  if (p.capacity == 0) {
    throw Error(Errc::kInvalidArgument, "capacity: must be at least 1 slot");
  }
  if (p.max_key_bytes == 0 || p.max_key_bytes > kMaxKeyBytesLimit) {
    throw Error(Errc::kInvalidArgument, "max_key_bytes: " + std::to_string(p.max_key_bytes) +
                                            " is outside 1.." + std::to_string(kMaxKeyBytesLimit));
  }
  if (p.max_value_bytes == 0 || p.max_value_bytes > kMaxValueBytesLimit) {
    throw Error(Errc::kInvalidArgument, "max_value_bytes: " + std::to_string(p.max_value_bytes) +
                                            " is outside 1.." +
                                            std::to_string(kMaxValueBytesLimit));
  }
}

// The errors every engine raises the same way for oversize input. The checks sit on every
// operation's path and are forced inline; the throws are kept out of it.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_key_too_large(std::size_t size,
                                                                       std::uint32_t limit) {
  throw Error(Errc::kKeyTooLarge, "key: " + std::to_string(size) +
                                      " bytes exceeds the table's max_key_bytes of " +
                                      std::to_string(limit));
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_value_too_large(std::size_t size,
                                                                         std::uint32_t limit) {
  throw Error(Errc::kValueTooLarge, "value: " + std::to_string(size) +
                                        " bytes exceeds the table's max_value_bytes of " +
                                        std::to_string(limit));
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_buffer_too_small(std::size_t buffer,
                                                                          std::size_t value) {
  throw Error(Errc::kBufferTooSmall, "get_into: the buffer of " + std::to_string(buffer) +
                                         " bytes is smaller than the value's " +
                                         std::to_string(value) + " bytes");
}

[[gnu::always_inline]] inline void check_key_size(std::size_t size, std::uint32_t limit) {
  if (size > limit) [[unlikely]] {
    throw_key_too_large(size, limit);
  }
}

[[gnu::always_inline]] inline void check_value_size(std::size_t size, std::uint32_t limit) {
  if (size > limit) [[unlikely]] {
    throw_value_too_large(size, limit);
  }
}

} // namespace shmtable::detail
