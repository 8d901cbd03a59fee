# vdconvert as a user meets it: help and exit codes, conversions checked by qemu-img and by
# `vdconvert check`, and the hostile paths: an existing DST, SRC == DST (also through links and
# shell redirections), corrupt input, a full disk (tmpfs), /dev/full, a closed pipe, SIGINT and
# SIGTERM while reading a stalled pipe, stdin -> stdout, terminals. After every failure no DST
# and no temporary file may be left behind.
source "$(dirname "$0")/lib.sh"
need qemu-img python3 sha256sum mount umount truncate
V=$VDCONVERT
MiB=$((1 << 20))

# Runs "$@" with stdout/stderr captured in out.txt/err.txt; sets RC.
run() { RC=0; "$@" >out.txt 2>err.txt || RC=$?; }
expect_rc() {  # expect_rc CODE WHAT
  [ "$RC" -eq "$1" ] || { echo "--- stderr:"; cat err.txt; fail "$2: exit $RC, expected $1"; }
  echo "ok: $2 (exit $RC)"
}
# Exactly one stderr line "vdconvert: error: ..." containing $1 (case-insensitive); any other
# lines are the library's diagnostics ("vdconvert: warning|note: ...").
expect_one_error() {
  local n; n=$(grep -c '^vdconvert: error: ' err.txt || true)
  [ "$n" -eq 1 ] || { cat err.txt; fail "expected one 'vdconvert: error:' line, got $n"; }
  ! grep -Ev '^vdconvert: (error|warning|note): ' err.txt || fail "stray stderr lines"
  grep '^vdconvert: error: ' err.txt | grep -qi -- "$1" || fail "error does not mention '$1': $(cat err.txt)"
}
expect_empty_dir() { [ -z "$(ls -A "$1")" ] || fail "$2: left behind in $1: $(ls -A "$1")"; echo "ok: $2"; }
# The two VHDs are identical except for the footer's checksum and unique id (bytes 64..83).
same_but_uuid() {
  python3 - "$1" "$2" <<'EOF' || fail "$3: $1 and $2 differ outside the footer unique id"
import sys
a, b = (open(p, 'rb').read() for p in sys.argv[1:3])
assert len(a) == len(b), (len(a), len(b))
mask = lambda d: d[:-512] + d[-512:][:64] + d[-512:][84:]
assert mask(a) == mask(b)
EOF
  echo "ok: $3"
}

# A 24 MiB sparse raw disk with data at a few places (the first MiB, the middle, the end).
truncate -s 24M disk.raw
for at in 0 9 23; do head -c $MiB /dev/urandom | dd of=disk.raw bs=1M seek=$at conv=notrunc status=none; done
SRC_SHA=$(sha disk.raw)

# --- help, version, usage errors --------------------------------------------------------------
run "$V" --help; expect_rc 0 "--help"
grep -q "130" out.txt && grep -q SOURCE_DATE_EPOCH out.txt || fail "--help lacks exit codes/env"
for c in convert info check repair descriptor iso; do
  run "$V" $c --help; expect_rc 0 "$c --help"
  grep -q -- "-q, --quiet" out.txt || fail "$c --help lacks -q, --quiet"
done
run "$V" --version; expect_rc 0 "--version"
grep -Eq '^vdconvert [0-9]+\.[0-9]+\.[0-9]+$' out.txt || fail "--version output: $(cat out.txt)"
run "$V"; expect_rc 1 "no arguments"; expect_one_error "no command"
run "$V" convert --to qcow9 disk.raw x.img; expect_rc 1 "unknown target"; expect_one_error "unknown target"
run "$V" convert --to vhd --threads lots disk.raw x.img; expect_rc 1 "bad --threads"
run "$V" frob; expect_rc 1 "unknown command"
run "$V" convrt disk.raw x.img; expect_rc 1 "mistyped command"; expect_one_error "did you mean 'convert'"
run "$V" convert --forse --to vhd disk.raw x.img; expect_rc 1 "mistyped option"
expect_one_error "did you mean '--force'"
# -f is --from (qemu-img's meaning; it was --force before 0.x): "-f SRC DST" is an unknown
# format, never an overwrite.
run "$V" convert -O vhd -f disk.raw x.img; expect_rc 1 "-f takes a format"
expect_one_error "unknown input format 'disk.raw'"
run "$V" convert -O vhd -j disk.raw x.img; expect_rc 1 "-j without a number"; expect_one_error "--threads"
[ ! -e x.img ] || fail "usage error created x.img"

