// Bytes in JSON (encoding.hpp).
#include "encoding.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

namespace shmtable::tool {

namespace {
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> decoding_table() {
  std::array<int, 256> t{};
  for (int &v : t) {
    v = -1;
  }
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  return t;
}
constexpr std::array<int, 256> kDecode = decoding_table();
} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      v = (v << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      out += j <= n ? kAlphabet[(v >> (18 - 6 * j)) & 63] : '=';
    }
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::uint32_t v = 0;
    std::size_t pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2 && (j == 3 || text[i + 3] == '=')) {
        ++pad;
        v <<= 6;
        continue;
      }
      const int d = kDecode[static_cast<unsigned char>(c)];
      if (d < 0 || pad != 0) {
        return std::nullopt;
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    // Canonical: the bits that padding leaves over are zero.
    if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) {
      return std::nullopt;
    }
    for (std::size_t j = 0; j < 3 - pad; ++j) {
      out += static_cast<char>((v >> (16 - 8 * j)) & 0xff);
    }
  }
  return out;
}

bool valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false; // cut short
    }
    for (std::size_t j = 1; j <= n; ++j) {
      const auto d = static_cast<unsigned char>(s[i + j]);
      if ((d & 0xc0u) != 0x80u) {
        return false;
      }
      cp = (cp << 6) | (d & 0x3fu);
    }
    const bool overlong = (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

void put_bytes(nlohmann::json &obj, const std::string &field, std::string_view bytes) {
  if (valid_utf8(bytes)) {
    obj[field] = std::string(bytes);
  } else {
    obj[field + "_b64"] = base64_encode(bytes);
  }
}

std::string get_bytes(const nlohmann::json &obj, const std::string &field) {
  const std::string b64 = field + "_b64";
  const bool plain = obj.contains(field);
  const bool encoded = obj.contains(b64);
  if (plain == encoded) {
    throw std::invalid_argument(plain ? "both \"" + field + "\" and \"" + b64 + "\""
                                      : "no \"" + field + "\" (or \"" + b64 + "\")");
  }
  const nlohmann::json &v = obj.at(plain ? field : b64);
  if (!v.is_string()) {
    throw std::invalid_argument("\"" + (plain ? field : b64) + "\" is not a string");
  }
  if (plain) {
    return v.get<std::string>();
  }
  auto bytes = base64_decode(v.get_ref<const std::string &>());
  if (!bytes) {
    throw std::invalid_argument("\"" + b64 + "\" is not valid base64");
  }
  return *bytes;
}

std::string printable(std::string_view bytes) {
  bool plain = true;
  for (const char c : bytes) {
    plain = plain && c >= 0x20 && c < 0x7f;
  }
  if (plain && bytes.find('\'') == std::string_view::npos) {
    return "'" + std::string(bytes) + "'";
  }
  std::string out = "\"";
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out + "\"";
}

} // namespace shmtable::tool
