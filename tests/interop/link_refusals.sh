#!/bin/bash
# Links that leave the image's directory, through vdconvert: a qcow2 whose backing file qemu-img
# recorded as ../base.raw, as an absolute path and through a symbolic link out of the directory;
# VMDK descriptors whose extent is ../base.raw or a Windows drive path; an OVA (GNU tar) whose
# OVF names ../x.vmdk or C:\x.vmdk, from the file and from stdin; an .ovf on disk naming
# ../x.vmdk or a symbolic link out of the directory. Each is invalid input: exit 2 (docs/cli.md, exit codes), one line on stderr naming
# the refusal, no output left. The same images with the link inside the directory convert
# (so the refusals are the rule's, not some other fault). VHD and VHDX parents (qemu-img cannot
# make them) are covered by unit.links and unit.vhd / unit.vhdx.
source "$(dirname "$0")/lib.sh"
need qemu-img qemu-io tar python3
V=$VDCONVERT

# expect_refused WORD CMD...: exit 2, one line on stderr holding WORD, no output file left.
expect_refused() {
  local word=$1 err rc; shift
  rm -f o.raw
  set +e
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "$*: exit $rc, expected 2: $err"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$*: not one line: $err"
  case "$err" in *"$word"*) ;; *) fail "$*: message lacks '$word': $err" ;; esac
  [ ! -e o.raw ] || fail "$*: output left behind"
  echo "ok: exit 2: $err"
}

mkdir -p in
qemu-img create -q -f raw base.raw 4M
qemu-io -f raw -c 'write -P 0x6b 1M 64k' base.raw > /dev/null
cp base.raw in/base.raw
ln -s ../base.raw in/link.raw

# qcow2 backing files, recorded by qemu-img.
qemu-img create -q -f qcow2 -b ../base.raw -F raw in/rel.qcow2 4M
qemu-img create -q -f qcow2 -b "$PWD/base.raw" -F raw in/abs.qcow2 4M
qemu-img create -q -f qcow2 -b link.raw -F raw in/sym.qcow2 4M
qemu-img create -q -f qcow2 -b base.raw -F raw in/ok.qcow2 4M
for img in rel abs sym; do
  expect_refused "lies outside the directory" "$V" convert -q --to raw in/$img.qcow2 o.raw
  expect_refused "lies outside the directory" "$V" info in/$img.qcow2
done
"$V" convert -q --to raw in/ok.qcow2 o.raw || fail "in/ok.qcow2 (backing inside) did not convert"
expect_eq "$(sha o.raw)" "$(sha base.raw)" "in/ok.qcow2 reads its backing file"

# VMDK extents.
vmdk_flat() {  # vmdk_flat FILE EXTENT-NAME
  printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 8192 FLAT "%s" 0\n' "$2" > "$1"
}
vmdk_flat in/rel.vmdk ../base.raw
vmdk_flat in/drive.vmdk 'C:\images\base.raw'
vmdk_flat in/ok.vmdk base.raw
expect_refused "lies outside the directory" "$V" convert -q --to raw in/rel.vmdk o.raw
expect_refused "Windows drive path" "$V" convert -q --to raw in/drive.vmdk o.raw
"$V" convert -q --to raw in/ok.vmdk o.raw || fail "in/ok.vmdk (extent inside) did not convert"
expect_eq "$(sha o.raw)" "$(sha base.raw)" "in/ok.vmdk reads its extent"

# OVA packages (GNU tar) and an .ovf on disk whose disk href leaves the package.
qemu-img convert -O vmdk -o subformat=streamOptimized base.raw x.vmdk
ovf() {  # ovf FILE HREF
  cat > "$1" <<EOF
<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
 <References><File ovf:id="f1" ovf:href="$2"/></References>
 <DiskSection><Info>disks</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="4194304"
  ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
</Envelope>
EOF
}
mkdir -p pkg && cp x.vmdk pkg/
for href in ../x.vmdk 'C:\x.vmdk' x.vmdk; do
  ovf pkg/p.ovf "$href"
  (cd pkg && tar --format=gnu -cf ../p.ova p.ovf x.vmdk)
  if [ "$href" = x.vmdk ]; then
    "$V" convert -q --to raw p.ova o.raw || fail "p.ova (href inside) did not convert"
    expect_eq "$(sha o.raw)" "$(sha base.raw)" "p.ova reads its disk"
    continue
  fi
  expect_refused "lies outside the package" "$V" convert -q --to raw p.ova o.raw
  expect_refused "lies outside the package" sh -c "'$V' convert -q --to raw - o.raw < p.ova"
  expect_refused "lies outside the package" "$V" info p.ova
done
ovf in/d.ovf ../x.vmdk
expect_refused "lies outside the package" "$V" convert -q --to raw in/d.ovf o.raw
# A plain name that is a symbolic link out of the directory: the lexical test passes, the
# directory rule (symbolic links followed) refuses it; the same name as a real file converts.
ln -s ../x.vmdk in/linkx.vmdk
ovf in/sym.ovf linkx.vmdk
expect_refused "lies outside the directory" "$V" convert -q --to raw in/sym.ovf o.raw
cp x.vmdk in/realx.vmdk
ovf in/real.ovf realx.vmdk
"$V" convert -q --to raw in/real.ovf o.raw || fail "in/real.ovf (file inside) did not convert"
expect_eq "$(sha o.raw)" "$(sha base.raw)" "in/real.ovf reads its disk"
echo "PASS"
