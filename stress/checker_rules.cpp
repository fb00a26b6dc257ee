// stress/checker_rules.cpp: the sequential specification (checker.hpp) as rules: each
// operation of a key becomes a Rule with its operands, a clear one erase of each key and
// optional further ones.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "checker_internal.hpp"

namespace shmtable::stress::checker_detail {
namespace {

constexpr std::string_view kNotANumber = "not_a_number";
constexpr std::string_view kTableFull = "table_full";
constexpr std::string_view kKeyTooLarge = "key_too_large";
constexpr std::string_view kValueTooLarge = "value_too_large";

// Whether op could make its key present where it was absent: set, add and set_if_absent that
// did not complete or succeeded. (erase cannot; compare_and_set needs a present value.)
bool may_insert(const Operation &op) {
  const Result &r = op.result;
  switch (op.op) {
  case OpKind::kSet:
  case OpKind::kAdd:
    return !op.completed || r.kind != Result::Kind::kError;
  case OpKind::kSetIfAbsent:
    return !op.completed || (r.kind == Result::Kind::kBool && r.flag);
  default:
    return false;
  }
}

// The rule of a completed operation that failed with `error` (checker.hpp, "errors").
Rule error_rule(const Operation &op, const std::string &error, const CheckOptions &options) {
  const bool writes_value = op.op == OpKind::kSet || op.op == OpKind::kAdd ||
                            op.op == OpKind::kCompareAndSet || op.op == OpKind::kSetIfAbsent;
  if (error == kNotANumber) {
    return op.op == OpKind::kAdd ? Rule::kAddNotANumber : Rule::kNever;
  }
  if (error == kKeyTooLarge) {
    return op.op != OpKind::kClear ? Rule::kNoop : Rule::kNever;
  }
  if (error == kValueTooLarge) {
    return writes_value ? Rule::kNoop : Rule::kNever;
  }
  if (error == kTableFull) {
    switch (op.op) {
    case OpKind::kSetIfAbsent: // a present key is answered false before any buffer is taken
      return Rule::kFullIfAbsent;
    case OpKind::kSet:
    case OpKind::kAdd:
      return options.buffers_may_run_out ? Rule::kNoop : Rule::kFullIfAbsent;
    case OpKind::kCompareAndSet: // never inserts; needs a buffer only to replace a value
      return options.buffers_may_run_out ? Rule::kNoop : Rule::kNever;
    default:
      return Rule::kNever;
    }
  }
  return Rule::kNever;
}

} // namespace

// The whole string as a decimal signed 64-bit integer, or nullopt.
std::optional<std::int64_t> parse_number(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  const char *end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return v;
}

// Whether the result is one the operation can return at all.
bool result_fits(const Operation &op) {
  using Kind = Result::Kind;
  const Kind k = op.result.kind;
  if (!op.completed) {
    return k == Kind::kUnknown;
  }
  if (k == Kind::kError) {
    return true; // which errors an operation may return, and when, is the rules' to judge
  }
  switch (op.op) {
  case OpKind::kGet:
    return k == Kind::kAbsent || k == Kind::kValue;
  case OpKind::kSet:
  case OpKind::kClear:
    return k == Kind::kOk;
  case OpKind::kErase:
  case OpKind::kContains:
  case OpKind::kCompareAndSet:
  case OpKind::kSetIfAbsent:
    return k == Kind::kBool;
  case OpKind::kAdd:
    return k == Kind::kNumber;
  }
  return false;
}

void KeyChecker::add_own(std::uint32_t index) {
  const Operation &op = history_[index];
  ++operations_;
  if (may_insert(op)) {
    insert_calls_.push_back(op.invoke_ns);
    insert_rets_.push_back(op.response_ns.value_or(kInfinity));
  }
  KeyOp k;
  k.source = index;
  k.call = op.invoke_ns;
  k.ret = op.response_ns.value_or(kInfinity);
  k.optional = !op.completed;
  // The life a ttl gives what this write inserts (checker_expiry.hpp).
  const std::uint32_t life = op.ttl_ns != 0 ? index : kNone;
  const Result &r = op.result;
  if (!op.completed) {
    switch (op.op) {
    case OpKind::kGet:
    case OpKind::kContains:
    case OpKind::kClear:
      return; // no effect either way
    case OpKind::kSet:
      k.rule = Rule::kSet;
      k.a = states_.with_life(states_.intern(op.value), life);
      break;
    case OpKind::kErase:
      k.rule = Rule::kEraseAny;
      break;
    case OpKind::kAdd:
      k.rule = Rule::kAddAny;
      k.delta = op.delta;
      k.life = life;
      break;
    case OpKind::kCompareAndSet:
      k.rule = Rule::kCompareAndSetAny;
      k.a = states_.intern(op.value);
      k.b = states_.intern(op.desired);
      break;
    case OpKind::kSetIfAbsent:
      k.rule = Rule::kSetIfAbsentAny;
      k.a = states_.with_life(states_.intern(op.value), life);
      break;
    }
  } else if (r.kind == Result::Kind::kError) {
    k.rule = error_rule(op, r.error, options_);
    k.delta = op.delta;
  } else {
    k.flag = r.flag;
    switch (op.op) {
    case OpKind::kGet:
      k.rule = Rule::kGet;
      k.a = r.kind == Result::Kind::kValue ? states_.intern(r.value) : kAbsent;
      break;
    case OpKind::kContains:
      k.rule = Rule::kContains;
      break;
    case OpKind::kSet:
      k.rule = Rule::kSet;
      k.a = states_.with_life(states_.intern(op.value), life);
      break;
    case OpKind::kErase:
      k.rule = Rule::kErase;
      break;
    case OpKind::kAdd:
      k.rule = Rule::kAdd;
      k.delta = op.delta;
      k.number = r.number;
      k.a = states_.intern(std::to_string(r.number));
      k.life = life;
      break;
    case OpKind::kCompareAndSet:
      k.rule = Rule::kCompareAndSet;
      k.a = states_.intern(op.value);
      k.b = states_.intern(op.desired);
      break;
    case OpKind::kSetIfAbsent:
      k.rule = Rule::kSetIfAbsent;
      k.a = states_.with_life(states_.intern(op.value), life);
      break;
    case OpKind::kClear:
      return; // never filed under a key
    }
  }
  ops_.push_back(k);
  add_expiry(index);
}

// A clear's erases of this key: one (optional if the clear did not complete) and k optional
// further ones. checker.hpp bounds k by the writes overlapping the clear; only writes that
// could insert the key can make a further erase do anything (each gap between two erases
// that remove something holds an insertion inside the clear's interval), so k counts just
// those, which accepts exactly the same histories.
void KeyChecker::add_clears(const std::vector<std::uint32_t> &clears) {
  if (insert_calls_.empty()) {
    return; // absent throughout: every erase of a clear is a no-op
  }
  std::sort(insert_calls_.begin(), insert_calls_.end());
  std::sort(insert_rets_.begin(), insert_rets_.end());
  const std::size_t inserts = insert_calls_.size();
  for (const std::uint32_t index : clears) {
    const Operation &op = history_[index];
    const std::uint64_t call = op.invoke_ns;
    const std::uint64_t ret = op.response_ns.value_or(kInfinity);
    if (ret < insert_calls_.front()) {
      continue; // over before anything could insert the key: absent throughout
    }
    const auto ended_before = static_cast<std::size_t>(
        std::lower_bound(insert_rets_.begin(), insert_rets_.end(), call) - insert_rets_.begin());
    const auto began_after = static_cast<std::size_t>(
        insert_calls_.end() - std::upper_bound(insert_calls_.begin(), insert_calls_.end(), ret));
    const std::size_t k = inserts - ended_before - began_after;
    KeyOp erase;
    erase.source = index;
    erase.call = call;
    erase.ret = ret;
    erase.rule = Rule::kEraseAny;
    if (ops_.size() + k >= kNone / 4) {
      throw std::length_error("check_linearizable: key " + quote(key_) +
                              " has too many operations after expanding clear");
    }
    for (std::size_t j = 0; j <= k; ++j) {
      erase.optional = j > 0 || !op.completed;
      erase.clear = j == 0 ? ClearPart::kMandatory : ClearPart::kExtra;
      ops_.push_back(erase);
      ++operations_;
    }
  }
}

} // namespace shmtable::stress::checker_detail
