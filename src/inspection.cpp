// TableInspection's helpers (shmtable/inspection.hpp); each engine's walk is its own
// (lockfree_inspect.hpp, mutex_inspect.cpp).
#include "shmtable/inspection.hpp"

#include <utility>

namespace shmtable {

std::string_view to_string(InspectionFinding::Kind k) noexcept {
  using Kind = InspectionFinding::Kind;
  switch (k) {
  case Kind::kCorruptSlot:
    return "corrupt_slot";
  case Kind::kDirtyKey:
    return "dirty_key";
  case Kind::kDuplicateKey:
    return "duplicate_key";
  case Kind::kUnreachableKey:
    return "unreachable_key";
  case Kind::kFreeListCorrupt:
    return "free_list_corrupt";
  case Kind::kPendingSlot:
    return "pending_slot";
  case Kind::kLeakedBuffers:
    return "leaked_buffers";
  case Kind::kStalePermits:
    return "stale_permits";
  case Kind::kHeldLock:
    return "held_lock";
  case Kind::kCountMismatch:
    return "count_mismatch";
  }
  return "unknown";
}

bool TableInspection::consistent() const noexcept {
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] != 0 && !left_by_crash(static_cast<InspectionFinding::Kind>(i))) {
      return false;
    }
  }
  return true;
}

bool TableInspection::needs_recovery() const noexcept {
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] != 0 && left_by_crash(static_cast<InspectionFinding::Kind>(i))) {
      return true;
    }
  }
  return false;
}

void TableInspection::add(InspectionFinding::Kind kind, std::uint64_t slot, std::string message) {
  if (counts[static_cast<std::size_t>(kind)]++ < kMaxFindingsPerKind) {
    findings.push_back({kind, slot, std::move(message)});
  }
}

double TableInspection::mean_probe_length() const noexcept {
  std::uint64_t keys = 0;
  double sum = 0;
  for (std::size_t d = 0; d < probe_lengths.size(); ++d) {
    keys += probe_lengths[d];
    sum += static_cast<double>(d) * static_cast<double>(probe_lengths[d]);
  }
  return keys == 0 ? 0.0 : sum / static_cast<double>(keys);
}

} // namespace shmtable
