#!/usr/bin/env bash
# The generated CLI reference in docs/cli.md is what the binary prints now (never stale).
#   reference_test.sh DOC VDCONVERT            check: fails, with the diff, when they differ
#   reference_test.sh --update DOC VDCONVERT   rewrite the block in DOC from the binary
# The block is every line strictly between the marker lines
#   <!-- BEGIN GENERATED: vdconvert --generate markdown -->
#   <!-- END GENERATED -->
# which must each occur exactly once, BEGIN first.
set -euo pipefail
update=0
if [[ ${1:-} == --update ]]; then
  update=1
  shift
fi
[[ $# -eq 2 ]] || { echo "usage: $0 [--update] DOC VDCONVERT" >&2; exit 2; }
doc=$1 vdconvert=$2
begin='<!-- BEGIN GENERATED: vdconvert --generate markdown -->'
end='<!-- END GENERATED -->'
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ -f $doc ]] || fail "$doc: no such file"
nb=$(grep -cxF -- "$begin" "$doc" || true)
ne=$(grep -cxF -- "$end" "$doc" || true)
[[ $nb == 1 && $ne == 1 ]] ||
  fail "$doc: want one '$begin' line and one '$end' line, found $nb and $ne"
b=$(grep -nxF -- "$begin" "$doc" | cut -d: -f1)
e=$(grep -nxF -- "$end" "$doc" | cut -d: -f1)
((b < e)) || fail "$doc: '$end' (line $e) comes before '$begin' (line $b)"

generated=$(mktemp)
trap 'rm -f "$generated" "$generated.new"' EXIT
"$vdconvert" --generate markdown >"$generated" || fail "'$vdconvert --generate markdown' failed"
[[ -s $generated ]] || fail "'$vdconvert --generate markdown' printed nothing"

if ((update)); then
  { head -n "$b" "$doc"; cat "$generated"; tail -n "+$e" "$doc"; } >"$generated.new"
  cat "$generated.new" >"$doc"
  echo "updated $doc (lines $((b + 1))-$((e - 1)) replaced)"
  exit 0
fi

if ! diff -u --label "$doc (generated block)" --label "$vdconvert --generate markdown" \
  <(sed -n "$((b + 1)),$((e - 1))p" "$doc") "$generated"; then
  fail "$doc is stale; refresh it with: bash tests/cli/reference_test.sh --update $doc $vdconvert"
fi
echo "ok: the generated block of $doc is what '$vdconvert --generate markdown' prints"
