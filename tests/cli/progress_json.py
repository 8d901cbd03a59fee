"""cli.progress_json: `vdconvert convert --progress=json` and `--progress=json:3` on real
conversions, every line parsed with Python's json: each line one object with schema_version,
phases in order (open, copy, finish, then the final line, phase done, last), done bytes never
decreasing within a phase, the final line's result and report; a failing conversion's final
line carries its error and exit code; a bad descriptor is refused in one line with exit 1.

Usage: progress_json.py VDCONVERT WORKDIR
"""
import json
import os
import shutil
import subprocess
import sys

MIB = 1 << 20
PHASES = ["open", "scan", "copy", "finish", "done"]
FIELDS = {"schema_version", "phase", "elapsed", "total_bytes", "done_bytes", "data_bytes",
          "zero_bytes", "read_bytes", "data_total_bytes", "written_bytes", "sent_bytes",
          "retries", "rate", "eta"}


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}")


def parse_lines(text, label):
    """Every line is a JSON object with the documented fields; returns them in order."""
    objs = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            fail(f"{label}: line {n} is not JSON ({e}): {line!r}")
        if not isinstance(o, dict):
            fail(f"{label}: line {n} is not an object: {line!r}")
        missing = FIELDS - o.keys()
        if missing or o["schema_version"] != 1:
            fail(f"{label}: line {n} lacks {sorted(missing)} or schema_version 1: {line}")
        objs.append(o)
    if not objs:
        fail(f"{label}: no lines")
    return objs


def check_sequence(objs, label, want_phases):
    """Phases in order, the final line last, counters monotonic within a phase."""
    order = [PHASES.index(o["phase"]) for o in objs]
    if order != sorted(order):
        fail(f"{label}: phases out of order: {[o['phase'] for o in objs]}")
    seen = []
    for o in objs:
        if not seen or seen[-1] != o["phase"]:
            seen.append(o["phase"])
    if seen != want_phases:
        fail(f"{label}: phases {seen}, expected {want_phases}")
    finals = [i for i, o in enumerate(objs) if o.get("final")]
    if finals != [len(objs) - 1]:
        fail(f"{label}: the final line is not exactly the last one: {finals} of {len(objs)}")
    prev = {}
    for o in objs:
        if o["elapsed"] < prev.get("elapsed", 0):
            fail(f"{label}: elapsed went back: {o}")
        if o["phase"] == prev.get("phase") or (prev.get("phase") in ("copy", "finish")):
            for k in ("done_bytes", "read_bytes", "data_bytes", "written_bytes"):
                if o[k] < prev.get(k, 0):
                    fail(f"{label}: {k} went back from {prev[k]} to {o[k]}")
        prev = o
    return objs[-1]


