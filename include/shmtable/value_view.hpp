// shmtable/value_view.hpp: a value read in place, for LockFreeTable::get_with().
#pragma once

#include <cstddef>
#include <cstdint>

namespace shmtable {

// The bytes of a value where they lie in shared memory. `ascii`: every byte is below 0x80
// (a caller making text can skip decoding). Valid only as get_with() describes. The
// callbacks below take it by reference: by value, its 24 bytes go through memory, and GCC
// copies them with a 16-byte load of two 8-byte stores, a store-forwarding stall per value.
struct ValueView {
  const char *bytes;
  std::size_t size;
  bool ascii;
};

// get_with()'s callback: copies `value` out (and does nothing else with it).
using ValueReader = void (*)(void *ctx, const ValueView &value);

// get_many()'s callback: the value of keys[index], as ValueReader's.
using ManyReader = void (*)(void *ctx, std::size_t index, const ValueView &value);

// get_cached()'s callbacks, for a caller that keeps values it has read (by slot).
// holds(ctx, slot, version): whether the caller holds the value `slot` had at `version`.
// read(ctx, value, slot, version): the value, as ValueReader's, and what it is the value
// of (for the caller to keep; the last call counts).
struct CachingReader {
  bool (*holds)(void *ctx, std::uint64_t slot, std::uint64_t version);
  void (*read)(void *ctx, const ValueView &value, std::uint64_t slot, std::uint64_t version);
};
enum class CachedGet { kAbsent, kHeld, kRead };

} // namespace shmtable
