// bench/ycsb.cpp: shmtable-ycsb, the multi-process YCSB driver.
//
// For each round, each (mix, key distribution, process count) and each store, in one run:
// the parent loads a fresh store with the dataset, forks the workers, which attach by
// name and build their operation streams before a start barrier, lets them run for a
// fixed time, and collects per-process operation counts and latency histograms. Stores
// take turns inside a round (rotated each round), so every ratio is between neighbours
// in time, on the same keys and the same operation streams.
//
// Latency: every 8th operation is timed with the TSC into a log-linear histogram; the
// other seven run untimed, so clock reads do not dominate what is measured. Throughput
// is operations over the worker's own wall time between the barrier and the stop flag.
//
// Output (--out DIR): ycsb.csv (one row per measured run), ycsb-procs.csv (one row per
// worker), ycsb.json (parameters, skipped stores and why, how each store does F's
// read-modify-write). bench/report.py turns them into tables and plots.
#include <getopt.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "histogram.hpp"
#include "store.hpp"
#include "zipf.hpp"

namespace shmtable::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxProcs = 256;
constexpr std::size_t kStreamOps = std::size_t{1} << 18; // per worker, replayed in a ring
constexpr unsigned kSampleEvery = 8;                     // one timed operation in 8

enum Op : std::uint8_t { kRead, kUpdate, kRmw };

struct Mix {
  char name;
  unsigned read, update, rmw; // percentages, summing to 100
};
// A, B, C and F are YCSB's; U (updates only) is not, and no default run includes it: it
// is the C++ twin of the Node benchmark's 2-process sets, with the floors beside it.
constexpr Mix kMixes[] = {
    {'A', 50, 50, 0}, {'B', 95, 5, 0}, {'C', 100, 0, 0}, {'F', 50, 0, 50}, {'U', 0, 100, 0}};

// "A, B, C, F, U": the names kMixes defines, for messages.
std::string mix_names() {
  std::string out;
  for (const Mix &m : kMixes) {
    out += out.empty() ? std::string(1, m.name) : std::string(", ") + m.name;
  }
  return out;
}

struct Params {
  std::vector<std::string> stores = all_store_names();
  std::vector<char> mixes{'A', 'B', 'C', 'F'};
  std::vector<std::string> dists{"zipfian"};
  std::vector<int> procs{1, 2};
  double seconds = 0.5;
  int rounds = 3;
  std::uint64_t records = 10000;
  std::uint32_t key_bytes = 16;
  std::uint32_t value_bytes = 64;
  double theta = 0.99;
  unsigned think = 0;      // client work between operations, in steps of a dependent add
  std::uint64_t slots = 0; // table slots; 0: records + records / 3 (75 % load)
  std::string out;
};

// What a worker reports back, in shared memory.
struct alignas(64) WorkerResult {
  std::uint64_t ops;
  std::uint64_t misses;
  std::uint64_t ns;
  std::uint64_t ticks;
  int done;
  char error[240];
  Histogram hist;
};

struct Control {
  std::atomic<int> ready;
  std::atomic<int> go;
  std::atomic<int> stop;
  WorkerResult w[kMaxProcs];
};

struct RunResult {
  std::uint64_t ops = 0;
  double seconds = 0;   // the longest worker's
  double ops_per_s = 0; // sum over workers
  double p50 = 0, p99 = 0, p999 = 0;
  std::uint64_t samples = 0;
  std::vector<WorkerResult *> workers;
  std::string error;
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
      << "shmtable-ycsb: " << error << "\n"
      << "usage: shmtable-ycsb [--stores LIST] [--mixes A,B,C,F,U] [--dists zipfian,uniform]\n"
         "         [--procs 1,2] [--seconds S] [--rounds R] [--records N]\n"
         "         [--key-bytes K] [--value-bytes V] [--theta T] [--think N] [--slots N]\n"
         "         [--out DIR]\n"
         "  --think N: N steps of client work (a chain of dependent adds) after each\n"
         "          operation, as a caller's own code between calls (default 0)\n"
         "  --slots N: the engines' and the floor's table size, at least --records\n"
         "          (default records + records / 3: 75 % load)\n"
         "  stores: lockfree, mutex (faithful baseline), robust, floor (unsynchronized),\n"
         "          floor-rmw (the floor + one atomic RMW per update), boost, redis (raw\n"
         "          hiredis), redis-table (shmtable::RedisTable on Redis), memcached\n";
  std::exit(2);
}

