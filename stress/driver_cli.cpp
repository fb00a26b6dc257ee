// stress/driver_cli.cpp: shmtable-stress's command line (driver_cli.hpp).
#include "driver_cli.hpp"

#include <getopt.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "any_table.hpp"
#include "values.hpp"

namespace shmtable::stress::driver {
namespace {

constexpr const char *kUsage = R"(usage: shmtable-stress COMMAND [options]

Commands (each runs worker processes against one fresh table, then checks everything):
  mix          random mix of all operations on a small hot key set (default 16 keys)
  full         more keys than slots: inserts race for the last free slots
  churn        distinct keys inserted and erased at a fixed load factor (--load)
  limits       keys and values exactly at the size limits, and one byte over
  collide      every key has the same home slot (adversarial probe collisions)
  clear-race   one worker calls clear() while the others write
  create-race  processes race to create the same segment, --rounds times
  check FILE   check a recorded history (JSON lines, see stress/README.md)

Options:
  --engine E            lockfree (default) | mutex (the faithful baseline) | robust |
                        redis (a RedisTable on a server, each worker process over a
                        connection of its own; not full, collide, create-race: a server
                        has no slots to fill or collide in, nor a segment to create)
  --redis-url URL       redis: the server, redis://HOST:PORT (default: a redis-server
                        that the run starts on a free loopback port and stops at the end)
  --procs N             worker processes (default 4)
  --ops N               total operations (default 200000 unless --seconds is given)
  --seconds S           run for S seconds instead
  --max-ops N           operations per epoch (default 8000000; redis with --crash:
                        500000): a longer run goes in epochs, each audited and checked
                        on its own, so memory stays bounded whatever the length
  --keys N              key set size (mix, limits, collide, clear-race; full: 1.5 x capacity)
  --capacity N          table slots (default 1024; full: 64); redis has no slots: there
                        it only sizes churn's live keys (load x capacity)
  --same-fingerprint    collide, lockfree: the keys share their fingerprint too, so only
                        their records tell them apart (the search tries about
                        capacity x 65536 keys per key: keep --capacity small)
  --load F              churn: load factor kept (default 0.5)
  --value-bytes N       value length (default 32; limits: the table's max)
  --ttl-ms N            expiry: a share (--ttl-percent, default 50) of the sets,
                        set_if_absents and adds carry a ttl of 1..N ms (at most 4000),
                        so entries expire during the run; the history records the table
                        clock, and the checker holds each entry to its deadline
                        (shared-memory engines; not churn, limits)
  --ttl-percent P       with --ttl-ms: the share of those writes that carry a ttl
  --on-tick N           with --ttl-ms: every Nth operation of a worker waits for the
                        table clock's next tick first, so that workers meet entries
                        together as they expire (races between an expiry's free and a
                        write; far fewer operations per second)
  --crash               SIGKILL random workers at random moments and start replacements
  --kill-interval-ms N  mean time between kills (default 50)
  --hang-ms N           an operation in flight this long is a hang (default 3000)
  --rounds N            create-race rounds (default 200)
  --seed N              replay a run (the seed is printed at the start)
  --history FILE        write the history as JSON lines
  --summary FILE        write the summary as JSON
  --expect-violation    succeed only if a violation is found (planted-bug builds); stops
                        at the first violation seen online
  --check-threads N     checker threads (default: hardware threads)
  --max-steps N         checker search steps per key before giving up (default 1e8)
  --evictions N         check: up to N spontaneous erases of present keys in the whole
                        history (evictions), the fewest per key; default 0
  --evictions-from-stats  runs: the check's eviction budget is the evictions the table
                        counted (stats().evictions) during each epoch; only meaningful
                        with a table that evicts (0 otherwise, as without this option)
  --eviction            lockfree: the table evicts when full (Options::eviction), and the
                        check's budget comes from its count (--evictions-from-stats): a key
                        may vanish only as often as the table says it evicted; the audit's
                        refill after clear() must leave the table near its fill level
  --buffers-may-run-out check: accept table_full from updates of present keys, as a
                        lock-free run whose crashes drained the buffer reserve may
                        return (a run decides this per epoch; its summary says)
  --quiet               no progress lines
)";

[[noreturn]] void usage_error(const std::string &what) {
  std::fprintf(stderr, "shmtable-stress: %s\n%s", what.c_str(), kUsage);
  std::exit(2);
}

std::uint64_t number_arg(const char *name, const char *text) {
  char *end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-') {
    usage_error(std::string("--") + name + ": \"" + text + "\" is not a non-negative integer");
  }
  return v;
}

double real_arg(const char *name, const char *text) {
  char *end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end || !(v >= 0) || !std::isfinite(v)) {
    usage_error(std::string("--") + name + ": \"" + text + "\" is not a non-negative number");
  }
  return v;
}

} // namespace

