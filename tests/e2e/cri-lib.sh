# tests/e2e/cri-lib.sh - assertion helpers shared by the CRI end-to-end scripts
# (sourced). The script sets SUITE (the name on its result line), CRICTL_TIMEOUT
# (seconds per call), BIN, SOCK and T (its temp dir) before sourcing.
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
crictl() { "$BIN/kumo-crictl" --socket "$SOCK" --timeout "$CRICTL_TIMEOUT" "$@"; }
# eq NAME ACTUAL EXPECTED
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got \`$2\`, want \`$3\`"; fi; }
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
# finish: the result line, then exit with the verdict
finish() { echo "$SUITE: $pass passed, $fail failed"; [ $fail -eq 0 ]; exit; }
