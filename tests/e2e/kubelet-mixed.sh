#!/usr/bin/env bash
# tests/e2e/kubelet-mixed.sh - the real-kubelet tier of a mixed node (issue 22): kubelet
# v1.28 standalone in front of kumod with Debian's containerd behind it, two static pods
# that name no runtime class (kubelet cannot resolve one without an API server): busybox,
# which kumod forwards to containerd (runc), and a Wasm pod that the annotation
# kumo.dev/runtime: kumo makes a kumo VM. Both running as kubelet reports them, their
# logs right under /var/log/pods, and kubelet's sync loop without an error about either
# for 60 s; deleting both manifests removes both pods from both runtimes.
# Runs when a kubelet binary is present ($KUBELET, else `kubelet` on PATH); skipped with
# a one-line reason otherwise. Prints `kubelet-mixed: N passed, N failed`.
set -u
SUITE=kubelet-mixed
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/kubelet.sh
. "$HERE/../lib/kubelet.sh"
kubelet_enter_namespaces "$0" "$@"
# shellcheck source=../lib/containerd.sh
. "$HERE/../lib/containerd.sh"
QUIET_S=${QUIET_S:-60}

cleanup() {
	stop_kubelet
	if [ -n "$KPID" ]; then
		for p in $(crictl ListPodSandbox '{}' 2>/dev/null | jq -r '.items[]?.id'); do
			crictl StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
			crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
		done
	fi
	containerd_stop
	kubelet_cleanup
}
trap cleanup EXIT

[ -f "$APPS/app_podtool.wasm" ] || { bad "test app podtool" "missing $APPS/app_podtool.wasm (make apps)"; finish; }
# containerd comes up once the registry holds its images; kumod is started in front of it.
kubelet_setup_hook() {
	linux_images_push "$REG" pause busybox && ok "push the busybox and pause images" || bad "push the Linux images" "failed"
	containerd_start "$T/ctrd" "$REG" && ok "containerd starts" || bad "containerd starts" "see above"
	KUMOD_ARGS=(--downstream-endpoint "$CTRD_ENDPOINT")
}
kubelet_setup podtool
eq "kumod has containerd behind it" "$(crictl Status '{"verbose":true}' | jq -r .info.info | jq -r .downstream.state)" present

manifest busybox "apiVersion: v1
kind: Pod
metadata: {name: busybox, namespace: default}
spec:
  containers:
  - name: sh
    image: docker.io/library/busybox:latest
    command: [sh, -c, 'echo hello from busybox; while true; do sleep 1; done']"
manifest wasm "apiVersion: v1
kind: Pod
metadata:
  name: wasm
  namespace: default
  annotations: {kumo.dev/runtime: kumo}
spec:
  containers:
  - name: app
    image: $REG/podtool:v1
    args: [print, hello from wasm, sleep, '3600000']"

running='.status.phase == "Running" and ([.status.containerStatuses[]?.state.running] | all) and (.status.containerStatuses | length) == 1'
if wait_pod busybox "$running" 180; then ok "busybox pod Running"; else bad "busybox pod Running" "$(jq -c .status <<<"$POD")"; fi
BUSYBOX_CID=$(ctr sh | jq -r '.containerID' | sed 's#^containerd://##; s#^kumo://##')
if wait_pod wasm "$running" 180; then ok "Wasm pod Running"; else bad "Wasm pod Running" "$(jq -c .status <<<"$POD")"; fi
WASM_CID=$(ctr app | jq -r '.containerID' | sed 's#^[a-z]*://##')

# Which runtime holds which pod: containerd has busybox, kumo the Wasm pod.
ctrd() { "$BIN/kumo-crictl" --socket "$CTRD_SOCK" --timeout 60 "$@"; }
eq "containerd runs the busybox container" "$(ctrd ContainerStatus "{\"container_id\":\"$BUSYBOX_CID\"}" 2>/dev/null | jq -r .status.state)" CONTAINER_RUNNING
eq "the Wasm container is kumo's (containerd does not know it)" "$(ctrd ContainerStatus "{\"container_id\":\"$WASM_CID\"}" >/dev/null 2>&1 && echo containerd || echo kumo)" kumo
[ -f "$T/root/containers/$WASM_CID.json" ] && ok "kumod holds the Wasm container's record" || bad "kumod holds the Wasm container's record" "no $T/root/containers/$WASM_CID.json"
eq "kumod lists both pods" "$(crictl ListPodSandbox '{"filter":{"state":{"state":"SANDBOX_READY"}}}' | jq '[.items[].metadata.name | select(. == "busybox-'$NODE'" or . == "wasm-'$NODE'")] | length')" 2

for _ in $(seq 50); do podlog busybox sh | grep -q hello && break; sleep 0.2; done
eq "busybox log in /var/log/pods (written by containerd)" "$(podlog busybox sh | logtext)" "hello from busybox"
for _ in $(seq 50); do podlog wasm app | grep -q hello && break; sleep 0.2; done
eq "Wasm log in /var/log/pods (written by kumo)" "$(podlog wasm app | logtext)" "hello from wasm"
eq "busybox log line is CRI-formatted" "$(podlog busybox sh | grep -cvE "^$ts stdout F ")" 0
eq "Wasm log line is CRI-formatted" "$(podlog wasm app | grep -cvE "^$ts stdout F ")" 0

# kubelet's sync loop for a minute: no error about either pod, no restart.
mark=$(wc -l <"$T/kubelet.log")
sleep "$QUIET_S"
errs=$(tail -n +"$mark" "$T/kubelet.log" | grep -E '^E' | grep -E 'busybox|wasm|runtime service failed|Error syncing pod' || true)
eq "no kubelet errors about either pod for ${QUIET_S} s" "$errs" ""
wait_pod busybox "$running" 5 && eq "busybox never restarted" "$(ctr sh | jq -r .restartCount)" 0 || bad "busybox still Running" "$(jq -c .status <<<"$POD")"
wait_pod wasm "$running" 5 && eq "the Wasm pod never restarted" "$(ctr app | jq -r .restartCount)" 0 || bad "the Wasm pod still Running" "$(jq -c .status <<<"$POD")"
eq "no runtime call of kubelet's failed" "$(runtime_errors)" ""

# The pods go away with their manifests, from both runtimes.
unmanifest busybox
unmanifest wasm
gone=false
for _ in $(seq 300); do
	[ -z "$(pod busybox)" ] && [ -z "$(pod wasm)" ] &&
		[ "$(crictl ListPodSandbox '{}' | jq '.items | length')" = 0 ] && { gone=true; break; }
	sleep 0.2
done
eq "both pods removed (kubelet's view and kumod's)" "$gone" true
eq "containerd has no pod left" "$(ctrd ListPodSandbox '{}' | jq '[.items[] | select(.state == "SANDBOX_READY")] | length')" 0
if [ $fail -ne 0 ]; then echo "--- kubelet log (errors)"; grep -E '^E' "$T/kubelet.log" | tail -20; echo "--- kumod log"; tail -20 "$T/kumod.log"; fi
finish
