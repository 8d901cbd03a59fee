#!/usr/bin/env bash
# Every JSON document vdconvert prints (info, check, convert --json, --checksums-file,
# repair --json, descriptor lint --json, iso ls --json) is valid UTF-8 and valid JSON even when
# names and values are not UTF-8 (a Latin-1 ddb.comment in qemu-img-made VMDKs, a file name with
# byte 0xff, an ISO with Latin-1 Rock Ridge names), and follows docs/json.md: schema_version 1
# at the top, check items with a rule id and severity only when they fail or warn, times in
# RFC 3339 UTC, and convert --json's diagnostics carrying the padding note.
source "$(dirname "$0")/lib.sh"
need qemu-img genisoimage python3

cat > validate.py <<'PY'
# validate.py KIND FILE: strict UTF-8, json.loads, and the docs/json.md rules for KIND.
import json, re, sys
kind, path = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
text = raw.decode("utf-8")  # strict: raises on any byte that is not UTF-8
d = json.loads(text)
assert isinstance(d, dict), f"{path}: top level is not an object"
assert d.get("schema_version") == 1, f"{path}: schema_version {d.get('schema_version')!r}"
assert list(d)[0] == "schema_version", f"{path}: schema_version is not the first key"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TIME_KEYS = {"timestamp", "creation_time", "mtime"}
times = 0
def walk(v, key=""):
    global times
    if isinstance(v, dict):
        for k, x in v.items():
            walk(x, k)
    elif isinstance(v, list):
        for x in v:
            walk(x, key)
    elif key in TIME_KEYS or key.endswith("_time"):
        assert isinstance(v, str) and RFC3339.match(v), f"{path}: {key} = {v!r} is not RFC 3339 UTC"
        times += 1
walk(d)
ID = re.compile(r"^(azure|gcp|aws|vmdk)\.[a-z0-9_.-]+$")
if kind == "check":
    assert d["rules"], f"{path}: no rules"
    for r in d["rules"]:
        assert ID.match(r["rule"]), f"{path}: rule id {r['rule']!r}"
        assert isinstance(r["statement"], str) and r["statement"], r
        if r["passed"]:
            assert "severity" not in r, f"{path}: passing item has a severity: {r}"
        else:
            assert r["severity"] in ("error", "warning"), f"{path}: failing item: {r}"
    assert d["failures"] == sum(1 for r in d["rules"] if not r["passed"] and r["severity"] == "error")
    assert d["warnings"] == sum(1 for r in d["rules"] if not r["passed"] and r["severity"] == "warning")
    assert d["passed"] == (d["failures"] == 0)
if kind == "convert":
    assert isinstance(d["diagnostics"], list), d
    for x in d["diagnostics"]:
        assert set(x) == {"level", "message"} and x["level"] in ("note", "warning"), x
for want in sys.argv[3:]:  # PYTHON-EXPR on d that must be true
    assert eval(want), f"{path}: {want} is false"
print(f"ok: {kind} {path}: valid UTF-8 JSON, schema_version 1, {times} RFC 3339 times")
PY

# check_json KIND FILE [EXPR...]: json.tool and validate.py.
check_json() {
  python3 -m json.tool "$2" >/dev/null || fail "$2 is not JSON: $(head -c 400 "$2")"
  python3 validate.py "$@" || fail "$2 does not follow docs/json.md"
}
rc_of() { set +e; "$@" >out.json 2>err.txt; local rc=$?; set -e; echo "$rc"; }

# --- a descriptor+flat pair with a Latin-1 ddb.comment, under a name with byte 0xff ----------
qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 3M
printf 'ddb.comment = "caf\xe9"\n' >> flat.vmdk
name=$'fl\xffat.vmdk'
cp flat.vmdk "$name"
"$VDCONVERT" info --json "$name" > info-flat.json || fail "info --json of $name"
check_json info info-flat.json 'd["ddb"]["ddb.comment"] == "caf\ufffd"' \
  'd["file"] == "fl\ufffdat.vmdk"' 'd["diagnostics"] == []'
