#!/usr/bin/env bash
# Builds the live ISOs of the boot.livecd_* / grubcd_* / isolinuxcd_* / spacecd_* tests from Debian
# packages, into DIR. None has a hybrid MBR: their system areas (bytes 0..32767) are all zero, the
# shape the AWS DRS Failback Client ISO probably has (docs/livecd.md), so as disks they boot only
# after vdconvert makes them bootable.
#   livecd.iso      livecd-tools layout, volume "VDISK-LIVE": /isolinux/{isolinux.bin, ldlinux.c32,
#                   isolinux.cfg, vmlinuz0, initrd0.img, efiboot.img}, /LiveOS/squashfs.img,
#                   /EFI/BOOT/{BOOTX64.EFI,grub.cfg}; El Torito: isolinux (BIOS) + efiboot.img
#                   (EFI, a FAT image holding GRUB x86_64-efi and a grub.cfg that searches the label)
#   grubcd.iso      grub-mkrescue's layout without boot_hybrid.img, volume "VDISK-GRUB":
#                   /boot/grub/i386-pc/eltorito.img (El Torito, BIOS only), /boot/grub/grub.cfg,
#                   /boot/vmlinuz, /boot/initrd.img, /LiveOS/squashfs.img
#   isolinuxcd.iso  livecd.iso's BIOS half only, volume "VDISK-BIOS" (no EFI entry)
#   spacecd.iso     the same with volume "VDISK LIVE SP", written root=live:CDLABEL=VDISK\x20LIVE\x20SP
#   *.files         the files each ISO holds, one path a line (what xorriso/bsdtar must list)
# Their kernel is the installed linux-image-amd64's. Their initramfs (initrd0.img) does what dracut's
# dmsquash-live does with root=live:CDLABEL=<label>: it loads the block drivers QEMU's machines
# need (modules of that kernel, with their dependencies), looks for a block device whose ISO 9660
# volume label is <label> (reading the primary volume descriptor at byte 32768), mounts it, mounts
# /LiveOS/squashfs.img from it and reads the label back from the squashfs. Then it prints one line
# on /dev/ttyS0 (after a line "VDISK-BOOT-CMDLINE <the kernel command line>") and powers off:
#   VDISK-BOOT-MARKER firmware=<bios|64> label=<found|missing> device=<dev|none>
#       console=<yes|no> rootfs=<ok|bad|none>
# console=yes when the kernel command line has console=ttyS0 (what a repacked grub.cfg adds).
# None of the ISOs' own command lines has it. Usage: make_live_isos.sh DIR
set -euo pipefail
DIR=${1:?usage: make_live_isos.sh DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR"
fail() { echo "FAIL: $*"; exit 1; }
for t in busybox cpio gzip mksquashfs mkfs.vfat mmd mcopy grub-mkimage xorriso python3; do
  command -v "$t" >/dev/null || fail "required tool '$t' is not installed"
done
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || fail "no /boot/vmlinuz-*-amd64 (package linux-image-amd64)"
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || fail "no $moddir/modules.dep for kernel $kver (linux-image-amd64)"
busybox=$(command -v busybox)
[[ "$(ldd "$busybox" 2>&1 || true)" == *"not a dynamic executable"* ]] || fail "$busybox is not static (package busybox-static)"
for f in /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
  /usr/lib/grub/i386-pc/cdboot.img /usr/lib/grub/x86_64-efi/iso9660.mod; do
  [ -f "$f" ] || fail "missing $f (isolinux, syslinux-common, grub-pc-bin, grub-efi-amd64-bin)"
done

# ---- initramfs ---------------------------------------------------------------------------------
# Block drivers for QEMU's pc (PIIX IDE) and q35 (AHCI) machines and virtio, the CD driver, then
# what mounting the live root needs. Each is loaded after its dependencies (modules.dep lists a
# module's dependencies transitively); built-in ones are skipped; compressed ones are unpacked
# here, since busybox insmod takes plain ELF objects only.
wanted="ata_piix ahci sd_mod sr_mod cdrom virtio_pci virtio_blk virtio_scsi isofs loop squashfs"
mkdir -p initrd/bin initrd/dev initrd/proc initrd/sys initrd/run initrd/lib/modules
declare -A seen=()
order=()
module_path() { # name -> path of its .ko* relative to $moddir, from modules.dep
  local n=${1//-/_} p
  p=$(awk -F: -v n="$n" '{f=$1; sub(/.*\//, "", f); sub(/\.ko(\.(xz|gz|zst))?$/, "", f);
      gsub(/-/, "_", f); if (f == n) { print $1; exit } }' "$moddir/modules.dep")
  printf '%s' "$p"
}
visit() { # path relative to $moddir
  local p=$1 d
  [ -n "${seen[$p]:-}" ] && return 0
  seen[$p]=1
  for d in $(awk -F: -v p="$p" '$1 == p { print $2; exit }' "$moddir/modules.dep"); do visit "$d"; done
  order+=("$p")
}
for m in $wanted; do
  p=$(module_path "$m")
  if [ -z "$p" ]; then
    grep -Eq "/${m//_/[-_]}\.ko\$" "$moddir/modules.builtin" || fail "kernel $kver has no module '$m' (neither loadable nor built in)"
    continue
  fi
  visit "$p"
done
: >initrd/modules.load
for p in "${order[@]}"; do
  base=${p##*/}
  case $base in
    *.ko) cp "$moddir/$p" "initrd/lib/modules/$base" ;;
    *.ko.xz) command -v xz >/dev/null || fail "xz is needed to unpack $p"
      xz -dc "$moddir/$p" >"initrd/lib/modules/${base%.xz}"; base=${base%.xz} ;;
    *.ko.gz) gzip -dc "$moddir/$p" >"initrd/lib/modules/${base%.gz}"; base=${base%.gz} ;;
    *.ko.zst) command -v zstd >/dev/null || fail "zstd is needed to unpack $p"
      zstd -qdc "$moddir/$p" >"initrd/lib/modules/${base%.zst}"; base=${base%.zst} ;;
    *) fail "unexpected module file $p" ;;
  esac
  echo "$base" >>initrd/modules.load
