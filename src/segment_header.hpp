// The header at offset 0 of every segment, and the format constants. Private to the
// library and its tests.
//
// Values that end up in a segment (the format version, the magic) are part of the
// on-disk/in-shm format: changing one makes old segments refuse to open, by design.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "shmtable/config.hpp"

namespace shmtable {

// "SHMTABLE" read as a little-endian u64. The first 8 bytes of every segment.
inline constexpr std::uint64_t kMagic = 0x454c4241544d4853ULL;

// Bumped whenever the header or any engine's slot layout changes incompatibly.
inline constexpr std::uint32_t kFormatVersion = 5; // 3: deadlines; 4: the statistics region;
                                                   // 5: eviction (flag, hand, marks)

// The header occupies the first kHeaderBytes of a segment; engine areas start after it.
inline constexpr std::size_t kHeaderBytes = 256;

// Destructive interference size of the x86-64 CPUs we target. Engine areas and slot
// arrays start on this boundary so that no slot shares a line with the header.
inline constexpr std::size_t kCacheLineBytes = 64;

} // namespace shmtable

namespace shmtable::detail {

// All fields but `ready` and `checksum` are written once by the creator, before
// `ready` is published, and never change afterwards.
struct SegmentHeader {
  std::uint64_t magic;          // kMagic
  std::uint32_t format_version; // kFormatVersion
  std::uint32_t engine;         // EngineKind
  std::uint32_t flags;          // kFlagPersist | kFlagRobust
  std::uint32_t max_key_bytes;
  std::uint32_t max_value_bytes;
  std::uint32_t slot_bytes;
  std::uint64_t capacity;
  std::uint64_t control_offset;
  std::uint64_t slots_offset;
  std::uint64_t total_bytes;
  std::uint64_t hash_seed;
  std::uint64_t abi_signature;
  std::uint64_t instance; // random per initialisation: tells one table from a re-creation
  std::uint64_t checksum; // XXH64 of the bytes above, seed 0
  // 0 while the creator initialises; kReadyValue once the segment may be used.
  // Accessed through std::atomic_ref by code that reads it through the mapping; the
  // struct itself stays trivially copyable so that an opener can pread() it.
  std::uint32_t ready;
};

inline constexpr std::uint32_t kReadyValue = 0x52454459; // "READ" "Y"

static_assert(offsetof(SegmentHeader, magic) == 0, "magic must be the first 8 bytes");
static_assert(sizeof(SegmentHeader) <= kHeaderBytes,
              "the header must fit in the kHeaderBytes reserved at offset 0");
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free,
              "ready is shared between processes: it must not need a process-local lock");
static_assert(alignof(SegmentHeader) >= std::atomic_ref<std::uint32_t>::required_alignment);

// The two bytes of a segment file whose open-file-description locks carry the
// lifecycle (src/segment.cpp, L1-L5): every attached handle read-locks the attach byte;
// whoever decides about an existing name write-locks the gate byte.
inline constexpr long kAttachByte = 0;
inline constexpr long kGateByte = 1;

// While it builds a table whose creation writes every page (Layout::reserve), a creator
// write-locks byte 0 of a hidden file beside the name, ".NAME" + kCreatingSuffix, so that
// processes racing to create the same table wait for it instead of building copies.
inline constexpr const char *kCreatingSuffix = ".shmtable-creating";

// Bytes covered by the checksum: everything before it.
inline constexpr std::size_t kChecksummedBytes = offsetof(SegmentHeader, checksum);

} // namespace shmtable::detail
