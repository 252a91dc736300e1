#!/usr/bin/env bash
# tests/e2e/bench-cri.sh - `make bench-cri`: starts kumod in a temp dir and runs
# bench-cri.js (N=20 pods). BACKEND=real|test (default test until the real backend boots
# VMs: then the numbers are kumod's own CRI overhead, no VM). IMAGE names the image
# (test backend: any name). The peer (containerd + runc) is measured when it is
# installed; Debian 12 lacks crictl, so today the peer line says so.
set -u
# The real backend sets up a bridge, taps and iptables rules: keep them in a network
# namespace of this script's own.
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -- bash "$0" "$@"
ip link set lo up
BUILD=${BUILD:-build}
BACKEND=${BACKEND:-test}
IMAGE=${IMAGE:-localhost:5000/hello:v1}
N=${N:-20}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE_DIR=$BUILD/node
if [ ! -d "$NODE_DIR/node_modules/@grpc/grpc-js" ]; then
	mkdir -p "$NODE_DIR"
	(cd "$NODE_DIR" && npm install --no-audit --no-fund --silent @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1) >/dev/null 2>&1 ||
		{ echo "bench-cri: npm install of @grpc/grpc-js failed"; exit 1; }
fi
T=$(mktemp -d /tmp/kumo-bench-cri.XXXXXX)
"$BUILD/bin/kumod" --socket "$T/kumo.sock" --root "$T/root" --backend "$BACKEND" --log-level warn 2>"$T/kumod.log" &
KPID=$!
trap 'kill -TERM $KPID 2>/dev/null; wait $KPID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do "$BUILD/bin/kumo-crictl" --socket "$T/kumo.sock" Version >/dev/null 2>&1 && break; sleep 0.05; done
echo "kumo (kumod, backend $BACKEND$([ "$BACKEND" = test ] && echo ': fake VMs, CRI overhead only'), $N pods, image $IMAGE):"
if command -v containerd >/dev/null && command -v crictl >/dev/null; then
	echo "peer: containerd is installed but its runner is not written yet"
else
	echo "peer: containerd + crictl not installed here (Debian 12 has no crictl); see HOST-NOTES.md for a hand-measured figure"
fi
NODE_PATH=$(cd "$NODE_DIR/node_modules" && pwd) node "$HERE/bench-cri.js" "$T/kumo.sock" "$HERE/../../cri/api.proto" "$T/logs" "$IMAGE" "$N"
