// stress/driver_run.cpp: shmtable-stress's commands (driver_run.hpp).
#include "driver_run.hpp"

#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "any_table.hpp"
#include "create_race.hpp"
#include "driver_report.hpp"
#include "fsck.hpp"
#include "history.hpp"
#include "server.hpp"
#include "shared_log.hpp"
#include "values.hpp"
#include "workload.hpp"

namespace shmtable::stress::driver {
namespace {

// ---- One run: workers, crashes, watchdog -------------------------------------------

class Runner {
public:
  // One epoch of a run: workers numbered from `first_process` (value ids stay unique
  // across epochs), stopped at `deadline` seconds from now (0: when their lanes are full).
  // `ops_before`: operations of the earlier epochs, for the progress lines.
  Runner(const Cli &cli, SharedLog &log, double deadline, std::uint32_t first_process,
         std::uint64_t ops_before)
      : cli_(cli), cfg_(cli.cfg), log_(log), rng_(cfg_.seed + first_process), deadline_(deadline),
        ops_before_(ops_before), next_process_(first_process) {}

  Tally run() {
    lanes_.resize(cfg_.procs);
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      start(l);
    }
    // Release/acquire: timing only (see run_worker). A worker that failed to attach
    // never arrives; the loop below reports it.
    LogHeader &h = log_.header();
    while (h.ready.load(std::memory_order_acquire) < cfg_.procs && all_alive()) {
      usleep(200);
      reap_exited();
    }
    h.go.store(true, std::memory_order_release);
    started_ = true;
    const double deadline = deadline_;
    auto next_kill = cli_.crash ? draw_kill_delay() : 0.0;
    double next_progress = 1.0;
    bool stopping = false;
    double stop_at = 0;
    for (;;) {
      usleep(2000);
      const double t = elapsed(t0);
      reap_exited();
      if (std::none_of(lanes_.begin(), lanes_.end(), [](const LaneState &s) { return s.alive; })) {
        break;
      }
      if (!stopping && ((deadline > 0 && t >= deadline) || want_early_stop())) {
        stop_all_gently();
        stopping = true;
        stop_at = t;
      }
      if (stopping && t - stop_at > cli_.hang_ms / 1e3) {
        hang("workers did not stop within --hang-ms of the stop flag");
        break;
      }
      if (const std::string h = find_hang(); !h.empty()) {
        hang(h);
        break;
      }
      if (cli_.crash && !stopping && t >= next_kill) {
        kill_one();
        next_kill = t + draw_kill_delay();
      }
      if (!cli_.quiet && t >= next_progress) {
        progress(t, deadline);
        next_progress = std::floor(t) + 1.0;
      }
    }
    tally_.seconds = elapsed(t0);
    return tally_;
  }

  // Time by which each process was seen dead (index: process id); 0 = unknown. And the
  // table clock read just after that time (checker_expiry.hpp).
  const std::vector<std::uint64_t> &reaped_at() const { return reaped_at_; }
  const std::vector<std::uint64_t> &reaped_clock() const { return reaped_clock_; }
  std::uint32_t next_process() const { return next_process_; }

private:
  struct LaneState {
    pid_t pid = -1;
    std::uint32_t process = 0;
    bool alive = false;
  };

  static double elapsed(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  double draw_kill_delay() {
    return std::uniform_real_distribution<double>(0, 2.0 * cli_.kill_interval_ms / 1e3)(rng_);
  }

  bool lane_full(std::size_t l) const {
    // Acquire: pairs with the worker's release of `next` (a progress read only).
    return log_.lane(l).next.load(std::memory_order_acquire) >= log_.per_lane();
  }

  void start(std::size_t l) {
    const std::uint32_t process = next_process_++;
    std::fflush(nullptr); // children must not flush the parent's buffered output again
    const pid_t pid = fork();
    if (pid < 0) {
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      run_worker(cfg_, log_, l, process);
    }
    lanes_[l] = {pid, process, true};
    ++tally_.started;
  }

  void note_death(LaneState &s) {
    s.alive = false;
    if (reaped_at_.size() <= s.process) {
      reaped_at_.resize(s.process + 1, 0);
      reaped_clock_.resize(s.process + 1, 0);
    }
    reaped_at_[s.process] = now_ns();
    reaped_clock_[s.process] = table_clock_ns(); // after: at reaped_at, at most this
  }

  // Waits for a worker we sent SIGKILL. If it died of something else first (it crashed
  // between our last poll and the kill), that is a failure of its own.
  // `stop_raised`: the stop flag was raised before the kill, so a worker that saw it
  // first and exited cleanly (status 0) did what it was asked, not a failure.
  void reap_killed(LaneState &s, std::size_t l, bool stop_raised = false) {
    int status = 0;
    waitpid(s.pid, &status, 0);
    note_death(s);
    const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    const bool stopped = stop_raised && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!killed && !stopped) {
      failed(s, l, status);
    }
  }

