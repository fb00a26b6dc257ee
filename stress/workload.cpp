// stress/workload.cpp: the worker loop. One process runs one lane; see shared_log.hpp
// for the record protocol and values.hpp for the values it writes and judges.
#include "workload.hpp"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <exception>
#include <random>
#include <unordered_map>

#include "../src/expiry.hpp"
#include "operation.hpp"
#include "values.hpp"

namespace shmtable::stress {

std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t table_clock_ns() noexcept { return detail::clock_now_ns(); }

std::string key_name(const RunConfig &cfg, std::uint64_t id) {
  if (cfg.scenario == Scenario::kChurn) {
    return key_text(id, cfg.key_bytes);
  }
  return cfg.keys[id];
}

std::string oversize_key(const RunConfig &cfg) {
  return std::string(cfg.table.max_key_bytes + 1, 'K');
}
std::string oversize_value(const RunConfig &cfg) {
  return std::string(cfg.table.max_value_bytes + 1, 'V');
}

namespace {

// What this worker last saw under a key: the expected value of its compare_and_set.
struct Seen {
  bool present = false;
  ArgKind kind = ArgKind::kValueId;
  std::uint64_t bits = 0;
};

class Worker {
public:
  Worker(const RunConfig &cfg, const SharedLog &log, std::size_t lane, std::uint32_t process)
      : cfg_(cfg), log_(log), lane_(log.lane(lane)), lane_index_(lane), records_(log.records(lane)),
        process_(process), rng_(cfg.seed * 0x9e3779b97f4a7c15ULL + process + 1) {}

  void run() {
    table_ = open_table(cfg_.engine, cfg_.table);
    if (cfg_.scenario == Scenario::kChurn) {
      recover_lane_keys();
    }
    // The first workers start together, so that a short run is concurrent from its first
    // operation. Release/acquire: nothing rides on these flags but timing.
    LogHeader &h = log_.header();
    h.ready.fetch_add(1, std::memory_order_release);
    while (!h.go.load(std::memory_order_acquire)) {
      sched_yield();
    }
    // Relaxed: `next` is this lane's own counter (its previous owner is dead and reaped).
    for (std::uint64_t i = lane_.next.load(std::memory_order_relaxed); i < records_.size(); ++i) {
      // Relaxed: a stop that is seen one operation late costs nothing.
      if (log_.header().stop.load(std::memory_order_relaxed)) {
        break;
      }
      if (cfg_.on_tick != 0 && i % cfg_.on_tick == 0) {
        wait_for_tick();
      }
      if (cfg_.oversize_permille && below(cfg_.oversize_permille, 1000)) {
        try_oversize(i);
      } else {
        one_op(i);
      }
    }
    table_->close();
  }

private:
  bool below(unsigned n, unsigned of) { return rng_() % of < n; }

  // Until the table clock ticks (or the run stops): the entries whose deadline that tick
  // passes expire together, and every worker waiting meets them at once, each after a
  // short random spin, so that their operations overlap at every offset.
  void wait_for_tick() {
    const std::uint64_t now = table_clock_ns();
    // Relaxed: as the stop check of run().
    while (table_clock_ns() == now && !log_.header().stop.load(std::memory_order_relaxed)) {
    }
    for (std::uint64_t spin = rng_() % 512; spin-- > 0;) {
      __builtin_ia32_pause();
    }
  }

  std::uint64_t fresh_value_id() { return (std::uint64_t{process_} << 32) | ++seq_; }

  std::string text_of(ArgKind kind, std::uint64_t bits) const {
    return kind == ArgKind::kNumber ? std::to_string(static_cast<std::int64_t>(bits))
                                    : value_text(bits, cfg_.value_bytes);
  }

  OpKind pick_op() {
    if (lane_index_ == 0 && cfg_.clear_permille && below(cfg_.clear_permille, 1000)) {
      return OpKind::kClear;
    }
    const Mix &m = cfg_.mix;
    unsigned r = static_cast<unsigned>(rng_() % 100);
    const std::pair<unsigned, OpKind> table[] = {{m.get, OpKind::kGet},
                                                 {m.set, OpKind::kSet},
                                                 {m.erase, OpKind::kErase},
                                                 {m.contains, OpKind::kContains},
                                                 {m.add, OpKind::kAdd},
                                                 {m.compare_and_set, OpKind::kCompareAndSet},
                                                 {m.set_if_absent, OpKind::kSetIfAbsent}};
    for (const auto &[w, op] : table) {
      if (r < w) {
        return op;
      }
      r -= w;
    }
    return OpKind::kGet;
  }

