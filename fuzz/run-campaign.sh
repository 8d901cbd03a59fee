#!/bin/bash
# A fuzzing campaign: runs each libFuzzer target for a while from its seeds with its dictionary,
# merges the inputs that add coverage back into fuzz/corpus/<target>/, keeps every crash, leak,
# timeout and out-of-memory input as a regression seed there (the ctest replay then fails until
# it is fixed), logs the run in fuzz/campaign.tsv and rewrites fuzz/RESULTS.md from that log.
#
# Usage: fuzz/run-campaign.sh [-b BUILD] [-m MINUTES] [-c] [-j JOBS] [-n NICE] [-w WORK] [TARGET...]
#   -b  a clang build with -DVDISK_FUZZ_LINKMAIN=OFF (default build-fuzz); its fuzz targets are
#       (re)built first
#   -m  wall minutes per target and run (default 30); the log records the CPU time really used
#   -c  MINUTES are CPU minutes: each target is fuzzed (restarted as needed) until it has used
#       them, however busy the machine (for a campaign at nice 19 beside other work)
#   -j  targets fuzzed at once (default nproc)
#   -n  nice level of the fuzzers (default 0; 19 lets a campaign use only idle CPU)
#   -w  scratch directory (default /var/tmp/vdisk-fuzz-campaign)
#   TARGET  names without the fuzz_ prefix (default: every fuzz/fuzz_*.cpp)
# `fuzz/run-campaign.sh -r` only rewrites fuzz/RESULTS.md from the log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build-fuzz
minutes=30
jobs=$(nproc)
niceness=0
work=/var/tmp/vdisk-fuzz-campaign
report_only=0
cpu_mode=0
while getopts "b:m:cj:n:w:r" opt; do
  case $opt in
    b) build=$(realpath "$OPTARG") ;;
    m) minutes=$OPTARG ;;
    c) cpu_mode=1 ;;
    j) jobs=$OPTARG ;;
    n) niceness=$OPTARG ;;
    w) work=$OPTARG ;;
    r) report_only=1 ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
log=$here/campaign.tsv
[ -f "$log" ] || printf 'date\ttarget\tcpu_seconds\texecutions\tcoverage\tcorpus_files\tcrashes\n' >"$log"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/fuzz_*.cpp; do n=$(basename "$f" .cpp); targets+=("${n#fuzz_}"); done
fi

# Replays one input; 0 when the target neither crashes nor reports an error on it.
replays_clean() { "$build/fuzz/fuzz_$1" -runs=1 -timeout=30 -rss_limit_mb=2048 "$2" >/dev/null 2>&1; }

# The "fixed" count fuzz/RESULTS.md holds for a target ("?" when it holds none).
previous_fixed() {
  awk -F' [|] ' -v t="$1" '$1 == "| " t {split($6, c, "/"); sub(/ [|]$/, "", c[2]); v = c[2]}
    END {print (v == "" ? "?" : v)}' "$here/RESULTS.md" 2>/dev/null || echo "?"
}

# Rewrites fuzz/RESULTS.md: per target the CPU minutes and executions summed over the log, the
# coverage and corpus size of its last run, crashes found (summed) and fixed (the regression
# seeds that replay clean now; counted only when the build is there to replay them).
write_results() {
  {
    echo "# Fuzzing campaigns"
    echo
    echo "Written by \`fuzz/run-campaign.sh\` from \`fuzz/campaign.tsv\` (one line per target and"
    echo "run); do not edit by hand. CPU minutes and executions are summed over every run; coverage"
    echo "is libFuzzer's \`cov:\` (edges of the instrumented library and target) of the whole corpus"
    echo "after the last run; crashes found/fixed counts the inputs kept as \`regress-*\` seeds in"
    echo "\`fuzz/corpus/<target>/\`, fixed when they replay clean."
    echo
    echo "| target | CPU minutes | executions | coverage | corpus files | crashes found/fixed |"
    echo "|---|---|---|---|---|---|"
    tail -n +2 "$log" | awk -F'\t' '{cpu[$2]+=$3; ex[$2]+=$4; cov[$2]=$5; cf[$2]=$6; cr[$2]+=$7}
      END {for (t in cpu) printf "%s\t%.1f\t%d\t%s\t%s\t%d\n", t, cpu[t]/60, ex[t], cov[t], cf[t], cr[t]}' |
      sort | while IFS=$'\t' read -r t cpu ex cov cf cr; do
        fixed=0
        for s in "$here/corpus/$t"/regress-*; do
          [ -e "$s" ] || continue
          # Without this target's binary nothing is replayed: the last count written stands.
          if [ ! -x "$build/fuzz/fuzz_$t" ]; then fixed=$(previous_fixed "$t"); break; fi
          if replays_clean "$t" "$s"; then fixed=$((fixed + 1)); fi
        done
        echo "| $t | $cpu | $ex | $cov | $cf | $cr/$fixed |"
      done
  } >"$here/RESULTS.md.new"
  mv "$here/RESULTS.md.new" "$here/RESULTS.md"
}

if [ "$report_only" = 1 ]; then write_results; exit 0; fi
[ -f "$build/CMakeCache.txt" ] || { echo "no fuzz build at $build (see docs/testing.md: Real fuzzing)" >&2; exit 1; }
# Under a lock, so that campaigns run side by side (one target list each) can share a build.
flock "$build/.campaign-build.lock" cmake --build "$build" --target "${targets[@]/#/fuzz_}" >/dev/null
mkdir -p "$work"

