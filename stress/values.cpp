// stress/values.cpp: value and key texts (see values.hpp).
#include "values.hpp"

#include <charconv>
#include <cstdio>

#include <xxhash.h>

namespace shmtable::stress {
namespace {

// Printable filler derived from a seed (splitmix64), so a value's every byte depends on
// its id and a stale byte from another value shows.
void append_filler(std::string &s, std::uint64_t seed, std::size_t n) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::uint64_t x = seed;
  for (std::size_t i = 0; i < n; ++i) {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    s.push_back(kAlphabet[z % (sizeof(kAlphabet) - 1)]);
  }
}

void append_hex(std::string &s, std::uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
  s.append(buf, static_cast<std::size_t>(digits));
}

} // namespace

std::string value_text(std::uint64_t id, std::size_t bytes) {
  std::string s;
  s.reserve(bytes);
  s.push_back('v');
  append_hex(s, id, 16);
  append_filler(s, id, bytes - kMinValueBytes);
  s.push_back('#');
  append_hex(s, XXH32(s.data(), s.size(), 0), 8);
  return s;
}

ReadValue judge_value(std::string_view text, std::size_t bytes) {
  ReadValue r;
  if (!text.empty() && text.front() == 'v') {
    std::uint64_t id = 0;
    if (text.size() == bytes && bytes >= kMinValueBytes) {
      const auto [end, ec] = std::from_chars(text.data() + 1, text.data() + 17, id, 16);
      if (ec == std::errc() && end == text.data() + 17 && value_text(id, bytes) == text) {
        r.kind = ReadValue::Kind::kValue;
        r.id = id;
      }
    }
    return r;
  }
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) {
    r.kind = ReadValue::Kind::kNumber;
    r.number = n;
  }
  return r;
}

std::string key_text(std::uint64_t index, std::size_t bytes) {
  std::string hex;
  append_hex(hex, index, 16);
  std::string s = "k";
  if (bytes >= 17) {
    s += hex;
    append_filler(s, ~index, bytes - s.size());
  } else { // short keys keep the low hex digits: distinct below 16^(bytes - 1)
    s += hex.substr(17 - bytes);
  }
  return s;
}

} // namespace shmtable::stress
