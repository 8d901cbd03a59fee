#!/usr/bin/env python3
"""Every conversion path side by side with its peer and its hardware floor, in one run.

Usage: bench/compare_all.py [--vd VDCONVERT] [--floor FLOOR] [--work DIR] [--reps N]
                            [--peer-reps N] [--only ROW,...] [--results bench/RESULTS.md]
       bench/compare_all.py --quick [--vd VDCONVERT] [--floor FLOOR] [--work DIR] [--only ROW,...]

The input is made once (and reused): an 8 GiB GPT disk (sfdisk) whose one partition holds
1600 MiB of data in 16 regions, each 80 MiB of files from /usr (about 2:1 compressible, like an
OS disk) and 20 MiB of incompressible bytes (a seeded generator), holes between. qemu-img makes
of it a monolithicSparse and a streamOptimized VMDK, a dynamic VHD, a qcow2, a zlib-compressed
qcow2 and a dynamic VHDX. data.bin is the allocated data on its own (for the floors).

Each row runs its commands --reps times (the peers --peer-reps times) after one warm-up of the
input, with `sync` and the output removed before every run (outside the timing), and reports the
median wall time with min-max, user+sys CPU and peak RSS (wait4). Every vdconvert row's last
output is verified: the sha256 of the virtual disk it holds (a VHD's data part, a raw file, the
disk.raw GNU tar extracts from a GCP archive, qemu-img's view of a VMDK) must equal the source's.
A wrong output fails the run; it cannot count.

Floors, measured in the same run:
  write      `cat data.bin > f` (with --no-sync rows) or `cat data.bin > f && sync f` (default
             rows, which fsync): writing the allocated data into a file of the same file system
  inflate    bench/floor inflate-vmdk: ISA-L inflating every grain of stream.vmdk on all cores
  deflate    bench/floor deflate: ISA-L level 1 over data.bin on all cores (1 MiB chunks)
  grains     bench/floor deflate-grains: libdeflate level 4 (the streamOptimized writer's default
             engine) over every non-zero 64 KiB grain of data.bin on all cores, zlib-wrapped
A row's floor is the largest of the floors its path cannot avoid.

With --results FILE the report replaces the part of FILE between the lines
"<!-- compare_all:begin -->" and "<!-- compare_all:end -->" (appended when absent).

--quick keeps this script working and measures nothing (the `bench.compare_all_quick` ctest,
label `bench`, runs it on CI's sanitized build). The input is the same recipe on a 1 GiB disk
(the smallest a GCP archive holds: vdconvert pads its disk.raw to whole GiB) with 24 MiB of data
(4 regions of 4 MiB of /usr files and 2 MiB of incompressible bytes), made afresh in --work
(default /var/tmp/vdisk-compare-all-quick; a non-empty directory this mode did not make is
refused). Every floor and every command of every row runs once, without the `sync` before each
run, and each row's output is verified exactly as above; a wrong one fails the run. The table is
printed; --results is refused: figures come only from full runs of a release build on an idle
machine.
"""
import argparse
import hashlib
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import time

GIB, MIB = 1 << 30, 1 << 20
DISK = 8 * GIB
REGIONS, FILE_MIB, RANDOM_MIB = 16, 80, 20
SYNC_BEFORE_RUNS = True  # --quick: False (its timings are discarded)
QUICK_MARK = ".compare_all_quick"


def use_quick_layout():
    """The --quick input: the same recipe on a 1 GiB disk with 24 MiB of data."""
    global DISK, REGIONS, FILE_MIB, RANDOM_MIB, SYNC_BEFORE_RUNS
    DISK, REGIONS, FILE_MIB, RANDOM_MIB = GIB, 4, 4, 2
    SYNC_BEFORE_RUNS = False


