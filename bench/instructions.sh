#!/usr/bin/env bash
# bench/instructions.sh: instructions per operation, counted with callgrind: the marginal
# cost between COUNT and 2*COUNT operations of shmtable-instr (bench/instr_loop.cpp), so
# setup and loading are subtracted out. Repeatable whatever else the machine is doing.
#
#   bench/instructions.sh [--build DIR] [--count N] [OP [SLOTS [KEY_BYTES [VALUE_BYTES]]]]
#
# Prints one line per engine (floor, lockfree, mutex) with instructions per OP (OP: get,
# miss, set; many: get_many per key, in batches of 64: the lock-free engine's and the floor's).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-release
count=100000
while (($#)); do
  case $1 in
  --build) build=$2; shift 2 ;;
  --count) count=$2; shift 2 ;;
  *) break ;;
  esac
done
op=${1:-get}
shift || true
exe=$build/bench/shmtable-instr
[[ -x $exe ]] || { echo "bench/instructions.sh: $exe is not built (ninja -C $build)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "bench/instructions.sh: valgrind is not installed" >&2; exit 1; }

total() { # engine count args...: total instructions callgrind collected
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$exe" "$1" "$op" "$2" "${@:3}" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

engines=(floor lockfree mutex)
[[ $op == many ]] && engines=(floor lockfree) # the mutex engine has no get_many
for engine in "${engines[@]}"; do
  a=$(total "$engine" "$count" "$@")
  b=$(total "$engine" $((2 * count)) "$@")
  printf '%-9s %s %8.1f instructions per %s\n' "$engine" "${*:-1024 16 64}" \
    "$(awk -v a="$a" -v b="$b" -v n="$count" 'BEGIN { print (b - a) / n }')" "$op"
done
