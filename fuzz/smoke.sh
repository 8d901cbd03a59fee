#!/bin/bash
# ctest "fuzz_run.<target>" (libFuzzer builds only): fuzzes one target for SECONDS from its
# committed corpus, with its dictionary. The corpus is only read; what the run finds goes to
# WORK/new and is dropped (fuzz/run-campaign.sh is what grows the corpus). A crash, leak,
# timeout or out-of-memory fails the test, with the input kept under WORK/artifacts/.
# The seed is fixed so that a CI run is repeatable: new findings are the campaign's job
# (fuzz/run-campaign.sh), and a CI failure replays with the same command.
#
# Usage: fuzz/smoke.sh BINARY CORPUS DICT SECONDS WORK
set -euo pipefail
bin=$1 corpus=$2 dict=$3 seconds=$4 work=$5
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
args=(-seed=1 -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$work/artifacts/")
[ -f "$dict" ] && args+=(-dict="$dict")
set +e
"$bin" "${args[@]}" "$work/new" "$corpus" >"$work/log" 2>&1
rc=$?
set -e
# The summary lines (coverage, corpus, executions), then the verdict with the report if any.
grep -E '^#[0-9]+ *(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb' "$work/log" || true
if [ "$rc" -ne 0 ]; then
  tail -n 60 "$work/log"
  ls -l "$work/artifacts"
  echo "FAIL: $(basename "$bin") exited $rc; the input is in $work/artifacts/"
  exit 1
fi
echo "ok: $(basename "$bin") fuzzed ${seconds}s with no finding"
