#!/usr/bin/env python3
"""The library's folders form layers; an include may only point down or sideways where allowed.

Usage: check_layers.py REPO_ROOT

The layers (docs/architecture.md draws them):
  0 base                      Status, properties, extents, ids, link rules, table cache
  1 machinery                 checksum codec io pipeline http gpt tar
  2 contract                  FormatDriver, TargetDriver, check rules
  3 formats/<name>, remote/<name>, signatures (formats recognised but not read), boot (what a
                              disk boots and what each cloud must be told)
  4 image                     the facade: registries, probing, convert()
  5 capi                      the C API over the public C++ API

Rules checked on every `#include "..."` under libvdisk/src:
  - the included folder's layer is not above the including folder's layer;
  - within the other layers folders do not include each other (each stands on the ones below);
  - within layer 3 a folder may use another (livecd uses raw, ebs uses aws), but the folder
    graph has no cycle (a sub-folder such as formats/vmdk/doctor counts as part of its format);
  - every include resolves to a file in libvdisk/src or to a public header vdisk/...;
  - every folder under libvdisk/src is in a layer (a new folder must be placed).
Public headers (libvdisk/include/vdisk) include only other public headers, and the CLI
(tools/) includes only public headers and its own files.
Exit status 0 when all hold; otherwise 1 with one line per violation.
"""
import os
import re
import sys

LAYERS = {
    "base": 0,
    "checksum": 1, "codec": 1, "io": 1, "pipeline": 1, "http": 1, "gpt": 1, "tar": 1,
    "contract": 2,
    "formats": 3, "remote": 3, "signatures": 3, "boot": 3,
    "image": 4,
    "capi": 5,
}
LATERAL_LAYERS = {3}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE_EXT = (".h", ".cpp", ".hpp", ".inc")


def unit_of(rel):
    """The dependency unit of a path relative to libvdisk/src: 'base' or 'formats/vmdk'."""
    parts = rel.split("/")
    if parts[0] in ("formats", "remote") and len(parts) > 2:
        return parts[0] + "/" + parts[1]
    return parts[0]


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield number, m.group(1)


def find_cycle(graph):
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def check_library(root, problems):
    src = os.path.join(root, "libvdisk", "src")
    public = os.path.join(root, "libvdisk", "include")
    graph = {}
    for entry in sorted(os.listdir(src)):
        if os.path.isdir(os.path.join(src, entry)) and entry not in LAYERS:
            problems.append(f"libvdisk/src/{entry}/: folder in no layer "
                            "(add it to tests/layout/check_layers.py and docs/architecture.md)")
    for directory, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(SOURCE_EXT):
                continue
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, src)
            unit = unit_of(rel)
            layer = LAYERS.get(rel.split("/")[0])
            if layer is None:
                continue
            for number, target in includes(path):
                where = f"libvdisk/src/{rel}:{number}"
                if target.startswith("vdisk/"):
                    if not os.path.exists(os.path.join(public, target)) and \
                            target != "vdisk/version.h":
                        problems.append(f"{where}: includes {target}, no such public header")
                    continue
                if os.path.exists(os.path.join(src, target)):
                    target_rel = target
                elif os.path.exists(os.path.join(directory, target)):
                    target_rel = os.path.relpath(os.path.join(directory, target), src)
                else:
                    problems.append(f"{where}: includes \"{target}\", not a file in libvdisk/src")
                    continue
                target_unit = unit_of(target_rel)
                if target_unit == unit:
                    continue
                target_layer = LAYERS[target_rel.split("/")[0]]
                if target_layer > layer:
                    problems.append(f"{where}: {unit} (layer {layer}) includes {target_rel} "
                                    f"from {target_unit} (layer {target_layer}): points up")
                elif target_layer == layer and layer not in LATERAL_LAYERS:
                    problems.append(f"{where}: {unit} includes {target_rel} from {target_unit}, "
                                    f"a sibling in layer {layer}")
                graph.setdefault(unit, set()).add(target_unit)
    cycle = find_cycle(graph)
    if cycle:
        problems.append("libvdisk/src: folders include each other in a cycle: " +
                        " -> ".join(cycle))


def check_public_and_tools(root, problems):
    public = os.path.join(root, "libvdisk", "include")
    for directory, _, files in os.walk(public):
        for name in sorted(files):
            path = os.path.join(directory, name)
            for number, target in includes(path):
                if not target.startswith("vdisk/"):
                    rel = os.path.relpath(path, root)
                    problems.append(f"{rel}:{number}: public header includes \"{target}\"")
    tools = os.path.join(root, "tools")
    for directory, _, files in os.walk(tools):
        for name in sorted(files):
            if not name.endswith(SOURCE_EXT):
                continue
            path = os.path.join(directory, name)
            for number, target in includes(path):
                if target.startswith("vdisk/"):
                    continue
                if not os.path.exists(os.path.join(directory, target)):
                    rel = os.path.relpath(path, root)
                    problems.append(f"{rel}:{number}: the CLI includes \"{target}\", which is "
                                    "neither a public header nor its own file")


def check(root):
    problems = []
    check_library(root, problems)
    check_public_and_tools(root, problems)
    return problems


def self_test():
    """The checker finds each kind of violation in a small tree made for it."""
    import tempfile
    cases = {
        "points up": {"base/a.h": '#include "image/b.h"', "image/b.h": ""},
        "sibling": {"io/a.h": '#include "codec/b.h"', "codec/b.h": ""},
        "cycle": {"formats/x/a.h": '#include "formats/y/b.h"',
                  "formats/y/b.h": '#include "formats/x/c.h"', "formats/x/c.h": ""},
        "not a file": {"base/a.h": '#include "base/missing.h"'},
        "no layer": {"newfolder/a.h": ""},
    }
    for expected, files in cases.items():
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "libvdisk", "include", "vdisk"))
            for rel, text in files.items():
                path = os.path.join(root, "libvdisk", "src", rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text + "\n")
            problems = check(root)
            if not any(expected in line for line in problems):
                print(f"check_layers self-test: a tree with a '{expected}' include passed: "
                      f"{problems}")
                return False
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "libvdisk", "include", "vdisk"))
        for rel, text in {"base/a.h": "", "formats/x/b.h": '#include "base/a.h"',
                          "formats/x/sub/c.h": '#include "formats/x/b.h"',
                          "formats/y/d.h": '#include "formats/x/sub/c.h"'}.items():
            path = os.path.join(root, "libvdisk", "src", rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text + "\n")
        if check(root):
            print(f"check_layers self-test: a well-layered tree failed: {check(root)}")
            return False
    return True


def main():
    if len(sys.argv) != 2:
        print("usage: check_layers.py REPO_ROOT", file=sys.stderr)
        return 2
    if not self_test():
        return 1
    problems = check(sys.argv[1])
    for line in problems:
        print(line)
    if problems:
        print(f"check_layers: {len(problems)} include(s) break the layering")
        return 1
    print("check_layers: every include points down a layer or stays in its folder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
