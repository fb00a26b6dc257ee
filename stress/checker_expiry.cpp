// stress/checker_expiry.cpp: the table clock's readings (ClockMap) and a deadline's expiry
// as an operation of its key (checker_expiry.hpp says what they bound, and why).
#include "checker_expiry.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "checker_internal.hpp"

namespace shmtable::stress::checker_detail {

DeadlineBounds deadline_bounds(const Operation &w) {
  DeadlineBounds d;
  d.earliest = *w.invoke_clock_ns + w.ttl_ns;
  d.latest = w.response_clock_ns ? *w.response_clock_ns + w.ttl_ns : kInfinity;
  return d;
}

ClockMap::ClockMap(const std::vector<Operation> &history) {
  for (const Operation &op : history) {
    if (op.invoke_clock_ns) {
      invokes_.emplace_back(*op.invoke_clock_ns, op.invoke_ns);
    }
    if (op.response_clock_ns && op.response_ns) {
      responses_.emplace_back(*op.response_clock_ns, *op.response_ns);
    }
  }
  std::sort(responses_.begin(), responses_.end());
  std::sort(invokes_.begin(), invokes_.end());
  for (std::size_t i = 1; i < responses_.size(); ++i) { // running maximum, upwards
    responses_[i].second = std::max(responses_[i].second, responses_[i - 1].second);
  }
  for (std::size_t i = invokes_.size(); i-- > 1;) { // running minimum, downwards
    invokes_[i - 1].second = std::min(invokes_[i - 1].second, invokes_[i].second);
  }
}

std::pair<std::uint64_t, std::uint64_t> ClockMap::reached(const DeadlineBounds &d,
                                                          std::uint64_t not_before) const {
  std::uint64_t after = not_before;
  // The last response whose clock reading is short of d.earliest, and every one before it.
  const auto r = std::lower_bound(responses_.begin(), responses_.end(),
                                  std::pair<std::uint64_t, std::uint64_t>{d.earliest, 0});
  if (r != responses_.begin()) {
    // + 1: strictly after that response (at equal times the search lets a call go first).
    after = std::max(after, std::prev(r)->second + 1);
  }
  std::uint64_t before = kInfinity;
  if (d.latest != kInfinity) {
    const auto i = std::lower_bound(invokes_.begin(), invokes_.end(),
                                    std::pair<std::uint64_t, std::uint64_t>{d.latest, 0});
    if (i != invokes_.end()) {
      // - 1: strictly before that invocation (its call entry must not go first).
      before = i->second == 0 ? 0 : i->second - 1;
    }
  }
  // Readings taken at one nanosecond of the timeline can leave before one short of after
  // (checker_expiry.hpp): the moment is then that nanosecond, which `after` names.
  return {after, std::max(before, after)};
}

// Whether op may give its key a deadline: a write with a ttl that completed without an
// error (set_if_absent: that inserted), or did not complete.
void KeyChecker::add_expiry(std::uint32_t index) {
  const Operation &w = history_[index];
  const bool gives = !w.completed || (w.op == OpKind::kSetIfAbsent
                                          ? w.result.kind == Result::Kind::kBool && w.result.flag
                                          : w.result.kind != Result::Kind::kError);
  if (w.ttl_ns == 0 || !gives) {
    return;
  }
  // Optional, as a no-op may be placed anywhere: the search applies it only where it has
  // an effect, and drops it (when its return entry comes first) only where it has none
  // (checker_search.cpp). Once dropped or applied, that life is gone for good: the write
  // that gives it is linearized first (its return entry comes before this one's, or it
  // was applied), and nothing else gives it.
  KeyOp e;
  e.source = index;
  e.rule = Rule::kExpire;
  e.life = index;
  e.optional = true;
  // Not before the write's invocation: its clock reading, and so its deadline, comes after.
  std::tie(e.call, e.ret) = clock_.reached(deadline_bounds(w), w.invoke_ns);
  ops_.push_back(e);
  ++operations_;
}

} // namespace shmtable::stress::checker_detail
