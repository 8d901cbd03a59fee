#!/usr/bin/env python3
"""Encodes a file as a sparse fuzz input (fuzz/sparse_input.h): its size in 64 KiB units, then
its non-zero 512-byte sectors as chunks (runs merged, at most 65535 bytes a chunk), stopping at
MAX bytes of output. Usage: sparse_seed.py IN OUT [MAX]"""
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 256 * 1024
data = open(src, "rb").read()
units = min(4096, max(1, (len(data) + 65535) // 65536))
out = bytearray(struct.pack("<H", units))
zero = bytes(512)
i = 0
while i < len(data) and len(out) < limit:
    if data[i:i + 512] == zero[:len(data[i:i + 512])]:
        i += 512
        continue
    j = i
    while j < len(data) and j - i < 65535 - 512 and data[j:j + 512] != zero[:len(data[j:j + 512])]:
        j += 512
    j = min(j, len(data))
    out += struct.pack("<IH", i, j - i) + data[i:j]
    i = j
open(dst, "wb").write(out)
print(f"{src}: {len(data)} bytes -> {dst}: {len(out)} bytes")
