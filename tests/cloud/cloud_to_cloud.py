"""cloud.cloud_to_cloud: disks moved between clouds in one pass, no local copy (docs/cloud.md,
"Reading from the cloud"), against Azurite and moto on loopback, each result checked by content
read back with the emulators' own APIs (not through vdconvert):

  EBS snapshot -> Azure page blob    (--to azure ebs:snap-A URL)
  Azure blob   -> EBS snapshot       (--to aws-snapshot URL ebs:)
  Azure blob   -> S3 VMDK            (--to vmdk URL s3://b/k), read back by qemu-img
  S3 qcow2     -> GCP tarball        (--to gcp s3://b/k out.tar.gz), unpacked by GNU tar
  EBS -> Azure, incremental          (--since snap-A --update ebs:snap-B URL): only the changed
                                     pages written (counted by a proxy), content equal to B

Usage: cloud_to_cloud.py VDCONVERT WORKDIR
"""
import json
import os
import re
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ("qemu-img", "tar"))
SECRET = "vdisk-c2c-secret-Zq8m"
ENV = dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
           AWS_ACCESS_KEY_ID="AKIAVDISKTEST", AWS_SECRET_ACCESS_KEY=SECRET,
           AWS_REGION="us-east-1", HOME=WORK)
fail, ok = cl.fail, cl.ok
MIB, GIB = cl.MIB, 1 << 30
BLOCK = 512 * 1024  # the EBS block size moto states here (AWS's)


def make_disk(path):
    """24 MiB: data in a few places, holes between, an MBR boot signature."""
    with open(path, "wb") as f:
        f.truncate(24 * MIB)
        f.seek(510)
        f.write(b"\x55\xaa")
        f.seek(MIB)
        f.write(os.urandom(3 * MIB))
        f.seek(10 * MIB + 4096)
        f.write(b"cloud to cloud " * 30000)
        f.seek(20 * MIB)
        f.write(os.urandom(MIB))


