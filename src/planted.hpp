// src/planted.hpp: the known bugs a test build can plant in the lock-free engine.
//
// Built with `meson setup -Dplanted_bug=NAME`, the library carries exactly one of these
// bugs, so that the stress harness and the model checkers can show that they catch it.
// A release build has none (planted_bug_name() == "none"). no_reader_fence is planted
// only by the Relacy model build (proofs/relacy/), see below.
//
// kPlantedBugNames is the one list of their names: meson.build reads it, accepts only
// these for -Dplanted_bug, and refuses a tier that names any other. A new bug is a new
// enumerator, its name at the same position in the list, and the static_assert below
// naming the last enumerator. Then each tier that must catch it says how:
// stress/meson.build's planted_runs (every bug a library build can carry must have a run
// there), proofs/relacy/meson.build's relacy_planted, proofs/spin/check.sh's case table
// (with the model's PLANTED_ macro). A bug that only a model can plant is also listed in
// planted_model_only (meson.build). Spin's check.sh may also name designs of its own model
// that are no library bug (proofs/spin/meson.build's model_designs).
#pragma once

#include <cstddef>
#include <iterator>
#include <string_view>

namespace shmtable::detail::lockfree {

enum class PlantedBug {
  kNone,
  // Readers skip the version re-check after copying a value: a value whose buffer is
  // recycled mid-copy is returned torn.
  kSkipRecheck,
  // Writers publish an update with a plain load-compare-store instead of the 128-bit
  // CAS: racing updates overwrite each other (lost add()s, resurrected entries).
  kCasAsStore,
  // Writers publish the new buffer before writing the value into it: readers return
  // whatever the recycled buffer held before.
  kPublishBeforeWrite,
  // Inserters skip the scan for a racing reservation of the same key: racing inserts
  // of one key leave it in two slots.
  kNoDupScan,
  // After an update, the writer's handle keeps the buffer it has just published (live
  // in the slot) as its spare, instead of the one it unpublished: its next write refills
  // a live record in place, under readers that cannot see the change (P3 broken).
  kSpareKeepsLive,
  // A get() that misses while the table holds `capacity` entries reports table_full, an
  // error only an insert may return: the history checker (and the workers' own check)
  // must refuse table_full from a read.
  kFullOnRead,
  // get_cached asks its caller about a value by the record buffer the word names
  // instead of the word's version: a buffer that comes back to the same slot with
  // another value (a handle's spare alternates between two buffers) is taken for the one
  // the caller keeps, and a stale value is returned as current.
  kCacheByBuffer,
  // Reserving a slot for a new key keeps the slot's epoch instead of starting a new
  // one: a writer's key memo, which trusts an epoch to name one key, takes a slot that
  // was erased and re-bound to another key (with the same fingerprint) for its own key's,
  // and overwrites the other key's entry.
  kReserveKeepsEpoch,
  // Readers drop R3's acquire fence between copying a record and re-checking the
  // version: a copy that read a recycler's stores no longer synchronises with the
  // recycler, so the re-check may miss the version change and accept a torn value. On
  // x86-64 that fence emits no instruction and loads are not reordered with loads, so
  // no run on the hardware can show this bug; only a checker of the C++ memory model
  // can. Planted only in the Relacy model (proofs/relacy/, suite `model`).
  kNoReaderFence,
  // A writer that frees an expired entry (T2, lockfree_engine.hpp) CASes from a word it
  // loads again instead of the one whose record it found expired: an entry written in
  // between (the key set again, with no deadline) is freed in its place, and that write
  // is lost. Caught by the Relacy and spin models (suite `model`) and, since its histories
  // record ttls and the table clock, by the stress harness (suite `planted`: a `mix` whose
  // every write has a 1-2 ms ttl and whose workers meet the entries as each tick of the
  // clock expires them, stress/meson.build), so a library build carries it too.
  kReclaimStaleWord,
  // An insert that evicts (E2, lockfree_engine.hpp) takes a kPending reservation for a
  // victim as readily as a kLive entry: it frees the word and pushes the buffer that the
  // reservation's owner still holds and goes on filling or publishing, so one buffer
  // ends up in two places (a value overwritten under a live word, a buffer lost).
  // Caught by the Relacy and spin models (suite `model`). Planted only there: the hand
  // must pass a slot in the few instructions between an insert's reserve and its
  // promote, and the stress harness's `full --eviction` runs, whose audit does see the
  // damage (an entry counter that disagrees with keys(), slots naming impossible
  // buffers), reached it in 1 of 6 runs of 60 000 and 100 000 operations (2026-12-02):
  // too seldom for a test that must fail every time.
  kEvictPending,
};

inline constexpr std::string_view kPlantedBugNames[] = {"none",
                                                        "skip_recheck",
                                                        "cas_as_store",
                                                        "publish_before_write",
                                                        "no_dup_scan",
                                                        "spare_keeps_live",
                                                        "full_on_read",
                                                        "cache_by_buffer",
                                                        "reserve_keeps_epoch",
                                                        "no_reader_fence",
                                                        "reclaim_stale_word",
                                                        "evict_pending"};

static_assert(std::size(kPlantedBugNames) ==
                  static_cast<std::size_t>(PlantedBug::kEvictPending) + 1,
              "one name for each PlantedBug, in its order");

// The bug this build of the library carries ("none" normally).
std::string_view planted_bug_name() noexcept;

} // namespace shmtable::detail::lockfree
