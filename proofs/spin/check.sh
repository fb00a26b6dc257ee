#!/usr/bin/env bash
# check.sh: runs spin -> cc -> pan on slot_protocol.pml for one scenario, clean or with
# one planted bug, and exits 0 only on the expected outcome (meson suite 'model').
#
#   check.sh [-s race|race3|recycle|move|cas|memo|expiry|evict] [-p PLANTED] [-k]
#
# Clean model: two exhaustive passes must both report 0 errors over a completed search:
#   safety    assertions (every property) and invalid end states (a live process stuck);
#   liveness  cycles (pan -l; the model has no progress labels, so any cycle counts): no
#             execution in which a process spins forever, e.g. waiting on a crashed one.
# Planted bug (-p NAME, scenario defaults to the one that exposes it): the pass named for
# it must FAIL, and fail for the right reason: pan reports an error, a trail exists, and
# replaying the trail (spin -t) shows the property this bug breaks. A model that does not
# compile, or a search that is cut short, is an error (exit 2), never a pass.
#
# Exit: 0 expected outcome, 1 unexpected outcome, 2 tool or setup error, 77 spin (or a
# C compiler) not installed: meson reports the test as skipped.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
model="$here/slot_protocol.pml"
scenario=""
planted="none"
keep=0

usage() {
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while getopts "s:p:kh" opt; do
  case "$opt" in
  s) scenario=$OPTARG ;;
  p) planted=$OPTARG ;;
  k) keep=1 ;;
  *) usage ;;
  esac
done

# What each planted bug must break: the pass that must fail, the property names (as the
# model prints them on a trail replay) that count as the right failure, and the scenario
# that exposes it.
case "$planted" in
none) ;;
skip_recheck) # a torn value, or a torn key word read as "not this key"
  pass=safety want='torn-read|stale-read|miss-while-present' def_scenario=recycle ;;
publish_before_write)
  pass=safety want='I2-record-mismatch|I2-write-to-named-buffer|stale-read|torn-read'
  def_scenario=recycle ;;
cas_as_store) # two writers both 'win' one word: the lost write, or the old buffer freed twice
  pass=safety want='lost-update|P1-double-free|P1-buffer-in-two-slots|abstract-map-mismatch'
  def_scenario=cas ;;
no_dup_scan) pass=safety want='I3-duplicate-keys|insert-over-live-key' def_scenario=race ;;
wait_for_pending) pass=liveness want='' def_scenario=race ;;
spare_keeps_live) # the live buffer kept as the spare (P3), then refilled in place or freed
  pass=safety def_scenario=recycle
  want='P3-spare-still-named|P3-spare-named-or-free|I2-write-to-named-buffer'
  want+='|I2-record-mismatch|P1-double-free|torn-read|stale-read' ;;
reserve_keeps_epoch) # a stale memo entry applies: a set of K1 overwrites K2's slot
  pass=safety want='abstract-map-mismatch|I2-record-mismatch|lost-update'
  def_scenario=memo ;;
reclaim_stale_word) # a reclaim CAS from a re-loaded word frees an entry that is present
  pass=safety want='T2-reclaim-not-expired|abstract-map-mismatch|P1-double-free'
  def_scenario=expiry ;;
evict_pending) # the hand frees a reservation and pushes the buffer its owner holds
  pass=safety def_scenario=evict
  want='I2-record-mismatch|I2-write-to-named-buffer|P1-double-free|P1-buffer-in-two-slots'
  want+='|P1-pop-of-a-buffer-not-free|P1-free-list-corrupt' ;;
*) echo "check.sh: unknown planted bug '$planted'" >&2; exit 2 ;;
esac
scenario=${scenario:-${def_scenario:-race}}
case "$scenario" in
race | race3 | recycle | move | cas | memo | expiry | evict) ;;
*) echo "check.sh: unknown scenario '$scenario'" >&2; exit 2 ;;
esac

if ! command -v spin >/dev/null 2>&1; then
  echo "SKIP: spin is not installed (apt-get install spin); the model was not checked"
  exit 77
fi
cc=${CC:-}
if [ -z "$cc" ]; then
  cc=$(command -v gcc || command -v cc || true)
fi
if [ -z "$cc" ]; then
  echo "SKIP: no C compiler for spin's pan.c (gcc or cc); the model was not checked"
  exit 77
fi

# pan writes pan.* and trail files into its working directory: never the source tree.
work=$(mktemp -d "${TMPDIR:-/tmp}/shmtable-model.XXXXXX") || exit 2
if [ "$keep" -eq 0 ]; then
  trap 'rm -rf "$work"' EXIT
else
  echo "keeping $work"
fi
cp "$model" "$work/model.pml"
cd "$work" || exit 2

defs=("-DSCENARIO_${scenario^^}")
if [ "$planted" != none ]; then
  defs+=("-DPLANTED_${planted^^}")