Cli parse(int argc, char **argv) {
  Cli c;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, stdout);
    std::exit(argc < 2 ? 2 : 0);
  }
  c.command = argv[1];
  static const option kLong[] = {{"engine", required_argument, nullptr, 'e'},
                                 {"procs", required_argument, nullptr, 'p'},
                                 {"ops", required_argument, nullptr, 'o'},
                                 {"seconds", required_argument, nullptr, 's'},
                                 {"max-ops", required_argument, nullptr, 'M'},
                                 {"keys", required_argument, nullptr, 'k'},
                                 {"capacity", required_argument, nullptr, 'c'},
                                 {"load", required_argument, nullptr, 'l'},
                                 {"value-bytes", required_argument, nullptr, 'v'},
                                 {"crash", no_argument, nullptr, 'C'},
                                 {"kill-interval-ms", required_argument, nullptr, 'K'},
                                 {"hang-ms", required_argument, nullptr, 'H'},
                                 {"rounds", required_argument, nullptr, 'r'},
                                 {"seed", required_argument, nullptr, 'S'},
                                 {"history", required_argument, nullptr, 'h'},
                                 {"summary", required_argument, nullptr, 'j'},
                                 {"expect-violation", no_argument, nullptr, 'x'},
                                 {"check-threads", required_argument, nullptr, 't'},
                                 {"max-steps", required_argument, nullptr, 'm'},
                                 {"buffers-may-run-out", no_argument, nullptr, 'B'},
                                 {"quiet", no_argument, nullptr, 'q'},
                                 {"same-fingerprint", no_argument, nullptr, 'F'},
                                 {"redis-url", required_argument, nullptr, 'U'},
                                 {"ttl-ms", required_argument, nullptr, 'T'},
                                 {"ttl-percent", required_argument, nullptr, 'P'},
                                 {"on-tick", required_argument, nullptr, 'O'},
                                 {"evictions", required_argument, nullptr, 'E'},
                                 {"evictions-from-stats", no_argument, nullptr, 'V'},
                                 {"eviction", no_argument, nullptr, 'W'},
                                 {nullptr, 0, nullptr, 0}};
  optind = 2;
  RunConfig &cfg = c.cfg;
  cfg.table.capacity = 0; // 0 = the scenario's default
  for (int ch; (ch = getopt_long(argc, argv, "", kLong, nullptr)) != -1;) {
    switch (ch) {
    case 'e': {
      const auto e = parse_stress_engine(optarg);
      if (!e) {
        usage_error(std::string("--engine: \"") + optarg + "\" is not " + engine_name_list() +
                    " (shared memory) or redis");
      }
      cfg.engine.shm = e->shm;
      break;
    }
    case 'U':
      cfg.engine.redis_url = optarg;
      break;
    case 'p':
      cfg.procs = static_cast<unsigned>(number_arg("procs", optarg));
      if (cfg.procs < 1 || cfg.procs > 1024) {
        usage_error("--procs: must be 1..1024");
      }
      break;
    case 'o':
      cfg.ops = number_arg("ops", optarg);
      break;
    case 's':
      cfg.seconds = real_arg("seconds", optarg);
      break;
    case 'M':
      c.max_ops = number_arg("max-ops", optarg);
      if (!c.max_ops) {
        usage_error("--max-ops: at least 1");
      }
      break;
    case 'k':
      c.keys = number_arg("keys", optarg);
      break;
    case 'F':
      c.same_fingerprint = true;
      break;
    case 'c':
      cfg.table.capacity = number_arg("capacity", optarg);
      break;
    case 'l':
      cfg.load_factor = real_arg("load", optarg);
      if (cfg.load_factor <= 0 || cfg.load_factor > 1) {
        usage_error("--load: must be in (0, 1]");
      }
      break;
    case 'v':
      cfg.value_bytes = number_arg("value-bytes", optarg);
      if (cfg.value_bytes < kMinValueBytes) {
        usage_error("--value-bytes: at least " + std::to_string(kMinValueBytes) +
                    " (a value carries its id and checksum)");
      }
      break;
    case 'C':
      c.crash = true;
      break;
    case 'K':
      c.kill_interval_ms = static_cast<unsigned>(number_arg("kill-interval-ms", optarg));
      break;
    case 'H':
      c.hang_ms = static_cast<unsigned>(number_arg("hang-ms", optarg));
      break;
    case 'r':
      c.rounds = number_arg("rounds", optarg);
      break;
    case 'S':
      cfg.seed = number_arg("seed", optarg);
      c.seed_given = true;
      break;
    case 'h':
      c.history = optarg;
      break;
    case 'j':
      c.summary = optarg;
      break;
    case 'x':
      c.expect_violation = true;
      break;
    case 't':
      c.check.threads = static_cast<unsigned>(number_arg("check-threads", optarg));
      break;
    case 'm':
      c.check.max_steps_per_key = number_arg("max-steps", optarg);
      break;
    case 'B':
      c.check.buffers_may_run_out = true;
      break;
    case 'q':
      c.quiet = true;
      break;
    case 'T':
      cfg.ttl_ms = static_cast<unsigned>(number_arg("ttl-ms", optarg));
      if (cfg.ttl_ms > 4000) { // Record::ttl_ns is 32 bits of nanoseconds
        usage_error("--ttl-ms: at most 4000");
      }
      break;
    case 'P':
      cfg.ttl_percent = static_cast<unsigned>(number_arg("ttl-percent", optarg));
      if (cfg.ttl_percent > 100) {
        usage_error("--ttl-percent: at most 100");
      }
      break;
    case 'O':
      cfg.on_tick = static_cast<unsigned>(number_arg("on-tick", optarg));
      break;
    case 'E':
      c.check.eviction_budget = number_arg("evictions", optarg);
      break;
    case 'V':
      c.evictions_from_stats = true;
      break;
    case 'W':
      cfg.table.eviction = true;
      c.evictions_from_stats = true;
      break;
    default:
      usage_error("unknown option");
    }
  }
  if (c.command == "check") {
    if (optind + 1 != argc) {
      usage_error("check: give exactly one history file");
    }
    c.file = argv[optind];
  } else if (optind != argc) {
    usage_error(std::string("unexpected argument \"") + argv[optind] + "\"");
  }
  if (!cfg.engine.redis_url.empty() && !cfg.engine.redis()) {
    usage_error("--redis-url: only with --engine redis");
  }
  if (cfg.engine.redis() && c.command != "check") {
    if (std::string why; !redis_built(why)) {
      usage_error("--engine redis: " + why);
    }
    if (c.command == "create-race") {
      usage_error("create-race: not with --engine redis (a table on a server is a key "
                  "namespace: there is no segment whose creation processes could race for)");
    }
  }
  if (!c.seed_given) {
    cfg.seed = std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32);
  }
  return c;
}