done
cp "$busybox" initrd/bin/busybox
cat > initrd/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
fw=$(cat /sys/firmware/efi/fw_platform_size 2>/dev/null || echo bios)
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done </modules.load
want= console=no
for w in $(cat /proc/cmdline); do
  case $w in
    root=live:CDLABEL=*) want=${w#root=live:CDLABEL=} ;;
    console=ttyS0|console=ttyS0,*) console=yes ;;
  esac
done
want=$(printf '%s' "$want" | sed 's/\\x20/ /g')  # livecd-tools writes a space as \x20
# The volume label of block device $1 when it holds an ISO 9660 primary volume descriptor.
iso_label() {
  dd if="/dev/$1" of=/run/pvd bs=2048 skip=16 count=1 2>/dev/null || return 1
  [ "$(dd if=/run/pvd bs=1 count=6 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 014344303031 ] || return 1
  dd if=/run/pvd bs=1 skip=40 count=32 2>/dev/null | sed 's/ *$//'
}
label=missing dev=none tries=0
while [ -n "$want" ] && [ "$label" = missing ] && [ $tries -lt 40 ]; do
  for b in /sys/class/block/*; do
    d=${b##*/}
    [ -b "/dev/$d" ] || continue
    l=$(iso_label "$d") || continue
    if [ "$l" = "$want" ]; then label=found dev=$d; break; fi
  done
  [ "$label" = found ] || { usleep 250000; tries=$((tries + 1)); }
done
rootfs=none
if [ "$label" = found ]; then
  rootfs=bad
  mkdir -p /run/iso /run/root
  if mount -t iso9660 -o ro "/dev/$dev" /run/iso &&
    mount -t squashfs -o ro,loop /run/iso/LiveOS/squashfs.img /run/root &&
    [ "$(cat /run/root/etc/vdisk-live-label)" = "$want" ]; then
    rootfs=ok
  fi
