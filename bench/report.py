#!/usr/bin/env python3
"""bench/report.py: turns one results folder into tables and plots.

Reads DIR/ycsb.csv and DIR/ycsb.json (shmtable-ycsb) and, if present, DIR/micro.json
(micro_bench, Google Benchmark JSON). Writes:
  DIR/summary.csv     medians over rounds per (mix, dist, procs, store), with the paired
                      ratios to the faithful mutex and to the floor
  DIR/summary.md      the tables below, the issue's targets with verdicts, and notes
  DIR/*.svg           plots rendered by gnuplot from DIR/plot-*.dat
With --readme FILE, replaces the text between <!-- bench:begin --> and <!-- bench:end -->
in FILE with the headline table of DIR. Prints the headline table.

A run with the redis-table store (shmtable::RedisTable) also gets the table "Leaving
shared memory": lock-free, faithful mutex, RedisTable and raw Redis side by side with
their paired ratios, in summary.md, in what is printed and in the README's block. The
headline table never has a RedisTable column, so it reads the same with or without it.

Ratios are paired: within one round, a store and the baseline ran back to back on the
same operation streams; the ratio is taken per round and the median over rounds reported.
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

ORDER = ["lockfree", "mutex", "robust", "floor", "floor-rmw", "boost", "redis", "redis-table",
         "memcached"]
TITLES = {"lockfree": "lock-free", "mutex": "faithful mutex", "robust": "robust mutex",
          "floor": "floor", "floor-rmw": "floor + RMW", "boost": "Boost.Interprocess", "redis": "Redis",
          "redis-table": "RedisTable", "memcached": "memcached"}
# Stores the headline table leaves out: RedisTable has its own table (server_table).
NOT_IN_HEADLINE = ("redis-table",)


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_rate(v):
    if v is None:
        return "—"
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} k"


def fmt_ratio(v):
    return "—" if v is None else f"{v:.2f}x"


def fmt_wide_ratio(v):
    """A ratio that may be in the thousands: fewer decimals the larger it is."""
    if v is None:
        return "—"
    return f"{v:.0f}x" if v >= 100 else f"{v:.1f}x" if v >= 10 else f"{v:.2f}x"


def load_ycsb(d):
    rows = list(csv.DictReader(open(os.path.join(d, "ycsb.csv"))))
    meta = json.load(open(os.path.join(d, "ycsb.json")))
    runs = defaultdict(dict)  # (round, mix, dist, procs) -> store -> row
    for r in rows:
        key = (int(r["round"]), r["mix"], r["dist"], int(r["procs"]))
        runs[key][r["store"]] = {k: float(r[k]) for k in
                                 ("ops_per_s", "p50_ns", "p99_ns", "p999_ns")}
    return runs, meta


def summarize(runs):
    """(mix, dist, procs, store) -> medians and paired ratios."""
    acc = defaultdict(lambda: defaultdict(list))
    for (rnd, mix, dist, procs), stores in runs.items():
        base = stores.get("mutex")
        floor = stores.get("floor")
        floor_rmw = stores.get("floor-rmw")
        lockfree = stores.get("lockfree")
        redis = stores.get("redis")
        for s, v in stores.items():
            a = acc[(mix, dist, procs, s)]
            for k, x in v.items():
                a[k].append(x)
            if base:
                a["vs_mutex"].append(v["ops_per_s"] / base["ops_per_s"])
                a["mutex_over"].append(base["ops_per_s"] / v["ops_per_s"])  # server_table
            # Time per op relative to the floors' (>= 1 means slower).
            if floor:
                a["vs_floor"].append(floor["ops_per_s"] / v["ops_per_s"])
            if floor_rmw:
                a["vs_floor_rmw"].append(floor_rmw["ops_per_s"] / v["ops_per_s"])
            # For server_table (not in summary.csv): lock-free's ops/s ÷ this store's, and
            # this store's ÷ raw Redis's (mutex's ÷ this store's above).
            if lockfree:
                a["lockfree_over"].append(lockfree["ops_per_s"] / v["ops_per_s"])
            if redis:
                a["vs_redis"].append(v["ops_per_s"] / redis["ops_per_s"])
    return {k: {m: median(xs) for m, xs in v.items()} for k, v in acc.items()}


def sort_key(k):
    mix, dist, procs, s = k
    return (dist != "zipfian", mix, procs, ORDER.index(s) if s in ORDER else 99)


def rate_table(summary, dist, stores, configs, titles, ratios):
    """A markdown table: one row per (mix, procs) of `configs`, each store's ops/s, then
    one column per (title, store, field) of `ratios`, read from that store's summary with
    `fmt` (fmt_ratio or fmt_wide_ratio)."""
    head = ["mix", "procs"] + titles + [title for title, _, _, _ in ratios]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for mix, procs in configs:
        cells = [mix, str(procs)]
        for s in stores:
            v = summary.get((mix, dist, procs, s))
            cells.append(fmt_rate(v["ops_per_s"]) if v else "—")
        for _, store, field, fmt in ratios:
            cells.append(fmt(summary.get((mix, dist, procs, store), {}).get(field)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline_table(summary, dist="zipfian"):
    stores = [s for s in ORDER if s not in NOT_IN_HEADLINE
              and any(k[3] == s and k[1] == dist for k in summary)]
    configs = sorted({(k[0], k[2]) for k in summary if k[1] == dist})
    return rate_table(summary, dist, stores, configs, [TITLES[s] for s in stores], [
        ("lock-free ÷ mutex", "lockfree", "vs_mutex", fmt_ratio),
        ("lock-free time ÷ floor", "lockfree", "vs_floor", fmt_ratio),
        ("lock-free time ÷ floor + RMW", "lockfree", "vs_floor_rmw", fmt_ratio)])


SERVER_STORES = ["lockfree", "mutex", "redis-table", "redis"]
SERVER_CAPTION = (
    "Leaving shared memory: the shared-memory engines (lock-free, faithful mutex) against "
    "`RedisTable`, the same table contract on a loopback redis-server (one connection per "
    "process), and against the raw client (hiredis's GET and SET on a redis-server of its "
    "own). *… ÷ RedisTable*: how many times more operations/s the shared-memory table "
    "serves, what leaving shared memory costs. *RedisTable ÷ Redis*: RedisTable's "
    "operations/s over the raw client's, what the abstraction costs (below 1x: slower). "
    "In F, RedisTable's read-modify-write is `update()`, atomic in two round trips "
    "(WATCH and GET, then MULTI/SET/EXEC); the raw client's is GET then SET, also two, "
    "not atomic.")


def server_table(summary, dist="zipfian"):
    """Leaving shared memory: lock-free, faithful mutex, RedisTable and raw Redis, with the
    paired ratios; None if the run has no redis-table for `dist`."""
    if not any(k[3] == "redis-table" and k[1] == dist for k in summary):
        return None
    stores = [s for s in SERVER_STORES if any(k[3] == s and k[1] == dist for k in summary)]
    configs = sorted({(k[0], k[2]) for k in summary if k[1] == dist and k[3] == "redis-table"})
    titles = [TITLES[s] if s != "redis" else "Redis (raw hiredis)" for s in stores]
    return rate_table(summary, dist, stores, configs, titles, [
        ("lock-free ÷ RedisTable", "redis-table", "lockfree_over", fmt_wide_ratio),
        ("mutex ÷ RedisTable", "redis-table", "mutex_over", fmt_wide_ratio),
        ("RedisTable ÷ Redis", "redis-table", "vs_redis", fmt_ratio)])


def latency_table(summary, dist="zipfian"):
    lines = ["| mix | procs | store | p50 ns | p99 ns | p99.9 ns |", "|---|---|---|---|---|---|"]
    for k in sorted((k for k in summary if k[1] == dist), key=sort_key):
        v = summary[k]
        lines.append(f"| {k[0]} | {k[2]} | {TITLES.get(k[3], k[3])} | {v['p50_ns']:.0f} | "
                     f"{v['p99_ns']:.0f} | {v['p999_ns']:.0f} |")
    return "\n".join(lines)


def load_micro(d):
    path = os.path.join(d, "micro.json")
    if not os.path.exists(path):
        return None
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        out[name] = b["cpu_time"]  # micro_bench reports in ns (Google Benchmark's default)
    return out


def micro_sizes_table(micro):
    """Single-process get: lock-free and faithful mutex against the floor, per size."""
    rows = []
    for name, t in micro.items():
        if name.startswith("BM_GetHitFloor/sizes/"):
            suffix = name[len("BM_GetHitFloor/sizes/"):]
            lf = micro.get("BM_GetHitLockFree/sizes/" + suffix)
            mx = micro.get("BM_GetHitFaithfulMutex/sizes/" + suffix)
            if lf and mx:
                rows.append((int(suffix.split("/")[0]), t, lf, mx))
    rows.sort()
    lines = ["| slots (load 75 %, 16/64 B) | floor ns | lock-free ns | faithful mutex ns | "
             "lock-free ÷ floor | faithful ÷ lock-free |", "|---|---|---|---|---|---|"]
    for slots, fl, lf, mx in rows:
        lines.append(f"| {slots} | {fl:.1f} | {lf:.1f} | {mx:.1f} | {lf / fl:.2f}x | "
                     f"{mx / lf:.2f}x |")
    return lines, rows


def batch_ratio(micro, slots, batch=64, engine="LockFree"):
    """get_many over `batch` keys: keys/s ÷ single gets' keys/s, on the same table."""
    if not micro:
        return None
    many = micro.get(f"BM_GetMany{engine}/batch/{slots}/{batch}")
    one = micro.get(f"BM_GetSingle{engine}/batch/{slots}/{batch}")
    if not many or not one:
        return None
    return one / (many / batch)


