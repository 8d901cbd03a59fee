"""Remote sources through the Python binding (vdisk.open, vdisk.info, vdisk.convert, vdisk.check
over the C API's remote SRC and its aws.*, http.*, since keys), against real components on
127.0.0.1: moto (S3; an EBS snapshot made by `vdconvert convert --to aws-snapshot`), Azurite (a
page blob written by `vdconvert convert --to azure`) and Python's http.server (no Range support:
a stream). Each is opened, described (info JSON with "remote_source") and converted to raw,
compared by sha256 with `qemu-img convert -O raw` of the local input. A wrong SAS, a missing
object, an unknown key, a bad http.header, and keys that do not fit the SRC's kind are refused
with messages that hold no secret; no report holds one either.

ctest runs it (python.vdisk_remote) with PYTHONPATH=python, VDISK_LIBRARY=the built library,
VDISK_VDCONVERT=the built vdconvert and VDISK_CLOUD_PYTHON=the interpreter that has moto. A
missing emulator or tool fails the tests, never skips them. (moto does not check signatures: a
wrong AWS secret is not refused by it, so the AWS side checks a missing object instead.)
"""
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import vdisk

from cloud_support import GIB, MIB, cl, emulators, make_inputs, sh
import cloud_support

SECRET = "vdisk-py-remote-secret-Zq8v"  # the AWS secret key: must never be shown
TOKEN = "vdisk-py-remote-token-Mm3k"  # the session token: the same
COOKIE = "vdisk-py-remote-cookie-Pp5r"  # a header value: the same
SECRETS = [SECRET, TOKEN, COOKIE]


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            h.update(chunk)
    return h.hexdigest()


def sha_padded(path, size):
    """sha256 of the file's bytes followed by zeros up to `size` bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    left = size - os.path.getsize(path)
    while left > 0:
        n = min(left, 16 * MIB)
        h.update(bytes(n))
        left -= n
    return h.hexdigest()


def no_secret(text, extra=()):
    cloud_support.no_secret(text, SECRETS + list(extra))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("remote"))
    vd = os.environ["VDISK_VDCONVERT"]
    raw, qcow2, view = make_inputs(work)
    with emulators(work) as (moto, az):
        port = cl.free_port()
        web = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                str(port), "--directory", work], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.time() < deadline, "http.server did not listen within 30 s"
                time.sleep(0.1)
        try:
            yield dict(work=work, vd=vd, raw=raw, qcow2=qcow2, view=view, moto=moto, az=az,
                       web=f"http://127.0.0.1:{port}")
        finally:
            web.kill()
            web.wait()


def aws_options(moto, **extra):
    return cloud_support.aws_options(moto, SECRET, TOKEN, **extra)


def open_and_convert(e, src, options, kind, fmt):
    """Opens `src`, checks its info, converts it to raw and compares the sha256 with qemu-img's
    view of the local input, padded with zeros to the virtual size the object states (an EBS
    volume is whole GiB; the azure target pads to Azure's minimum size)."""
    with vdisk.open(src, options=options) as image:
        assert image.format == fmt
        info = image.info()
        measured = image.measure("raw")
    text = json.dumps(info) + json.dumps(measured)
    no_secret(text)
    assert info["format"] == fmt
    rs = info["remote_source"]
    assert rs["kind"] == kind, rs
    assert rs["requests"] > 0 and rs["bytes_received"] > 0, rs
    assert info["virtual_size"] >= os.path.getsize(e["view"])
    expected_sha = sha_padded(e["view"], info["virtual_size"])
    out = os.path.join(e["work"], f"out-{kind}.raw")
    report = vdisk.convert(src, out, "raw", options=dict(options, overwrite=True))
    no_secret(json.dumps(report))
    assert sha_file(out) == expected_sha, f"{src}: converted bytes differ"
    assert report["source"]["network"]["bytes_received"] > 0, report["source"]
    os.remove(out)
    info["measured"] = measured  # for the caller's checks of what is shown
    return info, report


def test_s3_object(env):
    e = env
    moto = e["moto"]
    st, _, body = moto.s3("PUT", "/disks")
    assert st == 200, body[:200]
    with open(e["qcow2"], "rb") as f:
        st, _, body = moto.s3("PUT", "/disks/images/src.qcow2", f.read(),
                              {"Content-Type": "application/octet-stream"})
    assert st == 200, body[:200]
    src = "s3://disks/images/src.qcow2"
    info, report = open_and_convert(e, src, aws_options(moto), "s3-object", "qcow2")
    assert info["virtual_size"] == os.path.getsize(e["view"])
    assert report["source"]["path"] == src
    # A missing object: an error naming it, without the secret key or the token.
    with pytest.raises(vdisk.Error) as err:
        vdisk.open("s3://disks/images/missing.qcow2", options=aws_options(moto))
    assert "s3://disks/images/missing.qcow2" in err.value.message
    no_secret(str(err.value))
    # Keys that do not fit the kind of SRC.
    with pytest.raises(vdisk.InvalidArgument) as err:
        vdisk.open(src, options=aws_options(moto, **{"http.header": f"Cookie: {COOKIE}"}))
    assert "http(s) SRC" in err.value.message
    no_secret(str(err.value))
    with pytest.raises(vdisk.InvalidArgument) as err:
        vdisk.open(src, options=aws_options(moto, since="snap-0123456789abcdef0"))
    assert "EBS snapshot" in err.value.message


def test_ebs_snapshot(env):
    e = env
    moto = e["moto"]
    tool_env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAVDISKTEST", AWS_SECRET_ACCESS_KEY=SECRET,
                    AWS_REGION="us-east-1", HOME=e["work"])
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
              "AWS_SHARED_CREDENTIALS_FILE"):
        tool_env.pop(k, None)
    out = sh(e["vd"], "convert", "--to", "aws-snapshot", "--json", "--omit-zero-blocks",
             "--endpoint-url", moto.endpoint, e["qcow2"], "ebs:", env=tool_env)
    snap = json.loads(out)["upload"]["object_id"]
    assert snap.startswith("snap-"), out[:400]
    # The snapshot's volume is whole GiB: qemu-img's view padded with zeros.
    padded = (os.path.getsize(e["view"]) + GIB - 1) // GIB * GIB
    info, _ = open_and_convert(e, f"ebs:{snap}", aws_options(moto), "ebs-snapshot", "raw")
    assert info["virtual_size"] == padded
    assert info["remote_source"]["identity"] == f"ebs:{snap}"
    # `since` takes a snapshot id only.
    with pytest.raises(vdisk.InvalidArgument) as err:
        vdisk.open(f"ebs:{snap}", options=aws_options(moto, since="vol-123"))
    assert "since" in err.value.message and "snap-" in err.value.message


