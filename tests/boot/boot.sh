#!/usr/bin/env bash
# One boot.* test: converts a source of make_sources.sh with vdconvert and boots the output in
# QEMU (TCG), watching the serial console for the initramfs's marker line.
# Usage: boot.sh NAME VDCONVERT SOURCES WORKDIR
#   NAME = <source>_<firmware>_<input>_<target>: source mbr|gpt|live, firmware bios|uefi,
#   input raw|vmdk|vhd|iso (the qemu-img made variants of make_sources.sh), target
#   azure|gcp|vmdk; or eltorito_cdrom (the CD-only ISO boots as a CD: the control) and
#   eltorito_disk (after conversion to Azure, with --boot none once convert has that option, it
#   must not boot, and `vdconvert info` said so).
set -euo pipefail
NAME=${1:?usage: boot.sh NAME VDCONVERT SOURCES WORKDIR}
VD=$(realpath "${2:?}")
SRC=$(realpath "${3:?}")
WORK=${4:?}
LIMIT=${VDISK_BOOT_SECONDS:-300}
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed (qemu-system-x86)"
OVMF=/usr/share/ovmf/OVMF.fd
[ -f /usr/share/seabios/bios-256k.bin ] || fail "SeaBIOS is missing (package seabios)"
[ -f "$OVMF" ] || fail "$OVMF is missing (package ovmf)"
[ -f "$SRC/initrd.gz" ] || fail "no sources in $SRC (tests/boot/make_sources.sh)"

# verdict FILE KEY WANT: `vdconvert info --json FILE` says boot.KEY is WANT (true/false or, for
# a key cloud:NAME, that cloud's setting): the verdicts agree with what QEMU boots (docs/boot.md).
verdict() {
  # A raw disk is read as raw, as QEMU reads it (an isohybrid disk.raw would probe as the ISO).
  local from=()
  [[ $1 == *.raw ]] && from=(-f raw)
  "$VD" info --json "${from[@]}" "$1" > info.json || fail "info --json $1 failed"
  python3 - "$2" "$3" <<'PY' || fail "info --json $1: boot.$2 is not $3: $(cat info.json)"
import json, sys
b = json.load(open("info.json"))["boot"]
key, want = sys.argv[1], sys.argv[2]
if key.startswith("cloud:"):
    got = next(c["setting"] for c in b["clouds"] if c["cloud"] == key[6:])
else:
    got = json.dumps(b[key])
sys.exit(0 if got == want else 1)
PY
  echo "ok: info says boot.$2 = $3 for $1"
}

# boot FIRMWARE DRIVE-OPTIONS: runs QEMU with the serial console in serial.log until the marker
# appears, the firmware or GRUB says it cannot boot, the guest powers off, or LIMIT seconds pass.
# Returns 0 when the marker for FIRMWARE appeared.
boot() {
  local fw=$1 drive=$2 want=bios
  local bios=()
  if [ "$fw" = uefi ]; then bios=(-bios "$OVMF"); want=64; fi
  echo "booting ($fw): $drive"
  : >serial.log
  # shellcheck disable=SC2086
  qemu-system-x86_64 -machine accel=tcg -m 512 -nographic -no-reboot -net none -monitor none \
    -serial file:serial.log "${bios[@]}" $drive >qemu.log 2>&1 &
  local pid=$! start=$SECONDS
  while kill -0 $pid 2>/dev/null && [ $((SECONDS - start)) -lt "$LIMIT" ]; do
    grep -aq 'VDISK-BOOT-MARKER\|No bootable device\|No bootable option\|grub> ' serial.log && break
    sleep 1
  done
  sleep 1
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  echo "QEMU ran $((SECONDS - start)) s"
  grep -aq "VDISK-BOOT-MARKER firmware=$want" serial.log
}

if [[ $NAME == eltorito_* ]]; then
  if [ "$NAME" = eltorito_cdrom ]; then
    boot bios "-drive file=$SRC/eltorito.iso,media=cdrom,readonly=on" ||
      fail "the El Torito ISO does not boot as a CD: $(tail -c 300 serial.log)"
    echo "ok: boots as a CD"
    exit 0
  fi
  "$VD" info "$SRC/eltorito.iso" > info.txt
  grep -q 'bios_bootable_as_disk: no' info.txt || fail "info did not say BIOS boot fails: $(cat info.txt)"
  grep -q 'uefi_bootable_as_disk: no' info.txt || fail "info did not say UEFI boot fails"
  # Once convert has --boot (auto by default for an ISO), this case needs --boot none.
  none=() help=$("$VD" convert --help 2>&1 || true)
  if [[ $help == *--boot* ]]; then none=(--boot none); fi
  "$VD" convert --quiet --to azure "${none[@]}" "$SRC/eltorito.iso" out.vhd
  if boot bios "-drive file=out.vhd,format=vpc,snapshot=on"; then fail "the converted CD-only ISO booted"; fi
  grep -aq 'No bootable device\|not a bootable disk' serial.log ||
    fail "SeaBIOS did not report a non-bootable disk: $(tail -c 300 serial.log)"
  verdict out.vhd bios_bootable false
  verdict out.vhd uefi_bootable false
  echo "ok: as info said, the converted El Torito ISO does not boot as a disk"
  exit 0
fi

IFS=_ read -r source fw input target <<<"$NAME"
case $input in
  iso) in_file=$SRC/$source.iso ;;
  raw|vmdk|vhd) in_file=$SRC/$source.$input ;;
  *) fail "unknown input '$input' in $NAME" ;;
esac
[ -f "$in_file" ] || fail "no source $in_file"
case $target in
  azure)
    "$VD" convert --quiet --to azure "$in_file" out.vhd
    "$VD" check --for azure out.vhd >/dev/null || fail "check --for azure failed"
    drive="-drive file=out.vhd,format=vpc,snapshot=on" ;;
  gcp)
    "$VD" convert --quiet --to gcp "$in_file" out.tar.gz
    "$VD" check --for gcp out.tar.gz >/dev/null || fail "check --for gcp failed"
    tar -xzf out.tar.gz
    drive="-drive file=disk.raw,format=raw,snapshot=on" ;;
  vmdk)
    "$VD" convert --quiet --to vmdk "$in_file" out.vmdk
    drive="-drive file=out.vmdk,format=vmdk,snapshot=on" ;;
  *) fail "unknown target '$target' in $NAME" ;;
esac
boot "$fw" "$drive" || fail "no marker within $LIMIT s; serial console ends: $(tail -c 400 serial.log | tr -d '\r')"
echo "ok: $NAME booted to the marker ($(grep -ao 'VDISK-BOOT-MARKER.*' serial.log | tr -d '\r'))"
# What QEMU booted is what `info` says of the same file; the other firmware's verdict for the
# plain disks (the MBR disk has no ESP, the GPT disk's protective MBR has no boot code).
out=${drive#-drive file=}
out=${out%%,*}
verdict "$out" "${fw}_bootable" true
case $source in
  mbr) verdict "$out" uefi_bootable false; verdict "$out" cloud:azure "--hyper-v-generation V1" ;;
  gpt) verdict "$out" bios_bootable false; verdict "$out" cloud:azure "--hyper-v-generation V2" ;;
esac