def main():
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} VDCONVERT WORKDIR")
    vd, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)

    # 48 MiB: 6 MiB of data in two places, the rest a hole.
    size = 48 * MIB
    data = os.urandom(4 * MIB) + os.urandom(2 * MIB)
    with open("src.raw", "wb") as f:
        f.truncate(size)
        f.seek(MIB)
        f.write(data[:4 * MIB])
        f.seek(40 * MIB)
        f.write(data[4 * MIB:])

    # --progress=json: the lines on stderr, and nothing else there (no summary line).
    r = subprocess.run([vd, "convert", "--to", "vhd", "--progress=json", "src.raw", "a.vhd"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"--progress=json: exit {r.returncode}: {r.stderr}")
    objs = parse_lines(r.stderr, "--progress=json")
    last = check_sequence(objs, "--progress=json", ["open", "copy", "finish", "done"])
    if last["result"] != "ok" or last["exit_code"] != 0:
        fail(f"--progress=json: final line {last}")
    rep = last["report"]
    if rep["output"]["path"] != "a.vhd" or rep["output"]["bytes"] != os.path.getsize("a.vhd"):
        fail(f"--progress=json: report {rep}")
    if last["done_bytes"] != size or last["total_bytes"] != size:
        fail(f"--progress=json: final counters {last}")
    if last["data_total_bytes"] != 6 * MIB or last["read_bytes"] != 6 * MIB:
        fail(f"--progress=json: data total / read {last}")
    if last["written_bytes"] != os.path.getsize("a.vhd") or last["sent_bytes"] != 0:
        fail(f"--progress=json: written {last}")
    if last["data_bytes"] + last["zero_bytes"] != size:
        fail(f"--progress=json: data + zero != total: {last}")
    ok(f"--progress=json: {len(objs)} lines, phases in order, final {last['result']}")

    # --progress=json:3 with 3> file: the lines there; stderr keeps the summary line.
    # As a shell does it: `vdconvert ... 3>lines.jsonl`.
    r = subprocess.run(["sh", "-c", 'exec "$0" "$@" 3>lines.jsonl', vd, "convert", "--to", "gcp",
                        "--detect-zeroes", "--progress=json:3", "--json", "src.raw", "b.tar.gz"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"--progress=json:3: exit {r.returncode}: {r.stderr}")
    if "vdconvert: src.raw (raw" not in r.stderr:
        fail(f"--progress=json:3: the summary line is missing from stderr: {r.stderr!r}")
    with open("lines.jsonl") as f:
        objs = parse_lines(f.read(), "--progress=json:3")
    last = check_sequence(objs, "--progress=json:3", ["open", "scan", "copy", "finish", "done"])
    if last["result"] != "ok" or last["exit_code"] != 0:
        fail(f"--progress=json:3: final {last}")
    stdout_report = json.loads(r.stdout)
    del stdout_report["schema_version"]
    for k in ("source", "output", "zero_scan"):
        if last["report"][k] != stdout_report[k]:
            fail(f"--progress=json:3: report.{k} {last['report'][k]} != --json's {stdout_report[k]}")
    ok(f"--progress=json:3 (gcp, zero scan): {len(objs)} lines, the report matches --json")

    # A failing conversion: the error's line and exit code in the final line.
    with open("bad.vhd", "wb") as f:
        f.write(b"conectix" + bytes(504))
        f.truncate(3 * MIB)
    r = subprocess.run([vd, "convert", "--to", "raw", "--from", "vhd", "--progress=json",
                        "bad.vhd", "bad.raw"], capture_output=True, text=True)
    lines = r.stderr.splitlines()
    errors = [ln for ln in lines if ln.startswith("vdconvert: error: ")]
    objs = parse_lines("\n".join(ln for ln in lines if ln.startswith("{")), "failure")
    last = objs[-1]
    if r.returncode == 0 or len(errors) != 1 or not last.get("final"):
        fail(f"failure: exit {r.returncode}: {r.stderr}")
    if last["result"] != "error" or last["exit_code"] != r.returncode or \
            last["message"] != errors[0][len("vdconvert: error: "):]:
        fail(f"failure: final line {last} for {errors}")
    if not lines[-1].startswith("{"):
        fail(f"failure: the final line is not the last of stderr: {lines[-1]!r}")
    ok(f"a failure's final line: exit {last['exit_code']}, {last['message']!r}")

    # A descriptor that is not open, one open only for reading: one line, exit 1.
    for spec in ("json:9", "json:0"):
        with open("src.raw", "rb") as read_only:  # descriptor 0 open only for reading
            r = subprocess.run([vd, "convert", "--to", "raw", f"--progress={spec}", "src.raw",
                                "c.raw"], capture_output=True, text=True, stdin=read_only)
        if r.returncode != 1 or len(r.stderr.splitlines()) != 1 or \
                f"--progress={spec}" not in r.stderr or os.path.exists("c.raw"):
            fail(f"--progress={spec}: exit {r.returncode}: {r.stderr!r}")
        ok(f"--progress={spec} refused: {r.stderr.strip()}")
    r = subprocess.run([vd, "convert", "--to", "raw", "--progress=json:1", "src.raw", "-"],
                       capture_output=True)
    if r.returncode != 1 or b"stdout carries the image" not in r.stderr or r.stdout:
        fail(f"--progress=json:1 with DST '-': exit {r.returncode}: {r.stderr!r}")
    ok("--progress=json:1 with DST '-' refused")
    print("PASS: cli.progress_json")


main()
