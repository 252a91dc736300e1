#!/usr/bin/env bash
# tests/e2e/cri-downstream.sh - kumod's downstream CRI client (cri/downstream.h), the
# forwarding half of a mixed node, against a real Debian containerd + runc started by
# tests/e2e/containerd-lib.sh with the locally built busybox and pause images: Version,
# Status, PullImage (raw bytes), ListImages; a busybox pod's runp / create / start ->
# exited (code, log) / list / exec / stop / rm entirely through the client; the
# downstream's own NotFound passed through; a deadline that expires; a dead endpoint;
# 8 threads on one client; the first call after containerd restarts; GetContainerEvents
# (containerd 1.6 has no event stream: its Unimplemented is passed on once) and the
# stream delivering events and reopening after a restart, against kumod's test backend.
# Also a baseline: crictl (CRICTL=path, skipped when absent) runs a busybox pod straight
# on containerd. Prints `cri-downstream: N passed, N failed`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -- bash "$0" "$@"
ip link set lo up
BUILD=${BUILD:-build}
BIN=$BUILD/bin
CHECK=${CHECK:-$BUILD/e2e/kumo-downstream-check}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/kumo-cri-downstream.XXXXXX)
SUITE=cri-downstream
KPID=
# shellcheck source=../registry/registry.sh
. "$HERE/../registry/registry.sh"
# shellcheck source=containerd-lib.sh
. "$HERE/containerd-lib.sh"
# shellcheck source=cri-lib.sh
. "$HERE/cri-lib.sh"

cleanup() {
	[ -n "$KPID" ] && kill -9 "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	containerd_stop
	registry_stop
	rm -rf "$T"
}
trap cleanup EXIT

# count_line LINE: an ok/FAIL line of the check program counts, others are shown.
count_line() {
	case $1 in
	"ok   "*) ok "${1#ok   }" ;;
	"FAIL "*) fail=$((fail + 1)); echo "$1" ;;
	*) echo "$1" ;;
	esac
}

# run_check ARGS...: runs the check program, counting its ok/FAIL lines.
run_check() {
	local line rc
	"$CHECK" "$@" >"$T/check.out" 2>&1
	rc=$?
	while IFS= read -r line; do count_line "$line"; done <"$T/check.out"
	# A non-zero exit without a FAIL line (a sanitizer's report, a crash) fails too.
	[ $rc -eq 0 ] || grep -q '^FAIL ' "$T/check.out" || bad "kumo-downstream-check $*" "exit $rc"
}

# reconnect ENDPOINT RESTART: the check's `reconnect` waits on its stdin while the
# function RESTART restarts the server.
reconnect() {
	local line out in pid
	coproc RC { "$CHECK" "$1" reconnect 2>&1; }
	pid=$RC_PID
	exec {out}<&"${RC[0]}" {in}>&"${RC[1]}"
	while IFS= read -r -t 30 line <&"$out" && [ "$line" != ready ]; do count_line "$line"; done
	if [ "$line" = ready ]; then
		"$2" && ok "$2" || bad "$2" "see above"
		echo go >&"$in"
		while IFS= read -r -t 60 line <&"$out"; do count_line "$line"; done
	else
		bad "the reconnect check against $1 gets ready" "no"
	fi
	exec {in}>&- {out}<&-
	wait "$pid" 2>/dev/null
	local rc=$?
	[ $rc -eq 0 ] || [ $fail -gt 0 ] || bad "kumo-downstream-check $1 reconnect" "exit $rc"
}

kumod_start() {
	"$BUILD/tests/kumod-fake" --socket "$T/kumo.sock" --root "$T/kumo" --log-level warn 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do [ -S "$T/kumo.sock" ] && return 0; sleep 0.05; done
	return 1
}
kill_and_restart_kumod() { kill -9 "$KPID"; wait "$KPID" 2>/dev/null; rm -f "$T/kumo.sock"; kumod_start; }

[ -x "$CHECK" ] || { bad "the check program is built" "no $CHECK (make test-prereqs)"; finish; }
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
linux_images_push "$REG" pause busybox && ok "push the busybox and pause images" ||
	{ bad "push the busybox and pause images" "failed"; finish; }
containerd_start "$T/ctrd" "$REG" && ok "containerd starts" || { bad "containerd starts" "see above"; finish; }
mkdir -p "$T/logs"

echo "# the client against containerd ($CTRD_ENDPOINT)"
run_check "$CTRD_ENDPOINT" --logdir "$T/logs" version images lifecycle deadline threads events
run_check "unix://$T/nobody-home.sock" dead

# The first call after containerd restarts works (the check waits meanwhile).
reconnect "$CTRD_ENDPOINT" containerd_restart

# GetContainerEvents with a server that streams events: kumod's test backend; its
# stream ends when kumod is killed and is reopened when kumod is back.
kumod_start && ok "kumod (test backend) starts" || bad "kumod (test backend) starts" "$(tail -5 "$T/kumod.log")"
echo "# the events stream against kumod (test backend)"
run_check "unix://$T/kumo.sock" --image example.com/app:v1 --logdir "$T/logs" events
reconnect "unix://$T/kumo.sock" kill_and_restart_kumod

# The baseline with the real crictl straight on containerd, when one is given.
CRICTL=${CRICTL:-$(command -v crictl || true)}
if [ -n "$CRICTL" ] && [ -x "$CRICTL" ]; then
	cc() { "$CRICTL" --config /dev/null --runtime-endpoint "$CTRD_ENDPOINT" --image-endpoint "$CTRD_ENDPOINT" --timeout 60s "$@" 2>"$T/crictl.err"; }
	cat >"$T/pod.json" <<EOF
{"metadata":{"name":"bb","namespace":"default","uid":"bb-uid","attempt":0},"log_directory":"$T/logs/bb","linux":{}}
EOF
	cat >"$T/ctr.json" <<EOF
{"metadata":{"name":"c"},"image":{"image":"busybox"},"command":["sh","-c","echo hello from crictl; sleep 1000"],"log_path":"c.log","linux":{}}
EOF
	POD=$(cc runp "$T/pod.json") && ok "crictl runp" || bad "crictl runp" "$(cat "$T/crictl.err")"
	CID=$(cc create "$POD" "$T/ctr.json" "$T/pod.json") && ok "crictl create" || bad "crictl create" "$(cat "$T/crictl.err")"
	cc start "$CID" >/dev/null && ok "crictl start" || bad "crictl start" "$(cat "$T/crictl.err")"
	for _ in $(seq 100); do grep -q hello "$T/logs/bb/c.log" 2>/dev/null && break; sleep 0.05; done
	eq "crictl logs" "$(cc logs "$CID" 2>&1)" "hello from crictl"
	eq "crictl exec" "$(cc exec "$CID" sh -c 'echo $((6 * 7))')" "42"
	eq "crictl pods lists it" "$(cc pods -q | grep -c "$POD")" "1"
	cc stop "$CID" >/dev/null && ok "crictl stop" || bad "crictl stop" "$(cat "$T/crictl.err")"
	cc rm "$CID" >/dev/null && ok "crictl rm" || bad "crictl rm" "$(cat "$T/crictl.err")"
	cc stopp "$POD" >/dev/null && ok "crictl stopp" || bad "crictl stopp" "$(cat "$T/crictl.err")"
	cc rmp "$POD" >/dev/null && ok "crictl rmp" || bad "crictl rmp" "$(cat "$T/crictl.err")"
	eq "crictl pods is empty again" "$(cc pods -q | wc -l)" "0"
else
	echo "# crictl not given (CRICTL=path): its baseline is skipped"
fi
finish
