"""Tests of the Python binding (python/vdisk) over the shared libvdisk's C API.

ctest runs them (python.vdisk) with PYTHONPATH=python and VDISK_LIBRARY=the built library.
Outputs are read back by qemu-img (a missing qemu-img fails the tests, never skips them).
"""
import ctypes
import hashlib
import os
import subprocess
import tarfile

import pytest

import vdisk

MIB = 1 << 20


def tool_env():
    """The environment for real tools: without the sanitizer runtime preloaded for Python."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def make_disk(path, size):
    """A raw disk with a distinct pattern in every 4 KiB block and a hole in the middle."""
    with open(path, "wb") as f:
        for block in range(size // 4096):
            if size // 3 <= block * 4096 < size // 2:
                f.write(bytes(4096))
            else:
                f.write(hashlib.sha256(block.to_bytes(8, "little")).digest() * 128)
        f.write(b"\x5a" * (size % 4096))
    return path


def sha256_padded(path, size):
    """sha256 of the file's bytes followed by zeros up to `size` bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        data = f.read()
    h.update(data)
    left = size - len(data)
    zeros = bytes(MIB)
    while left > 0:
        n = min(left, MIB)
        h.update(zeros[:n])
        left -= n
    return h.hexdigest(), size


def sha256_file(path):
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def qemu_raw_sha256(image, fmt, scratch):
    raw = os.path.join(scratch, "readback.raw")
    subprocess.run(["qemu-img", "convert", "-f", fmt, "-O", "raw", image, raw], check=True,
                   env=tool_env())
    return sha256_file(raw)


@pytest.fixture
def disk(tmp_path):
    # 3 MiB + 4 KiB: not a whole MiB, so azure pads it and a plain VHD fails the azure check.
    return make_disk(str(tmp_path / "disk.raw"), 3 * MIB + 4096)


def test_version_matches_the_library():
    assert vdisk.version().count(".") == 2
    assert vdisk.library_path


@pytest.mark.parametrize("target,fmt,name", [("vhd", "vpc", "out.vhd"),
                                             ("azure", "vpc", "out.vhd"),
                                             ("vmdk", "vmdk", "out.vmdk"),
                                             ("gcp", None, "out.tar.gz")])
def test_convert_content_survives(tmp_path, disk, target, fmt, name):
    calls = []
    dst = str(tmp_path / name)
    report = vdisk.convert(disk, dst, target=target, options={"threads": 2},
                           progress=lambda done, total: calls.append((done, total)))
    assert report["source"]["format"] == "raw"
    size = report["output"]["virtual_size"]
    assert calls, "the progress callback was never called"
    assert calls[-1][0] == calls[-1][1] > 0
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    if fmt is not None:
        got = qemu_raw_sha256(dst, fmt, str(tmp_path))
    else:
        with tarfile.open(dst, "r:gz") as tar:
            assert tar.getnames() == ["disk.raw"]
            tar.extract("disk.raw", str(tmp_path / "x"))
        got = sha256_file(str(tmp_path / "x" / "disk.raw"))
    # Targets that pad (azure: whole MiB, gcp: whole GiB) add zeros after the source's end.
    expected = sha256_padded(disk, got[1])
    assert got == expected
    assert got[1] >= os.path.getsize(disk)
    if target == "vhd":
        assert got[1] == os.path.getsize(disk)
    if target == "azure":  # Azure's smallest disk is 20 MiB: padded, and a note says so
        assert got[1] == 20 * MIB
        assert "padded" in report["diagnostics"][0]["message"]
    if target == "gcp":
        assert got[1] == 1 << 30
    assert size == got[1]


def test_convert_report_and_checksums(tmp_path, disk):
    dst = str(tmp_path / "out.vhd")
    report = vdisk.convert(disk, dst, target="vhd", options={"checksums": True})
    digest, size = sha256_file(dst)
    assert report["checksums"]["artifact"]["sha256"] == digest
    assert report["checksums"]["artifact"]["bytes"] == size
    assert report["checksums"]["disk"]["sha256"] == sha256_file(disk)[0]
    assert report["diagnostics"] == []


def test_timestamp_and_unique_id_make_output_reproducible(tmp_path, disk):
    opts = {"timestamp": 1700000000, "unique-id": "00112233-4455-6677-8899-aabbccddeeff"}
    a, b, c = (str(tmp_path / n) for n in ("a.vhd", "b.vhd", "c.vhd"))
    vdisk.convert(disk, a, target="vhd", options=opts)
    vdisk.convert(disk, b, target="vhd", options=opts)
    vdisk.convert(disk, c, target="vhd", options=dict(opts, **{"unique-id": "ff" * 16}))
    assert open(a, "rb").read() == open(b, "rb").read()
    assert open(a, "rb").read() != open(c, "rb").read()


