"""cloud.ebs_source: EBS snapshots as a SRC (ebs:snap-...) against moto's EBS direct APIs, run
through moto_launcher.py (which makes moto answer as AWS documents: integer indexes in order,
pages with a NextToken, ListChangedBlocks over both snapshots, block tokens checked), with pages
capped at 7 blocks (VDISK_MOTO_EBS_PAGE) so every list here spans several pages:
- a snapshot vdconvert made (--to aws-snapshot), read back whole with `convert --to raw` equals
  the source disk padded to the whole GiB (sha256), both an exact one (every block listed and
  fetched) and one of data blocks only (only the listed blocks are fetched: the map says the
  rest reads as zeros); `info ebs:snap-...` states the map; a 503, a 429 and a reset on the way
  are retried and the disk still reads exact;
- a block stored with a checksum that is not its bytes' (put straight through moto's API, which
  stores what it gets): fetched again, then exit 3 naming the block, its offset, expected and
  found;
- incremental: snapshot A of disk1; disk2 = disk1 with a block changed, new data in a hole and a
  data block zeroed; B a full copy of disk2; A' a full copy of ebs:A (tagged vdconvert:source =
  ebs:snap-A); then `--since A --parent-snapshot A' ebs:B ebs:` makes C holding only the changed
  blocks (ListSnapshotBlocks), the zeroed one as a zero block, counted and aggregated in
  CompleteSnapshot; A' overlaid with C equals disk2 (moto does not merge a child with its parent:
  the blocks are read from each); a parent whose tag is not the base, or that has none, and a
  base of another volume size are refused with one line before any snapshot is started.

Usage: ebs_source.py VDCONVERT WORKDIR
"""
import base64
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ())
SECRET = "vdisk-ebs-src-secret-Q7wz"
ENV = dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
           AWS_ACCESS_KEY_ID="AKIAVDISKTEST", AWS_SECRET_ACCESS_KEY=SECRET,
           AWS_REGION="us-east-1", HOME=WORK)
fail, ok = cl.fail, cl.ok
run = cl.Runner(VD, ENV, [SECRET])
BS = 524288
GIB = 1 << 30
PAGE = 7
os.environ["VDISK_MOTO_EBS_PAGE"] = str(PAGE)  # read by moto_launcher.py (moto's process)


def make_disk(path, changes=()):
    """4 MiB + 3 KiB: data in blocks 0, 1, 3, 6 and 8 (the last, partial), holes 2, 4, 5 and 7;
    `changes` (block, bytes or None for zeros) applied over it."""
    size = 4 * (1 << 20) + 3072
    rnd = __import__("random").Random(29)
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(100)
        f.write(bytes(rnd.getrandbits(8) for _ in range(BS + 5000)))  # blocks 0 and 1
        f.seek(3 * BS + 7)
        f.write(b"block three " * 3000)
        f.seek(6 * BS)
        f.write(bytes(rnd.getrandbits(8) for _ in range(40000)))
        f.seek(size - 1000)
        f.write(b"t" * 1000)  # block 8, the last, partial
        for block, data in changes:
            f.seek(block * BS)
            f.write(data if data is not None else bytes(BS))
    return path


def sha_padded(path, total):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    left = total - os.path.getsize(path)
    zero = bytes(1 << 20)
    while left > 0:
        n = min(left, len(zero))
        h.update(zero[:n])
        left -= n
    return h.hexdigest()


def blocks_of(moto, snap):
    """ListSnapshotBlocks page by page: {index: token}, the block size, the volume bytes, pages."""
    out, token, pages = {}, None, 0
    while True:
        q = f"/snapshots/{snap}/blocks?maxResults=100" + (f"&pageToken={token}" if token else "")
        st, _, body = moto.aws("ebs", "GET", q)
        if st != 200:
            fail(f"ListSnapshotBlocks {snap}: {st} {body[:200]}")
        reply = json.loads(body)
        pages += 1
        for b in reply["Blocks"]:
            out[b["BlockIndex"]] = b["BlockToken"]
        token = reply.get("NextToken")
        if not token:
            return out, reply["BlockSize"], reply["VolumeSize"] * GIB, pages


def block(moto, snap, index, token):
    st, _, data = moto.aws("ebs", "GET", f"/snapshots/{snap}/blocks/{index}?blockToken={token}")
    if st != 200:
        fail(f"GetSnapshotBlock {snap} {index}: {st}")
    return data


