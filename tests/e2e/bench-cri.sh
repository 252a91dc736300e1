#!/usr/bin/env bash
# tests/e2e/bench-cri.sh - `make bench-cri`: starts kumod in a temp dir and runs
# bench-cri.js (N=20 pods). BACKEND=real|test (default test until the real backend boots
# VMs: then the numbers are kumod's own CRI overhead, no VM). IMAGE names the image
# (test backend: any name). The peer: Debian's containerd + runc (tests/e2e/containerd-lib.sh)
# running busybox `true`, runp+create+start -> exited, median of N, measured by
# kumo-downstream-check (cri/downstream.h's client) when containerd is installed; and the
# mixed node's forwarding cost: the same busybox pods through kumod with containerd
# behind it vs straight to containerd, alternating pod by pod (target <= 1.05x).
set -u
BUILD=${BUILD:-build}
# The node client comes from npm: fetched before entering the private namespace.
NODE_DIR=$BUILD/node
if [ ! -d "$NODE_DIR/node_modules/@grpc/grpc-js" ]; then
	mkdir -p "$NODE_DIR"
	(cd "$NODE_DIR" && npm install --no-audit --no-fund --silent @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1) >/dev/null 2>&1 ||
		{ echo "bench-cri: npm install of @grpc/grpc-js failed"; exit 1; }
fi
# The real backend sets up a bridge, taps and iptables rules: keep them in a network
# namespace of this script's own.
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -- bash "$0" "$@"
ip link set lo up
BACKEND=${BACKEND:-test}
IMAGE=${IMAGE:-localhost:5000/hello:v1}
N=${N:-20}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/kumo-bench-cri.XXXXXX)
# The test backend is the test daemon's (kumod itself runs only the real stages).
KUMOD=$BUILD/bin/kumod
[ "$BACKEND" = test ] && KUMOD=$BUILD/tests/kumod-fake
"$KUMOD" --socket "$T/kumo.sock" --root "$T/root" --log-level warn 2>"$T/kumod.log" &
KPID=$!
# shellcheck source=../registry/registry.sh
. "$HERE/../registry/registry.sh"
# shellcheck source=containerd-lib.sh
. "$HERE/containerd-lib.sh"
trap 'kill -TERM $KPID 2>/dev/null; wait $KPID 2>/dev/null; containerd_stop; registry_stop; rm -rf "$T"' EXIT
for _ in $(seq 200); do "$BUILD/bin/kumo-crictl" --socket "$T/kumo.sock" Version >/dev/null 2>&1 && break; sleep 0.05; done
echo "kumo (kumod, backend $BACKEND$([ "$BACKEND" = test ] && echo ': fake VMs, CRI overhead only'), $N pods, image $IMAGE):"
NODE_PATH=$(cd "$NODE_DIR/node_modules" && pwd) node "$HERE/bench-cri.js" "$T/kumo.sock" "$HERE/../../cri/api.proto" "$T/logs" "$IMAGE" "$N"
rc=$?
if ! command -v containerd >/dev/null; then
	echo "peer: containerd not installed (deploy/install-deps.sh installs it)"
elif registry_start open "$T/reg" && linux_images_push "127.0.0.1:$REG_PORT" pause busybox &&
	containerd_start "$T/ctrd" "127.0.0.1:$REG_PORT"; then
	mkdir -p "$T/peer-logs"
	echo "peer: containerd $(containerd --version | awk '{print $3}') + runc, busybox \`true\`, $N pods:"
	"$BUILD/e2e/kumo-downstream-check" "$CTRD_ENDPOINT" --logdir "$T/peer-logs" images "bench:$N" |
		grep -E '^(bench|FAIL)' | sed 's/^bench: /peer /'
	# The forwarding cost of a mixed node: the same busybox pods through kumod (the real
	# one, containerd behind it) and straight to containerd, alternating pod by pod.
	"$BUILD/bin/kumod" --socket "$T/mixed.sock" --root "$T/mixed-root" --downstream-endpoint "$CTRD_ENDPOINT" \
		--bridge kumobench0 --pod-cidr 10.76.0.0/24 --log-level "${MIXED_LOG_LEVEL:-warn}" 2>"$T/mixed.log" &
	MPID=$!
	for _ in $(seq 200); do "$BUILD/bin/kumo-crictl" --socket "$T/mixed.sock" Version >/dev/null 2>&1 && break; sleep 0.05; done
	echo "mixed node: busybox \`true\` through kumod (containerd behind it) vs straight to containerd, $N pods each:"
	"$BUILD/e2e/kumo-downstream-check" "$CTRD_ENDPOINT" --logdir "$T/peer-logs" --vs "unix://$T/mixed.sock" "bench:$N" |
		grep -E '^(bench|FAIL)' | sed 's/^bench: /mixed /'
	kill -TERM $MPID; wait $MPID 2>/dev/null
	[ -z "${MIXED_LOG:-}" ] || cp "$T/mixed.log" "$MIXED_LOG"
else
	echo "peer: containerd did not start"
fi
exit $rc