fi
echo "VDISK-BOOT-CMDLINE $(cat /proc/cmdline)" >/dev/ttyS0
echo "VDISK-BOOT-MARKER firmware=$fw label=$label device=$dev console=$console rootfs=$rootfs" >/dev/ttyS0
poweroff -f
INIT
chmod +x initrd/init
(cd initrd && find . | sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) > initrd.img
rm -rf initrd

# ---- pieces shared by the ISOs -----------------------------------------------------------------
# squashfs.img for label $1: a small root whose /etc/vdisk-live-label the initramfs reads back.
make_squashfs() {
  rm -rf sqroot && mkdir -p sqroot/etc "$2"
  printf '%s' "$1" > sqroot/etc/vdisk-live-label
  printf 'NAME="vdisk test live system"\nID=vdisk-live\n' > sqroot/etc/os-release
  mksquashfs sqroot "$2/squashfs.img" -noappend -all-root -comp xz >/dev/null || fail "mksquashfs failed"
  rm -rf sqroot
}
# isolinux.cfg as livecd-tools writes it (imgcreate/live.py), for label $1 (written $2 in
# CDLABEL=) into file $3.
isolinux_cfg() {
  cat > "$3" <<CFG
default linux0
timeout 1
menu title $1
label linux0
  menu label ^Start $1
  kernel vmlinuz0
  append initrd=initrd0.img root=live:CDLABEL=$2 rootfstype=auto ro rd.live.image quiet panic=-1 no_timer_check rd.luks=0 rd.md=0 rd.dm=0
menu default
label check0
  menu label Test this ^media & start $1
  kernel vmlinuz0
  append initrd=initrd0.img root=live:CDLABEL=$2 rootfstype=auto ro rd.live.image quiet panic=-1 no_timer_check rd.live.check
CFG
}
isolinux_tree() { # label, label as written in CDLABEL=, tree
  mkdir -p "$3/isolinux"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$3/isolinux/"
  cp "$kernel" "$3/isolinux/vmlinuz0"
  cp initrd.img "$3/isolinux/initrd0.img"
  isolinux_cfg "$1" "$2" "$3/isolinux/isolinux.cfg"
  make_squashfs "$1" "$3/LiveOS"
}
# Lists the files of tree $1 (relative paths) into $2.
list_files() { (cd "$1" && find . -type f | sed 's|^\./||' | sort) > "$2"; }
# Fails unless ISO $1's system area (its first 16 sectors of 2048 bytes) is all zero.
check_no_system_area() {
  [ "$(head -c 32768 "$1" | tr -d '\0' | wc -c)" -eq 0 ] || fail "$1 has a system area (hybrid MBR)"
}

# ---- a) livecd-tools: isolinux + El Torito EFI image -------------------------------------------
# livecd_iso NAME LABEL (no spaces: GRUB 2.06 doubles a backslash of a linux argument, so no
# grub.cfg can pass livecd-tools' \x20 to the kernel).
livecd_iso() {
  local name=$1 label=$2 tree=tree-$1
  isolinux_tree "$label" "$label" $tree
  mkdir -p $tree/EFI/BOOT
  cat > $tree/EFI/BOOT/grub.cfg <<CFG
set default="0"
set timeout=0
search --no-floppy --set=root -l '$label'
menuentry 'Start $label' --class fedora --class gnu-linux --class gnu --class os {
	linux /isolinux/vmlinuz0 root=live:CDLABEL=$label rootfstype=auto ro rd.live.image quiet panic=-1 no_timer_check rd.luks=0 rd.md=0 rd.dm=0
	initrd /isolinux/initrd0.img
}
menuentry 'Test this media & start $label' --class fedora --class gnu-linux --class gnu --class os {
	linux /isolinux/vmlinuz0 root=live:CDLABEL=$label rootfstype=auto ro rd.live.image quiet panic=-1 no_timer_check rd.live.check
	initrd /isolinux/initrd0.img
}
CFG
  # Like Fedora's gcdx64.efi: iso9660 built in, prefix /EFI/BOOT on the device it was loaded from
  # (the FAT image), whose grub.cfg finds the ISO by its label.
  grub-mkimage -O x86_64-efi -o $tree/EFI/BOOT/BOOTX64.EFI -p /EFI/BOOT \
    fat iso9660 part_gpt part_msdos normal linux search search_label configfile echo boot ||
    fail "grub-mkimage x86_64-efi failed"
  rm -f efiboot.img
  mkfs.vfat -C -n EFIBOOT efiboot.img 4096 >/dev/null
  mmd -i efiboot.img ::EFI ::EFI/BOOT
  mcopy -i efiboot.img $tree/EFI/BOOT/BOOTX64.EFI $tree/EFI/BOOT/grub.cfg ::EFI/BOOT/
  mv efiboot.img $tree/isolinux/efiboot.img
  list_files $tree $name.files
  xorriso -as mkisofs -J -r -hide-rr-moved -V "$label" -o $name.iso \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    -eltorito-alt-boot -e isolinux/efiboot.img -no-emul-boot $tree >xorriso.log 2>&1 ||
    fail "xorriso ($name.iso) failed: $(tail -3 xorriso.log)"
  rm -rf $tree
}
livecd_iso livecd VDISK-LIVE

