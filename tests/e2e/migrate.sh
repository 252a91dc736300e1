#!/usr/bin/env bash
# tests/e2e/migrate.sh - live migration of a pod VM between two nodes (issue 18). Two
# kumods play two nodes: each runs in a network namespace of its own (nodeA, nodeB) with
# its own CNI list, whose bridge plugin makes the node's pod bridge `kpod0`; the two pod
# bridges are joined by a veth (one L2 network, one subnet, each node's host-local IPAM
# with a store of its own, as two nodes' would be) and the nodes reach each other over a
# second veth, which carries QEMU's migration stream. On node A a pod VM runs a web
# server and a counter that writes its CRI log and a hostPath volume; a client on node A
# holds one keep-alive connection and fetches all the time. `kumo migrate` moves the pod
# to node B: it keeps its address, the client's connection goes on with no request
# failing, the counter counts on with no gap or repeat in its log and in its file. Then
# the pod goes back, throttled, and the destination (its kumod and its QEMU) is killed
# half-way: the source keeps running and nothing is lost; kumod back, the pod migrates.
# Prints `migrate: N passed, N failed`.
set -u
# The nodes' namespaces, bridges and mounts live in namespaces of this script's own.
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
# shellcheck source=../lib/oci-wasm-image.sh
. "$HERE/../lib/oci-wasm-image.sh"
# shellcheck source=../lib/snaplib.sh
. "$HERE/../lib/snaplib.sh"
# shellcheck source=../lib/twonodes.sh
. "$HERE/../lib/twonodes.sh"
cri_suite migrate 120
for f in "$APPS/app_counter.wasm" "$APPS/net_httpd.wasm"; do
	[ -f "$f" ] || { bad "prerequisite" "missing $f (make test-prereqs)"; finish; }
done
for p in bridge host-local; do
	[ -x "/usr/lib/cni/$p" ] || [ -x "/opt/cni/bin/$p" ] ||
		{ echo "migrate: skipped: CNI plugin $p not installed (containernetworking-plugins)"; finish; }
done
kumo_accel; ACCEL=$accel


twonodes_net && twonodes_images || finish
at_exit 'stop_node A; stop_node B'
start_node A && start_node B || finish
SOCK=$T/A.sock

