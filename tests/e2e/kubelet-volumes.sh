#!/usr/bin/env bash
# tests/e2e/kubelet-volumes.sh - live volumes under a real kubelet (the real-kubelet
# tier's second half, tests/lib/kubelet.sh): what the app writes to a writable emptyDir,
# hostPath or hostPath file is on the host while the pod runs; an emptyDir keeps it
# across a container restart (as on Linux); a read-only volume stays read-only in the
# guest, in QEMU (readonly=on) and on the host (the staged bind); a `..data` swap in a
# downward-API volume (what kubelet does to update ConfigMap, Secret, projected and
# downward-API volumes) reaches the running app, also after a kill -9 of kumod; deleted
# pods leave nothing staged. Runs when a kubelet binary is present ($KUBELET, else
# `kubelet` on PATH); skipped with a one-line reason otherwise.
# Prints `kubelet-volumes: N passed, N failed`.
set -u
SUITE=kubelet-volumes
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/kubelet.sh
. "$HERE/../lib/kubelet.sh"
kubelet_enter_namespaces "$0" "$@"
trap kubelet_cleanup EXIT

[ -f "$APPS/app_podtool.wasm" ] || { bad "test app podtool" "missing $APPS/app_podtool.wasm (make apps)"; finish; }
kubelet_setup podtool

mkdir -p "$T/hostdir"
: >"$T/hostdir/live.txt"
# Attempt 0 finds no note, leaves one in the emptyDir, the hostPath and a hostPath file,
# and exits 1; attempt 1 (restartPolicy Always) finds attempt 0's note in the emptyDir.
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
           write, /etc/live.txt, 'a live file', sleep, '20000', exit, '1']
    volumeMounts:
    - {name: scratch, mountPath: /data}
    - {name: host, mountPath: /host}
    - {name: host, mountPath: /ro, readOnly: true}
    - {name: host, mountPath: /etc/live.txt, subPath: live.txt}
  volumes:
  - name: scratch
    emptyDir: {}
  - name: host
    hostPath: {path: $T/hostdir, type: Directory}"

# The watcher prints its labels file each time it changes (three times), then sleeps.
manifest watcher "apiVersion: v1
kind: Pod
metadata:
  name: watcher
  namespace: default
  labels: {app: watcher}
spec:
  restartPolicy: Never
  containers:
  - name: tool
    image: $REG/podtool:v1
    args: [watch, /etc/podinfo/labels, '3', '200', sleep, '600000']
    volumeMounts:
    - {name: podinfo, mountPath: /etc/podinfo}
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - path: labels
        fieldRef: {fieldPath: metadata.labels}"

if wait_pod writer '[.status.containerStatuses[]? | .state.running != null] | any' 240; then
	ok "writer runs"
else
	bad "writer runs" "$(jq -c .status <<<"$POD")"
fi
uid=$(jq -r .metadata.uid <<<"$POD")
edir=$T/kubelet/pods/$uid/volumes/kubernetes.io~empty-dir/scratch
for _ in $(seq 100); do
	[ -s "$edir/note" ] && [ -s "$T/hostdir/note" ] && [ -s "$T/hostdir/live.txt" ] && break
	sleep 0.1
done
eq "the emptyDir holds what the app wrote, while it runs" "$(cat "$edir/note" 2>/dev/null)" "from the app"
eq "the hostPath holds what the app wrote, while it runs" "$(cat "$T/hostdir/note" 2>/dev/null)" "to the host"
eq "a hostPath file (subPath) holds what the app wrote, while it runs" "$(cat "$T/hostdir/live.txt" 2>/dev/null)" "a live file"

# Read-only three times over: the guest refused the write (checked in the log below),
# QEMU serves the pod's read-only side with readonly=on, and the staged bind is
# read-only on the host.
sandbox=$(crictl ListPodSandbox '{}' | jq -r --arg u "$uid" '.items[]? | select(.labels["io.kubernetes.pod.uid"] == $u) | .id')
stage=$T/root/mounts/$sandbox
rodir=$stage/ro
qemu_args=$(pgrep -af qemu-system | grep -F "path=$rodir," | head -1)
case $qemu_args in
*"path=$rodir,security_model=passthrough,multidevs=remap,readonly=on"*)
	ok "QEMU shares the pod's read-only side with readonly=on" ;;
