"""Real components for the upload tests: Azurite (the Azure Storage emulator) started on a
free loopback port, SAS tokens made the way the service checks them, blob reads for the
assertions, and a fault-injecting HTTP proxy that sits between vdconvert and the emulator.

Nothing here is skipped: a missing component raises, and the test fails.
"""
import base64
import datetime
import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

MIB = 1 << 20


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}")


def setup(argv, tools=("qemu-img",)):
    """VDCONVERT and a fresh WORKDIR from the command line; the tools the test needs."""
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} VDCONVERT WORKDIR")
    vd, work = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    for tool in tools:
        if not shutil.which(tool):
            fail(f"required tool '{tool}' is not installed")
    return vd, work


def make_ova(vmdk, out):
    """An OVA around `vmdk` (OVF first, SHA-256 manifest) made by python's tarfile, with the
    interop tests' builder (tests/interop/make_ova.py); qemu-img cannot read it."""
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, os.path.join(here, "..", "interop", "make_ova.py"), out,
                    vmdk], check=True)
    return out


def make_iso(out, files=3, file_bytes=MIB):
    """A data ISO 9660 image (Rock Ridge + Joliet) made by xorriso from random files: an input
    converted as its own bytes, so the expected raw view is the file itself."""
    tree = out + ".tree"
    os.makedirs(os.path.join(tree, "sub"), exist_ok=True)
    with open("/dev/urandom", "rb") as rnd:
        for i in range(files):
            with open(os.path.join(tree, "sub" if i % 2 else "", f"f{i}.bin"), "wb") as f:
                f.write(rnd.read(file_bytes - 1000 * i))
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "VDTEST", "-o",
                    out, tree], check=True)
    shutil.rmtree(tree)
    return out


def make_live_iso(out):
    """An isolinux El Torito ISO without a hybrid MBR (a live ISO's BIOS boot, no kernel): into
    a target that boots, vdconvert hybridises it (docs/livecd.md)."""
    tree = out + ".tree"
    os.makedirs(os.path.join(tree, "isolinux"), exist_ok=True)
    for f in ("/usr/lib/ISOLINUX/isolinux.bin", "/usr/lib/syslinux/modules/bios/ldlinux.c32"):
        if not os.path.exists(f):
            raise RuntimeError(f"FAIL: {f} missing (packages isolinux, syslinux-common)")
        shutil.copy(f, os.path.join(tree, "isolinux"))
    with open(os.path.join(tree, "isolinux", "isolinux.cfg"), "w") as f:
        f.write("default live\nlabel live\n  kernel /isolinux/vmlinuz\n  append root=live:CDLABEL=VDLIVE\n")
    with open(os.path.join(tree, "isolinux", "vmlinuz"), "wb") as f:
        f.write(os.urandom(MIB))
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "VDLIVE", "-b",
                    "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
                    "-boot-load-size", "4", "-boot-info-table", "-o", out, tree], check=True)
    shutil.rmtree(tree)
    return out


def sha_file(path, limit=None):
    """sha256 of the file's first `limit` bytes (all by default)."""
    h = hashlib.sha256()
    left = limit if limit is not None else os.path.getsize(path)
    with open(path, "rb") as f:
        while left > 0:
            b = f.read(min(left, 8 * MIB))
            if not b:
                break
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def sha_padded(path, size):
    """sha256 of the file's bytes followed by zeros up to `size`."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(8 * MIB)
            if not b:
                break
            h.update(b)
            n += len(b)
    while n < size:
        k = min(size - n, 8 * MIB)
        h.update(bytes(k))
        n += k
    return h.hexdigest()


# The inputs qemu-img writes that the reader tests cover, made from one raw disk:
# (name, qemu-img format, qemu-img options).
QEMU_INPUTS = (
    ("qcow2", "qcow2", ["-c"]), ("vhdx", "vhdx", []), ("vmdk", "vmdk", []),
    ("stream-vmdk", "vmdk", ["-o", "subformat=streamOptimized"]),
    ("vhd", "vpc", ["-o", "subformat=dynamic,force_size=on"]),
    ("fixed-vhd", "vpc", ["-o", "subformat=fixed,force_size=on"]), ("vdi", "vdi", []))


def run_with_azurite(work, tests, name):
    """Runs tests(azurite) against an Azurite storing under WORK/azurite, stopped afterwards
    whatever happens, then prints the test's PASS line."""
    store = os.path.join(work, "azurite")
    os.makedirs(store)
    az = Azurite(store)
    try:
        tests(az)
    finally:
        az.stop()
    print(f"PASS: {name}")


