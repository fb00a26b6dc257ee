#!/usr/bin/env python3
"""bench/eviction_study.py: the eviction study, run from a built tree.

One seeded scrambled-zipfian trace (theta 0.99, YCSB's chooser in bench/zipf.hpp),
replayed cache-aside (get; on a miss, set the key) with the table at 25, 50 and 90 % of
the distinct keys the trace requests, under simulated policies (exact LRU, random,
CLOCK, sampled LRU with Redis' eviction pool, sampled LRU with a coarse clock whose
readers store only into stale entries) and against a redis-server of its own with
allkeys-lru, maxmemory-samples 5 and 10, its maxmemory found to hold the same number of
entries. Hits are counted after a warm-up; for each policy, the fraction of gets that
would store to shared memory. All of it is shmtable-eviction (bench/eviction.cpp); this
script runs it, prints its progress, and writes a results folder:

  README.md     the tables (policy x capacity -> hit ratio; stores per get), the trace's
                parameters, the Redis runs' details, the machine
  results.csv   shmtable-eviction's rows, plus the engine's if --engine-cmd was given
  trace.json    the trace's parameters and figures
  machine.txt   lscpu and uname -a
  log.txt       the tool's progress

A section "## Reading" that a person adds to README.md (what the figures say) is kept
when --report-only DIR writes README.md again from DIR's files.

  bench/eviction_study.py [--build DIR] [--out DIR] [--keys N] [--requests R]
                          [--warmup W] [--seed S] [--capacities 25,50,90]
                          [--redis-samples 5,10|none] [--policies LIST]
                          [--engine-cmd CMD] [--engine-name NAME]
  bench/eviction_study.py --report-only DIR

The engine's own eviction, once built, is one more column: --engine-cmd CMD runs, for
each capacity,

  CMD --replay-trace TRACE --capacity C --warmup W --value-bytes V

where TRACE is the trace as a text file, one key a line (the tool's --write-trace). CMD
replays it cache-aside against a table that holds C entries (get; on a miss, set the key
to a V-byte value), counts from request W on, and prints one line
"hits=H gets=G read_stores=S" (S: the gets that stored to shared memory, or "-" if not
known), optionally followed by "evictions=E entries=N slots=M" (the table's own count
of evictions, its entries at the end, its slots), which go to the row's entries and note
columns. shmtable-eviction itself speaks this protocol for any simulated policy, e.g.
--engine-cmd "build-release/bench/shmtable-eviction --policy clock" reproduces the CLOCK
row, which is how the hook is tested; and with --policy engine it replays the trace
through a real LockFreeTable with Options::eviction:

  --engine-cmd "build-release/bench/shmtable-eviction --policy engine" --engine-name lockfree
"""
import argparse
import csv
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile

DESCRIPTIONS = {
    "lru": "exact LRU (a list; every hit moves its entry)",
    "random": "random eviction (no metadata, no store on a read)",
    "clock": "CLOCK: one reference bit per slot, a hit sets it if clear",
    "clock-marked": "CLOCK whose new entries start with their bit set (as the engine's did at first)",
    "sampled-k5": "sampled LRU, 5 samples, exact clock, no pool",
    "sampled-k5-pool": "Redis' algorithm: 5 samples, pool of 16, exact clock",
    "sampled-k10-pool": "Redis' algorithm: 10 samples, pool of 16, exact clock",
    "sampled-k5-e16": "5 samples, coarse clock (epoch = 1/16 of the turnover), no pool",
    "sampled-k5-e16-pool": "5 samples, coarse clock 1/16, pool of 16",
    "sampled-k10-e16": "10 samples, coarse clock 1/16, no pool",
    "sampled-k5-e4": "5 samples, coarse clock 1/4, no pool",
    "sampled-k5-e64": "5 samples, coarse clock 1/64, no pool",
}


def describe(policy):
    if policy in DESCRIPTIONS:
        return DESCRIPTIONS[policy]
    m = re.fullmatch(r"redis-allkeys-lru-k(\d+)", policy)
    if m:
        return f"Redis {redis_version()} allkeys-lru, maxmemory-samples {m.group(1)} (measured)"
    m = re.fullmatch(r"sampled-k(\d+)-pool-redis-clock", policy)
    if m:
        return (f"Redis' algorithm ({m.group(1)} samples, pool) with Redis' 1 s clock at the "
                "replay's rate (simulated)")
    if policy.startswith("engine:"):
        return f"the engine's eviction ({policy[7:]}, measured by --engine-cmd)"
    return policy


