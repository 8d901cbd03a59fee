#!/usr/bin/env bash
# One boot test of a live ISO of make_live_isos.sh (livecd.iso: isolinux + El Torito EFI;
# grubcd.iso: GRUB El Torito, BIOS; isolinuxcd.iso and spacecd.iso (a label with spaces):
# isolinux, BIOS), none with a hybrid MBR.
# Boots in QEMU (TCG, -m 512) and passes only when the initramfs's marker line says
# label=found rootfs=ok (make_live_isos.sh). Usage: boot_live.sh NAME VDCONVERT LIVE_SOURCES WORKDIR
# NAME is <iso>_<case>:
#   <iso>_cd_bios, <iso>_cd_uefi   controls: the ISO boots as a CD (SeaBIOS; OVMF for livecd),
#                                  device=sr0, console=no.
#   <iso>_handhybrid_disk          control of this harness's disk path: sector 0 written here as
#                                  isohybrid (isolinux) or xorriso --grub2-mbr/--grub2-boot-info
#                                  (GRUB) would; iso_layout_check.py must call it a hybrid and
#                                  SeaBIOS must boot it as a disk (device=sda).
#   <iso>_<mode>_<target>          vdconvert convert --to <target> (azure|gcp|vmdk) with
#                                  mode auto: no --boot option (auto is the default for an ISO);
#                                  mode grub: --boot grub (must give the GPT repack);
#                                  mode grubargs: --boot grub --kernel-args 'vdisk.probe=42
#                                  vdisk.second' (both words must reach /proc/cmdline);
#                                  mode grubstdin: --boot grub with the ISO piped through stdin
#                                  (the disk must equal the one made from the file);
#                                  mode none: --boot none (must give the ISO unchanged, which
#                                  then must not boot on SeaBIOS).
#     Then: check --for azure|gcp; the output as a raw disk (azure: the VHD without its 512-byte
#     footer; gcp: disk.raw of the tarball; vmdk: qemu-img convert); iso_layout_check.py layout
#     (hybrid: the ISO at offset 0, only the system area and GRUB's 8 bytes differ; repack: GPT
#     p1 BIOS boot, p2 ESP, p3 the ISO byte for byte); sgdisk -v clean when the disk has a GPT;
#     xorriso and bsdtar list every file of the ISO (hybrid: the disk itself; repack: p3 cut out
#     with dd at sgdisk -i 3's sectors); repack: fsck.fat -n of p2, \EFI\BOOT\BOOTX64.EFI in it and
#     a grub.cfg with console=ttyS0. Boots: SeaBIOS always; OVMF when the output is a repack or
#     the ISO has an El Torito EFI entry. Marker: hybrid device=sda console=no (the ISO's own
#     loader and command line ran); repack device=sda3 console=yes.
# VDISK_BOOT_SECONDS caps each boot (default 180); each boot's time is printed.
set -euo pipefail
NAME=${1:?usage: boot_live.sh NAME VDCONVERT LIVE_SOURCES WORKDIR}
VD=$(realpath "${2:?}")
SRC=$(realpath "${3:?}")
WORK=${4:?}
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=${VDISK_BOOT_SECONDS:-180}
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $NAME: $*"; exit 1; }
for t in qemu-system-x86_64 qemu-img python3 xorriso bsdtar sgdisk fsck.fat mdir mtype mmd mcopy \
  mkfs.vfat grub-mkimage od; do
  command -v "$t" >/dev/null || fail "required tool '$t' is not installed"
