// A thread's key memo: what this thread has established about which key a live slot
// holds, so that a write can tell its key's slot from other keys' by the control word
// alone, without reading the record. Across processes that read is the costly one: the
// record's key line is the one the key's last writer, perhaps in another process, has
// just written, so comparing against it moves a cache line on the write's dependent
// path (control word, record, CAS). Process-private memory, never shared.
//
// M1. An entry (handle, slot, epoch, key) is recorded only from a fact: this thread
//     published a record of `key` in `slot` with a word of that epoch (an update's CAS
//     or a promote), or it read `key` in the record named by a kLive word of that epoch
//     and R3 validated the read.
// M2. Within one epoch a slot is bound to one key (the engine keeps it: a key enters a
//     slot only by a reservation, which starts a new epoch, Ctrl::reserved() in
//     lockfree_layout.hpp; an update publishes a record of the key it found).
// So an entry whose epoch equals a kLive word's epoch names the key of that word's
// record. Entries are never invalidated: once the slot's epoch moves on, they no longer
// match. Both facts are about one atomic location's modification order, so an entry
// recorded by one thread is as true for any other (Relacy's fibers share one memo).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace shmtable::detail::lockfree {

class KeyMemo {
public:
  // Direct-mapped, a power of two: 8192 entries of 64 bytes, 512 KiB per writing thread.
  // With 2048, YCSB's 10 000 keys evicted each other's entries, and a set whose entry was
  // gone read the record's key, a line the other process had written: 8192 made
  // two-process YCSB-A 6 % and Node sets 2-6 % faster (results/2026-12-01-store-forwarding).
  static constexpr std::size_t kEntries = 8192;
  static constexpr std::size_t kMaxKeyBytes = 40; // longer keys are never memoized

  // A number no other handle of this process has had: an entry names its handle by it,
  // so that a handle opened later (perhaps at the same address) never trusts another's.
  static std::uint64_t new_handle_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed); // a counter: no data to publish
  }

  enum class Says { kUnknown, kThisKey, kOtherKey };

  // What the memo says about (handle, slot) at `epoch`, for `key`.
  Says lookup(std::uint64_t handle, std::uint64_t slot, std::uint64_t epoch,
              std::string_view key) const noexcept {
    const Entry &e = entries_[index(handle, slot)];
    if (e.handle != handle || e.epoch != epoch || e.slot_len >> 8 != slot) {
      return Says::kUnknown;
    }
    return (e.slot_len & 0xff) == key.size() && same_bytes(e.key, key) ? Says::kThisKey
                                                                       : Says::kOtherKey;
  }

  // Records M1's fact that `slot` at `epoch` holds `key`.
  void note(std::uint64_t handle, std::uint64_t slot, std::uint64_t epoch,
            std::string_view key) noexcept {
    Entry &e = entries_[index(handle, slot)];
    if (key.size() > kMaxKeyBytes ||
        (e.handle == handle && e.epoch == epoch && e.slot_len >> 8 == slot)) {
      return; // too long, or known already (one epoch, one key: M2)
    }
    e.handle = handle;
    e.epoch = epoch;
    e.slot_len = slot << 8 | key.size();
    if (!key.empty()) { // the empty key's data() may be null
      std::memcpy(e.key, key.data(), key.size());
    }
  }

private:
  struct alignas(64) Entry {
    std::uint64_t handle = 0; // 0: empty (handle ids start at 1)
    std::uint64_t epoch = 0;
    std::uint64_t slot_len = 0; // slot << 8 | key length (slots are < 2^32)
    char key[kMaxKeyBytes] = {};
  };
  static_assert(sizeof(Entry) == 64 && kMaxKeyBytes < 256, "an entry is one cache line");
  // Whether the first key.size() (<= kMaxKeyBytes) bytes of `stored` are `key`: whole
  // words while they last, then the tail, so that no library call is made.
  static bool same_bytes(const char *stored, std::string_view key) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= key.size(); i += 8) {
      std::uint64_t a, b;
      std::memcpy(&a, stored + i, 8);
      std::memcpy(&b, key.data() + i, 8);
      if (a != b) {
        return false;
      }
    }
    for (; i < key.size(); ++i) {
      if (stored[i] != key[i]) {
        return false;
      }
    }
    return true;
  }
  static std::size_t index(std::uint64_t handle, std::uint64_t slot) noexcept {
    return (slot + handle * 0x9e3779b97f4a7c15ULL) & (kEntries - 1);
  }
  Entry entries_[kEntries];
};

} // namespace shmtable::detail::lockfree