def test_azure_page_blob(env):
    e = env
    ep = e["az"].endpoint
    cl.create_container(ep, "disks")
    url = cl.blob_url(ep, "disks", "src.vhd")
    sig = url.split("sig=")[1].split("&")[0]
    sh(e["vd"], "convert", "--to", "azure", e["qcow2"], url)
    info, report = open_and_convert(e, url, {"http.connections": 4}, "azure-page-blob", "vhd")
    for doc in (info, report):
        no_secret(json.dumps(doc), [sig])
    assert info["measured"]["source"] == url.replace(sig, "REDACTED")
    assert info["virtual_size"] % MIB == 0
    # The source shown is the URL with its signature redacted.
    assert report["source"]["path"] == url.replace(sig, "REDACTED"), report["source"]["path"]
    # check() reads it where it lives too.
    checked = vdisk.check(url, "azure")
    no_secret(json.dumps(checked), [sig])
    assert checked["passed"], checked
    # A wrong SAS signature: refused by the service, and no signature in the message.
    wrong = url.replace(sig, "AAAA" + sig[4:])
    wrong_sig = wrong.split("sig=")[1].split("&")[0]
    with pytest.raises(vdisk.Error) as err:
        vdisk.open(wrong, options={"http.retries": 0})
    no_secret(str(err.value), [sig, wrong_sig])
    assert "src.vhd" in err.value.message
    with pytest.raises(vdisk.Error) as err:
        vdisk.convert(wrong, os.path.join(e["work"], "wrong.raw"), "raw",
                      options={"http.retries": 0})
    no_secret(str(err.value), [sig, wrong_sig])
    assert not os.path.exists(os.path.join(e["work"], "wrong.raw"))
    # A header for an Azure blob (its SAS is in the URL): refused without showing the value.
    with pytest.raises(vdisk.InvalidArgument) as err:
        vdisk.open(url, options={"http.header": [f"Cookie: {COOKIE}"]})
    no_secret(str(err.value), [sig])


def test_http_stream(env):
    """Python's http.server answers no Range request: convert reads it front to back, open
    refuses in one line; the caller's headers (a list) go along and are never shown."""
    e = env
    url = f"{e['web']}/src.raw"
    headers = [f"Cookie: session={COOKIE}", "X-Vdisk-Test: 1"]
    out = os.path.join(e["work"], "stream.raw")
    report = vdisk.convert(url, out, "raw", options={"http.header": headers})
    no_secret(json.dumps(report))
    assert sha_file(out) == sha_file(e["raw"])
    with pytest.raises(vdisk.Unsupported) as err:
        vdisk.open(url, options={"http.header": headers})
    assert "ranged requests" in err.value.message and "\n" not in err.value.message
    no_secret(str(err.value))
    # The server is reachable as a plain GET: the test's own check of its premise.
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200


def test_refused_keys():
    # A bad header: the value is never echoed.
    for bad in (f"NoColon {COOKIE}", f"Bad Name: {COOKIE}", f"Host: {COOKIE}",
                f"X-Ok: {COOKIE}\r\nX-Injected: 1"):
        with pytest.raises(vdisk.InvalidArgument) as err:
            vdisk.open("https://example.invalid/disk.raw", options={"http.header": bad})
        assert "http.header" in err.value.message
        no_secret(str(err.value))
    # An unknown key of the remote families; a number out of range; a key with no value.
    with pytest.raises(vdisk.InvalidArgument) as err:
        vdisk.open("s3://b/k", options={"aws.secret-key": SECRET})
    assert "aws.secret-key" in err.value.message and "aws.secret-access-key" in err.value.message
    no_secret(str(err.value))
    with pytest.raises(vdisk.InvalidArgument) as err:
        vdisk.open("s3://b/k", options={"http.connections": 65})
    assert "http.connections" in err.value.message
    with pytest.raises(vdisk.InvalidArgument) as err:
        vdisk.open("s3://b/k", options={"aws.endpoint-url": "ftp://x"})
    assert "aws.endpoint-url" in err.value.message
    with pytest.raises(vdisk.InvalidArgument):
        vdisk.open("ebs:snap-0123456789abcdef0", options={"since": "not-a-snapshot"})
    # An unknown key elsewhere: a target option the target does not have.
    with pytest.raises(vdisk.InvalidArgument) as err:
        vdisk.convert("s3://b/k", "/nonexistent/out.raw", "raw", options={"no-such-key": 1})
    assert "no-such-key" in err.value.message
