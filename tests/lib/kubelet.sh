# tests/lib/kubelet.sh - what the real-kubelet tiers share (sourced; the script sets
# SUITE first): a standalone kubelet ($KUBELET: static pods from a folder, no API server)
# in front of a kumod of its own, a local registry holding the test images, and helpers
# that read pod state from kubelet's read-only API (/pods) and logs from /var/log/pods.
# Everything runs in a network and mount namespace of the script's own
# (kubelet_enter_namespaces); kubelet's /var/log/pods and /var/log/containers are
# temporary directories mounted over the real ones there. The namespace gets an
# interface (a veth pair) with a default route, so kubelet finds a node address.

# kubelet_enter_namespaces "$0" "$@": without a kubelet binary, prints the reason and
# the result line and exits; otherwise re-runs the script in a network and mount
# namespace of its own (and returns there).
kubelet_enter_namespaces() {
	[ -z "${KUMO_E2E_NETNS:-}" ] || return 0
	KUBELET=${KUBELET:-$(command -v kubelet 2>/dev/null)}
	if [ -z "$KUBELET" ] || [ ! -x "$KUBELET" ]; then
		echo "$SUITE: skipped: no kubelet binary (set KUBELET=path or put kubelet on PATH)"
		echo "$SUITE: 0 passed, 0 failed"
		exit 0
	fi
	export KUBELET
	KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$@"
}

BUILD=${BUILD:-build}
BIN=$BUILD/bin
APPS=$BUILD/apps
VM_BACKEND=${VM_BACKEND:-qemu}
KHERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KPID=
KLPID=
CRICTL_TIMEOUT=60
NODE=kumo-node
RO_PORT=10255
# shellcheck source=registry.sh
. "$KHERE/registry.sh"
# shellcheck source=../lib/cri.sh
. "$KHERE/cri.sh"
# shellcheck source=oci-wasm-image.sh
. "$KHERE/oci-wasm-image.sh"

kubelet_cleanup() {
	stop_kubelet
	# Pods first (their VMs and taps), then kumod.
	if [ -n "$KPID" ]; then
		for p in $(crictl ListPodSandbox '{}' 2>/dev/null | jq -r '.items[]?.id'); do
			crictl StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
			crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
		done
		kill -9 "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	fi
	registry_stop
	# What is still mounted under $T (kubelet's volumes, kumod's staged entries) goes
	# before the files: rm must never reach a volume through a bind.
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}

# KUMOD_ARGS (an array the script may set): more kumod flags (e.g. a downstream runtime).
# KUBELET_ARGS (an array): more kubelet flags (e.g. --kubeconfig to join an API server);
# KUBELET_ADDRESS: the address kubelet serves on (default 127.0.0.1; an API server
# reaches it at the node's address).
# POD_VM (default true, kumod's default): a pod is one VM; false: each container its own.
# The instant in kubelet's log-line form (klog: MMDD HH:MM:SS.micro) as one number.
klog_now() { date +%m%d%H%M%S%6N; }
start_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/root" --vm-backend "$VM_BACKEND" --pod-vm "${POD_VM:-true}" \
		--cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --pod-cidr 10.78.0.0/24 \
		--log-level debug ${KUMOD_ARGS[@]+"${KUMOD_ARGS[@]}"} 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
	# A call kubelet made while the test had kumod down fails Unavailable: provoked. It
	# may end a second after kumod serves again (kubelet's connection backs off).
	if [ -n "${KUMOD_DOWN_SINCE:-}" ]; then
		sleep 1
		echo "$KUMOD_DOWN_SINCE $(klog_now)" >>"$T/kumod-down"
		KUMOD_DOWN_SINCE=
	fi
}
# stop_kumod [SIGNAL]: SIGTERM by default
stop_kumod() {
	KUMOD_DOWN_SINCE=$(klog_now)
	kill -"${1:-TERM}" "$KPID" 2>/dev/null
	wait "$KPID" 2>/dev/null
	KPID=
}