expect_eq "$(rc_of "$VDCONVERT" check --json "$name")" 0 "check (vmdk) of $name"
check_json check out.json 'd["path"] == "fl\ufffdat.vmdk"' 'd["target"] == "vmdk"'
cp out.json check-flat.json
expect_eq "$(rc_of "$VDCONVERT" descriptor lint --for qemu --json "$name")" 0 "lint --for qemu"
check_json lint out.json 'd["findings"] == [] and d["clean"]' 'd["path"] == "fl\ufffdat.vmdk"'

# --- a monolithicSparse whose embedded descriptor gets the same line ------------------------
qemu-img create -q -f vmdk -o subformat=monolithicSparse sparse.vmdk 3M
python3 - sparse.vmdk <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
anchor = b'ddb.virtualHWVersion = "4"\n'
at = b.index(anchor) + len(anchor)
line = b'ddb.comment = "caf\xe9"\n'
end = b.index(b"\0", at)  # the descriptor text ends at the first NUL of its area
assert b[end:end + len(line)] == b"\0" * len(line)
b[at:end + len(line)] = line + b[at:end]
open(p, "wb").write(b)
PY
qemu-img info sparse.vmdk >/dev/null || fail "qemu-img cannot read the edited sparse.vmdk"
"$VDCONVERT" info --json sparse.vmdk > info-sparse.json || fail "info --json sparse.vmdk"
check_json info info-sparse.json 'd["ddb"]["ddb.comment"] == "caf\ufffd"'
# MVMC rejects the unknown ddb key: failing items with a rule id and a severity.
expect_eq "$(rc_of "$VDCONVERT" check --for mvmc --json sparse.vmdk)" 5 "check --for mvmc exit"
check_json check out.json 'd["failures"] >= 1' \
  'any(r["rule"] == "vmdk.lint.mvmc-ddb-entry" and r["severity"] == "error" and r["facts"]["value"] == "caf\ufffd" for r in d["rules"])' \
  'any(r["rule"] == "vmdk.gt_past_end" and r["passed"] for r in d["rules"])'
cp out.json check-mvmc.json
expect_eq "$(rc_of "$VDCONVERT" check --json sparse.vmdk)" 0 "check (vmdk) exit"
check_json check out.json 'd["warnings"] >= 1' \
  'any(r["rule"] == "vmdk.lint.mvmc-ddb-entry" and r["severity"] == "warning" for r in d["rules"])'
expect_eq "$(rc_of "$VDCONVERT" descriptor lint --for mvmc --json sparse.vmdk)" 5 "descriptor lint exit"
check_json lint out.json 'any(f["value"] == "caf\ufffd" for f in d["findings"])'
cp sparse.vmdk "sp$(printf '\xff')arse.vmdk"
expect_eq "$(rc_of "$VDCONVERT" repair --for mvmc --dry-run --json "sp$(printf '\xff')arse.vmdk")" 0 \
  "repair --dry-run exit"
check_json repair out.json 'd["path"] == "sp\ufffdarse.vmdk"' 'd["mode"] == "dry-run"' \
  'any(e["before"] == "ddb.comment = \"caf\ufffd\"" for e in d["edits"])'
"$VDCONVERT" repair --for mvmc --json sparse.vmdk "re$(printf '\xff')paired.vmdk" > repair.json ||
  fail "repair --json into a copy"
check_json repair repair.json 'd["written"] is True' 'd["destination"] == "re\ufffdpaired.vmdk"'

# --- convert --json: padding note in diagnostics, checksums, --checksums-file ---------------
head -c $((3 * 1024 * 1024 + 4096)) /dev/urandom > "in$(printf '\xff').raw"
"$VDCONVERT" convert --to azure --json --checksums "in$(printf '\xff').raw" az.vhd \
  > convert.json 2> convert.err || fail "convert --json: $(cat convert.err)"
grep -q "note: azure: virtual size padded" convert.err || fail "padding note not on stderr"
check_json convert convert.json 'd["source"]["path"] == "in\ufffd.raw"' \
  'any(x["level"] == "note" and "padded from 3149824 to 20971520" in x["message"] for x in d["diagnostics"])' \
  'd["checksums"]["artifact"]["path"] == "az.vhd"' 'd["output"]["target"] == "azure"'
"$VDCONVERT" convert --to vhd -q --checksums-file "sums$(printf '\xff').json" "$name" fixed.vhd ||
  fail "convert --checksums-file"