  // Churn: insert fresh keys up to this lane's share of the load, erase the oldest,
  // read back live ones (hits) and never-written ones (misses).
  OpKind pick_churn(std::uint64_t &key) {
    const auto share =
        static_cast<std::size_t>(cfg_.load_factor * double(cfg_.table.capacity) / cfg_.procs);
    const unsigned r = static_cast<unsigned>(rng_() % 100);
    if (live_.size() < share && r < 60) {
      key = (std::uint64_t{process_} << 32) | ++key_seq_;
      live_.push_back(key);
      return r < 30 ? OpKind::kSet : OpKind::kSetIfAbsent;
    }
    if (live_.empty() || r < 10) {
      key = (std::uint64_t{process_} << 32) | (key_seq_ + 1 + rng_() % 1000); // a miss
      return OpKind::kGet;
    }
    if (r < 45 || live_.size() >= share) {
      key = live_.front();
      live_.pop_front();
      return OpKind::kErase;
    }
    key = live_[rng_() % live_.size()];
    return r < 85 ? OpKind::kGet : OpKind::kAdd;
  }

  // A replacement for a killed churn worker takes over the keys its lane left behind,
  // so that kills do not raise the load factor.
  void recover_lane_keys() {
    std::unordered_map<std::uint64_t, bool> present;
    std::deque<std::uint64_t> order;
    // Relaxed: the lane's previous writers are dead and reaped, and fork() ordered the
    // parent's view (which saw them reaped) before this process started.
    for (std::uint64_t i = 0; i < lane_.next.load(std::memory_order_relaxed); ++i) {
      const Record &r = records_[i];
      const auto op = static_cast<OpKind>(r.op);
      if (r.oversize != Oversize::kNone) {
        continue; // refused, or a violation already counted: it inserted nothing
      }
      if (op == OpKind::kSet || op == OpKind::kSetIfAbsent) {
        if (!present.count(r.key)) {
          order.push_back(r.key);
        }
        present[r.key] = true;
      } else if (op == OpKind::kErase) {
        present[r.key] = false;
      }
      key_seq_ = std::max<std::uint64_t>(key_seq_, r.key & 0xffffffffULL);
    }
    for (const std::uint64_t k : order) {
      if (present[k]) {
        live_.push_back(k);
      }
    }
  }

  void one_op(std::uint64_t i) {
    Record &r = records_[i];
    std::uint64_t key = 0;
    OpKind op = OpKind::kGet;
    if (cfg_.scenario == Scenario::kChurn) {
      op = pick_churn(key);
    } else {
      op = pick_op();
      key = rng_() % cfg_.keys.size();
    }
    Seen &seen = seen_[key];
    if (op == OpKind::kCompareAndSet && !seen.present) {
      op = OpKind::kGet; // nothing to compare with yet: look first
    }
    const std::string k = op == OpKind::kClear ? std::string() : key_name(cfg_, key);
    std::string v, expected;
    r.process = process_;
    r.op = static_cast<std::uint8_t>(op);
    r.key = key;
    r.arg = r.arg2 = r.out = 0;
    r.arg2_kind = ArgKind::kValueId;
    r.oversize = Oversize::kNone;
    r.out_kind = Out::kNone;
    r.response_clock = kUnknownClock;
    r.ttl_ns = 0;
    r.response_ns.store(0, std::memory_order_relaxed); // relaxed: published by `next` below
    if ((op == OpKind::kSet || op == OpKind::kSetIfAbsent || op == OpKind::kAdd) &&
        cfg_.ttl_ms != 0 && below(cfg_.ttl_percent, 100)) {
      r.ttl_ns = static_cast<std::uint32_t>((1 + rng_() % cfg_.ttl_ms) * 1'000'000);
    }
    switch (op) {
    case OpKind::kSet:
    case OpKind::kSetIfAbsent:
      r.arg = fresh_value_id();
      v = value_text(r.arg, cfg_.value_bytes);
      break;
    case OpKind::kCompareAndSet:
      r.arg = fresh_value_id();
      v = value_text(r.arg, cfg_.value_bytes);
      r.arg2 = seen.bits;
      r.arg2_kind = seen.kind;
      expected = text_of(seen.kind, seen.bits);
      break;
    case OpKind::kAdd:
      r.arg = 1 + rng_() % 9;
      break;
    default:
      break;
    }
    stamp_invocation(r);
    // Release: the parent's progress poll that acquires `next` sees a whole record.
    // From this store on, the operation counts as invoked (it may take effect).
    lane_.next.store(i + 1, std::memory_order_release);
    try {
      execute(op, k, v, expected, r, seen);
    } catch (const Error &e) {
      r.out_kind = Out::kError;
      r.out = static_cast<std::uint64_t>(e.code());
      // table_full only from a write that may need a slot or a record buffer; which of
      // them, and in which state, is the history checker's to judge (checker.hpp).
      const bool writes = op == OpKind::kSet || op == OpKind::kAdd ||
                          op == OpKind::kCompareAndSet || op == OpKind::kSetIfAbsent;
      const bool expected_error = (writes && e.code() == Errc::kTableFull) ||
                                  (op == OpKind::kAdd && e.code() == Errc::kNotANumber);
      if (!expected_error) {
        violation("%s on key %s threw %s: %s", std::string(to_string(op)).c_str(), k.c_str(),
                  std::string(to_string(e.code())).c_str(), e.what());
      }
      if (e.code() == Errc::kNotANumber) {
        seen.present = true; // the value is there, whatever it is
      }
    }
    stamp_response(r, i);
  }

