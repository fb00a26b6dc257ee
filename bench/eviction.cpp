// bench/eviction.cpp: shmtable-eviction, the eviction study's measuring tool
// (bench/eviction_study.py runs it and writes the results folder).
//
// One seeded scrambled-zipfian trace (bench/eviction.hpp), replayed cache-aside (get; on
// a miss, set) against simulated policies at each capacity, and against a redis-server
// of its own with allkeys-lru, its maxmemory calibrated to hold the same number of
// entries. Hits and read stores are counted from request --warmup on. One CSV row per
// (policy, capacity) on standard output (or --csv FILE); progress on standard error.
//
// --replay-trace FILE --policy P --capacity C --warmup W: one simulated policy over a
// trace file written by --write-trace (a key a line), printing
// "hits=H gets=G read_stores=S": the reference for the study's --engine-cmd protocol.
// --policy engine replays it through a real LockFreeTable with Options::eviction instead
// (replay_engine below), the study's engine column.
#include <fcntl.h>
#include <getopt.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <shmtable/config.hpp>
#include <shmtable/lockfree_table.hpp>
#include <shmtable/segment.hpp>

#include "eviction.hpp"
#include "keys.hpp"
#include "lockfree_layout.hpp" // src/: where the reference marks lie (marks_offset_for)

#if SHMTABLE_HAVE_HIREDIS
#include <hiredis/hiredis.h>

#include "server.hpp" // support/
#endif

