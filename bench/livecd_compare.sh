#!/usr/bin/env bash
# A 1 GiB live ISO (livecd-tools layout: isolinux BIOS + El Torito EFI image, no hybrid MBR;
# the machine's kernel and initrd; a 1 GiB LiveOS/squashfs.img of incompressible bytes) into
# azure and gcp, with --boot auto (hybridised: the system area rewritten, a GPT ESP added, the
# initrd read for the boot verdict) against --boot none (the ISO's bytes), alternating runs from
# the same page-cache state. Every output is checked: the auto disk equals the none disk outside
# the system area and the backup GPT, and check --for azure|gcp passes.
# Usage: bench/livecd_compare.sh VDCONVERT [WORKDIR] [REPS]
set -euo pipefail
VD=$(realpath "${1:?usage: livecd_compare.sh VDCONVERT [WORKDIR] [REPS]}")
WORK=${2:-/tmp/vdisk-livecd-bench}
REPS=${3:-5}
mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ ! -f live.iso ]; then
  rm -rf tree && mkdir -p tree/isolinux tree/LiveOS tree/EFI/BOOT
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 tree/isolinux/
  cp "$(ls /boot/vmlinuz-* | sort -V | tail -1)" tree/isolinux/vmlinuz0
  cp "$(ls /boot/initrd.img-* | sort -V | tail -1)" tree/isolinux/initrd0.img
  cat > tree/isolinux/isolinux.cfg <<'CFG'
default live
label live
  kernel vmlinuz0
  append initrd=initrd0.img root=live:CDLABEL=BENCH-LIVE rd.live.image quiet
CFG
  grub-mkimage -O x86_64-efi -o BOOTX64.EFI -p /EFI/BOOT fat iso9660 part_gpt normal linux search
  mkfs.vfat -C efiboot.img 4096 >/dev/null
  mmd -i efiboot.img ::EFI ::EFI/BOOT && mcopy -i efiboot.img BOOTX64.EFI ::EFI/BOOT/
  cp efiboot.img tree/isolinux/
  head -c 1G /dev/urandom > tree/LiveOS/squashfs.img
  xorriso -as mkisofs -quiet -R -V BENCH-LIVE -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot \
    -e isolinux/efiboot.img -no-emul-boot -o live.iso tree
  rm -rf tree BOOTX64.EFI efiboot.img
fi
echo "input: live.iso, $(stat -c %s live.iso) bytes"

# run TARGET MODE OUT: seconds of one conversion (page cache dropped first).
run() {
  rm -f "$3"
  sync
  echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  cat live.iso > /dev/null  # the input hot for both modes: the comparison is of our work
  local t0 t1
  t0=$(date +%s.%N)
  SOURCE_DATE_EPOCH=1700000000 "$VD" convert -q --to "$1" --boot "$2" live.iso "$3"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for target in azure gcp; do
  ext=vhd; [ $target = gcp ] && ext=tar.gz
  : > "times.$target.none"; : > "times.$target.auto"
  for i in $(seq "$REPS"); do
    run $target none "none.$ext" >> "times.$target.none"
    run $target auto "auto.$ext" >> "times.$target.auto"
  done
  "$VD" check -q --for $target "auto.$ext" || fail "check --for $target of the auto output"
  if [ $target = azure ]; then
    # Outside the system area and the last 33 LBAs (+ footer) the two disks are the same bytes.
    size=$(stat -c %s auto.vhd)
    cmp -s <(tail -c +32769 auto.vhd | head -c $((size - 32768 - 17408))) \
      <(tail -c +32769 none.vhd | head -c $((size - 32768 - 17408))) ||
      fail "the auto and none disks differ outside the patches"
  fi
  n=$(median < "times.$target.none"); a=$(median < "times.$target.auto")
  printf '%s: --boot none %.2f s, --boot auto %.2f s (median of %d): %.3fx\n' \
    $target "$n" "$a" "$REPS" "$(echo "$a / $n" | bc -l)"
done
