// shmtable/hash.hpp: the hash functions the engines use.
#pragma once

#include <cstdint>
#include <string_view>

namespace shmtable {

// 64-bit FNV-1a, as fast-shm-cache uses. `seed` is XORed into the offset basis;
// seed 0 gives the standard FNV-1a. The mutex engine's probe start is fnv1a % capacity.
constexpr std::uint64_t fnv1a(std::string_view bytes, std::uint64_t seed = 0) noexcept {
  std::uint64_t h = 14695981039346656037ULL ^ seed; // FNV offset basis
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL; // FNV prime
  }
  return h;
}

static_assert(fnv1a("") == 0xcbf29ce484222325ULL, "FNV-1a of the empty string is the basis");
static_assert(fnv1a("a") == 0xaf63dc4c8601ec8cULL, "FNV-1a test vector");

} // namespace shmtable