def tag_of(moto, snap):
    form = f"Action=DescribeSnapshots&SnapshotId.1={snap}&Version=2016-11-15".encode()
    st, _, body = moto.aws("ec2", "POST", "/", form,
                           {"content-type": "application/x-www-form-urlencoded"})
    if st != 200:
        fail(f"DescribeSnapshots {snap}: {st}")
    m = re.search(rb"<key>vdconvert:source</key><value>([^<]*)</value>", body)
    return m.group(1).decode() if m else None


def snapshot(ep, src, extra=()):
    _, _, stdout = run(["convert", "--to", "aws-snapshot", "--json", "--endpoint-url", ep,
                        *extra, src, "ebs:"])
    return json.loads(stdout)["upload"]


def gets(proxy, snap=None):
    """The GetSnapshotBlock requests the proxy saw (of `snap` when given), as block indexes."""
    out = []
    for method, target, _ in proxy.requests:
        m = re.match(r"/snapshots/([^/]+)/blocks/(\d+)\?", target)
        if method == "GET" and m and (snap is None or m.group(1) == snap):
            out.append(int(m.group(2)))
    return out


def full_reads(moto, disk):
    ep = moto.endpoint
    for label, extra in (("exact", []), ("data blocks only", ["--omit-zero-blocks"])):
        up = snapshot(ep, disk, extra)
        snap = up["object_id"]
        listed, bs, volume, pages = blocks_of(moto, snap)
        proxy = cl.FaultProxy(moto.port)
        try:
            _, _, stdout = run(["info", "--json", "--endpoint-url",
                                f"http://127.0.0.1:{proxy.port}", f"ebs:{snap}"])
            info = json.loads(stdout)["remote_source"]
            want = {"kind": "ebs-snapshot", "object": f"ebs:{snap}", "bytes": GIB,
                    "block_bytes": BS, "blocks_listed": len(listed),
                    "identity": f"ebs:{snap}"}
            if any(info.get(k) != v for k, v in want.items()):
                fail(f"{label}: info says {info}, expected {want}")
            before, before_gets = len(proxy.requests), len(gets(proxy))
            out = os.path.join(WORK, "full.raw")
            run(["convert", "--to", "raw", "--endpoint-url", f"http://127.0.0.1:{proxy.port}",
                 f"ebs:{snap}", out])
            seen = gets(proxy)[before_gets:]
            lists = [r for r in proxy.requests[before:] if re.search(r"/blocks\?", r[1])]
        finally:
            proxy.stop()
        if os.path.getsize(out) != GIB or cl.sha_file(out) != sha_padded(disk, GIB):
            fail(f"{label}: ebs:{snap} read as raw differs from the disk padded to 1 GiB")
        if sorted(set(seen)) != sorted(listed) or len(lists) != pages:
            fail(f"{label}: {len(seen)} GetSnapshotBlock ({len(set(seen))} blocks) for "
                 f"{len(listed)} blocks listed; {len(lists)} list requests for {pages} pages")
        os.remove(out)
        ok(f"{label}: ebs:{snap} ({len(listed)} blocks listed in {pages} pages of <= {PAGE}) "
           f"read as raw = the disk (sha256 over 1 GiB); {len(seen)} GetSnapshotBlock requests, "
           f"only blocks listed, {len(set(seen))} distinct; info states the map")
        if label == "exact":
            moto.reset()
            continue
        # Faults on the way (a 503 on the list, a 429 and a reset on blocks): retried, exact.
        proxy = cl.FaultProxy(moto.port, {2: "503", 4: "429", 6: "reset"})
        try:
            _, _, stdout = run(["convert", "--to", "raw", "--json", "--endpoint-url",
                                f"http://127.0.0.1:{proxy.port}", f"ebs:{snap}", out])
        finally:
            proxy.stop()
        net = json.loads(stdout)["source"].get("network", {})
        if cl.sha_file(out) != sha_padded(disk, GIB) or net.get("retries", 0) < 2:
            fail(f"faults: {proxy.triggered}, network {net}")
        os.remove(out)
        ok(f"faults {proxy.triggered} while reading ebs:{snap}: {net.get('retries')} retries, "
           f"the disk read exact")


