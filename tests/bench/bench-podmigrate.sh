#!/usr/bin/env bash
# tests/bench/bench-podmigrate.sh - live migration of a pod VM between two nodes
# (tests/lib/twonodes.sh: two kumods in two network namespaces on one L2 pod network),
# RUNS migrations (default 10) back and forth of one pod VM (256 MiB, a web server and a
# counter writing a hostPath volume) while a client on node A holds one keep-alive
# connection and GETs a 4 KB file every 10 ms: per migration `kumo migrate`'s total
# (describe + RestorePod + pre-copy + adoption), QEMU's pre-copy time, downtime and
# bytes (the source's log), and the client's longest gap between two answers around it
# (its downtime as a client sees it); medians. Run by bench-snapshot.sh, in network and
# mount namespaces of its own. Last line: `bench-podmigrate: client-gap-ms N`.
# env: RUNS=10 BUILD=build
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-10}
. tests/lib/registry.sh
. tests/lib/cri.sh
. tests/lib/oci-wasm-image.sh
. tests/lib/snaplib.sh
. tests/lib/twonodes.sh
. tests/bench/bench-lib.sh
cri_suite bench-podmigrate 120
kumo_accel; ACCEL=$accel
NODE_LOG_LEVEL=info
fail() { echo "bench-podmigrate: $*"; finish; }
twonodes_net && twonodes_images || fail "two nodes: set-up failed"
at_exit 'stop_node A; stop_node B'
start_node A && start_node B || fail "a node's kumod did not start"
mkdir -p "$T/vol" "$T/cl"
pod=$(cA RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"mover\",\"uid\":\"m1\",\"namespace\":\"bench\"},\"log_directory\":\"$T/logs\"}}" | jq -r .pod_sandbox_id) ||
	fail "RunPodSandbox failed"
ip=$(cA PodSandboxStatus "{\"pod_sandbox_id\":\"$pod\"}" | jq -r '.status.network.ip // ""')
for spec in "srv web:v1 [\"--root\",\"/www\",\"--port\",\"8080\"] []" \
	"counter counter:v1 [\"0\",\"30\",\"/data/count.txt\"] [{\"container_path\":\"/data\",\"host_path\":\"$T/vol\"}]"; do
	read -r name img args mounts <<<"$spec"
	cid=$(cA CreateContainer "{\"pod_sandbox_id\":\"$pod\",\"config\":{\"metadata\":{\"name\":\"$name\"},\"image\":{\"image\":\"$REG/$img\"},\"args\":$args,\"log_path\":\"$name.log\",\"mounts\":$mounts}}" | jq -r .container_id) &&
		cA StartContainer "{\"container_id\":\"$cid\"}" >/dev/null || fail "container $name did not start"
done
for _ in $(seq 100); do ip netns exec kumoA curl -s --max-time 2 -o /dev/null "http://$ip:8080/index.html" && break; sleep 0.2; done
ip netns exec kumoA python3 tests/support/keepalive_client.py "$ip" 8080 /index.html "$T/cl" >"$T/client.out" 2>&1 &
client=$!
for _ in $(seq 100); do grep -q started "$T/client.out" && break; sleep 0.1; done
now() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }
: >"$T/runs.txt"
src=A dst=B
for i in $(seq "$RUNS"); do
	addr=192.168.77.1; [ $dst = B ] && addr=192.168.77.2
	sleep 0.5
	t0=$(now)
	if ! newpod=$("$BIN/kumo" migrate "$pod" --to "$T/$dst.sock" --socket "$T/$src.sock" --address "$addr" \
		--work-dir "$T" 2>"$T/m.err" | head -1) || [ -z "$newpod" ]; then
		echo "bench-podmigrate: run $i: $(tail -1 "$T/m.err")"
		break
	fi
	t1=$(now)
	sleep 0.3
	total=$(sed -nE 's/.*destination running after ([0-9.]+) ms.*/\1/p' "$T/m.err")
	qemu=$(grep 'migrated live to' "$T/kumod$src.log" | tail -1 |
		sed -E 's/.* ([0-9]+) bytes sent in ([0-9.]+) ms, guest paused ([0-9.]+) ms by QEMU.*/\2 \3 \1/')
	gap=$(awk -v a="$t0" -v b="$t1" 'NR > 1 && $1 >= a && prev <= b + 0.5 { g = $1 - prev; if (g > m) m = g } { prev = $1 } END { printf "%.1f", m * 1000 }' "$T/cl/answers")
	echo "$total $qemu $gap" >>"$T/runs.txt"
	echo "podmigrate run $i $src->$dst: kumo migrate $total ms; QEMU pre-copy, downtime, bytes: $qemu; client's longest gap $gap ms"
	pod=$newpod
	tmp=$src; src=$dst; dst=$tmp
done
touch "$T/cl/stop"
wait "$client"
col() { awk -v c="$1" '{print $c}' "$T/runs.txt" | median; }
n=$(wc -l <"$T/runs.txt")
echo "podmigrate 256 MiB pod VM, web server + counter, between two nodes (median of $n): kumo migrate $(col 1) ms in all; QEMU pre-copy $(col 2) ms, downtime $(col 3) ms, $(col 4) bytes; client's longest gap $(col 5) ms; client: $(grep '^requests' "$T/client.out")"
cA StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null 2>&1; cB StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null 2>&1
echo "bench-podmigrate: client-gap-ms $( [ "$n" -gt 0 ] && col 5 || echo n/a)"