_redis_version = None


def redis_version():
    global _redis_version
    if _redis_version is None:
        try:
            out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
            m = re.search(r"v=([0-9.]+)", out)
            _redis_version = m.group(1) if m else "?"
        except OSError:
            _redis_version = "?"
    return _redis_version


def say(msg, log=None):
    print(msg, flush=True)
    if log:
        log.write(msg + "\n")


def run_tool(cmd, log):
    say("==> " + " ".join(shlex.quote(c) for c in cmd), log)
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        say(line.rstrip("\n"), log)
    if p.wait() != 0:
        sys.exit(f"eviction_study: {cmd[0]} failed with status {p.returncode}")


def run_engine(engine_cmd, name, trace_file, info, capacities, log):
    rows = []
    for pct, cap in capacities:
        cmd = shlex.split(engine_cmd) + ["--replay-trace", trace_file, "--capacity", str(cap),
                                         "--warmup", str(info["warmup"]),
                                         "--value-bytes", str(info["value_bytes"])]
        say(f"==> engine {name} at {cap} entries: " + " ".join(shlex.quote(c) for c in cmd), log)
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"eviction_study: the engine command failed ({out.returncode}): {out.stderr}")
        m = re.search(r"hits=(\d+) gets=(\d+) read_stores=(\d+|-)", out.stdout)
        if not m:
            sys.exit("eviction_study: the engine command printed no 'hits=H gets=G read_stores=S' "
                     f"line: {out.stdout!r}")
        hits, gets = int(m.group(1)), int(m.group(2))
        stores = None if m.group(3) == "-" else int(m.group(3))
        extra = dict(re.findall(r"\b(evictions|entries|slots)=(\d+)", out.stdout))
        note = "engine: " + engine_cmd
        if "slots" in extra:
            note = f"{int(extra['slots']):,} slots; " + note
        if "evictions" in extra:
            note = f"{int(extra['evictions']):,} evictions (the table's stats); " + note
        say(f"    hit ratio {hits / gets:.6f}" +
            "".join(f", {k} {v}" for k, v in extra.items()), log)
        rows.append({"policy": "engine:" + name, "capacity_pct": pct, "capacity": str(cap),
                     "gets": str(gets), "hits": str(hits),
                     "hit_ratio": f"{hits / gets:.6f}",
                     "read_stores": "" if stores is None else str(stores),
                     "stores_per_get": "" if stores is None else f"{stores / gets:.6f}",
                     "entries": f"{int(extra['entries']):,} at the end" if "entries" in extra else "",
                     "note": note})
    return rows


def pct_label(p):
    return f"{float(p):g} %"


