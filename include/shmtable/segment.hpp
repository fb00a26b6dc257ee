// shmtable/segment.hpp: one mapped shared-memory segment and its header.
//
// A segment is [header | engine control block | slot array]. The header (256 bytes at
// offset 0; src/segment_header.hpp) records the magic, the format version, the engine that owns the
// table, its layout parameters, the hash seed and a ready flag that the creator publishes last.
// Every opener validates all of it before touching anything else.
//
// Lifecycle (see papers/segment.md for the full argument):
//  - A table gets its name only once it is complete: the creator builds it in an
//    unnamed file and links it to the name, which fails if the name exists. Of two
//    processes racing to create one name, one names its table and the other attaches
//    to it; no crash leaves a half-made or empty file under a name.
//  - Every attached handle holds a read lock on the segment's attach byte (an open file
//    description lock, which the kernel drops when the process dies), and whoever
//    decides about an existing name holds its gate byte. So "the attach byte can be
//    write-locked" means "nobody is attached", crash or not: that is what lets a
//    non-persistent table vanish with its last process, and recover() know it is alone.
//  - The segment layer never writes the slot array: fresh shm and ftruncate'd files read
//    as zero, so an engine whose empty state is all-zero is created in O(1).
//
// API on purpose: this header is the layer every engine is built on (Segment::attach
// with the engine's LayoutFn and InitFn), and TableParams and Layout are what an
// engine's layout() and layout_for() report, with kFlagPersist and kFlagRobust, the bits
// of TableParams::flags (the Node addon reads them from layout()). Applications need none
// of it beyond unlink(), unlink_path(), validate_name() and inspect_segment().
//
// Thread safety: a Segment is owned by one table handle. Process safety: any number of
// processes may attach concurrently.
//
// Caveats: a handle must not be used in a child after fork(): the child shares the
// parent's open file description (and its locks). Open the table again in the child.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "shmtable/options.hpp"

namespace shmtable {

enum class EngineKind : std::uint32_t {
  kMutex = 1,    // MutexTable: fast-shm-cache's design
  kLockFree = 2, // LockFreeTable
};

std::string_view to_string(EngineKind engine) noexcept;

// The bits of TableParams::flags. The segment compares them all when a table is opened,
// and names the option behind each in its refusal.
inline constexpr std::uint32_t kFlagPersist = 1u << 0; // Options::persist
inline constexpr std::uint32_t kFlagRobust = 1u << 1;  // Options::robust (MutexTable)
inline constexpr std::uint32_t kFlagEvict = 1u << 2;   // Options::eviction

// The parameters a table is created with; stored in the header.
struct TableParams {
  EngineKind engine = EngineKind::kMutex;
  std::uint32_t flags = 0;
  std::uint64_t capacity = 0;
  std::uint32_t max_key_bytes = 0;
  std::uint32_t max_value_bytes = 0;
  std::uint64_t hash_seed = 0;
};

// Where everything is, as computed by the owning engine from TableParams. An opener
// recomputes it from the header's parameters and refuses the segment if it differs
// (e.g. written by a build with another ABI).
struct Layout {
  TableParams params;
  std::uint32_t slot_bytes = 0;
  std::uint64_t control_offset = 0; // engine-wide control block
  std::uint64_t slots_offset = 0;   // slot array, cache-line aligned
  std::uint64_t total_bytes = 0;
  std::uint64_t abi_signature = 0; // fingerprint of the engine's struct sizes/alignments
  // Reserve every byte at creation (posix_fallocate), for engines whose initialiser
  // touches every page anyway: a too-small /dev/shm then fails creation with a clear
  // error instead of SIGBUS on first touch. All-zero engines leave it off to stay O(1).
  bool reserve = false;
};

class Segment {
public:
  // Engine hooks: compute a layout from parameters (validated, defaults filled in), and
  // initialise a freshly created, zero-filled mapping. `init` runs in the creator only,
  // before the ready flag is published; it may be empty for all-zero engines.
  using LayoutFn = Layout (*)(const TableParams &);
  using InitFn = std::function<void(std::byte *base, const Layout &)>;