start_kubelet() {
	"$KUBELET" --config "$T/kubelet.yaml" --root-dir "$T/kubelet" --hostname-override "$NODE" \
		--v=2 ${KUBELET_ARGS[@]+"${KUBELET_ARGS[@]}"} >>"$T/kubelet.log" 2>&1 &
	KLPID=$!
	for _ in $(seq 300); do
		curl -sf "http://127.0.0.1:$RO_PORT/pods" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
stop_kubelet() {
	[ -n "$KLPID" ] || return 0
	kill -TERM "$KLPID" 2>/dev/null
	wait "$KLPID" 2>/dev/null
	KLPID=
}

# kubelet_setup IMAGE...: temp dir, private /var/log/pods, the registry with the test
# images (app_NAME.wasm pushed as NAME:v1; `web` is net_httpd with a page in /www),
# kubelet's configuration, then kumod and kubelet started. Sets T, SOCK, REG. A script
# that defines kubelet_setup_hook has it called just before kumod starts (the registry
# is up then).
kubelet_setup() {
	ip link set lo up
	T=$(mktemp -d /tmp/kumo-kubelet.XXXXXX)
	SOCK=$T/kumo.sock
	mkdir -p /var/log/pods /var/log/containers "$T/varlogpods" "$T/varlogcontainers" \
		"$T/manifests" "$T/manifests.tmp"
	mount --bind "$T/varlogpods" /var/log/pods && mount --bind "$T/varlogcontainers" /var/log/containers ||
		{ bad "private /var/log/pods and /var/log/containers" "mount failed"; finish; }
	# Pods take their network from CNI: host-local's store private to this namespace.
	mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni ||
		{ bad "a private /var/lib/cni" "mount failed"; finish; }
	ip link add kumoklnode0 type veth peer name kumoklnode1 &&
		ip addr add 192.0.2.10/24 dev kumoklnode0 && ip link set kumoklnode0 up &&
		ip link set kumoklnode1 up && ip route add default via 192.0.2.1 ||
		{ bad "a node address for kubelet" "veth pair failed"; finish; }
	registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
	REG=127.0.0.1:$REG_PORT
	local a
	for a in "$@"; do
		if [ "$a" = web ]; then
			mkdir -p "$T/img/www"
			cp "$APPS/net_httpd.wasm" "$T/img/app.wasm"
			echo "served by kumo $RANDOM" >"$T/img/www/index.html"
			oci_wasm_image "$T/img" /app.wasm /www "$T/oci" && oci_wasm_push "$T/oci" "$REG/web:v1" 2>"$T/push.log" ||
				bad "push the web image" "$(cat "$T/push.log")"
		else
			"$BIN/kumo" push "$APPS/app_$a.wasm" "$REG/$a:v1" >"$T/push.log" 2>&1 ||
				bad "kumo push $a" "$(cat "$T/push.log")"
		fi
	done
	cat >"$T/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$SOCK
imageServiceEndpoint: unix://$SOCK
staticPodPath: $T/manifests
fileCheckFrequency: 1s
syncFrequency: 5s
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
address: ${KUBELET_ADDRESS:-127.0.0.1}
port: 10250
readOnlyPort: $RO_PORT
healthzPort: 10248
containerLogMaxSize: ${KUBELET_LOG_MAX_SIZE:-10Mi}
containerLogMaxFiles: 2
evictionHard:
  memory.available: "0%"
  nodefs.available: "0%"
  imagefs.available: "0%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
	[ "$(type -t kubelet_setup_hook)" != function ] || kubelet_setup_hook
	start_kumod
	start_kubelet || { bad "kubelet starts" "$(tail -20 "$T/kubelet.log")"; finish; }
	ok "kubelet starts and serves /pods"
}

# pods: kubelet's view of every pod (its read-only API)
pods() { curl -sf "http://127.0.0.1:$RO_PORT/pods" 2>/dev/null || echo '{}'; }
# pod NAME: kubelet's status of the static pod NAME (its name on the node: NAME-NODE)
pod() { pods | jq -c --arg n "$1-$NODE" '.items[]? | select(.metadata.name == $n)'; }
# wait_pod NAME JQ-CONDITION SECONDS: waits until the condition holds on pod NAME; the
# pod's JSON lands in $POD
wait_pod() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		POD=$(pod "$1")
		[ -n "$POD" ] && [ "$(jq -r "$2" <<<"$POD" 2>/dev/null)" = true ] && return 0
		sleep 0.2
	done
	[ -n "$POD" ] || POD='{}'
	return 1
}
# ctr NAME [init]: the status of container NAME in $POD
ctr() {
	local f=containerStatuses
	[ "${2:-}" = init ] && f=initContainerStatuses
	jq -c --arg c "$1" ".status.$f[]? | select(.name == \$c)" <<<"$POD"
}
# manifest NAME YAML: makes NAME a static pod (kubelet picks it up within a second)
manifest() { printf '%s\n' "$2" >"$T/manifests.tmp/$1.yaml" && mv "$T/manifests.tmp/$1.yaml" "$T/manifests/$1.yaml"; }
unmanifest() { rm -f "$T/manifests/$1.yaml"; }
# podlogdir NAME CONTAINER: where kubelet keeps the container's log files
podlogdir() { echo /var/log/pods/default_"$1-$NODE"_*/"$2"; }
# podlog NAME CONTAINER [N]: the CRI log file of restart N (default 0)
podlog() { cat /var/log/pods/default_"$1-$NODE"_*/"$2"/"${3:-0}".log 2>/dev/null; }
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})'
logtext() { sed -E "s/^$ts (stdout|stderr) F //"; }
# down_at KLOG-LINE: true when the line is an Unavailable error logged while the test had
# kumod down (stop_kumod .. start_kumod)
down_at() {
	local at from to
	case $1 in *"code = Unavailable"*) ;; *) return 1 ;; esac
	[ -f "$T/kumod-down" ] || return 1
	at=$(sed -E 's/^[EWI]([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6}).*/\1\2\3\4\5/' <<<"$1")
	[[ $at =~ ^[0-9]{16}$ ]] || return 1
	while read -r from to; do
		((10#$at >= 10#$from && 10#$at <= 10#$to)) && return 0
	done <"$T/kumod-down"
	return 1
}
# runtime_errors: kubelet's log lines about a CRI call kumod failed, minus those matching
# the extended regex $PROVOKED (the ones a check asked for), those while the test had
# kumod down, and those kubelet caused itself: ContainerStatus NotFound for a container
# kubelet had already removed (its pod_container_deletor asks about containers its own
# RemoveContainer took).
runtime_errors() {
	local line id
	grep -E 'from runtime service failed' "$T/kubelet.log" | grep -vE "${PROVOKED:-^$}" |
		while IFS= read -r line; do
			down_at "$line" && continue
			id=$(sed -n 's/.*"ContainerStatus from runtime service failed" err="rpc error: code = NotFound .* containerID="\([0-9a-f]*\)".*/\1/p' <<<"$line")
			if [ -n "$id" ] && grep -q "\"RemoveContainer\" containerID=\"$id\"" "$T/kubelet.log"; then
				continue
			fi
			echo "$line"
		done
}