Params parse(int argc, char **argv) {
  Params p;
  static const option longs[] = {{"stores", required_argument, nullptr, 's'},
                                 {"mixes", required_argument, nullptr, 'm'},
                                 {"dists", required_argument, nullptr, 'd'},
                                 {"procs", required_argument, nullptr, 'p'},
                                 {"seconds", required_argument, nullptr, 't'},
                                 {"rounds", required_argument, nullptr, 'r'},
                                 {"records", required_argument, nullptr, 'n'},
                                 {"key-bytes", required_argument, nullptr, 'k'},
                                 {"value-bytes", required_argument, nullptr, 'v'},
                                 {"theta", required_argument, nullptr, 'z'},
                                 {"think", required_argument, nullptr, 'w'},
                                 {"slots", required_argument, nullptr, 'c'},
                                 {"out", required_argument, nullptr, 'o'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  auto number = [](const char *flag, const char *v, double lo, double hi) {
    char *end = nullptr;
    const double x = std::strtod(v, &end);
    if (end == v || *end != '\0' || !(x >= lo && x <= hi)) {
      usage(std::string(flag) + ": '" + v + "' is not a number in [" + std::to_string(lo) + ", " +
            std::to_string(hi) + "]");
    }
    return x;
  };
  for (int c; (c = getopt_long(argc, argv, "", longs, nullptr)) != -1;) {
    switch (c) {
    case 's':
      p.stores = split(optarg);
      break;
    case 'm':
      p.mixes.clear();
      for (const auto &m : split(optarg)) {
        if (m.size() != 1 || std::none_of(std::begin(kMixes), std::end(kMixes),
                                          [&](const Mix &x) { return x.name == m[0]; })) {
          usage("--mixes: '" + m + "' is not one of " + mix_names());
        }
        p.mixes.push_back(m[0]);
      }
      break;
    case 'd':
      p.dists = split(optarg);
      for (const auto &d : p.dists) {
        if (d != "zipfian" && d != "uniform") {
          usage("--dists: '" + d + "' is not zipfian or uniform");
        }
      }
      break;
    case 'p':
      p.procs.clear();
      for (const auto &n : split(optarg)) {
        p.procs.push_back(static_cast<int>(number("--procs", n.c_str(), 1, kMaxProcs)));
      }
      break;
    case 't':
      p.seconds = number("--seconds", optarg, 0.01, 3600);
      break;
    case 'r':
      p.rounds = static_cast<int>(number("--rounds", optarg, 1, 1000));
      break;
    case 'n':
      p.records = static_cast<std::uint64_t>(number("--records", optarg, 1, 1e9));
      break;
    case 'k':
      p.key_bytes = static_cast<std::uint32_t>(number("--key-bytes", optarg, 8, 1024));
      break;
    case 'v':
      p.value_bytes = static_cast<std::uint32_t>(number("--value-bytes", optarg, 1, 1 << 20));
      break;
    case 'z':
      p.theta = number("--theta", optarg, 0.01, 0.999);
      break;
    case 'w':
      p.think = static_cast<unsigned>(number("--think", optarg, 0, 1e6));
      break;
    case 'c':
      p.slots = static_cast<std::uint64_t>(number("--slots", optarg, 1, 1e10));
      break;
    case 'o':
      p.out = optarg;
      break;
    default:
      usage(c == 'h' ? "help" : "unknown option");
    }
  }
  if (p.procs.empty() || p.mixes.empty() || p.dists.empty() || p.stores.empty()) {
    usage("empty list");
  }
  if (p.slots == 0) {
    p.slots = p.records + (p.records + 2) / 3;
  } else if (p.slots < p.records) {
    usage("--slots: " + std::to_string(p.slots) + " is fewer than --records (" +
          std::to_string(p.records) + ")");
  }
  return p;
}

// Keys of exactly key_bytes: "user" then the record number, zero-padded (YCSB's shape).
Dataset make_dataset(const Params &p) {
  Dataset d;
  d.key_bytes = p.key_bytes;
  d.value_bytes = p.value_bytes;
  d.slots = p.slots;
  d.keys.reserve(p.records);
  for (std::uint64_t i = 0; i < p.records; ++i) {
    std::string n = std::to_string(i);
    std::string k =
        "user" + std::string(p.key_bytes > 4 + n.size() ? p.key_bytes - 4 - n.size() : 0, '0') + n;
    d.keys.push_back(k.substr(0, p.key_bytes));
  }
  return d;
}

struct Stream {
  std::vector<std::uint32_t> keys;
  std::vector<std::uint8_t> ops;
};

// The same seed for every store: each worker of a (round, mix, dist, procs) replays the
// same operations whichever store it drives.
Stream make_stream(const Params &p, const Mix &mix, const std::string &dist, Zipfian *zipf,
                   std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Stream s;
  s.keys.resize(kStreamOps);
  s.ops.resize(kStreamOps);
  std::uniform_int_distribution<std::uint64_t> uniform(0, p.records - 1);
  std::uniform_int_distribution<unsigned> pct(0, 99);
  for (std::size_t i = 0; i < kStreamOps; ++i) {
    s.keys[i] = static_cast<std::uint32_t>(dist == "zipfian" ? zipf->next(rng) : uniform(rng));
    const unsigned x = pct(rng);
    s.ops[i] = x < mix.read ? kRead : x < mix.read + mix.update ? kUpdate : kRmw;
  }
  return s;
}

void worker(Control *ctl, int id, Store &store, const Dataset &data, const Params &p,
            const Mix &mix, const std::string &dist, Zipfian *zipf, std::uint64_t seed) {
  WorkerResult &r = ctl->w[id];
  try {
    auto client = store.attach(data);
    const Stream s = make_stream(p, mix, dist, zipf, seed);
    std::vector<std::string> values; // what updates write: eight variants of the value
    for (std::uint64_t v = 0; v < 8; ++v) {
      values.push_back(data.value(v * 7 + static_cast<std::uint64_t>(id) + 1));
    }
    std::vector<char> buf(data.value_bytes + 64);
    // The barrier. Nothing is published through it (each worker built its own state
    // after fork), so the orders only need to be coherent: seq_cst fetch_add, read by
    // the parent's ready.load() below; acquire on `go`, partner the parent's release
    // store of `go`.
    ctl->ready.fetch_add(1);
    while (ctl->go.load(std::memory_order_acquire) == 0) {
      _mm_pause();
    }
    const auto t0 = Clock::now();
    const std::uint64_t c0 = __rdtsc();
    std::uint64_t ops = 0, misses = 0;
    auto run = [&](std::size_t i) {
      const std::string &key = data.keys[s.keys[i]];
      switch (s.ops[i]) {
      case kRead:
        misses += client->read(key, buf) ? 0 : 1;
        break;
      case kUpdate:
        client->update(key, values[i & 7]);
        break;
      default:
        misses += client->read_modify_write(key, buf) ? 0 : 1;
      }
    };
    // The caller's own work after each operation, outside the timed one: no memory
    // access, so a store's pending line transfers can complete meanwhile (or not, if the
    // store waits for them itself).
    auto think = [&] {
      std::uint64_t acc = 0;
      for (unsigned k = 0; k < p.think; ++k) {
        asm volatile("add $1, %0" : "+r"(acc));
      }
    };
    for (;;) {
      // Relaxed: the flag only has to arrive eventually; nothing is published with it.
      if (ctl->stop.load(std::memory_order_relaxed) != 0) {
        break;
      }
      for (unsigned j = 0; j < 256; ++j, ++ops) {
        const std::size_t i = ops & (kStreamOps - 1);
        if (ops % kSampleEvery == 0) {
          _mm_lfence(); // keep the TSC read after the previous operation's loads
          const std::uint64_t a = __rdtsc();
          run(i);
          _mm_lfence();
          r.hist.record(__rdtsc() - a);
        } else {
          run(i);
        }
        think();
      }
    }
    r.ticks = __rdtsc() - c0;
    r.ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    r.ops = ops;
    r.misses = misses;
    r.done = 1;
  } catch (const std::exception &e) {
    std::snprintf(r.error, sizeof r.error, "%s", e.what());
    ctl->ready.fetch_add(1); // do not leave the parent waiting at the barrier
  }
}

RunResult run_once(Control *ctl, Store &store, const Dataset &data, const Params &p, const Mix &mix,
                   const std::string &dist, Zipfian *zipf, int procs, int round) {
  RunResult res;
  std::memset(static_cast<void *>(ctl), 0, sizeof *ctl);
  store.prepare(data);
  // What the parent printed but stdio still buffers (stdout into a pipe or file) would be
  // printed again by every worker's exit-time flush below.
  std::fflush(nullptr);
  std::vector<pid_t> pids;
  for (int id = 0; id < procs; ++id) {
    const std::uint64_t seed = 0x5eedULL * 1000003 + static_cast<std::uint64_t>(round) * 7919 +
                               static_cast<std::uint64_t>(mix.name) * 131 +
                               static_cast<std::uint64_t>(procs) * 17 +
                               static_cast<std::uint64_t>(id) + (dist == "zipfian" ? 0 : 0x100000);
    const pid_t pid = ::fork();
    if (pid == 0) {
      worker(ctl, id, store, data, p, mix, dist, zipf, seed);
      std::fflush(nullptr);
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  // seq_cst load: partner the workers' fetch_add on `ready` (the barrier, above).
  while (ctl->ready.load() < procs && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ctl->go.store(1, std::memory_order_release); // partner: the workers' acquire load of `go`
  std::this_thread::sleep_for(std::chrono::duration<double>(p.seconds));
  ctl->stop.store(1, std::memory_order_relaxed); // partner: the workers' relaxed poll
  // The workers' plain writes to ctl->w[] are read only after waitpid(): a process's
  // exit and its reaping order everything it wrote before our reads.
  for (const pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  store.finish();

  Histogram merged;
  double ticks_per_ns = 0;
  for (int id = 0; id < procs; ++id) {
    WorkerResult &w = ctl->w[id];
    if (w.done == 0) {
      res.error = w.error[0] != '\0' ? w.error : "a worker died without a result";
      return res;
    }
    if (w.misses != 0) {
      res.error = std::to_string(w.misses) + " reads missed keys that were loaded";
      return res;
    }
    res.ops += w.ops;
    res.seconds = std::max(res.seconds, static_cast<double>(w.ns) / 1e9);
    res.ops_per_s += static_cast<double>(w.ops) / (static_cast<double>(w.ns) / 1e9);
    ticks_per_ns += static_cast<double>(w.ticks) / static_cast<double>(w.ns) / procs;
    merged.merge(w.hist);
    res.workers.push_back(&w);
  }
  res.samples = merged.total();
  res.p50 = merged.quantile(0.50) / ticks_per_ns;
  res.p99 = merged.quantile(0.99) / ticks_per_ns;
  res.p999 = merged.quantile(0.999) / ticks_per_ns;
  return res;
}

std::string human(double ops_per_s) {
  char b[32];
  if (ops_per_s >= 1e6) {
    std::snprintf(b, sizeof b, "%.2f M/s", ops_per_s / 1e6);
  } else {
    std::snprintf(b, sizeof b, "%.1f k/s", ops_per_s / 1e3);
  }
  return b;
}

std::string json_escape(const std::string &s) {
  std::string o;
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
    }
    o += c;
  }
  return o;
}

int main_impl(int argc, char **argv) {
  const Params p = parse(argc, argv);
  const Dataset data = make_dataset(p);

  std::vector<std::unique_ptr<Store>> stores;
  std::map<std::string, std::string> skipped;
  for (const auto &name : p.stores) {
    std::string why;
    std::unique_ptr<Store> s;
    try {
      s = make_store(name, why);
    } catch (const std::exception &e) {
      why = e.what();
    }
    if (!s) {
      if (why.rfind("unknown store", 0) == 0) {
        usage("--stores: " + why);
      }
      std::cout << "skipping " << name << ": " << why << "\n";
      skipped[name] = why;
      continue;
    }
    stores.push_back(std::move(s));
  }

  std::map<std::string, std::unique_ptr<Zipfian>> zipf; // one per run, built before timing
  zipf["zipfian"] = std::make_unique<Zipfian>(p.records, p.theta);

  void *mem =
      ::mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    throw std::runtime_error("mmap of the control block failed");
  }
  auto *ctl = static_cast<Control *>(mem);

  std::ofstream csv, procs_csv;
  if (!p.out.empty()) {
    csv.open(p.out + "/ycsb.csv");
    procs_csv.open(p.out + "/ycsb-procs.csv");
    if (!csv || !procs_csv) {
      throw std::runtime_error("cannot write into " + p.out + " (does the directory exist?)");
    }
    csv << "round,store,mix,dist,procs,ops,seconds,ops_per_s,p50_ns,p99_ns,p999_ns,samples\n";
    procs_csv << "round,store,mix,dist,procs,proc,ops,seconds,ops_per_s\n";
  }

  const std::size_t total = stores.size() * p.procs.size() * p.mixes.size() * p.dists.size() *
                            static_cast<std::size_t>(p.rounds);
  std::size_t done = 0, failed = 0;
  const auto started = Clock::now();
  std::cout << "shmtable-ycsb: " << stores.size() << " stores, " << total << " runs of "
            << p.seconds << " s, " << p.records << " records (" << p.slots << " slots), "
            << p.key_bytes << "-byte keys, " << p.value_bytes << "-byte values\n";

  for (int round = 0; round < p.rounds; ++round) {
    for (const char m : p.mixes) {
      const Mix &mix = *std::find_if(std::begin(kMixes), std::end(kMixes),
                                     [&](const Mix &x) { return x.name == m; });
      for (const auto &dist : p.dists) {
        for (const int n : p.procs) {
          for (std::size_t k = 0; k < stores.size(); ++k) {
            Store &s = *stores[(k + static_cast<std::size_t>(round)) % stores.size()];
            RunResult r;
            try {
              r = run_once(ctl, s, data, p, mix, dist, zipf[dist].get(), n, round);
            } catch (const std::exception &e) {
              r.error = e.what();
            }
            ++done;
            const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
            char line[256];
            std::snprintf(line, sizeof line, "[%3zu/%zu %4.0fs] round %d  %c %-8s %dp  %-11s ",
                          done, total, elapsed, round + 1, mix.name, dist.c_str(), n,
                          s.name().c_str());
            if (!r.error.empty()) {
              ++failed;
              std::cout << line << "FAILED: " << r.error << std::endl;
              continue;
            }
            std::cout << line << human(r.ops_per_s) << "  p50 " << static_cast<long>(r.p50)
                      << " ns  p99 " << static_cast<long>(r.p99) << " ns  p99.9 "
                      << static_cast<long>(r.p999) << " ns" << std::endl;
            if (csv.is_open()) {
              csv << round << ',' << s.name() << ',' << mix.name << ',' << dist << ',' << n << ','
                  << r.ops << ',' << r.seconds << ',' << r.ops_per_s << ',' << r.p50 << ',' << r.p99
                  << ',' << r.p999 << ',' << r.samples << '\n';
              for (std::size_t id = 0; id < r.workers.size(); ++id) {
                const WorkerResult &w = *r.workers[id];
                const double secs = static_cast<double>(w.ns) / 1e9;
                procs_csv << round << ',' << s.name() << ',' << mix.name << ',' << dist << ',' << n
                          << ',' << id << ',' << w.ops << ',' << secs << ','
                          << static_cast<double>(w.ops) / secs << '\n';
              }
            }
          }
        }
      }
    }
  }

  if (!p.out.empty()) {
    std::ofstream js(p.out + "/ycsb.json");
    js << "{\n  \"records\": " << p.records << ",\n  \"key_bytes\": " << p.key_bytes
       << ",\n  \"value_bytes\": " << p.value_bytes << ",\n  \"seconds\": " << p.seconds
       << ",\n  \"rounds\": " << p.rounds << ",\n  \"theta\": " << p.theta
       << ",\n  \"think\": " << p.think << ",\n  \"slots\": " << p.slots
       << ",\n  \"sample_every\": " << kSampleEvery << ",\n  \"stores\": {";
    for (std::size_t i = 0; i < stores.size(); ++i) {
      js << (i ? ",\n" : "\n") << "    \"" << stores[i]->name() << "\": {\"rmw\": \""
         << json_escape(stores[i]->rmw_note()) << "\"}";
    }
    js << "\n  },\n  \"skipped\": {";
    std::size_t i = 0;
    for (const auto &[name, why] : skipped) {
      js << (i++ ? ",\n" : "\n") << "    \"" << name << "\": \"" << json_escape(why) << "\"";
    }
    js << "\n  },\n  \"failed_runs\": " << failed << "\n}\n";
  }
  std::cout << "shmtable-ycsb: " << done - failed << " runs measured, " << failed << " failed, "
            << skipped.size() << " stores skipped\n";
  return failed == 0 ? 0 : 1;
}

} // namespace
} // namespace shmtable::bench

int main(int argc, char **argv) {
  try {
    return shmtable::bench::main_impl(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "shmtable-ycsb: " << e.what() << "\n";
    return 1;
  }
}