*) bad "QEMU shares the pod's read-only side with readonly=on" "${qemu_args:-no QEMU shares $rodir}" ;;
esac
ro_opts=$(awk -v d="$rodir/" 'index($5, d) == 1 {print $6}' /proc/self/mountinfo | head -1)
eq "the staged read-only entry is a read-only bind on the host" "${ro_opts%%,*}" ro
# Each writable entry's mount options, as "rw nosuid nodev noexec" when they hold those.
rw_opts=$(awk -v d="$stage/rw/" 'index($5, d) == 1 {
	o = ","$6","; print (o ~ /,rw,/ ? "rw" : "ro") (o ~ /,nosuid,/ ? " nosuid" : "") \
		(o ~ /,nodev,/ ? " nodev" : "") (o ~ /,noexec,/ ? " noexec" : "") }' /proc/self/mountinfo | sort -u)
eq "the writable entries are nosuid, nodev, noexec binds" "$rw_opts" "rw nosuid nodev noexec"
eq "nothing of kubelet's pod directory is shared but the mounts' sources" \
	"$(pgrep -af qemu-system | grep -F "$T/root" | grep -c "path=$T/kubelet")" 0

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
# Entries are "<container id>-<index>": only the running attempt's are staged.
eq "attempt 0's entries were unbound when its VM ended" \
	"$(ls "$stage/ro" "$stage/rw" 2>/dev/null | grep -E -- '-[0-9]+$' | sed -E 's/-[0-9]+$//' | sort -u | wc -l)" 1

# A `..data` swap reaches the running app: first kubelet's volume as it was, then (after
# a kill -9 of kumod and a restart, the staged mounts live on) the test's swap, done
# the way kubelet's atomic writer does it (a new timestamped directory, a `..data_tmp`
# link renamed over `..data`), then kubelet's own swap back at its next sync of the
# volume (it rewrites a downward-API volume whose files differ from the pod's labels).
if wait_pod watcher '[.status.containerStatuses[]? | .state.running != null] | any' 240; then
	ok "watcher runs"
else
	bad "watcher runs" "$(jq -c .status <<<"$POD")"
fi
wuid=$(jq -r .metadata.uid <<<"$POD")
seen() { podlog watcher tool | logtext | grep -c "^seen: $1"; }
for _ in $(seq 300); do [ "$(seen 'app="watcher"')" -ge 1 ] && break; sleep 0.1; done
eq "the app reads the downward-API volume through its \`..data\` link" "$(podlog watcher tool | logtext | head -1)" 'seen: app="watcher"'
stop_kumod KILL
start_kumod
vd=$T/kubelet/pods/$wuid/volumes/kubernetes.io~downward-api/podinfo
new=..$(date -u +%Y_%m_%d_%H_%M_%S).swap
mkdir "$vd/$new" && printf 'app="swapped"' >"$vd/$new/labels" &&
	ln -s "$new" "$vd/..data_tmp" && mv -T "$vd/..data_tmp" "$vd/..data" ||
	bad "swap \`..data\` in kubelet's volume" "$(ls -la "$vd")"
for _ in $(seq 300); do [ "$(seen 'app="swapped"')" -ge 1 ] && break; sleep 0.1; done
eq "a \`..data\` swap reaches the running app, after a kumod restart" "$(podlog watcher tool | logtext | sed -n 2p)" 'seen: app="swapped"'
for _ in $(seq 600); do [ "$(seen 'app="watcher"')" -ge 2 ] && break; sleep 0.1; done
eq "kubelet's own \`..data\` swap reaches the running app" "$(podlog watcher tool | logtext | sed -n 3p)" 'seen: app="watcher"'

unmanifest writer
unmanifest watcher
for _ in $(seq 600); do [ "$(pods | jq '.items | length')" = 0 ] && break; sleep 0.2; done
for _ in $(seq 100); do
	[ -z "$(ls "$T/root/mounts" 2>/dev/null)" ] && break
	sleep 0.1
done
eq "deleted pods leave no staged mount" "$(awk -v d="$T/root/mounts/" 'index($5, d) == 1' /proc/self/mountinfo | wc -l)" 0
eq "deleted pods leave no staging directory" "$(ls "$T/root/mounts" 2>/dev/null | wc -l)" 0
eq "the volumes' data outlived the staging" "$(cat "$T/hostdir/note" "$T/hostdir/live.txt" 2>/dev/null)" "to the hosta live file"
stop_kubelet
eq "no unprovoked runtime errors in kubelet's log" "$(runtime_errors)" ""
[ $fail -ne 0 ] && { tail -40 "$T/kumod.log"; grep -E '^E' "$T/kubelet.log" | tail -20; }
finish