# --- conversions verified by qemu-img and check -----------------------------------------------
mkdir conv
run "$V" convert --to vhd disk.raw conv/fixed.vhd; expect_rc 0 "raw -> vhd"
grep -q '^vdconvert: .*->' err.txt || fail "no summary line on stderr: $(cat err.txt)"
expect_eq "$(qemu-img info -f vpc --output=json conv/fixed.vhd | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
  "$((24 * MiB))" "qemu-img reads the vhd's exact size"
qemu-img compare -q -f raw -F vpc disk.raw conv/fixed.vhd || fail "qemu-img compare raw vs vhd"
echo "ok: qemu-img compare raw vs vhd"
run "$V" convert --quiet --to azure disk.raw conv/azure.vhd; expect_rc 0 "raw -> azure"
[ ! -s err.txt ] || fail "--quiet printed: $(cat err.txt)"
qemu-img compare -q -f raw -F vpc disk.raw conv/azure.vhd || fail "qemu-img compare raw vs azure"
echo "ok: qemu-img compare raw vs azure"
run "$V" check --for azure conv/azure.vhd; expect_rc 0 "check --for azure on our output"
grep -q '^PASS ' out.txt && ! grep -q '^FAIL ' out.txt || fail "check output: $(cat out.txt)"
run "$V" check --for azure disk.raw; expect_rc 5 "check --for azure on a plain raw file"
grep -q '^FAIL ' out.txt || fail "no FAIL line: $(cat out.txt)"
run "$V" check --for azure --json conv/azure.vhd; expect_rc 0 "check --json"
python3 -m json.tool out.txt >/dev/null || fail "check --json is not JSON"
run "$V" info --json conv/fixed.vhd; expect_rc 0 "info --json file"
python3 -m json.tool out.txt >/dev/null || fail "info --json is not JSON"
expect_eq "$(python3 -c 'import json; print(json.load(open("out.txt"))["format"])')" vhd "info format"
RC=0; "$V" info --json - <disk.raw >out.txt 2>err.txt || RC=$?; expect_rc 0 "info --json stdin"
expect_eq "$(python3 -c 'import json; print(json.load(open("out.txt"))["format"])')" raw "info stdin format"
run "$V" convert --quiet --json --to raw conv/fixed.vhd conv/back.raw; expect_rc 0 "vhd -> raw --json"
python3 -m json.tool out.txt >/dev/null || fail "convert --json is not JSON"
expect_eq "$(sha conv/back.raw)" "$SRC_SHA" "vhd -> raw round trip"
run "$V" convert -q --progress --to raw disk.raw conv/p.raw; expect_rc 1 "--quiet with --progress"
run "$V" convert --progress --to raw disk.raw conv/p.raw; expect_rc 0 "--progress into a file"
grep -q '100%' err.txt || fail "--progress printed no final progress line: $(cat err.txt)"

# Same output for any thread count (footer time pinned, unique id masked).
export SOURCE_DATE_EPOCH=1700000000
run "$V" convert -q -j 1 --to azure disk.raw conv/t1.vhd; expect_rc 0 "--threads 1"
run "$V" convert -q -j 7 --to azure disk.raw conv/t7.vhd; expect_rc 0 "--threads 7"
same_but_uuid conv/t1.vhd conv/t7.vhd "threads 1 and 7 give the same bytes"
run env SOURCE_DATE_EPOCH=yesterday "$V" convert --to vhd disk.raw conv/bad-epoch.vhd
expect_rc 1 "invalid SOURCE_DATE_EPOCH"; [ ! -e conv/bad-epoch.vhd ] || fail "bad epoch made output"

