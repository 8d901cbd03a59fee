#!/usr/bin/env python3
"""Checks of the boot.* live-ISO tests (Python standard library only).

  iso_layout_check.py eltorito ISO
      Prints the El Torito boot catalog of ISO, one line per entry:
        platform=<bios|efi|0xNN> bootable=<yes|no> media=<n> rba=<n> count=<n> loader=<isolinux|grub|other>
      (loader only for BIOS no-emulation entries: isolinux = the 0x7078c0fb hybrid signature at
      +0x40; grub = a GRUB i386-pc-eltorito image, diskboot.img at +2048 with its first blocklist
      start at +2548 equal to 2 or to RBA*4+5). Exits 1 when ISO has no valid El Torito catalog.

  iso_layout_check.py layout ISO DISK [--expect hybrid|repack|plain]
      Works out how DISK (a raw disk image written from ISO) holds ISO and checks that every byte
      outside the patches the layout documents equals ISO's:
        plain   the ISO at offset 0, byte for byte (what --boot none writes).
        hybrid  the ISO at offset 0; only the system area (bytes 0..32767) differs, and for a
                GRUB El Torito image the 8 bytes at image+2548 (u64 LE RBA*4+5, "--grub2-boot-info"
                in xorrisofs(1)); sector 0 ends in 55 AA. Bytes past the ISO's end are not checked.
        repack  a GPT (header at LBA 1, 512-byte sectors): entry 1 a BIOS boot partition, entry 2 an
                EFI system partition, entry 3 holds the ISO byte for byte from its first sector, and
                any rest of entry 3 is zero. Prints p1/p2/p3 as "first_lba last_lba".
      Prints "layout=<kind>" and the facts found; exits 1, naming the offset, on the first byte
      that breaks the layout.
"""
import struct
import sys
import zlib

SECTOR = 512
BLOCK = 2048
CHUNK = 1 << 20
BIOS_BOOT = "21686148-6449-6E6F-744E-656564454649"
ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ISOLINUX_SIG = 0x7078C0FB


class Bad(Exception):
    pass


def read_at(f, offset, size):
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise Bad(f"short read: {size} bytes at offset {offset}, got {len(data)}")
    return data


def file_size(f):
    f.seek(0, 2)
    return f.tell()


def guid(raw):
    a, b, c = struct.unpack_from("<IHH", raw, 0)
    return f"{a:08X}-{b:04X}-{c:04X}-{raw[8:10].hex().upper()}-{raw[10:16].hex().upper()}"


def eltorito_entries(f):
    """The boot catalog's entries as dicts (platform, bootable, media, rba, count)."""
    size = file_size(f)
    if size < 18 * BLOCK:
        raise Bad(f"ISO 9660: file is {size} bytes, too small for a boot record at block 17")
    pvd = read_at(f, 16 * BLOCK, BLOCK)
    if pvd[0] != 1 or pvd[1:6] != b"CD001":
        raise Bad(f"ISO 9660: no primary volume descriptor at offset {16 * BLOCK}")
    brvd = read_at(f, 17 * BLOCK, BLOCK)
    if brvd[0] != 0 or brvd[1:6] != b"CD001" or brvd[7:30] != b"EL TORITO SPECIFICATION":
        raise Bad(f"El Torito: no boot record volume descriptor at offset {17 * BLOCK}")
    catalog_rba = struct.unpack_from("<I", brvd, 0x47)[0]
    if catalog_rba == 0 or (catalog_rba + 1) * BLOCK > size:
        raise Bad(f"El Torito: catalog block {catalog_rba} lies outside the {size}-byte ISO")
    cat = read_at(f, catalog_rba * BLOCK, BLOCK)
    if cat[0] != 1 or cat[30:32] != b"\x55\xaa":
        raise Bad(f"El Torito: bad validation entry at block {catalog_rba}")
    if sum(struct.unpack_from("<16H", cat, 0)) & 0xFFFF:
        raise Bad(f"El Torito: validation entry checksum of block {catalog_rba} is not zero")

    def entry(raw, platform):
        media = raw[1] & 0x0F
        count, rba = struct.unpack_from("<HI", raw, 6)
        return {"platform": platform, "bootable": raw[0] == 0x88, "media": media, "rba": rba,
                "count": count}

    entries = [entry(cat[32:64], cat[1])]
    pos = 64
    while pos + 32 <= BLOCK and cat[pos] in (0x90, 0x91):
        header = cat[pos:pos + 32]
        platform, n = header[1], struct.unpack_from("<H", header, 2)[0]
        pos += 32
        for _ in range(n):
            if pos + 32 > BLOCK:
                raise Bad(f"El Torito: section of {n} entries runs past the catalog's first block")
            if cat[pos] not in (0x88, 0x00):
                raise Bad(f"El Torito: bad section entry indicator 0x{cat[pos]:02x} at catalog+{pos}")
            entries.append(entry(cat[pos:pos + 32], platform))
            pos += 32
            while pos + 32 <= BLOCK and cat[pos] == 0x44:  # extension entries
                pos += 32
        if header[0] == 0x91:
            break
    for e in entries:
        if (e["rba"] + 1) * BLOCK > size:
            raise Bad(f"El Torito: boot image block {e['rba']} lies outside the {size}-byte ISO")
    return entries


