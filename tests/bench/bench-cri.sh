#!/usr/bin/env bash
# tests/bench/bench-cri.sh - `make bench-cri`: starts kumod in a temp dir and runs
# bench-cri.js (N=20 pods). BACKEND=real|test (default test until the real backend boots
# VMs: then the numbers are kumod's own CRI overhead, no VM). IMAGE names the image
# (default: app_hello, pushed to a local registry by this script). The peer: Debian's containerd + runc (tests/lib/containerd.sh)
# running busybox `true`, runp+create+start -> exited, median of N, measured by
# kumo-downstream-check (cri/downstream.h's client) when containerd is installed; the pod
# IP (RunPodSandbox -> IP ready, bench-podip.js) of kumod beside containerd on the same CNI
# list, `podip-ratio` kumo/containerd; and the
# mixed node's forwarding cost: the same busybox pods through kumod with containerd
# behind it vs straight to containerd, alternating pod by pod (target <= 1.05x).
#
# Then CreateContainer's own time, before and after (issue 14): the tree at commit
# BEFORE (default ecc7010, the pipeline before it was put in its rooms), built in a
# temporary `git worktree` removed after, against this tree; both kumods with the real
# backend, the same Wasm image (app_hello) from a local registry, the image pulled and
# compiled and the kernel image linked by a warm-up create; N creates, each in a pod of
# its own. The handler's time is kumod's own line for the call (`... CreateContainer ok
# (T ms)` at debug level: from the call's arrival to its answer), median of N; the
# client's round trip is shown next to it. BEFORE_TREE=DIR uses a tree already built at
# BEFORE instead (it is left alone). Prints `create-speedup R` (before / after).
#
# ExecSync (issue 17): a Wasm command (app_hello, its object in the build cache) run in a
# running container of a pod VM (tests/bench/bench-execsync.js), median of N after a
# warm-up, beside containerd's ExecSync of `true` in a busybox container when containerd
# is installed; prints `execsync-ratio R` (kumo / containerd) and the accelerator the pod
# VM ran with. ONLY=exec runs just this.
#
# Last, the pod VM (tests/bench/bench-cri-pod.sh, issue 16): StartContainer -> first log
# line p50/p95 over N containers in one booted pod VM beside per-container VMs, QEMU RSS
# for 1 and 3 containers vs 3 per-container VMs. Closes with `cri-start-p50-ms N`.
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
# namespaces of this script's own, host-local's store included. (The BEFORE tree made
# its own bridge: that stays in the namespace too.)
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
BACKEND=${BACKEND:-test}
N=${N:-20}
BEFORE=${BEFORE:-ecc7010}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NODE_PATH=$(cd "$NODE_DIR/node_modules" && pwd)
export NODE_PATH
T=$(mktemp -d /tmp/kumo-bench-cri.XXXXXX)
BT= # the temporary worktree at BEFORE, when this script made one
KPID=
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/containerd.sh
. "$HERE/../lib/containerd.sh"
# shellcheck source=../lib/oci-wasm-image.sh
. "$HERE/../lib/oci-wasm-image.sh"
cleanup() {
	[ -z "$KPID" ] || { kill -TERM "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; }
	containerd_stop
	registry_stop
	[ -z "$BT" ] || git -C "$ROOT" worktree remove --force "$BT" >/dev/null 2>&1
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	rm -rf "$T"
}
trap cleanup EXIT

kumod_start() { # KUMOD DIR LEVEL [FLAGS...] -> KPID; waits for its socket
	local k=$1 d=$2 l=$3
	shift 3
	"$k" --socket "$d/kumo.sock" --root "$d/root" --log-level "$l" "$@" 2>"$d/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do "$BUILD/bin/kumo-crictl" --socket "$d/kumo.sock" Version >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "bench-cri: $k did not answer on $d/kumo.sock" >&2
	return 1
}

kumod_stop() {
	kill -TERM "$KPID" 2>/dev/null
	wait "$KPID" 2>/dev/null
	KPID=
}

registry_start open "$T/reg" || exit 1
REG=127.0.0.1:$REG_PORT
if ! "$BUILD/bin/kumo" push "$BUILD/apps/app_hello.wasm" "$REG/hello:v1" >"$T/push.log" 2>&1; then
	echo "bench-cri: push of app_hello failed: $(cat "$T/push.log")"
	exit 1
fi
IMAGE=${IMAGE:-$REG/hello:v1}

# The jail's cost (vmm/vmm.h "The jail around QEMU": QEMU's user, seccomp, a cgroup per
# VM): the real kumod on the QEMU backend, --jail off then on, N pods each (app_hello),
# alternating the two kumods twice; CreateContainer's handler time (kumod's own, where
# QEMU is launched) and start -> first log line (bench-cri.js). ONLY=jail runs just this.
jail_cost() {
	local round j d
	echo "the jail's cost: real backend (qemu), $N pods per run, --jail off vs on, two rounds:"
	for round in 1 2; do
		for j in off on; do
			d=$T/jail-$j-$round
			mkdir -p "$d"
			kumod_start "$BUILD/bin/kumod" "$d" debug --jail "$j" --cni-conf-dir "$T/net.d" \
				--netns-dir "$T/netns-jail-$j-$round" || return 1
			node "$HERE/bench-cri.js" "$d/kumo.sock" "$ROOT/cri/api.proto" "$d/logs" "$IMAGE" "$N" \
				>"$d/bench.out" 2>&1
			kumod_stop
			local create start total
			create=$(sed -n 's/.*CreateContainer ok (\([0-9.]*\) ms).*/\1/p' "$d/kumod.log" | sort -n |
				awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
			start=$(sed -n 's/^start -> first log line: *p50 \([0-9.]*\) ms.*/\1/p' "$d/bench.out")
			total=$(sed -n 's/^runp+create+start -> first log line: p50 \([0-9.]*\) ms.*/\1/p' "$d/bench.out")
			printf '  round %d jail %-3s CreateContainer handler p50 %6s ms   start -> first line p50 %6s ms   runp+create+start -> first line p50 %6s ms\n' \
				"$round" "$j" "${create:-?}" "${start:-?}" "${total:-?}"
			echo "jail-$j-create-ms ${create:-?}" >>"$T/jail.out"
			echo "jail-$j-total-ms ${total:-?}" >>"$T/jail.out"
		done
	done
	awk '{ s[$1] += $2; n[$1]++ } END {
		printf "jail-cost-create-ms %.1f (on - off, mean of the rounds)\n", s["jail-on-create-ms"] / n["jail-on-create-ms"] - s["jail-off-create-ms"] / n["jail-off-create-ms"]
		printf "jail-cost-total-ms %.1f (on - off, mean of the rounds)\n", s["jail-on-total-ms"] / n["jail-on-total-ms"] - s["jail-off-total-ms"] / n["jail-off-total-ms"] }' "$T/jail.out"
}

# ExecSync in a pod VM: an image whose app waits (podtool) and which carries
# /bin/hello.wasm; the command is that module.
exec_kumo() {
	local d=$T/exec
	mkdir -p "$d/img/bin" "$d/logs"
	cp "$BUILD/apps/app_podtool.wasm" "$d/img/app.wasm"
	cp "$BUILD/apps/app_hello.wasm" "$d/img/bin/hello.wasm"
	oci_wasm_image "$d/img" /app.wasm / "$d/oci" && oci_wasm_push "$d/oci" "$REG/exec-bench:v1" 2>"$d/push.log" ||
		{ echo "bench-cri: push of the exec image failed: $(cat "$d/push.log")"; return 1; }
	kumod_start "$BUILD/bin/kumod" "$d" info --cni-conf-dir "$T/net.d" --netns-dir "$T/netns-exec" || return 1
	echo "ExecSync in a pod VM: /bin/hello.wasm (app_hello, cached object) in a running container, $N calls:"
	node "$HERE/bench-execsync.js" "$d/kumo.sock" "$ROOT/cri/api.proto" "$d/logs" "$REG/exec-bench:v1" "$N" kumo \
		'["sleep","3600000"]' '["/bin/hello.wasm"]' >"$T/exec-kumo.out" 2>&1
	local r=$?
	kumod_stop
	tail -1 "$T/exec-kumo.out"
	echo "  accelerator: $(grep -o 'accel: [^(]*([^)]*)' "$d/kumod.log" | head -1 | sed 's/^accel: //')"
	return $r
}
# The same on containerd (started by the caller): `true` in a busybox container.
exec_ctrd() {
	mkdir -p "$T/exec-ctrd-logs"
	echo "peer: containerd + runc, ExecSync of \`true\` in a running busybox container, $N calls:"
	node "$HERE/bench-execsync.js" "$CTRD_SOCK" "$ROOT/cri/api.proto" "$T/exec-ctrd-logs" \
		docker.io/library/busybox:latest "$N" containerd '["sleep","3600"]' '["true"]' >"$T/exec-ctrd.out" 2>&1
	tail -1 "$T/exec-ctrd.out"
	local k c
	k=$(awk '/^kumo-execsync-median-ms/ { print $2 }' "$T/exec-kumo.out" 2>/dev/null)
	c=$(awk '/^containerd-execsync-median-ms/ { print $2 }' "$T/exec-ctrd.out")
	[ -n "$k" ] && [ -n "$c" ] && echo "execsync-ratio $(echo "scale=2; $k / $c" | bc) (kumo / containerd, median of $N)"
}

mkdir -p "$T/net.d"
if [ "${ONLY:-}" = jail ]; then
	jail_cost
	exit
fi
if [ "${ONLY:-}" = exec ]; then
	exec_kumo
	rc=$?
	if ! command -v containerd >/dev/null; then
		echo "peer: containerd not installed (deploy/install-deps.sh installs it)"
	elif linux_images_push "$REG" pause busybox && CTRD_CNI_CONF_DIR=$T/net.d containerd_start "$T/ctrd" "$REG"; then
		exec_ctrd || rc=1
	else
		echo "peer: containerd did not start"
	fi
	exit $rc
fi

# The test backend is the test daemon's (kumod itself runs only the real stages).
KUMOD=$BUILD/bin/kumod
[ "$BACKEND" = test ] && KUMOD=$BUILD/tests/kumod-fake
# The real kumod of this tree takes its pods' networks from CNI, on the default list in
# this script's conf dir (the BEFORE tree's makes its own bridge).
CNI=(--cni-conf-dir "$T/net.d" --netns-dir "$T/netns")
mkdir -p "$T/main" "$T/net.d"
if [ "$BACKEND" = test ]; then kumod_start "$KUMOD" "$T/main" warn || exit 1
else kumod_start "$KUMOD" "$T/main" warn "${CNI[@]}" || exit 1; fi
echo "kumo (kumod, backend $BACKEND$([ "$BACKEND" = test ] && echo ': fake VMs, CRI overhead only'), $N pods, image $IMAGE):"
node "$HERE/bench-cri.js" "$T/main/kumo.sock" "$ROOT/cri/api.proto" "$T/main/logs" "$IMAGE" "$N"
rc=$?
kumod_stop

# The pod IP: RunPodSandbox -> IP in PodSandboxStatus, on a real kumod (network only, no
# VM) and on containerd below, both on the same network list (kumod's default list in
# $T/net.d: Debian's bridge + host-local + portmap + loopback) and address pool.
mkdir -p "$T/podip"
if kumod_start "$BUILD/bin/kumod" "$T/podip" warn --cni-conf-dir "$T/net.d" --netns-dir "$T/netns2"; then
	echo
	echo "pod IP: RunPodSandbox -> IP ready, $N pods in a row, network list $(jq -r '[.plugins[].type] | join(" + ")' "$T/net.d/99-kumo.conflist" 2>/dev/null):"
	node "$HERE/bench-podip.js" "$T/podip/kumo.sock" "$ROOT/cri/api.proto" "$T/podip-logs" "$N" kumo |
		tee "$T/podip-kumo.out" | tail -1
	kumod_stop
fi

# create_time KUMOD TAG [FLAGS...] -> "HANDLER_P50 RTT_P50" (ms) on stdout
create_time() {
	local d=$T/create-$2 k=$1 rtt handler
	shift 2
	mkdir -p "$d"
	kumod_start "$k" "$d" debug "$@" || return 1
	rtt=$(node "$HERE/bench-cri.js" "$d/kumo.sock" "$ROOT/cri/api.proto" "$d/logs" "$REG/hello:v1" "$N" create |
		sed -n 's/^create-rtt-ms //p')
	kumod_stop
	# The first CreateContainer is the warm-up: the last N are the measured ones.
	handler=$(sed -n 's/.*CreateContainer ok (\([0-9.]*\) ms).*/\1/p' "$d/kumod.log" | tail -n "$N" |
		sort -n | awk -v n="$N" 'NR == int((n + 1) / 2) { print }')
	if [ -z "$rtt" ] || [ -z "$handler" ]; then
		echo "bench-cri: no CreateContainer figures from $1 (its log: $d/kumod.log)" >&2
		tail -n 5 "$d/kumod.log" >&2
		return 1
	fi
	echo "$handler $rtt"
}

echo "CreateContainer, warm image, real backend, median of $N (handler: kumod's own time):"
BEFORE_ID=$(git -C "$ROOT" rev-parse --short "$BEFORE^{commit}" 2>/dev/null)
if [ -n "${BEFORE_TREE:-}" ]; then
	BDIR=$BEFORE_TREE
elif [ -z "$BEFORE_ID" ]; then
	echo "bench-cri: no commit \`$BEFORE\` in $ROOT" >&2
	BDIR=
else
	# The before tree, built here; the fetched kernel sources (lwIP, cJSON) come from
	# this tree's build so that nothing is downloaded.
	BT=$T/before
	BDIR=$BT
	echo "  (building $BEFORE_ID in a temporary worktree)"
	if ! { git -C "$ROOT" worktree add --detach "$BT" "$BEFORE_ID" >/dev/null 2>&1 &&
		mkdir -p "$BT/build" && cp -a "$BUILD/third_party" "$BT/build/" &&
		make -C "$BT" -j2 build/bin/kumod kernel >"$T/before-make.log" 2>&1; }; then
		echo "bench-cri: building $BEFORE_ID failed:" >&2
		tail -n 20 "$T/before-make.log" >&2
		BDIR=
	fi
fi
if [ -n "$BDIR" ] && before=$(create_time "$BDIR/build/bin/kumod" before) &&
	after=$(create_time "$BUILD/bin/kumod" after --cni-conf-dir "$T/net.d" --netns-dir "$T/netns3"); then
	read -r bh br <<<"$before"
	read -r ah ar <<<"$after"
	printf '  %-22s handler p50 %7.1f ms   client round trip p50 %7.1f ms\n' \
		"before ($BEFORE_ID)" "$bh" "$br" "after (this tree)" "$ah" "$ar"
	echo "create-speedup $(awk -v b="$bh" -v a="$ah" 'BEGIN { printf "%.1f", b / a }')"
else
	rc=1
fi

echo
jail_cost || rc=1
echo
exec_kumo || rc=1
echo

if ! command -v containerd >/dev/null; then
	echo "peer: containerd not installed (deploy/install-deps.sh installs it)"
elif linux_images_push "$REG" pause busybox && CTRD_CNI_CONF_DIR=$T/net.d containerd_start "$T/ctrd" "$REG"; then
	echo "peer: containerd $(containerd --version | awk '{print $3}') + runc, on the same network list:"
	node "$HERE/bench-podip.js" "$CTRD_SOCK" "$ROOT/cri/api.proto" "$T/podip-ctrd-logs" "$N" containerd |
		tee "$T/podip-ctrd.out" | tail -1
	k=$(awk '/^kumo-podip-median-ms/ { print $2 }' "$T/podip-kumo.out" 2>/dev/null)
	c=$(awk '/^containerd-podip-median-ms/ { print $2 }' "$T/podip-ctrd.out")
	[ -n "$k" ] && [ -n "$c" ] && echo "podip-ratio $(echo "scale=2; $k / $c" | bc) (kumo / containerd; target <= 1.2)"
	mkdir -p "$T/peer-logs"
	echo
	echo "peer: containerd + runc, busybox \`true\`, $N pods:"
	"$BUILD/tests/e2e/kumo-downstream-check" "$CTRD_ENDPOINT" --logdir "$T/peer-logs" images "bench:$N" |
		grep -E '^(bench|FAIL)' | sed 's/^bench: /peer /'
	# The forwarding cost of a mixed node: the same busybox pods through kumod (the real
	# one, containerd behind it) and straight to containerd, alternating pod by pod.
	"$BUILD/bin/kumod" --socket "$T/mixed.sock" --root "$T/mixed-root" --downstream-endpoint "$CTRD_ENDPOINT" \
		--cni-conf-dir "$T/net.d" --netns-dir "$T/netns-mixed" --log-level "${MIXED_LOG_LEVEL:-warn}" 2>"$T/mixed.log" &
	MPID=$!
	for _ in $(seq 200); do "$BUILD/bin/kumo-crictl" --socket "$T/mixed.sock" Version >/dev/null 2>&1 && break; sleep 0.05; done
	echo "mixed node: busybox \`true\` through kumod (containerd behind it) vs straight to containerd, $N pods each:"
	"$BUILD/tests/e2e/kumo-downstream-check" "$CTRD_ENDPOINT" --logdir "$T/peer-logs" --vs "unix://$T/mixed.sock" "bench:$N" |
		grep -E '^(bench|FAIL)' | sed 's/^bench: /mixed /'
	kill -TERM $MPID; wait $MPID 2>/dev/null
	[ -z "${MIXED_LOG:-}" ] || cp "$T/mixed.log" "$MIXED_LOG"
	echo
	exec_ctrd || rc=1
else
	echo "peer: containerd did not start"
fi

# The pod VM (issue 16): StartContainer -> first log line in one booted pod VM beside
# per-container VMs, and QEMU's RSS; closes with `cri-start-p50-ms N`.
echo
bash "$HERE/bench-cri-pod.sh" || rc=1
exit $rc