def corrupted_block(moto):
    """A block whose stored checksum is not its bytes' SHA-256."""
    st, _, body = moto.aws("ebs", "POST", "/snapshots", json.dumps({"VolumeSize": 1}).encode(),
                           {"content-type": "application/json"})
    snap = json.loads(body)["SnapshotId"]
    datas = {i: bytes([i + 1]) * BS for i in range(4)}
    for i, data in datas.items():
        said = data if i != 2 else b"other bytes"
        st, _, body = moto.aws("ebs", "PUT", f"/snapshots/{snap}/blocks/{i}", data, {
            "x-amz-Data-Length": str(BS), "x-amz-Checksum-Algorithm": "SHA256",
            "x-amz-Checksum": base64.b64encode(hashlib.sha256(said).digest()).decode(),
            "content-type": "application/octet-stream"})
        if st != 201:
            fail(f"PutSnapshotBlock {i}: {st} {body[:200]}")
    moto.aws("ebs", "POST", f"/snapshots/completion/{snap}", b"",
             {"x-amz-ChangedBlocksCount": "4"})
    proxy = cl.FaultProxy(moto.port)
    try:
        rc, out, _ = run(["convert", "--to", "raw", "--retries", "2", "--endpoint-url",
                          f"http://127.0.0.1:{proxy.port}", f"ebs:{snap}",
                          os.path.join(WORK, "bad.raw")], expect=3)
        tries = gets(proxy).count(2)
    finally:
        proxy.stop()
    errors = [ln for ln in out.splitlines() if "error:" in ln]
    want = (f"ebs:{snap}: GetSnapshotBlock 2 (offset {2 * BS}): x-amz-Checksum expected "
            f"{base64.b64encode(hashlib.sha256(datas[2]).digest()).decode()}")
    found = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    if len(errors) != 1 or want not in errors[0] or f"found '{found}'" not in errors[0] or \
            tries != 3:
        fail(f"a corrupted block: exit {rc}, {tries} GetSnapshotBlock 2 (3 expected): {out}")
    ok(f"a corrupted block: fetched {tries} times, exit 3: {errors[0][:150]}...")


