#!/usr/bin/env python3
"""cloud.http_source: disks read over HTTPS from nginx (docs/cloud.md, "Reading from HTTPS and
S3").

The test makes its own CA and a server certificate for 127.0.0.1/localhost with openssl, and
starts nginx (/usr/sbin/nginx) on free loopback ports: HTTPS with ranges, HTTPS with ranges
disabled (max_ranges 0), and plain http for the fault proxy. Each image qemu-img makes (raw,
qcow2, VHDX, VMDK monolithicSparse and streamOptimized, dynamic and fixed VHD, VDI), an OVA and
an ISO are converted to raw from their URL and compared by sha256 with qemu-img's raw view of
the local file (the ISO: its own bytes). Without ranges the formats that stream convert and
qcow2 is refused in one line. Then: a qcow2 whose backing file cannot be located, a wrong CA,
basic auth (the header's value never printed), `info URL`, and read-side faults through the
proxy: each retried to the same bytes, or one error line, exit 3 and no output file.

Usage: http_source.py VDCONVERT WORKDIR
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloud_lib as cl  # noqa: E402

NGINX = "/usr/sbin/nginx"
VD, WORK = cl.setup(sys.argv, ("qemu-img", "xorriso", "openssl", NGINX))
fail, ok = cl.fail, cl.ok
PASSWORD = "vdisk-http-pass-Zq9w"
BASIC = base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
ENV = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
run = cl.Runner(VD, ENV, [PASSWORD, BASIC])
MIB = cl.MIB


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def make_ca(name):
    """A CA (key, certificate) named `name` in WORK."""
    key, pem = os.path.join(WORK, f"{name}.key"), os.path.join(WORK, f"{name}.pem")
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", pem,
       "-days", "2", "-subj", f"/CN=vdisk test {name}", "-addext",
       "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, pem


def make_server_cert(ca_key, ca_pem):
    """A server certificate for 127.0.0.1 and localhost (subjectAltName) signed by the CA."""
    key, csr = os.path.join(WORK, "server.key"), os.path.join(WORK, "server.csr")
    pem, ext = os.path.join(WORK, "server.pem"), os.path.join(WORK, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
       "/CN=127.0.0.1")
    sh("openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
       "-CAcreateserial", "-out", pem, "-days", "2", "-extfile", ext)
    return key, pem


class Nginx:
    """nginx on four free loopback ports serving `root`: https (ranges), https without
    ranges (max_ranges 0), plain http with and without ranges (for the fault proxy). /auth/
    needs basic auth."""

    def __init__(self, root, cert, key):
        self.dir = os.path.join(WORK, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.https, self.norange, self.plain = cl.free_port(), cl.free_port(), cl.free_port()
        self.plain_norange = cl.free_port()
        htpasswd = os.path.join(self.dir, "htpasswd")
        hashed = subprocess.run(["openssl", "passwd", "-apr1", PASSWORD], check=True,
                                capture_output=True, text=True).stdout.strip()
        with open(htpasswd, "w") as f:
            f.write(f"reader:{hashed}\n")
        d = self.dir
        tls = f"ssl_certificate {cert}; ssl_certificate_key {key};"
        auth = f'location /auth/ {{ auth_basic "vdisk"; auth_basic_user_file {htpasswd}; }}'
        conf = f"""{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;
  default_type application/octet-stream;
  server {{ listen 127.0.0.1:{self.https} ssl; {tls} root {root}; {auth} }}
  server {{ listen 127.0.0.1:{self.norange} ssl; {tls} root {root}; max_ranges 0; {auth} }}
  server {{ listen 127.0.0.1:{self.plain}; root {root}; }}
  server {{ listen 127.0.0.1:{self.plain_norange}; root {root}; max_ranges 0; }}
}}
"""
        self.conf = os.path.join(d, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.log = open(os.path.join(d, "stdout.log"), "ab")
        self.proc = subprocess.Popen([NGINX, "-p", d, "-e", f"{d}/error.log", "-c", self.conf,
                                      "-g", "daemon off;"], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        for port in (self.https, self.norange, self.plain, self.plain_norange):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"FAIL: nginx exited {self.proc.returncode}: "
                                       f"{open(os.path.join(d, 'error.log')).read()[-800:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("FAIL: nginx did not listen within 30 s")
                    time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def make_source():
    """A 24 MiB raw disk with data, zeros and holes, not a whole number of 1 MiB blocks."""
    path = os.path.join(WORK, "data", "src.raw")
    with open(path, "wb") as f:
        f.truncate(24 * MIB + 3 * 512)
        f.seek(4096)
        f.write(os.urandom(3 * MIB))
        f.seek(9 * MIB + 100 * 512)
        f.write(b"vdisk over https " * 100000)
        f.seek(20 * MIB)
        f.write(os.urandom(2 * MIB))
        f.seek(24 * MIB + 2 * 512)
        f.write(os.urandom(512))
    return path


def qemu_raw(path, fmt=None):
    """qemu-img's raw view of a local file."""
    out = path + ".qemu.raw"
    if not os.path.exists(out):
        sh("qemu-img", "convert", *(["-f", fmt] if fmt else []), "-O", "raw", path, out)
    return out


