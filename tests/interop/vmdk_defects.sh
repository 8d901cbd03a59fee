#!/usr/bin/env bash
# VMware-layout streamOptimized VMDKs written by hand (header with gdOffset GD_AT_END, grain
# markers, GT marker + GT, GD marker + GD, footer marker + footer, EOS; VMware technote
# "Stream-Optimized Compressed Sparse Extents"), read from a file and from stdin:
# - capacity 2 grains + 3 sectors, the last grain deflated as a whole 64 KiB grain (as VMware
#   writes it): qemu-img reads it; vdconvert must give the same raw sha256 from the file and
#   from `cat img | vdconvert convert --to raw - out`; non-zero bytes past the end are dropped
#   with a warning; a last grain inflating past a whole grain is corrupt (exit 2) both ways.
# - damaged footers (gdOffset past the end of the stream, or not at the GD) are rejected the
#   same way from the file and from stdin: exit 2, one-line error, no DST.
source "$(dirname "$0")/lib.sh"
need qemu-img python3 sha256sum

# mkvmdk.py OUT [key=value...]: fill=N (byte past the disk's end in the last grain), last=N
# (bytes the last grain is deflated as), gd_offset=N (footer's gdOffset, sectors; default the
# real GD), raw=OUT.raw (also write the disk's bytes).
cat >mkvmdk.py <<'PY'
import struct, sys, zlib
out, opts = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
S, GRAIN = 512, 128
CAP = 2 * GRAIN + 3                      # sectors: two grains and three sectors
fill, last = int(opts.get("fill", "0")), int(opts.get("last", str(GRAIN * S)))
disk = bytes((i * 7 + 3) % 251 for i in range(CAP * S))
if "raw" in opts:
    open(opts["raw"], "wb").write(disk)

def header(gd_offset):
    h = struct.pack("<IIIQQQQIQQQB4sH", 0x564D444B, 3, 0x30001, CAP, GRAIN, 1, 20, 512, 0,
                    gd_offset, GRAIN, 0, b"\n \r\n", 1)
    return h + bytes(S - len(h))

def meta_marker(sectors, kind):
    return struct.pack("<QII", sectors, 0, kind) + bytes(S - 16)

def pad(b):
    return b + bytes(-len(b) % S)

desc = ('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
        'createType="streamOptimized"\n\nRW %d SPARSE "x.vmdk"\n\nddb.adapterType = "lsilogic"\n' % CAP)
f = bytearray(header(0xFFFFFFFFFFFFFFFF) + pad(desc.encode()).ljust(20 * S, b"\0"))
f += bytes(GRAIN * S - len(f))           # grains start at overHead = 128
gt = [0] * 512
for g in range(3):
    data = disk[g * GRAIN * S:(g + 1) * GRAIN * S]
    if g == 2:                           # the last grain: deflated as `last` bytes
        data = data + bytes([fill]) * (last - len(data))
    z = zlib.compress(data)
    gt[g] = len(f) // S
    f += pad(struct.pack("<QI", g * GRAIN, len(z)) + z)
f += meta_marker(4, 1)
gt_sector = len(f) // S
f += struct.pack("<512I", *gt)
f += meta_marker(1, 2)
gd_sector = len(f) // S
f += pad(struct.pack("<I", gt_sector))
f += meta_marker(1, 3) + header(int(opts.get("gd_offset", gd_sector))) + meta_marker(0, 0)
open(out, "wb").write(f)
PY

