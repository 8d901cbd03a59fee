"""What the binding's cloud tests (test_vdisk_remote.py, test_vdisk_upload.py) share: running a
tool, the qcow2 input with qemu-img's raw view of it, the emulators (moto, run by the
interpreter that has it: VDISK_CLOUD_PYTHON; Azurite) started on 127.0.0.1 and stopped, the AWS
keys of the C API pointed at moto, and the check that a text holds no secret."""
import contextlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cloud"))
import cloud_lib as cl  # noqa: E402

MIB = 1 << 20
GIB = 1 << 30

# The sanitizer runtime preloaded for this Python (a sanitized build) stays out of the
# emulators and tools the tests start.
os.environ.pop("LD_PRELOAD", None)


def sh(*args, env=None):
    r = subprocess.run(args, capture_output=True, env=env)
    assert r.returncode == 0, f"{args[0]}: exit {r.returncode}: {r.stderr.decode()[-2000:]}"
    return r.stdout.decode()


def make_inputs(work):
    """A 12 MiB raw disk with data in places, its qcow2, and qemu-img's raw view of the qcow2."""
    raw = os.path.join(work, "src.raw")
    with open(raw, "wb") as f:
        f.truncate(12 * MIB)
        for off, n in ((0, 300 * 1024), (3 * MIB + 512, MIB), (12 * MIB - 8192, 8192)):
            f.seek(off)
            f.write(os.urandom(n))
    qcow2 = os.path.join(work, "src.qcow2")
    sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2)
    view = os.path.join(work, "src.qcow2.qemu.raw")
    sh("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2, view)
    return raw, qcow2, view


@contextlib.contextmanager
def emulators(work):
    """moto and Azurite (its store under `work`), stopped on the way out."""
    moto = cl.Moto(work, python=os.environ.get("VDISK_CLOUD_PYTHON") or sys.executable)
    store = os.path.join(work, "azurite")
    os.makedirs(store)
    try:
        az = cl.Azurite(store)
    except BaseException:
        moto.stop()
        raise
    try:
        yield moto, az
    finally:
        az.stop()
        moto.stop()


def aws_options(moto, secret, token, **extra):
    """The C API's AWS keys for moto, with `secret` and `token` as the credentials' secrets."""
    o = {"aws.endpoint-url": moto.endpoint, "aws.region": "us-east-1",
         "aws.access-key-id": "AKIAVDISKTEST", "aws.secret-access-key": secret,
         "aws.session-token": token, "http.retries": 2, "http.timeout": 20}
    o.update(extra)
    return o


def no_secret(text, secrets):
    for s in secrets:
        assert s not in text, f"a secret appears in: {text[:400]}"
