#!/usr/bin/env bash
# ISO as a disk: vdconvert info shows the volume and boot report; convert copies the ISO's bytes
# (raw) or pads them (azure) and warns when the ISO will not boot from a disk.
source "$(dirname "$0")/lib.sh"
need xorriso mkfs.vfat mmd mcopy
mkdir -p src/isolinux src/LiveOS
head -c 2048 /dev/urandom > src/isolinux/isolinux.bin
{ printf 'hsqs'; head -c 4000 /dev/urandom; } > src/LiveOS/squashfs.img
printf 'append root=live:CDLABEL=DRS\\x20LIVE ro rd.live.image\n' > src/isolinux/isolinux.cfg
mkfs.vfat -C efi.img 1440 >/dev/null && mmd -i efi.img ::EFI ::EFI/BOOT
echo efi > BOOTX64.EFI && mcopy -i efi.img BOOTX64.EFI ::EFI/BOOT/ && cp efi.img src/efiboot.img
xorriso -as mkisofs -R -J -V 'DRS LIVE' -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
  -boot-load-size 4 -eltorito-alt-boot -e efiboot.img -no-emul-boot -o plain.iso src 2>/dev/null
xorriso -as mkisofs -R -J -V 'DRS LIVE' -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
  -boot-load-size 4 -eltorito-alt-boot -e efiboot.img -no-emul-boot -appended_part_as_gpt \
  -append_partition 2 C12A7328-F81F-11D2-BA4B-00A0C93EC93B efi.img -o gpt.iso src 2>/dev/null

"$VDCONVERT" info --json plain.iso > plain.json
python3 - plain.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["format"] == "iso9660", j["format"]
assert j["iso9660"]["volume_id"] == "DRS LIVE"
b = j["boot"]
assert b["bios_bootable_as_disk"] is False and b["uefi_bootable_as_disk"] is False, b
assert b["isohybrid"] == "none"
assert [e["platform"] for e in b["el_torito"]["entries"]] == ["bios", "uefi"]
assert b["livecd"]["detected"] is True and b["livecd"]["cdlabel"] == "DRS LIVE"
print("ok: plain El Torito ISO report")
PY
"$VDCONVERT" info --json gpt.iso > gpt.json
python3 - gpt.json <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["boot"]
assert b["uefi_bootable_as_disk"] is True and b["bios_bootable_as_disk"] is False, b
assert b["system_area"]["gpt_valid"] is True and b["system_area"]["esp_present"] is True
assert b["isohybrid"] == "protective-gpt-only"
print("ok: appended-ESP ISO report")
PY

"$VDCONVERT" convert --to raw plain.iso plain.raw 2> convert.err
expect_eq "$(sha plain.raw)" "$(sha plain.iso)" "raw conversion keeps the ISO bytes"
grep -q "will not boot as a disk" convert.err || fail "no boot warning in: $(cat convert.err)"
echo "ok: warning shown"
# --keep-gpt: byte-identical padding (by default the GPT's backup moves to the new end;
# tests/interop/gpt_padding.sh covers that).
"$VDCONVERT" convert --to azure --keep-gpt gpt.iso gpt.vhd 2>/dev/null
size=$(stat -c %s gpt.vhd)
expect_eq "$(( (size - 512) % 1048576 ))" "0" "azure VHD is whole MiB + footer"
head -c "$(stat -c %s gpt.iso)" gpt.vhd > gpt.head
expect_eq "$(sha gpt.head)" "$(sha gpt.iso)" "azure VHD starts with the ISO bytes"
