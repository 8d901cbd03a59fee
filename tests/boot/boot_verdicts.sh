#!/usr/bin/env bash
# boot.verdicts: disks built with the real tools (sfdisk, sgdisk, mkfs.vfat, mtools, GRUB's
# boot.img and grub-mkimage) and the verdicts `vdconvert info --json` and `vdconvert check --for
# azure|gcp|aws` give them (docs/boot.md): MBR with GRUB in the post-MBR gap, MBR without code (a
# data disk), GPT with GRUB in a BIOS boot partition, GPT with an ESP holding BOOTX64.EFI and one
# without it, a hybrid MBR+GPT, an MBR 0xef ESP, a GPT of 4096-byte LBAs, a damaged GPT, and the
# same disk as qemu-img writes it in every format. The boot.* QEMU tests prove the verdicts for
# the disks they boot (boot.sh's `verdict`). A missing tool fails the test.
# Usage: boot_verdicts.sh VDCONVERT WORKDIR
set -euo pipefail
VD=$(realpath "${1:?usage: boot_verdicts.sh VDCONVERT WORKDIR}")
WORK=${2:?}
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
for t in sfdisk sgdisk mkfs.vfat mmd mcopy grub-mkimage qemu-img python3; do
  command -v $t >/dev/null || fail "$t is not installed"
done
BOOT_IMG=/usr/lib/grub/i386-pc/boot.img
[ -f "$BOOT_IMG" ] || fail "$BOOT_IMG is missing (package grub-pc-bin)"
[ -d /usr/lib/grub/x86_64-efi ] || fail "/usr/lib/grub/x86_64-efi is missing (grub-efi-amd64-bin)"

MiB=$((1024 * 1024))
grub-mkimage -O i386-pc -o core-msdos.img -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos fat
grub-mkimage -O i386-pc -o core-gpt.img -p '(hd0,gpt2)/boot/grub' biosdisk part_gpt fat
grub-mkimage -O x86_64-efi -o BOOTX64.EFI -p /EFI/BOOT part_gpt part_msdos fat
# boot_img DISK CORE_LBA: GRUB's boot.img in sector 0 (code only: the table stays), loading its
# core image from CORE_LBA (the LE64 at 0x5C, as grub-install writes it).
boot_img() {
  dd if="$BOOT_IMG" of="$1" bs=440 count=1 conv=notrunc status=none
  python3 -c 'import struct,sys; f=open(sys.argv[1],"r+b"); f.seek(0x5C); f.write(struct.pack("<Q", int(sys.argv[2])))' "$1" "$2"
}
# esp IMAGE KIB DIR [SECTOR_SIZE]: a FAT file system holding the EFI GRUB in DIR, as BOOTX64.EFI
# in EFI/BOOT (the default loader) or as grubx64.efi elsewhere (grub-install without --removable).
esp() {
  local name=grubx64.efi
  [ "$3" = EFI/BOOT ] && name=BOOTX64.EFI
  rm -f "$1"
  mkfs.vfat -C "$1" -S "${4:-512}" "$2" >/dev/null
  mmd -i "$1" ::EFI "::$3"
  mcopy -i "$1" BOOTX64.EFI "::$3/$name"
}
put() { dd if="$1" of="$2" bs=512 seek="$3" conv=notrunc status=none; }

# check_info FILE EXPR...: each Python expression holds for b = info --json's "boot" object
# (c = {cloud: setting}, boots = {cloud: boots}).
check_info() {
  local f=$1
  shift
  "$VD" info --json "$f" > info.json || fail "info --json $f"
  python3 - "$f" "$@" <<'PY' || exit 1
import json, sys
b = json.load(open("info.json"))["boot"]
c = {x["cloud"]: x["setting"] for x in b["clouds"]}
boots = {x["cloud"]: x["boots"] for x in b["clouds"]}
for expr in sys.argv[2:]:
    if not eval(expr):
        print(f"FAIL: {sys.argv[1]}: {expr} is false; boot = {json.dumps(b, indent=1)}")
        sys.exit(1)
print(f"ok: {sys.argv[1]}: {b['summary']}")
PY
}
# check_rule FILE CLOUD RULE PASSED: check --for CLOUD --json gives RULE that result.
check_rule() {
  "$VD" check --for "$2" --json "$1" > check.json || true
  python3 - "$@" <<'PY' || exit 1
import json, sys
f, cloud, rule, want = sys.argv[1:5]
d = json.load(open("check.json"))
r = [x for x in d["rules"] if x["rule"] == rule]
if not r or str(r[0]["passed"]).lower() != want:
    print(f"FAIL: check --for {cloud} {f}: {rule} is not {want}: {json.dumps(d['rules'], indent=1)}")
    sys.exit(1)
print(f"ok: check --for {cloud} {f}: {rule} passed={want}: {r[0]['detail']}")
PY
}