def bios_loader(f, rba):
    """'isolinux', 'grub' or 'other' for the BIOS no-emulation image at block rba."""
    base = rba * BLOCK
    head = read_at(f, base, 0x44)
    if struct.unpack_from("<I", head, 0x40)[0] == ISOLINUX_SIG:
        return "isolinux"
    if file_size(f) >= base + 2556:
        start = struct.unpack_from("<Q", read_at(f, base + 2548, 8), 0)[0]
        segment = struct.unpack_from("<H", read_at(f, base + 2558, 2), 0)[0] \
            if file_size(f) >= base + 2560 else 0
        if start in (2, rba * 4 + 5) and segment == 0x820:
            return "grub"
    return "other"


def platform_name(p):
    return {0: "bios", 0xEF: "efi"}.get(p, f"0x{p:02x}")


def cmd_eltorito(path):
    with open(path, "rb") as f:
        for e in eltorito_entries(f):
            loader = ""
            if e["platform"] == 0 and e["media"] == 0:
                loader = " loader=" + bios_loader(f, e["rba"])
            print(f"platform={platform_name(e['platform'])} bootable={'yes' if e['bootable'] else 'no'}"
                  f" media={e['media']} rba={e['rba']} count={e['count']}{loader}")


def compare(iso, disk, iso_from, disk_from, length, skip=()):
    """Fails at the first differing byte of iso[iso_from..+length) vs disk[disk_from..), ignoring
    the iso-relative ranges in skip (each (start, end))."""
    done = 0
    while done < length:
        n = min(CHUNK, length - done)
        a = read_at(iso, iso_from + done, n)
        b = read_at(disk, disk_from + done, n)
        if a != b:
            for i in range(n):
                if a[i] != b[i]:
                    at = iso_from + done + i
                    if any(s <= at < e for s, e in skip):
                        continue
                    raise Bad(f"ISO byte {at} (disk offset {disk_from + done + i}) differs: "
                              f"ISO 0x{a[i]:02x}, disk 0x{b[i]:02x}")
        done += n


def check_zero(disk, offset, length, what):
    done = 0
    while done < length:
        n = min(CHUNK, length - done)
        data = read_at(disk, offset + done, n)
        if data.count(0) != n:
            i = next(k for k in range(n) if data[k])
            raise Bad(f"{what}: disk offset {offset + done + i} is 0x{data[i]:02x}, expected 0")
        done += n


def gpt_entries(disk):
    header = read_at(disk, SECTOR, 92)
    if header[:8] != b"EFI PART":
        return None
    hsize = struct.unpack_from("<I", header, 12)[0]
    if hsize < 92 or hsize > SECTOR:
        raise Bad(f"GPT: header size {hsize} at offset {SECTOR + 12} is not in 92..512")
    header = read_at(disk, SECTOR, hsize)
    crc = struct.unpack_from("<I", header, 16)[0]
    if zlib.crc32(header[:16] + b"\0\0\0\0" + header[20:]) & 0xFFFFFFFF != crc:
        raise Bad("GPT: primary header CRC does not match")
    table_lba, count, esize = struct.unpack_from("<QII", header, 72)
    if esize < 128 or esize > 4096 or count > 1024:
        raise Bad(f"GPT: {count} entries of {esize} bytes are out of range")
    table = read_at(disk, table_lba * SECTOR, count * esize)
    out = []
    for i in range(count):
        raw = table[i * esize:(i + 1) * esize]
        first, last = struct.unpack_from("<QQ", raw, 32)
        out.append({"type": guid(raw[0:16]), "first": first, "last": last})
    return out


