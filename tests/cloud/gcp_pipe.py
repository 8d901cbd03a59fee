"""cloud.gcp_pipe: the GCP upload as docs/cloud.md documents it, `vdconvert convert --to gcp
SRC - | gcloud storage cp - gs://BUCKET/disk.tar.gz`. GCS has no emulator here, so the consumer
is a stand-in for `gcloud storage cp -`: a separate process that reads its stdin to the end,
stores the object and computes the CRC-32C (Castagnoli) and MD5 that GCS reports for it.

Checked: the CRC-32C, MD5 and size vdconvert reports (--checksums-file and --checksums) equal
what the consumer computed over the bytes it received; the object is a valid GCP image tarball
(GNU tar extracts one disk.raw = the source padded to whole GiB, Python's tarfile sees only
disk.raw); --checksums writes nothing into the pipe; a stream on stdin works the same; a
consumer that stops reading makes vdconvert fail with one line.

Usage: gcp_pipe.py VDCONVERT WORKDIR
"""
import base64
import json
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ("qemu-img", "tar"))
MIB, GIB = cl.MIB, 1 << 30
ENV = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
fail, ok, sha = cl.fail, cl.ok, cl.sha_file

# The stand-in for `gcloud storage cp - gs://...`: reads stdin to EOF, stores the object,
# prints {"size", "crc32c", "md5"} as GCS shows them (base64 of the big-endian CRC-32C; base64
# of the MD5). CRC-32C per RFC 3720 §B.4 (reflected polynomial 0x82F63B78).
CONSUMER = r"""
import base64, hashlib, json, sys
table = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    table.append(c)
crc, md5, size = 0xFFFFFFFF, hashlib.md5(), 0
with open(sys.argv[1], "wb") as out:
    while True:
        b = sys.stdin.buffer.read(1 << 20)
        if not b:
            break
        size += len(b)
        md5.update(b)
        out.write(b)
        for x in b:
            crc = table[(crc ^ x) & 0xFF] ^ (crc >> 8)
crc ^= 0xFFFFFFFF
print(json.dumps({"size": size, "crc32c": base64.b64encode(crc.to_bytes(4, "big")).decode(),
                  "md5": base64.b64encode(md5.digest()).decode()}))
"""


def make_source():
    path = os.path.join(WORK, "src.raw")
    with open(path, "wb") as f:
        f.truncate(40 * MIB)
        f.seek(MIB)
        f.write(os.urandom(MIB))
        f.seek(30 * MIB)
        f.write((b"gcp pipe test " * 50000)[:512 * 1024])
    return path


def pipe(args, stdin=None):
    """vdconvert ARGS | consumer; returns (vdconvert's exit, its stderr, the consumer's
    report, the object's path)."""
    obj = os.path.join(WORK, "object.tar.gz")
    vd = subprocess.Popen([VD] + args, stdin=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=ENV)
    consumer = subprocess.run([sys.executable, "-c", CONSUMER, obj], stdin=vd.stdout,
                              capture_output=True, text=True)
    vd.stdout.close()
    err = vd.stderr.read().decode(errors="replace")
    vd.wait()
    if consumer.returncode != 0:
        fail(f"the consumer failed: {consumer.stderr}")
    return vd.returncode, err, json.loads(consumer.stdout), obj


def check_tarball(obj, src, what):
    with tarfile.open(obj) as t:
        if t.getnames() != ["disk.raw"]:
            fail(f"{what}: members {t.getnames()}")
    x = os.path.join(WORK, "x")
    subprocess.run(["rm", "-rf", x], check=True)
    os.makedirs(x)
    subprocess.run(["tar", "-xzSf", obj, "-C", x], check=True)
    disk = os.path.join(x, "disk.raw")
    size = os.path.getsize(src)
    if os.path.getsize(disk) != GIB or sha(disk, size) != sha(src):
        fail(f"{what}: disk.raw is not the source padded to 1 GiB")
    with open(disk, "rb") as f:
        f.seek(size)
        while True:
            b = f.read(8 * MIB)
            if not b:
                break
            if any(b):
                fail(f"{what}: disk.raw holds data past the source's end")


def main():
    src = make_source()
    qcow = os.path.join(WORK, "src.qcow2")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", src, qcow],
                   check=True)

    # --checksums-file: the artifact's figures are those of the bytes the consumer received.
    sums = os.path.join(WORK, "sums.json")
    rc, err, got, obj = pipe(["convert", "--to", "gcp", "-q", "--checksums-file", sums, qcow, "-"])
    if rc != 0:
        fail(f"--to gcp into a pipe: exit {rc}: {err}")
    with open(sums) as f:
        a = json.load(f)["artifact"]
    if (a["bytes"], a["crc32c_base64"], a["md5_base64"]) != (got["size"], got["crc32c"], got["md5"]):
        fail(f"--checksums-file {a} differs from what the consumer computed {got}")
    if a["crc32c"] != base64.b64decode(got["crc32c"]).hex():
        fail(f"crc32c hex {a['crc32c']} vs {got['crc32c']}")
    check_tarball(obj, src, "qcow2 -> gcp pipe")
    ok(f"qcow2 -> gcp | consumer: {got['size']} bytes, CRC-32C {got['crc32c']} and MD5 "
       f"{got['md5']} as vdconvert reported; GNU tar and tarfile read disk.raw = source")

    # --checksums prints to stderr: the pipe carries only the archive.
    rc, err, got2, obj = pipe(["convert", "--to", "gcp", "--checksums", qcow, "-"])
    want = base64.b64decode(got2["crc32c"]).hex()
    line = [ln for ln in err.splitlines() if ln.startswith("crc32c (<stdout>)")]
    if rc != 0 or line != [f"crc32c (<stdout>): {want} (base64 {got2['crc32c']})"]:
        fail(f"--checksums: exit {rc}, lines {line}, consumer {got2}\n{err}")
    if got2 != got:
        fail("--checksums: the archive differs from the --checksums-file run (same epoch)")
    check_tarball(obj, src, "--checksums pipe")
    ok(f"--checksums on stderr: {line[0]}; the pipe holds the same archive")

    # A stream on stdin into the pipe.
    stream = os.path.join(WORK, "src.stream.vmdk")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
                    "subformat=streamOptimized", src, stream], check=True)
    with open(stream, "rb") as f:
        rc, err, got3, obj = pipe(["convert", "--to", "gcp", "-q", "--checksums-file",
                                   sums + ".2", "-", "-"], stdin=f)
    with open(sums + ".2") as f:
        a = json.load(f)["artifact"]
    if rc != 0 or (a["bytes"], a["crc32c_base64"]) != (got3["size"], got3["crc32c"]):
        fail(f"stdin -> gcp pipe: exit {rc}, {a} vs {got3}: {err}")
    check_tarball(obj, src, "stdin -> gcp pipe")
    ok(f"stream VMDK on stdin -> gcp | consumer: CRC-32C {got3['crc32c']} agrees")

    # A consumer that stops reading: vdconvert fails with one line and a non-zero exit.
    vd = subprocess.Popen([VD, "convert", "--to", "gcp", qcow, "-"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=ENV)
    vd.stdout.read(1000)
    vd.stdout.close()
    err = vd.stderr.read().decode(errors="replace")
    vd.wait()
    errors = [ln for ln in err.splitlines() if "error:" in ln]
    if vd.returncode == 0 or len(errors) != 1 or "<stdout>" not in errors[0]:
        fail(f"a consumer that stops: exit {vd.returncode}: {err}")
    ok(f"a consumer that stops reading: exit {vd.returncode}, {errors[0]}")
    print("PASS: cloud.gcp_pipe")


main()
