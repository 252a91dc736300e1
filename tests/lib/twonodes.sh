#!/usr/bin/env bash
# tests/lib/twonodes.sh - (sourced, after cri.sh's cri_suite and snaplib.sh, in network and mount
# namespaces of the script's own) two kumods playing two nodes, for live migrations
# (tests/e2e/migrate.sh, tests/bench/bench-podmigrate.sh):
#   twonodes_net          network namespaces kumoA, kumoB, each with a pod bridge kpod0;
#                         the two bridges joined by a veth (one L2 pod network, subnet
#                         10.77.0.0/24, gateways .1 on A and .2 on B) and a node link
#                         (192.168.77.1 on A, .2 on B) for QEMU's migration stream;
#                         $T/netA.d, $T/netB.d: each node's CNI list (bridge + host-local
#                         with a store of its own, as two nodes' IPAM would be)
#   twonodes_images       the web image (net_httpd + $T/img/www/index.html) and the
#                         counter pushed to a registry here and pulled into both nodes'
#                         stores ($REG)
#   start_node N, stop_node N   node N's kumod (socket $T/N.sock, root $T/rootN, pid PID_N)
#   cA, cB                kumo-crictl on node A's, B's socket
# Returns non-zero (after `bad`) when a step fails.

twonodes_net() {
	at_exit 'for f in "$T"/root*/vms/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done'
	at_exit 'ip netns del kumoA 2>/dev/null; ip netns del kumoB 2>/dev/null; umount -l "$T/netnsA" "$T/netnsB" 2>/dev/null'
	local n gw
	ip netns add kumoA && ip netns add kumoB || { bad "network namespaces" "ip netns add failed"; return 1; }
	for n in A B; do
		ip -n kumo$n link set lo up
		ip -n kumo$n link add kpod0 type bridge && ip -n kumo$n link set kpod0 up || return 1
	done
	ip link add podA netns kumoA type veth peer name podB netns kumoB &&
		ip -n kumoA link set podA master kpod0 up && ip -n kumoB link set podB master kpod0 up ||
		{ bad "pod network link" "veth failed"; return 1; }
	ip link add nodeA netns kumoA type veth peer name nodeB netns kumoB &&
		ip -n kumoA addr add 192.168.77.1/24 dev nodeA && ip -n kumoA link set nodeA up &&
		ip -n kumoB addr add 192.168.77.2/24 dev nodeB && ip -n kumoB link set nodeB up ||
		{ bad "node network link" "veth failed"; return 1; }
	for n in A B; do
		gw=10.77.0.1; [ $n = B ] && gw=10.77.0.2
		mkdir -p "$T/net$n.d"
		cat >"$T/net$n.d/10-mig.conflist" <<EOC
{"cniVersion": "1.0.0", "name": "kumo-mig", "plugins": [{"type": "bridge", "bridge": "kpod0",
 "isGateway": true, "ipMasq": false, "hairpinMode": true,
 "ipam": {"type": "host-local", "dataDir": "/var/lib/cni/node$n",
  "ranges": [[{"subnet": "10.77.0.0/24", "rangeStart": "10.77.0.10", "rangeEnd": "10.77.0.250", "gateway": "$gw"}]],
  "routes": [{"dst": "0.0.0.0/0"}]}}]}
EOC
	done
}

# The nodes' own loopback cannot reach this namespace's registry: the images are pulled
# into each node's store here (kubelet would pull through kumod).
twonodes_images() {
	local n i
	registry_start open "$T/reg" || { bad "registry starts" "no"; return 1; }
	REG=127.0.0.1:$REG_PORT
	snap_web_image || return 1
	"$BIN/kumo" push "$APPS/app_counter.wasm" "$REG/counter:v1" >"$T/push2.log" 2>&1 ||
		{ bad "push the counter image" "$(cat "$T/push2.log")"; return 1; }
	for n in A B; do
		for i in web:v1 counter:v1; do
			"$BIN/kumo" pull --root "$T/root$n" "$REG/$i" >"$T/pull.log" 2>&1 ||
				{ bad "node $n: pull $i" "$(cat "$T/pull.log")"; return 1; }
		done
	done
}

# nsenter, not `ip netns exec`: that would remount /sys, hiding the cgroups of QEMU's jail.
start_node() {
	local n=$1
	nsenter --net=/run/netns/kumo$n "$BIN/kumod" --socket "$T/$n.sock" --root "$T/root$n" --accel "$ACCEL" \
		--cni-conf-dir "$T/net$n.d" --netns-dir "$T/netns$n" --log-level "${NODE_LOG_LEVEL:-debug}" \
		2>>"$T/kumod$n.log" &
	eval "PID_$n=$!"
	for _ in $(seq 200); do "$BIN/kumo-crictl" --socket "$T/$n.sock" Version >/dev/null 2>&1 && return 0; sleep 0.05; done
	bad "node $n: kumod starts" "$(tail -5 "$T/kumod$n.log")"
	return 1
}
stop_node() {
	local pid
	pid=$(eval echo "\${PID_$1:-}")
	[ -z "$pid" ] || { kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	eval "PID_$1="
}
cA() { "$BIN/kumo-crictl" --socket "$T/A.sock" --timeout 120 "$@"; }
cB() { "$BIN/kumo-crictl" --socket "$T/B.sock" --timeout 120 "$@"; }
