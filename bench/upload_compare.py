#!/usr/bin/env python3
"""Times the uploads (issue 14) against the same conversion into a local file, in one run, and
prints a Markdown report: wall time, peak RSS, bytes sent against the input's allocated data.

Usage: bench/upload_compare.py [--quick] [VDCONVERT] [WORKDIR] > report.md
Defaults: build/tools/vdconvert and /var/tmp/vdisk-upload-bench (not tmpfs). Knobs (env):
DISK_GIB (8), DATA_MIB (1536) for the bench disk; for EBS, two disks of EBS_DISK_MIB (1024):
one mostly zeros (EBS_DATA_MIB, 8, of data) and one mostly data (EBS_DENSE_MIB, 896), each sent
exact (the default: every block of the whole-GiB volume) and with --omit-zero-blocks. moto runs
through tests/cloud/moto_launcher.py, stating AWS's 524288-byte blocks (moto itself says 512).
--ebs runs only the EBS part.

The servers are the tests' (tests/cloud/cloud_lib.py): Azurite from tests/cloud/node_modules
and moto (tests/cloud/moto_launcher.py), both on 127.0.0.1. Each command runs REPS times (default 1) after nothing
else: an upload is not repeated against a warm server; the input is in the page cache.

--quick keeps this script working and measures nothing (the `bench.upload_compare_quick` ctest,
label `bench`, runs it on CI's sanitized build): a 64 MiB disk with 8 MiB of data, EBS disks of
64 MiB with 64 KiB and 48 MiB of data (each still a 1 GiB volume), one run each (the knobs
above are ignored), SOURCE_DATE_EPOCH pinned, WORKDIR default /var/tmp/vdisk-upload-bench-quick. Every command and floor runs as in the full
run, and each upload is then read back and compared by sha256 with what it must hold: the Azure
page blob with the local fixed VHD, the S3 object with the same stream VMDK written to a file
named as the key, the EBS snapshot (ListSnapshotBlocks, GetSnapshotBlock) with the source disk.
Figures come only from full runs of a release build on an idle machine.
"""
import base64
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cloud"))
sys.path.insert(0, HERE)
import cloud_lib as cl  # noqa: E402
import cloud_bench_lib as cbl  # noqa: E402
from cloud_bench_lib import curl_floor, make_disk, size_text  # noqa: E402

QUICK = "--quick" in sys.argv[1:]
EBS_ONLY = "--ebs" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a not in ("--quick", "--ebs")]
VD = os.path.realpath(ARGS[0] if ARGS else
                      os.path.join(HERE, "..", "build", "tools", "vdconvert"))
WORK = ARGS[1] if len(ARGS) > 1 else \
    "/var/tmp/vdisk-upload-bench" + ("-quick" if QUICK else "")
MIB, GIB = 1 << 20, 1 << 30
if QUICK:
    DISK_BYTES, DATA_BYTES, EBS_DATA_BYTES, REPS = 64 * MIB, 8 * MIB, 64 << 10, 1
    EBS_DISK_BYTES, EBS_DENSE_BYTES = 64 * MIB, 48 * MIB
else:
    DISK_BYTES = int(os.environ.get("DISK_GIB", "8")) * GIB
    DATA_BYTES = int(os.environ.get("DATA_MIB", "1536")) * MIB
    EBS_DATA_BYTES = int(os.environ.get("EBS_DATA_MIB", "8")) * MIB
    EBS_DISK_BYTES = int(os.environ.get("EBS_DISK_MIB", "1024")) * MIB
    EBS_DENSE_BYTES = int(os.environ.get("EBS_DENSE_MIB", "896")) * MIB
    REPS = int(os.environ.get("REPS", "1"))
ENV = dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
           AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench-secret",
           AWS_REGION="us-east-1")
if QUICK:  # a pinned timestamp: the local outputs and the uploads then hold the same bytes
    ENV["SOURCE_DATE_EPOCH"] = "1700000000"


def timed(args, out=None):
    return cbl.timed(VD, ENV, args, out, REPS)