class Runner:
    """Runs vdconvert; fails the test on an unexpected exit or when any of `secrets` (strings
    the run must never print) appears in its output."""

    def __init__(self, vd, env, secrets):
        self.vd, self.env, self.secrets = vd, env, secrets

    def __call__(self, args, expect=0, stdin=None, env=None):
        r = subprocess.run([self.vd] + args, capture_output=True, env=env or self.env,
                           stdin=stdin)
        out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        for s in self.secrets:
            if s in out:
                fail(f"a secret appears in the output of vdconvert {args[0]}: {out[:400]}")
        if expect is not None and r.returncode != expect:
            shown = " ".join("<url>" if "sig=" in a else a for a in args)
            fail(f"vdconvert {shown}: exit {r.returncode}, expected {expect}\n{out[-3000:]}")
        return r.returncode, out, r.stdout.decode(errors="replace")


# Azurite's well-known development account (documented in its README).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
SAS_VERSION = "2019-12-12"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_azurite():
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "node_modules", ".bin", "azurite-blob"),
                 shutil.which("azurite-blob") or ""):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise RuntimeError("FAIL: azurite-blob not found (npm install --prefix tests/cloud)")


class Azurite:
    """azurite-blob on 127.0.0.1:<free port>, data under `location` (kept across restart())."""

    def __init__(self, location):
        self.location = location
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        exe = find_azurite()
        self.log = open(os.path.join(self.location, "azurite.log"), "ab")
        self.proc = subprocess.Popen(
            [exe, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
             "--location", self.location, "--skipApiVersionCheck", "--loose",
             "--disableProductStyleUrl", "--silent"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"FAIL: azurite exited {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("FAIL: azurite did not listen within 60 s")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        self.proc = None

    def terminate(self):
        """Stops the server the way a crash-free restart would (SIGTERM: Azurite saves its
        metadata; a SIGKILL loses what its store had not yet autosaved, which Azure never
        would)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def restart(self):
        self.kill()
        self.start()

    def stop(self):
        self.kill()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"


def _sign(string_to_sign):
    key = base64.b64decode(ACCOUNT_KEY)
    return base64.b64encode(hmac.new(key, string_to_sign.encode(), hashlib.sha256).digest()).decode()


def _expiry():
    t = datetime.datetime.utcnow() + datetime.timedelta(hours=6)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def account_sas(permissions="rwdlacup"):
    """An account SAS for the blob service (containers and objects)."""
    se = _expiry()
    sts = "\n".join([ACCOUNT, permissions, "b", "sco", "", se, "", "http,https", SAS_VERSION, ""])
    q = {"sv": SAS_VERSION, "ss": "b", "srt": "sco", "sp": permissions, "se": se,
         "spr": "http,https", "sig": _sign(sts)}
    return urllib.parse.urlencode(q)


def blob_sas(container, blob, permissions="racwd"):
    """A service SAS for one blob (sr=b), what a user hands vdconvert."""
    se = _expiry()
    resource = f"/blob/{ACCOUNT}/{container}/{blob}"
    # sp, st, se, canonicalized resource, si, sip, spr, sv, sr, snapshot time, rscc, rscd,
    # rsce, rscl, rsct
    sts = "\n".join([permissions, "", se, resource, "", "", "http,https", SAS_VERSION, "b", "",
                     "", "", "", "", ""])
    q = {"sv": SAS_VERSION, "sr": "b", "sp": permissions, "se": se, "spr": "http,https",
         "sig": _sign(sts)}
    return urllib.parse.urlencode(q)


def request(method, url, headers=None, data=None):
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    req.add_header("x-ms-version", "2021-12-02")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


def create_container(endpoint, container):
    st, _, body = request("PUT", f"{endpoint}/{container}?restype=container&{account_sas()}")
    if st not in (201, 409):
        raise RuntimeError(f"FAIL: create container: {st} {body[:200]}")


def blob_url(endpoint, container, blob):
    return f"{endpoint}/{container}/{blob}?{blob_sas(container, blob)}"


def download(endpoint, container, blob, path):
    """The blob's bytes into `path`, in 64 MiB ranged reads (zeros included)."""
    st, h, _ = request("HEAD", f"{endpoint}/{container}/{blob}?{account_sas()}")
    if st != 200:
        raise RuntimeError(f"FAIL: blob {blob}: HEAD {st}")
    size = int(h["content-length"])
    step = 64 << 20
    with open(path, "wb") as f:
        for off in range(0, size, step):
            end = min(size, off + step) - 1
            st, _, body = request("GET", f"{endpoint}/{container}/{blob}?{account_sas()}",
                                  {"x-ms-range": f"bytes={off}-{end}"})
            if st not in (200, 206) or len(body) != end - off + 1:
                raise RuntimeError(f"FAIL: blob {blob}: GET {off}-{end}: {st}, {len(body)} bytes")
            f.write(body)
    return h


def properties(endpoint, container, blob):
    st, h, _ = request("HEAD", f"{endpoint}/{container}/{blob}?{account_sas()}")
    return (h if st == 200 else None)


def page_ranges(endpoint, container, blob):
    st, _, body = request("GET", f"{endpoint}/{container}/{blob}?comp=pagelist&{account_sas()}")
    if st != 200:
        raise RuntimeError(f"FAIL: page ranges of {blob}: {st}")
    import re
    text = body.decode()
    return [(int(a), int(b) + 1) for a, b in
            re.findall(r"<Start>(\d+)</Start><End>(\d+)</End>", text)]


def create_page_blob(endpoint, container, blob, size):
    st, _, body = request("PUT", f"{endpoint}/{container}/{blob}?{account_sas()}",
                          {"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": str(size),
                           "Content-Length": "0"}, b"")
    if st != 201:
        raise RuntimeError(f"FAIL: create page blob: {st} {body[:200]}")


def put_page(endpoint, container, blob, offset, data):
    st, _, body = request("PUT", f"{endpoint}/{container}/{blob}?comp=page&{account_sas()}",
                          {"x-ms-page-write": "update",
                           "x-ms-range": f"bytes={offset}-{offset + len(data) - 1}"}, data)
    if st != 201:
        raise RuntimeError(f"FAIL: put page: {st} {body[:200]}")


class Moto:
    """moto's server mode (on this Python, through moto_launcher.py) on 127.0.0.1:<free port>,
    for S3 and the EBS direct APIs. moto does not check signatures. Its EBS snapshots state
    `ebs_block_size` as their BlockSize: AWS's 524288 by default (moto itself says 512).
    `python`: the interpreter that has moto (default: this one)."""

    def __init__(self, workdir, ebs_block_size=524288, python=None, env=None):
        launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)), "moto_launcher.py")
        self.ebs_block_size = ebs_block_size
        self.port = free_port()
        self.log = open(os.path.join(workdir, "moto.log"), "ab")
        self.proc = subprocess.Popen([python or sys.executable, launcher, "--ebs-block-size",
                                      str(ebs_block_size), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"FAIL: moto's server exited {self.proc.returncode} (see moto.log)")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.3)
        raise RuntimeError("FAIL: moto's server did not answer within 60 s")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        self.proc = None

    def reset(self):
        """Drops every object moto holds (an exact 1 GiB snapshot is 1 GiB of its memory)."""
        st, _, body = self.s3("POST", "/moto-api/reset")
        if st != 200:
            raise RuntimeError(f"FAIL: moto reset: {st} {body[:200]}")

    def aws(self, service, method, path, data=None, headers=None):
        """A request moto routes to `service` (it reads the SigV4 credential scope; it does not
        check the signature)."""
        h = dict(headers or {})
        h["Authorization"] = ("AWS4-HMAC-SHA256 Credential=AKIATEST/20260101/us-east-1/"
                              f"{service}/aws4_request, SignedHeaders=host, Signature=00")
        return self.s3(method, path, data, h)

    def s3(self, method, path, data=None, headers=None):
        req = urllib.request.Request(f"{self.endpoint}{path}", method=method, data=data,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


class FaultProxy:
    """An HTTP/1.1 proxy on a free loopback port forwarding to 127.0.0.1:`upstream_port`.

    `plan` maps the 1-based number of a request (counted over all connections) to a fault:
      "503"   answer 503 ServerBusy without forwarding
      "429"   answer 429 with Retry-After: 1
      "reset" close the connection after reading the request
      "stall" read the request, then send nothing for `stall_seconds`
      "kill"  call on_kill() (e.g. stop the emulator), then reset
      "corrupt" forward the request with one byte of its body flipped (the middle one), its
              integrity headers recomputed for the corrupted body so the server stores it:
              Content-MD5, x-amz-content-sha256 (a hex SHA-256) and EBS's x-amz-Checksum
              (base64 SHA-256); (target, headers, index flipped) go to self.corrupted
    Read-side faults (the request is forwarded, the reply is spoiled):
      "cut-body"   the reply's head and half its body, then the connection closed (a body
                   shorter than its Content-Length)
      "short-body" the reply with half its body and a Content-Length that says so (a complete
                   HTTP message holding fewer bytes than its Content-Range states)
      "stall-body" the reply's head and half its body, then nothing for `stall_seconds`
      "new-etag"   the reply with its ETag replaced (the object seen to change)
    `rule(method, target)`, when given, picks a fault for any request the plan does not.
    `edit_reply(method, target, body)`, when given, returns the body to answer instead of the
    upstream's (a reply with a Content-Length; it is recomputed), or None to pass it on.
    Requests counted: self.count; requests by method+query kind: self.seen.
    self.put_sha256 maps the path of each PUT the upstream answered 2xx to the SHA-256 of the
    body forwarded (what the server was given to store).
    """

    def __init__(self, upstream_port, plan=None, stall_seconds=8, on_kill=None, rule=None,
                 edit_reply=None):
        self.upstream_port = upstream_port
        self.edit_reply = edit_reply
        self.plan = dict(plan or {})
        self.rule = rule  # rule(method, target) -> a fault or None, for every request
        self.stall_seconds = stall_seconds
        self.on_kill = on_kill
        self.count = 0
        self.seen = []
        self.triggered = []  # (request number, fault) of the faults injected
        self.requests = []   # (method, target, headers) of every request
        self.corrupted = []  # (target, headers, body index) of each request "corrupt" changed
        self.put_sha256 = {}
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _read_message(f, is_response=False, head_request=False):
        start = f.readline()
        if not start:
            return None
        lines = [start]
        headers = {}
        while True:
            line = f.readline()
            if not line:
                return None
            lines.append(line)
            if line in (b"\r\n", b"\n"):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        body = b""
        status = int(start.split()[1]) if is_response else 0
        no_body = is_response and (head_request or status in (204, 304) or 100 <= status < 200)
        if not no_body:
            if headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = b""
                while True:
                    size_line = f.readline()
                    chunks += size_line
                    n = int(size_line.split(b";")[0], 16)
                    data = f.read(n + 2)
                    chunks += data
                    if n == 0:
                        # trailers end with an empty line; data already holds "\r\n"
                        break
                body = chunks
            else:
                body = f.read(int(headers.get("content-length", "0")))
        return b"".join(lines), headers, body, start

    @staticmethod
    def _corrupt(head, headers, body):
        """The request with body[len // 2] flipped and its integrity headers recomputed."""
        i = len(body) // 2
        body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
        sha = hashlib.sha256(body)
        new = {
            "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode(),
            "x-amz-checksum": base64.b64encode(sha.digest()).decode(),
        }
        if headers.get("x-amz-content-sha256", "").lower() not in (
                "", "unsigned-payload") and not headers["x-amz-content-sha256"].startswith("STREAMING"):
            new["x-amz-content-sha256"] = sha.hexdigest()
        lines = head.split(b"\r\n")
        for n, line in enumerate(lines[1:], 1):
            name = line.split(b":", 1)[0].decode("latin-1").strip().lower()
            if name in new and name in headers:
                lines[n] = line.split(b":", 1)[0] + b": " + new[name].encode()
        return b"\r\n".join(lines), body

    def _serve(self, c):
        up = None
        try:
            f = c.makefile("rb")
            while True:
                msg = self._read_message(f)
                if msg is None:
                    return
                head, headers, body, start = msg
                with self.lock:
                    self.count += 1
                    n = self.count
                    method, target = start.split()[0].decode(), start.split()[1].decode()
                    fault = self.plan.get(n) or (self.rule(method, target) if self.rule else None)
                    if fault:
                        self.triggered.append((n, fault))
                    self.requests.append((method, target, headers))
                    self.seen.append(start.split()[0].decode() + " " + start.split()[1].decode())
                if fault == "503":
                    c.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                              b"x-ms-error-code: ServerBusy\r\n\r\n")
                    continue
                if fault == "429":
                    c.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n"
                              b"Content-Length: 0\r\n\r\n")
                    continue
                if fault == "reset":
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                if fault == "stall":
                    time.sleep(self.stall_seconds)
                    return
                if fault == "kill":
                    if self.on_kill:
                        self.on_kill()
                    return
                if fault == "corrupt" and body and "content-length" in headers:
                    head, body = self._corrupt(head, headers, body)
                    with self.lock:
                        self.corrupted.append((target, headers, len(body) // 2))
                if up is None:
                    up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=120)
                    uf = up.makefile("rb")
                up.sendall(head + body)
                resp = self._read_message(uf, True, start.startswith(b"HEAD"))
                if resp is None:
                    return
                rhead, rheaders, rbody, rstart = resp
                if method == "PUT" and rstart.split()[1].startswith(b"2"):
                    with self.lock:
                        self.put_sha256[target.split("?")[0]] = hashlib.sha256(body).digest()
                if fault in ("cut-body", "stall-body"):
                    c.sendall(rhead + rbody[:len(rbody) // 2])
                    if fault == "stall-body":
                        time.sleep(self.stall_seconds)
                    return
                if fault in ("short-body", "new-etag"):
                    keep = [ln for ln in rhead.split(b"\r\n") if not ln.lower().startswith(
                        b"content-length:" if fault == "short-body" else b"etag:")]
                    if fault == "short-body":
                        rbody = rbody[:len(rbody) // 2]
                        keep.insert(1, b"Content-Length: " + str(len(rbody)).encode())
                    else:
                        keep.insert(1, b'ETag: "changed-by-the-proxy"')
                    rhead = b"\r\n".join(keep)
                edited = self.edit_reply(method, target, rbody) if self.edit_reply else None
                if edited is not None:
                    if "content-length" not in rheaders:
                        raise RuntimeError(f"FAIL: edit_reply: {target}: no Content-Length")
                    lines = [ln for ln in rhead.split(b"\r\n")
                             if not ln.lower().startswith(b"content-length:")]
                    lines.insert(1, b"Content-Length: " + str(len(edited)).encode())
                    rhead, rbody = b"\r\n".join(lines), edited
                c.sendall(rhead + rbody)
        except OSError:
            return
        finally:
            try:
                c.close()
            except OSError:
                pass
            if up is not None:
                up.close()