namespace shmtable::bench::eviction {
namespace {

struct Params {
  std::uint64_t keys = 100000;
  std::uint64_t requests = 2000000;
  std::uint64_t warmup = 500000;
  double theta = 0.99;
  std::uint64_t seed = 1;
  std::vector<double> capacities{25, 50, 90}; // percent of keys
  std::vector<std::string> policies{"lru",
                                    "random",
                                    "clock",
                                    "sampled-k5",
                                    "sampled-k5-pool",
                                    "sampled-k10-pool",
                                    "sampled-k5-e16",
                                    "sampled-k5-e16-pool",
                                    "sampled-k10-e16",
                                    "sampled-k5-e4",
                                    "sampled-k5-e64"};
  std::vector<unsigned> redis_samples{5, 10};
  std::uint32_t key_bytes = 16;
  std::uint32_t value_bytes = 100;
  std::string csv;
  std::string write_trace;
  std::string trace_info;
  bool of_keys = false; // capacities in percent of --keys, not of the distinct keys requested
  // --replay-trace mode
  std::string replay_trace;
  std::string policy;
  std::uint64_t capacity = 0;
};

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

[[noreturn]] void usage(const std::string &error) {
  std::cerr
      << "shmtable-eviction: " << error << "\n"
      << "usage: shmtable-eviction [--keys N] [--requests R] [--warmup W] [--theta T]\n"
         "         [--seed S] [--capacities 25,50,90] [--policies LIST] [--redis-samples 5,10]\n"
         "         [--key-bytes K] [--value-bytes V] [--csv FILE] [--write-trace FILE]\n"
         "       shmtable-eviction --replay-trace FILE --policy P --capacity C --warmup W\n"
         "         [--value-bytes V] [--capacity-of distinct|keys] [--trace-info FILE]\n"
         "  --capacities: percent of the distinct keys the trace requests (default), or\n"
         "    of --keys with --capacity-of keys (the scrambling hashes ranks onto keys\n"
         "    modulo --keys, as YCSB does: some keys are never drawn)\n"
         "  --redis-samples none: no Redis runs\n"
         "  --trace-info FILE: the trace's parameters and figures as JSON\n"
         "  policies: lru (exact), random, clock (one reference bit per slot; clock-marked:\n"
         "    a new entry starts with its bit set, as the engine's did at first), and\n"
         "    sampled-kK[-eG|-tT][-pool]: evict the least recently used of K sampled\n"
         "    entries; -eG: a coarse clock, one epoch per capacity/G sets, a read stores\n"
         "    only into an entry stamped before the current epoch; -tT: a clock ticking\n"
         "    every T requests (default 1: exact); -pool: Redis' eviction pool of 16\n"
         "  --write-trace FILE: the trace's keys, one a line (for --engine-cmd)\n"
         "  --replay-trace FILE: replay FILE's keys cache-aside (get; on a miss, set), count\n"
         "    from request W on, print \"hits=H gets=G read_stores=S\" (the study's\n"
         "    --engine-cmd protocol). --policy engine: through a real LockFreeTable with\n"
         "    Options::eviction, in /dev/shm (a unique name, unlinked at once), of\n"
         "    ceil(C * 100 / kEvictLoadPercent) slots so that it holds C entries once full,\n"
         "    values of V bytes (default 100); S counts the hits whose slot's reference mark\n"
         "    was clear (the gets that stored one), and the line goes on with\n"
         "    \"evictions=E entries=N slots=M\": the table's stats().evictions over the whole\n"
         "    replay, its entries at the end, its slots\n";
  std::exit(2);
}

double number(const char *flag, const char *v, double lo, double hi) {
  char *end = nullptr;
  const double x = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(x >= lo && x <= hi)) {
    usage(std::string(flag) + ": '" + v + "' is not a number in [" + std::to_string(lo) + ", " +
          std::to_string(hi) + "]");
  }
  return x;
}

Params parse(int argc, char **argv) {
  Params p;
  static const option longs[] = {{"keys", required_argument, nullptr, 'n'},
                                 {"requests", required_argument, nullptr, 'r'},
                                 {"warmup", required_argument, nullptr, 'w'},
                                 {"theta", required_argument, nullptr, 'z'},
                                 {"seed", required_argument, nullptr, 's'},
                                 {"capacities", required_argument, nullptr, 'c'},
                                 {"policies", required_argument, nullptr, 'p'},
                                 {"redis-samples", required_argument, nullptr, 'R'},
                                 {"key-bytes", required_argument, nullptr, 'k'},
                                 {"value-bytes", required_argument, nullptr, 'v'},
                                 {"csv", required_argument, nullptr, 'o'},
                                 {"write-trace", required_argument, nullptr, 'T'},
                                 {"replay-trace", required_argument, nullptr, 'X'},
                                 {"trace-info", required_argument, nullptr, 'I'},
                                 {"capacity-of", required_argument, nullptr, 'O'},
                                 {"policy", required_argument, nullptr, 'P'},
                                 {"capacity", required_argument, nullptr, 'C'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "", longs, nullptr)) != -1;) {
    switch (c) {
    case 'n':
      p.keys = static_cast<std::uint64_t>(number("--keys", optarg, 1, 4e9));
      break;
    case 'r':
      p.requests = static_cast<std::uint64_t>(number("--requests", optarg, 1, 1e10));
      break;
    case 'w':
      p.warmup = static_cast<std::uint64_t>(number("--warmup", optarg, 0, 1e10));
      break;
    case 'z':
      p.theta = number("--theta", optarg, 0.01, 0.999);
      break;
    case 's':
      p.seed = static_cast<std::uint64_t>(number("--seed", optarg, 0, 1e18));
      break;
    case 'c':
      p.capacities.clear();
      for (const auto &x : split(optarg)) {
        p.capacities.push_back(number("--capacities", x.c_str(), 0.001, 100));
      }
      break;
    case 'p':
      p.policies = split(optarg);
      break;
    case 'R':
      p.redis_samples.clear();
      if (std::string(optarg) != "none") {
        for (const auto &x : split(optarg)) {
          p.redis_samples.push_back(
              static_cast<unsigned>(number("--redis-samples", x.c_str(), 1, 64)));
        }
      }
      break;
    case 'k':
      p.key_bytes = static_cast<std::uint32_t>(number("--key-bytes", optarg, 8, 1024));
      break;
    case 'v':
      p.value_bytes = static_cast<std::uint32_t>(number("--value-bytes", optarg, 1, 1 << 20));
      break;
    case 'o':
      p.csv = optarg;
      break;
    case 'T':
      p.write_trace = optarg;
      break;
    case 'X':
      p.replay_trace = optarg;
      break;
    case 'I':
      p.trace_info = optarg;
      break;
    case 'O':
      if (std::string(optarg) != "distinct" && std::string(optarg) != "keys") {
        usage("--capacity-of: '" + std::string(optarg) + "' is not distinct or keys");
      }
      p.of_keys = std::string(optarg) == "keys";
      break;
    case 'P':
      p.policy = optarg;
      break;
    case 'C':
      p.capacity = static_cast<std::uint64_t>(number("--capacity", optarg, 1, 4e9));
      break;
    default:
      usage(c == 'h' ? "help" : "unknown option");
    }
  }
  if (optind != argc) {
    usage(std::string("unexpected argument '") + argv[optind] + "'");
  }
  return p;
}

