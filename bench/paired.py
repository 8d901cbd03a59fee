#!/usr/bin/env python3
"""Paired runs: each conversion and the floor it is judged against, from the same memory state.

Usage: bench/paired.py [--vd VDCONVERT] [--floor FLOOR] [--work DIR] [--rounds N]
                       [--settle SECONDS] [--results bench/RESULTS.md]
       bench/paired.py --quick [--vd VDCONVERT] [--floor FLOOR] [--work DIR]

Why: this project's machine is a VM whose freed memory is reported to the host (free page
reporting), so the kernel's copy into page-cache pages costs up to ten times more when the pages
come from reported memory (bench/RESULTS.md, "Why rows drift"). compare_all.py runs each row's
repetitions back to back, so a row's figures depend on the state the machine was in when that
row came up. Here every command, floors included, starts from the same state: its outputs
removed, `sync`, then --settle seconds of idleness (the time the guest needs to report what was
freed), so every run finds reported pages; the commands then run round robin, --rounds times, and
each row's ratio to its floor is taken within a round (the median of those is reported).

The input is compare_all.py's (made by it, under --work): an 8 GiB GPT disk with 1.68 GB of
data, as qemu-img made each format, and data.bin, the allocated data alone.

Floors (the same as compare_all.py's):
  cat          `cat data.bin > f`: writing the allocated data into a file (page cache)
  cat+sync     the same followed by `sync f`
  inflate      bench/floor inflate-vmdk over stream.vmdk on all cores
  deflate      bench/floor deflate over data.bin, ISA-L level 1, on all cores
Each output is checked once at the end (size; GCP archives with `vdconvert check --for gcp`); the
content checks by sha256 are compare_all.py's.

With --results FILE the report replaces the part of FILE between "<!-- paired:begin -->" and
"<!-- paired:end -->" (appended when absent).

--quick keeps this script working and measures nothing (the `bench.paired_quick` ctest, label
`bench`, after `bench.compare_all_quick` in the same --work): compare_all.py --quick's 1 GiB
input (reused when that made it in --work, else made; default --work
/var/tmp/vdisk-paired-quick), one round, no `sync` or settling, and the last raw, VHD and GCP
outputs verified by sha256 as compare_all.py does; --results is refused.
"""
import os
import shlex
import statistics
import subprocess
import sys
import time

import compare_all