done
OVMF=/usr/share/ovmf/OVMF.fd
[ -f /usr/share/seabios/bios-256k.bin ] || fail "SeaBIOS is missing (package seabios)"
[ -f "$OVMF" ] || fail "$OVMF is missing (package ovmf)"
iso_name=${NAME%%_*}
rest=${NAME#*_}
ISO=$SRC/$iso_name.iso
[ -f "$ISO" ] && [ -f "$SRC/$iso_name.files" ] || fail "no $ISO (tests/boot/make_live_isos.sh)"
check() { python3 "$HERE/iso_layout_check.py" "$@"; }
check eltorito "$ISO" > eltorito.txt || fail "$(cat eltorito.txt)"
has_efi=no
grep -q '^platform=efi ' eltorito.txt && has_efi=yes

# boot FIRMWARE DRIVE-OPTIONS: runs QEMU, serial console in serial.log, until the marker appears,
# the firmware or GRUB gives up, the guest powers off or LIMIT seconds pass. Sets $marker to the
# marker line ("" when none) and prints the time taken.
marker=
boot() {
  local fw=$1 drive=$2 bios=() start pid
  [ "$fw" = uefi ] && bios=(-bios "$OVMF")
  echo "booting ($fw): $drive"
  : >serial.log
  start=$(date +%s%N)
  # shellcheck disable=SC2086
  qemu-system-x86_64 -machine accel=tcg -m 512 -nographic -no-reboot -net none -monitor none \
    -serial file:serial.log "${bios[@]}" $drive >qemu.log 2>&1 &
  pid=$!
  while kill -0 $pid 2>/dev/null && [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt "$LIMIT" ]; do
    grep -aq 'VDISK-BOOT-MARKER\|No bootable device\|No bootable option\|grub> \|Shell> ' serial.log && break
    sleep 0.2
  done
  sleep 0.5
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  marker=$(grep -ao 'VDISK-BOOT-MARKER.*' serial.log | tr -d '\r' | head -1 || true)
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "BOOT-TIME $NAME $fw $((ms / 1000)).$(printf %03d $((ms % 1000))) s: ${marker:-no marker}"
}
# expect_marker FIRMWARE DEVICE CONSOLE: fails unless the last boot's marker has exactly these.
expect_marker() {
  local want_fw=bios
  [ "$1" = uefi ] && want_fw=64
  [ -n "$marker" ] || fail "$1: no marker within $LIMIT s; serial console ends: $(tail -c 400 serial.log | tr -d '\r')"
  local want="VDISK-BOOT-MARKER firmware=$want_fw label=found device=$2 console=$3 rootfs=ok"
  [ "$marker" = "$want" ] || fail "$1: marker '$marker', expected '$want'"
}
# lists_all_files IMAGE: xorriso and bsdtar both list every file the ISO was built from.
lists_all_files() {
  xorriso -indev "$1" -find / -type f 2>/dev/null | sed "s/^'\\/\\(.*\\)'\$/\\1/" | sort > xorriso.list
  bsdtar -tf "$1" | sort > bsdtar.list
  local f
  while read -r f; do
    grep -qxF "$f" xorriso.list || fail "xorriso -indev $1 does not list $f"
    grep -qxF "$f" bsdtar.list || fail "bsdtar -tf $1 does not list $f"
  done < "$SRC/$iso_name.files"
  echo "ok: xorriso and bsdtar list the $(wc -l < "$SRC/$iso_name.files") files of $iso_name.iso in $1"
}
# must_reject OFFSET EXPECT: iso_layout_check.py must fail on disk.raw with the byte at OFFSET
# inverted, naming that offset (the checker's negative control).
must_reject() {
  cp disk.raw bad.raw
  local b
  b=$(od -An -tu1 -j "$1" -N 1 bad.raw | tr -d ' ')
  le 1 $((255 - b)) | dd of=bad.raw bs=1 seek="$1" conv=notrunc status=none
  if check layout "$ISO" bad.raw --expect "$2" > bad.txt; then
    fail "the layout check accepted a disk with byte $1 changed"
  fi
  grep -q "disk offset $1\b\|offset $1 " bad.txt || fail "the layout check did not name offset $1: $(cat bad.txt)"
  rm -f bad.raw
  echo "ok: the layout check rejects byte $1 changed: $(grep FAIL bad.txt)"
}
le() { # BYTES VALUE -> VALUE as BYTES bytes little-endian on stdout
  local n=$1 v=$2 i
  for ((i = 0; i < n; i++)); do printf "\\x$(printf %02x $(( (v >> (8 * i)) & 255 )))"; done
}

case $rest in
  cd_bios|cd_uefi)
    fw=${rest#cd_}
    [ "$fw" = bios ] || [ "$has_efi" = yes ] || fail "$iso_name.iso has no El Torito EFI entry"
    boot "$fw" "-drive file=$ISO,media=cdrom,readonly=on"
    expect_marker "$fw" sr0 no
    echo "ok: $NAME: $marker"
    exit 0 ;;
  handhybrid_disk)
    cp "$ISO" disk.raw
    line=$(grep '^platform=bios ' eltorito.txt | head -1)
    rba=$(sed 's/.* rba=\([0-9]*\) .*/\1/' <<<"$line")
    sectors=$(( $(stat -c %s disk.raw) / 512 ))
    case $line in
      *loader=isolinux) # isohybrid: isohdpfx.bin code, u64 image LBA in 512-byte sectors at 432
        dd if=/usr/lib/ISOLINUX/isohdpfx.bin of=disk.raw bs=432 count=1 conv=notrunc status=none
        le 8 $((rba * 4)) | dd of=disk.raw bs=1 seek=432 conv=notrunc status=none ;;
      *loader=grub) # boot_hybrid.img, u64 RBA*4+4 at 0x1b0; diskboot's blocklist start RBA*4+5
        dd if=/usr/lib/grub/i386-pc/boot_hybrid.img of=disk.raw bs=432 count=1 conv=notrunc status=none
        le 8 $((rba * 4 + 4)) | dd of=disk.raw bs=1 seek=432 conv=notrunc status=none
        le 8 $((rba * 4 + 5)) | dd of=disk.raw bs=1 seek=$((rba * 2048 + 2548)) conv=notrunc status=none ;;
      *) fail "no isolinux or GRUB BIOS image in $iso_name.iso: $line" ;;
    esac
    # one active entry over the whole image (type 0x17 like isohybrid), then 55 AA
    { printf '\x80\x00\x00\x00\x17\x00\x00\x00'; le 4 0; le 4 $sectors; } |
      dd of=disk.raw bs=1 seek=446 conv=notrunc status=none
    printf '\x55\xaa' | dd of=disk.raw bs=1 seek=510 conv=notrunc status=none
    check layout "$ISO" disk.raw --expect hybrid || fail "layout check of the hand-made hybrid"
    must_reject $(( $(stat -c %s "$ISO") - 1 )) hybrid
    must_reject 40000 hybrid
    [[ $line != *loader=grub ]] || must_reject $((rba * 2048 + 2548)) hybrid
    lists_all_files disk.raw
    boot bios "-drive file=disk.raw,format=raw"
    expect_marker bios sda no
    echo "ok: $NAME: $marker"
    exit 0 ;;
  handrepack_disk)
    # The GRUB repack built by hand (the layout in libvdisk/src/formats/iso9660/livecd/repack.h): GPT p1 BIOS
    # boot with core.img, p2 ESP with BOOTX64.EFI and grub.cfg (the ISO's isolinux.cfg entry
    # plus console=ttyS0), p3 the ISO; then the same checks and boots as a vdconvert repack.
    [ "$has_efi" = yes ] && grep -q 'loader=isolinux' eltorito.txt || fail "handrepack needs livecd.iso"
    label=$(dd if="$ISO" bs=1 skip=32808 count=32 status=none | sed 's/ *$//')
    xorriso -osirrox on -indev "$ISO" -extract /isolinux/isolinux.cfg isolinux.cfg >/dev/null 2>&1
    args=$(sed -n 's/^ *append initrd=[^ ]* //p' isolinux.cfg | head -1)
    [ -n "$args" ] || fail "no append line in the ISO's isolinux.cfg"
    cat > grub.cfg <<CFG
