// shmtable/value_view.hpp: a value read in place, for LockFreeTable::get_with().
#pragma once

#include <cstddef>

namespace shmtable {

// The bytes of a value where they lie in shared memory. `ascii`: every byte is below 0x80
// (a caller making text can skip decoding). Valid only as get_with() describes.
struct ValueView {
  const char *bytes;
  std::size_t size;
  bool ascii;
};

// get_with()'s callback: copies `value` out (and does nothing else with it).
using ValueReader = void (*)(void *ctx, ValueView value);

// get_many()'s callback: the value of keys[index], as ValueReader's.
using ManyReader = void (*)(void *ctx, std::size_t index, ValueView value);

} // namespace shmtable