def test_target_option_vmdk_subformat(tmp_path, disk):
    dst = str(tmp_path / "s.vmdk")
    vdisk.convert(disk, dst, target="vmdk", options={"subformat": "streamOptimized"})
    out = subprocess.run(["qemu-img", "info", "--output=json", dst], check=True,
                         capture_output=True, text=True, env=tool_env()).stdout
    assert "streamOptimized" in out
    assert qemu_raw_sha256(dst, "vmdk", str(tmp_path)) == sha256_file(disk)


def test_missing_source_is_not_found(tmp_path):
    with pytest.raises(vdisk.NotFound) as e:
        vdisk.convert(str(tmp_path / "nope.raw"), str(tmp_path / "o.vhd"), target="vhd")
    assert e.value.code == 2 and "nope.raw" in e.value.message
    with pytest.raises(vdisk.NotFound):
        vdisk.info(str(tmp_path / "nope.raw"))


def test_unknown_target_is_invalid_argument(tmp_path, disk):
    with pytest.raises(vdisk.InvalidArgument) as e:
        vdisk.convert(disk, str(tmp_path / "o"), target="floppy")
    assert "floppy" in e.value.message and e.value.code == 1
    assert not os.path.exists(tmp_path / "o")


@pytest.mark.parametrize("options,word", [({"threads": "many"}, "threads"),
                                          ({"subformat": "bogus"}, "bogus"),
                                          ({"no-such-key": "1"}, "no-such-key"),
                                          ({"unique-id": "xyz"}, "unique-id"),
                                          ({"format.no-such": "1"}, "no-such")])
def test_bad_option_is_invalid_argument(tmp_path, disk, options, word):
    with pytest.raises(vdisk.InvalidArgument) as e:
        vdisk.convert(disk, str(tmp_path / "o.vmdk"), target="vmdk", options=options)
    assert word in e.value.message
    assert isinstance(e.value, vdisk.Error)


def test_existing_output_needs_overwrite(tmp_path, disk):
    dst = tmp_path / "o.vhd"
    dst.write_bytes(b"keep")
    with pytest.raises(vdisk.AlreadyExists):
        vdisk.convert(disk, str(dst), target="vhd")
    assert dst.read_bytes() == b"keep"
    vdisk.convert(disk, str(dst), target="vhd", options={"overwrite": True})
    assert qemu_raw_sha256(str(dst), "vpc", str(tmp_path)) == sha256_file(disk)


def test_progress_returning_false_cancels(tmp_path):
    big = make_disk(str(tmp_path / "big.raw"), 24 * MIB)
    dst = tmp_path / "o.vhd"
    calls = []

    def stop(done, total):
        calls.append(done)
        return False

    with pytest.raises(vdisk.Cancelled) as e:
        vdisk.convert(big, str(dst), target="vhd", progress=stop)
    assert e.value.code == 9
    assert len(calls) >= 1
    assert not dst.exists() and os.listdir(tmp_path) == ["big.raw"]


def test_progress_raising_cancels_with_cause(tmp_path):
    big = make_disk(str(tmp_path / "big.raw"), 24 * MIB)

    def boom(done, total):
        raise ValueError("stop here")

    with pytest.raises(vdisk.Cancelled) as e:
        vdisk.convert(big, str(tmp_path / "o.vmdk"), target="vmdk", progress=boom)
    assert isinstance(e.value.__cause__, ValueError)
    assert os.listdir(tmp_path) == ["big.raw"]


def test_on_progress_gets_every_field_in_phase_order(tmp_path):
    big = make_disk(str(tmp_path / "big.raw"), 24 * MIB)
    dst = str(tmp_path / "o.vhd")
    seen = []
    report = vdisk.convert(big, dst, target="vhd", on_progress=seen.append)
    assert seen and all(isinstance(p, vdisk.Progress) for p in seen)
    phases = [p.phase for p in seen]
    assert phases[0] == "open" and phases[-1] == "done"
    order = [vdisk.PHASES.index(p) for p in phases]
    assert order == sorted(order), phases
    assert {"open", "copy", "finish", "done"} <= set(phases)
    last = seen[-1]
    stats = report["stats"]
    assert last.done_bytes == last.total_bytes == stats["virtual_bytes"]
    assert last.read_bytes == stats["read_bytes"] and last.data_bytes == stats["data_bytes"]
    assert last.zero_bytes == stats["zero_bytes"]
    assert last.written_bytes == report["output"]["bytes"] == os.path.getsize(dst)
    assert 0 < last.data_total_bytes <= stats["virtual_bytes"]
    assert last.sent_bytes == 0 and last.retries == 0
    copy = [p.done_bytes for p in seen if p.phase == "copy"]
    assert all(a <= b for a, b in zip(copy, copy[1:]))