def batch_table(micro):
    """ns per key: single gets (lock-free, floor) and get_many over 64 keys, per size."""
    lines = ["| slots (load 75 %, 16/64 B) | floor get ns | floor get_many ns per key | "
             "lock-free get ns | lock-free get_many ns per key (batch 64) | "
             "get_many ÷ get, keys/s: floor | lock-free |",
             "|---|---|---|---|---|---|---|"]
    for slots in (1 << 20, 1 << 24):
        one = micro.get(f"BM_GetSingleLockFree/batch/{slots}/64")
        many = micro.get(f"BM_GetManyLockFree/batch/{slots}/64")
        fl = micro.get(f"BM_GetSingleFloor/batch/{slots}/64")
        fl_many = micro.get(f"BM_GetManyFloor/batch/{slots}/64")
        if one and many and fl and fl_many:
            lines.append(f"| {slots} | {fl:.1f} | {fl_many / 64:.1f} | {one:.1f} | "
                         f"{many / 64:.1f} | {fl / (fl_many / 64):.2f}x | "
                         f"{one / (many / 64):.2f}x |")
    return lines if len(lines) > 2 else []


def ttl_table(micro):
    """Expiry's cost: gets and sets of entries without and with a deadline, per engine."""
    lines = ["| engine | get ns | get of a timed entry ns | difference | "
             "set ns | set with a ttl ns | difference |", "|---|---|---|---|---|---|---|"]
    shape = "16384/75/16/64"
    for engine, title in (("LockFree", "lock-free"), ("FaithfulMutex", "faithful mutex")):
        g = micro.get(f"BM_GetHit{engine}/ttl/{shape}")
        gt = micro.get(f"BM_GetHitTimed{engine}/ttl/{shape}")
        st = micro.get(f"BM_SetUpdate{engine}/ttl/{shape}")
        stt = micro.get(f"BM_SetUpdateTimed{engine}/ttl/{shape}")
        if g and gt and st and stt:
            lines.append(f"| {title} | {g:.1f} | {gt:.1f} | {gt - g:+.1f} ns ({gt / g:.2f}x) | "
                         f"{st:.1f} | {stt:.1f} | {stt - st:+.1f} ns ({stt / st:.2f}x) |")
    return lines if len(lines) > 2 else []