def no_leftovers(label, out):
    left = [n for n in os.listdir(os.path.dirname(out) or ".")
            if n.startswith(os.path.basename(out))]
    if left:
        fail(f"{label}: output left behind: {left}")


def convert(label, url, expected, extra=(), expect=0):
    out = os.path.join(WORK, "out", label + ".raw")
    if os.path.exists(out):
        os.remove(out)
    code, text, _ = run(["convert", "--to", "raw", "--ca-file", CA, *extra, url, out],
                        expect=expect)
    if expect == 0:
        got, want = cl.sha_file(out), cl.sha_file(expected)
        if got != want:
            fail(f"{label}: sha256 {got} of the converted URL, expected {want}")
        ok(f"{label}: {url.split('/')[-1]} over HTTP(S) -> raw, sha256 {got[:16]}... matches")
        os.remove(out)
    else:
        no_leftovers(label, out)
    return text


def one_line(label, text):
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 1:
        fail(f"{label}: expected one line, got {len(lines)}:\n{text[-1500:]}")
    return lines[0]


def main():
    global CA
    os.makedirs(os.path.join(WORK, "data", "auth"))
    os.makedirs(os.path.join(WORK, "out"))
    ca_key, CA = make_ca("ca")
    _, wrong_ca = make_ca("other-ca")
    key, cert = make_server_cert(ca_key, CA)
    data = os.path.join(WORK, "data")
    src = make_source()
    inputs = [("raw", src, src)]
    for name, fmt, opts in cl.QEMU_INPUTS:
        p = os.path.join(data, f"src.{name}")
        sh("qemu-img", "convert", "-f", "raw", "-O", fmt, *opts, src, p)
        inputs.append((name, p, qemu_raw(p, fmt)))
    inputs.append(("ova", cl.make_ova(os.path.join(data, "src.stream-vmdk"),
                                      os.path.join(data, "src.ova")), src))
    iso = cl.make_iso(os.path.join(data, "src.iso"), files=3, file_bytes=700 * 1024)
    inputs.append(("iso", iso, iso))
    # A qcow2 over a backing file next to it: over HTTP the image names a file it cannot reach.
    sh("qemu-img", "create", "-f", "qcow2", "-b", "src.qcow2", "-F", "qcow2",
       os.path.join(data, "overlay.qcow2"))
    os.link(os.path.join(data, "src.qcow2"), os.path.join(data, "auth", "src.qcow2"))

    nginx = Nginx(data, cert, key)
    try:
        tests(nginx, inputs, wrong_ca)
    finally:
        nginx.stop()
    print("PASS: cloud.http_source")