def test_on_progress_cancels_and_excludes_progress(tmp_path):
    big = make_disk(str(tmp_path / "big.raw"), 24 * MIB)
    dst = tmp_path / "o.vhd"
    with pytest.raises(vdisk.Cancelled):
        vdisk.convert(big, str(dst), target="vhd",
                      on_progress=lambda p: p.phase != "copy" or p.done_bytes == 0)
    assert not dst.exists()
    with pytest.raises(vdisk.InvalidArgument):
        vdisk.convert(big, str(dst), target="vhd", progress=lambda d, t: None,
                      on_progress=lambda p: None)


def test_info_fields(tmp_path, disk):
    raw = vdisk.info(disk)
    assert raw["schema_version"] == 1
    assert raw["format"] == "raw" and raw["virtual_size"] == os.path.getsize(disk)
    assert raw["diagnostics"] == []
    vhd = str(tmp_path / "o.vhd")
    vdisk.convert(disk, vhd, target="azure")
    got = vdisk.info(vhd)
    assert got["format"] == "vhd" and got["virtual_size"] == 20 * MIB
    forced = vdisk.info(vhd, options={"format": "raw"})
    assert forced["format"] == "raw" and forced["virtual_size"] == 20 * MIB + 512


def test_measure_matches_output(tmp_path, disk):
    one = vdisk.measure(disk, "vhd")
    assert [m["target"] for m in one["measurements"]] == ["vhd"]
    m = one["measurements"][0]
    assert m["output"]["exact"] is True
    dst = str(tmp_path / "o.vhd")
    vdisk.convert(disk, dst, target="vhd")
    assert m["output"]["bytes"] == os.path.getsize(dst)
    every = vdisk.measure(disk)
    assert {"raw", "vhd", "azure", "gcp", "vmdk"} <= {x["target"] for x in every["measurements"]}
    with pytest.raises(vdisk.InvalidArgument):
        vdisk.measure(disk, "floppy")


def test_check_pass_and_fail(tmp_path, disk):
    good, bad = str(tmp_path / "good.vhd"), str(tmp_path / "bad.vhd")
    vdisk.convert(disk, good, target="azure")
    vdisk.convert(disk, bad, target="vhd")  # 3 MiB + 4 KiB: not a whole MiB
    ok = vdisk.check(good, "azure")
    assert ok["passed"] is True and ok["failures"] == 0 and ok["target"] == "azure"
    ko = vdisk.check(bad, "azure")
    assert ko["passed"] is False and ko["failures"] >= 1
    assert any(not r["passed"] for r in ko["rules"])
    with pytest.raises(vdisk.InvalidArgument):
        vdisk.check(good, "floppy")
    with pytest.raises(vdisk.NotFound):
        vdisk.check(str(tmp_path / "none.vhd"), "azure")


def test_c_boundary_refuses_null_and_frees_messages():
    lib = ctypes.CDLL(vdisk.library_path)
    lib.vdisk_open.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                               ctypes.POINTER(ctypes.c_void_p)]
    lib.vdisk_errc_name.restype = ctypes.c_char_p
    err = ctypes.c_void_p()
    assert lib.vdisk_open(None, None, None, ctypes.byref(err)) == 1
    assert b"NULL" in ctypes.string_at(err.value)
    # A second failure frees the first message and stores the new one.
    assert lib.vdisk_open(b"/nonexistent/x", None, None, ctypes.byref(err)) == 1
    lib.vdisk_free(err)
    assert lib.vdisk_errc_name(9) == b"cancelled"
    assert lib.vdisk_errc_name(100) == b"no_memory"
    assert lib.vdisk_errc_name(77) == b"unknown"


def test_concurrent_conversions(tmp_path, disk):
    import threading
    errors, outs = [], [str(tmp_path / f"c{i}.vmdk") for i in range(3)]

    def run(dst):
        try:
            vdisk.convert(disk, dst, target="vmdk", options={"threads": 2},
                          progress=lambda done, total: None)
        except BaseException as e:  # noqa: B902 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(dst,)) for dst in outs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for dst in outs:
        assert qemu_raw_sha256(dst, "vmdk", str(tmp_path)) == sha256_file(disk)
