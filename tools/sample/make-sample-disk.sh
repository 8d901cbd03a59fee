#!/bin/bash
# Builds a small but real disk image for demos and tests: a GPT disk with an EFI system
# partition (FAT16) and a Linux root partition (ext4) holding a few files, as raw bytes.
# Needs no root and no loop devices: sfdisk writes the table, mkfs writes each file system at its
# partition's offset. Usage: make-sample-disk.sh OUT.raw [SIZE_MIB]  (default 100, not a whole
# multiple of anything the clouds want, on purpose).
set -euo pipefail
out=${1:?usage: make-sample-disk.sh OUT.raw [SIZE_MIB]}
size_mib=${2:-100}
for t in sfdisk mkfs.ext4 mkfs.vfat mcopy; do
  command -v "$t" >/dev/null || { echo "make-sample-disk: $t is required (fdisk, e2fsprogs, dosfstools, mtools)" >&2; exit 1; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rm -f "$out"
# An odd size (SIZE MiB + 7 sectors) so that cloud padding has work to do.
truncate -s $(( (size_mib << 20) + 7 * 512 )) "$out"

esp_mib=16
sfdisk --quiet "$out" <<EOT
label: gpt
label-id: 5A1E0C3B-2D4E-4F60-9A7B-8C9D0E1F2A3B
start=2048, size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=11111111-2222-4333-8444-555555555555, name="EFI"
start=$((2048 + esp_mib * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=66666666-7777-4888-9999-AAAAAAAAAAAA, name="root"
EOT
read -r root_start root_sectors < <(sfdisk --dump "$out" | awk -F'[=,]' '/name="root"/ {gsub(/ /,""); print $2, $4}')

# ESP: FAT16 (FAT32 needs at least 32 MiB) with a boot path, written into an image then copied into place.
mkfs.vfat -F 16 -n EFI -C "$tmp/esp.img" $((esp_mib * 1024)) >/dev/null
mmd -i "$tmp/esp.img" ::/EFI ::/EFI/BOOT
printf 'not a real loader; sample data for libvdisk\n' > "$tmp/BOOTX64.EFI"
mcopy -i "$tmp/esp.img" "$tmp/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
dd if="$tmp/esp.img" of="$out" bs=512 seek=2048 conv=notrunc,sparse status=none

# Root: ext4 populated from a directory, written at the partition's byte offset.
mkdir -p "$tmp/root/etc" "$tmp/root/usr/share/doc"
printf 'sample\n' > "$tmp/root/etc/hostname"
printf 'NAME="libvdisk sample"\nID=sample\n' > "$tmp/root/etc/os-release"
# Deterministic content: an incompressible-looking file (gzip output) and a text file.
seq 1 2000000 | gzip -9 -n > "$tmp/root/usr/share/doc/numbers.gz"
seq -f 'libvdisk sample text line %g' 1 100000 > "$tmp/root/usr/share/doc/text.txt"
mkfs.ext4 -q -F -L root -d "$tmp/root" -E offset=$((root_start * 512)) "$out" $((root_sectors / 2))k
echo "$out: $(stat -c %s "$out") bytes, GPT with ESP (FAT16) and root (ext4)"
