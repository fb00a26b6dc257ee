// shmtable/recovery.hpp: what recover() found and repaired.
//
// Both engines offer `RecoveryReport recover()`. It runs only while the calling handle
// is the only one attached to the table (Segment::run_exclusive): no operation of any
// other process can then be in flight, so everything a dead process left half-done is
// garbage and may be reclaimed. With other handles attached it throws Errc::kBusy.
// Other threads using the calling handle itself are not detected: the caller keeps them
// out, as for close().
#pragma once

#include <cstdint>

namespace shmtable {

struct RecoveryReport {
  std::uint64_t entries = 0;           // live entries after recovery (the count is reset)
  std::uint64_t pending_cleared = 0;   // lock-free: reservations of dead inserters freed
  std::uint64_t buffers_reclaimed = 0; // lock-free: value buffers leaked by dead writers
  std::uint64_t spares_cleared = 0;    // lock-free: spare permits of dead handles reset
  std::uint64_t bounds_lowered = 0;    // lock-free: probe bounds shrunk to what is needed
  std::uint64_t bounds_raised = 0;     // lock-free: bounds too small for a key (must be 0)
  std::uint64_t duplicate_keys = 0;    // keys found in more than one slot (must be 0)
  std::uint64_t corrupt_slots = 0;     // slots naming an impossible buffer, now freed
  std::uint64_t keys_repaired = 0;     // lock-free: records whose key padding was not zero
  std::uint64_t locks_reset = 0;       // mutex: slot mutexes held by dead processes
};

} // namespace shmtable