  void failed(const LaneState &s, std::size_t l, int status) {
    ++tally_.worker_failures;
    tally_.messages.push_back(
        "process " + std::to_string(s.process) + " (lane " + std::to_string(l) + ") " +
        (WIFSIGNALED(status) ? std::string("died of signal ") + strsignal(WTERMSIG(status))
                             : "exited with status " + std::to_string(WEXITSTATUS(status))));
  }

  void reap_exited() {
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      LaneState &s = lanes_[l];
      int status = 0;
      if (!s.alive || waitpid(s.pid, &status, WNOHANG) != s.pid) {
        continue;
      }
      note_death(s);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        continue; // finished its lane, or stopped
      }
      failed(s, l, status);
      // Relaxed: the stop flag is a hint; workers poll it once per operation. Before the
      // start, a failure is not retried: a worker that cannot attach would fail forever.
      if (started_ && !lane_full(l) && !log_.header().stop.load(std::memory_order_relaxed)) {
        start(l);
      }
    }
  }

  bool all_alive() const {
    return std::all_of(lanes_.begin(), lanes_.end(), [](const LaneState &s) { return s.alive; });
  }

  bool want_early_stop() const {
    // Relaxed: a count; stopping a poll late is harmless.
    return cli_.expect_violation &&
           (log_.header().online.load(std::memory_order_relaxed) > 0 || tally_.worker_failures > 0);
  }

  void stop_all_gently() {
    log_.header().stop.store(true, std::memory_order_relaxed); // relaxed: see reap_exited
  }

  void kill_one() {
    // A worker whose operation has been in flight for 20 ms looks blocked (operations
    // take microseconds): killing it would hide a hang behind a fresh replacement that
    // blocks again. Sparing one that was merely descheduled costs nothing.
    const std::uint64_t now = now_ns();
    const std::uint64_t blocked = 20'000'000;
    std::vector<std::size_t> candidates;
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      // A lane that completed nothing for 100 ms is starving (its replacements were
      // killed while attaching): its worker is spared until it gets an operation done.
      const bool starving = l < progress_.size() && now - progress_[l].second > 100'000'000;
      if (lanes_[l].alive && !lane_full(l) && in_flight_ns(l, now) < blocked && !starving) {
        candidates.push_back(l);
      }
    }
    if (candidates.empty()) {
      return;
    }
    const std::size_t l = candidates[rng_() % candidates.size()];
    LaneState &s = lanes_[l];
    ::kill(s.pid, SIGKILL);
    reap_killed(s, l);
    ++tally_.kills;
    start(l);
  }

  // How long lane l's current operation has been in flight (0: none in flight).
  std::uint64_t in_flight_ns(std::size_t l, std::uint64_t now) const {
    const Lane &lane = log_.lane(l);
    // Acquire (both): pair with the worker's releases; the record below is then whole.
    const std::uint64_t next = lane.next.load(std::memory_order_acquire);
    const std::uint64_t done = lane.done.load(std::memory_order_acquire);
    if (next == 0 || done == next) {
      return 0;
    }
    const Record &r = log_.records(l)[next - 1];
    return r.process == lanes_[l].process && now > r.invoke_ns ? now - r.invoke_ns : 0;
  }

  // A hang: one operation in flight for longer than --hang-ms, or a lane that completed
  // no operation for that long (with crash injection, replacements of blocked workers
  // block again, so no single operation grows old).
  std::string find_hang() {
    const std::uint64_t now = now_ns();
    const std::uint64_t limit = std::uint64_t{cli_.hang_ms} * 1'000'000;
    progress_.resize(lanes_.size(), {0, now});
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      // Relaxed: a progress figure, compared with the previous poll's.
      const std::uint64_t done = log_.lane(l).done.load(std::memory_order_relaxed);
      if (done != progress_[l].first) {
        progress_[l] = {done, now};
      }
      if (!lanes_[l].alive || lane_full(l)) {
        continue;
      }
      if (in_flight_ns(l, now) > limit || now - progress_[l].second > limit) {
        // Acquire: as in in_flight_ns, so the record named below is whole.
        const std::uint64_t next = log_.lane(l).next.load(std::memory_order_acquire);
        const Record &r = log_.records(l)[next ? next - 1 : 0];
        return "lane " + std::to_string(l) + " completed no operation for " +
               std::to_string(cli_.hang_ms) + " ms (process " + std::to_string(r.process) +
               " was inside " + std::string(to_string(static_cast<OpKind>(r.op))) + ")";
      }
    }
    return {};
  }

  void hang(const std::string &what) {
    ++tally_.hangs;
    tally_.hang_expected = cfg_.engine == EngineName::kMutex && tally_.kills > 0;
    tally_.messages.push_back("hang: " + what +
                              (tally_.hang_expected
                                   ? " (expected: the faithful mutex engine blocks forever once "
                                     "a process dies holding a lock)"
                                   : ""));
    stop_all_gently();
    for (LaneState &s : lanes_) {
      if (s.alive) {
        ::kill(s.pid, SIGKILL);
        reap_killed(s, static_cast<std::size_t>(&s - lanes_.data()), /*stop_raised=*/true);
      }
    }
  }

  void progress(double t, double deadline) const {
    std::uint64_t ops = 0; // this epoch's
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      ops += log_.lane(l).done.load(std::memory_order_relaxed); // relaxed: a progress figure
    }
    const double total = cfg_.ops ? double(cfg_.ops) : 0;
    const double done = double(ops_before_ + ops);
    std::string left;
    if (deadline > 0) {
      left = "  left " + std::to_string(static_cast<int>(std::max(0.0, deadline - t))) + " s";
    } else if (ops > 0) { // at this epoch's pace, audits not counted
      left = "  left ~" + std::to_string(static_cast<int>((total - done) * t / double(ops))) + " s";
    }
    std::fprintf(
        stderr, "[%5.1fs] ops %s%s (%s/s)  kills %llu  violations so far %llu%s\n", t,
        fmt_count(done).c_str(), total > 0 ? (" of " + fmt_count(total)).c_str() : "",
        fmt_count(double(ops) / t).c_str(), static_cast<unsigned long long>(tally_.kills),
        static_cast<unsigned long long>(log_.header().online.load(std::memory_order_relaxed) +
                                        tally_.worker_failures), // relaxed: progress
        left.c_str());
  }

  const Cli &cli_;
  const RunConfig &cfg_;
  SharedLog &log_;
  std::mt19937_64 rng_;
  std::vector<LaneState> lanes_;
  std::vector<std::uint64_t> reaped_at_;
  std::vector<std::uint64_t> reaped_clock_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress_; // per lane: done, when seen
  double deadline_ = 0;
  std::uint64_t ops_before_ = 0;
  std::uint32_t next_process_ = 0;
  Tally tally_;
  bool started_ = false; // the first workers were released (replacements allowed)
};