def quick_work(work, wipe=True):
    """Prepares a --quick work directory, refusing a non-empty one --quick did not make (it holds
    other files: perhaps the full run's inputs, or anything else --work was pointed at). With
    `wipe` it is emptied (the inputs are made afresh); without, inputs made there by an earlier
    --quick run are reused (paired.py --quick after compare_all.py --quick)."""
    if os.path.isdir(work) and os.listdir(work) and \
            not os.path.exists(os.path.join(work, QUICK_MARK)):
        sys.exit(f"{work}: not empty and not made by --quick; give an empty or new --work")
    if wipe:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    open(os.path.join(work, QUICK_MARK), "w").close()


def sh(cmd, **kw):
    subprocess.run(cmd, shell=True, check=True, **kw)


def make_inputs(work):
    os.chdir(work)
    if not (os.path.exists("disk.raw") and os.path.getsize("disk.raw") == DISK):
        for f in os.listdir("."):
            if f != QUICK_MARK:
                os.remove(f)
        print("making the input disk", file=sys.stderr)
        sh("find /usr -type f -size +16k 2>/dev/null | LC_ALL=C sort | xargs cat 2>/dev/null"
           f" | head -c {REGIONS * FILE_MIB * MIB} > files.bin || true")
        rng = random.Random(20261201)
        with open("disk.raw", "wb") as d, open("files.bin", "rb") as files:
            d.truncate(DISK)
            for i in range(REGIONS):
                d.seek(MIB + i * (DISK - 2 * MIB) // REGIONS // MIB * MIB)
                d.write(files.read(FILE_MIB * MIB))
                d.write(rng.randbytes(RANDOM_MIB * MIB))
        os.remove("files.bin")
        # The GPT over the data: sfdisk writes only its own sectors (LBA 0-33 and the backup).
        sh("printf 'label: gpt\\nstart=2048, type=L\\n' | sfdisk -q --no-reread --no-tell-kernel"
           " disk.raw")
    made = {
        "stream.vmdk": "-O vmdk -o subformat=streamOptimized",
        "sparse.vmdk": "-O vmdk -o subformat=monolithicSparse",
        "dynamic.vhd": "-O vpc -o subformat=dynamic,force_size",
        "plain.qcow2": "-O qcow2",
        "zlib.qcow2": "-O qcow2 -c",
        "dynamic.vhdx": "-O vhdx -o subformat=dynamic",
    }
    for name, opts in made.items():
        if not os.path.exists(name):
            print(f"making {name}", file=sys.stderr)
            sh(f"qemu-img convert -f raw {opts} disk.raw {name}.part && mv {name}.part {name}")
    if not os.path.exists("data.bin"):
        with open("disk.raw", "rb") as d, open("data.bin.part", "wb") as out:
            for start, end in extents(d.fileno(), DISK):
                os.copy_file_range(d.fileno(), out.fileno(), end - start, start)
        os.rename("data.bin.part", "data.bin")


def extents(fd, size):
    """The allocated (data) ranges of a file, by SEEK_DATA / SEEK_HOLE."""
    at = 0
    while at < size:
        try:
            start = os.lseek(fd, at, os.SEEK_DATA)
        except OSError:
            return
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, end
        at = end


def sha256_prefix(path, length):
    """sha256 of the first `length` bytes of a file, holes hashed as zeros without reading."""
    h, zero = hashlib.sha256(), memoryview(bytes(8 * MIB))
    with open(path, "rb") as f:
        fd, at = f.fileno(), 0
        for start, end in list(extents(fd, length)) + [(length, length)]:
            start, end = min(start, length), min(end, length)
            while at < start:
                n = min(len(zero), start - at)
                h.update(zero[:n])
                at += n
            while at < end:
                n = min(8 * MIB, end - at)
                h.update(os.pread(fd, n, at))
                at += n
    return h.hexdigest()


def run_once(cmd, out, settle=0.0, split=False):
    """One timed run of a shell command after removing `out`, `sync` and `settle` idle seconds:
    (wall s, user+sys s, peak RSS KiB), or with `split` (wall s, user s, sys s)."""
    for f in out:
        if os.path.exists(f):
            os.remove(f)
    if SYNC_BEFORE_RUNS:
        sh("sync")
    time.sleep(settle)
    t0 = time.monotonic()
    p = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd}: exit {os.waitstatus_to_exitcode(status)}: {err.decode()}")
    if split:
        return wall, ru.ru_utime, ru.ru_stime
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def replace_section(path, name, report):
    """Puts `report` between "<!-- NAME:begin -->" and "<!-- NAME:end -->" in the file at
    `path` (appended with the markers when they are absent)."""
    with open(path) as f:
        text = f.read()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{report}\n{end}"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def measure(cmd, out, reps):
    runs = [run_once(cmd, out) for _ in range(reps)]
    walls = [r[0] for r in runs]
    return {"cmd": cmd, "wall": statistics.median(walls), "min": min(walls), "max": max(walls),
            "cpu": statistics.median(r[1] for r in runs), "rss": max(r[2] for r in runs) // 1024,
            "n": reps}


