#!/usr/bin/env bash
# Builds the bootable sources of the boot.* tests from Debian packages, into DIR:
#   initrd.gz     busybox-static initramfs whose /init prints the marker line
#                 "VDISK-BOOT-MARKER firmware=<bios|64>" on the serial console and powers off
#   mbr.raw       MBR disk, one FAT16 partition, GRUB (grub-pc-bin) in the MBR gap: BIOS boot
#   gpt.raw       GPT disk, an EFI system partition with \EFI\BOOT\BOOTX64.EFI (GRUB from
#                 grub-efi-amd64-bin): UEFI boot
#   live.iso      isohybrid live ISO (grub-mkrescue): BIOS and UEFI, as a CD and as a disk
#   eltorito.iso  El Torito ISO (isolinux) without an isohybrid MBR: boots as a CD only
#   *.vmdk *.vhd  qemu-img's monolithicSparse VMDK and dynamic VHD of mbr.raw and gpt.raw
# Both raw disks are 48 MiB + 7 sectors, a size no cloud takes as it is, so every conversion
# pads and, for GPT, relocates the backup header. Usage: make_sources.sh DIR
set -euo pipefail
DIR=${1:?usage: make_sources.sh DIR}
rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR"
fail() { echo "FAIL: $*"; exit 1; }
for t in busybox cpio gzip sfdisk mkfs.vfat mmd mcopy grub-mkimage grub-mkrescue xorriso qemu-img; do
  command -v "$t" >/dev/null || fail "required tool '$t' is not installed"
done
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || fail "no /boot/vmlinuz-*-amd64 (package linux-image-amd64)"
busybox=$(command -v busybox)
[[ "$(ldd "$busybox" 2>&1 || true)" == *"not a dynamic executable"* ]] || fail "$busybox is not static (package busybox-static)"
for f in /usr/lib/grub/i386-pc/boot.img /usr/lib/grub/x86_64-efi/linux.mod \
  /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32; do
  [ -f "$f" ] || fail "missing $f (grub-pc-bin, grub-efi-amd64-bin, isolinux, syslinux-common)"
done
cp "$kernel" vmlinuz

# ---- initramfs ---------------------------------------------------------------------------------
mkdir -p initrd/bin initrd/dev initrd/proc initrd/sys
cp "$busybox" initrd/bin/busybox
cat > initrd/init <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t sysfs sys /sys
fw=$(/bin/busybox cat /sys/firmware/efi/fw_platform_size 2>/dev/null || /bin/busybox echo bios)
/bin/busybox echo "VDISK-BOOT-MARKER firmware=$fw" > /dev/ttyS0
/bin/busybox poweroff -f
INIT
chmod +x initrd/init
(cd initrd && find . | cpio -o -H newc --quiet | gzip -1) > initrd.gz
rm -rf initrd

cat > grub.cfg <<'CFG'
set timeout=0
serial --unit=0 --speed=115200
terminal_output serial
linux /boot/vmlinuz console=ttyS0 quiet panic=-1 no_timer_check rdinit=/init
initrd /boot/initrd.gz
boot
CFG
size=$((48 * 1024 * 1024 + 7 * 512))
mods="fat normal linux echo serial terminal boot configfile"

# A FAT16 file system of $2 sectors in $1 holding the kernel, the initramfs and, at $3, grub.cfg.
make_fat() {
  rm -f "$1"
  mkfs.vfat -C "$1" -F 16 $(($2 / 2)) >/dev/null
  mmd -i "$1" ::boot ::boot/grub ::EFI ::EFI/BOOT
  mcopy -i "$1" vmlinuz initrd.gz ::boot/
  mcopy -i "$1" grub.cfg "::$3"
}

# ---- MBR disk, BIOS ----------------------------------------------------------------------------
truncate -s $size mbr.raw
echo 'start=2048, type=06, bootable' | sfdisk -q mbr.raw
make_fat part.img $((size / 512 - 2048)) boot/grub/grub.cfg
dd if=part.img of=mbr.raw bs=512 seek=2048 conv=notrunc status=none
grub-mkimage -O i386-pc -o core.img -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos $mods
[ "$(stat -c %s core.img)" -le $((2047 * 512)) ] || fail "core.img does not fit the MBR gap"
dd if=/usr/lib/grub/i386-pc/boot.img of=mbr.raw bs=440 count=1 conv=notrunc status=none
dd if=core.img of=mbr.raw bs=512 seek=1 conv=notrunc status=none

# ---- GPT disk with an EFI system partition, UEFI -----------------------------------------------
truncate -s $size gpt.raw
esp_sectors=$((size / 512 - 2048 - 40))
printf 'label: gpt\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n' \
  $esp_sectors | sfdisk -q gpt.raw
grub-mkimage -O x86_64-efi -o BOOTX64.EFI -p /EFI/BOOT part_gpt $mods
make_fat part.img $esp_sectors EFI/BOOT/grub.cfg
mcopy -i part.img BOOTX64.EFI ::EFI/BOOT/
dd if=part.img of=gpt.raw bs=512 seek=2048 conv=notrunc status=none
rm -f part.img core.img BOOTX64.EFI

# ---- isohybrid live ISO (BIOS + UEFI) and a CD-only El Torito ISO ------------------------------
mkdir -p iso/boot/grub
cp vmlinuz initrd.gz iso/boot/ && cp grub.cfg iso/boot/grub/grub.cfg
grub-mkrescue -o live.iso iso -- -volid VDISKLIVE >/dev/null 2>&1 || fail "grub-mkrescue failed"
mkdir -p cd/isolinux cd/boot
cp vmlinuz initrd.gz cd/boot/
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 cd/isolinux/
cat > cd/isolinux/isolinux.cfg <<'CFG'
serial 0 115200
default linux
label linux
  kernel /boot/vmlinuz
  append initrd=/boot/initrd.gz console=ttyS0 quiet panic=-1 no_timer_check rdinit=/init
CFG
xorriso -as mkisofs -R -V VDISKCD -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
  -boot-load-size 4 -boot-info-table -o eltorito.iso cd >/dev/null 2>&1 || fail "xorriso failed"
rm -rf iso cd

# ---- the same disks as qemu-img writes them ----------------------------------------------------
for d in mbr gpt; do
  qemu-img convert -f raw -O vmdk $d.raw $d.vmdk
  qemu-img convert -f raw -O vpc $d.raw $d.vhd
done
echo "sources ready in $DIR"
