// shmtable/options.hpp: how a table is named, sized and opened.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "shmtable/config.hpp"

namespace shmtable {

enum class OpenMode {
  kOpenOrCreate, // attach if the segment exists, else create it (races resolve to one table)
  kCreate,       // create; Errc::kAlreadyExists if a live segment has the name
  kOpen,         // attach; Errc::kSegmentMissing if there is none
};

// Where the table lives: exactly one of `name` and `path` is set.
//
// Sizing fields (capacity, max_key_bytes, max_value_bytes, hash_seed) are what a creator
// writes into the segment and what an opener checks against it. Zero means "whatever the
// existing segment has" when attaching, and the default when creating; any other value
// that differs from the segment's makes the open fail with Errc::kLayoutMismatch, naming
// the field. `persist` likewise: unset (std::nullopt) means the existing segment's, and
// false when creating; set, it is compared. `robust` is always compared.
struct Options {
  // POSIX shared-memory name, as in shm_open(3) without the leading '/':
  // 1..kMaxNameBytes of [A-Za-z0-9._-], not starting with '.'. Lives in /dev/shm.
  std::string name;
  // Or: a file that backs the table (survives reboot when persist is true). The file
  // is created with `mode` if absent; its directory must exist.
  std::string path;

  std::uint64_t capacity = kDefaultCapacity; // slots; fast-shm-cache's maxKeys
  std::uint32_t max_key_bytes = kDefaultMaxKeyBytes;
  std::uint32_t max_value_bytes = kDefaultMaxValueBytes;
  std::uint64_t hash_seed = 0;

  // false (the default, as in fast-shm-cache): the table lives while at least one process
  // has it open. When the last handle closes it, or the last process holding it dies
  // (even by SIGKILL), its contents are gone: the next open starts from an empty table,
  // and the name is removed by that open or by the last close.
  // true: the table and its contents outlive every process (for `name`: until reboot
  // or unlink(); for `path`: until the file is deleted).
  // std::nullopt: whatever an existing segment has (false when creating), so a handle
  // that does not care can open a table of either kind.
  std::optional<bool> persist = false;

  // false (the default, as in fast-shm-cache): a set of a new key into a full table
  // fails with Errc::kTableFull. true: it evicts an entry instead, chosen by CLOCK (an
  // approximation of least-recently-used: a reference mark per slot that a read sets
  // only when it is clear, and that eviction clears as it passes) — LockFreeTable only
  // (MutexTable refuses it, naming the field). A table that evicts counts as full at
  // kEvictLoadPercent of its capacity, where it starts evicting; the entries evicted are
  // counted in stats().evictions. std::nullopt: whatever an existing segment has (false
  // when creating). A table property: written by the creator, compared when set, like
  // `persist`.
  std::optional<bool> eviction = false;

  unsigned mode = kDefaultMode; // permission bits of a created segment (umask ignored)
  OpenMode open_mode = OpenMode::kOpenOrCreate;

  // MutexTable only: process-shared robust mutexes that recover when a holder dies.
  bool robust = false;
  // LockFreeTable only: the caller promises that this handle's calls never overlap: it
  // is used by one thread, or by threads that hand it on with their own synchronization
  // (a mutex, a join), as for any object that is not thread-safe. Its writes then keep
  // their spare record buffer with plain loads and stores instead of two locked
  // instructions. Other processes and other handles are unaffected: the table stays
  // lock-free and shared. The Node package sets it (a JS object lives on one thread).
  bool one_thread = false;
  // Whether this handle's operations count in the table's shared statistics
  // (shmtable/stats.hpp). false: this handle counts nothing (it saves each call a
  // thread-local lookup and a store). Other handles are unaffected. Not compared with
  // the segment: each handle chooses.
  bool stats = true;

  // How long an open waits for another process that is creating a table of the same
  // name whose creation writes every slot (MutexTable), or opening or closing the
  // table at that moment (then Errc::kNotReady), or that holds it exclusively in
  // recover() or Segment::run_exclusive() (then Errc::kBusy). A close of a
  // non-persistent table waits as long for the name's gate before it leaves the
  // removal to the next opener.
  unsigned ready_timeout_ms = kDefaultReadyTimeoutMs;
};

} // namespace shmtable
