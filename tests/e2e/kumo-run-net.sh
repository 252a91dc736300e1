#!/usr/bin/env bash
# tests/e2e/kumo-run-net.sh - `kumo run --net` / `--listen` in a network namespace of its
# own: the VM gets an address on the node bridge (printed as `kumo: VM address
# A.B.C.D`), its tap exists while it runs, SIGTERM ends it with status 130 and leaves no
# tap and no address behind; a non-root user gets a clear error. With the server app
# (build/apps/net_httpd.wasm) on the guest network stack, curl fetches a file from it.
# Prints `kumo-run-net: N passed, N failed`.
set -u
SUITE=kumo-run-net
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -- bash "$0" "$@"
ip link set lo up
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HTTPD=${HTTPD:-$BUILD/apps/net_httpd.wasm}
T=$(mktemp -d /tmp/kumo-run-net.XXXXXX)
RPID=
cleanup() {
	[ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export KUMO_ROOT=$T/root KUMO_BRIDGE=kumorun0 KUMO_POD_CIDR=10.76.0.0/24
taps() { ip -o link show | awk -F': ' '{print $2}' | grep -c '^kt'; }

printf '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))' >"$T/spin.wat"
wat2wasm "$T/spin.wat" -o "$T/spin.wasm" || { bad "wat2wasm" "failed"; finish; }
"$BIN/kumo" run --net "$T/spin.wasm" >/dev/null 2>"$T/probe.err" &
RPID=$!
for _ in $(seq 100); do kill -0 "$RPID" 2>/dev/null || break; grep -q 'VM address' "$T/probe.err" && break; sleep 0.1; done
if ! grep -q 'VM address' "$T/probe.err"; then
	wait "$RPID" 2>/dev/null; RPID=
	bad "kumo run --net prints the VM address" "$(cat "$T/probe.err")"
	finish
fi
IP=$(sed -n 's/^kumo: VM address //p' "$T/probe.err")
case $IP in 10.76.0.*) ok "the VM address $IP is on the bridge's network" ;; *) bad "the VM address" "got \`$IP\`" ;; esac
eq "the bridge has the gateway" "$(ip -o -4 addr show dev kumorun0 | awk '{print $4}')" "10.76.0.1/24"
eq "one tap on the bridge while the VM runs" "$(ip -o link show master kumorun0 | grep -c ' kt')" "1"
eq "one address allocated" "$(find "$T/root/net/ipam/ips" -type f | wc -l)" "1"
kill -TERM "$RPID"; wait "$RPID"; rc=$?; RPID=
eq "SIGTERM ends the run with 130" "$rc" "130"
eq "no tap left" "$(taps)" "0"
eq "no address left" "$(find "$T/root/net/ipam/ips" -type f | wc -l)" "0"

# Not root: a clear error, nothing made.
chmod 755 "$T" && mkdir -p "$T/nr" && chmod 777 "$T/nr" && cp "$T/spin.wasm" "$T/nr/"
KUMO_ROOT=$T/nr/root HOME=$T/nr setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$BIN/kumo" run --net "$T/nr/spin.wasm" >/dev/null 2>"$T/nr.err"
rc=$?
eq "not root: kumo run --net fails" "$rc" "125"
if grep -q 'needs root' "$T/nr.err"; then ok "not root: the error says --net needs root"; else bad "not root: the error" "$(cat "$T/nr.err")"; fi

if [ -f "$HTTPD" ]; then
	mkdir -p "$T/www"
	head -c 5000 /dev/urandom | base64 >"$T/www/index.html"
	"$BIN/kumo" run --listen 0.0.0.0:8080 --dir "$T/www::/www" "$HTTPD" --root /www >/dev/null 2>"$T/httpd.err" &
	RPID=$!
	for _ in $(seq 100); do grep -q 'VM address' "$T/httpd.err" && break; sleep 0.1; done
	IP=$(sed -n 's/^kumo: VM address //p' "$T/httpd.err")
	body=
	deadline=$((SECONDS + 60))
	while [ $SECONDS -lt $deadline ]; do
		if body=$(curl -s --max-time 2 "http://$IP:8080/index.html") && [ -n "$body" ]; then break; fi
		body=; sleep 0.2
	done
	eq "curl fetches the file from kumo run --listen" "$body" "$(cat "$T/www/index.html")"
	# VM to VM over the bridge: the client app in a second VM fetches from the first.
	CLIENT=$(dirname "$HTTPD")/net_client.wasm
	if [ -f "$CLIENT" ]; then
		timeout 300 "$BIN/kumo" run --net "$CLIENT" "$IP" 8080 /index.html >"$T/client.out" 2>"$T/client.err"
		rc=$?
		if [ $rc -eq 0 ] && grep -qF "$(head -1 "$T/www/index.html")" "$T/client.out"; then
			ok "a second VM fetches the file from the first over the bridge"
		else
			bad "VM to VM" "exit $rc; $(tail -3 "$T/client.err")"
		fi
	else
		bad "VM to VM" "$CLIENT is not built (make net-apps)"
	fi
	kill -TERM "$RPID"; wait "$RPID"; RPID=
	eq "no tap left after the server" "$(taps)" "0"
else
	bad "curl to kumo run --listen" "$HTTPD is not built (make net-apps)"
fi
finish