// A policy by name (see usage()), holding `capacity` of `keys` keys.
std::unique_ptr<Policy> make_policy(const std::string &name, std::uint64_t keys,
                                    std::uint64_t capacity, std::uint64_t seed) {
  if (name == "lru") {
    return std::make_unique<ExactLru>(keys, capacity);
  }
  if (name == "random") {
    return std::make_unique<RandomEviction>(keys, capacity, seed);
  }
  if (name == "clock") {
    return std::make_unique<Clock>(keys, capacity);
  }
  if (name == "clock-marked") {
    return std::make_unique<Clock>(keys, capacity, /*insert_marked=*/true);
  }
  if (name == "engine") {
    throw std::invalid_argument("policy 'engine': only with --replay-trace (it replays the trace "
                                "through a LockFreeTable, not a simulation)");
  }
  std::stringstream in(name);
  std::string part;
  std::getline(in, part, '-');
  if (part == "sampled") {
    unsigned k = 5;
    unsigned pool = 0;
    std::uint64_t epoch_every = 0;
    std::uint64_t tick_every = 1;
    bool ok = true;
    while (ok && std::getline(in, part, '-')) {
      char *end = nullptr;
      const unsigned long long x = part.size() > 1 ? std::strtoull(part.c_str() + 1, &end, 10) : 0;
      const bool numeric = part.size() > 1 && end != nullptr && *end == '\0' && x > 0;
      if (part == "pool") {
        pool = 16;
      } else if (part[0] == 'k' && numeric) {
        k = static_cast<unsigned>(x);
      } else if (part[0] == 'e' && numeric) {
        epoch_every = std::max<std::uint64_t>(1, capacity / x);
      } else if (part[0] == 't' && numeric) {
        tick_every = x;
      } else {
        ok = false;
      }
    }
    if (ok) {
      return std::make_unique<SampledLru>(keys, capacity, k, epoch_every, tick_every, pool, seed);
    }
  }
  throw std::invalid_argument("unknown policy '" + name + "' (see --help)");
}

struct Row {
  std::string policy;
  double capacity_pct = 0;
  std::uint64_t capacity = 0;
  Outcome o;
  std::string entries = ""; // Redis: the entries held, as sampled during the measured part
  std::string note = "";
};

void print_header(std::ostream &out) {
  out << "policy,capacity_pct,capacity,gets,hits,hit_ratio,read_stores,stores_per_get,entries,"
         "note\n";
}

void print_row(std::ostream &out, const Row &r) {
  char ratio[32], stores[32];
  std::snprintf(ratio, sizeof ratio, "%.6f", r.o.gets ? double(r.o.hits) / double(r.o.gets) : 0.0);
  std::snprintf(stores, sizeof stores, "%.6f",
                r.o.gets ? double(r.o.read_stores) / double(r.o.gets) : 0.0);
  out << r.policy << ',' << r.capacity_pct << ',' << r.capacity << ',' << r.o.gets << ','
      << r.o.hits << ',' << ratio << ',' << r.o.read_stores << ',' << stores << ',' << r.entries
      << ',' << r.note << '\n'
      << std::flush;
}

// The key set the capacities are percentages of: the distinct keys requested, or --keys.
std::uint64_t g_key_set = 0;

std::uint64_t capacity_of(const Params &, double pct) {
  return std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::llround(double(g_key_set) * pct / 100)));
}

struct TraceFigures {
  std::uint64_t distinct = 0;
  std::uint64_t top_key = 0;
  double top_share = 0;
};

TraceFigures figures_of(const std::vector<std::uint32_t> &trace, std::uint64_t keys) {
  std::vector<std::uint64_t> count(keys, 0);
  for (const auto k : trace) {
    ++count[k];
  }
  TraceFigures f;
  for (std::uint64_t k = 0; k < keys; ++k) {
    f.distinct += count[k] > 0 ? 1 : 0;
    if (count[k] > count[f.top_key]) {
      f.top_key = k;
    }
  }
  f.top_share = trace.empty() ? 0 : double(count[f.top_key]) / double(trace.size());
  return f;
}

