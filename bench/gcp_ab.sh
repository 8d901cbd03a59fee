#!/bin/bash
# A/B of two vdconvert builds on one path, runs alternating so that both see the same machine:
# sparse VMDK -> GCP with --no-sync, SOURCE_DATE_EPOCH pinned so the archives must be identical.
# Usage: bench/gcp_ab.sh BASE_VDCONVERT NEW_VDCONVERT [INPUT] [REPS]
#   INPUT defaults to compare_all.py's sparse.vmdk (/var/tmp/vdisk-compare-all), REPS to 5.
# Prints one line per run (wall, user, sys, peak RSS in KiB) and the two archives' sha256, and
# fails when they differ (the same input and timestamp must give the same archive). The ctest
# bench.gcp_ab_quick (label bench) runs it with one build as both sides on compare_all.py
# --quick's sparse.vmdk, REPS 1.
set -euo pipefail
base=$1 new=$2
in=${3:-/var/tmp/vdisk-compare-all/sparse.vmdk}
reps=${4:-5}
out=$(mktemp -d /var/tmp/vdisk-ab.XXXXXX)
trap 'rm -rf "$out"' EXIT
export SOURCE_DATE_EPOCH=1700000000
for rep in $(seq 1 "$reps"); do
  for v in base new; do
    bin=$base; [ $v = new ] && bin=$new
    rm -f "$out/$v.tar.gz"; sync
    /usr/bin/time -f "$v rep$rep wall %e user %U sys %S rss %M" "$bin" convert --to gcp --no-sync \
      "$in" "$out/$v.tar.gz" 2>&1 >/dev/null | tail -1
  done
done
sha256sum "$out/base.tar.gz" "$out/new.tar.gz"
if ! cmp -s "$out/base.tar.gz" "$out/new.tar.gz"; then
  echo "the two archives differ" >&2
  exit 1
fi
