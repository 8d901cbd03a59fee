"""cloud.azure_source: Azure blobs read as a SRC (docs/cloud.md, "Reading Azure blobs"), against
Azurite: a disk uploaded by vdconvert reads back byte for byte as a VHD (`info` says vhd and the
disk's size) receiving only its page ranges; a raw page blob without a footer probes as raw; a
page blob and a block blob holding a qcow2 file convert; faults on the read side (503, 429,
resets, a stall, a corrupted body) are retried, and persistent ones end with exit 3, one error
line and no output file; a blob written while it is read fails instead of mixing versions; a
page blob brought up to date in place (--update, through the library with a ChangeSet made by
hand: azure_update_tool) writes only the changed pages and refuses a blob holding another
version. No SAS signature ever appears in vdconvert's output.

Usage: azure_source.py VDCONVERT WORKDIR   (azure_update_tool is next to WORKDIR, built with
the tests)
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

VD, WORK = cl.setup(sys.argv, ("qemu-img",))
TOOL = os.path.join(os.path.dirname(WORK), "azure_update_tool")
ENV = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
SECRETS = []
MIB = cl.MIB
KIB = 1024
fail, ok, sha_file = cl.fail, cl.ok, cl.sha_file
run = cl.Runner(VD, ENV, SECRETS)


def url_for(ep, blob, port=None):
    u = cl.blob_url(ep, "disks", blob)
    SECRETS.append(u.split("sig=")[1].split("&")[0])
    if port:
        u = u.replace(ep.split("/")[2], f"127.0.0.1:{port}", 1)
    return u


def make_disk(path, size, pieces):
    """A sparse raw disk of `size` bytes holding random data at each (offset, length)."""
    with open(path, "wb") as f:
        f.truncate(size)
        for off, n in pieces:
            f.seek(off)
            f.write(os.urandom(n))
    return path


def put_file(ep, blob, path, page_blob=True):
    """`path`'s bytes as a page blob (padded to 512, zero chunks not sent) or a block blob."""
    data = open(path, "rb").read()
    if not page_blob:
        st, _, body = cl.request("PUT", f"{ep}/disks/{blob}?{cl.account_sas()}",
                                 {"x-ms-blob-type": "BlockBlob"}, data)
        if st != 201:
            fail(f"put block blob: {st} {body[:200]}")
        return
    data += bytes(-len(data) % 512)
    cl.create_page_blob(ep, "disks", blob, len(data))
    for off in range(0, len(data), 4 * MIB):
        chunk = data[off:off + 4 * MIB]
        if chunk.count(0) != len(chunk):
            cl.put_page(ep, "disks", blob, off, chunk)


def convert_back(url, out, *opts, expect=0):
    rc, text, stdout = run(["convert", "--to", "raw", "--json", *opts, url, out], expect=expect)
    return rc, text, (json.loads(stdout) if rc == 0 else None)