  // The times of a record: the table clock read before the history's clock at the
  // invocation and after it at the response, so that the table's own reading inside
  // the operation lies between them (checker_expiry.hpp).
  static void stamp_invocation(Record &r) {
    r.invoke_clock = table_clock_ns();
    r.invoke_ns = now_ns();
  }
  void stamp_response(Record &r, std::uint64_t i) {
    const std::uint64_t response = now_ns();
    const std::uint64_t clock = table_clock_ns() - r.invoke_clock;
    r.response_clock = clock < kUnknownClock ? static_cast<std::uint32_t>(clock) : kUnknownClock;
    // Release (both): the parent's poll that acquires `done` or response_ns sees the result.
    r.response_ns.store(response, std::memory_order_release);
    lane_.done.store(i + 1, std::memory_order_release);
  }

  void execute(OpKind op, const std::string &k, const std::string &v, const std::string &expected,
               Record &r, Seen &seen) {
    switch (op) {
    case OpKind::kGet:
      judge(table_->get(k), k, r, seen);
      break;
    case OpKind::kSet:
      if (r.ttl_ns != 0) {
        table_->set(k, v, std::chrono::nanoseconds(r.ttl_ns));
      } else {
        table_->set(k, v);
      }
      r.out_kind = Out::kOk;
      seen = {true, ArgKind::kValueId, r.arg};
      break;
    case OpKind::kErase:
      r.out_kind = Out::kBool;
      r.out = table_->erase(k);
      seen.present = false;
      break;
    case OpKind::kContains:
      r.out_kind = Out::kBool;
      r.out = table_->contains(k);
      break;
    case OpKind::kAdd: {
      const auto d = static_cast<std::int64_t>(r.arg);
      const std::int64_t n =
          r.ttl_ns != 0 ? table_->add(k, d, std::chrono::nanoseconds(r.ttl_ns)) : table_->add(k, d);
      r.out_kind = Out::kNumber;
      r.out = static_cast<std::uint64_t>(n);
      seen = {true, ArgKind::kNumber, r.out};
      break;
    }
    case OpKind::kCompareAndSet:
      r.out_kind = Out::kBool;
      r.out = table_->compare_and_set(k, expected, v);
      if (r.out) {
        seen = {true, ArgKind::kValueId, r.arg};
      } else {
        seen.present = false; // unknown now: look again before the next compare
      }
      break;
    case OpKind::kSetIfAbsent:
      r.out_kind = Out::kBool;
      r.out = r.ttl_ns != 0 ? table_->set_if_absent(k, v, std::chrono::nanoseconds(r.ttl_ns))
                            : table_->set_if_absent(k, v);
      if (r.out) {
        seen = {true, ArgKind::kValueId, r.arg};
      }
      break;
    case OpKind::kClear:
      table_->clear();
      r.out_kind = Out::kOk;
      break;
    }
  }

