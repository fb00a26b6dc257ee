// stress/checker_expiry.hpp: the expiry model of the checker: when an entry written with a
// ttl vanishes.
//
// The table gives an entry written with ttl the deadline c + ttl, c a reading of its clock
// (CLOCK_REALTIME_COARSE, src/expiry.hpp) taken inside the write, and from the deadline on
// the entry is absent: a reader whose clock reading c' has deadline <= c' misses it. The
// checker does not know c, but the harness read the same clock around every operation
// (Operation::invoke_clock_ns, before its invoke_ns; response_clock_ns, after its
// response_ns), and one clock read in order never goes back, so
//   invoke_clock(w) <= c <= response_clock(w),  deadline in [earliest, latest] =
//   [invoke_clock(w) + ttl, response_clock(w) + ttl].
// (For a write that did not complete, response_clock is read after its process was seen
// dead: its clock reading came before. Unknown: latest is infinite.)
//
// The coarse tick. Both bounds are readings of the very clock the table reads, so the tick
// (4 ms here) needs no allowance in them: the entry's life, measured on that clock, is
// exactly ttl; in real time it is ttl rounded to the tick, which the checker never uses.
// The tick shows only in how the bounds meet the history's own timeline (CLOCK_MONOTONIC,
// where the search orders operations): the moment the clock reaches the deadline is
//   after the response (response_ns) of every operation x with response_clock(x) <
//      earliest: at x's response the clock was at most response_clock(x), short of the
//      deadline, so x saw the entry present if it was there;
//   before the invocation (invoke_ns) of every operation x with invoke_clock(x) >=
//      latest: at x's invocation the clock was at least invoke_clock(x), past the
//      deadline, so x saw it gone.
// Operations in between (the tick and the write's own duration) may see it either way.
// ClockMap answers those two questions over every operation of the history (of any key:
// the readings are of one machine-wide clock), and the deadline becomes an operation of
// the key, Rule::kExpire, taking effect within that interval: if the key's entry still has
// that write's deadline, it becomes absent; otherwise (overwritten, erased, never written)
// nothing happens. (An optional operation of the search that may be dropped only where it
// would change nothing: many deadlines are pending at once, and trying their no-op
// placements would multiply the search.) add and compare_and_set keep the entry's deadline (the
// life in its state, checker_internal.hpp's StateTable); set and set_if_absent give their own or
// none; add gives its own to a key it creates.
//
// A clock stepped during the run (settimeofday, an NTP step) breaks the premise that
// readings never go back: a history with a response_clock below its invoke_clock is
// refused as malformed; a step between operations can make the checker wrong either way.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "operation.hpp"

namespace shmtable::stress::checker_detail {

// Where an entry's deadline lies, on the table clock (latest: kInfinity when unknown).
struct DeadlineBounds {
  std::uint64_t earliest = 0;
  std::uint64_t latest = 0;
};

// The bounds of the deadline that write `w` gives (w.ttl_ns != 0 and w.invoke_clock_ns).
DeadlineBounds deadline_bounds(const Operation &w);

// The history's readings of the table clock, paired with its own timeline.
class ClockMap {
public:
  explicit ClockMap(const std::vector<Operation> &history);

  // The interval of the history's timeline (invoke_ns, response_ns) within which the
  // table clock reached a deadline in `d`, as above: [after every response that read the
  // clock short of d.earliest, before every invocation that read it at d.latest or past]
  // (kInfinity: no such invocation), and never before `not_before`.
  std::pair<std::uint64_t, std::uint64_t> reached(const DeadlineBounds &d,
                                                  std::uint64_t not_before) const;

private:
  // (response_clock, the latest response_ns among those with this clock reading or less),
  // by clock.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> responses_;
  // (invoke_clock, the earliest invoke_ns among those with this clock reading or more),
  // by clock.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> invokes_;
};

} // namespace shmtable::stress::checker_detail