def tests(az):
    ep = az.endpoint
    cl.create_container(ep, "disks")

    # A sparse 48 MiB disk (3.4 MiB of data), uploaded by vdconvert, read back.
    size = 48 * MIB
    pieces = [(0, MIB), (10 * MIB, 300 * KIB), (10 * MIB + 700 * KIB, 64 * KIB),
              (30 * MIB, 2 * MIB), (size - 4 * KIB, 4 * KIB)]
    data = sum(n for _, n in pieces)
    disk = make_disk(os.path.join(WORK, "disk.raw"), size, pieces)
    url = url_for(ep, "disk.vhd")
    run(["convert", "--to", "azure", disk, url])
    _, _, stdout = run(["info", "--json", url])
    info = json.loads(stdout)
    if info["format"] != "vhd" or info["virtual_size"] != size:
        fail(f"info of the uploaded blob: {info['format']}, {info['virtual_size']} bytes")
    src = info["remote_source"]
    if src["kind"] != "azure-page-blob" or src["bytes"] != size + 512 or \
            src["blob_type"] != "PageBlob" or src["mapped_bytes"] != data + 512:
        fail(f"info's remote_source: {src}")
    ok(f"info: vhd, {size} bytes (the blob minus its footer); {src['page_ranges']} page ranges, "
       f"{src['mapped_bytes']} bytes mapped; info received {src['bytes_received']} bytes")

    _, _, report = convert_back(url, "back.raw")
    if sha_file("back.raw") != sha_file(disk):
        fail("the blob read back differs from the disk uploaded")
    net = report["source"]["network"]
    if report["source"]["format"] != "vhd" or net["bytes_received"] > data + 512 + 64 * KIB:
        fail(f"read back: format {report['source']['format']}, {net}")
    ok(f"read back byte for byte: {net['bytes_received']} bytes received in {net['requests']} "
       f"requests for {data} bytes of data in a {size}-byte disk")
    os.unlink("back.raw")

    # A managed disk's export URL (host md-..., read only; Azurite behind a loopback name).
    murl = url.replace(ep.split("/")[2], f"md-impexp-read.localhost:{az.port}", 1)
    _, _, stdout = run(["info", "--json", murl])
    msrc = json.loads(stdout)["remote_source"]
    if not msrc.get("managed_disk") or json.loads(stdout)["format"] != "vhd":
        fail(f"a managed disk's export URL: {msrc}")
    convert_back(murl, "md.raw")
    if sha_file("md.raw") != sha_file(disk):
        fail("a managed disk's export URL read back differs")
    os.unlink("md.raw")
    ok("a managed disk's export URL (md-... host) reads back byte for byte")

    # A blob that does not exist (exit 3), a SAS without read permission (exit 1): one line
    # each, naming the blob.
    rc, text, _ = run(["info", url_for(ep, "missing.vhd")], expect=3)
    if "missing.vhd" not in text or "does not exist" not in text:
        fail(f"info of a missing blob: {text}")
    wsas = cl.blob_sas("disks", "disk.vhd", "w")
    SECRETS.append(wsas.split("sig=")[1].split("&")[0])
    rc, text, _ = run(["info", f"{ep}/disks/disk.vhd?{wsas}"], expect=1)
    if "disk.vhd" not in text or "403" not in text:
        fail(f"info through a SAS without read permission: {text}")
    ok("a missing blob is exit 3, a SAS without read permission exit 1, each naming the blob")

    # Another number of connections: the same bytes.
    convert_back(url, "back2.raw", "--connections", "3")
    if sha_file("back2.raw") != sha_file(disk):
        fail("read back with 3 connections differs")
    os.unlink("back2.raw")
    ok("read back with --connections 3: same bytes")

    # A raw page blob without a footer probes as raw.
    raw8 = make_disk(os.path.join(WORK, "r8.raw"), 8 * MIB, [(4096, 8192), (5 * MIB, 512 * KIB)])
    put_file(ep, "plain.raw", raw8)
    purl = url_for(ep, "plain.raw")
    _, _, stdout = run(["info", "--json", purl])
    pinfo = json.loads(stdout)
    if pinfo["format"] != "raw" or pinfo["virtual_size"] != 8 * MIB:
        fail(f"a raw page blob: info says {pinfo['format']}, {pinfo['virtual_size']}")
    convert_back(purl, "plain.out")
    if sha_file("plain.out") != sha_file(raw8):
        fail("a raw page blob read back differs")
    ok("a page blob without a footer probes as raw and reads back exactly")

    # A qcow2 file in a page blob and in a block blob (all data).
    q = os.path.join(WORK, "q.qcow2")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", disk, q], check=True)
    put_file(ep, "disk.qcow2", q)
    put_file(ep, "block.qcow2", q, page_blob=False)
    for blob, kind in (("disk.qcow2", "azure-page-blob"), ("block.qcow2", "azure-blob")):
        qurl = url_for(ep, blob)
        _, _, report = convert_back(qurl, "q.out")
        if report["source"]["format"] != "qcow2" or sha_file("q.out") != sha_file(disk):
            fail(f"{blob}: format {report['source']['format']}, or the bytes differ")
        _, _, stdout = run(["info", "--json", qurl])
        if json.loads(stdout)["remote_source"]["kind"] != kind:
            fail(f"{blob}: kind {json.loads(stdout)['remote_source']}")
        os.unlink("q.out")
        ok(f"{blob} ({kind}) holding a qcow2 converts to the disk's bytes")

    faults(az, url, disk)
    update(az)


def is_data_get(method, target):
    return method == "GET" and "comp=" not in target