#if SHMTABLE_HAVE_HIREDIS

struct ReplyFree {
  void operator()(redisReply *r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

class Redis {
public:
  explicit Redis(int port) : c_(redisConnect("127.0.0.1", port)) {
    if (c_ == nullptr || c_->err != 0) {
      throw std::runtime_error("redis: cannot connect: " +
                               std::string(c_ ? c_->errstr : "no memory"));
    }
  }
  ~Redis() { redisFree(c_); }
  Redis(const Redis &) = delete;
  Redis &operator=(const Redis &) = delete;

  Reply command(const std::string &cmd) {
    Reply r(static_cast<redisReply *>(redisCommand(c_, cmd.c_str())));
    if (!r || r->type == REDIS_REPLY_ERROR) {
      throw std::runtime_error("redis: " + cmd + ": " + (r ? r->str : c_->errstr));
    }
    return r;
  }
  std::int64_t integer(const std::string &cmd) { return command(cmd)->integer; }
  // A field of INFO's reply ("used_memory"), as a number.
  std::int64_t info(const std::string &section, const std::string &field) {
    const Reply r = command("INFO " + section);
    const std::string text(r->str, r->len);
    const auto at = text.find("\r\n" + field + ":");
    if (at == std::string::npos) {
      throw std::runtime_error("redis: INFO " + section + " has no " + field);
    }
    return std::strtoll(text.c_str() + at + 3 + field.size(), nullptr, 10);
  }

  // Cache-aside for keys[trace[i]], i in [from, to): "SET key value NX GET", one command
  // that is a get and, on a miss, the set (Redis 7): its reply is the GET's, a string on
  // a hit and nil on a miss, and on a hit it touches the key's LRU clock as GET does.
  // Pipelined by windows of kWindow commands. Returns the hits from index `count_from` on.
  std::uint64_t replay(const std::vector<std::string> &keys,
                       const std::vector<std::uint32_t> &trace, std::size_t from, std::size_t to,
                       std::size_t count_from, const std::string &value) {
    std::uint64_t hits = 0;
    for (std::size_t i = from; i < to; i += kWindow) {
      const std::size_t end = std::min(to, i + kWindow);
      for (std::size_t j = i; j < end; ++j) {
        const std::string &k = keys[trace[j]];
        redisAppendCommand(c_, "SET %b %b NX GET", k.data(), k.size(), value.data(), value.size());
      }
      for (std::size_t j = i; j < end; ++j) {
        void *reply = nullptr;
        if (redisGetReply(c_, &reply) != REDIS_OK) {
          throw std::runtime_error(std::string("redis: replay: ") + c_->errstr);
        }
        const Reply r(static_cast<redisReply *>(reply));
        if (r->type == REDIS_REPLY_STRING) {
          hits += j >= count_from ? 1 : 0;
        } else if (r->type != REDIS_REPLY_NIL) {
          throw std::runtime_error("redis: SET NX GET: " + (r->type == REDIS_REPLY_ERROR
                                                                ? std::string(r->str)
                                                                : "unexpected reply type"));
        }
      }
    }
    return hits;
  }

private:
  static constexpr std::size_t kWindow = 64;
  redisContext *c_;
};

// One replay of the whole trace from an empty database at `maxmemory`: hits from
// request `warmup` on, and DBSIZE read 20 times over the measured part.
struct RedisRun {
  std::uint64_t hits = 0;
  std::vector<std::int64_t> held;
  double mean_held = 0;
  double rate = 0;              // requests per second over the whole replay
  std::int64_t server_hits = 0; // INFO stats keyspace_hits: every hit, warm-up included
};

RedisRun redis_run(Redis &r, const std::vector<std::string> &keys,
                   const std::vector<std::uint32_t> &trace, std::size_t warmup,
                   std::int64_t maxmemory, const std::string &value) {
  RedisRun run;
  r.command("FLUSHALL");
  r.command("CONFIG SET maxmemory " + std::to_string(maxmemory));
  r.command("CONFIG RESETSTAT");
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t w = std::min(warmup, trace.size());
  const std::uint64_t warm_hits = r.replay(keys, trace, 0, w, 0, value);
  const std::size_t measured = trace.size() - w;
  for (int piece = 0; piece < 20 && measured > 0; ++piece) {
    run.hits +=
        r.replay(keys, trace, w + measured * piece / 20, w + measured * (piece + 1) / 20, w, value);
    run.held.push_back(r.integer("DBSIZE"));
    run.mean_held += double(run.held.back()) / 20;
  }
  run.rate = double(trace.size()) /
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.server_hits = r.info("stats", "keyspace_hits");
  if (static_cast<std::int64_t>(warm_hits + run.hits) != run.server_hits) { // the count is right
    throw std::runtime_error("redis: the replies counted " + std::to_string(warm_hits + run.hits) +
                             " hits, the server's keyspace_hits " +
                             std::to_string(run.server_hits));
  }
  return run;
}

// The maxmemory that holds `capacity` entries of the trace's sizes, found on the
// measured replay itself: the entries a maxmemory holds depend on the history (a fill of
// every key in order held 4-13 % fewer than the replay did at the same maxmemory). At
// each of the 20 DBSIZE readings the simulated table holds min(capacity, the distinct
// keys requested so far): less than the capacity while a large table still fills. A
// first guess is used_memory with exactly `capacity` keys; then whole replays, corrected
// by the secant through the last two (or the bytes per entry of a fill, at first), until
// the mean DBSIZE is within 0.5 % of the simulated tables' mean (at most 8 replays; the
// closest is kept). Returns the maxmemory, the run and that target mean.
std::tuple<std::int64_t, RedisRun, double>
calibrated_run(Redis &r, const std::vector<std::string> &keys,
               const std::vector<std::uint32_t> &trace, std::size_t warmup, std::uint64_t capacity,
               const std::string &value) {
  std::vector<std::uint32_t> fill(keys.size());
  for (std::uint32_t i = 0; i < fill.size(); ++i) {
    fill[i] = i;
  }
  r.command("FLUSHALL");
  r.command("CONFIG SET maxmemory 0");
  r.replay(keys, fill, 0, capacity, 0, value);
  const std::int64_t at_capacity = r.info("memory", "used_memory");
  const std::uint64_t more = std::min<std::uint64_t>(keys.size() - capacity, capacity / 10 + 1);
  r.replay(keys, fill, capacity, capacity + more, 0, value);
  double slope = double(r.info("memory", "used_memory") - at_capacity) / double(more);
  double target = 0;
  {
    std::vector<std::uint8_t> seen(keys.size(), 0);
    std::uint64_t distinct = 0;
    const std::size_t w = std::min(warmup, trace.size());
    const std::size_t measured = trace.size() - w;
    std::size_t i = 0;
    for (int piece = 0; piece < 20 && measured > 0; ++piece) {
      for (const std::size_t to = w + measured * (piece + 1) / 20; i < to; ++i) {
        distinct += seen[trace[i]] ? 0 : 1;
        seen[trace[i]] = 1;
      }
      target += double(std::min(distinct, capacity)) / 20;
    }
  }
  const auto within = [&](double held) { return std::abs(held - target) <= target * 0.005; };
  std::int64_t m = at_capacity;
  std::int64_t best_m = 0;
  RedisRun best;
  best.mean_held = -1e18;
  std::int64_t last_m = 0;
  double last_held = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    RedisRun run = redis_run(r, keys, trace, warmup, m, value);
    std::cerr << "    maxmemory " << m << ": " << std::llround(run.mean_held)
              << " entries held on average (the simulated table's: " << std::llround(target)
              << ")\n";
    if (std::abs(run.mean_held - target) < std::abs(best.mean_held - target)) {
      best = run;
      best_m = m;
    }
    if (within(run.mean_held)) {
      break;
    }
    if (attempt > 0 && run.mean_held != last_held) {
      slope = std::clamp(double(m - last_m) / (run.mean_held - last_held), 50.0, 5000.0);
    }
    last_m = m;
    last_held = run.mean_held;
    m += static_cast<std::int64_t>((target - run.mean_held) * slope);
  }
  return {best_m, best, target};
}

// Redis allkeys-lru at each capacity and maxmemory-samples value, on a server of its own;
// then, for each, the simulated Redis algorithm with a clock of Redis' resolution (1 s)
// at the replay's measured rate: how far Redis' own clock explains its figure.
void run_redis(const Params &p, const std::vector<std::uint32_t> &trace, std::ostream &out) {
  std::string why;
  auto server = support::RedisServer::start(why);
  if (!server) {
    std::cerr << "==> redis: skipped: " << why << "\n";
    return;
  }
  Redis r(server->process().port());
  r.command("CONFIG SET maxmemory-policy allkeys-lru");
  const std::vector<std::string> keys = make_keys(p.keys, p.key_bytes, 'k');
  const std::string value(p.value_bytes, 'v');
  for (const double pct : p.capacities) {
    const std::uint64_t cap = capacity_of(p, pct);
    if (cap >= p.keys) {
      std::cerr << "==> redis: capacity " << cap << " holds every key: skipped\n";
      continue;
    }
    for (const unsigned samples : p.redis_samples) {
      std::cerr << "==> redis: allkeys-lru, maxmemory-samples " << samples
                << ", finding the maxmemory that holds " << cap << " entries\n";
      r.command("CONFIG SET maxmemory-samples " + std::to_string(samples));
      const auto [maxmemory, run, target] = calibrated_run(r, keys, trace, p.warmup, cap, value);
      Row row;
      row.policy = "redis-allkeys-lru-k" + std::to_string(samples);
      row.capacity_pct = pct;
      row.capacity = cap;
      row.o.gets = trace.size() - std::min(p.warmup, trace.size());
      row.o.hits = run.hits;
      row.o.read_stores = run.hits; // Redis stores its LRU clock into the object on every hit
      if (!run.held.empty()) {
        const auto [lo, hi] = std::minmax_element(run.held.begin(), run.held.end());
        char buf[128];
        std::snprintf(buf, sizeof buf, "%.0f (%lld-%lld; simulated %.0f)", run.mean_held,
                      static_cast<long long>(*lo), static_cast<long long>(*hi), target);
        row.entries = buf;
      }
      char note[160];
      std::snprintf(note, sizeof note, "maxmemory %lld; %.0f requests/s",
                    static_cast<long long>(maxmemory), run.rate);
      row.note = note;
      std::cerr << "==> redis allkeys-lru samples " << samples << " at " << cap
                << " entries: hit ratio "
                << double(run.hits) / double(std::max<std::uint64_t>(1, row.o.gets)) << ", "
                << row.entries << " entries held, " << std::llround(run.rate) << " requests/s\n";
      print_row(out, row);

      // The same algorithm simulated with Redis' 1 s clock at this replay's rate.
      const auto tick =
          std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(run.rate)));
      const std::string name =
          "sampled-k" + std::to_string(samples) + "-t" + std::to_string(tick) + "-pool";
      auto sim = make_policy(name, p.keys, cap, p.seed + 17);
      Row s;
      s.policy = "sampled-k" + std::to_string(samples) + "-pool-redis-clock";
      s.capacity_pct = pct;
      s.capacity = cap;
      s.o = eviction::replay(*sim, trace, p.warmup);
      s.note = "simulated: " + name + " (Redis' 1 s clock at the replay's rate)";
      print_row(out, s);
    }
  }
}

