#!/usr/bin/env bash
# `vdconvert check` on VMDKs against qemu-img: qemu-img-made images pass the structural target
# (also when no --for is given) and every consumer target (their descriptors lint clean); a
# VMware-style descriptor passes `--for vmdk` with warnings and fails `--for mvmc` naming the
# line, key and MVMC's exact message (also in --json) until `vdconvert repair --for mvmc` fixes
# it. --ignore-cid: a backing chain whose parent's CID changed is refused by convert, info and
# check naming both CIDs (qemu-img refuses it too); with --ignore-cid the raw view equals the
# original chain's raw view as qemu-img read it before the change.
source "$(dirname "$0")/lib.sh"
need qemu-img qemu-io python3 sha256sum

python3 - <<'PY'
import random
r = random.Random(5)
size = 6 * 1024 * 1024 + 512
b = bytearray(size)
for start, length in ((0, 1 << 20), (3 << 20, 65536 + 512), (5 << 20, size - (5 << 20))):
    b[start:start + length] = r.randbytes(length)
open("in.raw", "wb").write(b)
PY

rc_of() { set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e; echo "$rc"; }
json_get() {  # json_get FILE PYTHON-EXPR-ON-d
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# --- qemu-img images: structural target, default target, every consumer ----------------------
for sub in monolithicSparse streamOptimized twoGbMaxExtentSparse monolithicFlat; do
  mkdir -p "q-$sub"
  qemu-img convert -f raw -O vmdk -o subformat=$sub in.raw "q-$sub/disk.vmdk"
  for target in "" vmdk mvmc qemu virtualbox esxi; do
    rc=$(rc_of "$VDCONVERT" check ${target:+--for $target} --json "q-$sub/disk.vmdk")
    [ "$rc" = 0 ] || { cat out.txt err.txt; fail "$sub: check ${target:---no-for} exit $rc"; }
    expect_eq "$(json_get out.txt 'd["target"] + " " + str(d["warnings"])')" "${target:-vmdk} 0" \
      "$sub: check ${target:-(no --for)}: target, warnings"
  done
done

# --- a VMware-style descriptor: warnings for vmdk, failures for mvmc, fixed by repair ---------
cp q-monolithicSparse/disk.vmdk vm.vmdk
"$VDCONVERT" descriptor extract vm.vmdk vm.txt 2>/dev/null
python3 - <<'PY'
t = open("vm.txt").read()
t = t.replace('ddb.toolsVersion = "2147483647"\n',
              'ddb.toolsInstallType = "4"\nddb.toolsVersion = "10346"\n')
open("vm.txt", "w").write(t)
PY
"$VDCONVERT" descriptor replace --no-backup vm.vmdk vm.txt 2>/dev/null
line=$(grep -n '^ddb.toolsInstallType' vm.txt | cut -d: -f1)
rc=$(rc_of "$VDCONVERT" check vm.vmdk)
expect_eq "$rc" 0 "VMware-style descriptor: check (default vmdk) exit"
grep -q "^WARN descriptor accepted by MVMC \[mvmc-ddb-entry\]: vm.vmdk: line $line ddb.toolsInstallType = \"4\"" out.txt \
  || { cat out.txt; fail "check: MVMC warning not reported"; }
grep -q "MVMC says: The entry 4 is not a supported disk database entry for the descriptor" out.txt \
  || fail "check: MVMC's message not quoted"
rc=$(rc_of "$VDCONVERT" check --for mvmc --json vm.vmdk)
expect_eq "$rc" 5 "VMware-style descriptor: check --for mvmc exit"
expect_eq "$(json_get out.txt '[(r["facts"]["line"], r["facts"]["key"], r["facts"]["message"]) for r in d["rules"] if not r["passed"] and r["severity"] == "error"]')" \
  "[($line, 'ddb.toolsInstallType', 'The entry 4 is not a supported disk database entry for the descriptor')]" \
  "check --for mvmc --json: the failing item"
for target in qemu virtualbox esxi; do
  expect_eq "$(rc_of "$VDCONVERT" check --for $target vm.vmdk)" 0 "VMware-style descriptor: check --for $target"
done
"$VDCONVERT" repair --for mvmc --no-backup vm.vmdk >/dev/null
expect_eq "$(rc_of "$VDCONVERT" check --for mvmc vm.vmdk)" 0 "after repair --for mvmc: check --for mvmc"

# --- check: a non-VMDK file needs --for ---------------------------------------------------------
expect_eq "$(rc_of "$VDCONVERT" check in.raw)" 1 "check without --for on a raw file"
grep -q "is a raw image; name the rule set to check with --for" err.txt || fail "check in.raw: $(cat err.txt)"

# --- --ignore-cid ---------------------------------------------------------------------------------
mkdir chain && cd chain
qemu-img convert -f raw -O vmdk ../in.raw base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
qemu-io -c "write -P 0x5a 1M 64k" -c "write -z 3M 64k" child.vmdk >/dev/null
qemu-img convert -O raw child.vmdk before.qemu.raw
"$VDCONVERT" descriptor extract base.vmdk base.txt 2>/dev/null
old_cid=$(sed -n 's/^CID=//p' base.txt)
new_cid=0badc1d0
[ "$old_cid" != "$new_cid" ] || new_cid=0badc1d1
sed -i "s/^CID=.*/CID=$new_cid/" base.txt
"$VDCONVERT" descriptor replace --no-backup base.vmdk base.txt 2>/dev/null
pcid=$(python3 -c 'import sys; d=open("child.vmdk","rb").read(4096).decode("latin1"); print(d.split("parentCID=")[1].split("\n")[0])')
expect_eq "$pcid" "$old_cid" "child's parentCID is the parent's old CID"
rc=$(rc_of "$VDCONVERT" convert --to raw child.vmdk mismatch.raw)
expect_eq "$rc" 2 "convert of a chain with a changed parent CID"
grep -q "parentCID $old_cid does not match the CID $new_cid of parent" err.txt || fail "convert message: $(cat err.txt)"
grep -q -- "--ignore-cid" err.txt || fail "convert message does not name --ignore-cid: $(cat err.txt)"
[ ! -e mismatch.raw ] || fail "a failed convert left its output"
# qemu-img checks the CID link too (it fails to read the child).
set +e; qemu-img convert -O raw child.vmdk qemu-after.raw 2>/dev/null; qrc=$?; set -e
[ "$qrc" != 0 ] || fail "qemu-img read the mismatched chain (the test assumes it refuses)"
echo "ok: qemu-img refuses the mismatched chain too (exit $qrc)"
expect_eq "$(rc_of "$VDCONVERT" info child.vmdk)" 2 "info of the mismatched chain"
expect_eq "$(rc_of "$VDCONVERT" info --ignore-cid --json child.vmdk)" 0 "info --ignore-cid"
# qemu writes CIDs without leading zeros; info shows 8 hex digits.
expect_eq "$(json_get out.txt 'd["parent_cid"] + " " + d["parent"]["cid"]')" "$(printf '%08x' "0x$old_cid") $new_cid" \
  "info --ignore-cid: both CIDs"
expect_eq "$(rc_of "$VDCONVERT" check child.vmdk)" 5 "check of the mismatched chain"
grep -q "^FAIL each parentCID equals its parent's CID: .*CID is $new_cid but the child's parentCID is $old_cid" out.txt \
  || fail "check: $(cat out.txt)"
expect_eq "$(rc_of "$VDCONVERT" check --ignore-cid child.vmdk)" 0 "check --ignore-cid"
grep -q "^WARN each parentCID equals its parent's CID" out.txt || fail "check --ignore-cid: $(cat out.txt)"
"$VDCONVERT" convert --ignore-cid --to raw child.vmdk ignored.raw 2>/dev/null
expect_eq "$(sha ignored.raw)" "$(sha before.qemu.raw)" "convert --ignore-cid equals qemu-img's raw view of the chain before the change"
cd ..
echo "vmdk check: all checks passed"