// ---- From the shared log to a history --------------------------------------------

// `reaped_at`: when each process was seen dead (Runner::reaped_at), the bound of its
// unfinished operation. A shared-memory engine never finishes a dead process's operation
// for it (README, "Operations that did not complete"); a server may: the dead client's
// command can still sit in the server's socket buffer when the harness reaps the client,
// and run after. So for redis an unfinished operation has no bound (response_ns nullopt:
// it may take effect at any time after its invocation, or never).
std::vector<Operation> collect(const RunConfig &cfg, const SharedLog &log,
                               const std::vector<std::uint64_t> &reaped_at,
                               const std::vector<std::uint64_t> &reaped_clock) {
  const bool dead_ops_bounded = !cfg.engine.redis();
  std::vector<Operation> ops;
  for (std::size_t l = 0; l < log.lanes(); ++l) {
    const Lane &lane = log.lane(l);
    // Every writer of the lane has been reaped: wait() ordered its writes before these
    // reads, so relaxed loads suffice here.
    const std::uint64_t n = lane.next.load(std::memory_order_relaxed);
    for (std::uint64_t i = 0; i < n; ++i) {
      const Record &r = log.records(l)[i];
      Operation op;
      op.process = r.process;
      op.op = static_cast<OpKind>(r.op);
      if (op.op != OpKind::kClear) {
        op.key = key_name(cfg, r.key);
      }
      switch (op.op) {
      case OpKind::kSet:
      case OpKind::kSetIfAbsent:
        op.value = value_text(r.arg, cfg.value_bytes);
        if (r.oversize == Oversize::kKey) {
          op.key = oversize_key(cfg);
          op.value = "x";
        } else if (r.oversize == Oversize::kValue) {
          op.value = oversize_value(cfg);
        }
        break;
      case OpKind::kCompareAndSet:
        op.value = r.arg2_kind == ArgKind::kNumber
                       ? std::to_string(static_cast<std::int64_t>(r.arg2))
                       : value_text(r.arg2, cfg.value_bytes);
        op.desired = value_text(r.arg, cfg.value_bytes);
        break;
      case OpKind::kAdd:
        op.delta = static_cast<std::int64_t>(r.arg);
        break;
      default:
        break;
      }
      op.invoke_ns = r.invoke_ns;
      op.invoke_clock_ns = r.invoke_clock;
      op.ttl_ns = r.ttl_ns;
      const std::uint64_t resp = r.response_ns.load(std::memory_order_relaxed);
      op.completed = resp != 0;
      if (!op.completed) {
        if (dead_ops_bounded && r.process < reaped_at.size() && reaped_at[r.process]) {
          op.response_ns = reaped_at[r.process];
          op.response_clock_ns = reaped_clock[r.process];
        }
        ops.push_back(std::move(op));
        continue;
      }
      op.response_ns = resp;
      if (r.response_clock != kUnknownClock) {
        op.response_clock_ns = r.invoke_clock + r.response_clock;
      }
      Result &res = op.result;
      switch (r.out_kind) {
      case Out::kNone:
      case Out::kAbsent:
        res.kind = Result::Kind::kAbsent;
        break;
      case Out::kValueId:
        res.kind = Result::Kind::kValue;
        res.value = value_text(r.out, cfg.value_bytes);
        break;
      case Out::kNumber:
        if (op.op == OpKind::kAdd) {
          res.kind = Result::Kind::kNumber;
          res.number = static_cast<std::int64_t>(r.out);
        } else {
          res.kind = Result::Kind::kValue;
          res.value = std::to_string(static_cast<std::int64_t>(r.out));
        }
        break;
      case Out::kBool:
        res.kind = Result::Kind::kBool;
        res.flag = r.out != 0;
        break;
      case Out::kOk:
        res.kind = Result::Kind::kOk;
        break;
      case Out::kError:
        res.kind = Result::Kind::kError;
        res.error = std::string(to_string(static_cast<Errc>(r.out)));
        break;
      case Out::kGarbage: // a value nobody wrote: the bytes read, where the lane kept them
        if (r.out < kGarbageSlots) {
          res.kind = Result::Kind::kValue;
          res.value = std::string(lane.garbage[r.out], lane.garbage_len[r.out]);
        } else { // not a value at all, so that no reader of the history takes it for one
          res.kind = Result::Kind::kError;
          res.error = "torn_read";
        }
        break;
      }
      ops.push_back(std::move(op));
    }
  }
  return ops;
}