def cmd_layout(iso_path, disk_path, expect):
    with open(iso_path, "rb") as iso, open(disk_path, "rb") as disk:
        iso_size, disk_size = file_size(iso), file_size(disk)
        if iso_size % BLOCK or iso_size < 18 * BLOCK:
            raise Bad(f"ISO: size {iso_size} is not a multiple of {BLOCK} of at least 18 blocks")
        entries = eltorito_entries(iso)
        at_zero = disk_size >= iso_size and read_at(disk, 16 * BLOCK, 6) == b"\x01CD001"
        if at_zero:
            kind = "plain" if read_at(disk, 0, 32768) == read_at(iso, 0, 32768) else "hybrid"
        elif disk_size >= 2 * SECTOR and gpt_entries(disk) is not None:
            kind = "repack"
        else:
            raise Bad("DISK holds the ISO neither at offset 0 nor behind a GPT")
        print(f"layout={kind}")
        if expect and kind != expect:
            raise Bad(f"expected layout {expect}, found {kind}")
        if kind == "plain":
            compare(iso, disk, 0, 0, iso_size)
        elif kind == "hybrid":
            if read_at(disk, 510, 2) != b"\x55\xaa":
                raise Bad("hybrid: sector 0 does not end in 55 AA (offset 510)")
            skip = [(0, 32768)]
            bios = [e for e in entries if e["platform"] == 0 and e["media"] == 0 and e["bootable"]]
            if bios and bios_loader(iso, bios[0]["rba"]) == "grub":
                rba = bios[0]["rba"]
                at = rba * BLOCK + 2548
                value = struct.unpack_from("<Q", read_at(disk, at, 8), 0)[0]
                if value != rba * 4 + 5:
                    raise Bad(f"hybrid: GRUB blocklist start at offset {at} is {value}, "
                              f"expected {rba * 4 + 5} (boot image block {rba} * 4 + 5)")
                print(f"grub_patch_offset={at} value={value}")
                skip.append((at, at + 8))
            compare(iso, disk, 0, 0, iso_size, skip)
            print(f"iso_bytes_checked={iso_size - 32768} disk_size={disk_size}")
        else:
            parts = gpt_entries(disk)
            if len(parts) < 3:
                raise Bad(f"repack: GPT has {len(parts)} entries, expected at least 3")
            for i, want, name in ((0, BIOS_BOOT, "BIOS boot"), (1, ESP, "EFI system")):
                if parts[i]["type"] != want:
                    raise Bad(f"repack: partition {i + 1} has type {parts[i]['type']}, expected {name} {want}")
            for i, p in enumerate(parts[:3]):
                if p["first"] == 0 or p["last"] < p["first"] or (p["last"] + 1) * SECTOR > disk_size:
                    raise Bad(f"repack: partition {i + 1} LBA {p['first']}..{p['last']} is not inside the disk")
                print(f"p{i + 1}={p['first']} {p['last']}")
            p3 = parts[2]
            start, length = p3["first"] * SECTOR, (p3["last"] - p3["first"] + 1) * SECTOR
            if length < iso_size:
                raise Bad(f"repack: partition 3 holds {length} bytes, less than the ISO's {iso_size}")
            compare(iso, disk, 0, start, iso_size)
            check_zero(disk, start + iso_size, length - iso_size, "repack: partition 3 past the ISO")
            print(f"iso_bytes_checked={iso_size} p3_offset={start}")


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "eltorito":
            cmd_eltorito(argv[2])
        elif len(argv) in (4, 6) and argv[1] == "layout":
            expect = None
            if len(argv) == 6:
                if argv[4] != "--expect" or argv[5] not in ("hybrid", "repack", "plain"):
                    raise Bad("usage: layout ISO DISK [--expect hybrid|repack|plain]")
                expect = argv[5]
            cmd_layout(argv[2], argv[3], expect)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (Bad, OSError) as e:
        print(f"FAIL: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