check_json checksums "sums$(printf '\xff').json" 'set(d) == {"schema_version", "disk", "artifact"}' \
  'len(d["artifact"]["sha256"]) == 64'
"$VDCONVERT" convert --to raw -q --json sparse.vmdk back.raw > convert-vmdk.json ||
  fail "convert vmdk --json"
check_json convert convert-vmdk.json 'd["diagnostics"] == []' 'd["source"]["format"] == "vmdk"'

"$VDCONVERT" convert --to gcp -q --json "in$(printf '\xff').raw" out.tar.gz > convert-gcp.json ||
  fail "convert --to gcp --json"
check_json convert convert-gcp.json \
  'any(x["level"] == "note" and "gcp: virtual size padded" in x["message"] for x in d["diagnostics"])'
expect_eq "$(rc_of "$VDCONVERT" check --for gcp --json out.tar.gz)" 0 "check --for gcp exit"
check_json check out.json 'd["passed"]' 'any(r["rule"] == "gcp.single_member" for r in d["rules"])'
qemu-img create -q -f vmdk -o subformat=streamOptimized stream.vmdk 3M
"$VDCONVERT" info --json - < stream.vmdk > info-stdin.json || fail "info --json -"
check_json info info-stdin.json 'd["stream"] is True' 'd["diagnostics"] == []'

# --- VHD footer timestamp, check --for azure (passing and failing) -------------------------
SOURCE_DATE_EPOCH=1796157677 "$VDCONVERT" convert --to azure -q --force "in$(printf '\xff').raw" az.vhd
"$VDCONVERT" info --json az.vhd > info-vhd.json
check_json info info-vhd.json 'd["timestamp"] == "2026-12-01T20:41:17Z"'
expect_eq "$(rc_of "$VDCONVERT" check --for azure --json az.vhd)" 0 "check --for azure exit"
check_json check out.json 'd["passed"]' 'any(r["rule"] == "azure.size_whole_mib" for r in d["rules"])'
expect_eq "$(rc_of "$VDCONVERT" check --for azure --json fixed.vhd)" 5 "check --for azure of a 3 MiB vhd"
check_json check out.json 'not d["passed"]' \
  'any(r["rule"] == "azure.size_range" and r["severity"] == "error" for r in d["rules"])'
expect_eq "$(rc_of "$VDCONVERT" check --for gcp --json az.vhd)" 5 "check --for gcp of a vhd"
check_json check out.json \
  'any(r["rule"] == "gcp.file_name" and r["severity"] == "error" for r in d["rules"])'

# --- an ISO with Latin-1 Rock Ridge names --------------------------------------------------
mkdir -p isosrc/d
printf 'x' > "isosrc/caf$(printf '\xe9').txt"
printf 'y' > "isosrc/d/$(printf '\xff')"
touch -d '2026-12-01 20:41:17 UTC' "isosrc/caf$(printf '\xe9').txt"
genisoimage -quiet -input-charset iso8859-1 -R -o latin.iso isosrc 2>/dev/null
"$VDCONVERT" iso ls -R --json latin.iso > ls.json || fail "iso ls --json"
check_json iso-ls ls.json 'd["path"] == "/"' \
  'any(e["name"] == "caf\ufffd.txt" and e["mtime"] == "2026-12-01T20:41:17Z" for e in d["entries"])' \
  'any(e["path"] == "d/\ufffd" for e in d["entries"])'
"$VDCONVERT" iso ls --json latin.iso /d/nothing > /dev/null 2>&1 && fail "iso ls of a missing path"
"$VDCONVERT" iso ls --json latin.iso /d > ls-d.json
check_json iso-ls ls-d.json 'len(d["entries"]) == 1'
"$VDCONVERT" info --json latin.iso > info-iso.json
check_json info info-iso.json 'd["iso9660"]["creation_time"].startswith("20")' \
  'any(x["level"] == "warning" and "will not boot" in x["message"] for x in d["diagnostics"])'
"$VDCONVERT" iso ls -l latin.iso / | grep -q " 2026-12-01T20:41:17Z caf" ||
  fail "iso ls -l time is not RFC 3339: $("$VDCONVERT" iso ls -l latin.iso /)"
echo "ok: json_output"