# ---- a web + counter pod VM on node A --------------------------------------------------------
mkdir -p "$T/vol"
call "node A: RunPodSandbox" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"mover\",\"uid\":\"m1\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs\"}}"
POD=$(jq -r .pod_sandbox_id <<<"$OUT")
IP=$(cA PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}" | jq -r '.status.network.ip // ""')
case $IP in 10.77.0.*) ok "the pod has an address of the shared pod network ($IP)" ;; *) bad "pod address" "got \`$IP\`" ;; esac
call "node A: CreateContainer web" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"srv\"},\"image\":{\"image\":\"$REG/web:v1\"},\"args\":[\"--root\",\"/www\",\"--port\",\"8080\"],\"log_path\":\"srv.log\"}}"
call "node A: StartContainer web" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
call "node A: CreateContainer counter" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"0\",\"30\",\"/data/count.txt\"],\"log_path\":\"counter.log\",\"mounts\":[{\"container_path\":\"/data\",\"host_path\":\"$T/vol\"}]}}"
call "node A: StartContainer counter" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
LOG=$T/logs/counter.log
for _ in $(seq 600); do [ "$(counting "$LOG" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
for _ in $(seq 100); do ip netns exec kumoA curl -s --max-time 2 "http://$IP:8080/index.html" >"$T/got1" && [ -s "$T/got1" ] && break; sleep 0.2; done
eq "node A serves the pod's file at $IP" "$(cmp -s "$T/got1" "$T/img/www/index.html" && echo same)" same

# The client, on node A: one keep-alive connection, a request every 10 ms.
mkdir -p "$T/cl"
ip netns exec kumoA python3 "$HERE/../support/keepalive_client.py" "$IP" 8080 /index.html "$T/cl" >"$T/client.out" 2>&1 &
CL=$!
for _ in $(seq 100); do grep -q started "$T/client.out" && break; sleep 0.1; done
sleep 0.5

# ---- A -> B, live ------------------------------------------------------------------------------
before=$(counting "$LOG" | tail -1)
if "$BIN/kumo" migrate "$POD" --to "$T/B.sock" --socket "$T/A.sock" --address 192.168.77.2 \
	--work-dir "$T" >"$T/m.out" 2>"$T/m.err"; then
	ok "kumo migrate POD --to node B ($(grep -o 'describe.*' "$T/m.err"))"
else
	bad "kumo migrate to node B" "$(cat "$T/m.err")"
fi
POD2=$(head -1 "$T/m.out")
touch "$T/cl/mark"
sleep 1.5
touch "$T/cl/stop"
wait "$CL"
res=$(grep '^requests' "$T/client.out")
eq "the client's keep-alive connection went on: no request failed, the same connection" \
	"$(awk '{print $4, $8}' <<<"$res")" "0 True"
eq "and it fetched on after the migration" \
	"$(awk -v m="$(awk '/^mark/{print $2}' "$T/client.out")" '/^requests/{print ($2 > m + 5) ? "yes" : "no (" $2 " after " m ")"}' "$T/client.out")" yes
ok "the client's longest gap between two answers: $(awk '{print $6}' <<<"$res") ms ($res)"
eq "the source pod is gone from node A" "$(cA ListPodSandbox '{}' | jq '[.items[]? | select(.id == "'"$POD"'")] | length')" 0
eq "node B has the pod, ready" "$(cB PodSandboxStatus "{\"pod_sandbox_id\":\"$POD2\"}" | jq -r .status.state)" SANDBOX_READY
eq "at the address it had" "$(cB PodSandboxStatus "{\"pod_sandbox_id\":\"$POD2\"}" | jq -r '.status.network.ip // ""')" "$IP"
eq "both its containers run on node B" \
	"$(cB ListContainers "{\"filter\":{\"pod_sandbox_id\":\"$POD2\"}}" | jq -r '[.containers[] | select(.state == "CONTAINER_RUNNING") | .metadata.name] | sort | join(" ")')" "counter srv"
ip netns exec kumoB curl -s --max-time 10 "http://$IP:8080/index.html" >"$T/got2"
eq "node B reaches it at its address, serving the same file" "$(cmp -s "$T/got2" "$T/img/www/index.html" && echo same)" same
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((before + 15)) ] && break; sleep 0.1; done
eq "the counter counts on in its CRI log with no gap or repeat" "$(consecutive "$LOG")" yes
eq "and in its volume file, open across the move (no gap or repeat)" "$(consecutive "$T/vol/count.txt")" yes
eq "which has grown on node B" "$([ "$(counting "$T/vol/count.txt" | tail -1)" -gt $((before + 5)) ] && echo yes)" yes
eq "the migration left no description or hand-over file" "$(ls "$T"/kumo-migrate-* 2>/dev/null | wc -l)" 0
grep -q "migrated live to" "$T/kumodA.log" && ok "node A's kumod logged the migration ($(grep -o 'migrated live to.*' "$T/kumodA.log" | tail -1 | cut -c1-160))" ||
	bad "node A logged the migration" "$(tail -5 "$T/kumodA.log")"

# ---- B -> A, throttled, the destination killed half-way ---------------------------------------
rm -f "$T"/rootA/vms/*/qemu.pid
"$BIN/kumo" migrate "$POD2" --to "$T/A.sock" --socket "$T/B.sock" --address 192.168.77.1 \
	--work-dir "$T" --max-bandwidth 100000 >"$T/k.out" 2>"$T/k.err" &
MIG=$!
for _ in $(seq 300); do ls "$T"/rootA/vms/*/qemu.pid >/dev/null 2>&1 && break; sleep 0.05; done
sleep 1.5
stop_node A
for f in "$T"/rootA/vms/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
if wait "$MIG"; then
	bad "a migration whose destination is killed fails" "it succeeded: $(cat "$T/k.err")"
else
	ok "a migration whose destination is killed half-way fails ($(tail -1 "$T/k.err" | grep -o 'migration stream failed.*'))"
fi
eq "it was broken off mid-stream, not refused at the start" \
	"$(grep -q 'migration stream failed' "$T/k.err" && ! grep -q 'Connection refused' "$T/k.err" && echo yes)" yes
