#!/usr/bin/env bash
# tests/pod/bench-pod.sh - what a container costs in a booted pod VM (kernel/pod_abi.h),
# on the guest clock (the kernel's own records) and the host's: for hello and for the
# web server, N times each, CREATE (the object over the channel, or read from a
# read-only share) and START. Medians of: transfer_us (the object over the control
# channel), read_us (the same object from a 9p share), link_us (the kernel linker:
# checks, layout, relocations, descriptor checks, protection), instantiate_us (kernel/rt:
# memory reservation, tables, globals, segments), start_us (START received -> `_start`
# called), and the host's START sent -> first stdout record. A measurement, not a test.
# usage: bench-pod.sh [BUILD_DIR] [N]
set -eu
build=${1:-build}; n=${2:-20}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
here=$(cd "$(dirname "$0")" && pwd)
obj=$build/tests/pod
source "$here/../accel.sh"
kumo_accel "$build"
echo "bench-pod: $accel_why"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{
	for ((i = 0; i < n; i++)); do
		echo "create 1 $obj/app_hello.o {\"args\":[\"hello\"]}"
		echo "start 1"; echo "wait-started 1"; echo "wait-exit 1"; echo "remove 1"
		echo "create 2 - {\"args\":[\"hello\"],\"object\":{\"share\":\"objs\",\"path\":\"app_hello.o\"}}"
		echo "remove 2"
		echo "create 3 $obj/net_httpd.o {\"args\":[\"net_httpd\",\"--quiet\"],\"listen\":[\"tcp:0.0.0.0:8080\"]}"
		echo "start 3"; echo "wait-started 3"; echo "kill 3"; echo "wait-exit 3"; echo "remove 3"
		echo "create 4 - {\"args\":[\"x\"],\"object\":{\"share\":\"objs\",\"path\":\"net_httpd.o\"}}"
		echo "remove 4"
	done
} >"$tmp/script"
"$build/tests/pod/kumo-podtest" --kernel "$build/kernel/kernel.elf" --dir "$tmp/run" --accel "$accel" \
	--share "objs=$obj:ro" <"$tmp/script" >"$tmp/out"
median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "-"; else print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
field() { grep -E "^$1 " "$tmp/out" | grep -oE "\"$2\": [0-9.]+|$2=[0-9.]+" | grep -oE '[0-9.]+$' | median; }
size() { grep -E "^$1 " "$tmp/out" | grep -oE "\"$2\": [0-9]+" | head -1 | grep -oE '[0-9]+$'; }
echo "bench-pod: $n rounds in one pod VM ($(grep -c '^create' "$tmp/out") creates)"
printf '%-10s %8s %9s %10s %9s %12s %9s %13s\n' app object transfer share-read link instantiate start-us first-out-ms
for app in hello:1:2 net_httpd:3:4; do
	IFS=: read -r name c s <<<"$app"
	ins=$(field "started $c:" instantiate_us)
	printf '%-10s %8s %9s %10s %9s %12s %9s %13s\n' "$name" "$(size "create $c:" object_bytes)" \
		"$(field "create $c:" transfer_us)" "$(field "create $s:" read_us)" "$(field "create $c:" link_us)" \
		"$ins" "$(field "started $c:" start_us)" "$(field "exit $c:" first_out_ms)"
done
echo "bench-pod: guest-clock microseconds except first-out-ms (host: START written -> first STDOUT record read)"