def floor_line(cmd):
    out = subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout
    return dict(kv.split("=") for kv in out.split())


def common_args():
    """The options compare_all.py and paired.py share: --vd, --floor, --work, --results."""
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--vd", default=os.path.join(here, "../build-release/tools/vdconvert"))
    ap.add_argument("--floor", default=os.path.join(here, "../build-release/bench/floor"))
    ap.add_argument("--work", default="/var/tmp/vdisk-compare-all")
    ap.add_argument("--results", default="")
    return ap


def main():
    ap = common_args()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--peer-reps", type=int, default=None)
    ap.add_argument("--only", default="")
    ap.add_argument("--quick", action="store_true",
                    help="a 1 GiB input, every command once, outputs verified, no figures")
    a = ap.parse_args()
    if a.quick:
        if a.results:
            sys.exit("--quick measures nothing: it never writes --results")
        if a.reps != 3 or a.peer_reps is not None:
            sys.exit("--quick runs every command once: no --reps, --peer-reps")
        a.reps = 1
        if a.work == ap.get_default("work"):
            a.work = "/var/tmp/vdisk-compare-all-quick"
        use_quick_layout()
    for tool in (a.vd, a.floor):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool}: not an executable (build it, or give --vd / --floor)")
    vd, floor = os.path.realpath(a.vd), os.path.realpath(a.floor)
    results = os.path.realpath(a.results) if a.results else ""
    peer_reps = a.peer_reps or a.reps
    if a.quick:
        quick_work(a.work)
    os.makedirs(a.work, exist_ok=True)
    make_inputs(a.work)
    cpus = os.cpu_count()
    want = sha256_prefix("disk.raw", DISK)
    data_bytes = os.path.getsize("data.bin")
    sh("cat disk.raw data.bin *.vmdk *.vhd *.qcow2 *.vhdx > /dev/null")  # page cache warm

    # Floors (median of reps).
    floors, notes = {}, []
    floors["write"] = measure("cat data.bin > w.bin", ["w.bin"], a.reps)["wall"]
    floors["write+sync"] = measure("cat data.bin > w.bin && sync w.bin", ["w.bin"], a.reps)["wall"]
    fl = [floor_line(f"{floor} inflate-vmdk stream.vmdk {cpus}") for _ in range(a.reps)]
    floors["inflate"] = statistics.median(float(f["seconds"]) for f in fl)
    fl = [floor_line(f"{floor} deflate data.bin {cpus} 1") for _ in range(a.reps)]
    floors["deflate"] = statistics.median(float(f["seconds"]) for f in fl)
    fl1 = [floor_line(f"{floor} deflate data.bin 1 1") for _ in range(a.reps)]
    floors["deflate-1core"] = statistics.median(float(f["seconds"]) for f in fl1)
    fl = [floor_line(f"{floor} deflate-grains data.bin {cpus} 4") for _ in range(a.reps)]
    floors["grains"] = statistics.median(float(f["seconds"]) for f in fl)
    os.remove("w.bin")

    V = shlex.quote(vd)
    # (row, source, vdconvert arguments, output, kind, peer command or "", floors that bound it)
    rows = [
        ("stream VMDK -> Azure", "stream.vmdk", "--to azure", "out.vhd", "vhd",
         "qemu-img convert -O vpc -o subformat=fixed,force_size stream.vmdk peer.vhd",
         ["inflate", "write"]),
        ("sparse VMDK -> Azure", "sparse.vmdk", "--to azure", "out.vhd", "vhd",
         "qemu-img convert -O vpc -o subformat=fixed,force_size sparse.vmdk peer.vhd", ["write"]),
        ("dynamic VHD -> Azure", "dynamic.vhd", "--to azure", "out.vhd", "vhd",
         "qemu-img convert -O vpc -o subformat=fixed,force_size dynamic.vhd peer.vhd", ["write"]),
        ("raw -> Azure", "disk.raw", "--to azure", "out.vhd", "vhd",
         "qemu-img convert -f raw -O vpc -o subformat=fixed,force_size disk.raw peer.vhd",
         ["write"]),
        ("stream VMDK -> raw", "stream.vmdk", "--to raw", "out.raw", "raw",
         "qemu-img convert -O raw stream.vmdk peer.raw", ["inflate", "write"]),
        ("sparse VMDK -> raw", "sparse.vmdk", "--to raw", "out.raw", "raw",
         "qemu-img convert -O raw sparse.vmdk peer.raw", ["write"]),
        ("qcow2 -> raw", "plain.qcow2", "--to raw", "out.raw", "raw",
         "qemu-img convert -O raw plain.qcow2 peer.raw", ["write"]),
        ("zlib qcow2 -> Azure", "zlib.qcow2", "--to azure", "out.vhd", "vhd",
         "qemu-img convert -O vpc -o subformat=fixed,force_size zlib.qcow2 peer.vhd", ["write"]),
        ("dynamic VHDX -> raw", "dynamic.vhdx", "--to raw", "out.raw", "raw",
         "qemu-img convert -O raw dynamic.vhdx peer.raw", ["write"]),
        ("sparse VMDK -> GCP", "sparse.vmdk", "--to gcp", "out.tar.gz", "gcp",
         "mkdir p && qemu-img convert -O raw sparse.vmdk p/disk.raw && "
         "tar --format=oldgnu -Sczf peer.tar.gz -C p disk.raw; rm -rf p", ["deflate"]),
        ("stream VMDK -> GCP", "stream.vmdk", "--to gcp", "out.tar.gz", "gcp",
         "mkdir p && qemu-img convert -O raw stream.vmdk p/disk.raw && "
         "tar --format=oldgnu -S -I pigz -cf peer.tar.gz -C p disk.raw; rm -rf p",
         ["deflate", "inflate"]),
        ("stream VMDK on stdin -> GCP", "- < stream.vmdk", "--to gcp", "out.tar.gz", "gcp",
         "mkdir p && qemu-img convert -O raw stream.vmdk p/disk.raw && "
         "tar --format=oldgnu -S -I pigz -cf peer.tar.gz -C p disk.raw; rm -rf p",
         ["deflate", "inflate"]),
        ("sparse VMDK -> GCP --level 2", "sparse.vmdk", "--to gcp --level 2", "out.tar.gz",
         "gcp", "", ["deflate"]),
        ("sparse VMDK -> GCP --level 1", "sparse.vmdk", "--to gcp --level 1", "out.tar.gz",
         "gcp", "", ["deflate"]),
        ("raw -> stream VMDK", "disk.raw", "--to vmdk", "out.vmdk", "vmdk",
         "qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw peer.vmdk",
         ["grains"]),
        ("raw -> stream VMDK --level 1", "disk.raw", "--to vmdk --level 1", "out.vmdk", "vmdk",
         "", ["deflate"]),
    ]
    only = set(a.only.split(",")) if a.only else None
    table, scaling, sizes = [], [], {}
    for name, src, args, out, kind, peer, bound in rows:
        if only and name not in only:
            continue
        print(f"row: {name}", file=sys.stderr)
        base = f"{V} convert {args} --quiet {src} {out}"
        d = measure(base.replace(" --quiet", " --quiet --no-sync"), [out], a.reps)
        s = measure(base, [out], a.reps)
        ok = verify(vd, kind, out, want)
        if not ok:
            print(f"WRONG OUTPUT: {name}: {out} does not hold the source disk", file=sys.stderr)
        j1 = None
        if name in ("stream VMDK -> Azure", "sparse VMDK -> GCP", "stream VMDK -> GCP",
                    "raw -> stream VMDK", "sparse VMDK -> raw"):
            j1 = measure(base.replace(" --quiet", " --quiet --threads 1"), [out], a.reps)
        p = measure(peer, ["peer.vhd", "peer.raw", "peer.tar.gz", "peer.vmdk"], peer_reps) \
            if peer else None
        size = os.path.getsize(out)
        os.remove(out)
        peer_size = None
        for f in ("peer.tar.gz", "peer.vmdk", "peer.vhd", "peer.raw"):
            if os.path.exists(f):
                if f.endswith((".tar.gz", ".vmdk")):
                    peer_size = os.path.getsize(f)
                    if f.endswith(".vmdk"):
                        sizes["qemu-vmdk"] = peer_size
                os.remove(f)
        fnosync = max(floors[b] for b in bound)
        fsync_ = max(floors["write+sync" if b == "write" else b] for b in bound)
        table.append((name, d, s, p, fnosync, fsync_, ok, size, peer_size, kind))
        if j1:
            scaling.append((name, j1, s))

    # Size references for the GCP rows: pigz -6 over GNU tar's sparse archive of the disk.
    if any(r[9] == "gcp" for r in table):
        sh("mkdir -p p && cp --sparse=always disk.raw p/disk.raw && tar --format=oldgnu -Scf - "
           "-C p disk.raw | pigz -6 > pigz6.tar.gz && rm -rf p")
        sizes["pigz6"] = os.path.getsize("pigz6.tar.gz")
        os.remove("pigz6.tar.gz")

    report = render(table, scaling, floors, sizes, cpus, data_bytes, a, peer_reps)
    print(report)
    if results:
        replace_section(results, "compare_all", report)
    if not all(r[6] for r in table):
        sys.exit("some outputs were wrong (see the table)")


