"""Cloud destinations through the Python binding (vdisk.convert with a DST that is an Azure page
blob URL with a SAS, s3://BUCKET/KEY or "ebs:", over the C API's cloud DST and its aws.*,
http.* and destination keys), against real emulators on 127.0.0.1: Azurite and moto. A qcow2
made by qemu-img is converted into each; each object is read back with the emulator's own API
(Get Blob; GetObject; ListSnapshotBlocks and GetSnapshotBlock) and compared by sha256 with
`qemu-img convert -O raw` of the qcow2, padded as each target pads. A wrong SAS fails with no
secret in the message and no blob left, as does a cancelled upload; an incremental move (since,
parent-snapshot) puts only the changed blocks; a target a destination does not take, and keys
that do not fit the destination's kind, are refused before any request.

ctest runs it (python.vdisk_upload) with PYTHONPATH=python, VDISK_LIBRARY=the built library and
VDISK_CLOUD_PYTHON=the interpreter that has moto. A missing emulator or tool fails the tests,
never skips them.
"""
import hashlib
import json
import os
import socket

import pytest

import vdisk

from cloud_support import GIB, MIB, cl, emulators, make_inputs, sh
import cloud_support

SECRET = "vdisk-py-upload-secret-Xk2w"  # the AWS secret key: must never be shown
TOKEN = "vdisk-py-upload-token-Rr7c"  # the session token: the same


def sha(data):
    return hashlib.sha256(data).hexdigest()


def no_secret(text, extra=()):
    cloud_support.no_secret(text, [SECRET, TOKEN] + list(extra))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("upload"))
    _, qcow2, view = make_inputs(work)
    with open(view, "rb") as f:
        view_bytes = f.read()
    with emulators(work) as (moto, az):
        yield dict(work=work, qcow2=qcow2, view=view_bytes, moto=moto, az=az)


def aws_options(moto, **extra):
    return cloud_support.aws_options(moto, SECRET, TOKEN, **extra)


def test_azure_page_blob(env):
    ep = env["az"].endpoint
    cl.create_container(ep, "disks")
    url = cl.blob_url(ep, "disks", "up.vhd")
    sig = url.split("sig=")[1].split("&")[0]
    report = vdisk.convert(env["qcow2"], url, target="azure",
                           options={"http.connections": 4, "verify": True})
    text = json.dumps(report)
    no_secret(text, [sig])
    up = report["upload"]
    assert up["object"] == url.replace(sig, "REDACTED"), up
    assert up["created"] and up["verified"] and up["requests"] > 0, up
    assert report["output"]["path"] == url.replace(sig, "REDACTED"), report["output"]
    # Read back with Get Blob: the disk (qemu-img's view padded with zeros to whole MiB), then
    # a fixed VHD footer.
    blob = os.path.join(env["work"], "up.vhd.download")
    h = cl.download(ep, "disks", "up.vhd", blob)
    assert h.get("x-ms-blob-type") == "PageBlob", h
    with open(blob, "rb") as f:
        data = f.read()
    disk = len(data) - 512
    assert disk % MIB == 0 and disk >= len(env["view"]), len(data)
    assert data[disk:disk + 8] == b"conectix", data[disk:disk + 8]
    assert sha(data[:disk]) == sha(env["view"] + bytes(disk - len(env["view"])))
    # The blob exists: replaced only with overwrite.
    with pytest.raises(vdisk.AlreadyExists) as err:
        vdisk.convert(env["qcow2"], url, target="azure")
    no_secret(str(err.value), [sig])
    report = vdisk.convert(env["qcow2"], url, target="azure", options={"overwrite": True})
    assert report["upload"]["object"] == url.replace(sig, "REDACTED")
    # A wrong SAS signature: refused by the service, no signature in the message, no blob.
    wrong_url = cl.blob_url(ep, "disks", "wrong.vhd")
    wsig = wrong_url.split("sig=")[1].split("&")[0]
    bad = wrong_url.replace(wsig, "AAAA" + wsig[4:])
    bad_sig = bad.split("sig=")[1].split("&")[0]
    with pytest.raises(vdisk.Error) as err:
        vdisk.convert(env["qcow2"], bad, target="azure", options={"http.retries": 0})
    no_secret(str(err.value), [sig, wsig, bad_sig])
    assert "wrong.vhd" in err.value.message, err.value.message
    assert cl.properties(ep, "disks", "wrong.vhd") is None, "a blob was left by a failed upload"
    # Cancelled once the blob is made (at the copy phase): the partial blob is deleted, as the CLI
    # deletes it, and the message says so (redacted).
    part_url = cl.blob_url(ep, "disks", "part.vhd")
    psig = part_url.split("sig=")[1].split("&")[0]
    with pytest.raises(vdisk.Cancelled) as err:
        vdisk.convert(env["qcow2"], part_url, target="azure",
                      on_progress=lambda p: p.phase != "copy")
    no_secret(str(err.value), [sig, psig])
    assert "part.vhd" in err.value.message and "deleted" in err.value.message, err.value.message
    assert cl.properties(ep, "disks", "part.vhd") is None, "the cancelled upload left its blob"


