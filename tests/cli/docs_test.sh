#!/usr/bin/env bash
# The generated man page and bash completion: docs_test.sh MAN COMPLETION VDCONVERT [GROFF]
#   - the completion parses (bash -n) and its `complete -F` function completes verbs, options
#     per verb, --to/-O targets, --from/-f formats, --for check targets and subcommands;
#   - the man page formats without a warning (groff -man -ww), when groff is installed;
#   - both are what the binary generates now (not stale).
set -euo pipefail
man=$1 completion=$2 vdconvert=$3 groff=${4:-}
fail() { echo "FAIL: $*" >&2; exit 1; }

bash -n "$completion" || fail "bash -n $completion"
echo "ok: bash -n"

diff -u "$man" <("$vdconvert" --generate man) >/dev/null || fail "$man is stale"
diff -u "$completion" <("$vdconvert" --generate bash-completion) >/dev/null ||
  fail "$completion is stale"
echo "ok: both are what '$vdconvert --generate' prints"

if [[ -n $groff && $groff != *NOTFOUND ]]; then
  warnings=$("$groff" -man -Tutf8 -ww "$man" 2>&1 >/dev/null) || fail "groff failed: $warnings"
  [[ -z $warnings ]] || fail "groff warnings:"$'\n'"$warnings"
  echo "ok: groff -man -Tutf8 -ww: no warnings"
else
  echo "skip: groff not installed"
fi

# shellcheck source=/dev/null
source "$completion"
func=$(complete -p vdconvert | sed -n 's/.*-F \([^ ]*\) vdconvert$/\1/p')
[[ -n $func ]] || fail "no 'complete -F ... vdconvert' registered: $(complete -p vdconvert)"

# complete WORD... : COMPREPLY for the last word.
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  "$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
  echo "${COMPREPLY[*]}"
}
expect() {  # expect WANT GOT WHAT: GOT (space-separated) holds every word of WANT
  local w
  for w in $1; do
    [[ " $2 " == *" $w "* ]] || fail "$3: '$w' not in '$2'"
  done
  echo "ok: $3 -> $2"
}
expect_not() {
  [[ " $2 " != *" $1 "* ]] || fail "$3: '$1' should not be in '$2'"
}

got=$(complete_words vdconvert conv)
[[ $got == convert ]] || fail "vdconvert conv<TAB> gave '$got', not 'convert'"
echo "ok: vdconvert conv<TAB> -> convert"
expect "convert info check repair descriptor iso" "$(complete_words vdconvert '')" "verbs"
expect "--from --force" "$(complete_words vdconvert convert --f)" "convert --f"
expect "-f" "$(complete_words vdconvert convert -f)" "convert -f"
expect "-O --to -j --threads -p --progress -q --quiet" "$(complete_words vdconvert convert -)" \
  "convert -"
expect "azure" "$(complete_words vdconvert convert -O az)" "convert -O az"
expect "raw vhd azure gcp" "$(complete_words vdconvert convert a --to '')" "convert --to"
expect "vmdk vhd raw" "$(complete_words vdconvert convert -f '')" "convert -f"
expect "vmdk" "$(complete_words vdconvert info --from vm)" "info --from vm"
expect "azure gcp vmdk mvmc" "$(complete_words vdconvert check --for '')" "check --for"
expect "azure" "$(complete_words vdconvert convert --to = a)" "convert --to=a"
expect "mvmc qemu virtualbox esxi all" "$(complete_words vdconvert repair --for '')" \
  "repair --for"
expect "ls extract" "$(complete_words vdconvert iso '')" "iso subcommands"
expect "ls" "$(complete_words vdconvert iso -l l)" "iso -l l"
expect "ls" "$(complete_words vdconvert iso --names = joliet l)" "iso --names=joliet l"
expect "lint" "$(complete_words vdconvert descriptor --for qemu li)" "descriptor --for qemu li"
ls_opts=$(complete_words vdconvert iso ls -)
expect "-l --long -R --recursive --json --names -q --quiet --help" "$ls_opts" "iso ls -"
expect_not "--force" "$ls_opts" "iso ls -"
expect "rock-ridge joliet plain" "$(complete_words vdconvert iso ls --names '')" "--names"
expect "convert" "$(complete_words vdconvert help con)" "help con"
# Operands complete file names.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/disk-one.vmdk"
expect "$tmp/disk-one.vmdk" "$(complete_words vdconvert convert -O vhd "$tmp/disk-")" "SRC file"
expect "$tmp/disk-one.vmdk" "$(complete_words vdconvert convert --checksums-file "$tmp/d")" \
  "--checksums-file FILE"
[[ -z $(complete_words vdconvert convert -j '') ]] || fail "-j offered words"
echo "all docs checks passed"
