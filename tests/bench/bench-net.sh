#!/usr/bin/env bash
# tests/bench/bench-net.sh - `make bench-net` (issue 4): wrk against the same static-file
# server (tests/apps/net_httpd.c) built natively, as .wasm under the hosted runner
# (`kumo run --host`) and as .wasm booted in a VM (`kumo run --net --listen`), for 1 KiB
# and 64 KiB files at 1 and 64 connections: requests/s, MB/s, p50/p99 latency, side by
# side. Closes with `net-ratio R`: VM requests/s over native requests/s, 64 KiB, 64
# connections (`net-ratio n/a (reason)` when the VM cannot serve yet).
#   BENCH_NET_SECS=N   seconds per cell (default 5)
#   BUILD=DIR          build directory (default build)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
secs=${BENCH_NET_SECS:-5}
kumo=$build/bin/kumo
apps=$build/apps
check="python3 $root/tests/net/net_check.py"
source "$here/bench-lib.sh"
start_timeout=${NET_START_TIMEOUT:-180}

command -v wrk >/dev/null || { echo "bench-net: wrk is not installed (deploy/install-deps.sh)" >&2; exit 1; }
for f in "$apps/native/net_httpd" "$apps/net_httpd.wasm" "$kumo"; do
	[ -e "$f" ] || { echo "bench-net: missing $f (make all net-apps)" >&2; exit 1; }
done

work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

www=$work/www
mkdir -p "$www"
head -c 1024 /dev/urandom >"$www/1k.bin"
head -c 65536 /dev/urandom >"$www/64k.bin"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start RUNNER: starts the server; sets addr, port, server_pid, or prints why not and
# returns 1.
start() {
	port=$(free_port)
	local log=$work/server-$1.log
	case $1 in
	native)
		"$apps/native/net_httpd" --quiet --port "$port" --root "$www" >"$log" 2>&1 &
		server_pid=$!
		addr=127.0.0.1 ;;
	hosted)
		"$kumo" run --host --listen "127.0.0.1:$port" --dir "$www::/www" "$apps/net_httpd.wasm" \
			--quiet >"$log" 2>&1 &
		server_pid=$!
		addr=127.0.0.1 ;;
	vm)
		"$kumo" run --net --listen "0.0.0.0:$port" --dir "$www::/www" "$apps/net_httpd.wasm" \
			--quiet >"$log" 2>&1 &
		server_pid=$!
		addr=
		for _ in $(seq 1 "$start_timeout"); do
			addr=$(sed -n 's/^kumo: VM address \([0-9.]*\).*/\1/p' "$log" | head -1)
			[ -n "$addr" ] && break
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 1
		done
		if [ -z "$addr" ]; then
			why=$(grep -v '^\s*$' "$log" | tail -1)
			why=${why:-no \`kumo: VM address\` line after ${start_timeout}s}
			kill "$server_pid" 2>/dev/null
			wait "$server_pid" 2>/dev/null
			server_pid=
			return 1
		fi ;;
	esac
	if ! $check wait "$addr" "$port" "$start_timeout" 2>/dev/null; then
		why="nothing listens on $addr:$port: $(tail -1 "$log")"
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
		server_pid=
		return 1
	fi
	# Warm up (the first requests of a VM or a fresh process are slower).
	wrk -t1 -c4 -d1s "http://$addr:$port/1k.bin" >/dev/null 2>&1
	return 0
}

stop() {
	kill "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=
}

declare -A res
runners=(native hosted vm)
vm_reason=
for r in "${runners[@]}"; do
	why=
	if ! start "$r"; then
		[ "$r" = vm ] && vm_reason=$why
		echo "bench-net: $r: unavailable ($why)" >&2
		continue
	fi
	for f in 1k 64k; do
		for c in 1 64; do
			out=$(wrk -t1 -c"$c" -d"${secs}s" --latency "http://$addr:$port/$f.bin" 2>&1)
			res[$r.$f.$c]=$(parse_wrk <<<"$out")
		done
	done
	stop
done

echo "bench-net: wrk -t1 -d${secs}s --latency against net_httpd (tests/apps/net_httpd.c), one thread"
echo "  native: clang-19 -O2 on the host   hosted: kumo run --host   vm: kumo run --net (QEMU; $("$kumo" info accel 2>/dev/null | head -1 | sed 's/^accelerator *//'))"
printf '%-5s %5s  %-7s %10s %9s %9s %9s %6s %10s\n' file conns runner "req/s" "MB/s" "p50 ms" "p99 ms" errors "vs native"
for f in 1k 64k; do
	for c in 1 64; do
		for r in "${runners[@]}"; do
			v=${res[$r.$f.$c]:-}
			if [ -z "$v" ]; then
				reason=$vm_reason
				[ "$r" != vm ] && reason="failed to start"
				printf '%-5s %5s  %-7s %s\n' "$f" "$c" "$r" "unavailable: $reason"
				continue
			fi
			read -r rps mbs p50 p99 err _ <<<"$v"
			nat=${res[native.$f.$c]:-}
			ratio=-
			if [ -n "$nat" ]; then
				nrps=${nat%% *}
				ratio=$(awk -v a="$rps" -v b="$nrps" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
			fi
			printf '%-5s %5s  %-7s %10s %9s %9s %9s %6s %10s\n' "$f" "$c" "$r" "$rps" "$mbs" "$p50" "$p99" "$err" "$ratio"
		done
	done
done
vm=${res[vm.64k.64]:-}
nat=${res[native.64k.64]:-}
if [ -n "$vm" ] && [ -n "$nat" ]; then
	awk -v a="${vm%% *}" -v b="${nat%% *}" 'BEGIN { if (b > 0) printf "net-ratio %.2f\n", a / b; else print "net-ratio n/a (native served nothing)" }'
elif [ -z "$nat" ]; then
	echo "net-ratio n/a (the native server did not run)"
else
	echo "net-ratio n/a (${vm_reason:-the VM did not serve})"
fi