def write_readme(out, info, rows, machine, command, reading=""):
    pcts = []
    for r in rows:
        if r["capacity_pct"] not in pcts:
            pcts.append(r["capacity_pct"])
    caps = {r["capacity_pct"]: r["capacity"] for r in rows}
    policies = []
    for r in rows:
        if r["policy"] not in policies:
            policies.append(r["policy"])
    by = {(r["policy"], r["capacity_pct"]): r for r in rows}

    def cell(policy, pct, field, fmt):
        r = by.get((policy, pct))
        if r is None or r[field] == "":
            return "—"
        return fmt(r)

    def miss_vs_lru(r):
        lru = by.get(("lru", r["capacity_pct"]))
        miss = 1 - float(r["hit_ratio"])
        lru_miss = 1 - float(lru["hit_ratio"]) if lru else 0
        return f"{miss / lru_miss:.3f}" if lru_miss > 0 else "—"

    L = []
    L.append("# Eviction study: hit ratios on a zipfian trace")
    L.append("")
    engines = [p for p in policies if p.startswith("engine:")]
    if engines:
        about = ("The `engine:` rows replay the same trace through the engine itself "
                 "(`--engine-cmd`, bench/eviction_study.py), as cache-aside does, and depend "
                 "on the trace alone too.")
    else:
        about = ("The engine's eviction is not measured here: this folder is the baseline its "
                 "policy is chosen from, and the same script measures it with `--engine-cmd` "
                 "(bench/eviction_study.py).")
    L.append(f"Run on {info['date']} by `{command}` (the simulated figures depend on the "
             f"trace alone, not on the machine). {about}")
    L.append("")
    L.append("## Trace")
    L.append("")
    L.append(f"- {info['requests']:,} requests over {info['keys']:,} keys, YCSB's scrambled "
             f"zipfian with theta {info['theta']} (bench/zipf.hpp, as shmtable-ycsb draws it), "
             f"std::mt19937_64 seed {info['seed']}.")
    L.append(f"- The scrambling hashes the ranks onto the keys modulo their number, as YCSB does, "
             f"so some keys take several ranks and others none, and the rarest ranks go undrawn: the trace requests {info['distinct_keys']:,} distinct "
             f"keys, and the capacities are percentages of those ({info['capacity_of']}).")
    L.append(f"- The hottest key takes {info['top_key_share']:.4f} of the requests (rank 0's "
             f"share in theory, 1/zeta(n, theta): {info['rank0_share_theory']:.4f}).")
    L.append(f"- Workload: get; on a miss, set the key (cache-aside). Keys of {info['key_bytes']} "
             f"bytes, values of {info['value_bytes']} bytes (Redis only: the simulation counts "
             f"entries).")
    L.append(f"- Warm-up: the first {info['warmup']:,} requests are not counted; hit ratio = "
             f"hits / gets over the remaining {info['requests'] - info['warmup']:,}, "
             f"compulsory misses (a key's first request) included.")
    full = info.get("full_after", {})
    if full:
        L.append("- The table is full (holds its capacity) after: " +
                 "; ".join(f"{pct_label(p)}: " +
                           (f"{n:,} requests" if n is not None else "never")
                           for p, n in full.items()) +
                 ". Before that no policy evicts; a table still filling in the measured part "
                 "holds fewer entries there than its capacity.")
    L.append("")
    L.append("## Hit ratio")
    L.append("")
    L.append("| policy | " + " | ".join(f"{pct_label(p)} ({int(caps[p]):,})" for p in pcts) +
             " | misses ÷ exact LRU's, " + ", ".join(pct_label(p) for p in pcts) + " |")
    L.append("| --- | " + " | ".join("---:" for _ in pcts) + " | ---: |")
    for pol in policies:
        L.append(f"| {describe(pol)} (`{pol}`) | " +
                 " | ".join(cell(pol, p, "hit_ratio", lambda r: f"{float(r['hit_ratio']):.4f}")
                            for p in pcts) + " | " +
                 ", ".join(cell(pol, p, "hit_ratio", miss_vs_lru) for p in pcts) + " |")
    L.append("")
    L.append("## Stores on reads")
    L.append("")
    L.append("The fraction of gets that store to the entry's metadata (what a reader of a "
             "shared-memory table would write): exact LRU moves the entry on every hit, "
             "an exact-clock sampled LRU (Redis) stamps it on every hit, CLOCK sets a clear "
             "bit, a coarse clock stores only into an entry stamped before the current epoch "
             "(an epoch: capacity / G sets, for 1/G of the table's turnover), random never "
             "stores. The `-redis-clock` rows count stores only when the 1 s clock changed "
             "the stamp; Redis itself writes it on every hit.")
    L.append("")
    L.append("| policy | " + " | ".join(pct_label(p) for p in pcts) + " |")
    L.append("| --- | " + " | ".join("---:" for _ in pcts) + " |")
    for pol in policies:
        if pol.endswith("-redis-clock"):
            continue
        L.append(f"| `{pol}` | " +
                 " | ".join(cell(pol, p, "stores_per_get",
                                 lambda r: f"{float(r['stores_per_get']):.4f}") for p in pcts) + " |")
    L.append("")
    redis_rows = [r for r in rows if r["policy"].startswith("redis-")]
    if redis_rows:
        L.append("## The Redis runs")
        L.append("")
        L.append(f"redis-server {redis_version()} of its own on a loopback port (support/'s "
                 "launcher: no persistence), `maxmemory-policy allkeys-lru`. Each request is "
                 "one `SET key value NX GET`: the reply is the GET's (a hit, or nil and the "
                 "key set), a hit touches the key's LRU clock as GET does, and the run is "
                 "pipelined 64 commands at a time without reordering the trace. The hits "
                 "counted from the replies equal the server's keyspace_hits (checked). "
                 "maxmemory is found on the replay itself: whole replays, corrected by the "
                 "secant, until the mean DBSIZE over the measured part (read 20 times) is "
                 "within 0.5 % of the simulated tables' mean at the same points, "
                 "min(capacity, distinct keys requested so far): a table at 90 % still fills "
                 "during the measured part.")
        L.append("")
        L.append("| run | capacity | entries held: mean (min-max; the simulated table's mean) | maxmemory, rate |")
        L.append("| --- | ---: | --- | --- |")
        for r in redis_rows:
            L.append(f"| `{r['policy']}` at {pct_label(r['capacity_pct'])} | {int(r['capacity']):,} | "
                     f"{r['entries']} | {r['note']} |")
        L.append("")
        L.append("Redis' LRU clock ticks once a second (LRU_CLOCK_RESOLUTION), and the replay "
                 "runs hundreds of thousands of requests a second, so the clock rarely tells "
                 "two entries of the table apart. The `-redis-clock` rows simulate Redis' "
                 "algorithm with such a clock, ticking once per the replay's requests per "
                 "second.")
        L.append("")
    if reading:
        L.append(reading.rstrip())
        L.append("")
    L.append("## Machine")
    L.append("")
    L.append("```")
    L.append(machine.rstrip())
    L.append("```")
    L.append("")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build-release")
    ap.add_argument("--out")
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--requests", type=int, default=2000000)
    ap.add_argument("--warmup", type=int, default=500000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--capacities", default="25,50,90")
    ap.add_argument("--redis-samples", default="5,10")
    ap.add_argument("--policies")
    ap.add_argument("--engine-cmd")
    ap.add_argument("--engine-name", default="engine")
    ap.add_argument("--report-only", metavar="DIR")
    a = ap.parse_args()
    if a.report_only:
        report(a.report_only)
        return

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(root)
    tool = os.path.join(a.build, "bench", "shmtable-eviction")
    if not os.access(tool, os.X_OK):
        sys.exit(f"eviction_study: {tool} is not built (ninja -C {a.build} bench/shmtable-eviction)")
    out = a.out
    if not out:
        out = "results/" + datetime.date.today().isoformat() + "-eviction-study"
        if os.path.exists(out):
            out += datetime.datetime.now().strftime("-%H%M%S")
    os.makedirs(out, exist_ok=True)
    say(f"==> results in {out}")
    machine = ""
    for cmd in (["lscpu"], ["uname", "-a"]):
        try:
            machine += subprocess.run(cmd, capture_output=True, text=True).stdout + "\n"
        except OSError:
            machine += f"({cmd[0]} not available)\n"
    with open(os.path.join(out, "machine.txt"), "w") as f:
        f.write(machine)

    with open(os.path.join(out, "log.txt"), "w") as log, tempfile.TemporaryDirectory() as tmp:
        trace_file = os.path.join(tmp, "trace.txt")
        cmd = [tool, "--keys", str(a.keys), "--requests", str(a.requests), "--warmup",
               str(a.warmup), "--seed", str(a.seed), "--capacities", a.capacities,
               "--redis-samples", a.redis_samples, "--csv", os.path.join(out, "results.csv"),
               "--trace-info", os.path.join(out, "trace.json")]
        if a.policies:
            cmd += ["--policies", a.policies]
        if a.engine_cmd:
            cmd += ["--write-trace", trace_file]
        run_tool(cmd, log)
        info = json.load(open(os.path.join(out, "trace.json")))
        info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        info["command"] = ("bench/eviction_study.py " +
                           " ".join(shlex.quote(x) for x in sys.argv[1:])).strip()
        with open(os.path.join(out, "trace.json"), "w") as f:
            json.dump(info, f, indent=1)
        rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
        if a.engine_cmd:
            capacities = []
            for r in rows:
                if (r["capacity_pct"], int(r["capacity"])) not in capacities:
                    capacities.append((r["capacity_pct"], int(r["capacity"])))
            rows += run_engine(a.engine_cmd, a.engine_name, trace_file, info, capacities, log)
            with open(os.path.join(out, "results.csv"), "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
                w.writeheader()
                w.writerows(rows)
    write_readme(out, info, rows, machine, info["command"])
    say(f"==> {out}/README.md")


def report(out):
    """README.md again from a results folder's files, keeping its "## Reading" section."""
    info = json.load(open(os.path.join(out, "trace.json")))
    rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
    machine = open(os.path.join(out, "machine.txt")).read()
    reading = ""
    path = os.path.join(out, "README.md")
    if os.path.exists(path):
        m = re.search(r"^## Reading\n.*?(?=^## |\Z)", open(path).read(), re.S | re.M)
        reading = m.group(0) if m else ""
    write_readme(out, info, rows, machine, info["command"], reading)
    print(f"==> {path}")


if __name__ == "__main__":
    main()