#endif

void write_trace(const Params &p, const std::vector<std::uint32_t> &trace) {
  const std::vector<std::string> keys = make_keys(p.keys, p.key_bytes, 'k');
  std::ofstream out(p.write_trace);
  for (const auto k : trace) {
    out << keys[k] << '\n';
  }
  if (!out.flush()) {
    throw std::runtime_error("cannot write " + p.write_trace);
  }
}

// A read-only view of a table's reference marks (E1, papers/protocol.md section 15),
// mapped from the segment's file: which hits stored a mark. Single-threaded replay: the
// mark a get sees before its own touch() is the one it decides on.
class MarksView {
public:
  MarksView(const std::string &shm_name, const LockFreeTable &t) {
    const std::string file = "/dev/shm/" + shm_name;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw std::runtime_error(
          file + ": cannot open to read the reference marks: " + std::strerror(errno));
    }
    bytes_ = t.layout().total_bytes;
    void *base = ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (base == MAP_FAILED) {
      throw std::runtime_error(file + ": cannot map: " + std::strerror(errno));
    }
    base_ = static_cast<const std::byte *>(base);
    const std::uint64_t off =
        detail::lockfree::marks_offset_for(t.layout(), LockFreeTable::buffers_for(t.capacity()));
    if (off + t.capacity() * sizeof(std::uint64_t) > bytes_) {
      throw std::runtime_error(file + ": no reference marks (a table without eviction?)");
    }
    marks_ = reinterpret_cast<const std::uint64_t *>(base_ + off);
  }
  ~MarksView() { ::munmap(const_cast<std::byte *>(base_), bytes_); }
  MarksView(const MarksView &) = delete;
  MarksView &operator=(const MarksView &) = delete;

  bool marked(std::uint64_t slot) const noexcept {
    return __atomic_load_n(marks_ + slot, __ATOMIC_RELAXED) != 0;
  }

