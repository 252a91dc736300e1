#!/usr/bin/env bash
# tests/bench/bench-mounts.sh - `make bench-mounts`: what a pod's mounts cost through
# kumod. Given a second build (BASELINE, e.g. one of a commit that copied mounts into
# the initrd), both kumods run side by side and every measurement alternates between
# them (each going first in turn), so that the machine's load drifts over both alike. Per mount count N
# (BENCH_MOUNTS, default "0 1 4 16"; N-1 directories of four 1 KiB files, every other one
# read-only, then a 1 KiB file mount, as kubelet's /etc/hosts): CreateContainer's wall
# time through kumo-crictl (client start included; Version's time is printed as the
# floor), its parts as kumod logs them (builder_prepare, staging the mounts, creating
# the paused VM), the guest's kernel entry -> _start and, where the mounts are shares,
# what mounting them took in the guest; medians of BENCH_RUNS (default 7). Then an app
# reading a 1 MiB file of a mount (open, read in 64 KiB chunks, close; median of 21 on
# the guest clock: podtool's readbench) and that container's CreateContainer. Needs root
# (a network and mount namespace of its own).
# usage: bench-mounts.sh [BUILD_DIR [BASELINE_BUILD_DIR]]   APPS=dir (default
# BUILD_DIR/apps) holds podtool. Closes with `mounts-read-1m-us N` (BUILD_DIR's).
set -u
BUILD=${1:-${BUILD:-build}}
BASELINE=${2:-}
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
# Pods take their network from CNI: host-local's store is a tmpfs of this mount namespace.
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
APPS=${APPS:-$BUILD/apps}
RUNS=${BENCH_RUNS:-7}
MOUNTS=${BENCH_MOUNTS:-0 1 4 16}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
[ -f "$APPS/app_podtool.wasm" ] || { echo "bench-mounts: missing $APPS/app_podtool.wasm (make apps)"; exit 1; }
T=$(mktemp -d /tmp/kumo-bench-mounts.XXXXXX)
BUILDS=("$BUILD")
[ -n "$BASELINE" ] && BUILDS+=("$BASELINE")
KPIDS=()
cleanup() {
	local p
	for p in "${KPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for p in "$T"/k*/root/vms/*/qemu.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done
	registry_stop
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	rm -rf "$T"
}
trap cleanup EXIT
# crictl I ARGS...: kumo-crictl against kumod I
crictl() { local i=$1; shift; "${BUILDS[$i]}/bin/kumo-crictl" --socket "$T/k$i/kumo.sock" --timeout 120 "$@"; }
now_us() { echo $(($(date +%s%N) / 1000)); }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

registry_start open "$T/reg" || { echo "bench-mounts: the registry did not start"; exit 1; }
REG=127.0.0.1:$REG_PORT
"$BUILD/bin/kumo" push "$APPS/app_podtool.wasm" "$REG/podtool:v1" >"$T/push.log" 2>&1 ||
	{ echo "bench-mounts: kumo push: $(cat "$T/push.log")"; exit 1; }
PODS=()
for i in "${!BUILDS[@]}"; do
	mkdir -p "$T/k$i"
	# A build from before pods took their network from CNI makes its own bridge.
	if "${BUILDS[$i]}/bin/kumod" --help 2>&1 | grep -q -- --cni-conf-dir; then
		NET=(--cni-conf-dir "$T/k$i/net.d" --netns-dir "$T/k$i/netns" --pod-cidr "10.8$i.0.0/24")
	else
		NET=(--bridge "kumob$i" --pod-cidr "10.8$i.0.0/24")
	fi
	"${BUILDS[$i]}/bin/kumod" --socket "$T/k$i/kumo.sock" --root "$T/k$i/root" --log-level info \
		"${NET[@]}" 2>"$T/k$i/kumod.log" &
	KPIDS+=($!)
	for _ in $(seq 200); do crictl "$i" Version >/dev/null 2>&1 && break; sleep 0.05; done
	crictl "$i" PullImage "{\"image\":{\"image\":\"$REG/podtool:v1\"}}" >/dev/null ||
		{ echo "bench-mounts: pull failed on ${BUILDS[$i]}"; exit 1; }
	PODS+=("$(crictl "$i" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"b\",\"uid\":\"b$i\",\"namespace\":\"n\"},\"log_directory\":\"$T/k$i/logs\"}}" | jq -r .pod_sandbox_id)")
