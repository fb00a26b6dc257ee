// stress/checker_explain.cpp: the explanation of a key the search could not linearize, or
// ran out of steps on (KeyFailure::explanation), and the description of an operation for
// it and for the errors of a malformed history.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "checker_expiry.hpp"
#include "checker_internal.hpp"

namespace shmtable::stress::checker_detail {
namespace {

constexpr std::size_t kMaxConcurrentShown = 8;
constexpr std::size_t kMaxStatesShown = 4;
constexpr std::size_t kShownChars = 40;

} // namespace

// A byte string for a human: quoted, escaped, cut after kShownChars bytes.
std::string quote(std::string_view s) {
  std::string out = "\"";
  const std::size_t shown = std::min(s.size(), kShownChars);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > shown) {
    out += "... (" + std::to_string(s.size()) + " bytes)";
  }
  return out;
}

std::string describe(const Operation &op, std::size_t index) {
  // Appended piece by piece: GCC 12 at -O3 takes `"#" + std::string` for an overlapping
  // copy (-Wrestrict, a false positive that -Werror makes fatal).
  std::string s = "#";
  s += std::to_string(index);
  s += " process ";
  s += std::to_string(op.process);
  s += ": ";
  s += to_string(op.op);
  s += "(";
  switch (op.op) {
  case OpKind::kGet:
  case OpKind::kErase:
  case OpKind::kContains:
    s += quote(op.key);
    break;
  case OpKind::kSet:
  case OpKind::kSetIfAbsent:
    s += quote(op.key) + ", " + quote(op.value);
    break;
  case OpKind::kAdd:
    s += quote(op.key) + ", " + std::to_string(op.delta);
    break;
  case OpKind::kCompareAndSet:
    s += quote(op.key) + ", " + quote(op.value) + ", " + quote(op.desired);
    break;
  case OpKind::kClear:
    break;
  }
  if (op.ttl_ns != 0) {
    s += ", ttl " + std::to_string(op.ttl_ns) + " ns";
  }
  s += ") -> ";
  const Result &r = op.result;
  switch (r.kind) {
  case Result::Kind::kUnknown:
    s += "did not complete";
    break;
  case Result::Kind::kAbsent:
    s += "absent";
    break;
  case Result::Kind::kValue:
    s += quote(r.value);
    break;
  case Result::Kind::kBool:
    s += r.flag ? "true" : "false";
    break;
  case Result::Kind::kNumber:
    s += std::to_string(r.number);
    break;
  case Result::Kind::kOk:
    s += "ok";
    break;
  case Result::Kind::kError:
    s += "error " + r.error;
    break;
  }
  s += " [" + std::to_string(op.invoke_ns) + ", ";
  if (!op.response_ns) {
    s += op.completed ? "no response" : "no bound";
  } else {
    s += (op.completed ? "" : "dead by ") + std::to_string(*op.response_ns);
  }
  s += "]";
  if (op.invoke_clock_ns) {
    s += " table clock [" + std::to_string(*op.invoke_clock_ns) + ", " +
         (op.response_clock_ns ? std::to_string(*op.response_clock_ns) : "?") + "]";
  }
  if (op.ttl_ns != 0 && op.invoke_clock_ns) {
    s += " deadline " + describe_deadline(op);
  }
  return s;
}

// Where the deadline that write w gives lies, on the table clock (checker_expiry.hpp).
std::string describe_deadline(const Operation &w) {
  const DeadlineBounds d = deadline_bounds(w);
  return "in [" + std::to_string(d.earliest) + ", " +
         (d.latest == kInfinity ? std::string("?") : std::to_string(d.latest)) + "]";
}

// A node with no alternative left; remembered when it is as deep as the search has been.
void KeyChecker::note_dead_end(std::size_t depth, std::uint32_t state) {
  if (depth != deepest_) {
    return;
  }
  if (blocker_ == kNone) {
    blocker_ = first_return() >> 1;
  }
  if (deepest_states_.size() < kMaxStatesShown &&
      std::find(deepest_states_.begin(), deepest_states_.end(), state) == deepest_states_.end()) {
    deepest_states_.push_back(state);
  }
}

