# tests/lib/cri.sh - kumod's CRI client and the checks on its calls, for the CRI
# end-to-end scripts (sourced; counting is testlib.sh's). The script calls cri_suite
# (or sets SUITE, CRICTL_TIMEOUT, BIN, SOCK and T itself) before the first call.
# shellcheck source=testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/testlib.sh"
# cri_suite NAME TIMEOUT: a CRI script's start (after it entered its network namespace):
# SUITE (the name on its result line) and CRICTL_TIMEOUT (seconds per call), BUILD, BIN,
# APPS, its temp dir T (removed at exit unless KEEP is set), SOCK, and KPID, the pid of
# the script's kumod once it starts one: killed at exit (kumod_kill), after which a
# registry that registry.sh started is stopped. More clean-up: at_exit CMD (run before
# these).
cri_suite() {
	SUITE=$1
	CRICTL_TIMEOUT=$2
	BUILD=${BUILD:-build}
	BIN=$BUILD/bin
	APPS=$BUILD/apps
	if [ -n "${KEEP:-}" ]; then
		T=$(mktemp -d "/tmp/kumo-$1.XXXXXX")
		echo "$1: keeping $T"
	else
		test_tmpdir "kumo-$1"
	fi
	SOCK=$T/kumo.sock
	KPID=
	at_exit '! declare -F registry_stop >/dev/null || registry_stop'
	at_exit kumod_kill
}
# kumod_kill: kill -9 of the script's kumod ($KPID), if any.
kumod_kill() {
	[ -z "$KPID" ] || { kill -9 "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; }
	KPID=
}

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