def stats_table(micro):
    """ns per operation with the shared statistics counted and not (Options::stats)."""
    lines = ["| operation (16384 slots, load 75 %, 16/64 B) | engine | counting ns | "
             "not counting ns | counting ÷ not |", "|---|---|---|---|---|"]
    for op, what in (("GetHit", "get hit"), ("SetUpdate", "set of a present key")):
        for engine, label in (("LockFree", "lock-free"), ("FaithfulMutex", "faithful mutex")):
            on = micro.get(f"BM_{op}{engine}/stats/16384/75/16/64")
            off = micro.get(f"BM_{op}{engine}NoStats/stats/16384/75/16/64")
            if on and off:
                lines.append(f"| {what} | {label} | {on:.1f} | {off:.1f} | {on / off:.2f}x |")
    return lines if len(lines) > 2 else []


def evict_table(micro):
    """ns per operation on a table that evicts (Options::eviction) and one that does not."""
    lines = ["| operation (16384 slots, 16/64 B) | without eviction ns | with eviction ns | "
             "with ÷ without |", "|---|---|---|---|"]
    pairs = (("get hit, load 75 % (nothing evicted)", "BM_GetHitLockFree/evict/16384/75/16/64",
              "BM_GetHitLockFreeEvicting/evict/16384/75/16/64"),
             ("a new key at load 90 %: insert + erase, against an insert that evicts",
              "BM_InsertEraseLockFree/evict/16384/90/16/64",
              "BM_InsertEvictLockFreeEvicting/evict/16384/90/16/64"))
    for what, off_name, on_name in pairs:
        off, on = micro.get(off_name), micro.get(on_name)  # ns per iteration
        if off and on:
            lines.append(f"| {what} | {off:.1f} | {on:.1f} | {on / off:.2f}x |")
    return lines if len(lines) > 2 else []


