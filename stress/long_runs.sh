#!/usr/bin/env bash
# The long stress runs recorded in results/: one per engine with crash injection on,
# tens of millions of checked operations each, plus the faithful mutex engine without
# crashes (with crashes it hangs by design, which the last run shows).
#   bash stress/long_runs.sh [BUILD_DIR] [OUT_DIR] [SCALE]
# SCALE multiplies the operation counts (default 1: about 15 minutes on a 2-core
# machine). Each run goes in epochs of 1M operations (--max-ops), each audited and
# checked on its own, so memory stays under about 1 GiB however long the run; the peak
# resident size of each run is recorded beside it.
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
  local timed=()
  [[ -x /usr/bin/time ]] && timed=(/usr/bin/time -f "peak resident set size: %M KiB, wall %e s" -o "$out/$name.time")
  "${timed[@]}" "$stress" "$@" --max-ops 1000000 --quiet --summary "$out/$name.json" |
    tee -a "$out/$name.txt"
  if [[ -f $out/$name.time ]]; then
    tee -a "$out/$name.txt" <"$out/$name.time"
    rm "$out/$name.time"
  fi
}

run lockfree-crash mix --engine lockfree --crash --kill-interval-ms 2 --ops $((50000000 * scale)) --seed 42
run lockfree-churn-crash churn --engine lockfree --crash --kill-interval-ms 5 --ops $((20000000 * scale)) --seed 43
run robust-crash mix --engine robust --crash --kill-interval-ms 2 --ops $((50000000 * scale)) --seed 44
run mutex mix --engine mutex --ops $((50000000 * scale)) --seed 45
run mutex-crash mix --engine mutex --crash --kill-interval-ms 2 --ops $((5000000 * scale)) --seed 46
echo "results in $out"
