#!/usr/bin/env bash
# tests/e2e/cri-node.sh - runs tests/e2e/cri-node.js (an independent gRPC client,
# @grpc/grpc-js from npm, installed into build/node, never committed) against kumod on
# the test backend. Prints `cri-node: N passed, N failed`.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE_DIR=$BUILD/node
if [ ! -d "$NODE_DIR/node_modules/@grpc/grpc-js" ] || [ ! -d "$NODE_DIR/node_modules/@grpc/proto-loader" ]; then
	mkdir -p "$NODE_DIR"
	(cd "$NODE_DIR" && npm install --no-audit --no-fund --silent @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1) >/dev/null 2>&1 ||
		{ echo "npm install of @grpc/grpc-js failed"; echo "cri-node: 0 passed, 1 failed"; exit 1; }
fi
T=$(mktemp -d /tmp/kumo-cri-node.XXXXXX)
"$BUILD/tests/kumod-fake" --socket "$T/kumo.sock" --root "$T/root" 2>"$T/kumod.log" &
KPID=$!
trap 'kill -9 $KPID 2>/dev/null; wait $KPID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do "$BUILD/bin/kumo-crictl" --socket "$T/kumo.sock" Version >/dev/null 2>&1 && break; sleep 0.05; done
mkdir -p "$T/logs"
NODE_PATH=$(cd "$NODE_DIR/node_modules" && pwd) node "$HERE/cri-node.js" "$T/kumo.sock" "$HERE/../../cri/api.proto" "$T/logs"
rc=$?
[ $rc -ne 0 ] && tail -20 "$T/kumod.log"
exit $rc
