#!/usr/bin/env bash
# tests/bench/bench-mounts.sh - `make bench-mounts`: what a pod's mounts cost through
# kumod, for the build given (run it on two builds to compare the copy into the initrd
# with the live staged shares). Per mount count N (BENCH_MOUNTS, default "0 1 4 16"; each
# mount a directory of four 1 KiB files, the last one a 1 KiB file mount, as kubelet's
# /etc/hosts): CreateContainer's wall time through kumo-crictl (client start included;
# Version's time is printed as the floor), its parts as kumod logs them (builder_prepare,
# staging the mounts, creating the paused VM), and the guest's kernel entry -> _start
# (mounting or unpacking them), medians of BENCH_RUNS (default 7). Then the app reading a
# 1 MiB file of a mount (open, read in 64 KiB chunks, close; median of 21 on the guest
# clock, podtool's readbench) and that container's CreateContainer. Needs root (a network and mount namespace of its own).
# usage: bench-mounts.sh [BUILD_DIR]    APPS=dir (default BUILD_DIR/apps) holds podtool
# closes with `mounts-read-1m-us N`.
set -u
BUILD=${1:-${BUILD:-build}}
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
APPS=${APPS:-$BUILD/apps}
RUNS=${BENCH_RUNS:-7}
MOUNTS=${BENCH_MOUNTS:-0 1 4 16}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../registry/registry.sh
. "$HERE/../registry/registry.sh"
[ -f "$APPS/app_podtool.wasm" ] || { echo "bench-mounts: missing $APPS/app_podtool.wasm (make apps)"; exit 1; }
T=$(mktemp -d /tmp/kumo-bench-mounts.XXXXXX)
SOCK=$T/kumo.sock
KPID=
cleanup() {
	[ -n "$KPID" ] && { kill -TERM "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; }
	for p in "$T"/root/vms/*/qemu.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done
	registry_stop
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	rm -rf "$T"
}
trap cleanup EXIT
crictl() { "$BUILD/bin/kumo-crictl" --socket "$SOCK" --timeout 120 "$@"; }
now_us() { echo $(($(date +%s%N) / 1000)); }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

registry_start open "$T/reg" || { echo "bench-mounts: the registry did not start"; exit 1; }
REG=127.0.0.1:$REG_PORT
"$BUILD/bin/kumo" push "$APPS/app_podtool.wasm" "$REG/podtool:v1" >"$T/push.log" 2>&1 ||
	{ echo "bench-mounts: kumo push: $(cat "$T/push.log")"; exit 1; }
"$BUILD/bin/kumod" --socket "$SOCK" --root "$T/root" --log-level info 2>"$T/kumod.log" &
KPID=$!
for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
crictl PullImage "{\"image\":{\"image\":\"$REG/podtool:v1\"}}" >/dev/null || { echo "bench-mounts: pull failed"; exit 1; }
POD=$(crictl RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"b\",\"uid\":\"b\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs\"}}" | jq -r .pod_sandbox_id)
echo "bench-mounts: $BUILD, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $(grep -o 'accel: .*' "$T/kumod.log" | head -1)"

for ((r = 0; r < 9; r++)); do
	s=$(now_us); crictl Version >/dev/null; echo $(($(now_us) - s))
done | median | xargs printf "crictl-version-us %s (the client's own cost)\n"

# mounts_json N: N mounts (N-1 directories of four 1 KiB files, then a file)
mounts_json() {
	local n=$1 i out=""
	for ((i = 0; i < n; i++)); do
		mkdir -p "$T/vol/d$i"
		for f in a b c d; do head -c 1024 /dev/urandom >"$T/vol/d$i/$f"; done
		head -c 1024 /dev/urandom >"$T/vol/f$i"
		if ((i == n - 1)); then
			out+="${out:+,}{\"container_path\":\"/etc/f$i\",\"host_path\":\"$T/vol/f$i\"}"
		else
			out+="${out:+,}{\"container_path\":\"/m$i\",\"host_path\":\"$T/vol/d$i\",\"readonly\":$([ $((i % 2)) = 1 ] && echo true || echo false)}"
		fi
	done
	echo "[$out]"
}

# run NAME ARGS-JSON MOUNTS-JSON: create (timed), start, wait for the exit; sets CREATE_US,
# BOOT_US (kernel entry -> _start) and LOG (the container's output)
run() {
	local s cid st=
	s=$(now_us)
	cid=$(crictl CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"$1\"},\"image\":{\"image\":\"$REG/podtool:v1\"},\"args\":$2,\"log_path\":\"$1.log\",\"mounts\":$3}}" | jq -r .container_id)
	CREATE_US=$(($(now_us) - s))
	PARTS=$(grep -F "container ${cid:0:12}: VM" "$T/kumod.log" |
		sed -n 's/.*prepared in \([0-9]*\) us, [0-9]* mounts staged in \([0-9]*\) us, VM created in \([0-9]*\) us.*/\1 \2 \3/p')
	crictl StartContainer "{\"container_id\":\"$cid\"}" >/dev/null
	for _ in $(seq 3000); do
		st=$(crictl ContainerStatus "{\"container_id\":\"$cid\"}" | jq -r .status.state)
		[ "$st" = CONTAINER_EXITED ] && break
		sleep 0.02
	done
	BOOT_US=$(grep -ao 'kernel entry to _start [0-9]*' "$T/root/vms/kumo-${cid:0:40}/exit.raw" 2>/dev/null | grep -o '[0-9]*$')
	LOG=$(sed -E 's/^[^ ]+ [a-z]+ [FP] //' "$T/logs/$1.log" 2>/dev/null)
	crictl RemoveContainer "{\"container_id\":\"$cid\"}" >/dev/null
	rm -f "$T/logs/$1.log"
}

for n in $MOUNTS; do
	m=$(mounts_json "$n")
	: >"$T/create" && : >"$T/boot" && : >"$T/parts"
	for ((r = 0; r < RUNS; r++)); do
		run "c$n-$r" '["print","hi"]' "$m"
		[ "$LOG" = hi ] || echo "bench-mounts: run c$n-$r printed \`$LOG\`"
		echo "$CREATE_US" >>"$T/create"
		echo "${BOOT_US:-0}" >>"$T/boot"
		echo "${PARTS:-0 0 0}" >>"$T/parts"
	done
	printf "create-container-us mounts=%s %s (prepare %s, stage %s, vm-create %s)\n" "$n" \
		"$(median <"$T/create")" "$(cut -d' ' -f1 "$T/parts" | median)" \
		"$(cut -d' ' -f2 "$T/parts" | median)" "$(cut -d' ' -f3 "$T/parts" | median)"
	printf "boot-entry-to-start-us mounts=%s %s\n" "$n" "$(median <"$T/boot")"
done

mkdir -p "$T/big"
head -c 1048576 /dev/urandom >"$T/big/1m.bin"
run read1m '["readbench","/data/1m.bin","21"]' "[{\"container_path\":\"/data\",\"host_path\":\"$T/big\",\"readonly\":true}]"
echo "$LOG"
printf "create-container-us mount-of-1m %s (prepare %s, stage %s, vm-create %s)\n" "$CREATE_US" $PARTS
echo "$LOG" | sed -n 's/.*median \([0-9]*\) us.*/mounts-read-1m-us \1/p'
