#!/usr/bin/env bash
# vdconvert --to gcp and check --for gcp against GNU tar, bsdtar and Python's tarfile.
source "$(dirname "$0")/lib.sh"
need tar bsdtar python3 truncate
python3 - <<'PY'
import os
with open('in.raw', 'wb') as f:
    f.truncate(50 * 2**20 + 4096)
    for i in range(7):
        f.seek(i * 7 * 2**20 + 4096); f.write(os.urandom(3 * 4096) + bytes(1000) + b'end')
PY
"$VDCONVERT" convert --to gcp -q in.raw out.tar.gz
cp --sparse=always in.raw want.raw && truncate -s 1G want.raw
# Contents are compared byte for byte with cmp (as exact as a hash, and far cheaper over 1 GiB
# of holes); the content sha256 is computed once, for the check report.
same() { cmp "$1" want.raw >/dev/null || fail "$2: content differs from the padded input"; echo "ok: $2"; }
expect_eq "$(tar -tzf out.tar.gz)" "disk.raw" "one member named disk.raw"
tar -tvzf out.tar.gz | grep -q ' 1073741824 ' || fail "tar -tv size is not 1 GiB"
mkdir x && tar -xzf out.tar.gz -C x
same x/disk.raw "GNU tar extracts the padded disk"
bsdtar -xOf out.tar.gz disk.raw | same - "bsdtar content"
python3 -c 'import tarfile,sys,shutil
t=tarfile.open(sys.argv[1],"r:gz"); m=t.getmember("disk.raw")
shutil.copyfileobj(t.extractfile(m), sys.stdout.buffer, 1<<24)' out.tar.gz | same - "python tarfile content"
want=$(sha want.raw)
"$VDCONVERT" check --for gcp out.tar.gz > check.txt || fail "check --for gcp failed: $(cat check.txt)"
grep -q "sha256 $want" check.txt || fail "check does not report the content sha256"
echo ok: check --for gcp passes
# A VHD input converts to the same content.
"$VDCONVERT" convert --to vhd -q in.raw in.vhd
"$VDCONVERT" convert --to gcp -q in.vhd vhd.tar.gz
rm -rf x && mkdir x && tar -xzf vhd.tar.gz -C x
same x/disk.raw "VHD input gives the same disk.raw"
# GNU tar's own archive of a non-GiB disk fails the size rule.
truncate -s 10M disk.raw && tar --format=oldgnu -Sczf small.tar.gz disk.raw
if "$VDCONVERT" check --for gcp small.tar.gz > small.txt; then fail "non-GiB archive passed"; fi
grep -q "FAIL disk.raw size is a whole number of GiB" small.txt || fail "size rule not reported"
echo ok: non-GiB archive rejected
# GCP wants disk.raw alone: any other member, first or last, from GNU tar, bsdtar or Python,
# fails "exactly one member named disk.raw" (exit 5) and is named; the other rules still pass
# for the 1 GiB GNU tar archives.
truncate -s 1G disk.raw && echo hi > other.txt && mkdir -p sub && truncate -s 10M small.raw
tar --format=oldgnu -Sczf after.tar.gz disk.raw other.txt
tar --format=oldgnu -Sczf before.tar.gz other.txt disk.raw
tar --format=oldgnu -Sczf dir.tar.gz disk.raw sub
bsdtar --format=gnutar -czf bsd.tar.gz -s '/^small.raw$/disk.raw/' small.raw other.txt
python3 -c 'import tarfile
t = tarfile.open("py.tar.gz", "w:gz", format=tarfile.GNU_FORMAT)
t.add("other.txt"); t.add("small.raw", "disk.raw"); t.close()'
for a in after before dir bsd py; do
  set +e
  "$VDCONVERT" check --for gcp "$a.tar.gz" > "$a.txt"
  rc=$?
  set -e
  expect_eq "$rc" 5 "$a.tar.gz: check --for gcp fails"
  grep -q "FAIL exactly one member named disk.raw" "$a.txt" || fail "$a.tar.gz: member rule not failed: $(cat "$a.txt")"
  case $a in dir) want="sub/" ;; *) want="other.txt" ;; esac
  grep "exactly one member" "$a.txt" | grep -q "$want" || fail "$a.tar.gz: $want not named: $(cat "$a.txt")"
  if [ "$a" = after ] || [ "$a" = before ]; then
    expect_eq "$(grep -c '^FAIL' "$a.txt")" 1 "$a.tar.gz: only the member rule fails"
  fi
  echo "ok: $a.tar.gz: $(grep 'exactly one member' "$a.txt")"
done
