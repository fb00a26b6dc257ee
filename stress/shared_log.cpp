// stress/shared_log.cpp: the shared record region (see shared_log.hpp).
#include "shared_log.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace shmtable::stress {

SharedLog::SharedLog(std::size_t lanes, std::size_t records_per_lane)
    : nlanes_(lanes), per_lane_(records_per_lane) {
  const std::size_t lane_bytes = sizeof(Lane) * lanes;
  bytes_ = sizeof(LogHeader) + lane_bytes + sizeof(Record) * lanes * records_per_lane;
  // MAP_NORESERVE: pages are touched only as records are written.
  base_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
               -1, 0);
  if (base_ == MAP_FAILED) {
    throw std::runtime_error("history log: mmap of " + std::to_string(bytes_ >> 20) +
                             " MiB failed: " + std::strerror(errno) + " (lower --max-ops)");
  }
  auto *p = static_cast<char *>(base_);
  header_ = new (p) LogHeader;
  lanes_ = reinterpret_cast<Lane *>(p + sizeof(LogHeader));
  for (std::size_t i = 0; i < lanes; ++i) {
    new (&lanes_[i]) Lane;
  }
  records_ = reinterpret_cast<Record *>(p + sizeof(LogHeader) + lane_bytes);
}

SharedLog::~SharedLog() { munmap(base_, bytes_); }

std::uint64_t SharedLog::keep_garbage(std::size_t lane, std::string_view text) const noexcept {
  Lane &l = lanes_[lane];
  const std::uint32_t i = l.garbage_used.load(std::memory_order_relaxed);
  if (i >= kGarbageSlots) {
    return kGarbageSlots;
  }
  const std::size_t n = std::min(text.size(), kGarbageBytes);
  std::memcpy(l.garbage[i], text.data(), n);
  l.garbage_len[i] = static_cast<std::uint32_t>(n);
  // Relaxed: one writer per lane at a time, and the parent reads after reaping it.
  l.garbage_used.store(i + 1, std::memory_order_relaxed);
  return i;
}

} // namespace shmtable::stress
