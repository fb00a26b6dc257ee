// Decoding of fuzz input bytes into table geometry, keys, values and numbers, shared by
// every target in proofs/fuzz/. Reading past the end yields zeros, so every input is valid.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace shmtable::fuzz {

// Prints the reason and aborts: how every target reports a violated property.
[[noreturn]] inline void fail(const std::string &what) {
  std::fprintf(stderr, "shmtable fuzz: FAILED: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Bytes shown as a C string literal, for failure messages.
inline std::string shown(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 32 && u < 127 && c != '"' && c != '\\') {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out + "\" (" + std::to_string(s.size()) + " bytes)";
}

class Input {
public:
  Input(const std::uint8_t *data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  std::size_t remaining() const { return empty() ? 0 : size_ - pos_; }

  std::uint8_t byte() { return empty() ? 0 : data_[pos_++]; }

  std::uint16_t u16() {
    const std::uint16_t lo = byte();
    return static_cast<std::uint16_t>(lo | (byte() << 8));
  }

  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < 8; ++i) {
      v |= std::uint64_t{byte()} << (8 * i);
    }
    return v;
  }

  // Up to `n` bytes (fewer at the end of the input).
  std::string_view bytes(std::size_t n) {
    n = std::min(n, remaining());
    const std::string_view out(reinterpret_cast<const char *>(data_ + pos_), n);
    pos_ += n;
    return out;
  }

private:
  const std::uint8_t *data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// A table's sizing, decoded from two bytes. Capacities stay tiny so that "full" is
// reached; the limits include the 8-byte word boundaries the lock-free records pack to.
struct Geometry {
  std::uint64_t capacity;
  std::uint32_t max_key_bytes;
  std::uint32_t max_value_bytes;
  std::uint64_t hash_seed;
  bool robust; // MutexTable only
};

inline Geometry decode_geometry(Input &in) {
  static constexpr std::uint32_t kKeyLimits[8] = {1, 2, 7, 8, 9, 16, 17, 64};
  static constexpr std::uint32_t kValueLimits[8] = {1, 7, 8, 9, 16, 20, 64, 256};
  const std::uint8_t g0 = in.byte();
  const std::uint8_t g1 = in.byte();
  return Geometry{1u + (g0 & 0x0fu), kKeyLimits[g1 & 7], kValueLimits[(g1 >> 3) & 7],
                  std::uint64_t{g0} >> 5, (g0 & 0x10) != 0};
}

// One byte names a key from a small space: short keys (0..15 bytes) of four fills, or
// keys at max_key_bytes - 1 .. + 2 (the oversize ones must be refused). Bit 6 or 4 puts
// a 'z' last, so that keys differing only in their last byte (or in length only, like
// "\0" and "\0\0", which pack to the same 8-byte words) meet.
inline std::string decode_key(std::uint8_t b, std::uint32_t max_key_bytes) {
  static constexpr char kFill[4] = {'a', 'b', '\0', '\xff'};
  std::size_t len;
  char fill;
  bool last_z;
  if ((b & 0x80) != 0) {
    len = max_key_bytes - 1 + (b & 3u); // max_key_bytes >= 1
    fill = kFill[(b >> 2) & 3];
    last_z = (b & 0x40) != 0;
  } else {
    len = b & 0x0fu;
    fill = kFill[(b >> 4) & 3];
    last_z = (b & 0x40) != 0;
  }
  std::string key(len, fill);
  if (last_z && len > 0) {
    key.back() = 'z';
  }
  return key;
}

// A value: generated filler (short, or at max_value_bytes - 2 .. + 1), a decimal or
// almost-decimal string for add(), or raw bytes from the input. `salt` varies fillers.
inline std::string decode_value(Input &in, std::uint32_t max_value_bytes, unsigned salt) {
  static constexpr std::string_view kNumbers[16] = {"0",
                                                    "1",
                                                    "-1",
                                                    "9223372036854775807",
                                                    "-9223372036854775808",
                                                    "9223372036854775806",
                                                    "-9223372036854775807",
                                                    "+1",
                                                    " 1",
                                                    "1 ",
                                                    "",
                                                    "abc",
                                                    "007",
                                                    "-0",
                                                    "18446744073709551616",
                                                    "1.5"};
  const std::uint8_t b = in.byte();
  const auto filler = [&](std::size_t len) {
    std::string v(len, '\0');
    for (std::size_t i = 0; i < len; ++i) {
      v[i] = static_cast<char>('A' + (salt + i) % 26);
    }
    return v;
  };
  switch (b >> 6) {
  case 0:
    return filler(b & 0x3fu);
  case 1: {
    const std::int64_t len = std::int64_t{max_value_bytes} - 2 + (b & 3);
    return filler(static_cast<std::size_t>(std::max<std::int64_t>(0, len)));
  }
  case 2:
    if ((b & 0x3f) < 16) {
      return std::string(kNumbers[b & 0x0f]);
    }
    return std::to_string(static_cast<int>(b & 0x3f) - 32);
  default:
    return std::string(in.bytes(in.byte() % (max_value_bytes + 2u)));
  }
}

// add()'s delta: small steps mostly, the int64 extremes and arbitrary values sometimes.
inline std::int64_t decode_delta(Input &in) {
  const std::uint8_t b = in.byte();
  switch (b) {
  case 0x7d:
    return static_cast<std::int64_t>(in.u64());
  case 0x7e:
    return INT64_MAX;
  case 0x7f:
    return INT64_MIN;
  default:
    return static_cast<std::int8_t>(b);
  }
}

} // namespace shmtable::fuzz
