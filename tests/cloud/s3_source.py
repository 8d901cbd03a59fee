#!/usr/bin/env python3
"""cloud.s3_source: disks read from S3 objects in moto (docs/cloud.md, "Reading from HTTPS and
S3").

Each image qemu-img makes (raw, qcow2, VHDX, VMDK monolithicSparse and streamOptimized, dynamic
and fixed VHD, VDI), an OVA and an ISO is put into moto's S3 and converted to raw with
`vdconvert convert --to raw --endpoint-url ... s3://BUCKET/KEY`, compared by sha256 with
qemu-img's raw view of the local file (the ISO: its own bytes); a streamOptimized VMDK in S3
becomes a GCP tarball whose disk.raw (GNU tar) is qemu-img's view padded to a whole GiB. Through
a proxy: 503s and a reset are retried to the same bytes; an ETag that changes after HeadObject
fails with one line naming s3://BUCKET/KEY, exit 3 and no output; a missing key is one line.
No secret in any output.

Usage: s3_source.py VDCONVERT WORKDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ("qemu-img", "tar", "xorriso"))
MIB, GIB = cl.MIB, 1 << 30
SECRET = "vdisk-s3-source-secret-Hw4t"  # must never be printed
ENV = dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
           AWS_ACCESS_KEY_ID="AKIAVDISKTEST", AWS_SECRET_ACCESS_KEY=SECRET, HOME=WORK)
fail, ok = cl.fail, cl.ok
run = cl.Runner(VD, ENV, [SECRET])


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def make_source():
    path = os.path.join(WORK, "src.raw")
    with open(path, "wb") as f:
        f.truncate(20 * MIB + 5 * 512)
        f.seek(8192)
        f.write(os.urandom(3 * MIB))
        f.seek(11 * MIB + 512)
        f.write(b"vdisk from s3 " * 90000)
        f.seek(20 * MIB + 4 * 512)
        f.write(os.urandom(512))
    return path


def put(moto, key, path):
    with open(path, "rb") as f:
        st, _, body = moto.s3("PUT", f"/disks/{key}", f.read(),
                              {"Content-Type": "application/octet-stream"})
    if st != 200:
        fail(f"put {key}: {st} {body[:200]}")


def s3_args(endpoint):
    return ["--endpoint-url", endpoint, "--region", "us-east-1"]


def main():
    moto = cl.Moto(WORK)
    try:
        tests(moto)
    finally:
        moto.stop()
    print("PASS: cloud.s3_source")


def tests(moto):
    st, _, body = moto.s3("PUT", "/disks")
    if st != 200:
        fail(f"create bucket: {st} {body[:200]}")
    src = make_source()
    inputs = [("raw", src, src)]
    for name, fmt, opts in cl.QEMU_INPUTS:
        p = os.path.join(WORK, f"src.{name}")
        sh("qemu-img", "convert", "-f", "raw", "-O", fmt, *opts, src, p)
        view = p + ".qemu.raw"
        sh("qemu-img", "convert", "-f", fmt, "-O", "raw", p, view)
        inputs.append((name, p, view))
    inputs.append(("ova", cl.make_ova(os.path.join(WORK, "src.stream-vmdk"),
                                      os.path.join(WORK, "src.ova")), src))
    iso = cl.make_iso(os.path.join(WORK, "src.iso"), files=2, file_bytes=600 * 1024)
    inputs.append(("iso", iso, iso))

    out = os.path.join(WORK, "out.raw")
    for name, path, expected in inputs:
        key = f"images/{os.path.basename(path)}"
        put(moto, key, path)
        if os.path.exists(out):
            os.remove(out)
        run(["convert", "--to", "raw", *s3_args(moto.endpoint), f"s3://disks/{key}", out])
        got, want = cl.sha_file(out), cl.sha_file(expected)
        if got != want:
            fail(f"{name}: sha256 {got} of s3://disks/{key} converted, expected {want}")
        ok(f"{name}: s3://disks/{key} -> raw, sha256 {got[:16]}... matches")
    os.remove(out)

    # S3 -> a GCP tarball; GNU tar reads it; disk.raw is qemu-img's view padded to 1 GiB.
    view = dict((n, e) for n, _, e in inputs)["stream-vmdk"]
    tgz = os.path.join(WORK, "disk.tar.gz")
    run(["convert", "--to", "gcp", *s3_args(moto.endpoint), "s3://disks/images/src.stream-vmdk",
         tgz])
    unpack = os.path.join(WORK, "unpack")
    os.makedirs(unpack)
    sh("tar", "-xzSf", tgz, "-C", unpack)
    if os.listdir(unpack) != ["disk.raw"]:
        fail(f"gcp: members {os.listdir(unpack)}")
    disk = os.path.join(unpack, "disk.raw")
    size = os.path.getsize(view)
    padded = (size + GIB - 1) // GIB * GIB
    if os.path.getsize(disk) != padded:
        fail(f"gcp: disk.raw holds {os.path.getsize(disk)} bytes, expected {padded}")
    want = cl.sha_padded(view, padded)
    if cl.sha_file(disk) != want:
        fail("gcp: disk.raw differs from qemu-img's view padded to a whole GiB")
    ok(f"s3 -> gcp tarball: disk.raw ({padded} bytes) = qemu-img's view padded, sha256 "
       f"{want[:16]}...")

    faults(moto, dict((n, (p, e)) for n, p, e in inputs))


def faults(moto, by_name):
    path, expected = by_name["qcow2"]
    key = f"images/{os.path.basename(path)}"
    out = os.path.join(WORK, "fault.raw")
    quick = ["--http-timeout", "2", "--retries", "4"]
    proxy = cl.FaultProxy(moto.port, plan={2: "503", 4: "reset", 6: "short-body", 7: "cut-body"})
    try:
        _, text, _ = run(["convert", "--to", "raw", *quick,
                          *s3_args(f"http://127.0.0.1:{proxy.port}"), f"s3://disks/{key}", out])
    finally:
        proxy.stop()
    if cl.sha_file(out) != cl.sha_file(expected) or len(proxy.triggered) != 4 or \
            "retry" not in text:
        fail(f"faults: {proxy.triggered}\n{text[-2000:]}")
    os.remove(out)
    ok("503, reset, short and cut bodies from S3 retried: the same bytes")

    # The object seen to change after HeadObject: one line, exit 3, no output.
    proxy = cl.FaultProxy(moto.port,
                          rule=lambda method, target: "new-etag" if method == "GET" else None)
    try:
        _, text, _ = run(["convert", "--to", "raw", *quick,
                          *s3_args(f"http://127.0.0.1:{proxy.port}"), f"s3://disks/{key}", out],
                         expect=3)
    finally:
        proxy.stop()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 1 or f"s3://disks/{key}" not in lines[0] or \
            "object changed while it was read" not in lines[0]:
        fail(f"changed ETag: {text[-2000:]}")
    if os.path.exists(out):
        fail("changed ETag: output left behind")
    ok(f"changed ETag: exit 3, {lines[0][:200]}")

    _, text, _ = run(["convert", "--to", "raw", *s3_args(moto.endpoint),
                      "s3://disks/images/missing.qcow2", out], expect=3)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 1 or "s3://disks/images/missing.qcow2" not in lines[0] or \
            "404" not in lines[0]:
        fail(f"missing key: {text}")
    ok(f"missing key: exit 3, {lines[0][:200]}")


if __name__ == "__main__":
    main()
