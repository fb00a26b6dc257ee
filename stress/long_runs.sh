#!/usr/bin/env bash
# The long stress runs recorded in results/: one per engine with crash injection on,
# millions of checked operations each, plus the faithful mutex engine without crashes
# (with crashes it hangs by design, which the last run shows).
#   bash stress/long_runs.sh [BUILD_DIR] [OUT_DIR] [SCALE]
# SCALE multiplies the operation counts (default 1: about 80 s and 5 GiB of RAM on a
# 2-core machine; the harness holds the whole history in memory).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-results/$(date -u +%Y-%m-%d)-stress}
scale=${3:-1}
stress=$build/stress/shmtable-stress
[[ -x $stress ]] || { echo "no $stress: run 'bash run test' (or ninja -C $build) first" >&2; exit 2; }
mkdir -p "$out"
bash bench/machine.sh "$build" >"$out/machine.txt"

run() { # name, then shmtable-stress arguments
  local name=$1
  shift
  echo "==> $name: shmtable-stress $*" | tee "$out/$name.txt"
  "$stress" "$@" --summary "$out/$name.json" | tee -a "$out/$name.txt"
}

run lockfree-crash mix --engine lockfree --crash --kill-interval-ms 2 --ops $((10000000 * scale)) --seed 42
run lockfree-churn-crash churn --engine lockfree --crash --kill-interval-ms 5 --ops $((4000000 * scale)) --seed 43
run robust-crash mix --engine robust --crash --kill-interval-ms 2 --ops $((5000000 * scale)) --seed 44
run mutex mix --engine mutex --ops $((5000000 * scale)) --seed 45
run mutex-crash mix --engine mutex --crash --kill-interval-ms 2 --ops $((5000000 * scale)) --seed 46
echo "results in $out"
