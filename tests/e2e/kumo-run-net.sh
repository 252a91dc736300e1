#!/usr/bin/env bash
# tests/e2e/kumo-run-net.sh - `kumo run --net` / `--listen` on the node's CNI network list,
# in network and mount namespaces of its own (host-local's store and the runs' namespace
# pins are tmpfs here): an empty conf dir gets kumo's default list; the VM gets an address
# from it (printed as `kumo: VM address A.B.C.D`) in a network namespace of the run's
# own, with the CNI interface's MAC; SIGTERM ends it with status 130 and leaves no
# address, namespace, tap or record behind; what a run killed with -9 left is cleaned up
# by the next run; a non-root user gets a clear error. With the server app
# (build/apps/net_httpd.wasm) curl fetches a file from the VM, and the client app in a
# second run fetches it VM to VM.
# Prints `kumo-run-net: N passed, N failed`.
set -u
SUITE=kumo-run-net
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HTTPD=${HTTPD:-$BUILD/apps/net_httpd.wasm}
T=$(mktemp -d /tmp/kumo-run-net.XXXXXX)
RPID=
cleanup() {
	[ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
	umount -l /run/kumo/run-netns 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
# host-local's default store and the runs' pins, private to this script.
mkdir -p /var/lib/cni /run/kumo/run-netns
mount -t tmpfs tmpfs /var/lib/cni && mount -t tmpfs tmpfs /run/kumo/run-netns
export KUMO_ROOT=$T/root KUMO_CNI_CONF_DIR=$T/net.d
addresses() { find /var/lib/cni/networks -type f -name '[0-9]*.[0-9]*.[0-9]*.[0-9]*' 2>/dev/null | wc -l; }
pins() { find /run/kumo/run-netns -mindepth 1 2>/dev/null | wc -l; }
records() { find "$T/root/cni-run" -name '*.json' 2>/dev/null | wc -l; }
# wait_address ERRFILE: the address the run printed (waits up to 30 s)
wait_address() {
	for _ in $(seq 300); do grep -q 'VM address' "$1" && break; sleep 0.1; done
	sed -n 's/^kumo: VM address //p' "$1"
}

printf '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))' >"$T/spin.wat"
wat2wasm "$T/spin.wat" -o "$T/spin.wasm" || { bad "wat2wasm" "failed"; finish; }
"$BIN/kumo" run --net "$T/spin.wasm" >/dev/null 2>"$T/probe.err" &
RPID=$!
IP=$(wait_address "$T/probe.err")
if [ -z "$IP" ]; then
	wait "$RPID" 2>/dev/null; RPID=
	bad "kumo run --net prints the VM address" "$(cat "$T/probe.err")"
	finish
fi
eq "an empty conf dir gets kumo's default list" "$(jq -r '.plugins[0].ipam.ranges[0][0].subnet' "$T/net.d/99-kumo.conflist")" 10.88.0.0/16
case $IP in 10.88.*) ok "the VM address $IP is from the default list" ;; *) bad "the VM address" "got \`$IP\`" ;; esac
eq "the bridge has the gateway" "$(ip -o -4 addr show dev cni0 | awk '{print $4}')" "10.88.0.1/16"
eq "the run has a network namespace, with its address on eth0" \
	"$(nsenter --net="$(ls -d /run/kumo/run-netns/run-* | head -1)" ip -o -4 addr show dev eth0 | awk '{print $4}')" "$IP/16"
eq "one address allocated in host-local's store, one record" "$(addresses)/$(records)" "1/1"
kill -TERM "$RPID"; wait "$RPID"; rc=$?; RPID=
eq "SIGTERM ends the run with 130" "$rc" "130"
eq "nothing left: address, namespace, record, tap" "$(addresses)/$(pins)/$(records)/$(ip -o link show | grep -c ': kc')" "0/0/0/0"

# kill -9: the run's network stays behind; the next run removes it.
"$BIN/kumo" run --net "$T/spin.wasm" >/dev/null 2>"$T/k9.err" &
RPID=$!
[ -n "$(wait_address "$T/k9.err")" ] || bad "a second run gets an address" "$(cat "$T/k9.err")"
# The address is printed before the VM is made: kill the run once its QEMU is there.
for _ in $(seq 100); do pgrep -f -- "-name kumo-run-$RPID," >/dev/null && break; sleep 0.1; done
kill -9 "$RPID"; wait "$RPID" 2>/dev/null
# The QEMU that run started (VM kumo-run-<its pid>) outlives it; end it and its files.
killed=0
for p in /proc/[0-9]*; do
	cmd=$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
	case $cmd in qemu-system*"-name kumo-run-$RPID,"*) ;; *) continue ;; esac
	kill -9 "${p#/proc/}" && killed=$((killed + 1))
	pf=$(sed -n 's/.* -pidfile \([^ ]*\).*/\1/p' <<<"$cmd")
	case $pf in /tmp/kumo-run-*/console/qemu.pid) rm -rf "${pf%/console/qemu.pid}" ;; esac
done
RPID=
eq "the killed run's QEMU is found and ended" "$killed" 1
eq "after kill -9 the run's network is still there" "$(addresses)/$(pins)" "1/1"
"$BIN/kumo" run --net "$T/spin.wasm" >/dev/null 2>"$T/next.err" &
RPID=$!
[ -n "$(wait_address "$T/next.err")" ] || bad "the next run gets an address" "$(cat "$T/next.err")"
eq "the next run removed what the killed one left" "$(addresses)/$(pins)/$(records)" "1/1/1"
kill -TERM "$RPID"; wait "$RPID"; RPID=

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
	IP=$(wait_address "$T/httpd.err")
	body=
	deadline=$((SECONDS + 60))
	while [ $SECONDS -lt $deadline ]; do
		if body=$(curl -s --max-time 2 "http://$IP:8080/index.html") && [ -n "$body" ]; then break; fi
		body=; sleep 0.2
	done
	eq "curl fetches the file from kumo run --listen" "$body" "$(cat "$T/www/index.html")"
	# VM to VM: the client app in a second run fetches from the first.
	CLIENT=$(dirname "$HTTPD")/net_client.wasm
	if [ -f "$CLIENT" ]; then
		timeout 300 "$BIN/kumo" run --net "$CLIENT" "$IP" 8080 /index.html >"$T/client.out" 2>"$T/client.err"
		rc=$?
		if [ $rc -eq 0 ] && grep -qF "$(head -1 "$T/www/index.html")" "$T/client.out"; then
			ok "a second VM fetches the file from the first over the network list's bridge"
		else
			bad "VM to VM" "exit $rc; $(tail -3 "$T/client.err")"
		fi
	else
		bad "VM to VM" "$CLIENT is not built (make net-apps)"
	fi
	kill -TERM "$RPID"; wait "$RPID"; RPID=
	eq "nothing left after the server" "$(addresses)/$(pins)/$(records)" "0/0/0"
else
	bad "curl to kumo run --listen" "$HTTPD is not built (make net-apps)"
fi
finish