def test_s3_object(env):
    moto = env["moto"]
    st, _, body = moto.s3("PUT", "/updisks")
    assert st == 200, body[:200]
    # raw: the object is qemu-img's view, byte for byte.
    report = vdisk.convert(env["qcow2"], "s3://updisks/img/disk.raw", target="raw",
                           options=aws_options(moto))
    no_secret(json.dumps(report))
    up = report["upload"]
    assert up["object"] == "s3://updisks/img/disk.raw" and up["created"], up
    assert up["bytes_sent"] == len(env["view"]), up
    st, _, data = moto.s3("GET", "/updisks/img/disk.raw")
    assert st == 200, data[:200]
    assert sha(data) == sha(env["view"])
    # An existing object: replaced only with overwrite.
    with pytest.raises(vdisk.AlreadyExists) as err:
        vdisk.convert(env["qcow2"], "s3://updisks/img/disk.raw", target="raw",
                      options=aws_options(moto))
    no_secret(str(err.value))
    # vmdk (streamOptimized): the object read back by qemu-img is the same disk.
    report = vdisk.convert(env["qcow2"], "s3://updisks/img/disk.vmdk", target="vmdk",
                           options=aws_options(moto, subformat="streamOptimized"))
    st, _, data = moto.s3("GET", "/updisks/img/disk.vmdk")
    assert st == 200 and len(data) == report["upload"]["bytes_sent"], (st, len(data))
    vmdk = os.path.join(env["work"], "disk.vmdk")
    with open(vmdk, "wb") as f:
        f.write(data)
    back = os.path.join(env["work"], "disk.vmdk.raw")
    sh("qemu-img", "convert", "-f", "vmdk", "-O", "raw", vmdk, back)
    with open(back, "rb") as f:
        assert sha(f.read()) == sha(env["view"])


def test_ebs_snapshot(env):
    moto = env["moto"]
    report = vdisk.convert(env["qcow2"], "ebs:", target="aws-snapshot",
                           options=aws_options(moto, description="vdisk python upload",
                                               tag=["team=disks", "case=python"],
                                               **{"omit-zero-blocks": True}))
    no_secret(json.dumps(report))
    up = report["upload"]
    snap = up["object_id"]
    assert snap.startswith("snap-") and up["blocks_sent"] > 0, up
    # Read back: ListSnapshotBlocks, GetSnapshotBlock for each block listed; the volume is whole
    # GiB, its blocks not listed read as zeros.
    st, _, body = moto.aws("ebs", "GET", f"/snapshots/{snap}/blocks?maxResults=10000")
    assert st == 200, body[:200]
    listing = json.loads(body)
    bs = int(listing["BlockSize"])
    volume = int(listing["VolumeSize"]) << 30
    assert volume == GIB and bs == up["block_bytes"], listing
    assert len(listing["Blocks"]) == up["blocks_sent"], (len(listing["Blocks"]), up)
    disk = bytearray(len(env["view"]))
    for b in listing["Blocks"]:
        i = int(b["BlockIndex"])
        st, _, block = moto.aws("ebs", "GET",
                                f"/snapshots/{snap}/blocks/{i}?blockToken={b['BlockToken']}")
        assert st == 200 and len(block) == bs, (st, len(block))
        assert i * bs < len(disk), f"block {i} past the disk's end"
        disk[i * bs:i * bs + bs] = block[:len(disk) - i * bs]
    assert sha(bytes(disk)) == sha(env["view"])