# The seed corpus without the regression seeds (which may still crash the target).
clean_copy() {
  rm -rf "$2"; mkdir -p "$2"
  find "$1" -maxdepth 1 -type f ! -name 'regress-*' -exec cp -t "$2" {} +
}

# One target's run: fuzz into a scratch corpus (restarting after each crash until the time is
# used), keep the crashes as regression seeds, merge what adds coverage, measure, log.
campaign() {
  local t=$1 bin=$build/fuzz/fuzz_$1 seeds=$here/corpus/$1 dir=$work/$1
  local dict=$here/dict/$1.dict
  [ -f "$dict" ] || dict=""
  rm -rf "$dir"; mkdir -p "$dir/new" "$dir/artifacts" "$seeds"
  clean_copy "$seeds" "$dir/seeds"
  local start=$SECONDS deadline=$((SECONDS + minutes * 60)) execs=0 cpu=0 n=0 left
  # Seconds still to fuzz: of the wall deadline, or (-c) of the CPU budget.
  budget_left() {
    if [ "$cpu_mode" = 1 ]; then echo $((minutes * 60 - cpu)); else echo $((deadline - SECONDS)); fi
  }
  while [ "$(budget_left)" -gt 5 ]; do
    n=$((n + 1))
    left=$(budget_left)
    /usr/bin/time -f '%U %S' -o "$dir/time" nice -n "$niceness" "$bin" ${dict:+-dict="$dict"} \
      -max_total_time="$left" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/" -close_fd_mask=3 "$dir/new" "$dir/seeds" \
      >"$dir/log.$n" 2>&1 || true
    local e
    e=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$dir/log.$n" | tail -1 | grep -o '[0-9]*$' || true)
    execs=$((execs + ${e:-0}))
    # GNU time writes "Command exited with non-zero status N" before the times after a crash:
    # only the line of two numbers counts.
    cpu=$(awk -v c="$cpu" '/^[0-9.]+ [0-9.]+$/ {c += $1 + $2} END {printf "%d", c}' "$dir/time")
    # A run that ended early found something (kept below); one that ended on time is done
    # (with -c, done when the CPU budget is used: a busy machine gives less CPU than wall time).
    if [ "$cpu_mode" = 0 ]; then grep -q 'Done [0-9]* runs in\|fuzzed for' "$dir/log.$n" && break; fi
    [ "$n" -ge 200 ] && break
  done
  local crashes=0
  for a in "$dir"/artifacts/*; do
    [ -f "$a" ] || continue
    # A slow unit is an input that took over 10 s on a busy machine, not a failure.
    case $(basename "$a") in slow-unit-*) continue ;; esac
    # A timeout on a machine that stopped or starved the fuzzer (a benchmark beside it) is not
    # the input's fault: keep it only when it still times out alone.
    case $(basename "$a") in
      timeout-*) if replays_clean "$t" "$a"; then
          echo "$t: $(basename "$a") replays within the limit; not kept"; continue
        fi ;;
    esac
    cp "$a" "$seeds/regress-$(basename "$a" | cut -d- -f1)-$(sha1sum "$a" | cut -c1-16)"
    crashes=$((crashes + 1))
  done
  # Merge: the smallest set of inputs (seeds and new ones) that keeps the coverage replaces the
  # inputs earlier campaigns added (named by content hash); hand-made seeds and regression seeds
  # always stay.
  mkdir -p "$dir/min"
  nice -n "$niceness" "$bin" -merge=1 -timeout=25 -rss_limit_mb=2048 "$dir/min" "$dir/seeds" \
    "$dir/new" >"$dir/merge.log" 2>&1 || true
  if grep -q 'MERGE-OUTER: [0-9]* new files' "$dir/merge.log"; then
    find "$seeds" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}' -delete
    # Copy in the minimal set, skipping contents the corpus already holds (compared by hash).
    local kept
    kept=$(find "$seeds" -maxdepth 1 -type f -exec sha1sum {} + | cut -c1-40 | sort -u)
    local f h
    for f in "$dir"/min/*; do
      [ -f "$f" ] || continue
      h=$(sha1sum "$f" | cut -c1-40)
      grep -qx "$h" <<<"$kept" || cp "$f" "$seeds/$h"
    done
  fi
  clean_copy "$seeds" "$dir/after"
  local cov files
  cov=$(nice -n "$niceness" "$bin" -runs=0 -timeout=25 -rss_limit_mb=2048 "$dir/after" 2>&1 |
    grep -o 'INITED cov: [0-9]*' | tail -1 | grep -o '[0-9]*$' || echo "?")
  files=$(find "$seeds" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$t" "$cpu" "$execs" \
    "$cov" "$files" "$crashes" >>"$log"
  echo "$t: ${cpu}s CPU in $((SECONDS - start))s, $execs executions, cov $cov, $files corpus files, $crashes crashes"
}

running=0
for t in "${targets[@]}"; do
  [ -f "$here/fuzz_$t.cpp" ] || { echo "no target fuzz_$t" >&2; exit 2; }
  campaign "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
write_results
echo "wrote $here/RESULTS.md"