def main():
    ap = compare_all.common_args()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--quick", action="store_true",
                    help="compare_all.py --quick's input, one round, outputs verified, no figures")
    a = ap.parse_args()
    if a.quick:
        if a.results:
            sys.exit("--quick measures nothing: it never writes --results")
        a.rounds, a.settle = 1, 0.0
        if a.work == ap.get_default("work"):
            a.work = "/var/tmp/vdisk-paired-quick"
        compare_all.use_quick_layout()
        compare_all.quick_work(a.work, wipe=False)
    vd_path = os.path.realpath(a.vd)
    vd, floor = shlex.quote(vd_path), shlex.quote(os.path.realpath(a.floor))
    results = os.path.realpath(a.results) if a.results else ""
    os.makedirs(a.work, exist_ok=True)
    compare_all.make_inputs(a.work)  # chdir's into the work directory
    cpus = os.cpu_count()
    subprocess.run("cat disk.raw data.bin *.vmdk *.vhd *.qcow2 *.vhdx > /dev/null", shell=True,
                   check=True)

    # (name, command, outputs, floor it is judged against or None for a floor)
    def vd_row(name, src, target, out, sync, floor_name):
        flags = "" if sync else " --no-sync"
        return (name, f"{vd} convert --to {target} --quiet{flags} {src} {out}", [out], floor_name)

    commands = [
        ("cat", "cat data.bin > w.bin", ["w.bin"], None),
        ("cat+sync", "cat data.bin > w.bin && sync w.bin", ["w.bin"], None),
        ("inflate", f"{floor} inflate-vmdk stream.vmdk {cpus}", [], None),
        ("deflate", f"{floor} deflate data.bin {cpus} 1", [], None),
        vd_row("sparse VMDK -> raw", "sparse.vmdk", "raw", "out.raw", False, "cat"),
        vd_row("sparse VMDK -> Azure", "sparse.vmdk", "azure", "out.vhd", False, "cat"),
        vd_row("qcow2 -> raw", "plain.qcow2", "raw", "out.raw", False, "cat"),
        vd_row("raw -> Azure", "disk.raw", "azure", "out.vhd", False, "cat"),
        vd_row("stream VMDK -> raw", "stream.vmdk", "raw", "out.raw", False, "inflate|cat"),
        vd_row("stream VMDK -> Azure", "stream.vmdk", "azure", "out.vhd", False, "inflate|cat"),
        vd_row("sparse VMDK -> GCP", "sparse.vmdk", "gcp", "out.tar.gz", False, "deflate"),
        vd_row("sparse VMDK -> raw, default", "sparse.vmdk", "raw", "out.raw", True, "cat+sync"),
        vd_row("stream VMDK -> Azure, default", "stream.vmdk", "azure", "out.vhd", True,
               "inflate|cat+sync"),
        vd_row("sparse VMDK -> GCP, default", "sparse.vmdk", "gcp", "out.tar.gz", True,
               "deflate"),
    ]
    runs = {c[0]: [] for c in commands}
    for r in range(a.rounds):
        print(f"round {r + 1}/{a.rounds}", file=sys.stderr)
        for name, cmd, outputs, _ in commands:
            runs[name].append(compare_all.run_once(cmd, outputs, a.settle, split=True))
    # The last outputs: present and of the expected kind.
    for out in ("out.raw", "out.vhd"):
        if os.path.exists(out) and os.path.getsize(out) < compare_all.DISK:
            sys.exit(f"{out} is shorter than the disk")
    if os.path.exists("out.tar.gz"):
        subprocess.run(f"{vd} check --for gcp out.tar.gz > /dev/null", shell=True, check=True)
    if a.quick:
        want = compare_all.sha256_prefix("disk.raw", compare_all.DISK)
        for out, kind in (("out.raw", "raw"), ("out.vhd", "vhd"), ("out.tar.gz", "gcp")):
            if not compare_all.verify(vd_path, kind, out, want):
                sys.exit(f"WRONG OUTPUT: {out} does not hold the source disk")
            print(f"verified: {out}", file=sys.stderr)
    for f in ("w.bin", "out.raw", "out.vhd", "out.tar.gz"):
        if os.path.exists(f):
            os.remove(f)

    def wall(name, r):
        return runs[name][r][0]

    def floor_wall(spec, r):
        return max(wall(f, r) for f in spec.split("|"))

    lines = [f"## Paired runs from one memory state (`bench/paired.py`, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
             "",
             f"{a.rounds} rounds, every command once per round in the order below; before each "
             f"run its outputs are removed, `sync`, then {a.settle:g} s idle so that the memory "
             "freed so far is reported to the host and every run, floors included, finds the "
             "same state. `x floor` is the median over the rounds of the run's wall time over "
             "its floor's in the same round (a floor `a|b` is the larger of the two). Load "
             f"average at the end {open('/proc/loadavg').read().split()[0]}.",
             "",
             "| command | wall median (min-max) | user | sys | floor | x floor (min-max) |",
             "|---|---|---|---|---|---|"]
    for name, _, _, floor_name in commands:
        w = [x[0] for x in runs[name]]
        u = statistics.median(x[1] for x in runs[name])
        s = statistics.median(x[2] for x in runs[name])
        ratio = "-"
        if floor_name:
            rs = [wall(name, r) / floor_wall(floor_name, r) for r in range(a.rounds)]
            ratio = f"{statistics.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f})"
        lines.append(f"| {name} | {statistics.median(w):.2f} s ({min(w):.2f}-{max(w):.2f}) | "
                     f"{u:.2f} s | {s:.2f} s | {floor_name or '-'} | {ratio} |")
    if a.quick:
        lines[2:2] = ["**--quick: a check that every command still runs, not a measurement** "
                      "(small input, one round, no `sync` or settling before the runs). Figures "
                      "come only from full runs of a release build on an idle machine.", ""]
    report = "\n".join(lines)
    print(report)
    if results:
        compare_all.replace_section(results, "paired", report)

if __name__ == "__main__":
    main()