set timeout=0
search --no-floppy --set=root --label '$label'
linux /isolinux/vmlinuz0 $args console=ttyS0,115200n8
initrd /isolinux/initrd0.img
boot
CFG
    mods="part_gpt fat iso9660 normal linux search search_label configfile echo boot"
    grub-mkimage -O x86_64-efi -o BOOTX64.EFI -p /EFI/BOOT $mods
    grub-mkimage -O i386-pc -o core.img -p '(hd0,gpt2)/EFI/BOOT' biosdisk $mods
    core_sectors=$(( ($(stat -c %s core.img) + 511) / 512 ))
    [ $core_sectors -le 2048 ] || fail "core.img is larger than the 1 MiB BIOS boot partition"
    mkfs.vfat -C esp.img 8192 >/dev/null
    mmd -i esp.img ::EFI ::EFI/BOOT
    mcopy -i esp.img BOOTX64.EFI grub.cfg ::EFI/BOOT/
    iso_sectors=$(( $(stat -c %s "$ISO") / 512 ))
    total=$(( ( (20480 + iso_sectors + 33 + 2047) / 2048 ) * 2048 ))
    truncate -s $((total * 512)) disk.raw
    sgdisk -n 1:2048:4095 -t 1:EF02 -n 2:4096:20479 -t 2:EF00 \
      -n 3:20480:$((20480 + iso_sectors - 1)) -t 3:0700 disk.raw >/dev/null
    dd if=core.img of=disk.raw bs=512 seek=2048 conv=notrunc status=none
    dd if=esp.img of=disk.raw bs=512 seek=4096 conv=notrunc status=none
    dd if="$ISO" of=disk.raw bs=512 seek=20480 conv=notrunc status=none
    # boot.img: code only (bytes 0..439); kernel_sector (0x5c) = core's LBA; the drive check at
    # 0x66 NOPed; diskboot's first blocklist start (core+0x1f4) = core's second sector.
    dd if=/usr/lib/grub/i386-pc/boot.img of=disk.raw bs=440 count=1 conv=notrunc status=none
    le 8 2048 | dd of=disk.raw bs=1 seek=$((0x5c)) conv=notrunc status=none
    printf '\x90\x90' | dd of=disk.raw bs=1 seek=$((0x66)) conv=notrunc status=none
    le 8 2049 | dd of=disk.raw bs=1 seek=$((2048 * 512 + 0x1f4)) conv=notrunc status=none
    must_reject $((20480 * 512 + 40000)) repack
    must_reject $(( (20480 + iso_sectors) * 512 - 1)) repack
    drive="-drive file=disk.raw,format=raw,snapshot=on" ;;