  // Attaches to (or creates) the segment described by `opts`. `requested` carries the
  // caller's sizing, zero fields meaning "adopt the segment's". Throws Error.
  static Segment attach(const Options &opts, const TableParams &requested, LayoutFn layout_fn,
                        const InitFn &init);

  Segment(Segment &&other) noexcept;
  Segment &operator=(Segment &&other) noexcept;
  Segment(const Segment &) = delete;
  Segment &operator=(const Segment &) = delete;
  ~Segment();

  // Detaches. If the table is not persistent and no other handle is attached, removes
  // its name where this process may (in the sticky /dev/shm, only the owner's tables; the
  // next opener deals with a name left behind). Idempotent; the destructor calls it.
  void close() noexcept;

  // Runs `fn` only if no other handle, in this or any other process, is attached to the
  // segment, and keeps every other handle from attaching until it returns (openers
  // wait, up to their ready_timeout_ms, then fail with Errc::kBusy). Returns false, without running
  // `fn`, if another handle is attached. The caller must not use this handle from other threads
  // meanwhile. Throws Error.
  bool run_exclusive(const std::function<void()> &fn);

  // Whether another handle, in this or any other process, is attached now (or holds the
  // segment exclusively). Asks the kernel about the attach byte's locks (F_OFD_GETLK):
  // takes no lock. A snapshot: a handle may attach or leave right after. Throws Error.
  bool others_attached() const;

  bool is_open() const noexcept { return base_ != nullptr; }
  std::byte *base() const noexcept { return base_; }
  const Layout &layout() const noexcept { return layout_; }
  bool created() const noexcept { return created_; } // this handle created the table
  const std::string &display_name() const noexcept { return display_; }

private:
  Segment() = default;

  std::byte *base_ = nullptr;
  int fd_ = -1;
  Layout layout_{};
  bool created_ = false;
  unsigned ready_timeout_ms_ = 0; // how long close() waits for the gate
  bool by_path_ = false;
  std::string location_; // shm name or file path
  std::string display_;  // for messages: "shm 'x'" or "file '/p'"
};

// Removes a named segment (or a file-backed one). Processes already attached keep
// their mapping; later opens create a new table. Errc::kSegmentMissing if absent.
void unlink(std::string_view name);
void unlink_path(const std::string &path);

// Throws Errc::kInvalidName unless `name` is a valid segment name (see Options::name).
void validate_name(std::string_view name);

// What a segment's header says, and who has it open, read without attaching:
// inspect_segment() opens the file read-only, reads its header and the kernel's list of
// locks, takes no lock and writes nothing. So it never changes or removes a table, where
// an open removes a dead one (a non-persistent table that every process has left). It
// tells which engine and options open a table before one is opened.
struct SegmentInfo {
  std::string display; // for messages: "shm 'x'" or "file '/p'"
  // false: an unfinished table, whose creator (of an earlier version, or restarting a
  // dead table in place) died before publishing it; the next opener removes it. Its
  // layout is then all zero.
  bool ready = false;
  // As the header records it: params (engine, flags, capacity, limits, hash seed),
  // slot_bytes, offsets, total_bytes, abi_signature. An open also checks it against what
  // its engine computes (Errc::kLayoutMismatch if another build wrote it).
  Layout layout;
  std::uint64_t file_bytes = 0;
  // The engine's entry counter, what size() returns, read from the file (a relaxed
  // statistic, exact once writers are done); nullopt for an unfinished table.
  std::optional<std::uint64_t> entries;
  // A handle is attached, or one holds the table exclusively (recover()), now.
  bool in_use = false;
  // How many handles are attached (a process has one per open of the table), from
  // /proc/locks; nullopt where that file cannot be read (in_use still says whether any).
  std::optional<std::uint64_t> attached_handles;
};

// The segment named `name` (as Options::name), or the file at `path`. Errc::kSegmentMissing
// if absent, kCorruptedHeader for a file that is not a table of ours (the message says
// why), kLayoutMismatch for one of another format version, kPermissionDenied, kSystem.
SegmentInfo inspect_segment(std::string_view name);
SegmentInfo inspect_segment_path(const std::string &path);

} // namespace shmtable
