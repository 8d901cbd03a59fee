#!/bin/bash
# What instrumenting the library buys libFuzzer: builds every fuzz target twice with clang, once
# with only the target's own file coverage-instrumented (-DVDISK_FUZZ_INSTRUMENT_LIBRARY=OFF, the
# old fuzz build) and once with every object instrumented (the default), runs each the same
# number of inputs from its seeds with its dictionary and the same seed, and prints a Markdown
# table of libFuzzer's final `cov:` (edges seen) for both.
# Usage: fuzz/coverage_compare.sh [RUNS] [WORK]   (defaults 20000, /var/tmp/vdisk-fuzz-cov)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${1:-20000}
work=${2:-/var/tmp/vdisk-fuzz-cov}
mkdir -p "$work"
for mode in OFF ON; do
  b=$work/build-$mode
  CC=clang CXX=clang++ cmake -S "$root" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVDISK_FUZZ_LINKMAIN=OFF -DVDISK_FUZZ_INSTRUMENT_LIBRARY=$mode -DVDISK_BUILD_TESTS=OFF \
    -DVDISK_BUILD_BENCH=OFF >/dev/null
  cmake --build "$b" >/dev/null
done
echo "| target | cov, target file only | cov, library instrumented | runs |"
echo "|---|---|---|---|"
for src in "$here"/fuzz_*.cpp; do
  t=$(basename "$src" .cpp); t=${t#fuzz_}
  row="| $t"
  for mode in OFF ON; do
    scratch=$work/corpus-$mode-$t
    rm -rf "$scratch" && mkdir -p "$scratch"
    dict=$here/dict/$t.dict
    cov=$("$work/build-$mode/fuzz/fuzz_$t" -runs="$runs" -seed=1 ${dict:+-dict="$dict"} \
      -timeout=25 -rss_limit_mb=2048 "$scratch" "$here/corpus/$t" 2>&1 |
      grep -o 'cov: [0-9]*' | tail -1 | grep -o '[0-9]*' || echo "?")
    row="$row | $cov"
  done
  echo "$row | $runs |"
done