esac

mode=hand expect=repack from_stdin=no
probe_args="vdisk.probe=42 vdisk.second"  # grubargs: --kernel-args, must reach /proc/cmdline
if [ "$rest" != handrepack_disk ]; then
IFS=_ read -r mode target extra <<<"$rest"
[ -z "${extra:-}" ] || fail "unknown test name"
case $mode in
  auto) boot_opts=() ; expect= ;;
  grub) boot_opts=(--boot grub) ; expect=repack ;;
  grubargs) boot_opts=(--boot grub --kernel-args "$probe_args") ; expect=repack ;;
  grubstdin) boot_opts=(--boot grub) ; expect=repack ; from_stdin=yes ;;
  none) boot_opts=(--boot none) ; expect=plain ;;
  *) fail "unknown mode '$mode'" ;;
esac
# convert_iso TARGET OUT: the ISO by name, or piped through stdin for the *stdin modes (the
# repack is then written front to back from the stream; the disk must be the file repack's).
convert_iso() {
  if [ "$from_stdin" = yes ]; then
    cat "$ISO" | "$VD" convert --quiet --to "$1" "${boot_opts[@]}" - "$2" || fail "convert from stdin failed"
    "$VD" convert --quiet --to "$1" "${boot_opts[@]}" "$ISO" "file-$2" || fail "convert of the file failed"
    case $1 in
      azure) qemu-img convert -f vpc -O raw "file-$2" from-file.raw ;;
      vmdk) qemu-img convert -f vmdk -O raw "file-$2" from-file.raw ;;
      gcp) mkdir -p from-file && tar -xzf "file-$2" -C from-file disk.raw && mv from-file/disk.raw from-file.raw ;;
    esac
  else
    "$VD" convert --quiet --to "$1" "${boot_opts[@]}" "$ISO" "$2" || fail "convert failed"
  fi
}
case $target in
  azure)
    convert_iso azure out.vhd
    "$VD" check --for azure out.vhd > check.txt || fail "check --for azure failed: $(cat check.txt)"
    size=$(stat -c %s out.vhd)
    [ "$(tail -c 512 out.vhd | head -c 8)" = conectix ] || fail "out.vhd has no VHD footer"
    cp out.vhd disk.raw && truncate -s $((size - 512)) disk.raw
    drive="-drive file=out.vhd,format=vpc,snapshot=on" ;;
  gcp)
    convert_iso gcp out.tar.gz
    "$VD" check --for gcp out.tar.gz > check.txt || fail "check --for gcp failed: $(cat check.txt)"
    tar -xzf out.tar.gz disk.raw
    drive="-drive file=disk.raw,format=raw,snapshot=on" ;;
  vmdk)
    convert_iso vmdk out.vmdk
    qemu-img convert -f vmdk -O raw out.vmdk disk.raw
    drive="-drive file=out.vmdk,format=vmdk,snapshot=on" ;;
  *) fail "unknown target '$target'" ;;
