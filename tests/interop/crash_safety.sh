#!/usr/bin/env bash
# Crash safety of outputs: vdconvert is killed with SIGKILL at 10 random points of a conversion
# per file target (raw, vhd, azure, gcp, vmdk; aws-snapshot writes no file). Afterwards no file
# may exist under DST's name (only a hidden ".DST.vdtmp.XXXXXX" temporary), SRC is unchanged
# (sha256), and the next run with the same DST succeeds with the right content; a temporary left
# by a killed run is removed by a later run once it is stale (unlocked, a minute old). Then
# `repair` in place: after a SIGKILL at random points the VMDK is byte for byte either the
# original or the repaired one, and when it is the repaired one its descriptor backup exists and
# holds the original area.
source "$(dirname "$0")/lib.sh"
need qemu-img python3 tar sha256sum
RANDOM=4242   # the kill points are random, but the same each run

# 192 MiB source with 80 MiB of incompressible data in several runs, so that every target needs a
# while (deflate, writes, fsync) and a kill lands inside the work.
python3 - <<'PY'
import os
with open("src.raw", "wb") as f:
    f.truncate(192 << 20)
    for i, mib in enumerate((0, 30, 70, 120, 170)):
        f.seek(mib << 20)
        f.write(os.urandom(16 << 20))
PY
qemu-img convert -f raw -O vmdk src.raw src.vmdk
SRC_SHA=$(sha src.vmdk)
RAW_SHA=$(sha src.raw)

# content OUT TARGET: sha256 of the virtual disk OUT holds, cut to the source's size.
content() {
  case $2 in
    raw) head -c $((192 << 20)) "$1" | sha256sum | cut -c1-64 ;;
    gcp) tar -xzOf "$1" disk.raw | head -c $((192 << 20)) | sha256sum | cut -c1-64 ;;
    vhd | azure) qemu-img convert -f vpc -O raw "$1" view.raw && head -c $((192 << 20)) view.raw | sha256sum | cut -c1-64 ;;
    vmdk) qemu-img convert -f vmdk -O raw "$1" view.raw && head -c $((192 << 20)) view.raw | sha256sum | cut -c1-64 ;;
  esac
}

for target in ${CRASH_TARGETS:-raw vhd azure gcp vmdk}; do
  case $target in gcp) out=out.tar.gz ;; vmdk) out=out.vmdk ;; raw) out=out.raw ;; *) out=out.vhd ;; esac
  rm -f "$out" ."$out".vdtmp.*
  start=$(date +%s%N)
  "$VDCONVERT" convert --quiet --to $target src.vmdk "$out"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  expect_eq "$(content "$out" $target)" "$RAW_SHA" "$target: complete run ($ms ms)"
  rm -f "$out"
  # Ten kills that land while vdconvert runs: a run that finishes before its kill point is
  # checked too, and shrinks the range the next kill point is drawn from.
  killed=0 tries=0
  while [ "$killed" -lt 10 ]; do
    tries=$((tries + 1)); i=$tries
    [ "$tries" -le 40 ] || fail "$target: only $killed of 40 kills hit a running conversion"
    delay_ms=$(( RANDOM % (ms > 20 ? ms : 20) ))
    "$VDCONVERT" convert --quiet --to $target src.vmdk "$out" &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -KILL $pid 2>/dev/null; then
      wait $pid 2>/dev/null || true
      killed=$((killed + 1))
      # Killed while converting or right after finishing: DST is absent or complete, never partial.
      if [ -e "$out" ]; then
        expect_eq "$(content "$out" $target)" "$RAW_SHA" "$target: kill $i at ${delay_ms} ms came after the commit"
        rm -f "$out"
      else
        echo "ok: $target: kill $i at ${delay_ms} ms left no $out"
      fi
    else
      wait $pid
      expect_eq "$(content "$out" $target)" "$RAW_SHA" "$target: run $i finished before its kill"
      rm -f "$out"
      ms=$(( ms * 7 / 10 ))
    fi
    expect_eq "$(sha src.vmdk)" "$SRC_SHA" "$target: SRC unchanged after kill $i"
  done
  left=$(find . -maxdepth 1 -name ".$out.vdtmp.*" | wc -l)
  echo "ok: $target: $killed kills, $left temporaries left behind"
  # The next run with the same DST works and, once they are stale, removes those temporaries.
  find . -maxdepth 1 -name ".$out.vdtmp.*" -exec touch -d '-2 minutes' {} +
  "$VDCONVERT" convert --quiet --to $target src.vmdk "$out"
  expect_eq "$(content "$out" $target)" "$RAW_SHA" "$target: the next run after the kills"
  expect_eq "$(find . -maxdepth 1 -name ".$out.vdtmp.*" | wc -l)" "0" "$target: stale temporaries removed"
  rm -f "$out"
