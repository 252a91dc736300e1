#!/usr/bin/env bash
# tests/net/run-net.sh - networking tier: the net apps (tests/apps/net_*.c) serve real
# traffic, checked from this host with curl and tests/net/net_check.py.
# usage: run-net.sh [MODE]        (env: BUILD=build)
#   host    (default; part of `make test`) the .wasm apps under `kumo run --host`
#   vm      the .wasm apps booted by `kumo run --net --listen ...`; their address is read
#           from the `kumo: VM address A.B.C.D` line on stderr; the host side (the
#           python3 http.server the client app fetches from) is reached from the VM at
#           $KUMO_NET_HOST (default: A.B.C.1 of the VM's address)
#   native  the same C apps built natively (checks the checks)
# Closes with `net: N passed, N failed`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
mode=${1:-host}
kumo=$build/bin/kumo
apps=$build/apps
check="python3 $here/net_check.py"
start_timeout=${NET_START_TIMEOUT:-120}

passed=0
failed=0
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }

case $mode in
host | vm)
	for a in net_httpd net_echo net_client; do
		[ -f "$apps/$a.wasm" ] || { echo "missing $apps/$a.wasm (make net-apps)"; echo "net: 0 passed, 1 failed"; exit 1; }
	done
	[ -x "$kumo" ] || { echo "missing $kumo"; echo "net: 0 passed, 1 failed"; exit 1; } ;;
native)
	for a in net_httpd net_echo net_client; do
		[ -x "$apps/native/$a" ] || { echo "missing $apps/native/$a"; echo "net: 0 passed, 1 failed"; exit 1; }
	done ;;
*)
	echo "usage: run-net.sh [host|vm|native]" >&2
	exit 2 ;;
esac

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The files served: sizes around the interesting boundaries, a subdirectory, a name
# that needs %-encoding.
www=$work/www
mkdir -p "$www/sub"
printf '<html><body>kumo</body></html>\n' >"$www/index.html"
head -c 1024 /dev/urandom >"$www/1k.bin"
head -c 65536 /dev/urandom >"$www/64k.bin"
head -c 1048577 /dev/urandom >"$www/1m.bin"
head -c 0 /dev/urandom >"$www/empty.txt"
printf 'nested\n' >"$www/sub/file.txt"
printf 'spaced\n' >"$www/with space.txt"

# start NAME LOG LISTEN... -- APP ARGS...: runs an app in the background (pid in
# $last_pid) and sets $addr to where it is reached from this host.
start() {
	local log=$1
	shift
	local listen=() dirs=()
	while [ "$1" != -- ]; do
		case $1 in
		--dir) dirs+=("$1" "$2"); shift 2 ;;
		*) listen+=(--listen "$1"); shift ;;
		esac
	done
	shift
	local app=$1
	shift
	case $mode in
	host)
		"$kumo" run --host "${listen[@]}" "${dirs[@]}" "$apps/$app.wasm" "$@" >"$log" 2>&1 &
		last_pid=$!
		addr=127.0.0.1 ;;
	native)
		"$apps/native/$app" "$@" >"$log" 2>&1 &
		last_pid=$!
		addr=127.0.0.1 ;;
	vm)
		"$kumo" run --net "${listen[@]}" "${dirs[@]}" "$apps/$app.wasm" "$@" >"$log" 2>&1 &
		last_pid=$!
		addr=
		for _ in $(seq 1 "$start_timeout"); do
			addr=$(sed -n 's/^kumo: VM address \([0-9.]*\).*/\1/p' "$log" | head -1)
			[ -n "$addr" ] && break
			kill -0 "$last_pid" 2>/dev/null || break
			sleep 1
		done ;;
	esac
	pids+=("$last_pid")
}

listen_host=127.0.0.1
[ "$mode" = vm ] && listen_host=0.0.0.0

# ---- the HTTP server ----
port=$(free_port)
if [ "$mode" = native ]; then
	start "$work/httpd.log" -- net_httpd --port "$port" --root "$www"
else
	start "$work/httpd.log" "$listen_host:$port" --dir "$www::/www" -- net_httpd
fi
httpd_pid=$last_pid
if [ -z "$addr" ] || ! $check wait "$addr" "$port" "$start_timeout" 2>"$work/wait.err"; then
	bad "httpd starts" "$(cat "$work/wait.err" 2>/dev/null; tail -5 "$work/httpd.log")"
