#!/usr/bin/env python3
"""Checks the shared libvdisk's exported symbols (libvdisk/vdisk.map) against the public headers.

usage: exports_test.py SHARED_LIB STATIC_LIB INCLUDE_DIR

- the SONAME is libvdisk.so.<major>, and every symbol is under the version node VDISK_0;
- every vdisk_* function that vdisk_c.h declares is exported;
- every exported C++ symbol is a function or class that a public header declares, in its
  namespace (vdisk; vdisk::iso9660 for iso9660.h; vdisk::vmdk for vmdk.h, vmdk_repair.h): no
  vdisk::detail, no driver namespace (vdisk::vhd, ...), no internal vdisk::vmdk function;
- every such public function or class member defined (strongly) in the static library is
  exported, so a public name missing from vdisk.map fails here.
"""
import pathlib
import re
import subprocess
import sys

shared, static, include = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
failures = []

soname = re.search(r"SONAME\s+(\S+)", subprocess.run(
    ["objdump", "-p", shared], check=True, capture_output=True, text=True).stdout)
if not soname or not re.fullmatch(r"libvdisk\.so\.\d+", soname.group(1)):
    failures.append(f"SONAME: expected libvdisk.so.N, found {soname and soname.group(1)}")

NS = {"iso9660.h": "vdisk::iso9660", "vmdk.h": "vdisk::vmdk", "vmdk_repair.h": "vdisk::vmdk"}
public = set()  # (namespace, name)
for header in sorted(include.glob("*.h")) + sorted(include.glob("*.h.in")):
    if header.name == "vdisk_c.h":
        continue
    ns = NS.get(header.name, "vdisk")
    text = header.read_text()
    for m in re.finditer(r"^(?:class|struct)(?: \[\[nodiscard\]\])? (\w+)", text, re.M):
        public.add((ns, m.group(1)))
    for m in re.finditer(r"^[A-Za-z][^;/#]*?\b(\w+)\(", text, re.M):
        public.add((ns, m.group(1)))
c_functions = set(re.findall(r"\b(vdisk_\w+)\(", (include / "vdisk_c.h").read_text()))


def nm(path, dynamic):
    args = ["nm", "-C", "--defined-only"] + (["-D"] if dynamic else []) + [path]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] not in ("A",):
            yield parts[1], parts[2]


def key(symbol):
    """(namespace, name) of a vdisk C++ symbol, or None."""
    symbol = re.sub(r"^(typeinfo name for |typeinfo for |vtable for |VTT for )", "", symbol)
    symbol = symbol.replace("[abi:cxx11]", "")
    m = re.match(r"(vdisk(?:::[a-z_0-9]+)*)::(\w+)", symbol)
    return (m.group(1), m.group(2)) if m else None


exported = set()
for kind, symbol in nm(shared, True):
    name = symbol.split("@")[0]
    exported.add(name)
    if "@VDISK_0" not in symbol:
        failures.append(f"not in version node VDISK_0: {symbol}")
    if re.fullmatch(r"vdisk_\w+", name):
        continue
    k = key(name)
    if k is None or k not in public:
        failures.append(f"exported but not public: {name}")
for fn in sorted(c_functions - exported):
    failures.append(f"C API function not exported: {fn}")
for kind, symbol in nm(static, False):
    if kind not in "TDRB":  # strong definitions only (weak ones are inline instantiations)
        continue
    k = key(symbol)
    if k in public and symbol not in exported:
        failures.append(f"public but not exported (add it to vdisk.map): {symbol}")

for f in failures:
    print(f)
print(f"{len(exported)} exported symbols, {len(public)} public names, {len(failures)} problems")
sys.exit(1 if failures else 0)
