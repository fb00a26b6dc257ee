// bench/keys.hpp: the benchmark keys, made before timing.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

namespace shmtable::bench {

// Keys of exactly `bytes` bytes: a prefix and a zero-padded number.
inline std::vector<std::string> make_keys(std::uint64_t n, std::uint32_t bytes, char prefix) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string k(bytes, '0');
    k[0] = prefix;
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, i).ptr;
    const auto len = static_cast<std::size_t>(end - digits);
    k.replace(bytes - len, len, digits, len);
    keys.push_back(std::move(k));
  }
  return keys;
}

} // namespace shmtable::bench