private:
  const std::byte *base_ = nullptr;
  std::size_t bytes_ = 0;
  const std::uint64_t *marks_ = nullptr;
};

// --replay-trace with --policy engine: the keys cache-aside through a LockFreeTable that
// evicts (get_cached, whose reader is told the slot before the get marks it; on a miss,
// set), sized to hold `capacity` entries once full: evict_at_for(slots) == capacity.
int replay_engine(const Params &p, const std::vector<std::string> &keys) {
  const std::uint64_t slots = (p.capacity * 100 + kEvictLoadPercent - 1) / kEvictLoadPercent;
  if (detail::lockfree::evict_at_for(slots) != p.capacity) {
    throw std::runtime_error("--capacity " + std::to_string(p.capacity) + ": " +
                             std::to_string(slots) + " slots hold " +
                             std::to_string(detail::lockfree::evict_at_for(slots)) + " entries");
  }
  std::size_t key_bytes = 1;
  for (const auto &k : keys) {
    key_bytes = std::max(key_bytes, k.size());
  }
  Options o;
  o.name = "shmtable-eviction-" + std::to_string(::getpid());
  o.capacity = slots;
  o.max_key_bytes = static_cast<std::uint32_t>(key_bytes);
  o.max_value_bytes = p.value_bytes;
  o.eviction = true;
  o.persist = false;
  o.open_mode = OpenMode::kCreate;
  o.one_thread = true;
  LockFreeTable t(o);
  std::optional<MarksView> marks;
  try {
    marks.emplace(o.name, t);
  } catch (...) {
    shmtable::unlink(o.name);
    throw;
  }
  shmtable::unlink(o.name); // nothing left behind, whatever happens next
  struct Seen {
    const MarksView *marks;
    bool stored = false; // this get's hit found its slot's mark clear
  } seen{&*marks};
  const CachingReader reader{[](void *ctx, std::uint64_t slot, std::uint64_t) {
                               auto *s = static_cast<Seen *>(ctx);
                               s->stored = !s->marks->marked(slot);
                               return false; // nothing held: read it
                             },
                             [](void *, const ValueView &, std::uint64_t, std::uint64_t) {}};
  const std::string value(p.value_bytes, 'v');
  std::uint64_t hits = 0, gets = 0, stores = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    seen.stored = false;
    const bool hit = t.get_cached(keys[i], reader, &seen) != CachedGet::kAbsent;
    if (!hit) {
      t.set(keys[i], value);
    }
    if (i >= p.warmup) {
      ++gets;
      hits += hit ? 1 : 0;
      stores += hit && seen.stored ? 1 : 0;
    }
  }
  const TableStats st = t.stats();
  std::cout << "hits=" << hits << " gets=" << gets << " read_stores=" << stores
            << " evictions=" << st.evictions << " entries=" << t.size() << " slots=" << slots
            << "\n";
  return 0;
}