python3 mkvmdk.py whole.vmdk raw=want.raw
qemu-img convert -O raw whole.vmdk q.raw
expect_eq "$(sha q.raw)" "$(sha want.raw)" "qemu-img reads the whole-grain last grain"
"$VDCONVERT" convert -q --to raw whole.vmdk f.raw 2>f.err || fail "file: $(cat f.err)"
expect_eq "$(sha f.raw)" "$(sha q.raw)" "file -> raw sha256 equals qemu-img's"
cat whole.vmdk | "$VDCONVERT" convert -q --to raw - s.raw 2>s.err || fail "stdin: $(cat s.err)"
expect_eq "$(sha s.raw)" "$(sha q.raw)" "stdin -> raw sha256 equals qemu-img's"
cat whole.vmdk | "$VDCONVERT" convert -q --to raw - - 2>p.err >p.raw || fail "stdout: $(cat p.err)"
expect_eq "$(sha p.raw)" "$(sha q.raw)" "stdin -> stdout (in order) sha256 equals qemu-img's"
[ ! -s f.err ] && [ ! -s s.err ] || fail "zero padding past the end warned: $(cat f.err s.err)"
echo "ok: no warning for zero padding"

# Non-zero bytes past the end: qemu-img drops them; so does vdconvert, with one warning.
python3 mkvmdk.py dirty.vmdk fill=90
qemu-img convert -O raw dirty.vmdk dq.raw
expect_eq "$(sha dq.raw)" "$(sha want.raw)" "qemu-img drops the non-zero tail"
"$VDCONVERT" convert --to raw dirty.vmdk df.raw 2>df.err || fail "dirty file: $(cat df.err)"
cat dirty.vmdk | "$VDCONVERT" convert --to raw - ds.raw 2>ds.err || fail "dirty stdin: $(cat ds.err)"
expect_eq "$(sha df.raw)" "$(sha want.raw)" "file: non-zero tail dropped"
expect_eq "$(sha ds.raw)" "$(sha want.raw)" "stdin: non-zero tail dropped"
for e in df.err ds.err; do
  expect_eq "$(grep -c 'last grain.*past the end' "$e")" 1 "$e: one warning for the non-zero tail"
done

# Exit status of vdconvert reading IMG from the file (from=file) or from stdin, into DST.
run_rc() {
  local from=$1 img=$2 dst=$3 rc
  set +e
  if [ "$from" = file ]; then
    "$VDCONVERT" convert -q --to raw "$img" "$dst" 2>"$dst.err"
  else
    cat "$img" | "$VDCONVERT" convert -q --to raw - "$dst" 2>"$dst.err"
  fi
  rc=$?
  set -e
  echo "$rc"
}
# expect_corrupt IMG WHAT: exit 2 from file and stdin, one error line naming WHAT, no DST.
expect_corrupt() {
  local img=$1 what=$2 from
  for from in file stdin; do
    expect_eq "$(run_rc "$from" "$img" "$img.$from.raw")" 2 "$img from $from: exit 2"
    [ "$(wc -l <"$img.$from.raw.err")" -eq 1 ] || fail "$img from $from: not one error line: $(cat "$img.$from.raw.err")"
    grep -q -- "$what" "$img.$from.raw.err" || fail "$img from $from: error does not name '$what': $(cat "$img.$from.raw.err")"
    [ ! -e "$img.$from.raw" ] || fail "$img from $from: DST left behind"
    echo "ok: $img from $from: $(cat "$img.$from.raw.err")"
  done
}

# A last grain that inflates past a whole grain is corrupt.
python3 mkvmdk.py big.vmdk last=66048
expect_corrupt big.vmdk "inflates to more than"

# The footer's gdOffset past the end of the stream: the file reader refuses it, so must stdin.
python3 mkvmdk.py gdpast.vmdk gd_offset=100000 last=1536  # (last=1536: independent of the fix above)
# (qemu-img 7.2 reads it as an all-zero disk: its read past the end of the file returns zeros.)
expect_corrupt gdpast.vmdk "grain directory at offset 51200000: 1 entries at sector 100000 lie past the end"
# Bytes after EOS: the last three sectors are no longer footer marker, footer, EOS.
python3 mkvmdk.py padded.vmdk last=1536 && head -c 512 /dev/zero >>padded.vmdk
expect_corrupt padded.vmdk "footer"
echo "vmdk defects: all checks passed"