def faults(az, url, disk):
    ep = az.endpoint
    # Transient faults on the data requests: retried, the bytes exact.
    n = {"gets": 0}
    plan = {1: "503", 2: "reset", 3: "429", 5: "stall"}

    def transient(method, target):
        if not is_data_get(method, target):
            return None
        n["gets"] += 1
        return plan.get(n["gets"])

    proxy = cl.FaultProxy(az.port, rule=transient, stall_seconds=5)
    try:
        purl = url_for(ep, "disk.vhd", proxy.port)
        _, _, report = convert_back(purl, "f.raw", "--http-timeout", "2", "--connections", "2")
        net = report["source"]["network"]
        if sha_file("f.raw") != sha_file(disk):
            fail("read through transient faults: the bytes differ")
        kinds = sorted(f for _, f in proxy.triggered)
        if kinds != sorted(plan.values()) or net["retries"] < 3:
            fail(f"transient faults: {proxy.triggered}, {net}")
        ok(f"read through {kinds}: {net['retries']} retries, bytes exact")
    finally:
        proxy.stop()
        if os.path.exists("f.raw"):
            os.unlink("f.raw")

    # A corrupted body (the byte in the middle flipped, the reply's Content-MD5 kept): fetched
    # again.
    state = {"done": 0}

    def corrupt_once(method, target, body):
        if is_data_get(method, target) and not state["done"] and len(body) > 1:
            state["done"] = 1
            i = len(body) // 2
            return body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
        return None

    proxy = cl.FaultProxy(az.port, edit_reply=corrupt_once)
    try:
        purl = url_for(ep, "disk.vhd", proxy.port)
        _, text, report = convert_back(purl, "c.raw")
        if sha_file("c.raw") != sha_file(disk) or report["source"]["network"]["retries"] < 1:
            fail(f"a corrupted body: {report['source']['network']}")
        if "Content-MD5" not in text:
            fail(f"a corrupted body: no retry note naming Content-MD5: {text}")
        ok("a body corrupted once is detected by its Content-MD5 and fetched again")
    finally:
        proxy.stop()
        os.unlink("c.raw")

    def persistent(label, opts, **proxy_args):
        proxy = cl.FaultProxy(az.port, **proxy_args)
        try:
            purl = url_for(ep, "disk.vhd", proxy.port)
            rc, text, _ = convert_back(purl, "p.raw", "--retries", "1", *opts, expect=None)
            lines = [ln for ln in text.splitlines() if "error:" in ln]
            if rc != 3 or len(lines) != 1 or "bytes=" not in lines[0] or \
                    "disk.vhd" not in lines[0] or "sig=REDACTED" not in lines[0]:
                fail(f"{label}: exit {rc}: {text}")
            if os.path.exists("p.raw"):
                fail(f"{label}: the output was left behind")
            ok(f"{label}: exit 3, one error line naming the blob and the range: {lines[0][-110:]}")
        finally:
            proxy.stop()

    persistent("persistent 503 on data requests", [],
               rule=lambda m, t: "503" if is_data_get(m, t) else None)
    persistent("every body corrupted", [],
               edit_reply=lambda m, t, b: (b[:-1] + bytes([b[-1] ^ 1])) if is_data_get(m, t) and b
               else None)

    # The blob written while it is read (between two data requests): the next request's
    # If-Match fails, the conversion ends (exit 3), no version mix is written.
    state = {"gets": 0}

    def write_meanwhile(method, target):
        if is_data_get(method, target):
            state["gets"] += 1
            if state["gets"] == 2:
                cl.put_page(ep, "disks", "disk.vhd", 20 * MIB, os.urandom(4096))
        return None

    proxy = cl.FaultProxy(az.port, rule=write_meanwhile)
    try:
        purl = url_for(ep, "disk.vhd", proxy.port)
        rc, text, _ = convert_back(purl, "e.raw", "--connections", "1", expect=None)
        lines = [ln for ln in text.splitlines() if "error:" in ln]
        if rc != 3 or len(lines) != 1 or "changed while it was read" not in lines[0] or \
                os.path.exists("e.raw"):
            fail(f"blob changed while read: exit {rc}: {text}")
        ok(f"a blob written while it is read: exit 3, '{lines[0][lines[0].find('the blob'):]}'")
    finally:
        proxy.stop()


def tool(args, expect=0):
    r = subprocess.run([TOOL] + args, capture_output=True, text=True)
    out = r.stdout + r.stderr
    for s in SECRETS:
        if s in out:
            fail(f"a secret appears in azure_update_tool's output: {out[:300]}")
    if expect is not None and r.returncode != expect:
        fail(f"azure_update_tool {args[0]}: exit {r.returncode}: {out}")
    return r.returncode, out, (json.loads(r.stdout) if r.returncode == 0 else None)


