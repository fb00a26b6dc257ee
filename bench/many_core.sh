#!/usr/bin/env bash
# bench/many_core.sh: the full sweep on a many-core machine, from an already-built tree
# (copy or clone the repository with its build-release/ folder; nothing is rebuilt and
# nothing needs the network). Processes go 1, 2, 4, ... up to the online CPUs, and the
# results land in results/<date>-bench-<N>cores/, ready to commit.
#
#   bench/many_core.sh [--build DIR] [--procs LIST] [--dists LIST] [--rounds R] [--seconds S]
#
# Redis and memcached are measured when their servers are installed there, and skipped
# with the reason otherwise; the README table is left alone (it shows the 2-core run).
# --dists, --rounds and --seconds shorten the YCSB sweep (bench/run.sh); the full one takes
# 6 stores x 4 mixes x 2 distributions x 5 process counts x 5 rounds of 1 s: 20 minutes
# of YCSB alone with 16 CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-release
procs=
sweep=()
while (($#)); do
  case $1 in
  --build) build=$2; shift ;;
  --procs) procs=$2; shift ;;
  --dists | --rounds | --seconds) sweep+=("$1" "$2"); shift ;;
  *) echo "bench/many_core.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

out=results/$(date +%Y-%m-%d)-bench-$(nproc)cores
[[ -e $out ]] && out=$out-$(date +%H%M%S)
exec bench/run.sh --full --build "$build" --out "$out" ${procs:+--procs "$procs"} "${sweep[@]}"