// ---- Commands ------------------------------------------------------------------------

// Keys that all share one home slot (and, with `same_fp`, one fingerprint), found by
// asking the table where keys land (a table with slots: apply_defaults refuses collide
// for one without).
std::vector<std::string> colliding_keys(const AnyTable &t, std::uint64_t n, std::size_t bytes,
                                        bool same_fp) {
  std::vector<std::string> keys;
  const std::string first = key_text(0, bytes);
  const std::optional<std::uint64_t> target = t.home_slot(first);
  if (!target) {
    throw std::logic_error("collide: the table has no slots");
  }
  const std::optional<std::uint64_t> fp = t.fingerprint(first);
  for (std::uint64_t i = 0; keys.size() < n; ++i) {
    std::string k = key_text(i, bytes);
    if (t.home_slot(k) == target && (!same_fp || t.fingerprint(k) == fp)) {
      keys.push_back(std::move(k));
    }
  }
  return keys;
}

} // namespace

int run_check(const Cli &c) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Operation> history = read_history(c.file);
  const CheckReport r = check_linearizable(history, c.check);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("history %s: %zu operations\n", c.file.c_str(), history.size());
  print_check(r, secs);
  return finish(c, r.violations + r.inconclusive,
                {{"command", "check"}, {"check", report_json(r)}});
}