// --replay-trace: keys as strings, numbered in order of first appearance.
int replay_file(const Params &p) {
  if (p.policy.empty() || p.capacity == 0) {
    usage("--replay-trace needs --policy and --capacity");
  }
  std::ifstream in(p.replay_trace);
  if (!in) {
    throw std::runtime_error("cannot read " + p.replay_trace);
  }
  if (p.policy == "engine") {
    std::vector<std::string> keys;
    for (std::string line; std::getline(in, line);) {
      keys.push_back(std::move(line));
    }
    return replay_engine(p, keys);
  }
  std::unordered_map<std::string, std::uint32_t> ids;
  std::vector<std::uint32_t> trace;
  for (std::string line; std::getline(in, line);) {
    trace.push_back(ids.try_emplace(line, static_cast<std::uint32_t>(ids.size())).first->second);
  }
  auto policy = make_policy(p.policy, std::max<std::uint64_t>(1, ids.size()), p.capacity, p.seed);
  const Outcome o = eviction::replay(*policy, trace, p.warmup);
  std::cout << "hits=" << o.hits << " gets=" << o.gets << " read_stores=" << o.read_stores << "\n";
  return 0;
}

int run(int argc, char **argv) {
  const Params p = parse(argc, argv);
  if (!p.replay_trace.empty()) {
    return replay_file(p);
  }
  for (const auto &name : p.policies) { // refuse a bad name before any work
    make_policy(name, 1, 1, 0);
  }
  std::cerr << "==> trace: " << p.requests << " requests over " << p.keys
            << " keys, scrambled zipfian theta " << p.theta << ", seed " << p.seed << "\n";
  const auto trace = make_trace(p.keys, p.requests, p.theta, p.seed);
  const TraceFigures f = figures_of(trace, p.keys);
  g_key_set = p.of_keys ? p.keys : f.distinct;
  double zeta = 0;
  for (std::uint64_t i = 1; i <= p.keys; ++i) {
    zeta += 1 / std::pow(double(i), p.theta);
  }
  std::cerr << "==> " << f.distinct << " distinct keys requested; the hottest takes " << f.top_share
            << " of the requests (rank 0's share in theory: " << 1 / zeta << ")\n";
  if (!p.trace_info.empty()) {
    std::ofstream info(p.trace_info);
    info << "{\"keys\": " << p.keys << ", \"requests\": " << p.requests
         << ", \"warmup\": " << p.warmup << ", \"theta\": " << p.theta << ", \"seed\": " << p.seed
         << ", \"distinct_keys\": " << f.distinct << ", \"key_set\": " << g_key_set
         << ", \"capacity_of\": \"" << (p.of_keys ? "keys" : "distinct")
         << "\", \"top_key_share\": " << f.top_share << ", \"rank0_share_theory\": " << 1 / zeta
         << ", \"key_bytes\": " << p.key_bytes << ", \"value_bytes\": " << p.value_bytes
         << ", \"full_after\": {";
    // Per capacity: the requests after which the table is full (its capacity of distinct
    // keys requested), or null if it never fills.
    for (std::size_t c = 0; c < p.capacities.size(); ++c) {
      const std::uint64_t cap = capacity_of(p, p.capacities[c]);
      std::vector<std::uint8_t> seen(p.keys, 0);
      std::uint64_t distinct = 0;
      std::size_t i = 0;
      for (; i < trace.size() && distinct < cap; ++i) {
        distinct += seen[trace[i]] ? 0 : 1;
        seen[trace[i]] = 1;
      }
      info << (c ? ", " : "") << '"' << p.capacities[c]
           << "\": " << (distinct >= cap ? std::to_string(i) : std::string("null"));
    }
    info << "}}\n";
    if (!info.flush()) {
      throw std::runtime_error("cannot write " + p.trace_info);
    }
  }
  if (!p.write_trace.empty()) {
    write_trace(p, trace);
  }
  std::ofstream file;
  if (!p.csv.empty()) {
    file.open(p.csv);
    if (!file) {
      throw std::runtime_error("cannot write " + p.csv);
    }
  }
  std::ostream &out = p.csv.empty() ? std::cout : file;
  print_header(out);
  for (const double pct : p.capacities) {
    const std::uint64_t cap = capacity_of(p, pct);
    for (const auto &name : p.policies) {
      auto policy = make_policy(name, p.keys, cap, p.seed + 17);
      Row row;
      row.policy = name;
      row.capacity_pct = pct;
      row.capacity = cap;
      row.o = eviction::replay(*policy, trace, p.warmup);
      row.note = "simulated";
      std::cerr << "==> " << name << " at " << cap << " entries: hit ratio "
                << double(row.o.hits) / double(std::max<std::uint64_t>(1, row.o.gets)) << "\n";
      print_row(out, row);
    }
  }
  if (!p.redis_samples.empty()) {
#if SHMTABLE_HAVE_HIREDIS
    run_redis(p, trace, out);
#else
    std::cerr << "==> redis: skipped: built without hiredis (apt-get install libhiredis-dev)\n";
#endif
  }
  return 0;
}

} // namespace
} // namespace shmtable::bench::eviction

int main(int argc, char **argv) {
  try {
    return shmtable::bench::eviction::run(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "shmtable-eviction: " << e.what() << "\n";
    return 1;
  }
}