def change_disk(src, dst):
    """A copy of `src` with changed blocks: data rewritten, new data in a hole, data zeroed.
    Returns the byte ranges (block-aligned) that differ."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    data[MIB + 100:MIB + 200] = os.urandom(100)            # block 2: changed data
    data[15 * MIB:15 * MIB + 4096] = os.urandom(4096)      # block 30: new data in a hole
    data[20 * MIB:20 * MIB + BLOCK] = bytes(BLOCK)         # block 40: data -> zeros
    with open(dst, "wb") as f:
        f.write(data)
    return [(2 * BLOCK, 3 * BLOCK), (30 * BLOCK, 31 * BLOCK), (40 * BLOCK, 41 * BLOCK)]


def snapshot(run, moto, disk):
    _, _, stdout = run(["convert", "--to", "aws-snapshot", "--omit-zero-blocks", "-q",
                        "--endpoint-url", moto.endpoint, disk, "ebs:"])
    snap = stdout.strip().splitlines()[-1]
    if not re.fullmatch(r"snap-[0-9a-f]+", snap):
        fail(f"no snapshot id printed: {stdout!r}")
    return snap


def ebs_disk(moto, snap, size, path):
    """The snapshot's first `size` bytes, read with moto's EBS API (blocks not listed: zeros)."""
    st, _, body = moto.aws("ebs", "GET", f"/snapshots/{snap}/blocks?maxResults=10000")
    if st != 200:
        fail(f"ListSnapshotBlocks {snap}: {st} {body[:200]}")
    listing = json.loads(body)
    bs = int(listing["BlockSize"])
    out = bytearray(size)
    for b in listing["Blocks"]:
        i = int(b["BlockIndex"])
        st, _, block = moto.aws("ebs", "GET",
                                f"/snapshots/{snap}/blocks/{i}?blockToken={b['BlockToken']}")
        if st != 200:
            fail(f"GetSnapshotBlock {snap} {i}: {st}")
        if i * bs >= size:
            if block.strip(b"\0"):
                fail(f"{snap}: block {i}, past the disk, holds data")
            continue
        n = min(bs, size - i * bs)
        out[i * bs:i * bs + n] = block[:n]
    with open(path, "wb") as f:
        f.write(out)
    return int(listing["VolumeSize"]) << 30


def s3_get(moto, bucket, key, path):
    st, _, body = moto.s3("GET", f"/{bucket}/{key}")
    if st != 200:
        fail(f"GET s3://{bucket}/{key}: {st}")
    with open(path, "wb") as f:
        f.write(body)


def main():
    azurite = cl.Azurite(WORK)
    moto = cl.Moto(WORK, ebs_block_size=BLOCK)
    try:
        endpoint = azurite.endpoint
        cl.create_container(endpoint, "c2c")
        sig = re.search(r"sig=([^&]+)", cl.blob_sas("c2c", "x")).group(1)
        run = cl.Runner(VD, ENV, [SECRET, sig])
        st, _, _ = moto.s3("PUT", "/c2c-bucket")
        if st != 200:
            fail(f"create bucket: {st}")
        aws = ["--endpoint-url", moto.endpoint]

        disk1 = os.path.join(WORK, "disk1.raw")
        make_disk(disk1)
        snap_a = snapshot(run, moto, disk1)
        ok(f"snapshot A {snap_a} of disk1 (24 MiB, 1 GiB volume)")

        # EBS -> Azure page blob.
        url = cl.blob_url(endpoint, "c2c", "web01.vhd")
        _, out, stdout = run(["convert", "--to", "azure", "--json"] + aws + [f"ebs:{snap_a}", url])
        report = json.loads(stdout)
        net = report["source"]["network"]
        cl.download(endpoint, "c2c", "web01.vhd", "blob.vhd")
        if os.path.getsize("blob.vhd") != GIB + 512:
            fail(f"EBS -> Azure: blob of {os.path.getsize('blob.vhd')} bytes, expected 1 GiB + 512")
        if cl.sha_file("blob.vhd", GIB) != cl.sha_padded(disk1, GIB):
            fail("EBS -> Azure: the blob's disk differs from disk1")
        received = net["bytes_received"]
        listed = len(json.loads(moto.aws("ebs", "GET", f"/snapshots/{snap_a}/blocks")[2])["Blocks"])
        if received > listed * BLOCK + MIB:
            fail(f"EBS -> Azure: {received} bytes received for {listed} blocks of data")
        pages = sum(b - a for a, b in cl.page_ranges(endpoint, "c2c", "web01.vhd"))
        if pages > listed * BLOCK + 512 or report["upload"]["bytes_sent"] > listed * BLOCK + 512:
            fail(f"EBS -> Azure: {pages} bytes of pages for {listed} blocks of data")
        ok(f"EBS -> Azure: sha256 equal over 1 GiB; {received} bytes received for {listed} "
           f"blocks listed, {report['upload']['bytes_sent']} bytes sent, {pages} bytes of pages")

        # Azure blob -> EBS snapshot.
        _, _, stdout = run(["convert", "--to", "aws-snapshot", "--omit-zero-blocks", "-q"] + aws +
                           [url, "ebs:"])
        snap_c = stdout.strip().splitlines()[-1]
        ebs_disk(moto, snap_c, GIB, "snap_c.raw")
        if cl.sha_file("snap_c.raw") != cl.sha_padded(disk1, GIB):
            fail("Azure -> EBS: the snapshot differs from disk1")
        ok(f"Azure -> EBS: {snap_c} equal to disk1 over 1 GiB")

        # Azure blob -> S3 streamOptimized VMDK, read back by qemu-img.
        run(["convert", "--to", "vmdk", "-q"] + aws + [url, "s3://c2c-bucket/web01.vmdk"])
        s3_get(moto, "c2c-bucket", "web01.vmdk", "web01.vmdk")
        subprocess.run(["qemu-img", "convert", "-O", "raw", "web01.vmdk", "vmdk.raw"], check=True)
        if cl.sha_file("vmdk.raw") != cl.sha_padded(disk1, GIB):
            fail("Azure -> S3 VMDK: qemu-img's view differs from disk1")
        ok("Azure -> S3 VMDK: qemu-img reads disk1 back")

        # S3 qcow2 -> GCP tarball.
        subprocess.run(["qemu-img", "convert", "-O", "qcow2", disk1, "disk1.qcow2"], check=True)
        with open("disk1.qcow2", "rb") as f:
            st, _, _ = moto.s3("PUT", "/c2c-bucket/exports/disk1.qcow2", f.read(),
                               {"content-type": "application/octet-stream"})
        if st != 200:
            fail(f"PUT qcow2: {st}")
        run(["convert", "--to", "gcp", "-q"] + aws +
            ["s3://c2c-bucket/exports/disk1.qcow2", "disk1.tar.gz"])
        subprocess.run(["tar", "-xzf", "disk1.tar.gz", "-C", WORK], check=True)
        if os.path.getsize("disk.raw") != GIB or cl.sha_file("disk.raw") != cl.sha_padded(disk1, GIB):
            fail("S3 -> GCP: disk.raw differs from disk1 padded to 1 GiB")
        os.remove("disk.raw")
        ok("S3 qcow2 -> GCP tarball: GNU tar's disk.raw equals disk1 padded to 1 GiB")

        # Incremental EBS -> Azure: only the changed blocks, through a counting proxy.
        disk2 = os.path.join(WORK, "disk2.raw")
        changed = change_disk(disk1, disk2)
        snap_b = snapshot(run, moto, disk2)
        proxy = cl.FaultProxy(azurite.port)
        try:
            purl = url.replace(f":{azurite.port}/", f":{proxy.port}/")
            _, out, stdout = run(["convert", "--to", "azure", "--json", "--since", snap_a,
                                  "--update"] + aws + [f"ebs:{snap_b}", purl])
        finally:
            proxy.stop()
        report = json.loads(stdout)
        puts = [r for r in proxy.requests if r[0] == "PUT" and "comp=page" in r[1]]
        written = 0
        cleared = 0
        for method, target, headers in puts:
            h = {k.lower(): v for k, v in headers.items()}
            m = re.match(r"bytes=(\d+)-(\d+)", h.get("x-ms-range", ""))
            if not m:
                fail(f"incremental: a Put Page without x-ms-range: {h}")
            a, b = int(m.group(1)), int(m.group(2)) + 1
            if h.get("x-ms-page-write") == "clear":
                cleared += b - a
            else:
                written += b - a
            inside = any(a >= lo and b <= hi for lo, hi in changed) or a >= GIB
            if not inside:
                fail(f"incremental: a Put Page outside the changed blocks: {a}-{b}")
        if any(r[0] == "PUT" and "comp=page" not in r[1] and "comp=metadata" not in r[1]
               for r in proxy.requests):
            fail("incremental: a Put Blob or other write besides pages and metadata")
        cl.download(endpoint, "c2c", "web01.vhd", "blob2.vhd")
        if cl.sha_file("blob2.vhd", GIB) != cl.sha_padded(disk2, GIB):
            fail("incremental: the blob's disk differs from disk2")
        if report["source"].get("changed_bytes", 0) != 3 * BLOCK:
            fail(f"incremental: changed_bytes {report['source'].get('changed_bytes')}, "
                 f"expected {3 * BLOCK}")
        ok(f"incremental EBS -> Azure: {len(puts)} Put Page requests ({written} bytes written, "
           f"{cleared} cleared) for 3 changed blocks; the blob now equals disk2")
        # Once more from A: the blob holds B now, so this is refused, and nothing is written.
        rc, out, _ = run(["convert", "--to", "azure", "--since", snap_a, "--update"] + aws +
                         [f"ebs:{snap_b}", url], expect=None)
        if rc == 0 or snap_b not in out:
            fail(f"update from the wrong base: exit {rc}: {out[-400:]}")
        ok("an update from a base the blob no longer holds is refused, naming what it holds")
    finally:
        moto.stop()
        azurite.stop()


main()
