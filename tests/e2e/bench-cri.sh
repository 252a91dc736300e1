#!/usr/bin/env bash
# tests/e2e/bench-cri.sh - `make bench-cri`: starts kumod in a temp dir and runs
# bench-cri.js (N=20 pods). BACKEND=real|test (default test until the real backend boots
# VMs: then the numbers are kumod's own CRI overhead, no VM). IMAGE names the image
# (test backend: any name). The peer: Debian's containerd + runc (tests/e2e/containerd-lib.sh)
# running busybox `true`, runp+create+start -> exited, median of N, measured by
# kumo-downstream-check (cri/downstream.h's client) when containerd is installed.
# Then the pod-IP figure: RunPodSandbox -> IP ready, median of N (tests/e2e/bench-podip.js),
# kumod beside containerd on the same CNI network list; `podip-ratio` is kumo/containerd.
set -u
BUILD=${BUILD:-build}
# The node client comes from npm: fetched before entering the private namespace.
NODE_DIR=$BUILD/node
if [ ! -d "$NODE_DIR/node_modules/@grpc/grpc-js" ]; then
	mkdir -p "$NODE_DIR"
	(cd "$NODE_DIR" && npm install --no-audit --no-fund --silent @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1) >/dev/null 2>&1 ||
		{ echo "bench-cri: npm install of @grpc/grpc-js failed"; exit 1; }
fi
# The real backend gives pods their network from CNI (a default list in this script's
# conf dir: bridge, veths, iptables rules): keep all of it in network and mount
# namespaces of this script's own, host-local's store included.
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
BACKEND=${BACKEND:-test}
IMAGE=${IMAGE:-localhost:5000/hello:v1}
N=${N:-20}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROTO=$HERE/../../cri/api.proto
T=$(mktemp -d /tmp/kumo-bench-cri.XXXXXX)
NODE_PATH=$(cd "$NODE_DIR/node_modules" && pwd)
export NODE_PATH
CNI=(--cni-conf-dir "$T/net.d" --netns-dir "$T/netns")
# The test backend is the test daemon's (kumod itself runs only the real stages).
KUMOD=$BUILD/bin/kumod
[ "$BACKEND" = test ] && KUMOD=$BUILD/tests/kumod-fake && CNI=()
"$KUMOD" --socket "$T/kumo.sock" --root "$T/root" "${CNI[@]}" --log-level warn 2>"$T/kumod.log" &
KPID=$!
P2PID=
# shellcheck source=../registry/registry.sh
. "$HERE/../registry/registry.sh"
# shellcheck source=containerd-lib.sh
. "$HERE/containerd-lib.sh"
cleanup() {
	kill -TERM $KPID 2>/dev/null; wait $KPID 2>/dev/null
	[ -z "$P2PID" ] || { kill -TERM "$P2PID" 2>/dev/null; wait "$P2PID" 2>/dev/null; }
	containerd_stop
	registry_stop
	umount -l "$T/netns" "$T/netns2" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
crictl_up() { for _ in $(seq 200); do "$BUILD/bin/kumo-crictl" --socket "$1" Version >/dev/null 2>&1 && break; sleep 0.05; done; }
crictl_up "$T/kumo.sock"
echo "kumo (kumod, backend $BACKEND$([ "$BACKEND" = test ] && echo ': fake VMs, CRI overhead only'), $N pods, image $IMAGE):"
node "$HERE/bench-cri.js" "$T/kumo.sock" "$PROTO" "$T/logs" "$IMAGE" "$N"
rc=$?

# The pod IP: RunPodSandbox -> IP in PodSandboxStatus, on a real kumod (network only, no
# VM) and on containerd, both on the same network list (kumod's default list in $T/net.d:
# Debian's bridge + host-local + portmap + loopback) and address pool.
mkdir -p "$T/net.d"
"$BUILD/bin/kumod" --socket "$T/podip.sock" --root "$T/podip-root" --cni-conf-dir "$T/net.d" \
	--netns-dir "$T/netns2" --log-level warn 2>"$T/kumod-podip.log" &
P2PID=$!
crictl_up "$T/podip.sock"
echo
echo "pod IP: RunPodSandbox -> IP ready, $N pods in a row, network list $(jq -r '[.plugins[].type] | join(" + ")' "$T/net.d/99-kumo.conflist" 2>/dev/null):"
node "$HERE/bench-podip.js" "$T/podip.sock" "$PROTO" "$T/podip-logs" "$N" kumo | tee "$T/podip-kumo.out" | tail -1
kill -TERM "$P2PID"; wait "$P2PID" 2>/dev/null; P2PID=

if ! command -v containerd >/dev/null; then
	echo "peer: containerd not installed (deploy/install-deps.sh installs it)"
elif registry_start open "$T/reg" && linux_images_push "127.0.0.1:$REG_PORT" pause busybox &&
	CTRD_CNI_CONF_DIR=$T/net.d containerd_start "$T/ctrd" "127.0.0.1:$REG_PORT"; then
	echo "peer: containerd $(containerd --version | awk '{print $3}') + runc, on the same network list:"
	node "$HERE/bench-podip.js" "$CTRD_SOCK" "$PROTO" "$T/podip-ctrd-logs" "$N" containerd |
		tee "$T/podip-ctrd.out" | tail -1
	k=$(awk '/^kumo-podip-median-ms/ { print $2 }' "$T/podip-kumo.out")
	c=$(awk '/^containerd-podip-median-ms/ { print $2 }' "$T/podip-ctrd.out")
	[ -n "$k" ] && [ -n "$c" ] && echo "podip-ratio $(echo "scale=2; $k / $c" | bc) (kumo / containerd; target <= 1.2)"
	mkdir -p "$T/peer-logs"
	echo
	echo "peer: containerd + runc, busybox \`true\`, $N pods:"
	"$BUILD/e2e/kumo-downstream-check" "$CTRD_ENDPOINT" --logdir "$T/peer-logs" images "bench:$N" |
		grep -E '^(bench|FAIL)' | sed 's/^bench: /peer /'
else
	echo "peer: containerd did not start"
fi
exit $rc