def verify(vd, kind, out, want):
    """True when the output holds the source's disk (sha256), by a reader other than ours."""
    if kind == "vhd":
        ok = sha256_prefix(out, DISK) == want and os.path.getsize(out) == DISK + 512
        sh(f"{shlex.quote(vd)} check --for azure {out} > /dev/null")
        return ok
    if kind == "raw":
        return os.path.getsize(out) == DISK and sha256_prefix(out, DISK) == want
    if kind == "gcp":
        sh(f"{shlex.quote(vd)} check --for gcp {out} > /dev/null")
        # GNU tar extracts the sparse member with its holes, which are then hashed without
        # being read (piping `tar -xzO` through sha256 moved every zero through a pipe).
        shutil.rmtree("x", ignore_errors=True)
        os.mkdir("x")
        sh(f"tar -xzf {out} -C x disk.raw")
        ok = os.path.getsize("x/disk.raw") == DISK and sha256_prefix("x/disk.raw", DISK) == want
        shutil.rmtree("x")
        return ok
    if kind == "vmdk":
        return subprocess.run(["qemu-img", "compare", "-q", "-f", "raw", "-F", "vmdk", "disk.raw",
                               out]).returncode == 0
    raise ValueError(kind)


def render(table, scaling, floors, sizes, cpus, data_bytes, a, peer_reps):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def t(m):
        return f"{m['wall']:.2f} s ({m['min']:.2f}-{m['max']:.2f})"

    disk_size = f"{DISK // GIB} GiB" if DISK >= GIB else f"{DISK // MIB} MiB"
    out = [f"## All paths side by side (`bench/compare_all.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
           "",
           f"Machine: {cpus} cores, {model}; load average at the end "
           f"{open('/proc/loadavg').read().split()[0]}. Input: {disk_size} GPT disk, "
           f"{data_bytes / 1e9:.2f} GB allocated ({REGIONS} regions of {FILE_MIB} MiB of /usr "
           f"files + {RANDOM_MIB} MiB incompressible), as qemu-img made each format. vdconvert "
           f"median of {a.reps} runs, peers of {peer_reps}, page cache warm, `sync` before "
           "each run. `no-sync` is vdconvert with `--no-sync`; `default` is as users run it "
           "(fsync before the rename; qemu-img's raw output never syncs, its VHD ends with one "
           "fdatasync). Floor: the slowest unavoidable stage measured in this run (write: `cat` "
           "of the allocated data into a file, `+ sync` for the default column; inflate/deflate: "
           "ISA-L alone on all cores; grains: libdeflate alone on all cores). Every vdconvert output was verified by sha256 of its "
           "virtual disk against the source.",
           "",
           f"Floors: write {floors['write']:.2f} s, write + sync {floors['write+sync']:.2f} s, "
           f"ISA-L inflate of the stream grains {floors['inflate']:.2f} s, ISA-L level 1 deflate "
           f"{floors['deflate']:.2f} s on {cpus} cores ({floors['deflate-1core']:.2f} s on one), "
           f"libdeflate level 4 over the 64 KiB grains (the stream VMDK writer's default engine) "
           f"{floors['grains']:.2f} s on {cpus} cores.",
           "",
           "| path | peer wall | vdconvert no-sync | CPU | RSS | x peer | x floor | vdconvert default | x peer | x floor | verified |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    if a.quick:
        out[2:2] = ["**--quick: a check that every path still runs and converts correctly, not a "
                    "measurement** (small input, one run each, no `sync` before the runs, a "
                    "sanitized build in CI). Figures come only from full runs of a release "
                    "build on an idle machine.", ""]
    for name, d, s, p, fn, fs, ok, size, peer_size, kind in table:
        pw = t(p) if p else "-"
        xp_d = f"{p['wall'] / d['wall']:.2f}" if p else "-"
        xp_s = f"{p['wall'] / s['wall']:.2f}" if p else "-"
        out.append(f"| {name} | {pw} | {t(d)} | {d['cpu']:.2f} s | {d['rss']} MiB | {xp_d} | "
                   f"{d['wall'] / fn:.2f} | {t(s)} | {xp_s} | {s['wall'] / fs:.2f} | "
                   f"{'yes' if ok else '**NO**'} |")
    out.append("")
    out.append("`x peer` is peer wall / vdconvert wall (above 1: vdconvert faster); `x floor` is "
               "vdconvert wall / floor (1.00: at the floor). Peak RSS of the default runs: "
               + ", ".join(f"{r[0]} {r[2]['rss']} MiB" for r in table) + ".")
    gcp = [r for r in table if r[9] == "gcp"]
    if gcp and sizes:
        out.append("")
        out.append(f"GCP archive sizes against `tar --format=oldgnu -S | pigz -6` of the same disk "
                   f"({sizes['pigz6']:,} bytes): " + "; ".join(
                       f"{r[0]} {r[7]:,} ({r[7] / sizes['pigz6']:.3f}x)" for r in gcp) + ".")
    vmdk = [r for r in table if r[9] == "vmdk"]
    if vmdk and "qemu-vmdk" in sizes:
        out.append("")
        out.append(f"Stream VMDK sizes against qemu-img's ({sizes['qemu-vmdk']:,} bytes, zlib "
                   "level 6 per grain): " + "; ".join(
                       f"{r[0]} {r[7]:,} ({r[7] / sizes['qemu-vmdk']:.3f}x)" for r in vmdk) + ".")
    if scaling:
        out.append("")
        out.append("Scaling, default runs (fsync), `--threads 1` against the default (one per core):")
        out.append("")
        out.append("| path | --threads 1 | default threads | speed-up | CPU at 1 / at all |")
        out.append("|---|---|---|---|---|")
        for name, j1, s in scaling:
            out.append(f"| {name} | {t(j1)} | {t(s)} | {j1['wall'] / s['wall']:.2f} | "
                       f"{j1['cpu']:.2f} / {s['cpu']:.2f} s |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
