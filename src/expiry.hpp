// The table clock and deadlines: when an entry set with a time to live expires. Private
// to the library; both engines keep a deadline per entry and read the clock here.
//
// The clock is CLOCK_REALTIME_COARSE, in nanoseconds since the Unix epoch:
//  - Wall-clock time, not CLOCK_MONOTONIC: a file-backed `persist` table outlives a
//    reboot, which restarts the monotonic clock from zero (every deadline would then lie
//    years ahead), while real time carries on. And processes in other time namespaces
//    (containers sharing /dev/shm) see other monotonic clocks but one real-time clock.
//    The price: a clock stepped back (settimeofday, a large NTP correction) lengthens
//    every live entry's life by the step, and one stepped forward ends them early.
//  - Coarse: one kernel variable read through the vDSO, about 4.5 ns a call here against
//    18 ns for CLOCK_REALTIME, and every process reads the same variable, so no two
//    processes disagree on whether a deadline has passed. Its tick (clock_getres, 4 ms on
//    this machine) is the precision of expiry: an entry's life is its ttl rounded to the
//    tick, measured on this clock by writer and reader alike.
// A reader consults the clock only for an entry that has a deadline (the lock-free
// word's `timed` bit; the mutex slot's deadline field), so tables and entries without
// ttl pay nothing.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "shmtable/config.hpp"
#include "shmtable/error.hpp"

namespace shmtable::detail {

// Now, on the table clock.
inline std::uint64_t clock_now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts); // cannot fail for a valid clock id
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Whether an entry with `deadline` (0: none) is gone at `now`: from its deadline on.
constexpr bool expired_at(std::uint64_t deadline, std::uint64_t now) noexcept {
  return deadline != 0 && deadline <= now;
}

// Errc::kInvalidArgument, naming the operation and the bounds, for a ttl <= 0 or over
// kMaxTtl (before anything is written). Every table's writes with a ttl check it.
inline void check_ttl(std::chrono::nanoseconds ttl, const char *op) {
  if (ttl <= std::chrono::nanoseconds::zero() || ttl > kMaxTtl) {
    throw Error(Errc::kInvalidArgument,
                std::string(op) + ": ttl must be more than 0 and at most 100 years (got " +
                    std::to_string(ttl.count()) + " ns)");
  }
}

// The deadline of an entry written now with `ttl` (check_ttl()'s errors).
inline std::uint64_t deadline_after(std::chrono::nanoseconds ttl, const char *op) {
  check_ttl(ttl, op);
  return clock_now_ns() + static_cast<std::uint64_t>(ttl.count());
}

} // namespace shmtable::detail
