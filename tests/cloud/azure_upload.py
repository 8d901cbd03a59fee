"""cloud.azure_upload: vdconvert convert --to azure SRC URL into Azurite, for every input
format, checked by content against qemu-img's raw view; managed-disk URLs; existing blobs;
faults injected by a proxy (503, 429, resets, stalls, the server killed mid-upload) and
--resume (after the server was killed, and after vdconvert itself was SIGKILLed); --put-md5;
--verify (a blob read back as sent passes; one corrupted by the proxy fails with exit 3 at its
first differing offset, and passes unnoticed without --verify); and that no SAS signature ever appears in vdconvert's output.

Usage: azure_upload.py VDCONVERT WORKDIR
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ("qemu-img", "xorriso"))
ENV = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
SECRETS = []  # every sig= value handed out, to check no output shows one
MIB = cl.MIB
fail, ok, sha_file = cl.fail, cl.ok, cl.sha_file
run = cl.Runner(VD, ENV, SECRETS)


def azure_size(n):
    return max(20 * MIB, (n + MIB - 1) // MIB * MIB)


def url_for(endpoint, container, blob, host=None):
    u = cl.blob_url(endpoint, container, blob)
    SECRETS.append(u.split("sig=")[1].split("&")[0])
    if host:
        u = u.replace("127.0.0.1", host, 1)
    return u


def check_blob(endpoint, container, blob, expected_raw, label, allocated=None):
    """The blob is a fixed VHD of expected_raw's bytes padded to Azure's size, only data sent."""
    got = os.path.join(WORK, f"{blob}.download")
    cl.download(endpoint, container, blob, got)
    raw_size = os.path.getsize(expected_raw)
    size = azure_size(raw_size)
    if os.path.getsize(got) != size + 512:
        fail(f"{label}: blob is {os.path.getsize(got)} bytes, expected {size + 512}")
    if sha_file(got, size) != cl.sha_padded(expected_raw, size):
        fail(f"{label}: blob content differs from qemu-img's raw view of the input")
    info = json.loads(subprocess.run(["qemu-img", "info", "-f", "vpc", "--output=json", got],
                                     capture_output=True, check=True).stdout)
    if info["virtual-size"] != size:
        fail(f"{label}: qemu-img reads a {info['virtual-size']}-byte VHD, expected {size}")
    ranges = cl.page_ranges(endpoint, container, blob)
    stored = sum(e - s for s, e in ranges)
    # Only data is sent: within 1% of the input's allocated data (plus one 64 KiB zero-scan
    # block of slack at the edges of its extents, and the footer).
    if allocated is not None and stored > allocated * 1.01 + 64 * 1024 + 512:
        fail(f"{label}: {stored} bytes stored in pages for {allocated} bytes of data")
    os.unlink(got)
    ok(f"{label}: blob = qemu-img raw view padded to {size} + footer; {stored} bytes in pages")
    return stored


def make_source():
    """A 21 MiB + 3 KiB raw disk: scattered random and text data, zero gaps, a zero run
    written as data (must not be sent), not a whole MiB (Azure pads it)."""
    path = os.path.join(WORK, "src.raw")
    size = 21 * MIB + 3 * 1024
    rnd = open("/dev/urandom", "rb")
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(0)
        f.write(b"\xeb\x63\x90" + rnd.read(509))
        f.seek(1 * MIB + 512)
        f.write(rnd.read(5 * MIB + 1536))
        f.seek(12 * MIB)
        f.write(bytes(4 * MIB))  # allocated zeros
        f.seek(17 * MIB + 4096)
        f.write((b"libvdisk azure upload test " * 40000)[:3 * MIB])
        f.seek(size - 2048)
        f.write(rnd.read(2048))
    return path


def allocated_of(path, fmt):
    """Bytes qemu-img maps as data (not zero) in the image."""
    m = json.loads(subprocess.run(["qemu-img", "map", "-f", fmt, "--output=json", path],
                                  capture_output=True, check=True).stdout)
    return sum(e["length"] for e in m if e["data"] and not e["zero"])


def qemu(fmt, src, dst, *opts):
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, *opts, src, dst], check=True)


def raw_view(path, fmt):
    out = path + ".qemu.raw"
    subprocess.run(["qemu-img", "convert", "-f", fmt, "-O", "raw", path, out], check=True)
    return out


def main():
    cl.run_with_azurite(WORK, tests, "cloud.azure_upload")


def tests(az):
    ep = az.endpoint
    cl.create_container(ep, "disks")
    src = make_source()

    # Every input format, as qemu-img makes it.
    inputs = [("raw", src, "raw")]
    for fmt, ext, opts in (("qcow2", "qcow2", ["-c"]), ("qcow2", "v2.qcow2", ["-o", "compat=0.10"]),
                           ("vmdk", "stream.vmdk", ["-o", "subformat=streamOptimized"]),
                           ("vmdk", "sparse.vmdk", []), ("vhdx", "vhdx", []),
                           ("vpc", "vhd", []), ("vdi", "vdi", [])):
        p = os.path.join(WORK, f"src.{ext}")
        qemu(fmt, src, p, *opts)
        inputs.append((fmt, p, ext))
    for fmt, path, label in inputs:
        allocated = allocated_of(path, fmt)
        blob = f"{label}.vhd"
        url = url_for(ep, "disks", blob)
        _, _, out = run(["convert", "--to", "azure", "--json", path, url])
        report = json.loads(out)
        up = report["upload"]
        if not up["created"] or up["bytes_sent"] > allocated * 1.01 + 64 * 1024 + 512 or up["retries"]:
            fail(f"{label}: upload report {up}")
        expected = src if fmt == "raw" else raw_view(path, fmt)
        # qemu-img's vpc rounds the size to its CHS geometry: compare with its own raw view.
        check_blob(ep, "disks", blob, expected, f"{label} -> azure", allocated)
        # The same bytes as a local conversion (a few formats: CI time).
        if label not in ("raw", "qcow2", "stream.vmdk", "vhdx"):
            continue
        local = os.path.join(WORK, f"{label}.local.vhd")
        run(["convert", "--to", "azure", "-q", path, local])
        cl.download(ep, "disks", blob, local + ".blob")
        if sha_file(local) != sha_file(local + ".blob"):
            fail(f"{label}: the blob differs from `vdconvert convert --to azure` into a file")
        os.unlink(local)
        os.unlink(local + ".blob")
    ok("every input format uploads to the byte the local conversion writes")
    # Inputs qemu-img does not read: an OVA (the stream VMDK inside) and an ISO (its own bytes).
    ova = cl.make_ova(os.path.join(WORK, "src.stream.vmdk"), os.path.join(WORK, "src.ova"))
    iso = cl.make_iso(os.path.join(WORK, "src.iso"))
    for label, path, expected in (("ova", ova, src), ("iso", iso, iso)):
        run(["convert", "--to", "azure", "-q", path, url_for(ep, "disks", f"{label}.vhd")])
        check_blob(ep, "disks", f"{label}.vhd", expected, f"{label} -> azure",
                   allocated_of(expected, "raw"))
    # A live ISO (El Torito, no hybrid MBR) is hybridised by default into azure: the blob is the
    # local conversion's bytes (tests/boot boots those), not the ISO's.
    live = cl.make_live_iso(os.path.join(WORK, "live.iso"))
    run(["convert", "--to", "azure", "-q", live, url_for(ep, "disks", "live.vhd")])
    local = os.path.join(WORK, "live.local.vhd")
    run(["convert", "--to", "azure", "-q", live, local])
    cl.download(ep, "disks", "live.vhd", local + ".blob")
    if sha_file(local) != sha_file(local + ".blob"):
        fail("live ISO: the blob differs from `vdconvert convert --to azure` into a file")
    with open(local + ".blob", "rb") as f:
        sector0 = f.read(512)
    with open(live, "rb") as f:
        if sector0[510:] != b"\x55\xaa" or f.read(512) == sector0:
            fail("live ISO: the blob's sector 0 is not a hybrid MBR")
    ok("a live ISO is hybridised into the blob, byte for byte the local conversion")
    allocated = allocated_of(src, "raw")

    # A streamOptimized VMDK on stdin (its size is in its header).
    url = url_for(ep, "disks", "stdin.vhd")
    with open(os.path.join(WORK, "src.stream.vmdk"), "rb") as f:
        run(["convert", "--to", "azure", "-", url], stdin=f)
    check_blob(ep, "disks", "stdin.vhd", src, "stream VMDK on stdin -> azure", allocated)
    # A raw stream cannot declare its size up front.
    with open(src, "rb") as f:
        rc, out, _ = run(["convert", "--to", "azure", "-", url_for(ep, "disks", "rawstdin.vhd")],
                         expect=None, stdin=f)
    if rc == 0 or "size" not in out or cl.properties(ep, "disks", "rawstdin.vhd") is not None:
        fail(f"raw stdin into a blob: {out}")
    ok("a raw stream is refused (a page blob's size comes first), no blob made")

    # An existing blob: refused without --force, replaced with it.
    url = url_for(ep, "disks", "raw.vhd")
    rc, out, _ = run(["convert", "--to", "azure", src, url], expect=None)
    if rc == 0 or "exists" not in out:
        fail(f"existing blob without --force: exit {rc}: {out}")
    run(["convert", "--to", "azure", "--force", "-q", src, url])
    ok(f"an existing blob needs --force (exit {rc})")

    # --put-md5: the blob's Content-MD5 is the MD5 of its bytes.
    url = url_for(ep, "disks", "md5.vhd")
    run(["convert", "--to", "azure", "--put-md5", "-q", src, url])
    got = os.path.join(WORK, "md5.download")
    h = cl.download(ep, "disks", "md5.vhd", got)
    want = base64.b64encode(hashlib.md5(open(got, "rb").read()).digest()).decode()
    if h.get("content-md5") != want:
        fail(f"--put-md5: Content-MD5 {h.get('content-md5')}, expected {want}")
    ok(f"--put-md5 sets Content-MD5 {want}")

    managed(az, src, allocated)
    faults(az, src, allocated)
    refusals(ep, src)
    verify(az, src)


def managed(az, src, allocated):
    """A managed disk's upload URL (md-... host): the blob exists at the exact size; stale pages
    are cleared; no Put Blob, Set Blob Properties or Delete is ever sent."""
    ep = az.endpoint
    size = azure_size(os.path.getsize(src)) + 512
    cl.create_page_blob(ep, "disks", "managed", size)
    stale = os.urandom(MIB)
    cl.put_page(ep, "disks", "managed", 19 * MIB, stale)  # where the source holds zeros
    proxy = cl.FaultProxy(az.port)
    try:
        host = f"md-impexp-test.localhost:{proxy.port}"
        url = url_for(ep, "disks", "managed").replace(f"127.0.0.1:{az.port}", host)
        _, _, out = run(["convert", "--to", "azure", "--json", src, url])
        up = json.loads(out)["upload"]
        if up["created"] or up["ranges_cleared"] != 1:
            fail(f"managed disk: upload report {up}")
        for line in proxy.seen:
            method, target = line.split(" ", 1)
            if method == "DELETE" or (method == "PUT" and "comp=page" not in target):
                fail(f"managed disk: vdconvert sent {method} {target.split('?')[0]}")
        check_blob(ep, "disks", "managed", src, "managed disk upload (stale pages cleared)")
        # A managed disk of another size: one line naming both sizes, nothing written.
        cl.create_page_blob(ep, "disks", "managed2", size + MIB)
        url2 = url_for(ep, "disks", "managed2").replace(f"127.0.0.1:{az.port}", host)
        rc, out, _ = run(["convert", "--to", "azure", src, url2], expect=None)
        if rc == 0 or str(size) not in out or str(size + MIB) not in out:
            fail(f"managed disk of the wrong size: exit {rc}: {out}")
        if cl.page_ranges(ep, "disks", "managed2"):
            fail("managed disk of the wrong size: pages were written")
        ok(f"a managed disk of the wrong size is refused naming both sizes (exit {rc})")
        rc, out, _ = run(["convert", "--to", "azure", "--put-md5", src, url], expect=None)
        if rc == 0 or "MD5" not in out:
            fail(f"--put-md5 on a managed disk: exit {rc}: {out}")
        ok("--put-md5 is refused for a managed disk")
        # No Get Blob on a managed disk's upload URL: --verify is refused before any request
        # changes the disk.
        n = len(proxy.seen)
        rc, out, _ = run(["convert", "--to", "azure", "--verify", src, url], expect=None)
        if rc != 1 or "reading the blob back" not in out or \
                any(not s.startswith("HEAD ") for s in proxy.seen[n:]):
            fail(f"--verify on a managed disk: exit {rc}: {out} {proxy.seen[n:]}")
        ok(f"--verify is refused for a managed disk (exit {rc})")
    finally:
        proxy.stop()


def faults(az, src, allocated):
    ep = az.endpoint
    # 503s, a 429 with Retry-After, connection resets and a stall: the upload still ends with
    # the exact content.
    plan = {2: "503", 3: "503", 4: "reset", 5: "429", 7: "stall", 9: "reset", 10: "503"}
    proxy = cl.FaultProxy(az.port, plan, stall_seconds=6)
    try:
        url = url_for(ep, "disks", "faults.vhd").replace(str(az.port), str(proxy.port), 1)
        _, out, stdout = run(["convert", "--to", "azure", "--json", "--connections", "3",
                              "--http-timeout", "2", src, url])
        up = json.loads(stdout)["upload"]
        # Every fault was met; each 503, 429 and stall cost a retry (a reset of a kept-alive
        # connection may be retried by libcurl itself on a new connection).
        kinds = {f for _, f in proxy.triggered}
        answered = [f for _, f in proxy.triggered if f != "reset"]
        if kinds != set(plan.values()) or up["retries"] < len(answered):
            fail(f"faults: {up['retries']} retries reported for faults {proxy.triggered}")
        check_blob(ep, "disks", "faults.vhd", src, "upload through 503/429/reset/stall faults",
                   allocated)
        ok(f"faults {proxy.triggered}: {up['retries']} retries, content exact")
    finally:
        proxy.stop()

    # A failure with the service up: the blob this run created is deleted.
    proxy = cl.FaultProxy(az.port, rule=lambda m, t: "503" if "comp=page" in t else None)
    try:
        url = url_for(ep, "disks", "gone.vhd").replace(str(az.port), str(proxy.port), 1)
        rc, out, _ = run(["convert", "--to", "azure", "--retries", "2", src, url], expect=None)
        lines = [ln for ln in out.splitlines() if "error:" in ln]
        if rc == 0 or len(lines) != 1 or "503" not in lines[0]:
            fail(f"persistent 503: exit {rc}: {out}")
        if cl.properties(ep, "disks", "gone.vhd") is not None:
            fail("persistent 503: the partial blob was left behind")
        ok(f"persistent 503: exit {rc}, one error line, the partial blob deleted")
    finally:
        proxy.stop()

    # The server killed mid-upload: one clear line; then --resume (server back, same data
    # directory) finishes the same blob.
    proxy = cl.FaultProxy(az.port, {6: "kill"}, on_kill=az.terminate)
    try:
        url = url_for(ep, "disks", "killed.vhd").replace(str(az.port), str(proxy.port), 1)
        rc, out, _ = run(["convert", "--to", "azure", "--retries", "2", "--connections", "2",
                          src, url], expect=None)
        if rc == 0 or len([ln for ln in out.splitlines() if "error:" in ln]) != 1:
            fail(f"server killed: exit {rc}: {out}")
        ok(f"server killed mid-upload: exit {rc}, one error line")
        az.start()
        proxy.plan = {}
        _, _, stdout = run(["convert", "--to", "azure", "--resume", "--json", src, url])
        up = json.loads(stdout)["upload"]
        if not up["resumed"] or up["created"]:
            fail(f"--resume: upload report {up}")
        check_blob(ep, "disks", "killed.vhd", src, "--resume after the server was killed",
                   allocated)
        # The same blob as one uninterrupted run.
        local = os.path.join(WORK, "killed.local.vhd")
        run(["convert", "--to", "azure", "-q", src, local])
        cl.download(ep, "disks", "killed.vhd", local + ".blob")
        if sha_file(local) != sha_file(local + ".blob"):
            fail("--resume: the blob differs from an uninterrupted conversion")
        ok(f"--resume: {up['bytes_skipped']} bytes already there, "
           f"{up['bytes_sent']} sent, blob identical to one run")
        # --resume of another conversion is refused.
        other = os.path.join(WORK, "other.raw")
        shutil.copy(src, other)
        with open(other, "r+b") as f:
            f.write(b"different")
        rc, out, _ = run(["convert", "--to", "azure", "--resume", other, url], expect=None)
        if rc == 0 or "another conversion" not in out:
            fail(f"--resume with another input: exit {rc}: {out}")
        ok("--resume with another input is refused")
    finally:
        proxy.stop()

    # vdconvert itself killed (SIGKILL) mid-upload: no cleanup runs, the partial blob stays;
    # --resume finishes it, the same blob as one uninterrupted run.
    child = {}

    def kill_vdconvert():
        while "p" not in child:
            time.sleep(0.01)
        child["p"].kill()

    proxy = cl.FaultProxy(az.port, {5: "kill"}, on_kill=kill_vdconvert)
    try:
        url = url_for(ep, "disks", "sigkill.vhd")
        purl = url.replace(str(az.port), str(proxy.port), 1)
        child["p"] = subprocess.Popen([VD, "convert", "--to", "azure", "-q", src, purl],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      env=ENV)
        rc = child["p"].wait(timeout=300)
        if rc != -9 or cl.properties(ep, "disks", "sigkill.vhd") is None:
            fail(f"SIGKILL mid-upload: exit {rc}, or no partial blob left to resume")
        _, _, stdout = run(["convert", "--to", "azure", "--resume", "--json", src, url])
        up = json.loads(stdout)["upload"]
        cl.download(ep, "disks", "sigkill.vhd", local + ".sigkill")
        if not up["resumed"] or sha_file(local) != sha_file(local + ".sigkill"):
            fail(f"--resume after SIGKILL: report {up}, or the blob differs from one run")
        ok(f"vdconvert SIGKILLed at request 5, then --resume: {up['bytes_skipped']} bytes "
           f"already there, {up['bytes_sent']} sent, blob identical to one run")
    finally:
        proxy.stop()


def refusals(ep, src):
    for url, why in (("http://example.com/disks/x.vhd?sv=1&sig=abc", "loopback"),
                     (f"{ep}/disks/nosas.vhd", "SAS"),
                     ("https://acct.blob.core.windows.net/onlycontainer?sig=x", "blob URL")):
        rc, out, _ = run(["convert", "--to", "azure", src, url], expect=None)
        if rc == 0 or why not in out or "sig=abc" in out or "sig=x" in out:
            fail(f"{url.split('?')[0]}: exit {rc}: {out}")
        ok(f"refused: {url.split('?')[0]} ({why}), exit {rc}")
    rc, out, _ = run(["convert", "--to", "gcp", src, url_for(ep, "disks", "x.tar.gz")],
                     expect=None)
    if rc == 0 or "azure" not in out:
        fail(f"--to gcp into a blob URL: exit {rc}: {out}")
    ok("--to gcp into a blob URL is refused")



def corrupt_put_page(n=3):
    """A proxy rule: corrupt the n-th Put Page (update) it sees, pass everything else."""
    state = {"seen": 0}

    def rule(method, target):
        if method == "PUT" and "comp=page" in target:
            state["seen"] += 1
            if state["seen"] == n:
                return "corrupt"
        return None
    return rule


def verify(az, src):
    """--verify reads the blob back: Get Page Ranges and ranged GETs of the data only."""
    ep = az.endpoint
    url = url_for(ep, "disks", "verify.vhd")
    _, _, out = run(["convert", "--to", "azure", "--verify", "--json", src, url])
    up = json.loads(out)["upload"]
    stored = sum(e - s for s, e in cl.page_ranges(ep, "disks", "verify.vhd"))
    if not up.get("verified") or up.get("verify_bytes_read") != stored:
        fail(f"--verify: report {up}, {stored} bytes stored in pages")
    _, out, _ = run(["convert", "--to", "azure", "--verify", "--force", "-p", src, url])
    if "verified (" not in out:
        fail(f"--verify: no 'verified' in the summary line: {out}")
    ok(f"--verify reads back the {stored} bytes in pages (the rest must read as zeros) and passes")

    # One Put Page corrupted on its way (a byte flipped, the request still valid): the upload
    # succeeds, and only --verify sees it, at the window holding that byte.
    for flag in (["--verify"], []):
        proxy = cl.FaultProxy(az.port, rule=corrupt_put_page())
        try:
            blob = "corrupt-verify.vhd" if flag else "corrupt.vhd"
            u = url_for(ep, "disks", blob).replace(str(az.port), str(proxy.port), 1)
            rc, out, _ = run(["convert", "--to", "azure", *flag, src, u], expect=None)
            if len(proxy.corrupted) != 1:
                fail(f"corrupt proxy: {len(proxy.corrupted)} requests corrupted")
            _, headers, index = proxy.corrupted[0]
            at = int(headers["x-ms-range"].split("=")[1].split("-")[0]) + index
        finally:
            proxy.stop()
        window = at // (4 * MIB) * (4 * MIB)
        if flag:
            want = f"read back: the bytes differ from those sent at offset {window} "
            if rc != 3 or want not in out or out.count("\n") > 2:
                fail(f"--verify of a corrupted blob: exit {rc}, expected 3 and '{want}': {out}")
            if cl.properties(ep, "disks", blob) is None:
                fail("--verify failed: the blob was deleted; it is left as it is")
            ok(f"--verify: a byte flipped at {at} fails with exit 3: {out.strip()}")
        else:
            if rc != 0:
                fail(f"a corrupted upload without --verify: exit {rc}: {out}")
            got = os.path.join(WORK, "corrupt.download")
            cl.download(ep, "disks", blob, got)
            with open(got, "rb") as f:
                f.seek(at)
                b = f.read(1)
            with open(src, "rb") as f:
                f.seek(at)
                a = f.read(1)
            if a == b:
                fail(f"corrupt proxy: byte {at} of the blob is the source's")
            ok("without --verify the same corruption passes unnoticed (exit 0)")

    rc, out, _ = run(["convert", "--to", "azure", "--verify", src,
                      os.path.join(WORK, "verify.local.vhd")], expect=1)
    if out.count("\n") != 1 or "--verify" not in out:
        fail(f"--verify into a file: {out}")
    ok(f"--verify without an upload DST is refused (exit {rc}): {out.strip()}")


main()
