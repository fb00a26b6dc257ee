// Where each engine keeps its entry counter (what size() returns) in a segment, for
// inspect_segment(), which reads it from the file without attaching. Private to the
// library: the one place where the segment layer looks into an engine's control block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "lockfree_layout.hpp"
#include "mutex_layout.hpp"
#include "shmtable/segment.hpp"

namespace shmtable::detail {

// The counter's offset in a segment of `lay`, or nullopt for an engine this build does
// not know.
inline std::optional<std::uint64_t> entry_counter_offset(const Layout &lay) noexcept {
  switch (lay.params.engine) {
  case EngineKind::kLockFree:
    return lay.control_offset + offsetof(lockfree::LockFreeControl, entries);
  case EngineKind::kMutex:
    return lay.control_offset + offsetof(mutex::MutexControl, num_entries);
  }
  return std::nullopt;
}

// The counter's value as size() reads it: the lock-free engine's may dip below zero for
// a moment (an erase counted before the insert it erases), which reads as 0.
inline std::uint64_t entry_count_of(EngineKind engine, std::uint64_t raw) noexcept {
  return engine == EngineKind::kLockFree && static_cast<std::int64_t>(raw) < 0 ? 0 : raw;
}

} // namespace shmtable::detail
