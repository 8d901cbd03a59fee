#!/bin/bash
# qcow2 read: images made here by qemu-img and qemu-io in every option they have (compat 0.10 and
# 1.1, cluster sizes 512 B to 2 MiB, zlib and zstd compression, extended L2 with partial
# subclusters, lazy refcounts and a dirty image, backing chains over raw, VMDK, VHD and qcow2
# three deep with and without backing_fmt, a backing file shorter than its overlay, external
# data files, internal snapshots) are converted by vdconvert to raw, sha256 equal to
# `qemu-img convert -O raw`; `info` agrees with `qemu-img info`; one goes to Azure and is
# compared with `qemu-img compare`; stdin is refused clearly; backing names outside the
# directory are refused.
source "$(dirname "$0")/lib.sh"
need qemu-img qemu-io python3

V=$VDCONVERT
python3 - <<'EOF'
import random
r = random.Random(13)
disk = bytearray(8 << 20)
for off, n in ((0, 70000), (1 << 20, 5000), (3 << 20, 300000), ((8 << 20) - 4096, 4096)):
    disk[off:off + n] = bytes(r.getrandbits(8) for _ in range(n))
disk[5 << 20:(5 << 20) + 200000] = b"\x11\x22" * 100000  # compressible
open("disk.raw", "wb").write(disk)
open("small.raw", "wb").write(bytes(disk[:4 << 20]))
EOF

# The writes that make zero clusters, partial (sub)clusters and unaligned data.
WRITES=(-c 'write -P 0xab 0 64k' -c 'write -z 1M 64k' -c 'write -P 1 4k 512' -c 'write -P 2 200k 3k'
        -c 'write -z 3M 4k' -c 'write -P 3 7M 1M')

# compare IMG [vdconvert options...]: vdconvert's raw view equals qemu-img's; info agrees.
compare() {
  local img=$1; shift
  rm -f v.raw q.raw
  "$V" convert -q "$@" --to raw "$img" v.raw 2> conv.err || fail "$img: vdconvert failed: $(cat conv.err)"
  qemu-img convert -O raw "$img" q.raw
  expect_eq "$(sha v.raw)" "$(sha q.raw)" "$img raw view"
  "$V" info --json "$@" "$img" > info.json 2>/dev/null || fail "$img: info failed"
  qemu-img info --output=json "$img" > qinfo.json
  python3 - "$img" <<'EOF' || fail "$1: info differs from qemu-img info"
import json, sys
v = json.load(open("info.json")); q = json.load(open("qinfo.json"))
assert v["format"] == "qcow2", v
assert v["virtual_size"] == q["virtual-size"], (v["virtual_size"], q["virtual-size"])
assert v["cluster_size"] == q["cluster-size"], (v["cluster_size"], q["cluster-size"])
assert v.get("backing_file", "") == q.get("backing-filename", ""), (v.get("backing_file"), q.get("backing-filename"))
d = q.get("format-specific", {}).get("data", {})
assert (v["version"] == 2) == (d.get("compat") == "0.10"), (v["version"], d.get("compat"))
if "compression-type" in d: assert v["compression_type"] == d["compression-type"], d
if "extended-l2" in d: assert v["extended_l2"] == d["extended-l2"], d
if "lazy-refcounts" in d: assert v["lazy_refcounts"] == d["lazy-refcounts"], d
if "data-file" in d: assert v["data_file"] == d["data-file"], d
assert [s["name"] for s in v["snapshots"]] == [s["name"] for s in q.get("snapshots", [])], v
print("ok: info", sys.argv[1], v["virtual_size"], v["cluster_size"], v.get("backing_file", "-"))
EOF
}

# Every compat and cluster size, converted from raw and written with qemu-io.
for compat in 0.10 1.1; do
  for cs in 512 4k 64k 2M; do
    img=c$compat-$cs.qcow2
    qemu-img convert -O qcow2 -o compat=$compat,cluster_size=$cs disk.raw "$img"
    compare "$img"
    img=w$compat-$cs.qcow2
    qemu-img create -q -f qcow2 -o compat=$compat,cluster_size=$cs "$img" 8M
    qemu-io -f qcow2 "${WRITES[@]}" "$img" > /dev/null
    compare "$img"
  done