def incremental(moto, disk1):
    ep = moto.endpoint
    disk2 = make_disk(os.path.join(WORK, "disk2.raw"), [
        (1, os.urandom(BS)),            # data -> other data
        (4, b"new data in a hole" * 29000),  # hole -> data (block 4)
        (6, None)])                     # data -> zeros
    changed = {1: "data", 4: "data", 6: "zeros"}
    a = snapshot(ep, disk1, ["--omit-zero-blocks"])["object_id"]
    b = snapshot(ep, disk2, ["--omit-zero-blocks"])["object_id"]
    a2 = snapshot(ep, f"ebs:{a}", ["--omit-zero-blocks"])["object_id"]
    if tag_of(moto, a2) != f"ebs:{a}" or tag_of(moto, a) is not None:
        fail(f"the copy {a2} of ebs:{a} is tagged {tag_of(moto, a2)}; {a}: {tag_of(moto, a)}")
    ok(f"A = {a}, B = {b}; A' = {a2}, a full copy of ebs:{a}, tagged vdconvert:source=ebs:{a}")

    proxy = cl.FaultProxy(moto.port)
    try:
        _, out, stdout = run(["convert", "--to", "aws-snapshot", "--json", "--since", a,
                              "--parent-snapshot", a2, "--endpoint-url",
                              f"http://127.0.0.1:{proxy.port}", f"ebs:{b}", "ebs:"])
        read = gets(proxy, b)
        done = [r for r in proxy.requests if "/snapshots/completion/" in r[1]]
    finally:
        proxy.stop()
    report = json.loads(stdout)
    up = report["upload"]
    c = up["object_id"]
    held, _, _, _ = blocks_of(moto, c)
    if sorted(held) != sorted(changed) or up["blocks_sent"] != 3 or \
            up["zero_blocks_sent"] != 1 or up["bytes_sent"] != 3 * BS:
        fail(f"incremental: {c} holds blocks {sorted(held)}, expected {sorted(changed)}; {up}")
    digests = []
    for i in sorted(held):
        data = block(moto, c, i, held[i])
        with open(disk2, "rb") as f:
            f.seek(i * BS)
            want = f.read(BS).ljust(BS, b"\0")
        if data != want or (changed[i] == "zeros") != (data == bytes(BS)):
            fail(f"incremental: block {i} of {c} is not disk2's")
        digests.append(hashlib.sha256(data).digest())
    linear = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
    h = done[0][2] if len(done) == 1 else {}
    if h.get("x-amz-changedblockscount") != "3" or h.get("x-amz-checksum") != linear:
        fail(f"incremental: CompleteSnapshot headers {h}; expected 3 blocks, {linear}")
    if tag_of(moto, c) != f"ebs:{b}":
        fail(f"incremental: {c} is tagged {tag_of(moto, c)}, expected ebs:{b}")
    # The changed data blocks of B are read, and besides them only block 0 (probing the disk
    # reads its start): no unchanged block, not even ahead; the zeroed block B does not hold.
    if not {1, 4} <= set(read) or not set(read) <= {0, 1, 4} or \
            report["source"].get("changed_bytes") != 3 * BS:
        fail(f"incremental: read blocks {sorted(set(read))} of {b}; source {report['source']}")
    # A' overlaid with C (moto does not merge them) = disk2.
    parent, _, _, _ = blocks_of(moto, a2)
    image = bytearray(8 * (1 << 20))
    for snap, listed in ((a2, parent), (c, held)):
        for i, t in listed.items():
            image[i * BS:(i + 1) * BS] = block(moto, snap, i, t)
    with open(disk2, "rb") as f:
        d2 = f.read()
    if bytes(image[:len(d2)]) != d2 or any(image[len(d2):]):
        fail(f"incremental: {a2} overlaid with {c} is not disk2")
    ok(f"incremental: ebs:{b} since {a} onto parent {a2} -> {c}: blocks {sorted(held)} put "
       f"({up['zero_blocks_sent']} zero block, {up['bytes_sent']} bytes), CompleteSnapshot 3 "
       f"blocks LINEAR {linear}; B blocks read {sorted(set(read))}; A' + C = disk2; tagged "
       f"ebs:{b}")

    # Refusals, each before StartSnapshot: one line, exit 1.
    cases = [
        ([a], "has no tag vdconvert:source"),                  # A itself: no tag
        ([c], f"holds ebs:{b} (its tag vdconvert:source), and the changes are since ebs:{a}"),
    ]
    for parent_args, says in cases:
        proxy = cl.FaultProxy(moto.port)
        try:
            rc, out, _ = run(["convert", "--to", "aws-snapshot", "--since", a,
                              "--parent-snapshot", *parent_args, "--endpoint-url",
                              f"http://127.0.0.1:{proxy.port}", f"ebs:{b}", "ebs:"], expect=1)
            starts = [r for r in proxy.requests if r[0] == "POST" and r[1] == "/snapshots"]
        finally:
            proxy.stop()
        errors = [ln for ln in out.splitlines() if "error:" in ln]
        if len(errors) != 1 or says not in errors[0] or starts:
            fail(f"parent {parent_args}: exit {rc}, {len(starts)} StartSnapshot: {out}")
        ok(f"parent {parent_args[0]} refused (exit {rc}), nothing started: {errors[0][:140]}")
    big = os.path.join(WORK, "big.raw")
    with open(big, "wb") as f:
        f.truncate(GIB + 4096)
        f.write(b"x" * 4096)
    d = snapshot(ep, big, ["--omit-zero-blocks"])["object_id"]
    rc, out, _ = run(["convert", "--to", "aws-snapshot", "--since", d, "--parent-snapshot", a2,
                      "--endpoint-url", ep, f"ebs:{b}", "ebs:"], expect=1)
    want = f"ebs:{d} is a 2 GiB volume of {BS}-byte blocks and ebs:{b} a 1 GiB volume"
    if want not in out:
        fail(f"since a snapshot of another size: exit {rc}: {out}")
    ok(f"since a 2 GiB snapshot: refused (exit {rc}) naming both")


def main():
    moto = cl.Moto(WORK)
    try:
        disk1 = make_disk(os.path.join(WORK, "disk1.raw"))
        full_reads(moto, disk1)
        corrupted_block(moto)
        incremental(moto, disk1)
    finally:
        moto.stop()
    print("PASS: cloud.ebs_source")


main()
