"""cloud.progress_upload: `vdconvert convert --to azure --progress=json:3` into Azurite through
the fault proxy. Every line is JSON; the upload fills sent_bytes and retries: the final line's
equal the --json report's upload.bytes_sent and upload.retries, a 503 injected by the proxy
shows as a retry, sent bytes never decrease; no SAS signature appears in any line. A failed
upload's final line carries the error (redacted) and the exit code.

Usage: progress_upload.py VDCONVERT WORKDIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ())
MIB = cl.MIB
fail, ok = cl.fail, cl.ok
PHASES = ["open", "scan", "copy", "finish", "done"]


def make_source():
    """12 MiB + 512: 5 MiB of random data in two runs, the rest a hole."""
    path = os.path.join(WORK, "src.raw")
    with open(path, "wb") as f:
        f.truncate(12 * MIB + 512)
        f.seek(MIB)
        f.write(os.urandom(3 * MIB))
        f.seek(8 * MIB)
        f.write(os.urandom(2 * MIB))
    return path


def run_with_fd3(args, secret):
    """vdconvert ARGS 3>lines.jsonl, as a shell runs it; its exit code, stdout, stderr, lines."""
    if os.path.exists("lines.jsonl"):
        os.remove("lines.jsonl")
    r = subprocess.run(["sh", "-c", 'exec "$0" "$@" 3>lines.jsonl', VD] + args,
                       capture_output=True, text=True)
    with open("lines.jsonl") as f:
        text = f.read()
    for where, what in (("progress lines", text), ("stderr", r.stderr), ("stdout", r.stdout)):
        if secret in what:
            fail(f"the SAS signature appears in the {where}")
    lines = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            fail(f"line {n} is not JSON ({e}): {line!r}")
        if not isinstance(o, dict) or o.get("schema_version") != 1:
            fail(f"line {n}: not an object with schema_version 1: {line!r}")
        lines.append(o)
    if not lines or not lines[-1].get("final") or any(o.get("final") for o in lines[:-1]):
        fail(f"the final line is not exactly the last: {text[-600:]}")
    order = [PHASES.index(o["phase"]) for o in lines]
    if order != sorted(order):
        fail(f"phases out of order: {[o['phase'] for o in lines]}")
    for a, b in zip(lines, lines[1:]):
        if b["sent_bytes"] < a["sent_bytes"] or b["retries"] < a["retries"]:
            fail(f"sent_bytes or retries went back: {a} then {b}")
    return r.returncode, r.stdout, r.stderr, lines


def main():
    cl.run_with_azurite(WORK, tests, "cloud.progress_upload")


def tests(az):
    ep = az.endpoint
    cl.create_container(ep, "disks")
    src = make_source()

    # Two 503s on early requests: each costs a retry, the upload completes.
    proxy = cl.FaultProxy(az.port, {2: "503", 3: "503"})
    try:
        url = cl.blob_url(ep, "disks", "p.vhd").replace(str(az.port), str(proxy.port), 1)
        secret = url.split("sig=")[1].split("&")[0]
        rc, out, err, lines = run_with_fd3(
            ["convert", "--to", "azure", "--json", "--connections", "2", "--progress=json:3",
             src, url], secret)
        if rc != 0:
            fail(f"upload with --progress=json:3: exit {rc}: {err}")
        up = json.loads(out)["upload"]
        last = lines[-1]
        if last["result"] != "ok" or last["exit_code"] != 0:
            fail(f"final line {last}")
        if last["sent_bytes"] != up["bytes_sent"] or last["retries"] != up["retries"]:
            fail(f"final line sent {last['sent_bytes']} / retries {last['retries']}, the report "
                 f"{up['bytes_sent']} / {up['retries']}")
        if up["retries"] < 2 or last["sent_bytes"] < 5 * MIB:
            fail(f"the two 503s or the data are not counted: {up}, {last}")
        if last["report"]["upload"] != up or "REDACTED" not in last["report"]["output"]["path"]:
            fail(f"final line report {last['report']}")
        seen = []
        for o in lines:
            if not seen or seen[-1] != o["phase"]:
                seen.append(o["phase"])
        if seen != ["open", "copy", "finish", "done"]:
            fail(f"phases {seen}")
        ok(f"upload: {len(lines)} lines, sent {last['sent_bytes']} bytes, "
           f"{last['retries']} retries (proxy: {proxy.triggered})")
    finally:
        proxy.stop()

    # Every page write refused: the upload fails; its final line says so, redacted.
    proxy = cl.FaultProxy(az.port, rule=lambda m, t: "503" if "comp=page" in t else None)
    try:
        url = cl.blob_url(ep, "disks", "q.vhd").replace(str(az.port), str(proxy.port), 1)
        secret = url.split("sig=")[1].split("&")[0]
        rc, _, err, lines = run_with_fd3(
            ["convert", "--to", "azure", "--retries", "1", "--progress=json:3", src, url], secret)
        errors = [ln for ln in err.splitlines() if ln.startswith("vdconvert: error: ")]
        last = lines[-1]
        if rc == 0 or len(errors) != 1 or last["result"] != "error" or last["exit_code"] != rc:
            fail(f"failed upload: exit {rc}, final line {last}, stderr {err}")
        if last["message"] != errors[0][len("vdconvert: error: "):] or "503" not in last["message"]:
            fail(f"failed upload: message {last['message']!r} for {errors}")
        if last["retries"] < 1:
            fail(f"failed upload: its retry is not counted: {last}")
        ok(f"failed upload: exit {rc}, {last['retries']} retries, {last['message']!r}")
    finally:
        proxy.stop()


main()
