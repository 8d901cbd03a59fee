#!/usr/bin/env python3
"""Times cloud-to-cloud moves (issue 29: remote sources) against each emulator's own floor, in
one run, and prints a Markdown report: wall time, peak RSS, bytes received against the source's
allocated data, bytes sent against the output's data.

Usage: bench/remote_compare.py [--quick] [VDCONVERT] [WORKDIR] > report.md
Defaults: build/tools/vdconvert and /var/tmp/vdisk-remote-bench. Knobs (env): DISK_GIB (8),
DATA_MIB (1536): the bench disk of bench/upload_compare.py (cloud_bench_lib.make_disk), read
from EBS; S3_DISK_GIB (1), S3_DATA_MIB (256): the smaller disk read from S3, because moto's S3
copies the whole object for every ranged GET (about one 1 MiB range a second from a 1.5 GiB
object, curl alone included), which would time moto, not the move.
--quick: a 64 MiB disk with 8 MiB of data, to keep the script working; figures come from full
runs only.

Moves timed, each into an Azure page blob (--to azure) on Azurite:
  - from an EBS snapshot of the disk (moto, AWS's 524288-byte blocks, data blocks only);
  - from an S3 object holding the disk as qcow2 (moto), read with ranged GETs.
Floors, curl alone with the same requests, 8 at a time over kept-alive connections: the source's
(GetSnapshotBlock for every block listed; ranged GETs of 1 MiB over the object) and the
destination's (Put Page of the page ranges the move wrote, in pieces of at most 4 MiB). The move
runs both at once; its goal is within 1.2x of the slower floor.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cloud"))
sys.path.insert(0, HERE)
import cloud_lib as cl  # noqa: E402
from cloud_bench_lib import curl_floor, make_disk, size_text, timed  # noqa: E402

QUICK = "--quick" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "--quick"]
VD = os.path.realpath(ARGS[0] if ARGS else os.path.join(HERE, "..", "build", "tools", "vdconvert"))
WORK = ARGS[1] if len(ARGS) > 1 else "/var/tmp/vdisk-remote-bench" + ("-quick" if QUICK else "")
MIB, GIB = 1 << 20, 1 << 30
if QUICK:
    DISK_BYTES, DATA_BYTES = 64 * MIB, 8 * MIB
    S3_DISK_BYTES, S3_DATA_BYTES = 64 * MIB, 8 * MIB
else:
    DISK_BYTES = int(os.environ.get("DISK_GIB", "8")) * GIB
    DATA_BYTES = int(os.environ.get("DATA_MIB", "1536")) * MIB
    S3_DISK_BYTES = int(os.environ.get("S3_DISK_GIB", "1")) * GIB
    S3_DATA_BYTES = int(os.environ.get("S3_DATA_MIB", "256")) * MIB
ENV = dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
           AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench-secret",
           AWS_REGION="us-east-1")
AUTH = {svc: ("Authorization: AWS4-HMAC-SHA256 Credential=AKIABENCH/20260101/us-east-1/"
              f"{svc}/aws4_request, SignedHeaders=host, Signature=00") for svc in ("ebs", "s3")}


def run(args):
    r = subprocess.run([VD] + args, capture_output=True, env=ENV)
    if r.returncode != 0:
        sys.exit(f"vdconvert {' '.join(args[:3])}: exit {r.returncode}: {r.stderr.decode()[-2000:]}")
    return r.stdout.decode()


def put_page_requests(endpoint, container, blob, ranges):
    """curl's Put Page requests writing `ranges` (the move's page ranges) into a fresh blob of
    the same size, in pieces of at most 4 MiB."""
    props = cl.properties(endpoint, container, blob)
    size = int(props["content-length"])
    name = f"floor-{blob}"
    cl.create_page_blob(endpoint, container, name, size)
    pieces = []
    for a, b in ranges:
        for off in range(a, b, 4 * MIB):
            pieces.append((off, min(b, off + 4 * MIB)))
    files = {}
    for a, b in pieces:
        if b - a not in files:
            files[b - a] = f"body-{b - a}.bin"
            with open(files[b - a], "wb") as f:
                f.write(os.urandom(b - a))
    url = f"{endpoint}/{container}/{name}?comp=page&{cl.account_sas()}"
    return [{"url": url, "file": files[b - a],
             "headers": ["x-ms-version: 2021-12-02", "x-ms-page-write: update",
                         f"x-ms-range: bytes={a}-{b - 1}", "Expect:"]} for a, b in pieces]


def both_floors(reads, writes):
    """The source's reads and the destination's writes by curl at once (8 each), as the move
    drives both servers at once on the same cores: the seconds until both are done."""
    with ThreadPoolExecutor(2) as pool:
        t0 = time.time()
        r = pool.submit(curl_floor, reads, 8, True, "GET", "floor-r.curl")
        w = pool.submit(curl_floor, writes, 8, True, "PUT", "floor-w.curl")
        r.result()
        w.result()
        return time.time() - t0


def move(name, src, extra, azurite, moto, reads, source_bytes):
    """One move into a new page blob: its figures and both floors."""
    blob = f"{name}.vhd"
    url = cl.blob_url(azurite.endpoint, "bench", blob)
    wall, rss, stdout = timed(VD, ENV, ["convert", "--to", "azure", "--json", "-q", *extra,
                                        "--endpoint-url", moto.endpoint, src, url])
    report = json.loads(stdout)
    ranges = cl.page_ranges(azurite.endpoint, "bench", blob)
    pages = sum(b - a for a, b in ranges)
    read_floor = curl_floor(reads, immediate=True, method="GET")
    writes = put_page_requests(azurite.endpoint, "bench", blob, ranges)
    write_floor = curl_floor(writes, immediate=True)
    both = both_floors(reads, put_page_requests(azurite.endpoint, "bench", blob, ranges))
    received = report["source"]["network"]["bytes_received"]
    sent = report["upload"]["bytes_sent"]
    # What the output holds as data: the pages written, the footer's included.
    return dict(name=name, wall=wall, rss=rss, received=received, source_bytes=source_bytes,
                sent=sent, pages=pages, requests=report["source"]["network"]["requests"],
                read_floor=read_floor, write_floor=write_floor, puts=len(writes), both=both)


def main():
    os.makedirs(WORK, exist_ok=True)
    os.chdir(WORK)
    make_disk("disk.raw", DISK_BYTES, DATA_BYTES)
    # A fresh Azurite store: blobs of an earlier run would be refused as existing.
    azdir = os.path.join(WORK, "azurite")
    shutil.rmtree(azdir, ignore_errors=True)
    os.makedirs(azdir)
    azurite = cl.Azurite(azdir)
    moto = cl.Moto(WORK)
    rows = []
    try:
        cl.create_container(azurite.endpoint, "bench")
        # The EBS snapshot: data blocks only (what a sparse volume's snapshot holds).
        snap = run(["convert", "--to", "aws-snapshot", "--omit-zero-blocks", "-q",
                    "--endpoint-url", moto.endpoint, "disk.raw", "ebs:"]).strip().splitlines()[-1]
        st, _, body = moto.aws("ebs", "GET", f"/snapshots/{snap}/blocks?maxResults=10000")
        listing = json.loads(body)
        bs = int(listing["BlockSize"])
        blocks = listing["Blocks"]
        ebs_reads = [{"url": f"{moto.endpoint}/snapshots/{snap}/blocks/"
                             f"{b['BlockIndex']}?blockToken={b['BlockToken']}",
                      "headers": [AUTH["ebs"]]} for b in blocks]
        rows.append(move("ebs", f"ebs:{snap}", [], azurite, moto, ebs_reads, len(blocks) * bs))
        # The S3 object: the smaller disk as qcow2.
        make_disk("s3disk.raw", S3_DISK_BYTES, S3_DATA_BYTES)
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "s3disk.raw",
                        "disk.qcow2"], check=True)
        st, _, _ = moto.s3("PUT", "/bench-src")
        with open("disk.qcow2", "rb") as f:
            st, _, _ = moto.s3("PUT", "/bench-src/disk.qcow2", f.read(),
                               {"content-type": "application/octet-stream"})
        if st != 200:
            sys.exit(f"PUT disk.qcow2: {st}")
        qsize = os.path.getsize("disk.qcow2")
        s3_reads = [{"url": f"{moto.endpoint}/bench-src/disk.qcow2",
                     "headers": [AUTH["s3"], f"Range: bytes={a}-{min(qsize, a + MIB) - 1}"]}
                    for a in range(0, qsize, MIB)]
        rows.append(move("s3-qcow2", "s3://bench-src/disk.qcow2", [], azurite, moto, s3_reads,
                         qsize))
    finally:
        moto.stop()
        azurite.stop()
    print(f"""### Cloud to cloud: remote sources into an Azure page blob (moto and Azurite, loopback)