eq "the source pod still runs on node B" "$(cB PodSandboxStatus "{\"pod_sandbox_id\":\"$POD2\"}" | jq -r .status.state)" SANDBOX_READY
now=$(counting "$LOG" | tail -1)
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((now + 10)) ] && break; sleep 0.1; done
eq "its counter goes on, no gap or repeat in its log" "$(consecutive "$LOG")" yes
eq "nor in its file (its shares came back)" "$(consecutive "$T/vol/count.txt")" yes
ip netns exec kumoB curl -s --max-time 10 "http://$IP:8080/index.html" >"$T/got3"
eq "its web server answers" "$(cmp -s "$T/got3" "$T/img/www/index.html" && echo same)" same
SOCK=$T/B.sock
call "and it takes commands again (CheckpointContainer, the pod going on)" CheckpointContainer \
	"{\"container_id\":\"$(cB ListContainers "{\"filter\":{\"pod_sandbox_id\":\"$POD2\"}}" | jq -r '.containers[0].id')\",\"location\":\"$T/after.kumo\"}"
SOCK=$T/A.sock

# ---- node A back: the pod migrates there ------------------------------------------------------
start_node A
for p in $(cA ListPodSandbox '{}' | jq -r '.items[]?.id'); do
	cA StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
	cA RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
done
now=$(counting "$LOG" | tail -1)
if "$BIN/kumo" migrate "$POD2" --to "$T/A.sock" --socket "$T/B.sock" --address 192.168.77.1 \
	--work-dir "$T" >"$T/b.out" 2>"$T/b.err"; then
	ok "after node A's kumod is back, the pod migrates there"
else
	bad "migrate back to node A" "$(cat "$T/b.err")"
fi
POD3=$(head -1 "$T/b.out")
eq "node A runs it at its address" "$(cA PodSandboxStatus "{\"pod_sandbox_id\":\"$POD3\"}" | jq -r '"\(.status.state) \(.status.network.ip)"')" "SANDBOX_READY $IP"
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((now + 10)) ] && break; sleep 0.1; done
eq "the counter has counted on through three nodes' worth of moves, no gap or repeat" "$(consecutive "$LOG")" yes
# ---- A -> B again, throttled, the SOURCE's kumod killed half-way -----------------------------
# QEMU goes on sending without its kumod; the kumod that comes back cancels the migration
# and RESUMEs the pod's shares; the destination, which never gets the hand-over, gives up.
"$BIN/kumo" migrate "$POD3" --to "$T/B.sock" --socket "$T/A.sock" --address 192.168.77.2 \
	--work-dir "$T" --max-bandwidth 100000 >"$T/s.out" 2>"$T/s.err" &
MIG=$!
for _ in $(seq 300); do grep -q "VM kumopod-.* restored\|incoming" "$T/kumodB.log" 2>/dev/null && ls "$T"/rootB/vms/*/qemu.pid >/dev/null 2>&1 && break; sleep 0.05; done
sleep 1.5
stop_node A
start_node A
if wait "$MIG"; then bad "a migration whose source kumod is killed fails" "it succeeded"; else ok "a migration whose source kumod is killed half-way fails"; fi
grep -q "a live migration kumod died in: \`cancelled\` now" "$T/kumodA.log" &&
	ok "node A's kumod, back, cancelled the migration QEMU went on with" ||
	bad "the migration cancelled" "$(grep "$(echo "${POD3:0:12}")" "$T/kumodA.log" | tail -5)"
eq "the pod still runs on node A" "$(cA PodSandboxStatus "{\"pod_sandbox_id\":\"$POD3\"}" | jq -r .status.state)" SANDBOX_READY
now=$(counting "$LOG" | tail -1)
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((now + 10)) ] && break; sleep 0.1; done
eq "its counter goes on in its log and in its file (its shares resumed), no gap or repeat" \
	"$(consecutive "$LOG") $(consecutive "$T/vol/count.txt")" "yes yes"
ip netns exec kumoA curl -s --max-time 10 "http://$IP:8080/index.html" >"$T/got4"
eq "its web server answers" "$(cmp -s "$T/got4" "$T/img/www/index.html" && echo same)" same
for _ in $(seq 300); do [ "$(cB ListPodSandbox '{}' | jq '[.items[]?] | length')" = 0 ] && break; sleep 0.2; done
eq "node B gave its half-restored pod up" "$(cB ListPodSandbox '{}' | jq '[.items[]?] | length')" 0
cA StopPodSandbox "{\"pod_sandbox_id\":\"$POD3\"}" >/dev/null 2>&1
cA RemovePodSandbox "{\"pod_sandbox_id\":\"$POD3\"}" >/dev/null 2>&1
cB StopPodSandbox "{\"pod_sandbox_id\":\"$POD2\"}" >/dev/null 2>&1
cB RemovePodSandbox "{\"pod_sandbox_id\":\"$POD2\"}" >/dev/null 2>&1
finish
