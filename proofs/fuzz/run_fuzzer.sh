#!/bin/sh
# Runs one libFuzzer target for a fixed time, as the meson suite 'fuzz' does.
#   run_fuzzer.sh BINARY SEED_CORPUS WORK_DIR SECONDS [extra libFuzzer flags...]
# The committed SEED_CORPUS is read, never written: new inputs go to WORK_DIR/corpus
# (libFuzzer writes only to its first corpus directory), crashes, leaks and timeouts to
# WORK_DIR/artifacts/. The final stats (execs, cov, ft, corpus) end the output.
set -eu
bin=$1
seeds=$2
work=$3
secs=$4
shift 4
mkdir -p "$work/corpus" "$work/artifacts"
# -error_exitcode=1: libFuzzer's default for a bug found is 77, which meson reads as a
# skipped test: a crash must fail the suite.
exec "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -error_exitcode=1 \
  -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds"
