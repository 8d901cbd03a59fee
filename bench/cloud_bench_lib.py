"""What the cloud benchmarks share (bench/upload_compare.py, bench/remote_compare.py): the bench
disk, a timed vdconvert run with its peak RSS, and curl's floor against an emulator.
"""
import os
import random
import subprocess
import sys
import time


def size_text(n):
    """n bytes as "8 GiB", "1536 MiB" or "256 KiB" (the largest unit that divides it)."""
    for unit, bits in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << bits and n % (1 << bits) == 0:
            return f"{n >> bits} {unit}"
    return f"{n} bytes"


def make_disk(path, disk_bytes, data_bytes):
    """The bench disk: `data_bytes` of real-looking data in 8 regions spread over a sparse
    disk of `disk_bytes`: /usr binaries (about 2:1 compressible) with an eighth of incompressible
    bytes (seeded, so the disk is the same each run). Kept when it exists with the same recipe."""
    stamp = f"{path}.recipe"
    recipe = f"{disk_bytes} bytes, {data_bytes} bytes of data"
    if os.path.exists(path) and os.path.exists(stamp) and open(stamp).read() == recipe:
        return
    files = sorted(os.path.join(d, f) for top in ("/usr/lib", "/usr/bin")
                   for d, _, fs in os.walk(top) for f in fs)

    def corpus():
        for f in files:
            try:
                if os.path.isfile(f) and not os.path.islink(f) and os.path.getsize(f) > 65536:
                    with open(f, "rb") as h:
                        yield h.read()
            except OSError:
                pass
        while True:
            yield bytes(0)

    rng = random.Random(1)
    per = data_bytes // 8
    src = corpus()
    buf = b""
    with open(path, "wb") as out:
        out.truncate(disk_bytes)
        for i in range(8):
            out.seek(i * disk_bytes // 8)
            left = per
            while left:
                if i == 4:  # one region of eight: incompressible
                    chunk = rng.randbytes(min(left, 4 << 20))
                else:
                    while len(buf) < (4 << 20):
                        more = next(src)
                        if not more:
                            more = rng.randbytes(4 << 20)
                        buf += more
                    chunk, buf = buf[:min(left, 4 << 20)], buf[min(left, 4 << 20):]
                out.write(chunk)
                left -= len(chunk)
    with open(stamp, "w") as f:
        f.write(recipe)


def timed(vd, env, args, out=None, reps=1):
    """Best of `reps` runs of `vd` with `args`: (wall seconds, peak RSS MiB, its stdout)."""
    best = None
    for _ in range(reps):
        if out and os.path.exists(out):
            os.remove(out)
        t0 = time.time()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", "time.txt", vd] + args,
                           capture_output=True, env=env)
        wall = time.time() - t0
        if r.returncode != 0:
            sys.exit(f"vdconvert {' '.join(args[:3])}: exit {r.returncode}: "
                     f"{r.stderr.decode()[-2000:]}")
        with open("time.txt") as f:
            rss = int(f.read().split()[-1]) // 1024
        if best is None or wall < best[0]:
            best = (wall, rss, r.stdout.decode())
    return best


def curl_floor(requests, parallel=8, immediate=False, method="PUT", config="floor.curl"):
    """The server's own floor: `requests` (dicts of url, headers, and for a PUT file) sent by
    curl alone,
    `parallel` at a time over kept-alive connections, as fast as the server takes them.
    `immediate`: open the `parallel` connections at once (--parallel-immediate; without it curl
    first waits to reuse the connections it has). Returns the wall seconds; every request must
    succeed."""
    with open(config, "w") as f:
        for i, r in enumerate(requests):
            if i:
                f.write("next\n")
            f.write(f'url = "{r["url"]}"\nrequest = "{method}"\n'
                    'output = "/dev/null"\nsilent\nshow-error\nfail\n')
            if "file" in r:
                f.write(f'upload-file = "{r["file"]}"\n')
            for h in r["headers"]:
                f.write(f'header = "{h}"\n')
            if "dump" in r:
                f.write(f'dump-header = "{r["dump"]}"\n')
    t0 = time.time()
    subprocess.run(["curl", "-sS", "--no-progress-meter", "-K", config, "--parallel",
                    "--parallel-max", str(parallel)] + (["--parallel-immediate"] if immediate else []),
                   check=True)
    return time.time() - t0