int run_create_race(const Cli &c) {
  const EngineName engine = *c.cfg.engine.shm; // parse() refuses redis here
  std::printf("create-race: engine %s, %u processes, %llu rounds\n",
              std::string(to_string(engine)).c_str(), c.cfg.procs,
              static_cast<unsigned long long>(c.rounds));
  const CreateRaceReport r = create_race(engine, "shmtable-stress-" + std::to_string(getpid()),
                                         c.cfg.procs, c.rounds, !c.quiet);
  std::printf("  %llu rounds, %llu violations\n", static_cast<unsigned long long>(r.rounds),
              static_cast<unsigned long long>(r.violations));
  for (const std::string &m : r.messages) {
    std::printf("  VIOLATION: %s\n", m.c_str());
  }
  return finish(c, r.violations,
                {{"command", "create-race"}, {"engine", to_string(engine)}, {"rounds", r.rounds}});
}

// One epoch's outcome: its run, audit and check.
struct EpochResult {
  Tally tally;
  std::uint64_t online = 0; // violations the workers saw themselves
  FsckReport f;
  std::vector<Operation> history;
  std::size_t worker_ops = 0;
  std::size_t incomplete = 0;
  CheckReport r;
  double check_secs = 0;
  bool buffers_may_run_out = false;

  std::uint64_t violations() const {
    return online + f.violations + r.violations + r.inconclusive + tally.worker_failures +
           (tally.hang_expected ? 0 : tally.hangs);
  }
  void write_history(const std::string &path, bool first) const {
    if (!path.empty()) {
      stress::write_history(path, history, !first);
    }
  }
};

void Totals::add(const EpochResult &e) {
  ++epochs;
  worker_ops += e.worker_ops;
  incomplete += e.incomplete;
  tally.started += e.tally.started;
  tally.kills += e.tally.kills;
  tally.hangs += e.tally.hangs;
  tally.hang_expected = tally.hang_expected || e.tally.hang_expected;
  tally.worker_failures += e.tally.worker_failures;
  tally.seconds += e.tally.seconds;
  tally.messages.insert(tally.messages.end(), e.tally.messages.begin(), e.tally.messages.end());
  online += e.online;
  segment = e.f.segment;
  recovered.pending_cleared += e.f.first.pending_cleared;
  recovered.buffers_reclaimed += e.f.first.buffers_reclaimed;
  recovered.spares_cleared += e.f.first.spares_cleared;
  recovered.locks_reset += e.f.first.locks_reset;
  recovered.entries = e.f.first.entries;
  second_found_more =
      second_found_more || e.f.second.pending_cleared || e.f.second.buffers_reclaimed;
  entries = e.f.entries;
  refilled = e.f.refilled;
  fsck_violations += e.f.violations;
  expected_damage += e.f.expected_damage;
  fsck_messages.insert(fsck_messages.end(), e.f.messages.begin(), e.f.messages.end());
  r.operations += e.r.operations;
  r.keys += e.r.keys;
  r.violations += e.r.violations;
  r.inconclusive += e.r.inconclusive;
  r.steps += e.r.steps;
  r.evictions += e.r.evictions;
  r.eviction_budget += e.r.eviction_budget;
  r.failures.insert(r.failures.end(), e.r.failures.begin(), e.r.failures.end());
  check_secs += e.check_secs;
  buffers_may_run_out = buffers_may_run_out || e.buffers_may_run_out;
  violations_ += e.violations();
}

