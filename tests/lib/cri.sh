# tests/lib/cri.sh - kumod's CRI client and the checks on its calls, for the CRI
# end-to-end scripts (sourced; counting is testlib.sh's). The script sets SUITE (the
# name on its result line), CRICTL_TIMEOUT (seconds per call), BIN, SOCK and T (its
# temp dir) before sourcing.
# shellcheck source=testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/testlib.sh"
crictl() { "$BIN/kumo-crictl" --socket "$SOCK" --timeout "$CRICTL_TIMEOUT" "$@"; }
# call NAME METHOD JSON: must succeed; the response lands in $OUT
call() {
	local name=$1; shift
	if OUT=$(crictl "$@" 2>"$T/err"); then ok "$name"; else bad "$name" "$(cat "$T/err")"; OUT='{}'; fi
}
# code NAME CODE METHOD JSON: must fail with gRPC code CODE; message in $ERR
code() {
	local name=$1 want=$2; shift 2
	if crictl "$@" >/dev/null 2>"$T/err"; then bad "$name" "succeeded, want $want"; ERR=; return; fi
	ERR=$(cat "$T/err")
	if grep -q "code = $want desc = ." "$T/err"; then ok "$name"; else bad "$name" "$ERR"; fi
}
# says NAME TEXT: the last error message ($ERR) contains TEXT (case-insensitive)
says() { if grep -qi -- "$2" <<<"$ERR"; then ok "$1"; else bad "$1" "message \`$ERR\` lacks \`$2\`"; fi; }