# ---- b) GRUB El Torito (grub-mkrescue's layout, no boot_hybrid.img, no --grub2-boot-info) ------
label=VDISK-GRUB
mkdir -p tree-b/boot/grub/i386-pc
cp "$kernel" tree-b/boot/vmlinuz
cp initrd.img tree-b/boot/initrd.img
make_squashfs $label tree-b/LiveOS
cat > tree-b/boot/grub/grub.cfg <<CFG
set default=0
set timeout=0
search --no-floppy --set=root -l '$label'
menuentry '$label live' {
	linux /boot/vmlinuz root=live:CDLABEL=$label rd.live.image quiet panic=-1 no_timer_check
	initrd /boot/initrd.img
}
CFG
grub-mkimage -O i386-pc-eltorito -o tree-b/boot/grub/i386-pc/eltorito.img -p /boot/grub \
  biosdisk iso9660 part_msdos part_gpt normal linux search search_label configfile echo boot ||
  fail "grub-mkimage i386-pc-eltorito failed"
list_files tree-b grubcd.files
xorriso -as mkisofs -r -V $label -o grubcd.iso -b boot/grub/i386-pc/eltorito.img \
  -c boot.catalog -no-emul-boot -boot-load-size 4 -boot-info-table tree-b >xorriso.log 2>&1 ||
  fail "xorriso (grubcd.iso) failed: $(tail -3 xorriso.log)"

# ---- c) isolinux only ----------------------------------------------------------------------------
# isolinux_iso NAME LABEL. A space of LABEL is \x20 in root=live:CDLABEL= (livecd-tools' escape;
# isolinux passes the append line to the kernel as it is, dracut and this initramfs decode it).
isolinux_iso() {
  local tree=tree-$1
  isolinux_tree "$2" "${2// /\\x20}" $tree
  list_files $tree $1.files
  xorriso -as mkisofs -J -r -hide-rr-moved -V "$2" -o $1.iso \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    $tree >xorriso.log 2>&1 || fail "xorriso ($1.iso) failed: $(tail -3 xorriso.log)"
  rm -rf $tree
}
isolinux_iso isolinuxcd VDISK-BIOS
isolinux_iso spacecd "VDISK LIVE SP"

for iso in livecd spacecd grubcd isolinuxcd; do
  check_no_system_area $iso.iso
  python3 "$HERE/iso_layout_check.py" eltorito $iso.iso > $iso.eltorito || fail "$iso.iso: bad El Torito"
done
grep -q '^platform=efi ' livecd.eltorito || fail "livecd.iso has no El Torito EFI entry"
for iso in grubcd isolinuxcd spacecd; do
  ! grep -q '^platform=efi ' $iso.eltorito || fail "$iso.iso has an El Torito EFI entry"
done
rm -rf tree-b xorriso.log
echo "live ISOs ready in $DIR (kernel $kver, ${#order[@]} modules in the initramfs)"