def test_ebs_incremental(env):
    """since (a remote SRC's key) and parent-snapshot (a DST's): A of disk1, B of disk2 (a block
    changed, a hole filled, a block zeroed), A2 a copy of ebs:A (it records that content); then
    ebs:B since A into "ebs:" with parent-snapshot A2 puts only the three changed blocks."""
    moto = env["moto"]
    bs = 512 * 1024
    blocks1 = {0: os.urandom(bs), 1: os.urandom(bs), 2: os.urandom(bs), 6: os.urandom(bs)}
    blocks2 = dict(blocks1)
    blocks2.update({1: os.urandom(bs), 4: os.urandom(bs)})
    del blocks2[6]

    def disk(name, blocks):
        path = os.path.join(env["work"], name)
        with open(path, "wb") as f:
            f.truncate(8 * bs)
            for i, data in blocks.items():
                f.seek(i * bs)
                f.write(data)
        return path

    def snapshot(src, **extra):
        o = aws_options(moto, **{"omit-zero-blocks": True})
        o.update(extra)
        return vdisk.convert(src, "ebs:", target="aws-snapshot", options=o)["upload"]

    a = snapshot(disk("inc1.raw", blocks1))["object_id"]
    b = snapshot(disk("inc2.raw", blocks2))["object_id"]
    a2 = snapshot(f"ebs:{a}")["object_id"]
    up = snapshot(f"ebs:{b}", since=a, **{"parent-snapshot": a2})
    c = up["object_id"]
    assert up["blocks_sent"] == 3 and up["zero_blocks_sent"] == 1, up
    st, _, body = moto.aws("ebs", "GET", f"/snapshots/{c}/blocks?maxResults=10000")
    assert st == 200, body[:200]
    held = {int(x["BlockIndex"]): x["BlockToken"] for x in json.loads(body)["Blocks"]}
    assert sorted(held) == [1, 4, 6], held
    for i, token in held.items():
        st, _, data = moto.aws("ebs", "GET", f"/snapshots/{c}/blocks/{i}?blockToken={token}")
        assert st == 200 and data == blocks2.get(i, bytes(bs)), f"block {i} of {c}"
    # A parent that does not record the base (B was made from a file): refused.
    with pytest.raises(vdisk.InvalidArgument) as err:
        snapshot(f"ebs:{b}", since=a, **{"parent-snapshot": b})
    no_secret(str(err.value))
    assert f"parent snapshot {b}" in err.value.message, err.value.message


class Listener:
    """A TCP listener that nobody should connect to: a refusal made before any request."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connected(self):
        try:
            conn, _ = self.sock.accept()
            conn.close()
            return True
        except BlockingIOError:
            return False


def test_refused_before_any_request(tmp_path):
    qcow2 = os.path.join(str(tmp_path), "small.qcow2")
    sh("qemu-img", "create", "-f", "qcow2", qcow2, "4M")
    lis = Listener()
    sig = "c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
    az = (f"http://127.0.0.1:{lis.port}/devstoreaccount1/disks/x.vhd?sv=2021-08-06&sr=b"
          f"&sp=racwd&sig={sig}")
    aws = {"aws.endpoint-url": f"http://127.0.0.1:{lis.port}", "aws.region": "us-east-1",
           "aws.access-key-id": "AKIAVDISKTEST", "aws.secret-access-key": SECRET}
    cases = [
        # A target the destination does not take.
        (az, "vmdk", {}, "vmdk"),
        ("ebs:", "raw", aws, "aws-snapshot"),
        ("s3://bucket/k.raw", "aws-snapshot", aws, "aws-snapshot"),
        # Keys that do not fit the destination's kind.
        ("s3://bucket/k.raw", "raw", dict(aws, resume=True), "resume"),
        (az, "azure", {"tag": "a=b"}, "EBS snapshot"),
        ("ebs:", "aws-snapshot", dict(aws, **{"parent-snapshot": "vol-1"}), "parent-snapshot"),
    ]
    for dst, target, options, word in cases:
        with pytest.raises(vdisk.InvalidArgument) as err:
            vdisk.convert(qcow2, dst, target=target, options=options)
        assert word in err.value.message, (dst, target, err.value.message)
        no_secret(str(err.value), [sig])
        assert not lis.connected(), f"{dst} {target}: a request was made before the refusal"
    # Values the destination keys do not take, refused when set.
    for key, value in (("tag", "novalue"), ("tag", "=v"), ("managed-disk", "maybe"),
                       ("description", "d" * 256), ("resume", "perhaps")):
        with pytest.raises(vdisk.InvalidArgument) as err:
            vdisk.convert(qcow2, "ebs:", target="aws-snapshot", options={key: value})
        assert key in err.value.message, (key, err.value.message)
    assert not lis.connected()
