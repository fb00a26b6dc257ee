// The lock-free layout's key hash: XXH3-64 with the table's seed, compiled inline into
// each caller (XXH_INLINE_ALL) instead of called through libxxhash's shared library,
// which costs a PLT call and the dispatch prologue on every operation (~32 instructions
// per get, callgrind). The same function the library exports, so the values are the
// same and the segment format does not change. Private to the library, its tests and
// bench/ (the floor hashes with it too, so that both pay the same for the hash).
#pragma once

#include <cstddef>
#include <cstdint>

#define XXH_INLINE_ALL
#include <xxhash.h>
#undef XXH_INLINE_ALL

namespace shmtable::detail::lockfree {

inline std::uint64_t key_hash(const char *key, std::size_t size, std::uint64_t seed) noexcept {
  return XXH3_64bits_withSeed(key, size, seed);
}

} // namespace shmtable::detail::lockfree
