#!/usr/bin/env python3
"""Runs one Google Benchmark program briefly and fails unless every benchmark in it ran.

Usage: bench/check_bench.py SOURCE PROGRAM [--exclude REGEX] [--min-time SECONDS]

This is the `bench.<program>` ctest (label `bench`): it keeps the benchmark programs working;
its timings are discarded (figures come from release builds on an idle machine, see
bench/RESULTS.md). It passes only when
  - the program lists at least one benchmark (--benchmark_list_tests) and exits 0 when run with
    --benchmark_min_time=SECONDS (default 0.001: one iteration of the slow ones) and JSON output;
  - every benchmark it lists appears in the JSON with iterations > 0 and no error (a benchmark
    that calls SkipWithError, or one that never enters its loop, fails);
  - every family registered in SOURCE, the program's C++ file (each BENCHMARK(name) and
    BENCHMARK_CAPTURE(name, tag, ...), read from the source so the list cannot go stale) has
    at least one such run.
--exclude REGEX leaves out the benchmarks whose name matches it, with Google Benchmark's
negative filter (e.g. `isal` in a build without ISA-L, where those benchmarks report "engine
not compiled in").
"""
import argparse
import json
import re
import subprocess
import sys


def families(source):
    """The benchmark families SOURCE registers: "BM_x" or "BM_x/tag" for a capture."""
    text = open(source).read()
    found = [m.group(1) for m in re.finditer(r"^\s*BENCHMARK\(\s*(\w+)\s*\)", text, re.M)]
    found += [f"{m.group(1)}/{m.group(2)}" for m in
              re.finditer(r"^\s*BENCHMARK_CAPTURE\(\s*(\w+)\s*,\s*(\w+)\s*,", text, re.M)]
    return found


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("program")
    ap.add_argument("--exclude", default="")
    ap.add_argument("--min-time", default="0.001")
    a = ap.parse_args()
    want = [f for f in families(a.source) if not (a.exclude and re.search(a.exclude, f))]
    if not want:
        fail(f"{a.source} registers no benchmark (no BENCHMARK or BENCHMARK_CAPTURE line)")
    filt = [f"--benchmark_filter=-{a.exclude}"] if a.exclude else []

    listed = subprocess.run([a.program, "--benchmark_list_tests=true"] + filt,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        fail(f"{a.program} --benchmark_list_tests: exit {listed.returncode}\n{listed.stderr}")
    names = listed.stdout.split()
    if not names:
        fail(f"{a.program} lists no benchmark")

    r = subprocess.run([a.program, f"--benchmark_min_time={a.min_time}",
                        "--benchmark_format=json"] + filt, capture_output=True, text=True)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        fail(f"{a.program}: exit {r.returncode}")
    try:
        runs = json.loads(r.stdout)["benchmarks"]
    except (ValueError, KeyError) as e:
        fail(f"{a.program}: no JSON report ({e}): {r.stdout[:500]}")

    ran = {}
    for run in runs:
        name = run.get("name", "?")
        if run.get("error_occurred"):
            fail(f"{name}: error: {run.get('error_message', '')}")
        if run.get("run_type") != "iteration":
            continue
        if int(run.get("iterations", 0)) <= 0:
            fail(f"{name}: {run.get('iterations')} iterations")
        ran[name] = run
        print(f"ok: {name}: {run['iterations']} iterations, {run['real_time']:.4g} "
              f"{run['time_unit']}")
    missing = [n for n in names if n not in ran]
    if missing:
        fail(f"listed but not run: {', '.join(missing)}")
    extra = [n for n in ran if n not in names]
    if extra:
        fail(f"run but not listed: {', '.join(extra)}")
    for fam in want:
        if not any(n == fam or n.startswith(fam + "/") for n in ran):
            fail(f"family {fam} (registered in {a.source}) did not run")
    print(f"ok: {len(ran)} benchmarks of {len(want)} families ran")


if __name__ == "__main__":
    main()
