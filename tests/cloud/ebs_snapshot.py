"""cloud.ebs_snapshot: vdconvert convert --to aws-snapshot SRC ebs: into moto's EBS direct APIs,
checked by reassembling the snapshot (ListSnapshotBlocks, GetSnapshotBlock) and comparing sha256
with qemu-img's raw view; the requests are watched through a proxy: by default every block of
the whole-GiB volume is put (zero blocks included), each with its SHA-256, and CompleteSnapshot
carries the block count and the LINEAR checksum (moto checks neither, so the test does); every
input format qemu-img writes; --omit-zero-blocks puts only data blocks and warns, and is refused
for an encrypted snapshot; faults retried; a failure deletes the pending snapshot; --verify
(ListSnapshotBlocks and GetSnapshotBlock: an exact snapshot and one of data blocks only pass; a
block corrupted on its way, its x-amz-Checksum recomputed, fails with exit 3 at its offset, and
passes unnoticed without --verify); the server killed mid-upload fails with one line.

moto answers StartSnapshot with BlockSize 512 where AWS says 524288 (an exact 1 GiB snapshot
would be two million requests): moto runs here through moto_launcher.py, which makes it state
AWS's 524288; one more moto keeps its own 512 for a run with --omit-zero-blocks, to show that
vdconvert follows the reply. moto never says a snapshot is encrypted (it ignores Encrypted and
KmsKeyArn and its reply has neither), so the refusal is tested with the proxy adding AWS's
KmsKeyArn member to moto's StartSnapshot reply.

Usage: ebs_snapshot.py VDCONVERT WORKDIR
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ("qemu-img", "xorriso"))
SECRET = "vdisk-ebs-secret-Kp3x"
ENV = dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
           AWS_ACCESS_KEY_ID="AKIAVDISKTEST", AWS_SECRET_ACCESS_KEY=SECRET,
           AWS_REGION="us-east-1", HOME=WORK)
fail, ok = cl.fail, cl.ok
run = cl.Runner(VD, ENV, [SECRET])


def make_source():
    path = os.path.join(WORK, "src.raw")
    with open(path, "wb") as f:
        f.truncate(3 * (1 << 20) + 7 * 512)  # not a whole block count of 512 KiB
        f.seek(4096)
        f.write(os.urandom(96 * 1024))
        f.seek(1 << 20)
        f.write(bytes(64 * 1024))  # allocated zeros: never sent
        f.seek(2 << 20)
        f.write(b"ebs direct api " * 2000)
        f.seek(3 * (1 << 20) + 6 * 512)
        f.write(os.urandom(300))  # the last, partial block
    return path


def reassemble(moto, snap, size, path, exact=True, sent=None):
    """Writes the snapshot's first `size` bytes to `path`; returns the block size, the blocks
    listed, the LINEAR checksum of the blocks held and how many of them hold only zeros. When
    `exact`, every block of the volume must be held and the ones past `size` must be zeros.
    `sent` (a FaultProxy's put_sha256), when given, spares the GET of each block the proxy saw
    put as a zero block: the raw upload reads all 2048 back, proving moto keeps what it is
    given; the other inputs read back their data blocks only (each GET costs moto ~3 ms)."""
    st, _, body = moto.aws("ebs", "GET", f"/snapshots/{snap}/blocks?maxResults=10000")
    if st != 200:
        fail(f"ListSnapshotBlocks {snap}: {st} {body[:200]}")
    listing = json.loads(body)
    bs = int(listing["BlockSize"])
    volume = int(listing["VolumeSize"]) << 30
    # moto gives the index as the string the client sent (AWS: an integer).
    blocks = sorted(({"BlockIndex": int(b["BlockIndex"]), "BlockToken": b["BlockToken"]}
                     for b in listing["Blocks"]), key=lambda b: b["BlockIndex"])
    if exact and [b["BlockIndex"] for b in blocks] != list(range(volume // bs)):
        fail(f"{snap}: {len(blocks)} blocks held, not every one of the volume's {volume // bs}")
    data = bytearray(size + bs)
    digests = []
    zero = bytes(bs)
    zeros = 0
    zero_sha = hashlib.sha256(zero).digest()
    for b in blocks:
        if sent and sent.get(f"/snapshots/{snap}/blocks/{b['BlockIndex']}") == zero_sha:
            zeros += 1
            digests.append(zero_sha)
            continue
        st, h, block = moto.aws("ebs", "GET", f"/snapshots/{snap}/blocks/{b['BlockIndex']}"
                                f"?blockToken={b['BlockToken']}")
        if st != 200 or len(block) != bs:
            fail(f"GetSnapshotBlock {b['BlockIndex']}: {st}, {len(block)} bytes")
        at = b["BlockIndex"] * bs
        if at < size:
            data[at:at + bs] = block
        elif block != zero:
            fail(f"{snap}: block {b['BlockIndex']}, past the disk's end, holds data")
        zeros += block == zero
        digests.append(hashlib.sha256(block).digest())
    with open(path, "wb") as f:
        f.write(data[:size])
    if any(data[size:]):
        fail("the last block holds bytes past the disk's end")
    linear = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
    return bs, blocks, linear, zeros


def data_blocks(path, bs):
    """The blocks of `bs` bytes of the file that hold a non-zero byte."""
    n = 0
    zero = bytes(bs)
    with open(path, "rb") as f:
        while True:
            b = f.read(bs)
            if not b:
                return n
            n += b != zero[:len(b)]


def check_complete(label, proxy, count, linear):
    done = [r for r in proxy.requests if "/snapshots/completion/" in r[1]]
    if len(done) != 1:
        fail(f"{label}: {len(done)} CompleteSnapshot requests")
    h = done[0][2]
    if h.get("x-amz-changedblockscount") != str(count) or h.get("x-amz-checksum") != linear or \
            h.get("x-amz-checksum-aggregation-method") != "LINEAR":
        fail(f"{label}: CompleteSnapshot headers {h}; expected {count} blocks, {linear}")


def main():
    moto = cl.Moto(WORK)
    try:
        tests(moto)
    finally:
        moto.stop()
    moto512 = cl.Moto(WORK, ebs_block_size=512)
    try:
        omit_tests(moto512, 512)
    finally:
        moto512.stop()
    print("PASS: cloud.ebs_snapshot")


def tests(moto):
    src = make_source()
    size = os.path.getsize(src)
    inputs = [("raw", src, src)]
    for fmt, opts in (("qcow2", ["-c"]), ("stream-vmdk", ["-o", "subformat=streamOptimized"]),
                      ("vmdk", []), ("vpc", ["-o", "subformat=fixed,force_size=on"]),
                      ("vhdx", []), ("vdi", [])):
        p = os.path.join(WORK, f"src.{fmt}")
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt.replace("stream-", ""),
                        *opts, src, p], check=True)
        inputs.append((fmt, p, src))
    # Inputs qemu-img does not read: an OVA (the stream VMDK inside) and an ISO (its own bytes).
    inputs.append(("ova", cl.make_ova(os.path.join(WORK, "src.stream-vmdk"),
                                      os.path.join(WORK, "src.ova")), src))
    iso = cl.make_iso(os.path.join(WORK, "src.iso"), files=2, file_bytes=48 * 1024)
    inputs.append(("iso", iso, iso))
    for fmt, path, expected in inputs:
        want = os.path.getsize(expected)
        proxy = cl.FaultProxy(moto.port)
        try:
            _, out, stdout = run(["convert", "--to", "aws-snapshot", "--json", "--endpoint-url",
                                  f"http://127.0.0.1:{proxy.port}", "--description",
                                  f"from {fmt}", "--tag", "origin=vdconvert", path, "ebs:"])
            up = json.loads(stdout)["upload"]
            snap = up["object_id"]
            if not re.fullmatch(r"snap-[0-9a-f]+", snap) or up["block_bytes"] != 524288:
                fail(f"{fmt}: upload report {up}")
            got = os.path.join(WORK, f"{fmt}.snapshot.raw")
            bs, blocks, linear, zeros = reassemble(
                moto, snap, want, got, sent=None if fmt == "raw" else proxy.put_sha256)
            if cl.sha_file(expected) != cl.sha_file(got):
                fail(f"{fmt}: the snapshot differs from the source")
            puts = [r for r in proxy.requests if r[0] == "PUT" and "/blocks/" in r[1]]
            for method, target, headers in puts:
                if headers.get("x-amz-checksum-algorithm") != "SHA256" or \
                        headers.get("x-amz-data-length") != str(bs):
                    fail(f"{fmt}: PutSnapshotBlock headers {headers}")
            check_complete(fmt, proxy, len(blocks), linear)
            start = [r for r in proxy.requests if r[0] == "POST" and r[1] == "/snapshots"]
            if len(start) != 1 or len(puts) != len(blocks) or up["blocks_sent"] != len(blocks) or \
                    up["zero_blocks_sent"] != zeros or up["requests"] != len(blocks) or \
                    up["bytes_sent"] != len(blocks) * bs:
                fail(f"{fmt}: {len(start)} StartSnapshot, {len(puts)} puts for {len(blocks)} "
                     f"blocks ({zeros} zero blocks); report {up}")
            if f"({len(blocks)} blocks, {zeros} of them zero blocks)" not in out:
                fail(f"{fmt}: the summary line does not count the blocks: {out}")
            ok(f"{fmt} -> {snap}: every one of the volume's {len(blocks)} blocks of {bs} bytes "
               f"put ({zeros} zero blocks), reassembled = source, LINEAR checksum {linear}")
        finally:
            proxy.stop()
            moto.reset()  # an exact snapshot holds its whole volume in moto's memory

    # Faults (503, throttling with Retry-After, a reset) are retried; the snapshot is exact.
    proxy = cl.FaultProxy(moto.port, {3: "503", 6: "429", 9: "reset", 12: "503"})
    try:
        _, _, stdout = run(["convert", "--to", "aws-snapshot", "--json", "--endpoint-url",
                            f"http://127.0.0.1:{proxy.port}", src, "ebs:"])
        up = json.loads(stdout)["upload"]
        got = os.path.join(WORK, "faults.snapshot.raw")
        reassemble(moto, up["object_id"], size, got, sent=proxy.put_sha256)
        moto.reset()
        # Every fault was met and each answered one (503, 429) cost a retry; a reset of a
        # kept-alive connection may be retried by libcurl itself on a new connection, unseen by
        # our count (seen once in a CI rehearsal: 3 retries for the 4 faults).
        answered = [f for _, f in proxy.triggered if f != "reset"]
        if cl.sha_file(got) != cl.sha_file(src) or len(proxy.triggered) != 4 or \
                up["retries"] < len(answered):
            fail(f"faults: content or retries wrong: {up}, faults {proxy.triggered}")
        ok(f"faults {proxy.triggered}: {up['retries']} retries, the snapshot is exact")
    finally:
        proxy.stop()

    # A block that always fails: one error line, the pending snapshot deleted.
    proxy = cl.FaultProxy(moto.port, rule=lambda m, t: "503" if t.endswith("/blocks/20") else None)
    try:
        rc, out, _ = run(["convert", "--to", "aws-snapshot", "--retries", "1", "--endpoint-url",
                          f"http://127.0.0.1:{proxy.port}", src, "ebs:"], expect=None)
        errors = [ln for ln in out.splitlines() if "error:" in ln]
        if rc == 0 or len(errors) != 1 or "PutSnapshotBlock 20" not in errors[0]:
            fail(f"failing block: exit {rc}: {out}")
        deletes = [r for r in proxy.requests if r[0] == "POST" and r[1] == "/"]
        if not deletes or "was deleted" not in out:
            fail(f"failing block: the pending snapshot was not deleted: {out}")
        ok(f"a failing block: exit {rc}, one error line, the pending snapshot deleted")
    finally:
        proxy.stop()

    omit_tests(moto, 524288)
    encrypted_tests(moto, src)
    verify_tests(moto, src)

    # Refusals: another DST for aws-snapshot, ebs: for another target, no credentials.
    for args, why in ((["--to", "aws-snapshot", src, "out.raw"], "ebs:"),
                      (["--to", "raw", src, "ebs:"], "aws-snapshot")):
        rc, out, _ = run(["convert"] + args, expect=None)
        if rc == 0 or why not in out:
            fail(f"{args}: exit {rc}: {out}")
    ok("--to aws-snapshot takes DST ebs: and only it")

    # The server killed mid-upload (last: moto's state goes with it): one clear line, soon.
    proxy = cl.FaultProxy(moto.port, {10: "kill"}, on_kill=moto.stop)
    try:
        t0 = time.time()
        rc, out, _ = run(["convert", "--to", "aws-snapshot", "--retries", "2", "--endpoint-url",
                          f"http://127.0.0.1:{proxy.port}", src, "ebs:"], expect=None)
        took = time.time() - t0
        errors = [ln for ln in out.splitlines() if "error:" in ln]
        if rc == 0 or len(errors) != 1 or took > 120:
            fail(f"server killed: exit {rc} after {took:.1f} s: {out}")
        ok(f"the server killed mid-upload: exit {rc} after {took:.1f} s, {errors[0]}")
    finally:
        proxy.stop()


def verify_tests(moto, src):
    """--verify: the snapshot is read back block by block and compared."""
    ep = f"http://127.0.0.1:{moto.port}"
    # Exact (the default): every block of the 1 GiB volume is listed and read back.
    _, out, stdout = run(["convert", "--to", "aws-snapshot", "--verify", "--json", "-p",
                          "--endpoint-url", ep, src, "ebs:"])
    up = json.loads(stdout)["upload"]
    if not up.get("verified") or up.get("verify_bytes_read") != 1 << 30:
        fail(f"--verify, exact: report {up}")
    if "verified (1.00 GiB read back)" not in out:
        fail(f"--verify, exact: the summary line does not say it: {out}")
    moto.reset()
    ok("--verify reads every block of an exact 1 GiB snapshot back and passes")
    # Data blocks only: the blocks not listed must have been zero blocks. The snapshot is still
    # pending at the first DescribeSnapshots (as AWS's often is after CompleteSnapshot): the
    # read-back waits for it to complete.
    pending = {"left": 2}

    def still_pending(method, target, body):
        if b"DescribeSnapshotsResponse" in body and pending["left"]:
            pending["left"] -= 1
            return body.replace(b"<status>completed</status>", b"<status>pending</status>")
        return None
    proxy = cl.FaultProxy(moto.port, edit_reply=still_pending)
    try:
        _, _, stdout = run(["convert", "--to", "aws-snapshot", "--omit-zero-blocks", "--verify",
                            "--json", "--endpoint-url", f"http://127.0.0.1:{proxy.port}", src,
                            "ebs:"])
        described = [r for r in proxy.requests if r[0] == "POST" and r[1] == "/"]
    finally:
        proxy.stop()
    up = json.loads(stdout)["upload"]
    if not up.get("verified") or up.get("verify_bytes_read") != up["blocks_sent"] * 524288 or \
            pending["left"] or len(described) != 3:
        fail(f"--verify, omit-zero-blocks: report {up}, {len(described)} DescribeSnapshots")
    ok(f"--verify with --omit-zero-blocks waits for the completed state (3 DescribeSnapshots), "
       f"reads the {up['blocks_sent']} blocks put and passes")

    # Block 4 (2 MiB, a data block wholly inside the disk) corrupted on its way (its middle byte
    # flipped, its x-amz-Checksum recomputed so the service takes it): only --verify sees it.
    # Chosen by index, not by the order of the puts, which the parallel upload does not fix: the
    # last block's middle byte lies past the disk's end, where the check below cannot see it.
    for flag in (["--verify"], []):

        def rule(method, target):
            if method == "PUT" and target.split("?")[0].endswith("/blocks/4"):
                return "corrupt"
            return None
        proxy = cl.FaultProxy(moto.port, rule=rule)
        try:
            rc, out, stdout = run(["convert", "--to", "aws-snapshot", "--omit-zero-blocks",
                                   *flag, "--endpoint-url", f"http://127.0.0.1:{proxy.port}",
                                   src, "ebs:"], expect=None)
            if len(proxy.corrupted) != 1:
                fail(f"corrupt proxy: {len(proxy.corrupted)} requests corrupted: {out}")
            target, _, index = proxy.corrupted[0]
            block = int(target.rsplit("/", 1)[1])
        finally:
            proxy.stop()
        at = block * 524288
        if flag:
            want = f"read back: the bytes differ from those sent at offset {at} "
            if rc != 3 or want not in out:
                fail(f"--verify of a corrupted snapshot: exit {rc}, expected 3 and '{want}': {out}")
            ok(f"--verify: a byte flipped in block {block} fails with exit 3: "
               f"{[ln for ln in out.splitlines() if 'error:' in ln][0]}")
        else:
            if rc != 0:
                fail(f"a corrupted snapshot without --verify: exit {rc}: {out}")
            snap = json.loads(stdout)["upload"]["object_id"] if stdout.startswith("{") else \
                re.search(r"snap-[0-9a-f]+", stdout).group(0)
            got = os.path.join(WORK, "corrupt.snapshot.raw")
            reassemble(moto, snap, os.path.getsize(src), got, exact=False)
            with open(got, "rb") as f, open(src, "rb") as g:
                f.seek(at + index)
                g.seek(at + index)
                if f.read(1) == g.read(1):
                    fail(f"corrupt proxy: byte {at + index} of the snapshot is the source's")
            ok("without --verify the same corruption passes unnoticed (exit 0)")
    moto.reset()


def omit_tests(moto, want_bs):
    """--omit-zero-blocks: only the blocks holding data are put, with a warning."""
    src = os.path.join(WORK, "src.raw")
    size = os.path.getsize(src)
    proxy = cl.FaultProxy(moto.port)
    try:
        _, out, stdout = run(["convert", "--to", "aws-snapshot", "--omit-zero-blocks", "--json",
                              "--endpoint-url", f"http://127.0.0.1:{proxy.port}", src, "ebs:"])
        up = json.loads(stdout)["upload"]
        got = os.path.join(WORK, f"omit-{want_bs}.snapshot.raw")
        bs, blocks, linear, zeros = reassemble(moto, up["object_id"], size, got, exact=False)
        want = data_blocks(src, bs)
        puts = [r for r in proxy.requests if r[0] == "PUT" and "/blocks/" in r[1]]
        warnings = [ln for ln in out.splitlines() if "warning:" in ln]
        if bs != want_bs or up["block_bytes"] != bs or cl.sha_file(got) != cl.sha_file(src) or \
                len(blocks) != want or len(puts) != want or zeros != 0 or \
                up["blocks_sent"] != want or up["zero_blocks_sent"] != 0:
            fail(f"--omit-zero-blocks at {want_bs}: {len(puts)} puts, {len(blocks)} blocks held "
                 f"({zeros} zero) of {want} data blocks; report {up}")
        if len(warnings) != 1 or "omit-zero-blocks" not in warnings[0] or \
                "encrypted volume" not in warnings[0] or "random data" not in warnings[0]:
            fail(f"--omit-zero-blocks: expected one warning naming the risk: {out}")
        check_complete("--omit-zero-blocks", proxy, want, linear)
        ok(f"--omit-zero-blocks, moto stating {bs}-byte blocks: {want} data blocks put of "
           f"{(size + bs - 1) // bs}, reassembled = source, warned: {warnings[0][:70]}...")
    finally:
        proxy.stop()
        moto.reset()


def encrypted_tests(moto, src):
    """A StartSnapshot reply naming a KMS key (what AWS answers for an encrypted snapshot):
    --omit-zero-blocks is refused with one line and the snapshot deleted, nothing put; the
    default (exact) upload goes on."""
    arn = "arn:aws:kms:us-east-1:123456789012:key/0f5e8a4e-vdisk-test"

    def encrypted(method, target, body):
        if method == "POST" and target == "/snapshots":
            reply = json.loads(body)
            reply["KmsKeyArn"] = arn
            return json.dumps(reply).encode()
        return None

    proxy = cl.FaultProxy(moto.port, edit_reply=encrypted)
    try:
        rc, out, stdout = run(["convert", "--to", "aws-snapshot", "--omit-zero-blocks",
                               "--endpoint-url", f"http://127.0.0.1:{proxy.port}", src, "ebs:"],
                              expect=None)
        errors = [ln for ln in out.splitlines() if "error:" in ln]
        puts = [r for r in proxy.requests if r[0] == "PUT"]
        done = [r for r in proxy.requests if "/snapshots/completion/" in r[1]]
        deletes = [r for r in proxy.requests if r[0] == "POST" and r[1] == "/"]
        if rc == 0 or len(errors) != 1 or "encrypted" not in errors[0] or arn not in errors[0] \
                or "omit-zero-blocks" not in errors[0]:
            fail(f"--omit-zero-blocks, encrypted snapshot: exit {rc}: {out}")
        if puts or done or len(deletes) != 1 or "was deleted" not in out or stdout.strip():
            fail(f"--omit-zero-blocks, encrypted snapshot: {len(puts)} puts, {len(done)} "
                 f"completions, {len(deletes)} deletes: {out}")
        ok(f"--omit-zero-blocks refused for an encrypted snapshot (exit {rc}), nothing put, "
           f"the snapshot deleted: {errors[0][:90]}...")
        before = len(proxy.requests)
        _, _, stdout = run(["convert", "--to", "aws-snapshot", "--json", "--endpoint-url",
                            f"http://127.0.0.1:{proxy.port}", src, "ebs:"])
        up = json.loads(stdout)["upload"]
        got = os.path.join(WORK, "encrypted.snapshot.raw")
        _, blocks, _, _ = reassemble(moto, up["object_id"], os.path.getsize(src), got,
                                     sent=proxy.put_sha256)
        if cl.sha_file(got) != cl.sha_file(src) or up["blocks_sent"] != len(blocks) or \
                len(proxy.requests) - before != len(blocks) + 2:
            fail(f"encrypted snapshot, default: report {up}")
        ok(f"an encrypted snapshot without --omit-zero-blocks: all {len(blocks)} blocks put, exact")
    finally:
        proxy.stop()
        moto.reset()


main()