def targets(summary, micro_rows, micro=None):
    """The targets of the issue "The lock-free engine earns its name", with verdicts."""
    out = ["| target | measured | verdict |", "|---|---|---|"]

    def row(text, value, ok):
        verdict = "context" if ok is None else "met" if ok else "missed"
        out.append(f"| {text} | {value} | {verdict} |")

    for slots, fl, lf, mx in micro_rows:
        # The floor's get is a call, as the engine's is; compiled into the benchmark's
        # loop instead, it also saves the call and hoists the table's geometry.
        inl = (micro or {}).get(f"BM_GetHitFloorInlined/sizes/{slots}/75/16/64")
        context = "" if inl is None else f" (floor inlined into the loop: {lf / inl:.2f}x)"
        row(f"get hit, 1 process, {slots} slots: lock-free time ÷ floor time ≤ 1.25x",
            f"{lf / fl:.2f}x{context}", lf / fl <= 1.25)
    for mix, procs, goal in (("C", 1, 1.6), ("C", 2, 1.7), ("A", 1, 1.5), ("A", 2, 1.5),
                             ("F", 2, 1.5)):
        v = summary.get((mix, "zipfian", procs, "lockfree"), {}).get("vs_mutex")
        if v is not None:
            # The synchronized floor's own ratio: what no store that orders its writers
            # with one atomic read-modify-write per update can pass.
            fr = summary.get((mix, "zipfian", procs, "floor-rmw"), {}).get("vs_mutex")
            context = "" if fr is None else f" (floor + RMW: {fr:.2f}x)"
            row(f"YCSB-{mix} zipfian, {procs} process{'es' if procs > 1 else ''}: "
                f"lock-free ÷ faithful mutex ops/s ≥ {goal}x", f"{v:.2f}x{context}", v >= goal)
    for slots in (1 << 20, 1 << 24):
        r = batch_ratio(micro, slots)
        if r is not None:
            # The floor's own batched ÷ single gets: what batching can win on this machine.
            fr = batch_ratio(micro, slots, engine="Floor")
            context = "" if fr is None else f" (floor: {fr:.2f}x)"
            row(f"batched get of 64 keys, {slots} slots: keys/s ÷ single gets' ≥ 2x",
                f"{r:.2f}x{context}", r >= 2 if slots == 1 << 24 else None)
    lf = summary.get(("C", "zipfian", 1, "lockfree"), {}).get("ops_per_s")
    rd = summary.get(("C", "zipfian", 1, "redis"), {}).get("ops_per_s")
    if lf and rd:
        row("get (YCSB-C), 1 client: lock-free ≥ 20x Redis on loopback", f"{lf / rd:.0f}x",
            lf / rd >= 20)
    return "\n".join(out)