else
	ok "httpd starts and listens on $addr:$port"
	base=http://$addr:$port
	for f in index.html 1k.bin 64k.bin 1m.bin empty.txt sub/file.txt; do
		if curl -sf --max-time 60 -o "$work/got" "$base/$f" && cmp -s "$work/got" "$www/$f"; then
			ok "curl $f is byte-identical"
		else
			bad "curl $f is byte-identical"
		fi
	done
	if curl -sf --max-time 30 -o "$work/got" "$base/with%20space.txt" && cmp -s "$work/got" "$www/with space.txt"; then
		ok "a %-encoded name"
	else
		bad "a %-encoded name"
	fi
	if curl -sf --max-time 30 -o "$work/got" "$base/" && cmp -s "$work/got" "$www/index.html"; then
		ok "/ serves index.html"
	else
		bad "/ serves index.html"
	fi
	code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' "$base/missing.html")
	[ "$code" = 404 ] && ok "a missing file is 404" || bad "a missing file is 404" "got $code"
	hdr=$(curl -sI --max-time 30 "$base/64k.bin" | tr -d '\r')
	if grep -qi '^content-length: 65536$' <<<"$hdr" && grep -q '^HTTP/1.1 200' <<<"$hdr"; then
		ok "HEAD: status and Content-Length"
	else
		bad "HEAD: status and Content-Length" "$hdr"
	fi
	n=$(curl -s --max-time 60 -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' \
		"$base/1k.bin" "$base/64k.bin" "$base/index.html" | awk '{s += $1} END {print s}')
	[ "$n" = 1 ] && ok "curl reuses one keep-alive connection" || bad "curl reuses one keep-alive connection" "$n connects"
	if $check seq "$addr" "$port" /1k.bin "$www/1k.bin" 10000 2>"$work/err"; then
		ok "10000 sequential keep-alive requests, zero errors"
	else
		bad "10000 sequential keep-alive requests" "$(cat "$work/err")"
	fi
	if $check conc "$addr" "$port" /1k.bin "$www/1k.bin" 200 20 2>"$work/err"; then
		ok "200 concurrent keep-alive connections x 20 requests, zero errors"
	else
		bad "200 concurrent keep-alive connections" "$(cat "$work/err")"
	fi
	if $check conc "$addr" "$port" /64k.bin "$www/64k.bin" 64 10 2>"$work/err"; then
		ok "64 concurrent connections x 10 requests of 64 KiB"
	else
		bad "64 concurrent connections of 64 KiB" "$(cat "$work/err")"
	fi
	if $check bad "$addr" "$port" /1k.bin "$www/1k.bin" 2>"$work/err"; then
		ok "malformed requests get 400 and the server keeps serving"
	else
		bad "malformed requests get 400" "$(cat "$work/err")"
	fi
	kill -0 "$httpd_pid" 2>/dev/null && ok "httpd still running" || bad "httpd still running" "$(tail -5 "$work/httpd.log")"
fi
kill "$httpd_pid" 2>/dev/null

# ---- the HTTP server on its own socket (WasmEdge sock_open/bind/listen) ----
port=$(free_port)
if [ "$mode" = native ]; then
	start "$work/httpd2.log" -- net_httpd --port "$port" --root "$www"
else
	start "$work/httpd2.log" --dir "$www::/www" -- net_httpd --port "$port"
fi
if [ -n "$addr" ] && $check wait "$addr" "$port" "$start_timeout" 2>/dev/null &&
	curl -sf --max-time 30 -o "$work/got" "http://$addr:$port/64k.bin" && cmp -s "$work/got" "$www/64k.bin"; then
	ok "httpd --port (sock_open, sock_bind, sock_listen)"
else
	bad "httpd --port (sock_open, sock_bind, sock_listen)" "$(tail -5 "$work/httpd2.log")"
fi
kill "$last_pid" 2>/dev/null

# ---- the same, on a port the runner opened too (a pod's containerPort): the app's own
# bind is handed the runner's socket instead of failing with EADDRINUSE ----
if [ "$mode" != native ]; then
	port=$(free_port)
	start "$work/httpd3.log" "$listen_host:$port" --dir "$www::/www" -- net_httpd --port "$port"
	if [ -n "$addr" ] && $check wait "$addr" "$port" "$start_timeout" 2>/dev/null &&
		curl -sf --max-time 30 -o "$work/got" "http://$addr:$port/64k.bin" && cmp -s "$work/got" "$www/64k.bin"; then
		ok "httpd --port on a port --listen opened: the app's bind takes that socket"
	else
		bad "httpd --port on a port --listen opened: the app's bind takes that socket" "$(tail -5 "$work/httpd3.log")"
	fi
	kill "$last_pid" 2>/dev/null
fi

# ---- echo: TCP and UDP, preopened (--listen) and own sockets ----
for proto in tcp udp; do
	port=$(free_port)
	if [ "$mode" = native ]; then
		start "$work/echo-$proto.log" -- net_echo "$proto" "$port"
	else
		start "$work/echo-$proto.log" "$proto:$listen_host:$port" -- net_echo "$proto"
	fi
	pid=$last_pid
	if [ "$proto" = tcp ]; then
		$check wait "$addr" "$port" "$start_timeout" 2>/dev/null
	else
		sleep 2
		for _ in $(seq 1 "$start_timeout"); do
			grep -q . "$work/echo-$proto.log" 2>/dev/null && break
			$check echo-udp "$addr" "$port" 2>/dev/null && break
			sleep 1
		done
	fi
	if [ -n "$addr" ] && $check "echo-$proto" "$addr" "$port" 2>"$work/err"; then
		ok "$proto echo"
	else
		bad "$proto echo" "$(cat "$work/err"; tail -3 "$work/echo-$proto.log")"
	fi
	kill "$pid" 2>/dev/null
done
if [ "$mode" != native ]; then
	port=$(free_port)
	start "$work/echo-own.log" -- net_echo udp "$port"
	sleep 2
	for _ in $(seq 1 "$start_timeout"); do
		$check echo-udp "$addr" "$port" 2>/dev/null && break
		kill -0 "$last_pid" 2>/dev/null || break
		sleep 1
	done
	if [ -n "$addr" ] && $check echo-udp "$addr" "$port" 2>"$work/err"; then
		ok "udp echo on its own socket (sock_recv_from, sock_send_to)"
	else
		bad "udp echo on its own socket" "$(cat "$work/err"; tail -3 "$work/echo-own.log")"
	fi
	kill "$last_pid" 2>/dev/null
fi

# ---- the client app against python3 -m http.server on this host ----
port=$(free_port)
srv=$work/srv
mkdir -p "$srv"
head -c 3000 /dev/urandom | base64 >"$srv/hello.txt"
python3 -m http.server "$port" --bind 0.0.0.0 --directory "$srv" >"$work/pyhttp.log" 2>&1 &
pids+=($!)
$check wait 127.0.0.1 "$port" 30 2>/dev/null
target=localhost
if [ "$mode" = vm ]; then
	# Where the VM reaches this host: the bridge's address (an earlier VM's /24 .1).
	vmaddr=${addr:-}
	target=${KUMO_NET_HOST:-${vmaddr%.*}.1}
fi
{ echo "HTTP/1.0 200 OK"; cat "$srv/hello.txt"; } >"$work/client.want"
if [ "$mode" = native ]; then
	"$apps/native/net_client" "$target" "$port" /hello.txt >"$work/client.out" 2>"$work/client.err"
else
	runflag=--host
	[ "$mode" = vm ] && runflag=--net
	timeout 300 "$kumo" run "$runflag" "$apps/net_client.wasm" \
		"$target" "$port" /hello.txt >"$work/client.out" 2>"$work/client.err"
fi
rc=$?
if [ $rc = 0 ] && cmp -s "$work/client.out" "$work/client.want"; then
	ok "client resolves $target, GETs from python3 http.server"
else
	bad "client GET from python3 http.server" "exit $rc; $(head -3 "$work/client.out"; tail -3 "$work/client.err")"
fi
if [ "$mode" != vm ]; then
	if [ "$mode" = native ]; then
		"$apps/native/net_client" no-such-host.invalid 80 / >/dev/null 2>"$work/client.err"
	else
		"$kumo" run --host "$apps/net_client.wasm" no-such-host.invalid 80 / >/dev/null 2>"$work/client.err"
	fi
	rc=$?
	[ $rc = 1 ] && grep -q 'resolve' "$work/client.err" && ok "an unknown name is a clean error" ||
		bad "an unknown name is a clean error" "exit $rc: $(cat "$work/client.err")"
fi

# ---- the runner's --listen argument ----
if [ "$mode" != native ]; then
	"$kumo" run --host --listen nonsense:99999 "$apps/net_echo.wasm" tcp >/dev/null 2>"$work/err"
	rc=$?
	[ $rc = 2 ] && grep -q 'nonsense:99999' "$work/err" && ok "a bad --listen is a usage error naming it" ||
		bad "a bad --listen is a usage error naming it" "exit $rc: $(cat "$work/err")"
fi

echo "net: $passed passed, $failed failed"
[ "$failed" = 0 ]