# --- stdin -> stdout equals the file-based output ---------------------------------------------
run "$V" convert -q --to vhd disk.raw conv/file.vhd; expect_rc 0 "file -> file"
RC=0; cat disk.raw | "$V" convert --to vhd - - >conv/pipe.vhd 2>err.txt || RC=$?
expect_rc 0 "stdin -> stdout"
same_but_uuid conv/file.vhd conv/pipe.vhd "stdin -> stdout equals file -> file"
qemu-img compare -q -f raw -F vpc disk.raw conv/pipe.vhd || fail "qemu-img compare pipe output"
unset SOURCE_DATE_EPOCH

# --- DST exists, --force, SRC == DST ----------------------------------------------------------
mkdir exist
echo "precious" >exist/dst.vhd; DST_SHA=$(sha exist/dst.vhd)
run "$V" convert --to vhd disk.raw exist/dst.vhd; expect_rc 1 "DST exists"; expect_one_error "exists"
expect_eq "$(sha exist/dst.vhd)" "$DST_SHA" "existing DST untouched"
expect_eq "$(ls -A exist)" "dst.vhd" "no temporary file next to DST"
run "$V" convert -q --force --to vhd disk.raw exist/dst.vhd; expect_rc 0 "--force replaces DST"
qemu-img compare -q -f raw -F vpc disk.raw exist/dst.vhd || fail "--force output differs"
# qemu-img's short options, bundled and attached: -f FMT, -O TARGET, -j N, -q.
run "$V" convert -qfraw -Ovhd -j2 --force disk.raw exist/dst.vhd; expect_rc 0 "-qfraw -Ovhd -j2"
[ ! -s err.txt ] || fail "-q printed: $(cat err.txt)"
qemu-img compare -q -f raw -F vpc disk.raw exist/dst.vhd || fail "-Ovhd output differs"
# -q silences notes on every command (descriptor extract prints one), never errors.
qemu-img create -q -f vmdk exist/d.vmdk 1M
run "$V" descriptor extract exist/d.vmdk exist/d.txt; expect_rc 0 "descriptor extract"
grep -q '^vdconvert: note: ' err.txt || fail "descriptor extract printed no note: $(cat err.txt)"
run "$V" descriptor extract -q --force exist/d.vmdk exist/d.txt; expect_rc 0 "descriptor extract -q"
[ ! -s err.txt ] || fail "descriptor extract -q printed: $(cat err.txt)"
run "$V" descriptor extract -q exist/d.vmdk exist/d.txt; expect_rc 1 "-q keeps errors"
expect_one_error "exists"
rm exist/d.vmdk exist/d.txt
ln -s ../disk.raw exist/sym.raw; ln disk.raw exist/hard.raw
for dst in disk.raw ./disk.raw exist/sym.raw exist/hard.raw; do
  run "$V" convert --force --to raw disk.raw "$dst"; expect_rc 1 "SRC == DST via $dst"
  expect_one_error "input"
done
run "$V" convert --force --to vhd exist/hard.raw disk.raw; expect_rc 1 "SRC (hard link) == DST"
RC=0; "$V" convert --to raw disk.raw - >>disk.raw 2>err.txt || RC=$?
expect_rc 1 "stdout appended to SRC"; expect_one_error "input"
expect_eq "$(sha disk.raw)" "$SRC_SHA" "SRC unchanged after all SRC == DST attempts"
rm exist/sym.raw exist/hard.raw

# --- corrupt and missing input ----------------------------------------------------------------
mkdir bad out
head -c $MiB /dev/urandom >bad/noise.bin
run "$V" convert --from vhd --to azure bad/noise.bin out/x.vhd; expect_rc 2 "random bytes as vhd"
expect_one_error "vhd"
qemu-img convert -f raw -O vpc disk.raw bad/dynamic.vhd
head -c 1536 bad/dynamic.vhd >bad/truncated.vhd
run "$V" convert --from vhd --to azure bad/truncated.vhd out/x.vhd; expect_rc 2 "truncated dynamic vhd"
expect_one_error "vhd"
run "$V" convert --to azure bad/missing.raw out/x.vhd; expect_rc 3 "missing SRC"
expect_one_error "missing.raw"
expect_empty_dir out "no DST or temporary file after bad input"

