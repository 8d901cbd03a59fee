# Sourced by the interop scripts: strict mode, arguments, and small assertion helpers.
set -euo pipefail
VDCONVERT=${1:?usage: script.sh VDCONVERT WORKDIR}
WORK=${2:?usage: script.sh VDCONVERT WORKDIR}
rm -rf "$WORK" && mkdir -p "$WORK"
cd "$WORK"
need() { for t in "$@"; do command -v "$t" >/dev/null || { echo "FAIL: required tool '$t' is not installed"; exit 1; }; done; }
fail() { echo "FAIL: $*"; exit 1; }
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; echo "ok: $3 ($1)"; }
sha() { sha256sum "$1" | cut -c1-64; }