fi
echo "model: $model"
echo "scenario: $scenario; planted bug: $planted; $(spin -V)"

# One pan run. $1 = safety|liveness. Sets pan_out, pan_errors, and prints the numbers.
run_pass() {
  local name=$1 ccflags panflags
  if [ "$name" = safety ]; then
    ccflags=(-DSAFETY)
    panflags=()
  else
    ccflags=(-DNP)
    panflags=(-l)
  fi
  rm -f pan pan.* model.pml.trail
  if ! spin "${defs[@]}" -a model.pml >spin.log 2>&1; then
    echo "ERROR: spin could not translate the model:"
    cat spin.log
    exit 2
  fi
  # COLLAPSE: lossless state compression; MEMLIM: a ceiling (MB) on a shared machine.
  if ! "$cc" -O2 -w "${ccflags[@]}" -DCOLLAPSE -DMEMLIM=2048 -o pan pan.c >cc.log 2>&1; then
    echo "ERROR: $cc could not build pan:"
    cat cc.log
    exit 2
  fi
  local t0 t1
  t0=$(date +%s.%N)
  pan_out=$(./pan -m100000 "${panflags[@]}" 2>&1)
  t1=$(date +%s.%N)
  pan_errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' <<<"$pan_out" | tail -1)
  local stored transitions depth mem
  stored=$(sed -n 's/^ *\([0-9e+.]*\) states, stored.*/\1/p' <<<"$pan_out" | tail -1)
  transitions=$(sed -n 's/^ *\([0-9e+.]*\) transitions.*/\1/p' <<<"$pan_out" | tail -1)
  depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' <<<"$pan_out" | tail -1)
  mem=$(sed -n 's/^ *\([0-9.]*\).*total actual memory usage.*/\1/p' <<<"$pan_out" | tail -1)
  printf '%-8s errors=%s states_stored=%s transitions=%s depth=%s memory_mb=%s wall_s=%.2f\n' \
    "$name" "${pan_errors:-?}" "${stored:-?}" "${transitions:-?}" "${depth:-?}" "${mem:-?}" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
  if [ -z "$pan_errors" ]; then
    echo "ERROR: pan gave no result:"
    echo "$pan_out"
    exit 2
  fi
}

# A search that was cut short proves nothing.
require_complete() {
  if grep -qE 'Search not completed|max search depth too small|out of memory|MEMLIM' <<<"$pan_out"; then
    echo "ERROR: the $1 search did not complete:"
    echo "$pan_out"
    exit 2
  fi
}

if [ "$planted" = none ]; then
  status=0
  for p in safety liveness; do
    run_pass "$p"
    if [ "$pan_errors" != 0 ]; then
      echo "FAIL: the $p pass found an error in the clean model:"
      echo "$pan_out" | grep -E 'pan:|assertion|violated|cycle|end state' | head -5
      [ -f model.pml.trail ] && spin "${defs[@]}" -t model.pml 2>&1 | tail -40
      status=1
    else
      require_complete "$p"
    fi
  done
  [ "$status" -eq 0 ] && echo "PASS: scenario $scenario, no property violated, no process stuck"
  exit "$status"
fi

run_pass "$pass"
if [ "$pan_errors" = 0 ]; then
  require_complete "$pass"
  echo "FAIL: planted bug $planted was NOT caught in scenario $scenario"
  exit 1
fi
if [ ! -f model.pml.trail ]; then
  echo "FAIL: pan reported an error but wrote no trail:"
  echo "$pan_out"
  exit 1
fi
first=$(grep -E 'pan:1: |pan: (acceptance|non-progress) cycle' <<<"$pan_out" | head -1)
# spin -t indents each printf by process: squeeze the blanks before matching.
replay=$(spin "${defs[@]}" -t model.pml 2>&1 | tr -s ' \t' ' ')
if [ "$pass" = liveness ]; then
  want_re='<<<<<START OF CYCLE>>>>>'
else
  want_re="PROPERTY VIOLATED: ($want)([[:space:]]|\$)"
fi
if ! grep -qE "$want_re" <<<"$replay"; then
  echo "FAIL: planted bug $planted failed, but not as expected ($want_re):"
  echo "$first"
  echo "$replay" | tail -30
  exit 1
fi
why=$(grep -oE "PROPERTY VIOLATED: [A-Za-z0-9-]+" <<<"$replay" | head -1)
steps=$(sed -n 's/.*trail ends after \([0-9]*\) steps.*/\1/p' <<<"$replay" | head -1)
echo "CAUGHT: planted bug $planted -> ${why:-non-progress cycle (a process spins forever)}"
echo "pan: ${first:0:150}"
echo "trail: $steps steps, replayed with spin -t:"
grep -E 'PROPERTY VIOLATED|assertion|START OF CYCLE|trail ends' <<<"$replay" | head -6
exit 0
