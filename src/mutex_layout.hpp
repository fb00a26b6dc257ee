// MutexTable's in-segment layout. Private to the library and its tests.
//
//   segment: [SegmentHeader | MutexControl | statistics | slot 0 | ... | slot capacity-1]
//            (statistics: stats_region.hpp, at stats_offset_of())
//
//   slot (default limits: 80 + 64 + 256 = 400 bytes; robust: + 256):
//   +-------------------------+-------+------+---------+--------------+-----------+
//   | pthread_mutex_t (40 B)  | state | live | key_len | value_len[2] | timestamp |
//   +-------------------------+-------+------+---------+--------------+-----------+
//   | deadline[2] (per value half: when the value expires; 0: never)               |
//   +------------------------------------------------------------------------------+
//   | key bytes [max_key_bytes] | value half 0 [max_value_bytes] | (robust) half 1 |
//   +---------------------------+--------------------------------+-----------------+
//
// A fast-shm-cache slot is {occupied, key[64], value[256], timestamp, mutex}; ours adds
// the lengths (keys and values are binary-safe byte strings, not C strings), a tombstone
// state (so that erase keeps probe chains intact) and, in robust mode only, a second
// value half so that a writer killed mid-copy never leaves a torn value, and each value
// half's deadline (expiry.hpp), which is the half's as its length is (M4).
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstdint>

#include "shmtable/segment.hpp"
#include "stats_region.hpp"

namespace shmtable::detail::mutex {

enum SlotState : std::uint8_t {
  kSlotEmpty = 0,     // never used since creation or clear(): ends every probe
  kSlotOccupied = 1,  // holds a key and its value
  kSlotTombstone = 2, // erased: probes continue past it; inserts may reuse it
};

struct MutexControl {
  pthread_mutex_t global;    // fast-shm-cache's global_mutex: serialises insert, erase, clear
  std::uint64_t num_entries; // occupied slots; atomic_ref access
  std::uint64_t recovered;   // robust: EOWNERDEAD recoveries so far; atomic_ref access
  std::uint64_t timed;       // not 0 once an entry with a deadline was written; atomic_ref
};

struct MutexSlotHeader {
  pthread_mutex_t mutex;      // guards every other byte of the slot
  std::uint8_t state;         // SlotState
  std::uint8_t live;          // index of the value half that holds the value (robust)
  std::uint16_t key_len;      // <= max_key_bytes (checked on every read)
  std::uint32_t value_len[2]; // per half; <= max_value_bytes (checked on every read)
  std::uint64_t timestamp_ns; // CLOCK_REALTIME of the last write, as fast-shm-cache keeps
  std::uint64_t deadline[2];  // per half: the table clock's ns when it expires; 0: never
};

static_assert(sizeof(MutexSlotHeader) % 8 == 0,
              "key bytes follow the slot header; keep 8-byte alignment for the next slot");
// Where the statistics region of a table of `lay` starts (after MutexControl).
constexpr std::uint64_t stats_offset_of(const Layout &lay) {
  return stats::stats_offset_for(lay.control_offset, sizeof(MutexControl));
}

static_assert(offsetof(MutexSlotHeader, mutex) == 0,
              "the mutex leads the slot so that it never straddles slots");

} // namespace shmtable::detail::mutex