def update(az):
    """--update through the library: a full copy recording ebs:snap-1, then the changes to
    ebs:snap-2 only; a blob holding another version is refused."""
    if not os.access(TOOL, os.X_OK):
        fail(f"{TOOL} is missing (build the tests)")
    ep = az.endpoint
    size = 24 * MIB
    blk = 512 * KIB
    v1 = make_disk(os.path.join(WORK, "v1.raw"), size,
                   [(0, 2 * MIB), (8 * MIB, 3 * MIB), (20 * MIB, blk)])
    v2 = os.path.join(WORK, "v2.raw")
    with open(v1, "rb") as f:
        b = bytearray(f.read())
    b[MIB:MIB + blk] = os.urandom(blk)            # rewritten data
    b[9 * MIB:9 * MIB + blk] = bytes(blk)         # now zeros (an unallocated block in EBS)
    b[16 * MIB:16 * MIB + blk] = os.urandom(blk)  # new data in a hole
    with open(v2, "wb") as f:
        f.write(b)
    changes = f"{MIB}+{blk},{9 * MIB}+{blk},{16 * MIB}+{blk}"
    vhd1, vhd2 = os.path.join(WORK, "v1.vhd"), os.path.join(WORK, "v2.vhd")
    run(["convert", "--to", "azure", v1, vhd1])
    run(["convert", "--to", "azure", v2, vhd2], env=dict(ENV, SOURCE_DATE_EPOCH="1700000100"))
    url = url_for(ep, "upd.vhd")

    _, _, st = tool(["full", url, vhd1, "ebs:snap-1"])
    props = cl.properties(ep, "disks", "upd.vhd")
    if props.get("x-ms-meta-vdconvertsource") != "ebs:snap-1" or not st["created"]:
        fail(f"a full copy did not record its source: {props}")
    ok(f"a full copy records x-ms-meta-vdconvertsource=ebs:snap-1 ({st['requests']} requests)")

    _, _, st = tool(["update", url, vhd2, "ebs:snap-2", "ebs:snap-1", changes])
    got = os.path.join(WORK, "upd.download")
    cl.download(ep, "disks", "upd.vhd", got)
    if sha_file(got) != sha_file(vhd2):
        fail("after --update the blob differs from a full copy of the new version")
    props = cl.properties(ep, "disks", "upd.vhd")
    if props.get("x-ms-meta-vdconvertsource") != "ebs:snap-2" or \
            "x-ms-meta-vdconvertupdating" in props:
        fail(f"after --update: metadata {props}")
    # Two changed blocks of data (one Put Page each, at most 2 MiB a request), one of zeros (a
    # clear), the footer: 4 requests, 1 MiB + 512 bytes sent.
    if st["requests"] != 4 or st["ranges_cleared"] != 1 or st["bytes_sent"] != 2 * blk + 512:
        fail(f"--update wrote more than the changes: {st}")
    ok(f"--update: the blob equals the new version; {st['requests']} requests "
       f"({st['ranges_cleared']} clear), {st['bytes_sent']} bytes sent for a {size}-byte disk")

    rc, out, _ = tool(["update", url, vhd2, "ebs:snap-3", "ebs:snap-1", changes], expect=1)
    if "expected the blob to hold ebs:snap-1, found ebs:snap-2" not in out:
        fail(f"an update from the wrong base: {out}")
    cl.download(ep, "disks", "upd.vhd", got)
    if sha_file(got) != sha_file(vhd2):
        fail("a refused update changed the blob")
    ok(f"an update from another base is refused, the blob untouched: {out.strip()[-90:]}")

    # vdconvert's --update from a SRC that is not incremental: refused, nothing made.
    nurl = url_for(ep, "never.vhd")
    rc, out, _ = run(["convert", "--to", "azure", "--update", v1, nurl], expect=1)
    if "--update" not in out or cl.properties(ep, "disks", "never.vhd") is not None:
        fail(f"--update from a file: {out}")
    ok("vdconvert --update from a SRC that is not incremental: exit 1, no blob made")


def main():
    cl.run_with_azurite(WORK, tests, "cloud.azure_source")


if __name__ == "__main__":
    main()
