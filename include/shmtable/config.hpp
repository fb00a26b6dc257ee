// shmtable/config.hpp: every default and limit a user of the library sees, in one place.
// The segment's format constants are private: src/segment_header.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace shmtable {

// ---- Defaults (fast-shm-cache's) -------------------------------------------------

inline constexpr std::uint64_t kDefaultCapacity = 1024; // fast-shm-cache: maxKeys default
inline constexpr std::uint32_t kDefaultMaxKeyBytes = 64;
inline constexpr std::uint32_t kDefaultMaxValueBytes = 256;
inline constexpr unsigned kDefaultMode = 0600;

// How long an opener waits for another process that is creating the same table (the
// faithful mutex engine initialises one mutex per slot: 10M slots take ~1 s), opening
// or closing it (moments), or holding it exclusively (recover()).
inline constexpr unsigned kDefaultReadyTimeoutMs = 10000;

// ---- Hard limits, checked when a table is created ---------------------------------

// Key and value lengths are stored as u16/u32 in a slot; these caps keep one slot
// well under a huge page so that capacity * slot size stays meaningful.
inline constexpr std::uint32_t kMaxKeyBytesLimit = 4096;
inline constexpr std::uint32_t kMaxValueBytesLimit = 1u << 20; // 1 MiB

// Largest segment we agree to create or map: 1 TiB. Guards capacity * slot_size.
inline constexpr std::uint64_t kMaxSegmentBytes = 1ULL << 40;

// POSIX shm names: [A-Za-z0-9._-], not starting with '.', at most this many bytes.
inline constexpr std::size_t kMaxNameBytes = 200;

// The longest time to live a write takes (shmtable/table.hpp, "Expiry"): 100 years.
// Deadlines then stay far from the top of 64-bit nanoseconds (year 2554), so now + ttl
// never wraps.
inline constexpr std::chrono::nanoseconds kMaxTtl = std::chrono::hours(24 * 365 * 100);

// A table opened with Options::eviction counts as full, and starts evicting, once it
// holds this percentage of its capacity: beyond it, linear probing's scans for absent
// keys grow long (about 1/(1 - load)^2 / 2 slots), and every get of a missing key pays.
inline constexpr std::uint64_t kEvictLoadPercent = 90;

} // namespace shmtable