done

# Compressed clusters: zlib (raw deflate) and zstd, for small and large clusters.
for type in zlib zstd; do
  for cs in 512 4k 64k 2M; do
    img=z-$type-$cs.qcow2
    qemu-img convert -c -O qcow2 -o compression_type=$type,cluster_size=$cs disk.raw "$img"
    compare "$img"
  done
done
qemu-img convert -c -O qcow2 -o compat=0.10 disk.raw z-v2.qcow2
compare z-v2.qcow2
# Compressed clusters overwritten in part by qemu-io (mixed compressed and plain clusters).
cp z-zstd-64k.qcow2 zmix.qcow2
qemu-io -f qcow2 "${WRITES[@]}" zmix.qcow2 > /dev/null
compare zmix.qcow2

# Extended L2: subclusters allocated, zeroed and left to the backing file.
for cs in 64k 128k 2M; do
  img=x-$cs.qcow2
  qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=$cs "$img" 8M
  qemu-io -f qcow2 "${WRITES[@]}" -c 'write -z 0 32k' "$img" > /dev/null
  compare "$img"
done
qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k -b disk.raw -F raw xb.qcow2
qemu-io -f qcow2 "${WRITES[@]}" xb.qcow2 > /dev/null
compare xb.qcow2

# Lazy refcounts, and an image left dirty by an abort: read with a warning.
qemu-img create -q -f qcow2 -o lazy_refcounts=on lazy.qcow2 8M
qemu-io -f qcow2 "${WRITES[@]}" lazy.qcow2 > /dev/null
compare lazy.qcow2
cp lazy.qcow2 dirty.qcow2
(qemu-io -f qcow2 -c 'write -P 9 2M 64k' -c abort dirty.qcow2 > /dev/null 2>&1 || true) 2> /dev/null
qemu-img info --output=json dirty.qcow2 | python3 -c 'import json,sys; assert json.load(sys.stdin)["dirty-flag"]' \
  || fail "qemu-io abort did not leave the image dirty"
"$V" convert --to raw dirty.qcow2 dirty.raw 2> dirty.err
grep -q "warning: qcow2: the image is marked dirty" dirty.err || fail "no dirty warning: $(cat dirty.err)"
qemu-img convert -O raw -U dirty.qcow2 dirty-q.raw 2>/dev/null
expect_eq "$(sha dirty.raw)" "$(sha dirty-q.raw)" "dirty image raw view"

