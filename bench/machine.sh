#!/usr/bin/env bash
# Describes the machine a result was measured on: CPU, cores, caches, memory, kernel,
# compiler and build flags, frequency governor. Usage: bench/machine.sh [BUILD_DIR]
set -u
build=${1:-build}
echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "cpu:       $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "cores:     $(nproc) online ($(grep -c ^processor /proc/cpuinfo) logical)"
for idx in /sys/devices/system/cpu/cpu0/cache/index*; do
  [[ -r $idx/size ]] || continue
  echo "cache:     L$(cat "$idx/level") $(cat "$idx/type") $(cat "$idx/size")"
done
echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel:    $(uname -srm)"
gov=/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor
echo "governor:  $([[ -r $gov ]] && cat $gov || echo 'not readable (VM?)')"
virt=$(systemd-detect-virt 2>/dev/null || true)
echo "virt:      ${virt:-unknown}"
# The compiler that built the library (its .comment section), which is not the machine's
# own c++ when a built tree is copied to another machine (bench/many_core.sh).
lib=$(ls "$build"/src/libshmtable.so.*.*.* 2>/dev/null | head -1)
built=$([[ -n $lib ]] && grep -a -o -m1 'GCC: ([^)]*) [0-9.]*' "$lib" | head -1)
echo "compiler:  ${built:-$(c++ --version | head -1)}"
if [[ -f $build/meson-info/intro-buildoptions.json ]]; then
  python3 - "$build" <<'PY'
import json, sys
opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[1] + "/meson-info/intro-buildoptions.json"))}
print("buildtype: %s (optimization=%s, debug=%s, b_ndebug=%s)" % (
    opts["buildtype"], opts["optimization"], opts["debug"], opts["b_ndebug"]))
print("cpp_args:  %s" % (" ".join(opts.get("cpp_args", [])) or "(none)"))
PY
fi
# A running DAMON scheme (e.g. the "pageout" some VMs use to hand idle memory back to
# the host) unmaps the pages of a table left idle for a moment; its next reads fault.
for k in /sys/kernel/mm/damon/admin/kdamonds/[0-9]*; do
  [[ -r $k/state && $(cat "$k/state") == on ]] || continue
  actions=$(cat "$k"/contexts/*/schemes/*/action 2>/dev/null | sort -u | tr '\n' ' ')
  echo "damon:     $(basename "$k") on, schemes: ${actions:-none}"
done
if [[ -x $build/bench/shmtable-line-transfer ]]; then
  echo "line:      $("$build/bench/shmtable-line-transfer")"
fi