namespace {

// A run with expiry: waits until the table clock is past every deadline the epoch's writes
// can have given (each at most the last worker's clock reading plus the longest ttl), so
// that no entry expires during the audit, between its recover(), keys() and size(). On the
// lock-free engine it then frees them all, so that recover() finds only what the dead
// left (it counts the buffers of the expired entries it frees among the leaked ones); not
// on the mutex engines, whose recover() frees them with nothing to miscount, and whose
// purge would take the slot mutexes a dead process may still hold (the faithful engine's
// expected hang, which the audit must not join).
void wait_out_deadlines(const RunConfig &cfg, AnyTable &table) {
  if (cfg.ttl_ms == 0) {
    return;
  }
  const std::uint64_t past = table_clock_ns() + std::uint64_t{cfg.ttl_ms} * 1'000'000;
  while (table_clock_ns() < past) {
    usleep(1000);
  }
  if (cfg.engine == EngineName::kLockFree) {
    table.purge_expired();
  }
}

// The evictions the table counted during an epoch (TableStats::evictions), the budget of
// the epoch's check with --evictions-from-stats: the hook for the engine's eviction option.
// A table without it counts none, so the budget is 0 and any vanishing is a violation.
std::uint64_t evictions_so_far(const AnyTable &table) { return table.evictions(); }

EpochResult audit_and_check(const Cli &c, AnyTable &table, const SharedLog &log,
                            const Runner &runner, const Tally &tally,
                            std::uint64_t evictions_before) {
  const RunConfig &cfg = c.cfg;
  EpochResult e;
  e.tally = tally;
  // Relaxed: every worker has been reaped; wait() ordered their increments before this.
  e.online = log.header().online.load(std::memory_order_relaxed);
  const std::uint64_t killed = tally.kills + tally.hangs * cfg.procs;
  // Churn: read back every key inserted, so a key the table lost is seen missing.
  std::vector<std::string> written;
  if (cfg.scenario == Scenario::kChurn) {
    for (std::size_t l = 0; l < log.lanes(); ++l) {
      const std::uint64_t n = log.lane(l).next.load(std::memory_order_relaxed); // all reaped
      for (std::uint64_t i = 0; i < n; ++i) {
        const Record &r = log.records(l)[i];
        const auto op = static_cast<OpKind>(r.op);
        if ((op == OpKind::kSet || op == OpKind::kSetIfAbsent) && r.oversize == Oversize::kNone) {
          written.push_back(key_name(cfg, r.key));
        }
      }
    }
  }
  // Could an update have found no record buffer (checker.hpp, "Errors")? Buffers number
  // capacity + reserve; at most half the reserve are spares (P4), and beyond the live
  // entries the rest may be held by operations in flight (one per process) or leaked
  // by the dead (two each). Each epoch starts with recover()'s reclaim behind it.
  CheckOptions check = c.check;
  e.buffers_may_run_out = check.buffers_may_run_out =
      cfg.engine == EngineName::kLockFree && cfg.procs + 2 * killed > table.buffer_reserve() / 2;
  if (c.evictions_from_stats) {
    check.eviction_budget = evictions_so_far(table) - evictions_before;
  }
  wait_out_deadlines(cfg, table);
  std::vector<Operation> finals;
  try {
    e.f = fsck(table, cfg, killed, cfg.engine == EngineName::kMutex && tally.kills > 0,
               runner.next_process(), written, finals);
  } catch (const std::exception &ex) {
    ++e.f.violations;
    e.f.messages.push_back(std::string("the audit itself failed: ") + ex.what());
  }
  e.history = collect(cfg, log, runner.reaped_at(), runner.reaped_clock());
  e.worker_ops = e.history.size();
  e.history.insert(e.history.end(), finals.begin(), finals.end());
  for (const Operation &op : e.history) {
    e.incomplete += !op.completed;
  }
  if (!c.quiet) {
    std::fprintf(stderr, "checking %zu operations...\n", e.history.size());
  }
  const auto t0 = std::chrono::steady_clock::now();
  e.r = check_linearizable(e.history, check);
  e.check_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

} // namespace

int run_scenario(Cli &c) {
  apply_defaults(c);
  RunConfig &cfg = c.cfg;
  // redis without --redis-url: a redis-server of the run's own, stopped when it ends.
  std::unique_ptr<support::RedisServer> server;
  if (cfg.engine.redis() && cfg.engine.redis_url.empty()) {
    std::string why;
    server = support::RedisServer::start(why);
    if (!server) {
      std::fprintf(stderr, "shmtable-stress: --engine redis: %s; or give --redis-url\n",
                   why.c_str());
      return 2;
    }
    cfg.engine.redis_url = server->url();
  }
  cfg.table.name = "shmtable-stress-" + std::to_string(getpid());
  if (cfg.engine.redis()) {
    // A server outlives runs, and another machine's run may share it: a name of its own.
    cfg.table.name += "-" + std::to_string(std::random_device{}());
  }
  cfg.table.open_mode = OpenMode::kCreate;
  std::unique_ptr<AnyTable> table = open_table(cfg.engine, cfg.table);
  cfg.table.open_mode = OpenMode::kOpen;          // the workers attach
  if (cfg.engine.redis() && table->size() != 0) { // kCreate's check, for a namespace
    throw std::runtime_error("redis: the namespace " + cfg.table.name + " on " +
                             cfg.engine.redis_url + " already holds keys");
  }
  const std::size_t kbytes = cfg.scenario == Scenario::kLimits ? cfg.key_bytes : 16;
  if (cfg.scenario == Scenario::kCollide) {
    cfg.keys = colliding_keys(*table, c.keys, kbytes, c.same_fingerprint);
  } else if (cfg.scenario != Scenario::kChurn) {
    for (std::uint64_t i = 0; i < c.keys; ++i) {
      cfg.keys.push_back(key_text(i, kbytes));
    }
  }
  const std::string where = cfg.engine.redis()
                                ? " at " + cfg.engine.redis_url +
                                      (server ? " (started for this run)" : "") + ", namespace " +
                                      cfg.table.name + ", no capacity (a server)"
                                : ", capacity " + std::to_string(cfg.table.capacity);
  std::printf("%s: engine %s, %u processes, %s%s, %zu-byte values%s, seed %llu\n",
              c.command.c_str(), std::string(cfg.engine.name()).c_str(), cfg.procs,
              cfg.ops ? (std::to_string(cfg.ops) + " operations").c_str()
                      : (std::to_string(cfg.seconds) + " s").c_str(),
              where.c_str(), cfg.value_bytes,
              c.crash ? (", SIGKILL every ~" + std::to_string(c.kill_interval_ms) + " ms").c_str()
                      : "",
              static_cast<unsigned long long>(cfg.seed));
  std::fflush(stdout);

  // Epochs: a run longer than --max-ops operations goes in epochs of at most that many.
  // Each ends with every worker gone and the audit (fsck: recover(), reads of every key,
  // clear()), whose reads and clear join the epoch's history; the next starts on the
  // empty table. So each epoch's history is checked alone and then freed, and the
  // epochs' histories, written one after the other, are the run's whole history.
  const auto run_t0 = std::chrono::steady_clock::now();
  const auto since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - run_t0).count();
  };
  Totals all;
  std::uint32_t next_process = 0;
  std::uint64_t ops_left = cfg.ops;
  for (std::uint64_t epoch = 1;; ++epoch) {
    if (epoch > 1) {
      // The last epoch's history is freed, but its millions of small blocks stay in this
      // process's heap, which every worker inherits: each child's first malloc would
      // consolidate them all, copying the pages on write, for seconds. Give them back.
      malloc_trim(0);
    }
    const std::uint64_t epoch_ops = cfg.ops ? std::min(ops_left, c.max_ops) : c.max_ops;
    const std::uint64_t per_lane =
        std::max<std::uint64_t>(1, (epoch_ops + cfg.procs - 1) / cfg.procs);
    SharedLog log(cfg.procs, per_lane);
    const std::uint64_t evictions_before = evictions_so_far(*table);
    Runner runner(c, log, cfg.ops ? 0 : std::max(0.001, cfg.seconds - since_start()), next_process,
                  all.worker_ops);
    const Tally tally = runner.run();
    next_process = runner.next_process() + 1; // the audit's reads are process runner.next_process()
    ops_left -= std::min(ops_left, epoch_ops);
    if (cfg.engine.redis()) {
      // A fresh connection: a server may have closed this idle one meanwhile (its
      // `timeout`), and the audit's first call would fail with connection_lost.
      table = open_table(cfg.engine, cfg.table);
    }
    EpochResult e = audit_and_check(c, *table, log, runner, tally, evictions_before);
    e.write_history(c.history, epoch == 1);
    const bool failed = e.violations() > 0;
    all.add(e);
    const bool more = cfg.ops ? ops_left > 0 : since_start() < cfg.seconds;
    if (!more || failed || tally.hangs || (c.expect_violation && all.violations() > 0)) {
      break;
    }
    if (!c.quiet) {
      std::fprintf(stderr, "epoch %llu: %zu operations checked, %llu violations; next epoch\n",
                   static_cast<unsigned long long>(epoch), e.worker_ops,
                   static_cast<unsigned long long>(e.violations()));
    }
  }
  if (cfg.engine.redis()) {
    // Each audit ends with clear(); this one is for a run whose last audit failed, so that
    // a shared server keeps nothing of the run.
    try {
      table->clear();
    } catch (const std::exception &ex) {
      std::fprintf(stderr, "shmtable-stress: clearing %s failed: %s\n", cfg.table.name.c_str(),
                   ex.what());
    }
  }
  table.reset(); // the last handle: the segment goes away
  return all.report(c);
}

} // namespace shmtable::stress::driver