def tests(nginx, inputs, wrong_ca):
    base = f"https://127.0.0.1:{nginx.https}"
    for label, path, expected in inputs:
        convert(label, f"{base}/{os.path.basename(path)}", expected)
    # localhost is in the certificate too.
    convert("raw-localhost", f"https://localhost:{nginx.https}/src.raw", inputs[0][2])

    # No ranges: the formats that stream are read front to back; qcow2 is refused.
    norange = f"https://127.0.0.1:{nginx.norange}"
    by_label = {label: (path, expected) for label, path, expected in inputs}
    for label in ("raw", "stream-vmdk", "fixed-vhd"):
        path, expected = by_label[label]
        text = convert(f"norange-{label}", f"{norange}/{os.path.basename(path)}", expected)
        if "front to back" not in text:
            fail(f"norange-{label}: no note that the object is read as a stream:\n{text}")
    # A large object read as a stream stays in bounded memory (the body is buffered 1 MiB at a
    # time, the transfer paused while the conversion catches up).
    big = os.path.join(WORK, "data", "big.raw")
    with open(big, "wb") as f:
        f.truncate(512 * MIB)
        for at in range(0, 512 * MIB, 64 * MIB):
            f.seek(at)
            f.write(os.urandom(MIB))
    out = os.path.join(WORK, "out", "big.raw")
    # Under AddressSanitizer (CI's build) freed blocks wait in a quarantine of up to 256 MiB
    # before they are reused, which the peak RSS would count; without it the RSS is the
    # process's own memory again (and the option means nothing to an uninstrumented build).
    asan = ":".join(o for o in (ENV.get("ASAN_OPTIONS", ""), "quarantine_size_mb=0") if o)
    p = subprocess.Popen([VD, "convert", "--to", "raw", "--ca-file", CA, f"{norange}/big.raw",
                          out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(ENV, ASAN_OPTIONS=asan))
    text = p.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or cl.sha_file(out) != cl.sha_file(big):
        fail(f"512 MiB stream: exit {status}, or the bytes differ:\n{text[-1500:]}")
    if usage.ru_maxrss > 160 * 1024:
        fail(f"512 MiB stream: vdconvert's peak RSS {usage.ru_maxrss} KiB (> 160 MiB)")
    os.remove(out)
    os.remove(big)
    ok(f"512 MiB read as a stream without ranges: same bytes, peak RSS "
       f"{usage.ru_maxrss // 1024} MiB")

    code, text, _ = run(["convert", "--to", "raw", "--ca-file", CA, f"{norange}/src.qcow2",
                         os.path.join(WORK, "out", "norange.raw")], expect=None)
    line = [ln for ln in text.splitlines() if "front to back" not in ln]
    if code in (0, 3) or len(line) != 1:
        fail(f"qcow2 without ranges: exit {code}, expected one refusal line:\n{text}")
    no_leftovers("qcow2 without ranges", os.path.join(WORK, "out", "norange.raw"))
    ok(f"qcow2 without ranges refused (exit {code}): {line[0][:160]}")

    # A backing file named by an image read over HTTPS cannot be located.
    code, text, _ = run(["convert", "--to", "raw", "--ca-file", CA, f"{base}/overlay.qcow2",
                         os.path.join(WORK, "out", "overlay.raw")], expect=None)
    if code == 0:
        fail(f"a qcow2 with a backing file over HTTPS converted:\n{text}")
    line = one_line("backing file", text)
    no_leftovers("backing file", os.path.join(WORK, "out", "overlay.raw"))
    ok(f"a qcow2 with a backing file over HTTPS refused (exit {code}): {line[:160]}")

    # A certificate the given CA did not sign: one clean TLS error.
    code, text, _ = run(["convert", "--to", "raw", "--ca-file", wrong_ca, f"{base}/src.raw",
                         os.path.join(WORK, "out", "wrongca.raw")], expect=None)
    line = one_line("wrong CA", text)
    if code != 3 or ("certificate" not in line.lower() and "ssl" not in line.lower()):
        fail(f"wrong CA: exit {code}: {line}")
    no_leftovers("wrong CA", os.path.join(WORK, "out", "wrongca.raw"))
    ok(f"wrong CA refused (exit 3): {line[:160]}")

    # Basic auth: refused without the header, read with it, its value never shown.
    code, text, _ = run(["convert", "--to", "raw", "--ca-file", CA, f"{base}/auth/src.qcow2",
                         os.path.join(WORK, "out", "auth.raw")], expect=None)
    line = one_line("no auth", text)
    if code == 0 or "401" not in line:
        fail(f"basic auth without the header: exit {code}: {line}")
    convert("auth", f"{base}/auth/src.qcow2", by_label["qcow2"][1],
            ["--header", f"Authorization: Basic {BASIC}"])
    ok("basic auth: 401 without --header, the same bytes with it, the value never printed")

    # info URL.
    _, text, stdout = run(["info", "--json", "--ca-file", CA, f"{base}/src.vhdx"])
    info = json.loads(stdout)
    if info.get("format") != "vhdx" or "remote_source" not in json.dumps(info):
        fail(f"info URL: {stdout[:800]}")
    _, _, stdout = run(["info", "--json", "--ca-file", CA, "--header",
                        f"Authorization: Basic {BASIC}", f"{base}/auth/src.qcow2"])
    if json.loads(stdout).get("format") != "qcow2":
        fail(f"info URL with basic auth: {stdout[:800]}")
    ok("info URL: vhdx, with the remote source's facts; qcow2 behind basic auth")

    faults(nginx, by_label)


def faults(nginx, by_label):
    """Read-side faults through the proxy in front of plain-http nginx."""
    path, expected = by_label["qcow2"]
    name = os.path.basename(path)
    quick = ["--http-timeout", "2", "--retries", "4"]
    for fault in ("503", "reset", "stall", "cut-body", "short-body", "stall-body"):
        proxy = cl.FaultProxy(nginx.plain, plan={3: fault, 5: fault}, stall_seconds=6)
        try:
            text = convert(f"fault-{fault}", f"http://127.0.0.1:{proxy.port}/{name}", expected,
                           quick)
        finally:
            proxy.stop()
        if [f for _, f in proxy.triggered] != [fault, fault]:
            fail(f"fault {fault}: injected {proxy.triggered}")
        if "retry" not in text:
            fail(f"fault {fault}: no retry note:\n{text}")
        ok(f"fault {fault} (requests 3 and 5): retried, same bytes")

    # The probe itself: retried before any header (503, reset, stall); a probe body cut short
    # is dropped and block 0 fetched again.
    for fault in ("503", "reset", "stall", "cut-body", "short-body"):
        proxy = cl.FaultProxy(nginx.plain, plan={1: fault}, stall_seconds=6)
        try:
            convert(f"probe-{fault}", f"http://127.0.0.1:{proxy.port}/{name}", expected, quick)
        finally:
            proxy.stop()
        if [f for _, f in proxy.triggered] != [fault]:
            fail(f"probe fault {fault}: injected {proxy.triggered}")
        ok(f"fault {fault} on the probe: the same bytes")

    # Faults that last: one error line naming the URL and the offset, exit 3, no DST.
    for fault in ("503", "short-body", "cut-body", "new-etag"):
        first = []

        def rule(method, target, fault=fault, first=first):
            first.append(target)
            return fault if len(first) > 1 else None  # the probe passes

        proxy = cl.FaultProxy(nginx.plain, rule=rule, stall_seconds=6)
        out = os.path.join(WORK, "out", f"always-{fault}.raw")
        try:
            code, text, _ = run(["convert", "--to", "raw", "--connections", "2", *quick,
                                 f"http://127.0.0.1:{proxy.port}/{name}", out], expect=3)
        finally:
            proxy.stop()
        errors = [ln for ln in text.splitlines() if "retry" not in ln and ln.strip()]
        if len(errors) != 1 or f"127.0.0.1:{proxy.port}/{name}" not in errors[0] or \
                "bytes" not in errors[0]:
            fail(f"fault {fault} always: expected one error line naming the URL and the "
                 f"range:\n{text[-2000:]}")
        if fault == "new-etag" and "object changed while it was read" not in errors[0]:
            fail(f"new ETag: {errors[0]}")
        no_leftovers(f"always {fault}", out)
        ok(f"fault {fault} on every block: exit 3, no DST: {errors[0][:200]}")

    # The file replaced on the server after the probe: nginx refuses the pinned ETag (412).
    changing = os.path.join(WORK, "data", "changing.qcow2")
    shutil.copy(path, changing)
    count = []

    def replace_file(method, target, count=count):
        count.append(target)
        if len(count) == 2:
            with open(changing, "r+b") as f:
                f.seek(0, 2)
                f.write(b"\0" * 512)
        return None

    proxy = cl.FaultProxy(nginx.plain, rule=replace_file)
    out = os.path.join(WORK, "out", "changing.raw")
    try:
        code, text, _ = run(["convert", "--to", "raw", *quick,
                             f"http://127.0.0.1:{proxy.port}/changing.qcow2", out], expect=3)
    finally:
        proxy.stop()
    errors = [ln for ln in text.splitlines() if ln.strip()]
    if len(errors) != 1 or "object changed while it was read" not in errors[0] or \
            "412" not in errors[0]:
        fail(f"file replaced while read: expected one line (412):\n{text}")
    no_leftovers("file replaced", out)
    ok(f"file replaced after the probe: exit 3, no DST: {errors[0][:200]}")

    # A stream (no ranges) whose body breaks off: one line naming the URL and the offset.
    path, _ = by_label["raw"]
    proxy = cl.FaultProxy(nginx.plain_norange, plan={1: "cut-body"})
    out = os.path.join(WORK, "out", "stream-cut.raw")
    try:
        code, text, _ = run(["convert", "--to", "raw", *quick,
                             f"http://127.0.0.1:{proxy.port}/{os.path.basename(path)}", out],
                            expect=3)
    finally:
        proxy.stop()
    errors = [ln for ln in text.splitlines() if "front to back" not in ln and ln.strip()]
    half = os.path.getsize(path) // 2
    if len(errors) != 1 or f"offset {half}" not in errors[0] or \
            f"127.0.0.1:{proxy.port}/src.raw" not in errors[0]:
        fail(f"stream cut: expected one line naming the URL and offset {half}:\n{text}")
    no_leftovers("stream cut", out)
    ok(f"a stream cut off: exit 3, no DST: {errors[0][:200]}")


if __name__ == "__main__":
    main()
