# The committed VMDK fixtures (tests/fixtures/vmdk, made by qemu-img 7.2; provenance in its
# README) read to the raw view qemu-img gave when they were made, from a file and from stdin,
# with the metadata recorded in expected.txt, and pass `check --for vmdk`. Needs no qemu-img.
source "$(dirname "$0")/lib.sh"
need gzip python3
FIX=${VDISK_SOURCE_DIR:?}/tests/fixtures/vmdk
mkdir -p qemu72-chain
for gz in "$FIX"/*.vmdk.gz "$FIX"/qemu72-chain/*.vmdk.gz; do
  rel=${gz#"$FIX"/}
  gzip -dc "$gz" > "${rel%.gz}"
done

n=0
while read -r name want size ctype cid pcid alloc; do
  case "$name" in '#'* | '') continue ;; esac
  n=$((n + 1))
  out=$(basename "$name" .vmdk).raw
  "$VDCONVERT" convert --quiet --to raw "$name" "$out"
  expect_eq "$(sha "$out")" "$want" "$name raw view sha256"
  expect_eq "$(stat -c %s "$out")" "$size" "$name raw size"
  "$VDCONVERT" info --json "$name" > info.json
  got=$(python3 -c '
import json, sys
d = json.load(open("info.json"))
print(d["virtual_size"], d["create_type"], d["cid"], d["parent_cid"], d["allocated_bytes"])')
  expect_eq "$got" "$size $ctype $cid $pcid $alloc" "$name info (size createType CID parentCID allocated)"
  "$VDCONVERT" check --for vmdk "$name" > check.txt || { cat check.txt; fail "$name: check --for vmdk"; }
  echo "ok: $name passes check --for vmdk"
done < "$FIX/expected.txt"
expect_eq "$n" 3 "fixtures listed in expected.txt"

# The stream-optimized fixture also reads from a pipe (marker walk, no seeking).
want=$(awk '$1 == "qemu72_stream.vmdk" {print $2}' "$FIX/expected.txt")
gzip -dc "$FIX/qemu72_stream.vmdk.gz" | "$VDCONVERT" convert --quiet --from vmdk --to raw - piped.raw
expect_eq "$(sha piped.raw)" "$want" "qemu72_stream.vmdk from stdin"
# qemu-img pads the file with zeros after its last grain; vdconvert reads them, so the process
# feeding the pipe is not killed by SIGPIPE (above, pipefail would catch gzip's exit 141).
gzip -dc "$FIX/qemu72_stream.vmdk.gz" > stream.vmdk
left=$(cat stream.vmdk | { "$VDCONVERT" convert --quiet --from vmdk --to raw - piped2.raw; cat | wc -c; })
expect_eq "$left" 0 "bytes left unread in the pipe after the stream"

# The chain needs its parent: without base.vmdk the child is refused with a message naming it.
mkdir -p orphan && cp qemu72-chain/child.vmdk orphan/
if "$VDCONVERT" convert --quiet --to raw orphan/child.vmdk orphan.raw 2> err.txt; then
  fail "child without its parent converted"
fi
grep -q "base.vmdk" err.txt || fail "orphan error does not name base.vmdk: $(cat err.txt)"
[ ! -e orphan.raw ] || fail "orphan.raw left behind"
echo "ok: child without its parent refused: $(head -1 err.txt)"