def allocated(path):
    r = subprocess.run([VD, "measure", "--to", "raw", "--json", path], capture_output=True,
                       check=True)
    return json.loads(r.stdout)["measurements"][0]["allocated_bytes"]


def must_match(what, got_sha, want_sha):
    """--quick: an upload that does not hold what it must fails the run."""
    if got_sha != want_sha:
        sys.exit(f"WRONG UPLOAD: {what}: sha256 {got_sha}, expected {want_sha}")
    print(f"verified: {what} (sha256 {want_sha[:16]}...)", file=sys.stderr)


def snapshot_sha(moto, snap, size):
    """sha256 of the first `size` bytes of EBS snapshot `snap` read back with ListSnapshotBlocks
    and GetSnapshotBlock (blocks not listed read as zeros); a block past `size` must be zeros
    (an exact snapshot holds its whole volume)."""
    st, _, body = moto.aws("ebs", "GET", f"/snapshots/{snap}/blocks?maxResults=10000")
    if st != 200:
        sys.exit(f"ListSnapshotBlocks {snap}: {st} {body[:200]}")
    listing = json.loads(body)
    if listing.get("NextToken"):
        sys.exit(f"ListSnapshotBlocks {snap}: more than one page of blocks")
    bs = int(listing["BlockSize"])
    data = bytearray(size)
    for b in listing["Blocks"]:
        index = int(b["BlockIndex"])  # moto answers the string the client sent
        st, _, block = moto.aws("ebs", "GET", f"/snapshots/{snap}/blocks/{index}"
                                f"?blockToken={b['BlockToken']}")
        if st != 200 or len(block) != bs:
            sys.exit(f"GetSnapshotBlock {snap} {index}: {st}, {len(block)} bytes")
        if (index + 1) * bs > size and any(block[max(0, size - index * bs):]):
            sys.exit(f"snapshot {snap}: block {index} holds data past the disk's {size} bytes")
        data[index * bs:min(size, (index + 1) * bs)] = block[:max(0, size - index * bs)]
    return hashlib.sha256(data).hexdigest()