def gnuplot(d, summary, dists):
    if not shutil.which("gnuplot"):
        print("report: gnuplot is not installed; plots skipped (apt-get install gnuplot-nox)")
        return []
    stores = [s for s in ORDER if any(k[3] == s for k in summary)]
    for dist in dists:
        # Throughput against processes, one panel per mix, log scale (the peers are ~1000x
        # slower).
        for mix in sorted({k[0] for k in summary if k[1] == dist}):
            with open(os.path.join(d, f"plot-throughput-{mix}-{dist}.dat"), "w") as f:
                for s in stores:
                    f.write(f'"{TITLES[s]}"\n')
                    for procs in sorted({k[2] for k in summary if k[1] == dist}):
                        v = summary.get((mix, dist, procs, s))
                        if v:
                            f.write(f"{procs} {v['ops_per_s']}\n")
                    f.write("\n\n")
        mixes = sorted({k[0] for k in summary if k[1] == dist})
        procs_max = max(k[2] for k in summary if k[1] == dist)
        script = [f'set terminal svg size 1200,{360 * ((len(mixes) + 1) // 2)} font "sans,11"',
                  f'set output "{d}/throughput-{dist}.svg"',
                  f"set multiplot layout {(len(mixes) + 1) // 2},2 title "
                  f'"YCSB throughput ({dist}), operations/s, all processes together"',
                  "set logscale y", 'set format y "%.0s%c"', "set key outside right",
                  "set xlabel 'processes'", "set pointsize 1.3",
                  f"set xrange [0.5:{procs_max + 0.5}]", "set xtics 1", "set grid"]
        for mix in mixes:
            script.append(f'set title "YCSB-{mix}"')
            script.append(f'plot for [i=0:{len(stores) - 1}] "{d}/plot-throughput-{mix}-{dist}.dat"'
                          " index i using 1:2 with linespoints lw 2 pt 7 title columnheader(1)")
        script.append("unset multiplot")
        # Latency percentiles per store, YCSB-C and YCSB-A at the most processes.
        for mix in ("C", "A"):
            rows = [(s, summary.get((mix, dist, procs_max, s))) for s in stores]
            rows = [(s, v) for s, v in rows if v]
            if not rows:
                continue
            with open(os.path.join(d, f"plot-latency-{mix}-{dist}.dat"), "w") as f:
                f.write("store p50 p99 p99.9\n")
                for s, v in rows:
                    f.write(f'"{TITLES[s]}" {v["p50_ns"]} {v["p99_ns"]} {v["p999_ns"]}\n')
            script += ["reset", 'set terminal svg size 900,420 font "sans,11"',
                       f'set output "{d}/latency-{mix}-{dist}.svg"',
                       f'set title "YCSB-{mix} ({dist}) latency, {procs_max} processes, '
                       'sampled 1 op in 8"',
                       "set style data histogram", "set style histogram clustered gap 1",
                       "set style fill solid 0.8 border -1", "set logscale y",
                       "set ylabel 'ns'", "set grid ytics", "set xtics rotate by -20",
                       f'plot for [c=2:4] "{d}/plot-latency-{mix}-{dist}.dat" using c:xtic(1) '
                       "title columnheader(c)"]
        # Time per operation relative to the floor, one process.
        rows = []
        for mix in mixes:
            vals = [summary.get((mix, dist, 1, s), {}).get("vs_floor") for s in stores
                    if s not in ("floor", "redis", "redis-table", "memcached")]
            rows.append((mix, vals))
        names = [TITLES[s] for s in stores
                 if s not in ("floor", "redis", "redis-table", "memcached")]
        with open(os.path.join(d, f"plot-floor-{dist}.dat"), "w") as f:
            f.write("mix " + " ".join(f'"{n}"' for n in names) + "\n")
            for mix, vals in rows:
                f.write(f"YCSB-{mix} " + " ".join("nan" if v is None else str(v) for v in vals)
                        + "\n")
        script += ["reset", 'set terminal svg size 900,420 font "sans,11"',
                   f'set output "{d}/floor-ratio-{dist}.svg"',
                   f'set title "Time per operation ÷ the floor\'s, 1 process ({dist})"',
                   "set style data histogram", "set style histogram clustered gap 1",
                   "set style fill solid 0.8 border -1", "set yrange [0:*]", "set grid ytics",
                   "set ylabel 'x floor'",
                   f'plot for [c=2:{len(names) + 1}] "{d}/plot-floor-{dist}.dat" using c:xtic(1) '
                   "title columnheader(c)"]
        gp = os.path.join(d, f"plots-{dist}.gp")
        with open(gp, "w") as f:
            f.write("\n".join(script) + "\n")
        res = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
        if res.returncode != 0:
            print("report: gnuplot failed:\n" + res.stderr)
    return sorted(n for n in os.listdir(d) if n.endswith(".svg"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--readme", help="README to update between the bench markers")
    args = ap.parse_args()
    d = args.dir.rstrip("/")
    runs, meta = load_ycsb(d)
    summary = summarize(runs)
    dists = sorted({k[1] for k in summary}, key=lambda x: x != "zipfian")

    with open(os.path.join(d, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mix", "dist", "procs", "store", "ops_per_s", "p50_ns", "p99_ns", "p999_ns",
                    "vs_mutex", "vs_floor_time", "vs_floor_rmw_time"])
        for k in sorted(summary, key=sort_key):
            v = summary[k]
            w.writerow(list(k) + [v.get(m) for m in ("ops_per_s", "p50_ns", "p99_ns", "p999_ns",
                                                       "vs_mutex", "vs_floor",
                                                       "vs_floor_rmw")])

    micro = load_micro(d)
    micro_lines, micro_rows = micro_sizes_table(micro) if micro else ([], [])
    plots = gnuplot(d, summary, dists)
    machine = open(os.path.join(d, "machine.txt")).read() if os.path.exists(
        os.path.join(d, "machine.txt")) else "(no machine.txt)"
    name = os.path.basename(os.path.abspath(d))
    md = [f"# {name}", "",
          f"shmtable-ycsb: {meta['records']} records"
          + (f" in {meta['slots']} slots" if 'slots' in meta else "")
          + f", {meta['key_bytes']}-byte keys, "
          f"{meta['value_bytes']}-byte values, {meta['rounds']} interleaved rounds of "
          f"{meta['seconds']} s per store and configuration; zipfian theta {meta['theta']}. "
          "Throughput is operations per second of all processes together, the median over "
          "rounds; ratios are paired per round, then the median.", ""]
    for dist in dists:
        md += [f"## Throughput ({dist})", "", headline_table(summary, dist), ""]
    for dist in dists:
        table = server_table(summary, dist)
        if table:
            md += [f"## Leaving shared memory ({dist})", "", SERVER_CAPTION, "", table, ""]
    md += ["## Targets", "", targets(summary, micro_rows, micro), ""]
    if micro_lines:
        md += ["## Single-process get against the floor (micro_bench, CPU time per get)", ""]
        md += micro_lines + [""]
    if micro and batch_table(micro):
        md += ["## Batched reads on tables beyond the caches (micro_bench, CPU time)", ""]
        md += batch_table(micro) + [""]
    if micro and ttl_table(micro):
        md += ["## What expiry costs (micro_bench, CPU time per operation; 16 Ki slots at "
               "75 %, 16/64 B; every entry timed an hour ahead, or none)", ""]
        md += ttl_table(micro) + [""]
    if micro and stats_table(micro):
        md += ["## What the shared statistics cost (micro_bench, CPU time)", ""]
        md += stats_table(micro) + [""]
    if micro and evict_table(micro):
        md += ["## What eviction costs (micro_bench, CPU time, lock-free engine; per "
               "iteration)", ""]
        md += evict_table(micro) + [""]
    for dist in dists:
        md += [f"## Latency ({dist}; 1 operation in {meta['sample_every']} timed)", "",
               latency_table(summary, dist), ""]
    md += ["## How each store does YCSB-F's read-modify-write", ""]
    md += [f"- {TITLES.get(s, s)}: {v['rmw']}" for s, v in meta["stores"].items()]
    if meta["skipped"]:
        md += ["", "## Skipped", ""] + [f"- {s}: {why}" for s, why in meta["skipped"].items()]
    if plots:
        md += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    md += ["", "## Machine", "", "```", machine.rstrip(), "```", ""]
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write("\n".join(md))

    headline = headline_table(summary, "zipfian" if "zipfian" in dists else dists[0])
    server = server_table(summary, "zipfian" if "zipfian" in dists else dists[0])
    print(headline)
    print()
    if server:
        print(server)
        print()
    print(targets(summary, micro_rows, micro))
    if args.readme:
        text = open(args.readme).read()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        if begin not in text or end not in text:
            sys.exit(f"report: {args.readme} has no {begin} ... {end} markers")
        cpu = next((l.split(":", 1)[1].strip() for l in machine.splitlines()
                    if l.startswith("cpu:")), "unknown CPU")
        rel = os.path.relpath(d, os.path.dirname(os.path.abspath(args.readme)))
        block = (f"{begin}\nGenerated by `bench/report.py` from [{rel}]({rel}/summary.md) "
                 f"({cpu}; {meta['records']} records, {meta['key_bytes']}/{meta['value_bytes']}"
                 "-byte keys/values, zipfian 0.99, operations/s of all processes):\n\n"
                 f"{headline}\n\n"
                 + (f"{SERVER_CAPTION}\n\n{server}\n\n" if server else "")
                 + f"{targets(summary, micro_rows, micro)}\n{end}")
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
        with open(args.readme, "w") as f:
            f.write(text)
        print(f"report: updated {args.readme}")


if __name__ == "__main__":
    main()