  void judge(const std::optional<std::string> &got, const std::string &k, Record &r, Seen &seen) {
    if (!got) {
      r.out_kind = Out::kAbsent;
      seen.present = false;
      return;
    }
    const ReadValue rv = judge_value(*got, cfg_.value_bytes);
    switch (rv.kind) {
    case ReadValue::Kind::kValue:
      r.out_kind = Out::kValueId;
      r.out = rv.id;
      seen = {true, ArgKind::kValueId, rv.id};
      break;
    case ReadValue::Kind::kNumber:
      r.out_kind = Out::kNumber;
      r.out = static_cast<std::uint64_t>(rv.number);
      seen = {true, ArgKind::kNumber, r.out};
      break;
    case ReadValue::Kind::kGarbage:
      r.out_kind = Out::kGarbage;
      r.out = log_.keep_garbage(lane_index_, *got);
      seen.present = false;
      violation("get %s returned a value that no process wrote (%zu bytes, \"%.40s\"): torn or "
                "invented",
                k.c_str(), got->size(), got->c_str());
      break;
    }
  }

  // limits: one byte over each limit must be refused with the limit's own code. The
  // attempt is recorded (record i) like any operation, so that the history shows it
  // and the checker holds it to "no effect" (a value-side attempt on a live key).
  void try_oversize(std::uint64_t i) {
    Record &r = records_[i];
    const bool key_side = below(1, 2);
    r.process = process_;
    r.op = static_cast<std::uint8_t>(OpKind::kSet);
    r.key = rng_() % cfg_.keys.size();
    r.arg = r.arg2 = r.out = 0;
    r.arg2_kind = ArgKind::kValueId;
    r.oversize = key_side ? Oversize::kKey : Oversize::kValue;
    r.out_kind = Out::kNone;
    r.response_clock = kUnknownClock;
    r.ttl_ns = 0;
    r.response_ns.store(0, std::memory_order_relaxed); // relaxed: published by `next` below
    const std::string k = key_side ? oversize_key(cfg_) : key_name(cfg_, r.key);
    const std::string v = key_side ? std::string("x") : oversize_value(cfg_);
    stamp_invocation(r);
    lane_.next.store(i + 1, std::memory_order_release); // as in one_op()
    try {
      table_->set(k, v);
      r.out_kind = Out::kOk;
      violation("set with a %s one byte over the limit was accepted", key_side ? "key" : "value");
    } catch (const Error &e) {
      r.out_kind = Out::kError;
      r.out = static_cast<std::uint64_t>(e.code());
      const Errc want = key_side ? Errc::kKeyTooLarge : Errc::kValueTooLarge;
      if (e.code() != want) {
        violation("oversize %s gave %s, not %s", key_side ? "key" : "value",
                  std::string(to_string(e.code())).c_str(), std::string(to_string(want)).c_str());
      }
    }
    stamp_response(r, i); // as in one_op()
  }

  template <class... Args> void violation(const char *fmt, Args... args) {
    // Relaxed: a count, read by the parent after polling or reaping.
    log_.header().online.fetch_add(1, std::memory_order_relaxed);
    if (++printed_ <= 3) {
      std::fprintf(stderr, "VIOLATION (process %u): ", process_);
      std::fprintf(stderr, fmt, args...);
      std::fputc('\n', stderr);
    }
  }

  const RunConfig &cfg_;
  const SharedLog &log_;
  Lane &lane_;
  std::size_t lane_index_;
  std::span<Record> records_;
  std::uint32_t process_;
  std::mt19937_64 rng_;
  std::unique_ptr<AnyTable> table_;
  std::unordered_map<std::uint64_t, Seen> seen_;
  std::deque<std::uint64_t> live_; // churn: this lane's keys, oldest first
  std::uint64_t seq_ = 0;
  std::uint64_t key_seq_ = 0;
  unsigned printed_ = 0;
};

} // namespace

void run_worker(const RunConfig &cfg, const SharedLog &log, std::size_t lane,
                std::uint32_t process) {
  int code = 0;
  try {
    Worker(cfg, log, lane, process).run();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "worker %u: %s\n", process, e.what());
    code = 3;
  }
  std::fflush(stderr);
  _exit(code);
}

} // namespace shmtable::stress
