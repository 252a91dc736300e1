#!/usr/bin/env bash
# tests/bench/bench-cri-pod.sh - the pod VM's part of `make bench-cri` (issue 16), also
# runnable alone: the real kumod, app_hello from a local registry, in network and mount
# namespaces of this script's own.
#   1. StartContainer -> first CRI log line, p50 and p95 over N (20) containers started
#      one after the other in one booted pod VM (kumod's default), beside the same with
#      each container its own VM (kumod --pod-vm false), in the same run
#      (bench-cri-pod.js; the line's own timestamp, so polling adds nothing).
#   2. Host memory: QEMU's RSS (VmRSS) for a pod VM with 1 and with 3 running containers
#      (app_podtool sleeping), against 3 per-container VMs (3 pods, one container each).
# Closes with `cri-start-p50-ms N` (the pod VM's p50, rounded).
set -u
BUILD=${BUILD:-build}
NODE_DIR=$BUILD/node
if [ ! -d "$NODE_DIR/node_modules/@grpc/grpc-js" ]; then
	mkdir -p "$NODE_DIR"
	(cd "$NODE_DIR" && npm install --no-audit --no-fund --silent @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1) >/dev/null 2>&1 ||
		{ echo "bench-cri-pod: npm install of @grpc/grpc-js failed"; exit 1; }
fi
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
N=${N:-20}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NODE_PATH=$(cd "$NODE_DIR/node_modules" && pwd)
export NODE_PATH
T=$(mktemp -d /tmp/kumo-bench-cri-pod.XXXXXX)
KPID=
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
cleanup() {
	[ -z "$KPID" ] || { kill -TERM "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; }
	for f in "$T"/*/root/vms/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
	registry_stop
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	rm -rf "$T"
}
trap cleanup EXIT
crictl() { "$BUILD/bin/kumo-crictl" --socket "$D/kumo.sock" --timeout 120 "$@"; }
kumod_start() { # DIR FLAGS... -> KPID, D
	D=$1
	shift
	mkdir -p "$D"
	"$BUILD/bin/kumod" --socket "$D/kumo.sock" --root "$D/root" --cni-conf-dir "$T/net.d" \
		--netns-dir "$D/netns" --log-level warn "$@" 2>"$D/kumod.log" &
	KPID=$!
	for _ in $(seq 600); do crictl Version >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "bench-cri-pod: kumod did not answer ($D/kumod.log)" >&2
	return 1
}
kumod_stop() { kill -TERM "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; KPID=; }

registry_start open "$T/reg" || exit 1
REG=127.0.0.1:$REG_PORT
for a in app_hello app_podtool; do
	"$BUILD/bin/kumo" push "$BUILD/apps/$a.wasm" "$REG/$a:v1" >"$T/push.log" 2>&1 ||
		{ echo "bench-cri-pod: push of $a failed: $(cat "$T/push.log")"; exit 1; }
done
mkdir -p "$T/net.d"
accel=

# ---- 1. StartContainer -> first log line ------------------------------------------------
declare -A P50 P95
for mode in pod vm; do
	flag=true
	[ $mode = vm ] && flag=false
	kumod_start "$T/start-$mode" --pod-vm $flag || exit 1
	[ -n "$accel" ] || accel=$(grep -o 'accel: [a-z]*' "$D/kumod.log" | head -1 | cut -d' ' -f2)
	out=$(node "$HERE/bench-cri-pod.js" "$D/kumo.sock" "$ROOT/cri/api.proto" "$D/logs" "$REG/app_hello:v1" "$N" $mode) ||
		{ echo "bench-cri-pod: $mode: $out"; tail -5 "$D/kumod.log"; exit 1; }
	read -r _ _ _ p50 _ p95 <<<"$out"
	P50[$mode]=$p50 P95[$mode]=$p95
	kumod_stop
done
echo "StartContainer -> first log line, app_hello, $N containers one after the other in one pod (${accel:-?}):"
printf '  %-44s p50 %7.1f ms   p95 %7.1f ms\n' \
	"pod VM (booted once, an instance per start)" "${P50[pod]}" "${P95[pod]}" \
	"per-container VM (--pod-vm false, a boot)" "${P50[vm]}" "${P95[vm]}"

# ---- 2. QEMU RSS ---------------------------------------------------------------------------
rss_kib() { # PIDFILE... -> the sum of VmRSS (KiB)
	local s=0 f r
	for f in "$@"; do
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$(cat "$f")/status" 2>/dev/null)
		s=$((s + ${r:-0}))
	done
	echo $s
}
sleeper() { # POD NAME -> starts app_podtool sleeping 10 min in POD
	local c
	c=$(crictl CreateContainer "{\"pod_sandbox_id\":\"$1\",\"config\":{\"metadata\":{\"name\":\"$2\"},\"image\":{\"image\":\"$REG/app_podtool:v1\"},\"args\":[\"print\",\"up\",\"sleep\",\"600000\"],\"log_path\":\"$2.log\"}}" | jq -r .container_id)
	crictl StartContainer "{\"container_id\":\"$c\"}" >/dev/null
}
waitlines() { # DIR N: N logs in DIR have their first line
	for _ in $(seq 1200); do [ "$(cat "$1"/*.log 2>/dev/null | grep -c ' up$')" -ge "$2" ] && return 0; sleep 0.1; done
	return 1
}
kumod_start "$T/rss-pod" || exit 1
crictl PullImage "{\"image\":{\"image\":\"$REG/app_podtool:v1\"}}" >/dev/null
POD=$(crictl RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"rss\",\"uid\":\"rss\",\"namespace\":\"bench\"},\"log_directory\":\"$D/logs\"}}" | jq -r .pod_sandbox_id)
sleeper "$POD" s1
waitlines "$D/logs" 1
sleep 1
r1=$(rss_kib "$D"/root/vms/kumopod-*/qemu.pid)
sleeper "$POD" s2
sleeper "$POD" s3
waitlines "$D/logs" 3
sleep 1
r3=$(rss_kib "$D"/root/vms/kumopod-*/qemu.pid)
crictl StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}" >/dev/null
kumod_stop
kumod_start "$T/rss-vm" --pod-vm false || exit 1
crictl PullImage "{\"image\":{\"image\":\"$REG/app_podtool:v1\"}}" >/dev/null
for i in 1 2 3; do
	P[$i]=$(crictl RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"rss$i\",\"uid\":\"rss$i\",\"namespace\":\"bench\"},\"log_directory\":\"$D/logs\"}}" | jq -r .pod_sandbox_id)
	sleeper "${P[$i]}" "v$i"
done
waitlines "$D/logs" 3
sleep 1
rv=$(rss_kib "$D"/root/vms/kumo-*/qemu.pid)
for i in 1 2 3; do crictl StopPodSandbox "{\"pod_sandbox_id\":\"${P[$i]}\"}" >/dev/null; done
kumod_stop
echo "host memory (QEMU VmRSS), app_podtool sleeping:"
printf '  %-44s %6d MiB\n' "pod VM, 1 container" $((r1 / 1024)) "pod VM, 3 containers" $((r3 / 1024)) \
	"3 per-container VMs (sum)" $((rv / 1024))
echo "cri-start-p50-ms $(awk -v x="${P50[pod]}" 'BEGIN { printf "%d", x + 0.5 }')"