done

# A live run's temporary is never taken for a stale one, however old it looks: a second run for
# the same DST while the first is still writing leaves the first's (locked) temporary alone and
# commits; the first then finds DST taken and fails without clobbering it or leaving files.
"$VDCONVERT" convert --quiet --to gcp --level 9 src.vmdk live.tar.gz 2>first.err &
pid=$!
for _ in $(seq 200); do [ -n "$(find . -maxdepth 1 -name '.live.tar.gz.vdtmp.*')" ] && break; sleep 0.05; done
find . -maxdepth 1 -name '.live.tar.gz.vdtmp.*' -exec touch -d '-2 minutes' {} +
kill -0 $pid 2>/dev/null || fail "the first run ended before the second started (the test needs it running)"
"$VDCONVERT" convert --quiet --to gcp --level 1 src.vmdk live.tar.gz
kill -0 $pid 2>/dev/null || fail "the second run took the first run's temporary or outlasted it"
set +e; wait $pid; first=$?; set -e
expect_eq "$first" "1" "first run: exit code once the second committed DST ($(cat first.err))"
expect_eq "$(content live.tar.gz gcp)" "$RAW_SHA" "second run's DST intact"
expect_eq "$(find . -maxdepth 1 -name '.live.tar.gz.vdtmp.*' | wc -l)" "0" "no temporaries left by either run"
rm -f live.tar.gz

# ---- repair in place ---------------------------------------------------------------------------
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse src.raw rep.vmdk
"$VDCONVERT" descriptor extract rep.vmdk rep.txt
python3 - <<'PY'
t = open("rep.txt").read()
t = t.replace('ddb.toolsVersion = "2147483647"\n', 'ddb.toolsInstallType = "4"\nddb.toolsVersion = "10346"\n')
open("rep.txt", "w").write(t)
PY
"$VDCONVERT" descriptor replace --no-backup rep.vmdk rep.txt
cp rep.vmdk orig.vmdk
"$VDCONVERT" repair --for mvmc rep.vmdk >/dev/null
cp rep.vmdk repaired.vmdk
ORIG=$(sha orig.vmdk); REPAIRED=$(sha repaired.vmdk)
[ "$ORIG" != "$REPAIRED" ] || fail "repair changed nothing: the test needs a descriptor to repair"
cp orig.vmdk rep.vmdk; rm -f rep.vmdk.descriptor-backup*
start=$(date +%s%N)
"$VDCONVERT" repair --for mvmc rep.vmdk >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "repair in place takes $ms ms"
states=""
for i in $(seq 10); do
  cp orig.vmdk rep.vmdk; rm -f rep.vmdk.descriptor-backup*
  delay_ms=$(( RANDOM % (ms > 5 ? ms : 5) ))
  "$VDCONVERT" repair --for mvmc rep.vmdk >/dev/null &
  pid=$!
  sleep "$(printf '0.%03d' $((delay_ms % 1000)))"
  kill -KILL $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  now=$(sha rep.vmdk)
  if [ "$now" = "$ORIG" ]; then
    states="$states original"
  elif [ "$now" = "$REPAIRED" ]; then
    states="$states repaired"
    [ -f rep.vmdk.descriptor-backup ] || fail "kill $i: repaired but no backup"
    "$VDCONVERT" descriptor replace --no-backup rep.vmdk rep.vmdk.descriptor-backup
    expect_eq "$(sha rep.vmdk)" "$ORIG" "kill $i: the backup restores the original"
  else
    fail "kill $i at ${delay_ms} ms: the VMDK is neither the original nor the repaired one"
  fi
done
echo "ok: repair in place after 10 kills:$states"