# ---- MBR + GRUB in the post-MBR gap ------------------------------------------------------------
truncate -s $((32 * MiB)) mbr-grub.raw
echo 'start=2048, type=83, bootable' | sfdisk -q mbr-grub.raw
put core-msdos.img mbr-grub.raw 1
boot_img mbr-grub.raw 1
check_info mbr-grub.raw 'b["partition_table"] == "mbr"' 'b["mbr"]["boot_loader"] == "grub"' \
  'b["mbr"]["active_partition"]' 'b["grub_core"]["found"]' '"gap after the MBR" in b["grub_core"]["where"]' \
  'b["bios_bootable"]' 'not b["uefi_bootable"]' 'not b["data_disk"]' \
  'c["azure"] == "--hyper-v-generation V1"' 'c["aws"] == "--boot-mode legacy-bios"' 'c["gcp"] == ""'
check_rule mbr-grub.raw aws aws.boot_verdict true
check_rule mbr-grub.raw aws aws.boot_table true

# GRUB's boot.img with its core image gone: BIOS no.
cp mbr-grub.raw mbr-nocore.raw
dd if=/dev/zero of=mbr-nocore.raw bs=512 seek=1 count=100 conv=notrunc status=none
check_info mbr-nocore.raw 'not b["bios_bootable"]' 'not b["grub_core"]["found"]'
check_rule mbr-nocore.raw aws aws.boot_verdict false

# Boot code but no partition table: AWS's own error text.
cp mbr-grub.raw mbr-notable.raw
dd if=/dev/zero of=mbr-notable.raw bs=1 seek=446 count=64 conv=notrunc status=none
check_info mbr-notable.raw 'b["partition_table"] == "none"'
check_rule mbr-notable.raw aws aws.boot_table false
grep -q 'No valid partitions. Not a valid volume' check.json || fail "AWS's error text is not quoted"

# ---- MBR without boot code: a data disk, which passes ------------------------------------------
truncate -s $((32 * MiB)) data.raw
echo 'start=2048, type=83' | sfdisk -q data.raw
check_info data.raw 'b["data_disk"]' 'not b["bios_bootable"]' 'not b["uefi_bootable"]' \
  'not any(boots.values())' 'all(v == "" for v in c.values())'
"$VD" check --for aws data.raw >/dev/null || fail "a data disk fails check --for aws"

# ---- GPT + GRUB in a BIOS boot partition + ESP; then hybrid ------------------------------------
truncate -s $((64 * MiB)) gpt-both.raw
sgdisk -n 1:2048:4095 -t 1:EF02 -n 2:4096:69631 -t 2:EF00 -n 3:69632:0 -t 3:8300 gpt-both.raw >/dev/null
put core-gpt.img gpt-both.raw 2048
boot_img gpt-both.raw 2048
esp esp.img 32768 EFI/BOOT
put esp.img gpt-both.raw 4096
check_info gpt-both.raw 'b["partition_table"] == "gpt"' 'b["gpt"]["lba_size"] == 512' \
  'b["grub_core"]["where"] == "BIOS boot partition (gpt partition 1)"' 'b["grub_core"]["found"]' \
  'b["esp"]["loader"] == "\\EFI\\BOOT\\BOOTX64.EFI"' 'b["bios_bootable"]' 'b["uefi_bootable"]' \
  'c["aws"] == "--boot-mode uefi-preferred"' 'c["azure"] == "--hyper-v-generation V2"' \
  'c["gcp"] == "--guest-os-features=UEFI_COMPATIBLE"' \
  '[p["role"] for p in b["gpt"]["partitions"]] == ["bios_boot", "esp", "other"]'
cp gpt-both.raw hybrid.raw
sgdisk -h 2 hybrid.raw >/dev/null
check_info hybrid.raw 'b["partition_table"] == "hybrid"' 'not b["mbr"]["boot_code"]' \
  'not b["bios_bootable"]' 'b["uefi_bootable"]'  # sgdisk -h rewrites sector 0 without code
boot_img hybrid.raw 2048
check_info hybrid.raw 'b["partition_table"] == "hybrid"' 'b["bios_bootable"]' 'b["uefi_bootable"]' \
  'any(p["type"] == "0xef" for p in b["mbr"]["partitions"])'

# Every format qemu-img writes reads the same (the verdict goes through the opened image).
for fmt in vpc vhdx vmdk qcow2 vdi; do
  qemu-img convert -f raw -O $fmt gpt-both.raw gpt-both.$fmt
  check_info gpt-both.$fmt 'b["bios_bootable"]' 'b["uefi_bootable"]' 'b["partition_table"] == "gpt"'
done
check_rule gpt-both.vpc aws aws.boot_verdict true
"$VD" convert -q --to azure gpt-both.raw gpt-both-azure.vhd
check_rule gpt-both-azure.vhd azure azure.boot_verdict true
check_rule gpt-both-azure.vhd azure azure.boot_setting true
grep -q 'hyper-v-generation V2' check.json || fail "check --for azure does not name the setting"
"$VD" convert -q --to gcp gpt-both.raw gpt-both.tar.gz
check_rule gpt-both.tar.gz gcp gcp.boot_verdict true
check_rule gpt-both.tar.gz gcp gcp.uefi_gpt true

