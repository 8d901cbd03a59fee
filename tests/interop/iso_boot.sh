#!/usr/bin/env bash
# Boot reports for real isohybrid layouts: syslinux's isohdpfx.bin MBR (package isolinux) with
# and without an EFI system partition, ESPs (FAT12 / FAT16) with and without the default loader
# \EFI\BOOT\BOOTX64.EFI, and a livecd-like ISO (LiveOS/squashfs.img made by mksquashfs holding an
# ext4 rootfs.img, isolinux.cfg with root=live:CDLABEL=). The livecd report is printed in full.
source "$(dirname "$0")/lib.sh"
need xorriso mkfs.vfat mmd mcopy mksquashfs mkfs.ext4 python3
HDPFX=/usr/lib/ISOLINUX/isohdpfx.bin
ISOLINUX=/usr/lib/ISOLINUX/isolinux.bin
LDLINUX=/usr/lib/syslinux/modules/bios/ldlinux.c32
for f in "$HDPFX" "$ISOLINUX" "$LDLINUX"; do [ -f "$f" ] || fail "missing $f (packages isolinux, syslinux-common)"; done

# ---- a livecd-like tree -------------------------------------------------------------------------
mkdir -p src/isolinux src/LiveOS src/images rootdir/etc squash/LiveOS
cp "$ISOLINUX" "$LDLINUX" src/isolinux/
head -c 100000 /dev/urandom > src/isolinux/vmlinuz0
head -c 100000 /dev/urandom > src/isolinux/initrd0.img
cat > src/isolinux/isolinux.cfg <<'CFG'
default vesamenu.c32
timeout 100
label linux
  menu label ^Start DRS failback client
  kernel vmlinuz0
  append initrd=initrd0.img root=live:CDLABEL=DRS-FAILBACK rootfstype=auto ro rd.live.image quiet
CFG
echo failback > rootdir/etc/hostname
mkfs.ext4 -q -F -L rootfs -d rootdir squash/LiveOS/rootfs.img 4M >/dev/null
mksquashfs squash src/LiveOS/squashfs.img -noappend -quiet -comp gzip >/dev/null
head -c 4 src/LiveOS/squashfs.img | grep -q hsqs || fail "mksquashfs wrote no squashfs"

printf 'MZ fake loader' > BOOTX64.EFI
mkfs.vfat -C esp16.img -F 16 -s 2 8192 >/dev/null               # FAT16 with the loader
mmd -i esp16.img ::EFI ::EFI/BOOT && mcopy -i esp16.img BOOTX64.EFI ::EFI/BOOT/
mkfs.vfat -C esp12.img 1440 >/dev/null                      # FAT12 with the loader
mmd -i esp12.img ::EFI ::EFI/BOOT && mcopy -i esp12.img BOOTX64.EFI ::EFI/BOOT/
mkfs.vfat -C esp-empty.img 1440 >/dev/null                  # FAT12, \EFI\BOOT without a loader
mmd -i esp-empty.img ::EFI ::EFI/BOOT && mcopy -i esp-empty.img BOOTX64.EFI ::EFI/

bios="-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table"
efi="-eltorito-alt-boot -e images/efiboot.img -no-emul-boot -isohybrid-gpt-basdat"
mk() {  # mk OUT.iso ESP.img|none EXTRA...
  local out=$1 esp=$2; shift 2
  rm -f src/images/efiboot.img
  [ "$esp" != none ] && cp "$esp" src/images/efiboot.img
  # shellcheck disable=SC2086
  xorriso -as mkisofs -R -J -V DRS-FAILBACK -isohybrid-mbr "$HDPFX" $bios "$@" -o "$out" src \
    2>/dev/null
}
mk live.iso esp16.img $efi
mk bios-only.iso none
mk esp12.iso esp12.img $efi
mk noloader.iso esp-empty.img $efi

check() {  # check ISO python-assertions...
  "$VDCONVERT" info --json "$1" > "$1.json"
  python3 - "$1.json" "$2" <<'PY' || fail "boot report of $1: $(cat "$1.json")"
import json, sys
j = json.load(open(sys.argv[1]))
b = j["boot"]
sa = b["system_area"]
exec(sys.argv[2])
PY
  echo "ok: $1: $(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["boot"]; print(b["isohybrid"], "bios:", b["bios_bootable_as_disk"], "uefi:", b["uefi_bootable_as_disk"])' "$1.json")"
}
check live.iso '
assert b["isohybrid"] == "syslinux+uefi", b["isohybrid"]
assert b["bios_bootable_as_disk"] is True and "syslinux" in b["bios_reason"], b["bios_reason"]
assert b["uefi_bootable_as_disk"] is True, b["uefi_reason"]
assert sa["esp_loader"] == "\\EFI\\BOOT\\BOOTX64.EFI", sa
assert b["livecd"]["detected"] is True and b["livecd"]["squashfs_magic"] is True
assert b["livecd"]["cdlabel"] == "DRS-FAILBACK" and b["livecd"]["cdlabel_matches_volume_id"] is True
assert b["livecd"]["config"] == "isolinux/isolinux.cfg"
'
check bios-only.iso '
assert b["isohybrid"] == "syslinux", b["isohybrid"]
assert b["bios_bootable_as_disk"] is True
assert b["uefi_bootable_as_disk"] is False and "no EFI system partition" in b["uefi_reason"]
'
check esp12.iso '
assert b["uefi_bootable_as_disk"] is True and sa["esp_loader"] == "\\EFI\\BOOT\\BOOTX64.EFI", sa
'
check noloader.iso '
assert sa["esp_present"] is True and sa["esp_loader"] == "", sa
assert b["uefi_bootable_as_disk"] is False and "no default loader" in b["uefi_reason"], b["uefi_reason"]
assert b["bios_bootable_as_disk"] is True
'

# The MBR is syslinux's own: its first 432 bytes equal isohdpfx.bin's.
expect_eq "$(head -c 432 live.iso | sha256sum | cut -c1-64)" \
  "$(head -c 432 "$HDPFX" | sha256sum | cut -c1-64)" "MBR code is isohdpfx.bin"

# The squashfs and its ext4 rootfs come back out intact.
"$VDCONVERT" iso extract live.iso /LiveOS/squashfs.img - > sq.out
expect_eq "$(sha sq.out)" "$(sha src/LiveOS/squashfs.img)" "squashfs.img streamed out"

# The text report, as a user sees it.
"$VDCONVERT" info live.iso > live.txt
grep -q "livecd" live.txt || fail "no livecd lines in the text report"
echo "---- vdconvert info live.iso"
cat live.txt