std::string KeyChecker::describe_key_op(std::uint32_t i) const {
  const KeyOp &k = ops_[i];
  std::string s = describe(history_[k.source], k.source);
  if (k.clear == ClearPart::kMandatory) {
    s += " (its erase of this key)";
  } else if (k.clear == ClearPart::kExtra) {
    s += " (a further optional erase of this key)";
  } else if (k.rule == Rule::kExpire) {
    s = "the deadline of #" + std::to_string(k.source) + " (" +
        describe_deadline(history_[k.source]) + " on the table clock) passes within [" +
        std::to_string(k.call) + ", " +
        (k.ret == kInfinity ? std::string("end") : std::to_string(k.ret)) +
        "]: an entry still with it vanishes";
  }
  return s;
}

std::string KeyChecker::describe_state(std::uint32_t s) const {
  if (s == kAbsent) {
    return "absent";
  }
  const std::uint32_t life = states_.life(s);
  return quote(states_.value(s)) + (life == kNone
                                        ? std::string()
                                        : " (with #" + std::to_string(life) + "'s deadline, " +
                                              describe_deadline(history_[life]) + ")");
}

std::string KeyChecker::explain(Verdict verdict) const {
  std::string s = "key " + quote(key_) + ": ";
  if (verdict == Verdict::kViolation) {
    s += "not linearizable: no order of its " + std::to_string(ops_.size()) +
         " operations agrees with both real time and the map's specification" +
         (evictions_ == 0
              ? std::string()
              : " with at most " + std::to_string(evictions_) + " spontaneous erases (evictions)") +
         "; at most " + std::to_string(deepest_) + " could be linearized.\n";
  } else {
    s += "inconclusive: the search ran out of its " + std::to_string(max_steps_) +
         " steps, having linearized at most " + std::to_string(deepest_) + " of " +
         std::to_string(ops_.size()) + " operations.\n";
  }
  if (blocker_ == kNone) {
    return s;
  }
  const KeyOp &b = ops_[blocker_];
  s += std::string("  the longest linearized prefixes") +
       (verdict == Verdict::kViolation ? " all" : " so far") +
       " got stuck before the response of\n    " + describe_key_op(blocker_) + "\n";
  s += deepest_states_.size() == 1 ? "  state after that prefix: "
                                   : "  states after those prefixes: ";
  for (std::size_t i = 0; i < deepest_states_.size(); ++i) {
    s += (i == 0 ? "" : ", ") + describe_state(deepest_states_[i]);
  }
  s += "\n";
  std::vector<std::uint32_t> concurrent;
  for (std::uint32_t i = 0; i < ops_.size(); ++i) {
    const KeyOp &k = ops_[i];
    if (k.source != b.source && k.clear != ClearPart::kExtra && k.call <= b.ret &&
        k.ret >= b.call) {
      concurrent.push_back(i);
    }
  }
  const std::size_t total = concurrent.size();
  // The ones invoked nearest to it, listed by invocation.
  const auto distance = [&](std::uint32_t i) {
    return ops_[i].call > b.call ? ops_[i].call - b.call : b.call - ops_[i].call;
  };
  std::stable_sort(concurrent.begin(), concurrent.end(),
                   [&](std::uint32_t x, std::uint32_t y) { return distance(x) < distance(y); });
  concurrent.resize(std::min(total, kMaxConcurrentShown));
  std::sort(concurrent.begin(), concurrent.end()); // index order is invocation order
  if (concurrent.empty()) {
    s += "  no operation on this key overlaps it\n";
  } else {
    s += "  operations on this key that overlap it (" +
         (total > concurrent.size() ? std::to_string(concurrent.size()) + " nearest of " : "") +
         std::to_string(total) + "):\n";
    for (const std::uint32_t i : concurrent) {
      s += "    " + describe_key_op(i) + "\n";
    }
  }
  return s;
}

} // namespace shmtable::stress::checker_detail