# ---- GPT + ESP without \EFI\BOOT\BOOTX64.EFI (grub-install without --removable) ---------------
truncate -s $((48 * MiB)) gpt-noloader.raw
sgdisk -n 1:2048:67583 -t 1:EF00 gpt-noloader.raw >/dev/null
esp esp-noloader.img 32768 EFI/debian
put esp-noloader.img gpt-noloader.raw 2048
check_info gpt-noloader.raw 'not b["uefi_bootable"]' 'not b["bios_bootable"]' 'not b["data_disk"]' \
  '"BOOTX64.EFI" in b["uefi_reason"]'
check_rule gpt-noloader.raw aws aws.boot_verdict false

# ---- MBR 0xef ESP: UEFI on Azure and AWS, not on GCP -------------------------------------------
truncate -s $((48 * MiB)) mbr-esp.raw
echo 'start=2048, size=65536, type=ef' | sfdisk -q mbr-esp.raw
put esp.img mbr-esp.raw 2048
check_info mbr-esp.raw 'b["uefi_bootable"]' 'b["esp"]["where"].startswith("mbr partition 1")' \
  'boots["azure"]' 'boots["aws"]' 'not boots["gcp"]'
"$VD" convert -q --to gcp mbr-esp.raw mbr-esp.tar.gz
check_rule mbr-esp.tar.gz gcp gcp.uefi_gpt false

# ---- GPT of 4096-byte LBAs: found, and refused by every cloud's check --------------------------
esp esp4k.img 32768 EFI/BOOT 4096
python3 - <<'PY'
import struct, zlib, uuid
L, size = 4096, 64 * 1024 * 1024
lbas = size // L
disk = bytearray(size)
esp = open("esp4k.img", "rb").read()
first = 256
last = first + len(esp) // L - 1
entry = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b").bytes_le + uuid.uuid4().bytes_le
entry += struct.pack("<QQQ", first, last, 0) + "EFI".encode("utf-16-le").ljust(72, b"\0")
array = entry.ljust(128 * 128, b"\0")
def header(cur, alt, entries):
    h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0, cur, alt, 6,
                    lbas - 6, uuid.uuid4().bytes_le, entries, 128, 128, zlib.crc32(array))
    h = h[:16] + struct.pack("<I", zlib.crc32(h)) + h[20:]
    return h
disk[L:L + 92] = header(1, lbas - 1, 2)
disk[2 * L:2 * L + len(array)] = array
disk[(lbas - 5) * L:(lbas - 5) * L + len(array)] = array
disk[(lbas - 1) * L:(lbas - 1) * L + 92] = header(lbas - 1, 1, lbas - 5)
disk[446:462] = bytes([0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF]) + struct.pack("<II", 1, lbas - 1)
disk[510:512] = b"\x55\xaa"
disk[first * L:first * L + len(esp)] = esp
open("gpt4k.raw", "wb").write(disk)
PY
check_info gpt4k.raw 'b["gpt"]["valid"]' 'b["gpt"]["lba_size"] == 4096' 'b["uefi_bootable"]' \
  'b["esp"]["loader"] == "\\EFI\\BOOT\\BOOTX64.EFI"' 'not any(boots.values())'
check_rule gpt4k.raw aws aws.gpt_lba_size false
"$VD" convert --to azure gpt4k.raw gpt4k.vhd 2> convert.err
grep -q 'warning: azure: the GPT uses 4096-byte LBAs' convert.err ||
  fail "convert did not warn about 4096-byte LBAs: $(cat convert.err)"
check_rule gpt4k.vhd azure azure.gpt_lba_size false

# ---- an MBR disk above 2 TiB (sparse): the MBR's 32-bit LBAs end at 2 TiB --------------------
truncate -s 3T mbr-3t.raw
echo 'start=2048, size=4294965248, type=83, bootable' | sfdisk -q mbr-3t.raw 2>/dev/null
put core-msdos.img mbr-3t.raw 1
boot_img mbr-3t.raw 1
check_info mbr-3t.raw 'b["partition_table"] == "mbr"' 'b["bios_bootable"]'
check_rule mbr-3t.raw aws aws.mbr_size false
check_rule mbr-3t.raw aws aws.boot_disk_size true
rm -f mbr-3t.raw

# ---- a damaged GPT is a fact, not an error -----------------------------------------------------
cp gpt-both.raw gpt-bad.raw
printf '\xff' | dd of=gpt-bad.raw bs=1 seek=$((512 + 16)) conv=notrunc status=none
check_info gpt-bad.raw 'b["gpt"]["present"]' 'not b["gpt"]["valid"]' '"CRC" in b["gpt"]["problem"]' \
  'not b["uefi_bootable"]'
echo "ok: boot verdicts"
