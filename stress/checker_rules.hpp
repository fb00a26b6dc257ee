// stress/checker_rules.hpp: a rule of the sequential specification (checker.hpp) applied to a
// state of the key. Inline: the search applies one at every step.
//
// States: the values of a key, each with its life (the write whose deadline it has, or none),
// are interned to integer ids (0 is absent); add interns the decimal text of the sums it
// creates. A read compares values, not lives; add and compare_and_set keep the life of the
// entry they change, and add gives its own (if it has a ttl) to a key it creates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "checker_internal.hpp"

namespace shmtable::stress::checker_detail {

// The sum an add would produce from state s, or nullopt (not a number, or overflow).
inline std::optional<std::int64_t> KeyChecker::sum(std::uint32_t s, std::int64_t delta) const {
  std::int64_t base = 0;
  if (s != kAbsent) {
    const auto &n = states_.number(s);
    if (!n) {
      return std::nullopt;
    }
    base = *n;
  }
  std::int64_t out = 0;
  if (__builtin_add_overflow(base, delta, &out)) {
    return std::nullopt;
  }
  return out;
}

// Whether op may take effect in state s; if so, the state after it in `out`.
inline bool KeyChecker::apply(const KeyOp &op, std::uint32_t s, std::uint32_t &out) {
  out = s;
  switch (op.rule) {
  case Rule::kNoop:
    return true;
  case Rule::kGet:
    return states_.untimed(s) == op.a;
  case Rule::kContains:
    return (s != kAbsent) == op.flag;
  case Rule::kSet:
    out = op.a;
    return true;
  case Rule::kErase:
    out = kAbsent;
    return (s != kAbsent) == op.flag;
  case Rule::kEraseAny:
    out = kAbsent;
    return true;
  case Rule::kAdd: {
    const auto n = sum(s, op.delta);
    out = states_.with_life(op.a, s == kAbsent ? op.life : states_.life(s));
    return n && *n == op.number;
  }
  case Rule::kAddNotANumber:
    return !sum(s, op.delta);
  case Rule::kAddAny:
    if (const auto n = sum(s, op.delta)) {
      out = states_.with_life(states_.intern(std::to_string(*n)),
                              s == kAbsent ? op.life : states_.life(s));
    }
    return true;
  case Rule::kCompareAndSet:
    if (states_.untimed(s) == op.a) {
      out = states_.with_life(op.b, states_.life(s));
    }
    return (states_.untimed(s) == op.a) == op.flag;
  case Rule::kCompareAndSetAny:
    if (states_.untimed(s) == op.a) {
      out = states_.with_life(op.b, states_.life(s));
    }
    return true;
  case Rule::kSetIfAbsent:
    if (s == kAbsent) {
      out = op.a;
    }
    return (s == kAbsent) == op.flag;
  case Rule::kSetIfAbsentAny:
    if (s == kAbsent) {
      out = op.a;
    }
    return true;
  case Rule::kFullIfAbsent:
    return s == kAbsent;
  case Rule::kNever:
    return false;
  case Rule::kExpire:
    if (s != kAbsent && states_.life(s) == op.life) {
      out = kAbsent;
    }
    return true;
  }
  return false;
}

} // namespace shmtable::stress::checker_detail
