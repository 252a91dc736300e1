#!/usr/bin/env bash
# tests/e2e/kubelet-volumes.sh - live volumes under a real kubelet (the real-kubelet
# tier's second half, kubelet-lib.sh): what the app writes to a writable emptyDir or
# hostPath volume is on the host while the pod runs, an emptyDir keeps it across a
# container restart (as on Linux), and a read-only volume stays read-only. Needs host
# directories shared with the VM live (not copied at CreateContainer): registered in
# make test once they are. Runs when a kubelet binary is present ($KUBELET, else
# `kubelet` on PATH); skipped with a one-line reason otherwise.
# Prints `kubelet-volumes: N passed, N failed`.
set -u
SUITE=kubelet-volumes
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=kubelet-lib.sh
. "$HERE/kubelet-lib.sh"
kubelet_enter_namespaces "$0" "$@"
trap kubelet_cleanup EXIT

[ -f "$APPS/app_podtool.wasm" ] || { bad "test app podtool" "missing $APPS/app_podtool.wasm (make apps)"; finish; }
kubelet_setup podtool

mkdir -p "$T/hostdir"
# Attempt 0 finds no note, leaves one in the emptyDir and the hostPath and exits 1;
# attempt 1 (restartPolicy Always) finds attempt 0's note in the emptyDir.
manifest writer "apiVersion: v1
kind: Pod
metadata: {name: writer, namespace: default}
spec:
  restartPolicy: Always
  containers:
  - name: tool
    image: $REG/podtool:v1
    args: [cat, /data/note, print, '', write, /data/note, 'from the app',
           write, /host/note, 'to the host', write, /ro/note, 'must not land',
           sleep, '20000', exit, '1']
    volumeMounts:
    - {name: scratch, mountPath: /data}
    - {name: host, mountPath: /host}
    - {name: host, mountPath: /ro, readOnly: true}
  volumes:
  - name: scratch
    emptyDir: {}
  - name: host
    hostPath: {path: $T/hostdir, type: Directory}"

if wait_pod writer '[.status.containerStatuses[]? | .state.running != null] | any' 240; then
	ok "writer runs"
else
	bad "writer runs" "$(jq -c .status <<<"$POD")"
fi
uid=$(jq -r .metadata.uid <<<"$POD")
edir=$T/kubelet/pods/$uid/volumes/kubernetes.io~empty-dir/scratch
for _ in $(seq 100); do [ -s "$edir/note" ] && [ -s "$T/hostdir/note" ] && break; sleep 0.1; done
eq "the emptyDir holds what the app wrote, while it runs" "$(cat "$edir/note" 2>/dev/null)" "from the app"
eq "the hostPath holds what the app wrote, while it runs" "$(cat "$T/hostdir/note" 2>/dev/null)" "to the host"
if wait_pod writer '[.status.containerStatuses[]? | .restartCount >= 1 and .state.running != null] | any' 240; then
	ok "writer restarted"
else
	bad "writer restarted" "$(jq -c .status <<<"$POD")"
fi
# While attempt 1 runs, attempt 0's log is still there (kubelet keeps one dead attempt).
log0=$(podlog writer tool 0 | logtext)
for _ in $(seq 100); do podlog writer tool 1 | grep -q . && break; sleep 0.1; done
eq "attempt 0 found no note, wrote it; the read-only mount refused a write" "$log0" "cat /data/note: ENOENT

write /ro/note: EROFS"
eq "attempt 1 finds attempt 0's note in the emptyDir" "$(podlog writer tool 1 | logtext | head -1)" "from the app"

unmanifest writer
for _ in $(seq 600); do [ "$(pods | jq '.items | length')" = 0 ] && break; sleep 0.2; done
stop_kubelet
eq "no unprovoked runtime errors in kubelet's log" "$(runtime_errors)" ""
[ $fail -ne 0 ] && { tail -40 "$T/kumod.log"; grep -E '^E' "$T/kubelet.log" | tail -20; }
finish