void apply_defaults(Cli &c) {
  RunConfig &cfg = c.cfg;
  Scenario s = Scenario::kMix;
  if (c.command == "mix") {
    s = Scenario::kMix;
  } else if (c.command == "full") {
    s = Scenario::kFull;
  } else if (c.command == "churn") {
    s = Scenario::kChurn;
  } else if (c.command == "limits") {
    s = Scenario::kLimits;
  } else if (c.command == "collide") {
    s = Scenario::kCollide;
  } else if (c.command == "clear-race") {
    s = Scenario::kClearRace;
  } else {
    usage_error("unknown command \"" + c.command + "\"");
  }
  cfg.scenario = s;
  // A table on a server has no slots: no capacity to fill, no home slot to collide in.
  if (cfg.engine.redis() && (s == Scenario::kFull || s == Scenario::kCollide)) {
    usage_error(c.command + ": not with --engine redis (" +
                (s == Scenario::kFull ? "a table on a server has no capacity to fill: its room is "
                                        "the server's memory"
                                      : "a table on a server has no slots, so keys have no home "
                                        "slot to share") +
                ")");
  }
  // Expiry: a server's table expires entries on the server's clock, which the history
  // cannot read; churn's lanes keep the keys they inserted as live, and limits is about
  // sizes, not lives.
  if (cfg.ttl_ms != 0 && (cfg.engine.redis() || s == Scenario::kChurn || s == Scenario::kLimits)) {
    usage_error("--ttl-ms: not with " +
                (cfg.engine.redis() ? std::string("--engine redis (its deadlines are on the "
                                                  "server's clock, which the history cannot read)")
                                    : c.command));
  }
  if (cfg.table.eviction.value_or(false) && cfg.engine != EngineName::kLockFree) {
    usage_error("--eviction: only on the lockfree engine (the mutex engines refuse the option)");
  }
  if (cfg.on_tick != 0 && cfg.ttl_ms == 0) {
    usage_error("--on-tick: only with --ttl-ms");
  }
  if (c.same_fingerprint && (s != Scenario::kCollide || cfg.engine != EngineName::kLockFree)) {
    usage_error("--same-fingerprint: only for collide on the lockfree engine (the mutex "
                "engines keep no fingerprint)");
  }
  if (!cfg.table.capacity) {
    cfg.table.capacity = s == Scenario::kFull ? 64 : 1024;
  }
  if (!c.keys) {
    c.keys = s == Scenario::kFull ? cfg.table.capacity * 3 / 2 : s == Scenario::kCollide ? 24 : 16;
  }
  if (!cfg.ops && cfg.seconds == 0) {
    cfg.ops = 200'000;
  }
  // A dead redis client's operation has no response bound (driver_run.cpp, collect), so
  // it stays a candidate to the end of its epoch's history, and the check's search grows
  // faster than the number of such operations per key: shorter epochs keep it small.
  if (!c.max_ops) {
    c.max_ops = cfg.engine.redis() && c.crash ? 500'000 : 8'000'000;
  }
  if (s == Scenario::kFull) {
    cfg.mix = {25, 25, 15, 5, 10, 10, 10};
  }
  if (s == Scenario::kLimits) {
    cfg.key_bytes = cfg.table.max_key_bytes;
    cfg.value_bytes = cfg.table.max_value_bytes;
    cfg.oversize_permille = 20;
  }
  if (s == Scenario::kClearRace) {
    cfg.clear_permille = 20;
  }
  if (cfg.value_bytes > cfg.table.max_value_bytes) {
    usage_error("--value-bytes: " + std::to_string(cfg.value_bytes) +
                " exceeds the table's max_value_bytes of " +
                std::to_string(cfg.table.max_value_bytes));
  }
}

} // namespace shmtable::stress::driver
