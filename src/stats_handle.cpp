// A handle's stripes of the statistics region: claiming, handing between threads,
// releasing, and summing them (stats_handle.hpp, stats_region.hpp).
#include "stats_handle.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace shmtable::detail::stats {

namespace {

std::atomic_ref<std::uint64_t> word(std::uint64_t &w) { return std::atomic_ref<std::uint64_t>(w); }

// Whether the process `pid` is gone. Another user's live process answers EPERM: alive.
bool process_gone(std::uint32_t pid) noexcept {
  return pid != 0 && static_cast<pid_t>(pid) != ::getpid() &&
         ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

// A free stripe, else one whose owner's process is gone (S2), claimed for `owner`; or
// nullptr.
Stripe *claim(StatsRegion *region, std::uint64_t owner) noexcept {
  for (Stripe &s : region->stripes) {
    std::uint64_t seen = word(s.owner).load(std::memory_order_relaxed); // a hint: the CAS decides
    // Acquire: pairs with the last owner's release store of 0 (S2).
    if (seen == 0 && word(s.owner).compare_exchange_strong(seen, owner, std::memory_order_acquire,
                                                           std::memory_order_relaxed)) {
      return &s;
    }
  }
  for (Stripe &s : region->stripes) {
    std::uint64_t seen = word(s.owner).load(std::memory_order_relaxed);
    // Acquire, as above; the dead owner made no release store (S2).
    if (seen != 0 && process_gone(owner_pid(seen)) &&
        word(s.owner).compare_exchange_strong(seen, owner, std::memory_order_acquire,
                                              std::memory_order_relaxed)) {
      // The dead handle's spares stay leaked: out of the pool and no longer counted as a
      // live handle's (the lock-free engine's L1, lockfree_layout.hpp). Relaxed: ours now.
      word(s.spare).store(0, std::memory_order_relaxed);
      return &s;
    }
  }
  return nullptr;
}

// H1: a thread's stripe goes back to its handle's idle list, unless the handle closed
// (and released it).
void give_back(StatsThread::Entry &e) noexcept {
  if (e.claims && e.stripe != nullptr && e.stripe != &e.claims->region->overflow) {
    const std::lock_guard lock(e.claims->mu);
    if (!e.claims->closed) {
      try {
        e.claims->idle.push_back(e.stripe);
      } catch (...) {
        // No room to remember it: the stripe stays the handle's, unused until close().
      }
    }
  }
  e = StatsThread::Entry{};
}

} // namespace

StatsThread::~StatsThread() {
  for (Entry &e : entries) {
    give_back(e);
  }
}

StatsThread::Owner::~Owner() {
  current_ = &empty_stats_thread.table;
  gone_ = true;
  state.reset();
}

StatsThread &StatsThread::get() {
  if (current_ == &empty_stats_thread.table) {
    if (gone_) {
      // A count from a thread_local destructor that runs after the Owner's: this last
      // table is never freed (as WriterThread's).
      current_ = new StatsThread();
    } else {
      thread_local Owner owner;
      owner.state = std::make_unique<StatsThread>();
      current_ = owner.state.get();
    }
  }
  return *current_;
}

void StatsHandle::open(StatsRegion *region, std::uint64_t handle_id, bool counting, bool one_thread,
                       bool home) {
  region_ = region;
  id_ = handle_id;
  entry_offset_ = (handle_id & (StatsThread::kEntries - 1)) * sizeof(StatsThread::Entry);
  claims_ = std::make_shared<Claims>();
  claims_->region = region;
  claims_->owner = owner_word(static_cast<std::uint32_t>(::getpid()), handle_id);
  claims_->held.reserve(4);
  home_ = home ? claim(region, claims_->owner) : nullptr;
  if (home_ != nullptr) {
    claims_->held.push_back(home_);
  }
  own_ = one_thread ? home_ : nullptr;
  // A one-thread handle that found no home stripe counts as any other does.
  mode_ = !counting ? Mode::kOff : own_ != nullptr ? Mode::kOwn : Mode::kThreads;
}

void StatsHandle::add_slow(Counter c, std::uint64_t n) const noexcept {
  Stripe *s = thread_stripe_slow();
  if (s == &region_->overflow) { // shared by every thread without a stripe (H2)
    std::atomic_ref<std::uint64_t>(s->counts[c]).fetch_add(n, std::memory_order_relaxed); // S1
  } else {
    add_own(s, c, n);
  }
}

Stripe *StatsHandle::thread_stripe_slow() const noexcept {
  try {
    StatsThread &t = StatsThread::get();
    StatsThread::Entry &e = t.entries[id_ & (StatsThread::kEntries - 1)];
    if (e.handle == (id_ | StatsThread::kOverflow)) {
      return &region_->overflow; // H2: for as long as the thread caches it
    }
    give_back(e); // another handle's, or none (H1)
    Stripe *s = &region_->overflow;
    {
      const std::lock_guard lock(claims_->mu);
      if (!claims_->idle.empty()) {
        s = claims_->idle.back();
        claims_->idle.pop_back();
      } else if (!claims_->closed) {
        if (Stripe *mine = claim(region_, claims_->owner); mine != nullptr) {
          claims_->held.push_back(mine);
          s = mine;
        }
      }
    }
    e.handle = s == &region_->overflow ? id_ | StatsThread::kOverflow : id_;
    e.stripe = s;
    e.claims = claims_;
    return s;
  } catch (...) {
    return &region_->overflow; // no memory for the thread's table: count shared (H2)
  }
}

void StatsHandle::close() noexcept {
  if (!claims_) {
    return;
  }
  const std::lock_guard lock(claims_->mu);
  for (Stripe *s : claims_->held) {
    // Release: our threads' last counts before the next owner's claim (S2).
    word(s->owner).store(0, std::memory_order_release);
  }
  claims_->held.clear();
  claims_->idle.clear();
  claims_->closed = true;
  own_ = nullptr;
  home_ = nullptr;
  mode_ = Mode::kOff;
}

void StatsHandle::free_others_alone() const noexcept {
  if (!claims_) {
    return;
  }
  for (Stripe &s : region_->stripes) {
    // Relaxed: recover() runs alone, nothing to order against.
    if (word(s.owner).load(std::memory_order_relaxed) != claims_->owner) {
      word(s.spare).store(0, std::memory_order_relaxed);
      word(s.owner).store(0, std::memory_order_relaxed);
    }
  }
}

TableStats sum_stats(const StatsRegion *region) noexcept {
  auto *r = const_cast<StatsRegion *>(region); // atomic_ref needs a non-const object
  std::uint64_t sums[kCounters] = {};
  const auto add = [&](Stripe &s) {
    for (unsigned c = 0; c < kCounters; ++c) {
      sums[c] += word(s.counts[c]).load(std::memory_order_relaxed); // statistics (S1)
    }
  };
  TableStats out;
  add(r->overflow);
  for (Stripe &s : r->stripes) {
    add(s);
    out.stripes_in_use += word(s.owner).load(std::memory_order_relaxed) != 0 ? 1 : 0;
  }
  out.stripes = static_cast<std::uint32_t>(kStripes);
  out.hits = sums[kHits];
  out.misses = sums[kMisses];
  out.sets = sums[kSets];
  out.inserts = sums[kInserts];
  out.erases = sums[kErases];
  out.evictions = sums[kEvictions];
  out.expirations = sums[kExpirations];
  out.table_full = sums[kTableFull];
  return out;
}

std::int64_t live_spares(const StatsRegion *region) noexcept {
  auto *r = const_cast<StatsRegion *>(region);
  std::int64_t n = 0;
  for (Stripe &s : r->stripes) {
    // Relaxed: statistics; a snapshot exact when no write is in flight.
    const auto spare = static_cast<std::int64_t>(word(s.spare).load(std::memory_order_relaxed));
    const std::uint64_t owner = word(s.owner).load(std::memory_order_relaxed);
    if (spare != 0 && owner != 0 && !process_gone(owner_pid(owner))) {
      n += spare;
    }
  }
  return n;
}

} // namespace shmtable::detail::stats
