#!/usr/bin/env bash
# tests/bench/bench-podnet.sh - `make bench-podnet`: how long a pod network takes to set
# up through CNI (vmm_podnet_setup: record, namespace, CNI ADD with Debian's plugins,
# tap + redirect), median of N (default 20), with its parts measured alone (namespace,
# the plugins' ADD, tap + redirect); and, side by side on the SAME network list,
# containerd's RunPodSandbox (namespace + the same ADD + the pause container) when
# containerd and tests/lib/containerd.sh (or CONTAINERD_LIB=path) and the pause image
# layout (LINUX_IMAGES, `make linux-images`) are there. Runs in namespaces of its own.
# Prints `podnet-setup-median-ms X` and, with the peer, `containerd-runp-median-ms Y`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
BUILD=${BUILD:-build}
N=${N:-20}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TOOL=$ROOT/$BUILD/tests/support/podnet-tool
CRICTL=$ROOT/$BUILD/bin/kumo-crictl
CTRD_LIB=${CONTAINERD_LIB:-$ROOT/tests/lib/containerd.sh}
T=$(mktemp -d /tmp/kumo-bench-podnet.XXXXXX)
PEER=0
cleanup() {
	if [ $PEER = 1 ]; then containerd_stop; registry_stop; fi
	umount -l "$T/netns" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
median() { sort -n | awk '{a[NR] = $1} END {print a[int(NR / 2) + 1]}'; }
now_ns() { date +%s%N; }

# The peer first: its network list is the one both use.
if command -v containerd >/dev/null && [ -f "$CTRD_LIB" ] && [ -x "$CRICTL" ]; then
	# shellcheck source=../lib/registry.sh
	. "$ROOT/tests/lib/registry.sh"
	# shellcheck source=/dev/null
	. "$CTRD_LIB"
	if registry_start open "$T/reg" && containerd_start "$T/ctrd" "127.0.0.1:$REG_PORT" &&
		linux_images_push "127.0.0.1:$REG_PORT" pause; then
		PEER=1
		LIST=$(ls "$T/ctrd/cni/"*.conflist | head -1)
	else
		echo "peer: containerd did not start, or the pause image is not built (make linux-images)"
	fi
else
	echo "peer: containerd, $CTRD_LIB or kumo-crictl missing: the plugins' own time stands in for it"
fi
if [ $PEER = 0 ]; then
	mkdir -p "$T/net.d"
	"$TOOL" default-conf "$T/net.d" 10.97.0.0/16 >/dev/null
	LIST=$T/default.conflist
	jq --arg d "$T/ipam" '.plugins[0].ipam.dataDir = $d' "$T/net.d/99-kumo.conflist" >"$LIST"
fi
echo "network list: $LIST ($(jq -r '[.plugins[].type] | join(" + ")' "$LIST"))"
tool() { "$TOOL" --conf-file "$LIST" --state-dir "$T/state" --netns-dir "$T/netns" "$@"; }

echo "kumo: vmm_podnet_setup / teardown, $N runs"
tool --name bench --namespace default --uid uid-bench bench "$N" podbench | tee "$T/bench.out" | tail -2
echo "kumo: the parts alone, $N runs"
tool bench-parts "$N" podparts | tail -3

if [ $PEER = 1 ]; then
	c() { "$CRICTL" --socket "$CTRD_SOCK" --timeout 120 "$@"; }
	c PullImage '{"image":{"image":"registry.k8s.io/pause:3.9"}}' >/dev/null
	: >"$T/runp.ms"
	: >"$T/version.ms"
	for i in $(seq "$N"); do
		t0=$(now_ns)
		c Version >/dev/null
		t1=$(now_ns)
		out=$(c RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"b$i\",\"uid\":\"u$i\",\"namespace\":\"default\"},\"log_directory\":\"$T/logs\",\"linux\":{}}}")
		t2=$(now_ns)
		id=$(jq -r .pod_sandbox_id <<<"$out")
		c StopPodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null
		c RemovePodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null
		echo "scale=2; ($t1 - $t0) / 1000000" | bc >>"$T/version.ms"
		echo "scale=2; ($t2 - $t1) / 1000000" | bc >>"$T/runp.ms"
	done
	v=$(median <"$T/version.ms")
	r=$(median <"$T/runp.ms")
	echo "peer: containerd $(containerd --version | awk '{print $3}') + runc, RunPodSandbox (pause) through kumo-crictl, $N runs"
	echo "kumo-crictl-version-median-ms $v   (the client's own cost, included below)"
	echo "containerd-runp-median-ms $r"
fi