# Backing chains: over raw, VMDK and VHD (backing_fmt given), probed (no -F), three deep,
# and a backing file shorter than the overlay (its end reads as zeros).
qemu-img convert -O vmdk disk.raw base.vmdk
qemu-img convert -O vpc disk.raw base.vhd
for base in disk.raw:raw base.vmdk:vmdk base.vhd:vpc; do
  f=${base%%:*} fmt=${base##*:}
  img=over-$fmt.qcow2
  qemu-img create -q -f qcow2 -b "$f" -F "$fmt" "$img" 8M
  qemu-io -f qcow2 "${WRITES[@]}" "$img" > /dev/null
  compare "$img"
done
qemu-img create -q -f qcow2 -b small.raw -F raw short.qcow2 8M
qemu-io -f qcow2 -c 'write -P 5 1M 4k' short.qcow2 > /dev/null
compare short.qcow2
qemu-img create -q -f qcow2 -o compat=0.10 -b disk.raw -F raw l1.qcow2
qemu-io -f qcow2 -c 'write -P 4 0 4k' l1.qcow2 > /dev/null
qemu-img create -q -f qcow2 -o cluster_size=4k -b l1.qcow2 -F qcow2 l2.qcow2
qemu-io -f qcow2 -c 'write -P 5 64k 8k' -c 'write -z 3M 64k' l2.qcow2 > /dev/null
qemu-img create -q -f qcow2 -b l2.qcow2 -F qcow2 l3.qcow2
qemu-io -f qcow2 -c 'write -P 6 128k 512' l3.qcow2 > /dev/null
compare l3.qcow2
python3 - <<'EOF2' || fail "l3.qcow2: info does not show the chain"
import json
v = json.load(open("info.json"))
chain = []
while "backing" in v:
    v = v["backing"]; chain.append(v["format"])
assert chain == ["qcow2", "qcow2", "raw"], chain
print("ok: info l3.qcow2 chain", chain)
EOF2
python3 - <<'EOF'
# The same chain with the backing_fmt extension removed: the backing format is probed.
data = bytearray(open("l3.qcow2", "rb").read())
i = data.find(b"\xe2\x79\x2a\xca")
assert i > 0
data[i:i + 4] = b"\x00\x00\x00\x01"  # an unknown extension type: skipped by readers
open("l3-probed.qcow2", "wb").write(data)
EOF
"$V" convert -q --to raw l3-probed.qcow2 probed.raw
expect_eq "$(sha probed.raw)" "$(sha v.raw)" "chain with a probed backing format"

# External data files, raw and not.
qemu-img create -q -f qcow2 -o data_file=data1.bin,data_file_raw=on df-raw.qcow2 8M
qemu-io -f qcow2 "${WRITES[@]}" df-raw.qcow2 > /dev/null
compare df-raw.qcow2
qemu-img create -q -f qcow2 -o data_file=data2.bin df.qcow2 8M
qemu-io -f qcow2 "${WRITES[@]}" df.qcow2 > /dev/null
compare df.qcow2
mv data2.bin data2.moved
set +e
err=$("$V" convert --to raw df.qcow2 gone.raw 2>&1); rc=$?
set -e
[ "$rc" != 0 ] || fail "a missing data file was not refused"
case "$err" in *"external data file 'data2.bin'"*"not found"*) echo "ok: missing data file: $err" ;; *) fail "missing data file: $err" ;; esac
mv data2.moved data2.bin

# Internal snapshots are listed; the active layer converts.
qemu-img convert -O qcow2 disk.raw snap.qcow2
qemu-img snapshot -c first snap.qcow2
qemu-io -f qcow2 "${WRITES[@]}" snap.qcow2 > /dev/null
qemu-img snapshot -c second snap.qcow2
qemu-io -f qcow2 -c 'write -P 8 6M 64k' snap.qcow2 > /dev/null
compare snap.qcow2

# Azure output compared by qemu-img itself.
"$V" convert -q --to azure over-vmdk.qcow2 over.vhd
qemu-img compare -f vpc -F qcow2 over.vhd over-vmdk.qcow2 > /dev/null || fail "qemu-img compare: azure VHD differs"
echo "ok: azure VHD of over-vmdk.qcow2 = the qcow2 (qemu-img compare)"

# stdin: qcow2 needs random access; one line, exit 4.
set +e
err=$("$V" convert --to raw - stdin.raw < c1.1-64k.qcow2 2>&1); rc=$?
set -e
expect_eq "$rc" 4 "qcow2 from stdin"
case "$err" in *"qcow2: "*"random access"*) echo "ok: $err" ;; *) fail "stdin message: $err" ;; esac
[ ! -e stdin.raw ] || fail "stdin: an output was left"

# Backing files outside the image's directory are refused (as VMDK and VHD parents are; the
# library's OpenOptions::allow_outside_paths lifts it, unit.qcow2 covers that).
mkdir -p sub
qemu-img create -q -f qcow2 -b ../disk.raw -F raw sub/out.qcow2 8M
set +e
err=$("$V" convert --to raw sub/out.qcow2 out.raw 2>&1); rc=$?
set -e
expect_eq "$rc" 2 "a backing file outside the directory: invalid input"
case "$err" in *"lies outside the directory"*) echo "ok: $err" ;; *) fail "outside backing: $err" ;; esac
echo "qcow2_read: all passed"
