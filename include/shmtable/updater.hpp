// shmtable/updater.hpp: the callback of update(), every engine's atomic
// read-modify-write of one key by the caller's own function.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace shmtable {

// fn(ctx, current, scratch): given the key's current value (nullopt if absent), returns
// the value to store (bytes that outlive the call, or text built in `scratch`), or
// nullopt to store nothing. `current` by reference: an optional<string_view> passed by
// value goes through memory, where GCC copies it with one 16-byte load of two 8-byte
// stores, a store-forwarding stall on every read-modify-write.
using Updater = std::optional<std::string_view> (*)(void *ctx,
                                                    const std::optional<std::string_view> &current,
                                                    std::string &scratch);

// The Updater that calls a callable Fn passed as ctx: what update(key, fn)'s template
// overload hands to update(key, Updater, ctx).
template <class Fn> Updater updater_for() {
  return [](void *ctx, const std::optional<std::string_view> &current,
            std::string &scratch) -> std::optional<std::string_view> {
    return (*static_cast<Fn *>(ctx))(current, scratch);
  };
}

// set_with()'s callback: fn(ctx) returns the value to set, bytes that stay valid and
// unchanged until set_with() returns. Called once.
using ValueSource = std::string_view (*)(void *ctx);

// The ValueSource that calls a callable Fn passed as ctx (with updater_ctx()).
template <class Fn> ValueSource value_source_for() {
  return [](void *ctx) -> std::string_view { return (*static_cast<Fn *>(ctx))(); };
}

// The ctx that goes with updater_for<Fn>() or value_source_for<Fn>(): the callable's
// address (Fn may be const).
template <class Fn> void *updater_ctx(Fn &fn) {
  return const_cast<void *>(static_cast<const void *>(std::addressof(fn)));
}

} // namespace shmtable
