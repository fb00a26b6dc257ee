// A handle's side of the statistics region (stats_region.hpp): the stripes it holds, how
// each of its threads finds its own, and the sums stats() reads. Process-private.
//
// A thread finds its stripe for a handle through one trivially destructible
// thread_local (a pointer, initial-exec as writer_thread.hpp's and for the same reasons:
// one %fs-relative load per count) to a small table keyed by the handle's process-unique id; the
// first count of a (handle, thread) claims a stripe (slow path, under the handle's mutex). A handle
// opened with Options::one_thread counts into its home stripe, found in the handle
// itself: no thread-local lookup at all.
//
// H1. A stripe claimed by a handle stays the handle's until its close() (or recover(),
//     which frees the stripes of the dead): a thread that exits, or that forgets the
//     handle to make room in its table, gives its stripe back to the handle's idle list,
//     and the handle's next new thread takes it from there. So a stripe has one writing
//     thread at a time (S1): the handle's mutex orders the hand-over.
// H2. A (handle, thread) that finds no free stripe, and no stripe of a dead process to
//     take over, counts into the overflow stripe for as long as it caches it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "shmtable/stats.hpp"
#include "stats_region.hpp"

namespace shmtable::detail::stats {

// What a handle holds, shared with the threads that cache its stripes (they give them
// back here, H1, even after the handle itself is gone).
struct Claims {
  std::mutex mu;
  StatsRegion *region = nullptr;
  std::uint64_t owner = 0;
  bool closed = false;
  std::vector<Stripe *> held; // every stripe the handle claimed: released at close()
  std::vector<Stripe *> idle; // those of them no thread caches now
};

// A thread's stripes, one per handle it counted for lately.
struct StatsThread {
  struct Entry {
    // 0: empty (handle ids start at 1); a handle's id: its stripe, counted with a plain
    // store (S1); the id | kOverflow: the overflow stripe (H2), which no plain store
    // touches, so the data path, which matches the id alone, never meets it.
    std::uint64_t handle = 0;
    Stripe *stripe = nullptr;
    std::shared_ptr<Claims> claims;
  };
  static constexpr std::uint64_t kOverflow = std::uint64_t{1} << 63; // above every id
  static constexpr std::size_t kEntries = 4;                         // a power of two
  Entry entries[kEntries];

  ~StatsThread();
  // Never null: a thread that has not counted yet (or whose table is gone) sees an empty
  // table, which matches no handle, so the data path tests no pointer.
  static const StatsThread *current() noexcept { return current_; }
  static StatsThread &get();

private:
  struct Owner {
    std::unique_ptr<StatsThread> state;
    ~Owner();
  };
  [[gnu::tls_model("initial-exec")]] static thread_local StatsThread *current_;
  static inline thread_local bool gone_ = false;
};
// The empty table that current() gives before a thread's first count: constant-
// initialized, never written, and never destroyed (a thread may still count while static
// destructors run).
union EmptyStatsThread {
  StatsThread table;
  constexpr EmptyStatsThread() : table() {}
  ~EmptyStatsThread() {}
};
constinit inline EmptyStatsThread empty_stats_thread;
[[gnu::tls_model(
    "initial-exec")]] constinit inline thread_local StatsThread *StatsThread::current_ =
    &empty_stats_thread.table;

class StatsHandle {
public:
  // Claims the handle's home stripe if `home` (the lock-free engine's, for its spare;
  // nullptr if none is free: home() says). `counting`: Options::stats; `one_thread`:
  // Options::one_thread (counts go to the home stripe).
  void open(StatsRegion *region, std::uint64_t handle_id, bool counting, bool one_thread,
            bool home);
  // Releases every stripe the handle holds (S2), counts kept. Idempotent.
  void close() noexcept;

  // The home stripe (lock-free: where the handle's spare is counted), or nullptr.
  Stripe *home() const noexcept { return home_; }
  StatsRegion *region() const noexcept { return region_; }

  // Counts n of counter c for this handle's calling thread (S1).
  [[gnu::always_inline]] void add(Counter c, std::uint64_t n = 1) const noexcept {
    if (mode_ == Mode::kThreads) [[likely]] {
      // The calling thread's entry for this handle: its own stripe if the id matches.
      const auto &e = *reinterpret_cast<const StatsThread::Entry *>(
          reinterpret_cast<const char *>(StatsThread::current()->entries) + entry_offset_);
      if (e.handle == id_) [[likely]] {
        add_own(e.stripe, c, n);
      } else {
        add_slow(c, n);
      }
    } else if (mode_ == Mode::kOwn) {
      add_own(own_, c, n);
    }
  }

  // recover(), alone: every stripe not this handle's belonged to a process that is gone
  // or a handle that closed; they are freed and their spares zeroed (the buffers they
  // counted are back in the pool).
  void free_others_alone() const noexcept;

private:
  // Not counting (Options::stats off, or closed); counting into the calling thread's
  // stripe; counting into own_ (Options::one_thread).
  enum class Mode : std::uint8_t { kOff, kThreads, kOwn };
  // A stripe that only the calling thread writes now (S1, H1).
  [[gnu::always_inline]] static void add_own(Stripe *s, Counter c, std::uint64_t n) noexcept {
    std::atomic_ref<std::uint64_t> count(s->counts[c]);
    // Relaxed load and store: this thread is the stripe's only writer (S1, H1), and the
    // reads that sum it need no order (statistics).
    count.store(count.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // The count of a thread with no entry for this handle yet, or one for the overflow.
  [[gnu::noinline, gnu::cold]] void add_slow(Counter c, std::uint64_t n) const noexcept;
  Stripe *thread_stripe_slow() const noexcept;

  StatsRegion *region_ = nullptr;
  std::uint64_t id_ = 0;
  std::size_t entry_offset_ = 0; // of the handle's entry in a StatsThread's, in bytes
  Mode mode_ = Mode::kOff;
  Stripe *own_ = nullptr;  // one_thread: the home stripe, for every count
  Stripe *home_ = nullptr; // claimed at open
  std::shared_ptr<Claims> claims_;
};

// The sums over the region: every counter of TableStats but `entries` and
// `leaked_buffers`, which the engine adds.
TableStats sum_stats(const StatsRegion *region) noexcept;
// Spare buffers held by handles whose process is alive (the lock-free leak accounting).
std::int64_t live_spares(const StatsRegion *region) noexcept;

} // namespace shmtable::detail::stats
