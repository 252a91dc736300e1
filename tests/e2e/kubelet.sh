#!/usr/bin/env bash
# tests/e2e/kubelet.sh - the real-kubelet tier: a standalone kubelet (static pods from a
# folder, no API server) drives kumod over its CRI socket, and every check reads what
# kubelet itself reports (its read-only API's /pods, the logs under /var/log/pods).
# Runs when a kubelet binary is present ($KUBELET, else `kubelet` on PATH); skipped
# with a one-line reason otherwise. kubelet, kumod, the registry and the pods live in a
# network and mount namespace of this script's own (kubelet's /var/log/pods is a
# temporary directory mounted over the real one there).
# Prints `kubelet: N passed, N failed`.
set -u
SUITE=kubelet
if [ -z "${KUMO_E2E_NETNS:-}" ]; then
	KUBELET=${KUBELET:-$(command -v kubelet 2>/dev/null)}
	if [ -z "$KUBELET" ] || [ ! -x "$KUBELET" ]; then
		echo "kubelet: skipped: no kubelet binary (set KUBELET=path or put kubelet on PATH)"
		echo "$SUITE: 0 passed, 0 failed"
		exit 0
	fi
	export KUBELET
	KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
fi
ip link set lo up
BUILD=${BUILD:-build}
BIN=$BUILD/bin
APPS=$BUILD/apps
VM_BACKEND=${VM_BACKEND:-qemu}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/kumo-kubelet.XXXXXX)
SOCK=$T/kumo.sock
KPID=
KLPID=
CRICTL_TIMEOUT=60
NODE=kumo-node
RO_PORT=10255
# shellcheck source=../registry/registry.sh
. "$HERE/../registry/registry.sh"
# shellcheck source=cri-lib.sh
. "$HERE/cri-lib.sh"
# shellcheck source=oci-wasm-image.sh
. "$HERE/oci-wasm-image.sh"

cleanup() {
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
	umount -R "$T/kubelet" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

start_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/root" --vm-backend "$VM_BACKEND" \
		--bridge kumokl0 --pod-cidr 10.78.0.0/24 --log-level debug 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
stop_kumod() { kill -TERM "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; KPID=; }

start_kubelet() {
	"$KUBELET" --config "$T/kubelet.yaml" --root-dir "$T/kubelet" --hostname-override "$NODE" \
		--v=2 >>"$T/kubelet.log" 2>&1 &
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
# podlog NAME CONTAINER [N]: the CRI log file of attempt N (default 0) as kubelet keeps it
podlog() { cat /var/log/pods/default_"$1-$NODE"_*/"$2"/"${3:-0}".log 2>/dev/null; }
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})'
logtext() { sed -E "s/^$ts (stdout|stderr) F //"; }

for a in app_hello app_podtool net_httpd; do
	[ -f "$APPS/$a.wasm" ] || { bad "test app $a" "missing $APPS/$a.wasm (make apps net-apps)"; finish; }
done

# kubelet's pod logs stay in this mount namespace.
mkdir -p /var/log/pods "$T/varlogpods" "$T/manifests" "$T/manifests.tmp"
mount --bind "$T/varlogpods" /var/log/pods || { bad "private /var/log/pods" "mount failed"; finish; }

registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
for a in hello podtool; do
	"$BIN/kumo" push "$APPS/app_$a.wasm" "$REG/$a:v1" >"$T/push.log" 2>&1 || bad "kumo push $a" "$(cat "$T/push.log")"
done
# The web server with a page to serve in /www.
mkdir -p "$T/img/www"
cp "$APPS/net_httpd.wasm" "$T/img/app.wasm"
echo "served by kumo $RANDOM" >"$T/img/www/index.html"
oci_wasm_image "$T/img" /app.wasm /www "$T/oci" && oci_wasm_push "$T/oci" "$REG/web:v1" 2>"$T/push.log" ||
	bad "push the web image" "$(cat "$T/push.log")"

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
address: 127.0.0.1
port: 10250
readOnlyPort: $RO_PORT
healthzPort: 10248
evictionHard:
  memory.available: "0%"
  nodefs.available: "0%"
  imagefs.available: "0%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF

start_kumod
start_kubelet || { bad "kubelet starts" "$(tail -20 "$T/kubelet.log")"; finish; }
ok "kubelet starts and serves /pods"

# ---- a hello pod runs to Succeeded, its log where kubelet keeps logs
manifest hello "apiVersion: v1
kind: Pod
metadata: {name: hello, namespace: default}
spec:
  restartPolicy: Never
  containers:
  - name: hello
    image: $REG/hello:v1"
if wait_pod hello '.status.phase == "Succeeded"' 180; then ok "hello pod Succeeded"; else bad "hello pod Succeeded" "$(jq -c .status <<<"$POD")"; fi
eq "hello exit code" "$(ctr hello | jq -r .state.terminated.exitCode)" 0
eq "hello log in /var/log/pods" "$(podlog hello hello | logtext)" "hello, world"

stop_kubelet
# kumod never answered with an error kubelet did not cause.
errs=$(grep -E 'from runtime service failed' "$T/kubelet.log" | grep -vE "${PROVOKED:-^$}")
eq "no unprovoked runtime errors in kubelet's log" "$errs" ""
[ $fail -ne 0 ] && { tail -40 "$T/kumod.log"; grep -E '^E' "$T/kubelet.log" | tail -20; }
finish
