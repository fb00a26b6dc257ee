#!/usr/bin/env bash
# bench/run.sh: runs the benchmark comparison from a built tree and writes one results
# folder: machine.txt, micro.json (Google Benchmark), ycsb.csv/ycsb-procs.csv/ycsb.json
# (shmtable-ycsb), summary.md/summary.csv and SVG plots (bench/report.py).
#
#   bench/run.sh [--full] [--build DIR] [--out DIR] [--procs LIST] [--readme FILE]
#                [--dists LIST] [--rounds R] [--seconds S]
#
# Default (the headline, about three minutes on 2 cores): every store, YCSB A/B/C/F,
# zipfian keys, 1 and 2 processes, 5 interleaved rounds of 0.25 s; micro_bench's get
# against the floor at three table sizes, and batched gets (get_many) against single
# gets on tables of 1 Mi and 16 Mi slots (about 4 GiB of memory while they run). The
# micro-benchmarks' repetitions run in a random interleaving, so that a slow spell of the
# shared machine does not land on one side of a ratio.
# --full: zipfian and uniform keys, 1..N processes (N = online CPUs, powers of two),
# 5 rounds of 1 s, and every micro_bench sweep (operations x load factors x key/value
# sizes, threads 1..N, table sizes). About 15 minutes on 2 cores.
# --readme FILE: regenerate FILE's benchmark table from this run (bench/report.py).
# --dists, --rounds, --seconds: override the YCSB sweep's key distributions, rounds and
# seconds per round (e.g. to fit a full sweep of a many-core machine into a short loan).
set -euo pipefail
cd "$(dirname "$0")/.."

full=0
build=build-release
out=
procs=
readme=
dists=
rounds=
seconds=
while (($#)); do
  case $1 in
  --full) full=1 ;;
  --build) build=$2; shift ;;
  --out) out=$2; shift ;;
  --procs) procs=$2; shift ;;
  --readme) readme=$2; shift ;;
  --dists) dists=$2; shift ;;
  --rounds) rounds=$2; shift ;;
  --seconds) seconds=$2; shift ;;
  *) echo "bench/run.sh: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
  esac
  shift
done

for exe in "$build/bench/shmtable-ycsb" "$build/bench/micro_bench"; do
  [[ -x $exe ]] || { echo "bench/run.sh: $exe is not built (ninja -C $build)" >&2; exit 1; }
done

if [[ -z $procs ]]; then
  procs=1,2
  if ((full)); then
    n=$(nproc)
    procs=1
    for ((p = 2; p <= n; p *= 2)); do procs+=,$p; done
    ((n & (n - 1))) && procs+=,$n
  fi
fi

if [[ -z $out ]]; then
  tag=$( ((full)) && echo bench-full || echo bench)
  out=results/$(date +%Y-%m-%d)-$tag
  [[ -e $out ]] && out=$out-$(date +%H%M%S)
fi
mkdir -p "$out"
echo "==> results in $out"

bench/machine.sh "$build" >"$out/machine.txt"
echo "procs:     $procs ($( ((full)) && echo full || echo headline) run)" >>"$out/machine.txt"

if ((full)); then
  ycsb=(--dists "${dists:-zipfian,uniform}" --rounds "${rounds:-5}" --seconds "${seconds:-1}")
  micro=(--benchmark_filter=. --benchmark_min_time=0.1)
else
  ycsb=(--dists "${dists:-zipfian}" --rounds "${rounds:-5}" --seconds "${seconds:-0.25}")
  # The warm-up: the first repetitions of the 16 Mi-slot (GB-sized) tables ran 3-5x slower
  # than the rest; 0.2 s of warm-up per run made them agree.
  micro=(--benchmark_filter='/sizes/|/batch/|/ttl/|/stats/|/evict/' --benchmark_min_time=0.1 --benchmark_repetitions=5
         --benchmark_enable_random_interleaving=true --benchmark_min_warmup_time=0.2)
fi

echo "==> micro_bench ${micro[*]}"
"$build/bench/micro_bench" "${micro[@]}" --benchmark_out="$out/micro.json" \
  --benchmark_out_format=json 2>&1 | grep -v -e '^\*\*\*' -e 'Library was built as DEBUG'

echo "==> shmtable-ycsb ${ycsb[*]} --procs $procs"
"$build/bench/shmtable-ycsb" "${ycsb[@]}" --procs "$procs" --out "$out"
# The line round trip again: the host may have moved the virtual CPUs meanwhile.
if [[ -x $build/bench/shmtable-line-transfer ]]; then
  echo "line after: $("$build/bench/shmtable-line-transfer")" >>"$out/machine.txt"
fi

echo "==> report"
python3 bench/report.py "$out" ${readme:+--readme "$readme"}