def ebs_compare():
    """EBS: exact (the default) against --omit-zero-blocks, on a disk that is mostly zeros and
    one that is mostly data; each against curl alone sending as many PutSnapshotBlock requests
    of the same size. Prints its own table."""
    disks = (("ebs-zeros.raw", EBS_DATA_BYTES), ("ebs-data.raw", EBS_DENSE_BYTES))
    for path, data in disks:
        make_disk(path, EBS_DISK_BYTES, data)
    rows = []
    moto = cl.Moto(WORK)
    try:
        for path, data in disks:
            alloc = allocated(path)
            local = timed(["convert", "--to", "raw", "-q", "--no-sync", path, "out.raw"],
                          "out.raw")
            os.remove("out.raw")
            for mode, extra in (("exact", []), ("omit", ["--omit-zero-blocks"])):
                res = timed(["convert", "--to", "aws-snapshot", "--json", *extra,
                             "--endpoint-url", moto.endpoint, path, "ebs:"])
                up = json.loads(res[2])["upload"]
                if QUICK:
                    must_match(f"EBS snapshot ({mode}) against {path}",
                               snapshot_sha(moto, up["object_id"], EBS_DISK_BYTES),
                               cl.sha_file(path))
                moto.reset()  # an exact snapshot holds its whole volume in moto's memory
                # The floor: as many blocks of the same size, random bytes, from curl alone.
                st, _, body = moto.aws("ebs", "POST", "/snapshots",
                                       json.dumps({"VolumeSize": -(-EBS_DISK_BYTES // GIB)})
                                       .encode(), {"Content-Type": "application/json"})
                snap = json.loads(body)["SnapshotId"]
                block = random.Random(3).randbytes(up["block_bytes"])
                with open("block.bin", "wb") as f:
                    f.write(block)
                digest = base64.b64encode(hashlib.sha256(block).digest()).decode()
                auth = ("Authorization: AWS4-HMAC-SHA256 Credential=AKIABENCH/20260101/"
                        "us-east-1/ebs/aws4_request, SignedHeaders=host, Signature=00")
                # "Expect:" off, as vdconvert sends it: curl asks for 100-continue before a
                # body it uploads, moto's server never answers one, and curl then waits its
                # timeout before each body (200 blocks: 3.9 s against 0.9 s here).
                floor = curl_floor([{
                    "url": f"{moto.endpoint}/snapshots/{snap}/blocks/{i}", "file": "block.bin",
                    "headers": [auth, f"x-amz-Data-Length: {len(block)}",
                                f"x-amz-Checksum: {digest}", "x-amz-Checksum-Algorithm: SHA256",
                                "Expect:"]}
                    for i in range(up["blocks_sent"])], immediate=True)
                moto.reset()
                rows.append((path, size_text(data), alloc, mode, up, res, floor, local))
    finally:
        moto.stop()
    print(f"""### EBS snapshots: exact against omit-zero-blocks (moto, loopback)

Disks: {size_text(EBS_DISK_BYTES)} sparse raw (a {-(-EBS_DISK_BYTES // GIB)} GiB volume), data in
8 regions as above; moto through tests/cloud/moto_launcher.py, stating AWS's 524288-byte blocks.
The floor is curl alone sending as many PutSnapshotBlock requests of the same size (random
bytes), 8 at a time (`--parallel-immediate`, `Expect:` off, as vdconvert sends them). {os.cpu_count()} cores; load average {' '.join(open('/proc/loadavg').read().split()[:3])}.

| disk | data | allocated | mode | blocks put | zero blocks | bytes sent | wall | curl floor | vs floor | local raw | peak RSS |
|---|---|---|---|---|---|---|---|---|---|---|---|""")
    for path, data, alloc, mode, up, res, floor, local in rows:
        print(f"| {path} | {data} | {alloc:,} | {mode} | {up['blocks_sent']} | "
              f"{up['zero_blocks_sent']} | {up['bytes_sent']:,} | {res[0]:.2f} s | {floor:.2f} s | "
              f"{res[0] / floor:.2f}x | {local[0]:.2f} s | {res[1]} MiB |")
    print()


def main():
    os.makedirs(WORK, exist_ok=True)
    os.chdir(WORK)
    if EBS_ONLY:
        ebs_compare()
        return
    make_disk("disk.raw", DISK_BYTES, DATA_BYTES)
    if not os.path.exists("stream.vmdk") or os.path.getmtime("stream.vmdk") < os.path.getmtime("disk.raw"):
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
                        "subformat=streamOptimized", "disk.raw", "stream.vmdk"], check=True)
    alloc = allocated("stream.vmdk")
    rows = []

    def row(name, cmd, res, sent=None, base=None):
        wall, rss, _ = res
        rows.append((name, cmd, f"{wall:.2f} s", f"{rss} MiB",
                     f"{sent:,}" if sent is not None else "-",
                     f"{wall / base[0]:.2f}x" if base else "-"))

    # Azure: stream VMDK -> fixed VHD, into a file and into a page blob.
    local_sync = timed(["convert", "--to", "azure", "-q", "stream.vmdk", "out.vhd"], "out.vhd")
    local = timed(["convert", "--to", "azure", "-q", "--no-sync", "stream.vmdk", "out.vhd"],
                  "out.vhd")
    want_vhd = cl.sha_file("out.vhd") if QUICK else None
    os.remove("out.vhd")
    azdir = os.path.join(WORK, "azurite")
    subprocess.run(["rm", "-rf", azdir], check=True)
    os.makedirs(azdir)
    az = cl.Azurite(azdir)
    try:
        cl.create_container(az.endpoint, "bench")
        res = None
        for i in range(REPS):
            url = cl.blob_url(az.endpoint, "bench", f"disk{i}.vhd")
            r = timed(["convert", "--to", "azure", "--json", "stream.vmdk", url])
            res = r if res is None or r[0] < res[0] else res
        up = json.loads(res[2])["upload"]
        if QUICK:
            cl.download(az.endpoint, "bench", f"disk{REPS - 1}.vhd", "got.vhd")
            must_match("Azure page blob against the local fixed VHD", cl.sha_file("got.vhd"),
                       want_vhd)
            os.remove("got.vhd")
        # The same number of Put Page requests of vdconvert's size (2 MiB at its default 8
        # --connections: libvdisk/src/remote/azure_blob/page_blob_output.cpp), incompressible bytes, from
        # curl alone, 8 at a time: what Azurite itself can take.
        req = 2 << 20
        with open("chunk2m.bin", "wb") as f:
            f.write(random.Random(2).randbytes(req))
        cl.create_page_blob(az.endpoint, "bench", "floor.vhd", DISK_BYTES + 512)
        sas = cl.account_sas()
        n = (up["bytes_sent"] - 512 + req - 1) // req
        az_floor = curl_floor([{
            "url": f"{az.endpoint}/bench/floor.vhd?comp=page&{sas}", "file": "chunk2m.bin",
            "headers": ["x-ms-page-write: update", "x-ms-version: 2021-12-02",
                        f"x-ms-range: bytes={i * req}-{(i + 1) * req - 1}"]}
            for i in range(n)])
    finally:
        az.stop()
    row("local_azure_sync", "vdconvert convert --to azure stream.vmdk out.vhd", local_sync)
    row("local_azure", "vdconvert convert --to azure --no-sync stream.vmdk out.vhd", local)
    row("azurite", "vdconvert convert --to azure stream.vmdk 'http://127.0.0.1:PORT/...?SAS'",
        res, up["bytes_sent"], local)
    rows.append(("azurite_floor", "curl -K floor.curl --parallel --parallel-max 8 "
                 f"({n} Put Page of 2 MiB)", f"{az_floor:.2f} s", "-", f"{n * req:,}", "-"))
    az_up = up

    # S3: stream VMDK (what import-image takes) into a file and into an object.
    local_vmdk = timed(["convert", "--to", "vmdk", "-q", "--no-sync", "stream.vmdk", "out.vmdk"],
                       "out.vmdk")
    vmdk_size = os.path.getsize("out.vmdk")
    os.remove("out.vmdk")
    moto = cl.Moto(WORK)
    try:
        moto.s3("PUT", "/bench")
        s3 = timed(["convert", "--to", "vmdk", "--json", "--force", "--endpoint-url",
                    moto.endpoint, "stream.vmdk", "s3://bench/disk.vmdk"])
        s3_up = json.loads(s3[2])["upload"]
        if QUICK:
            # The same conversion into a file named as the key (a VMDK's extent line names its
            # file).
            os.makedirs("local", exist_ok=True)
            subprocess.run([VD, "convert", "--to", "vmdk", "-q", "--no-sync", "stream.vmdk",
                            "local/disk.vmdk"], check=True, env=ENV)
            st, _, body = moto.s3("GET", "/bench/disk.vmdk")
            if st != 200:
                sys.exit(f"GET s3://bench/disk.vmdk: {st} {body[:200]}")
            must_match("S3 object against the same conversion into a file",
                       hashlib.sha256(body).hexdigest(), cl.sha_file("local/disk.vmdk"))
            os.remove("local/disk.vmdk")
        # Floor: the VMDK's bytes as 8 MiB UploadPart requests from curl alone, 8 at a time.
        subprocess.run([VD, "convert", "--to", "vmdk", "-q", "--no-sync", "stream.vmdk",
                        "out.vmdk"], check=True, env=ENV)
        subprocess.run(["rm", "-rf", "parts"], check=True)
        os.makedirs("parts")
        subprocess.run(["split", "-b", str(8 << 20), "-a", "5", "-d", "out.vmdk", "parts/p"],
                       check=True)
        os.remove("out.vmdk")
        st, _, body = moto.s3("POST", "/bench/floor.vmdk?uploads")
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", body).group(1).decode()
        parts = sorted(os.listdir("parts"))
        s3_floor = curl_floor([{
            "url": f"{moto.endpoint}/bench/floor.vmdk?partNumber={i + 1}&uploadId={upload_id}",
            "file": f"parts/{p}", "headers": [], "dump": f"parts/{p}.h"}
            for i, p in enumerate(parts)])
        # CompleteMultipartUpload is part of the floor: moto joins the parts in Python, and
        # that costs it about as much as taking them (15 s for 85 parts of 8 MiB here).
        etags = [re.search(r"(?im)^etag: *(\S+)", open(f"parts/{p}.h").read()).group(1)
                 for p in parts]
        with open("complete.xml", "w") as f:
            f.write("<CompleteMultipartUpload>" + "".join(
                f"<Part><PartNumber>{i + 1}</PartNumber><ETag>{e}</ETag></Part>"
                for i, e in enumerate(etags)) + "</CompleteMultipartUpload>")
        t0 = time.time()
        r = subprocess.run(["curl", "-sS", "-X", "POST", "--data-binary", "@complete.xml",
                            "-H", "Content-Type: application/xml",
                            f"{moto.endpoint}/bench/floor.vmdk?uploadId={upload_id}"],
                           capture_output=True, check=True)
        s3_complete = time.time() - t0
        if b"<ETag>" not in r.stdout:
            sys.exit(f"floor CompleteMultipartUpload: {r.stdout[:300]}")
        s3_floor += s3_complete
        subprocess.run(["rm", "-rf", "parts"], check=True)
    finally:
        moto.stop()
    row("local_vmdk", "vdconvert convert --to vmdk --no-sync stream.vmdk out.vmdk", local_vmdk)
    row("moto_s3", "vdconvert convert --to vmdk --endpoint-url http://127.0.0.1:PORT "
        "stream.vmdk s3://bench/disk.vmdk", s3, s3_up["bytes_sent"], local_vmdk)
    rows.append(("moto_s3_floor", f"curl -K floor.curl --parallel --parallel-max 8 "
                 f"({len(parts)} UploadPart of the same VMDK, then "
                 f"CompleteMultipartUpload: {s3_complete:.2f} s)", f"{s3_floor:.2f} s", "-",
                 f"{vmdk_size:,}", "-"))
    cpus = os.cpu_count()
    load = open("/proc/loadavg").read().split()[:3]
    print(f"""### Uploads against Azurite and moto (loopback)

Input: {size_text(DISK_BYTES)} sparse raw disk with {size_text(DATA_BYTES)} of data
(8 regions: /usr binaries, one of them seeded random bytes; bench/upload_compare.py) made into stream.vmdk by qemu-img
(`-o subformat=streamOptimized`, {os.path.getsize('stream.vmdk') >> 20} MiB); allocated data
{alloc:,} bytes (`vdconvert measure`). EBS: see the next table. {cpus} cores; load average at
the start {' '.join(load)}.
Azurite {cl.find_azurite()} (tests/cloud/package-lock.json), moto_server; both on 127.0.0.1.
Best of {REPS}; peak RSS of vdconvert from GNU time.

| run | command | wall | peak RSS | bytes sent | vs local |
|---|---|---|---|---|---|""")
    for r in rows:
        print("| " + " | ".join([r[0], f"`{r[1]}`", *r[2:]]) + " |")
    print(f"""
- Azure: {az_up['bytes_sent']:,} bytes sent for {alloc:,} allocated =
  **{az_up['bytes_sent'] / alloc:.4f}x** (goal <= 1.01x); {az_up['requests']} requests,
  {az_up['retries']} retries; wall **{res[0] / local[0]:.2f}x** the local `--no-sync`
  conversion, {res[0] / local_sync[0]:.2f}x the default (fsync) one (goal <= 1.5x);
  **{res[0] / az_floor:.2f}x** Azurite's own floor (curl alone sending the same requests).
- S3: {s3_up['bytes_sent']:,} bytes sent for a {vmdk_size:,}-byte VMDK
  (**{s3_up['bytes_sent'] / vmdk_size:.4f}x** the object; a compressed VMDK of
  {alloc:,} allocated bytes); wall **{s3[0] / local_vmdk[0]:.2f}x** the local conversion,
  **{s3[0] / (s3_floor + local_vmdk[0]):.2f}x** the sum of moto's floor (curl alone sending
  the parts) and the local conversion, **{s3[0] / max(s3_floor, local_vmdk[0]):.2f}x** the
  larger of the two.
- Peak RSS: Azure {res[1]} MiB, S3 {s3[1]} MiB (local: {local[1]} MiB).
""")
    ebs_compare()


main()
