// shmtable/inspection.hpp: what a read-only walk of a table's slots finds.
//
// Both shared-memory engines offer `TableInspection inspect() const`: it reads every slot
// once, with no lock in shared memory and no store to it, and reports how the table is filled
// (entries, free slots, tombstones, how far each key lies from its home slot) and what is
// wrong with it. It never repairs anything: recover() does (shmtable/recovery.hpp).
//
// Exact on a quiescent table: when no other handle is attached, the walk holds the
// segment file's attach lock as recover() does (openers wait, up to their
// ready_timeout_ms), so that nothing can change the table meanwhile (`alone`). Other threads using
// the inspecting handle itself are not detected, as for recover(). With other handles attached it
// is a best-effort snapshot: the counts mix moments, and what a writer in flight holds (a lock-free
// reservation, its record buffers, a mutex) is normal, so it is counted but not reported as a
// finding. Every finding of corruption that a racing writer could fake is checked again before it
// is reported (a key seen in two slots must be in both at once), so a writer erasing and inserting
// meanwhile does not make one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shmtable {

struct InspectionFinding {
  enum class Kind : std::uint8_t {
    // Corruption: no crash can leave it (papers/protocol.md, papers/mutex-baseline.md).
    kCorruptSlot,     // a slot in no valid state, naming a buffer out of range or named by
                      // another slot, or whose record has lengths over the limits, another
                      // key's fingerprint, or lies past the probe limit
    kDirtyKey,        // lock-free: a record whose key padding is not zero (lookups miss it)
    kDuplicateKey,    // one key live in two slots at once
    kUnreachableKey,  // a live key its own lookup stops before: past its home's probe bound
                      // (lock-free), or behind an empty slot (mutex)
    kFreeListCorrupt, // lock-free: the buffer pool's free list loops, leaves the handed-out
                      // buffers, or lists a buffer that a slot names
    // What a process killed mid-operation leaves; reported only when the walk was alone
    // (while others are attached it is what their operations in flight hold).
    // recover() repairs it and loses no entry.
    kPendingSlot,   // lock-free: a slot reserved by an inserter that is gone
    kLeakedBuffers, // lock-free: record buffers in no slot, not free and in no handle
    kStalePermits,  // lock-free: spare permits counted for handles that are gone
    kHeldLock,      // mutex: a lock still held (faithful mode: every user of it hangs)
    kCountMismatch, // the entry counter (size()) differs from the live slots
  };
  static constexpr std::size_t kKinds = 10;
  static constexpr std::uint64_t kNoSlot = ~std::uint64_t{0};

  Kind kind;
  std::uint64_t slot; // the slot it is about, or kNoSlot
  std::string message;
};
static_assert(static_cast<std::size_t>(InspectionFinding::Kind::kCountMismatch) + 1 ==
                  InspectionFinding::kKinds,
              "kKinds counts every Kind");

// Whether recover() repairs a finding of this kind without losing an entry (what crashes
// leave), as opposed to corruption (recover() frees such slots, or only reports them).
constexpr bool left_by_crash(InspectionFinding::Kind k) noexcept {
  return k >= InspectionFinding::Kind::kPendingSlot;
}

// Stable, lower-case name of a kind, e.g. "duplicate_key".
std::string_view to_string(InspectionFinding::Kind k) noexcept;

// The lock-free engine's record buffers (papers/protocol.md, P1-P4).
struct BufferAccounting {
  std::uint64_t total = 0;         // the pool's buffers (LockFreeTable::buffer_count())
  std::uint64_t handed_out = 0;    // ever taken from the pool; the rest were never used
  std::uint64_t in_slots = 0;      // named by a live or reserved slot
  std::uint64_t free_listed = 0;   // on the pool's free list
  std::uint64_t elsewhere = 0;     // handed out, in no slot, not free: handles' spares,
                                   // writes in flight, or leaked by dead processes
  std::uint64_t spare_permits = 0; // handles counted as keeping a spare (P4)
};

struct TableInspection {
  // No other handle was attached when the walk began nor when it ended: every count is
  // exact, and findings of kinds left_by_crash() are reported.
  bool alone = false;
  std::uint64_t capacity = 0;
  std::uint64_t live = 0;            // slots holding a key
  std::uint64_t free_slots = 0;      // slots that take a new key, tombstones included
  std::uint64_t tombstones = 0;      // mutex: of those, erased slots that probes pass (lock-free:
                                     // none, an erased slot is free at once)
  std::uint64_t pending = 0;         // lock-free: slots reserved by inserters
  std::uint64_t corrupt = 0;         // slots counted in none of the above (see findings)
  std::uint64_t counted_entries = 0; // the table's entry counter: what size() returns until an
                                     // entry with a deadline is written (it counts expired
                                     // entries no writer has freed yet)
  // probe_lengths[d]: live keys d slots past their home slot (0: at home). Ends with its
  // last non-zero count (empty for an empty table).
  std::vector<std::uint64_t> probe_lengths;
  // Lock-free: the largest probe bound of a home slot, and how many homes have a bound
  // beyond what their keys need now (lookups of absent keys scan further; recover()
  // lowers them).
  std::uint64_t max_bound = 0;
  std::uint64_t slack_bounds = 0;
  std::optional<BufferAccounting> buffers; // lock-free only
  std::uint64_t locks_held = 0;            // mutex: locks held when read (the table's too)

  // What is wrong: at most kMaxFindingsPerKind of each kind in `findings`, and every one
  // counted in `counts` (indexed by Kind).
  static constexpr std::size_t kMaxFindingsPerKind = 20;
  std::vector<InspectionFinding> findings;
  std::array<std::uint64_t, InspectionFinding::kKinds> counts{};

  std::uint64_t count(InspectionFinding::Kind k) const noexcept {
    return counts[static_cast<std::size_t>(k)];
  }
  // No corruption found (crash leftovers aside).
  bool consistent() const noexcept;
  // Something that recover() repairs without loss was found.
  bool needs_recovery() const noexcept;
  // Records a finding (counted always, kept within kMaxFindingsPerKind).
  void add(InspectionFinding::Kind kind, std::uint64_t slot, std::string message);
  // The live keys' mean distance from home, and the largest (0 for an empty table).
  double mean_probe_length() const noexcept;
  std::uint64_t max_probe_length() const noexcept {
    return probe_lengths.empty() ? 0 : probe_lengths.size() - 1;
  }
};

} // namespace shmtable