done
echo "bench-mounts: ${BUILDS[*]}, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $(grep -o 'accel: [a-z]*' "$T/k0/kumod.log" | head -1)"
for ((r = 0; r < 9; r++)); do
	s=$(now_us); crictl 0 Version >/dev/null; echo $(($(now_us) - s))
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

# run I NAME ARGS-JSON MOUNTS-JSON: on kumod I, create (timed), start, wait for the
# exit; sets CREATE_US, PARTS ("prepare stage vm-create" us), BOOT_US (kernel entry ->
# _start), SHARES_US (the guest mounting its shares, 0: none) and LOG (its output)
run() {
	local i=$1 s cid st= raw
	s=$(now_us)
	cid=$(crictl "$i" CreateContainer "{\"pod_sandbox_id\":\"${PODS[$i]}\",\"config\":{\"metadata\":{\"name\":\"$2\"},\"image\":{\"image\":\"$REG/podtool:v1\"},\"args\":$3,\"log_path\":\"$2.log\",\"mounts\":$4}}" | jq -r .container_id)
	CREATE_US=$(($(now_us) - s))
	PARTS=$(grep -F "container ${cid:0:12}: VM" "$T/k$i/kumod.log" |
		sed -n 's/.*prepared in \([0-9]*\) us, [0-9]* mounts staged in \([0-9]*\) us, VM created in \([0-9]*\) us.*/\1 \2 \3/p')
	crictl "$i" StartContainer "{\"container_id\":\"$cid\"}" >/dev/null
	for _ in $(seq 3000); do
		st=$(crictl "$i" ContainerStatus "{\"container_id\":\"$cid\"}" | jq -r .status.state)
		[ "$st" = CONTAINER_EXITED ] && break
		sleep 0.02
	done
	raw=$T/k$i/root/vms/kumo-${cid:0:40}/exit.raw
	BOOT_US=$(grep -ao 'kernel entry to _start [0-9]*' "$raw" 2>/dev/null | grep -o '[0-9]*$')
	SHARES_US=$(grep -ao 'shares: [0-9]* mounted in [0-9]*' "$raw" 2>/dev/null | grep -o '[0-9]*$')
	LOG=$(sed -E 's/^[^ ]+ [a-z]+ [FP] //' "$T/k$i/logs/$2.log" 2>/dev/null)
	crictl "$i" RemoveContainer "{\"container_id\":\"$cid\"}" >/dev/null
	rm -f "$T/k$i/logs/$2.log"
}

for n in $MOUNTS; do
	m=$(mounts_json "$n")
	for i in "${!BUILDS[@]}"; do : >"$T/k$i/samples"; done
	for ((r = 0; r < RUNS; r++)); do
		# Each build goes first in turn.
		order=("${!BUILDS[@]}")
		((r % 2 == 1)) && order=($(printf '%s\n' "${order[@]}" | sort -rn))
		for i in "${order[@]}"; do
			run "$i" "c$n-$r" '["print","hi"]' "$m"
			[ "$LOG" = hi ] || echo "bench-mounts: ${BUILDS[$i]}: run c$n-$r printed \`$LOG\`"
			echo "$CREATE_US ${PARTS:-0 0 0} ${BOOT_US:-0} ${SHARES_US:-0}" >>"$T/k$i/samples"
		done
	done
	for i in "${!BUILDS[@]}"; do
		f=$T/k$i/samples
		printf "%s: mounts=%s create-container-us %s (prepare %s, stage %s, vm-create %s), boot-entry-to-start-us %s (shares mounted in %s)\n" \
			"${BUILDS[$i]}" "$n" "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" \
			"$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f4 "$f" | median)" \
			"$(cut -d' ' -f5 "$f" | median)" "$(cut -d' ' -f6 "$f" | median)"
	done
done

mkdir -p "$T/big"
head -c 1048576 /dev/urandom >"$T/big/1m.bin"
for i in "${!BUILDS[@]}"; do
	run "$i" read1m '["readbench","/data/1m.bin","21"]' "[{\"container_path\":\"/data\",\"host_path\":\"$T/big\",\"readonly\":true}]"
	echo "${BUILDS[$i]}: $LOG"
	printf "%s: mount-of-1m create-container-us %s (prepare %s, stage %s, vm-create %s)\n" "${BUILDS[$i]}" "$CREATE_US" ${PARTS:-0 0 0}
	((i == 0)) && READ_US=$(sed -n 's/.*median \([0-9]*\) us.*/\1/p' <<<"$LOG")
done
echo "mounts-read-1m-us ${READ_US:-0}"
