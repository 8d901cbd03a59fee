"""cloud.s3_upload: vdconvert convert --to TARGET SRC s3://BUCKET/KEY into moto's S3, checked
by downloading the object: raw (sha256 against qemu-img's raw view), a streamOptimized VMDK and
a GCP tarball (read back by qemu-img and GNU tar); multipart (several parts, the ETag's part
count); credentials from the environment and from a profile; an existing object; faults
through a proxy; a failed upload aborted (no multipart upload left); the server killed
mid-upload; every input format qemu-img writes; --verify (ranged GETs of the object: a part
corrupted on its way fails with exit 3 at its first differing offset, and passes unnoticed
without --verify); no secret in any output.

Usage: s3_upload.py VDCONVERT WORKDIR
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ("qemu-img", "tar", "xorriso"))
MIB = cl.MIB
SECRET = "vdisk-test-secret-Zq9w"  # must never be printed
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
ENV = dict(BASE_ENV, SOURCE_DATE_EPOCH="1700000000", AWS_ACCESS_KEY_ID="AKIAVDISKTEST",
           AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1", HOME=WORK)
fail, ok, sha = cl.fail, cl.ok, cl.sha_file
run = cl.Runner(VD, ENV, [SECRET])


def make_source():
    path = os.path.join(WORK, "src.raw")
    with open(path, "wb") as f:
        f.truncate(24 * MIB)
        f.seek(MIB)
        f.write(os.urandom(9 * MIB))
        f.seek(20 * MIB)
        f.write((b"s3 multipart test " * 100000)[:2 * MIB])
    return path


def main():
    moto = cl.Moto(WORK)
    try:
        tests(moto)
    finally:
        moto.stop()
    print("PASS: cloud.s3_upload")


def download(moto, key, path):
    st, h, body = moto.s3("GET", f"/disks/{key}")
    if st != 200:
        fail(f"GET {key}: {st} {body[:200]}")
    with open(path, "wb") as f:
        f.write(body)
    return h


def tests(moto):
    ep = moto.endpoint
    st, _, body = moto.s3("PUT", "/disks")
    if st != 200:
        fail(f"create bucket: {st} {body[:200]}")
    src = make_source()
    qcow = os.path.join(WORK, "src.qcow2")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", src, qcow], check=True)

    # raw: 24 MiB in 5 MiB parts = 5 parts, zeros included (an object has no holes).
    _, _, out = run(["convert", "--to", "raw", "--json", "--endpoint-url", ep, qcow,
                     "s3://disks/images/disk.raw"])
    up = json.loads(out)["upload"]
    h = download(moto, "images/disk.raw", "got.raw")
    if sha("got.raw") != sha(src):
        fail("raw into S3: the object differs from qemu-img's raw view")
    etag = h.get("etag", "").strip('"')
    if not re.fullmatch(r"[0-9a-f]{32}-5", etag) or up["requests"] != 5 or up["bytes_sent"] != 24 * MIB:
        fail(f"raw into S3: ETag {etag}, upload report {up}")
    ok(f"qcow2 -> raw into S3: sha256 matches, 5 parts (ETag {etag})")

    # Every other input format qemu-img writes, into a raw object (sha256 against the source).
    for label, fmt, opts in (("raw", "raw", []), ("monolithicSparse VMDK", "vmdk", []),
                             ("VHDX", "vhdx", []), ("VDI", "vdi", []),
                             ("dynamic VHD", "vpc", ["-o", "force_size=on"]),
                             ("qcow2 v2", "qcow2", ["-o", "compat=0.10"])):
        p = os.path.join(WORK, f"input-{label.replace(' ', '_')}")
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, *opts, src, p], check=True)
        key = f"formats/{fmt}-{len(opts)}.raw"
        run(["convert", "--to", "raw", "-q", "--endpoint-url", ep, p, f"s3://disks/{key}"])
        download(moto, key, "got-format.raw")
        if sha("got-format.raw") != sha(src):
            fail(f"{label} -> raw into S3: the object differs from the source")
    # Inputs qemu-img does not read: an OVA (a stream VMDK inside) and an ISO (its own bytes).
    stream = os.path.join(WORK, "input-stream.vmdk")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
                    "subformat=streamOptimized", src, stream], check=True)
    ova = cl.make_ova(stream, os.path.join(WORK, "input.ova"))
    iso = cl.make_iso(os.path.join(WORK, "input.iso"))
    for label, path, expected in (("OVA", ova, src), ("ISO", iso, iso)):
        run(["convert", "--to", "raw", "-q", "--endpoint-url", ep, path, f"s3://disks/{label}.raw"])
        download(moto, f"{label}.raw", "got-format.raw")
        if sha("got-format.raw") != sha(expected):
            fail(f"{label} -> raw into S3: the object differs from the source")
    ok("raw, monolithicSparse VMDK, VHDX, VDI, dynamic VHD, qcow2 v2, OVA, ISO -> raw into S3: "
       "sha256 matches")

    # A streamOptimized VMDK (what aws ec2 import-image takes), a fixed VHD (import-snapshot)
    # and an Azure VHD: qemu-img reads each object as the source (padded to the target's size),
    # and each holds the same bytes as the same conversion into a file (named as the key: a
    # VMDK's extent line names its file).
    os.makedirs(os.path.join(WORK, "local"))
    for target, key, qemu_fmt in (("vmdk", "disk.vmdk", "vmdk"), ("vhd", "disk-vhd.vhd", "vpc"),
                                  ("azure", "disk-azure.vhd", "vpc")):
        run(["convert", "--to", target, "-q", "--endpoint-url", ep, qcow, f"s3://disks/{key}"])
        got = "got." + key
        download(moto, key, got)
        r = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", qemu_fmt, src, got],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"--to {target} into S3: qemu-img compare: {r.stdout}{r.stderr}")
        local = os.path.join(WORK, "local", key)
        run(["convert", "--to", target, "-q", qcow, local])
        if sha(local) != sha(got):
            fail(f"--to {target} into S3: the object differs from the same conversion into a file")
    ok("qcow2 -> streamOptimized VMDK, fixed VHD and Azure VHD into S3: qemu-img compare "
       "identical, same bytes as a file")

    # A GCP tarball from a stream (size unknown up front), read back by GNU tar and Python.
    with open(os.path.join(WORK, "src.stream.vmdk"), "wb") as f:
        pass
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
                    "subformat=streamOptimized", src, "src.stream.vmdk"], check=True)
    with open("src.stream.vmdk", "rb") as f:
        run(["convert", "--to", "gcp", "-q", "--endpoint-url", ep, "-", "s3://disks/disk.tar.gz"],
            stdin=f)
    download(moto, "disk.tar.gz", "got.tar.gz")
    subprocess.run(["tar", "-xzSf", "got.tar.gz"], check=True)
    with open(src, "rb") as a, open("disk.raw", "rb") as b:
        want = a.read()
        got = b.read()
    if got[:len(want)] != want or any(got[len(want):]):
        fail("gcp into S3: disk.raw differs from the source")
    with tarfile.open("got.tar.gz") as t:
        if t.getnames() != ["disk.raw"]:
            fail(f"gcp into S3: members {t.getnames()}")
    ok("stream VMDK on stdin -> gcp into S3: GNU tar extracts the source, Python sees disk.raw")

    # An existing object needs --force.
    rc, out, _ = run(["convert", "--to", "raw", "--endpoint-url", ep, qcow,
                      "s3://disks/images/disk.raw"], expect=None)
    if rc == 0 or "exists" not in out:
        fail(f"existing object: exit {rc}: {out}")
    run(["convert", "--to", "raw", "-q", "--force", "--endpoint-url", ep, qcow,
         "s3://disks/images/disk.raw"])
    ok(f"an existing object needs --force (exit {rc})")

    # Credentials from a profile in the shared credentials file.
    with open(os.path.join(WORK, "creds"), "w") as f:
        f.write(f"[default]\naws_access_key_id = WRONG\n[p1]\naws_access_key_id = AKIAP1\n"
                f"aws_secret_access_key = {SECRET}\n")
    penv = dict(BASE_ENV, AWS_SHARED_CREDENTIALS_FILE=os.path.join(WORK, "creds"), HOME=WORK)
    run(["convert", "--to", "raw", "-q", "--profile", "p1", "--region", "eu-west-1",
         "--endpoint-url", ep, qcow, "s3://disks/profile.raw"], env=penv)
    ok("credentials from --profile, region from --region")
    rc, out, _ = run(["convert", "--to", "raw", "--endpoint-url", ep, qcow, "s3://disks/x.raw"],
                     expect=None, env=dict(BASE_ENV, HOME=WORK, AWS_REGION="us-east-1"))
    if rc == 0 or "credentials" not in out:
        fail(f"no credentials: exit {rc}: {out}")
    ok("no credentials: refused before anything is sent")

    # Faults: 503s and resets are retried; the object is exact.
    proxy = cl.FaultProxy(moto.port, {3: "503", 4: "reset", 6: "503", 8: "stall"},
                          stall_seconds=5)
    try:
        _, _, out = run(["convert", "--to", "raw", "--json", "--http-timeout", "2",
                         "--endpoint-url", f"http://127.0.0.1:{proxy.port}", qcow,
                         "s3://disks/faults.raw"])
        up = json.loads(out)["upload"]
        download(moto, "faults.raw", "faults.raw")
        if sha("faults.raw") != sha(src) or up["retries"] < 2:
            fail(f"faults: content or retries wrong: {up}, faults {proxy.triggered}")
        ok(f"faults {proxy.triggered}: {up['retries']} retries, object exact")
    finally:
        proxy.stop()

    # A part that always fails: one error line, the multipart upload aborted.
    proxy = cl.FaultProxy(moto.port, rule=lambda m, t: "503" if "partNumber=3" in t else None)
    try:
        rc, out, _ = run(["convert", "--to", "raw", "--retries", "1", "--endpoint-url",
                          f"http://127.0.0.1:{proxy.port}", qcow, "s3://disks/gone.raw"],
                         expect=None)
        errors = [ln for ln in out.splitlines() if "error:" in ln]
        if rc == 0 or len(errors) != 1 or "UploadPart 3" not in errors[0]:
            fail(f"failing part: exit {rc}: {out}")
        st, _, body = moto.s3("GET", "/disks?uploads")
        if b"<UploadId>" in body or moto.s3("HEAD", "/disks/gone.raw")[0] != 404:
            fail(f"failing part: an upload or object was left: {body[:300]}")
        if "aborted" not in out:
            fail(f"failing part: no note on the aborted upload: {out}")
        ok(f"a failing part: exit {rc}, one error line, the multipart upload aborted")
    finally:
        proxy.stop()

    verify(moto, qcow, src)

    # The server killed mid-upload (last: moto's state goes with it): one clear line, soon.
    proxy = cl.FaultProxy(moto.port, {3: "kill"}, on_kill=moto.stop)
    try:
        t0 = time.time()
        rc, out, _ = run(["convert", "--to", "raw", "--retries", "2", "--endpoint-url",
                          f"http://127.0.0.1:{proxy.port}", qcow, "s3://disks/killed.raw"],
                         expect=None)
        took = time.time() - t0
        errors = [ln for ln in out.splitlines() if "error:" in ln]
        if rc == 0 or len(errors) != 1 or took > 120:
            fail(f"server killed: exit {rc} after {took:.1f} s: {out}")
        ok(f"the server killed mid-upload: exit {rc} after {took:.1f} s, {errors[0]}")
    finally:
        proxy.stop()


def verify(moto, qcow, src):
    """--verify reads the object back by ranged GETs and compares."""
    ep = moto.endpoint
    _, _, out = run(["convert", "--to", "raw", "--verify", "--json", "--endpoint-url", ep, qcow,
                     "s3://disks/verify.raw"])
    up = json.loads(out)["upload"]
    if not up.get("verified") or up.get("verify_bytes_read") != 24 * MIB:
        fail(f"--verify: report {up}")
    _, out, _ = run(["convert", "--to", "raw", "--verify", "--force", "-p", "--endpoint-url", ep,
                     qcow, "s3://disks/verify.raw"])
    if "verified (24.0 MiB read back)" not in out:
        fail(f"--verify: the summary line does not say it: {out}")
    ok("--verify reads the 24 MiB object back and passes")

    # Part 2 corrupted on its way (a byte flipped, its signed SHA-256 recomputed): S3 stores it;
    # only --verify sees it, at the window holding that byte.
    for flag in (["--verify"], []):
        proxy = cl.FaultProxy(moto.port, rule=lambda m, t: "corrupt" if "partNumber=2&" in t
                              else None)
        key = "corrupt-verify.raw" if flag else "corrupt.raw"
        try:
            rc, out, _ = run(["convert", "--to", "raw", *flag, "--endpoint-url",
                              f"http://127.0.0.1:{proxy.port}", qcow, f"s3://disks/{key}"],
                             expect=None)
            if len(proxy.corrupted) != 1:
                fail(f"corrupt proxy: {len(proxy.corrupted)} requests corrupted: {out}")
            at = 5 * MIB + proxy.corrupted[0][2]
        finally:
            proxy.stop()
        window = at // (4 * MIB) * (4 * MIB)
        if flag:
            want = f"read back: the bytes differ from those sent at offset {window} "
            if rc != 3 or want not in out:
                fail(f"--verify of a corrupted object: exit {rc}, expected 3 and '{want}': {out}")
            if moto.s3("HEAD", f"/disks/{key}")[0] != 200:
                fail("--verify failed: the object was removed; it is left as it is")
            ok(f"--verify: a byte flipped at {at} fails with exit 3: {out.strip()}")
        else:
            if rc != 0:
                fail(f"a corrupted upload without --verify: exit {rc}: {out}")
            download(moto, key, "corrupt.raw")
            with open("corrupt.raw", "rb") as f, open(src, "rb") as g:
                f.seek(at)
                g.seek(at)
                if f.read(1) == g.read(1):
                    fail(f"corrupt proxy: byte {at} of the object is the source's")
            ok("without --verify the same corruption passes unnoticed (exit 0)")


main()
