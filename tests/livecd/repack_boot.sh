#!/usr/bin/env bash
# boot.livecd_repack: the GRUB repack of make_sources.sh's El Torito ISO (isolinux, label
# VDISKCD, not bootable as a disk by itself) boots its kernel and initramfs under SeaBIOS and
# under OVMF, from the command line the repack's grub.cfg gives. Passes when the initramfs's
# marker line "VDISK-BOOT-MARKER firmware=<bios|64>" appears on the serial console under both.
# Usage: repack_boot.sh REPACK_WRITE SOURCES WORKDIR
set -euo pipefail
WRITE=$(realpath "${1:?usage: repack_boot.sh REPACK_WRITE SOURCES WORKDIR}")
SRC=$(realpath "${2:?}")
WORK=${3:?}
LIMIT=${VDISK_BOOT_SECONDS:-300}
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed (qemu-system-x86)"
OVMF=/usr/share/ovmf/OVMF.fd
[ -f "$OVMF" ] || fail "$OVMF is missing (package ovmf)"
[ -f "$SRC/eltorito.iso" ] || fail "no $SRC/eltorito.iso (tests/boot/make_sources.sh)"

"$WRITE" "$SRC/eltorito.iso" disk.raw /boot/vmlinuz /boot/initrd.gz \
  "console=ttyS0 quiet panic=-1 rdinit=/init" || fail "repack_write failed"
verify=$(sgdisk -v disk.raw) || fail "sgdisk -v failed: $verify"
[[ $verify == *"No problems found"* ]] || fail "sgdisk -v: $verify"

# boot FIRMWARE: QEMU with the serial console in serial-FIRMWARE.log until the marker appears,
# the firmware or GRUB gives up, the guest powers off, or LIMIT seconds pass.
boot() {
  local fw=$1 want=bios log=serial-$1.log
  local bios=()
  if [ "$fw" = uefi ]; then bios=(-bios "$OVMF"); want=64; fi
  : >"$log"
  qemu-system-x86_64 -machine accel=tcg -m 512 -nographic -no-reboot -net none -monitor none \
    -serial "file:$log" "${bios[@]}" -drive file=disk.raw,format=raw,snapshot=on \
    >"qemu-$fw.log" 2>&1 &
  local pid=$! start=$SECONDS
  while kill -0 $pid 2>/dev/null && [ $((SECONDS - start)) -lt "$LIMIT" ]; do
    grep -aq 'VDISK-BOOT-MARKER\|No bootable device\|No bootable option\|grub> \|error: ' "$log" && break
    sleep 1
  done
  sleep 1
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  echo "$fw: QEMU ran $((SECONDS - start)) s"
  grep -aq "VDISK-BOOT-MARKER firmware=$want" "$log"
}

boot bios || fail "SeaBIOS did not boot the repack: $(tail -c 600 serial-bios.log)"
# grub.cfg found the ISO as partition 3 of the boot disk, not through the label fallback.
# (in the log without GRUB's terminal escapes, which can fall inside the line)
sed 's/\x1b\[[0-9;]*[A-Za-z]//g' serial-bios.log >plain-bios.log
grep -aq 'vdisk: ISO partition (hd0,gpt3)' plain-bios.log || fail "BIOS: ISO not found as (hd0,gpt3)"
echo "ok: SeaBIOS -> GRUB core (BIOS boot partition) -> grub.cfg -> kernel -> marker"
boot uefi || fail "OVMF did not boot the repack: $(tail -c 600 serial-uefi.log)"
sed 's/\x1b\[[0-9;]*[A-Za-z]//g' serial-uefi.log >plain-uefi.log
grep -aq 'vdisk: ISO partition (hd0,gpt3)' plain-uefi.log || fail "UEFI: ISO not found as (hd0,gpt3)"
echo "ok: OVMF -> BOOTX64.EFI (ESP) -> grub.cfg -> kernel -> marker"