esac
fi
if [ "$from_stdin" = yes ]; then
  cmp disk.raw from-file.raw ||
    fail "the disk written from stdin differs from the one written from the file"
  echo "ok: the disk written from stdin is the file's, byte for byte"
fi
check layout "$ISO" disk.raw ${expect:+--expect $expect} > layout.txt ||
  fail "layout check: $(tr '\n' ' ' < layout.txt)"
layout=$(sed -n 's/^layout=//p' layout.txt)
echo "layout: $(tr '\n' ' ' < layout.txt)"
[ "$mode" != auto ] || [ "$layout" = hybrid ] || [ "$layout" = repack ] ||
  fail "--boot auto left the ISO as it was (layout $layout)"
if [ "$(od -An -tx1 -j 512 -N 8 disk.raw | tr -d ' \n')" = 4546492050415254 ]; then  # "EFI PART"
  sgdisk -v disk.raw > sgdisk.txt 2>&1 || fail "sgdisk -v failed: $(cat sgdisk.txt)"
  grep -q 'No problems found' sgdisk.txt || fail "sgdisk -v: $(tr '\n' ' ' < sgdisk.txt)"
  echo "ok: sgdisk -v finds no problems"
fi

case $layout in
  plain|hybrid) lists_all_files disk.raw ;;
  repack)
    sector() { sgdisk -i "$1" disk.raw | sed -n "s/^$2 sector: \\([0-9]*\\).*/\\1/p"; }
    p3_first=$(sector 3 First) p3_last=$(sector 3 Last)
    [ -n "$p3_first" ] && [ -n "$p3_last" ] || fail "sgdisk -i 3 gave no sectors"
    dd if=disk.raw of=p3.iso bs=512 skip="$p3_first" count=$((p3_last - p3_first + 1)) status=none
    lists_all_files p3.iso
    p2_first=$(sector 2 First) p2_last=$(sector 2 Last)
    dd if=disk.raw of=esp.img bs=512 skip="$p2_first" count=$((p2_last - p2_first + 1)) status=none
    fsck.fat -n esp.img > fsck.txt 2>&1 || fail "fsck.fat -n of the ESP: $(tail -3 fsck.txt)"
    mdir -i esp.img -/ -b :: > esp.list || fail "mdir of the ESP failed"
    grep -qix '::/EFI/BOOT/BOOTX64.EFI' esp.list || fail "the ESP has no \\EFI\\BOOT\\BOOTX64.EFI: $(tr '\n' ' ' < esp.list)"
    cfg=$(grep -i '/grub\.cfg$' esp.list | head -1)
    [ -n "$cfg" ] || fail "the ESP has no grub.cfg: $(tr '\n' ' ' < esp.list)"
    mtype -i esp.img "$cfg" > grub.cfg
    grep -q 'console=ttyS0' grub.cfg || fail "$cfg has no console=ttyS0"
    echo "ok: ESP passes fsck.fat and holds BOOTX64.EFI and $cfg with console=ttyS0" ;;
esac

if [ "$layout" = plain ]; then
  boot bios "$drive"
  [ -z "$marker" ] || fail "the unchanged ISO booted as a disk: $marker"
  grep -aq 'No bootable device\|not a bootable disk' serial.log ||
    fail "SeaBIOS did not report a non-bootable disk: $(tail -c 300 serial.log | tr -d '\r')"
  echo "ok: $NAME: --boot none kept the ISO as it was, and SeaBIOS does not boot it"
  exit 0
fi
if [ "$layout" = repack ]; then device=sda3 console=yes; else device=sda console=no; fi
# expect_args: after a grubargs boot, the kernel command line holds the --kernel-args words.
expect_args() {
  [ "$mode" = grubargs ] || return 0
  local line w
  line=$(grep -ao 'VDISK-BOOT-CMDLINE.*' serial.log | tr -d '\r' | head -1)
  for w in $probe_args; do
    [[ " $line " == *" $w "* ]] || fail "--kernel-args word '$w' is not on the kernel command line: $line"
  done
  echo "ok: the kernel command line has the --kernel-args words: $line"
}
boot bios "$drive"
expect_marker bios $device $console
expect_args
if [ "$layout" = repack ] || [ "$has_efi" = yes ]; then
  boot uefi "$drive"
  expect_marker uefi $device $console
  expect_args
fi
echo "ok: $NAME ($layout) booted to the marker on every firmware"