Disks (bench/cloud_bench_lib.py make_disk): {size_text(DISK_BYTES)} sparse raw with {size_text(DATA_BYTES)} of
data as an EBS snapshot of its data blocks ({bs}-byte blocks); {size_text(S3_DISK_BYTES)} with
{size_text(S3_DATA_BYTES)} of data as a qcow2 S3 object (moto's S3 copies the whole object for
each ranged GET, so a larger object times moto).
Floors: curl alone with the same requests, 8 at a time: the source's reads and the destination's
Put Page writes, each on its own, and both at once (8 + 8: the move drives both servers at
once, and they share the same cores). {os.cpu_count()} cores; load average
{' '.join(open('/proc/loadavg').read().split()[:3])}. Command: `{' '.join(['python3', 'bench/remote_compare.py'] + (['--quick'] if QUICK else []))}`.

| source | wall | read floor | write floor | vs slower floor | both at once | vs both | received / source data | requests | sent / pages written | peak RSS |
|---|---|---|---|---|---|---|---|---|---|---|""")
    for r in rows:
        slower = max(r["read_floor"], r["write_floor"])
        print(f"| {r['name']} | {r['wall']:.2f} s | {r['read_floor']:.2f} s | "
              f"{r['write_floor']:.2f} s ({r['puts']} puts) | {r['wall'] / slower:.2f}x | "
              f"{r['both']:.2f} s | {r['wall'] / r['both']:.2f}x | "
              f"{r['received']:,} / {r['source_bytes']:,} = {r['received'] / r['source_bytes']:.4f} | "
              f"{r['requests']} | {r['sent']:,} / {r['pages']:,} = {r['sent'] / max(1, r['pages']):.4f} | "
              f"{r['rss']} MiB |")
    print()


main()