# --- full disk, /dev/full, closed pipe --------------------------------------------------------
mkdir full
mount -t tmpfs -o size=4m tmpfs full || fail "cannot mount a tmpfs (the test runs as root)"
trap 'umount "$WORK/full" 2>/dev/null || true' EXIT
head -c $((32 * MiB)) /dev/urandom >random.raw
for t in raw azure; do
  run "$V" convert --to $t random.raw full/out.img; expect_rc 3 "full tmpfs ($t)"
  expect_one_error "no space"
  expect_empty_dir full "nothing left on the full tmpfs ($t)"
done
umount full; trap - EXIT
run "$V" convert --to raw disk.raw /dev/full; expect_rc 3 "DST /dev/full"; expect_one_error "no space"
RC=0; "$V" convert --to vhd disk.raw - >/dev/full 2>err.txt || RC=$?
expect_rc 3 "stdout to /dev/full"; expect_one_error "no space"
set +o pipefail
"$V" convert --to raw random.raw - 2>err.txt | head -c 1 >/dev/null; RC=${PIPESTATUS[0]}
set -o pipefail
expect_rc 3 "stdout closed early (EPIPE, not killed by SIGPIPE)"
expect_one_error "pipe"

# --- SIGINT / SIGTERM while reading a stalled pipe --------------------------------------------
set -m  # job control: background jobs get default SIGINT handling, as in an interactive shell
for sig in INT TERM; do
  mkdir sig$sig
  rm -f fifo && mkfifo fifo
  "$V" convert --from raw --to vhd - sig$sig/out.vhd <fifo 2>err.txt &
  pid=$!
  exec 3>fifo                                   # the writer stays open: the pipe stalls
  head -c $((8 * MiB)) /dev/urandom >&3
  sleep 1
  kill -s $sig $pid
  # It must stop within 4 s although its input is still open and silent.
  for _ in $(seq 40); do
    case "$(ps -o stat= -p $pid 2>/dev/null || true)" in ""|Z*) break ;; esac
    sleep 0.1
  done
  case "$(ps -o stat= -p $pid 2>/dev/null || true)" in
    ""|Z*) ;;
    *) kill -9 $pid; exec 3>&-; fail "SIG$sig: still running 4 s after the signal" ;;
  esac
  RC=0; wait $pid || RC=$?
  exec 3>&-
  expect_rc 130 "SIG$sig"
  grep -q '^vdconvert: interrupted$' err.txt || fail "SIG$sig message: $(cat err.txt)"
  expect_empty_dir sig$sig "no DST or temporary file after SIG$sig"
done
set +m

# --- terminals (through a pseudo-terminal) ----------------------------------------------------
python3 - "$V" <<'EOF' || fail "terminal behaviour"
import os, pty, subprocess, sys
v = sys.argv[1]
m, s = pty.openpty()
# Image bytes are never written to a terminal.
r = subprocess.run([v, "convert", "--to", "vhd", "disk.raw", "-"], stdout=s, stderr=subprocess.PIPE)
assert r.returncode == 1, r
assert b"terminal" in r.stderr, r.stderr
# Nor read from one.
for args in (["convert", "--to", "vhd", "-", "tty-in.vhd"], ["info", "-"]):
    r = subprocess.run([v] + args, stdin=s, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert r.returncode == 1 and b"terminal" in r.stderr, r
assert not os.path.exists("tty-in.vhd")
# A progress bar is drawn in place on a terminal stderr.
r = subprocess.run([v, "convert", "--to", "vhd", "random.raw", "tty.vhd"], stdout=subprocess.PIPE, stderr=s)
assert r.returncode == 0, r
os.close(s)
seen = b""
while True:
    try:
        chunk = os.read(m, 65536)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
assert b"\r" in seen and b"100%" in seen, seen
print("ok: no image bytes to or from a terminal; progress bar drawn with \\r")
EOF

echo "PASS: cli_behaviour"
