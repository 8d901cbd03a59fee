#!/usr/bin/env python3
"""Builds OVF packages for tests/interop/ova_read.sh and bench/ova_compare.sh with python's tarfile.

usage: make_ova.py OUT [--dir] [--mf SHA1|SHA256|none] [--mf-last] [--gzip N] [--chunk N:BYTES]
                   [--format ustar|gnu|pax] [--bad-digest] DISK.vmdk [DISK2.vmdk ...]
The descriptor is named after OUT (x.ova -> x.ovf); --dir writes OUT as a directory instead.
"""
import argparse, gzip, hashlib, io, os, tarfile

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("disks", nargs="+")
ap.add_argument("--dir", action="store_true")
ap.add_argument("--mf", default="SHA256")
ap.add_argument("--mf-last", action="store_true")
ap.add_argument("--gzip", type=int, action="append", default=[])
ap.add_argument("--chunk", action="append", default=[])
ap.add_argument("--format", default="ustar")
ap.add_argument("--bad-digest", action="store_true")
a = ap.parse_args()

stem = os.path.splitext(os.path.basename(a.out))[0]
chunks = {int(c.split(":")[0]): int(c.split(":")[1]) for c in a.chunk}
files, refs, disks = [], [], []
for i, path in enumerate(a.disks, 1):
    data = open(path, "rb").read()
    name = os.path.basename(path)
    capacity = int.from_bytes(data[12:20], "little") * 512 if data[:4] == b"KDMV" else len(data)
    comp = ""
    if i in a.gzip:
        data = gzip.compress(data, 6)
        comp = ' ovf:compression="gzip"'
    attrs = f'ovf:id="file{i}" ovf:href="{name}" ovf:size="{len(data)}"{comp}'
    if i in chunks:
        n = chunks[i]
        attrs += f' ovf:chunkSize="{n}"'
        for k in range(0, len(data), n):
            files.append((f"{name}.{k // n:09d}", data[k:k + n]))
    else:
        files.append((name, data))
    refs.append(f"    <File {attrs}/>")
    unit = ' ovf:capacityAllocationUnits="byte * 2^20"' if capacity % (1 << 20) == 0 else ""
    cap = capacity >> 20 if unit else capacity
    disks.append(f'    <Disk ovf:diskId="vmdisk{i}" ovf:fileRef="file{i}" ovf:capacity="{cap}"{unit} '
                 'ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>')
ovf = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- made by tests/interop/make_ova.py -->
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
          xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References>
{chr(10).join(refs)}
  </References>
  <DiskSection>
    <Info>Virtual disk information &amp; more</Info>
{chr(10).join(disks)}
  </DiskSection>
  <VirtualSystem ovf:id="vm"><Info>A VM</Info><Name>test</Name></VirtualSystem>
</Envelope>
""".encode()
members = [(stem + ".ovf", ovf)] + files
mf = None
if a.mf != "none":
    lines = []
    for n, d in members:
        h = hashlib.new(a.mf.lower(), d).hexdigest()
        if a.bad_digest and n != stem + ".ovf":
            h = ("0" if h[0] != "0" else "1") + h[1:]
        lines.append(f"{a.mf}({n})= {h}\n")
    mf = (stem + ".mf", "".join(lines).encode())
    if a.mf_last:
        members.append(mf)
    else:
        members.insert(1, mf)
if a.dir:
    os.makedirs(a.out, exist_ok=True)
    for n, d in members:
        open(os.path.join(a.out, n), "wb").write(d)
else:
    fmt = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}[a.format]
    with tarfile.open(a.out, "w", format=fmt) as t:
        for n, d in members:
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(d))
