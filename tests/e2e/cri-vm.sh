#!/usr/bin/env bash
# tests/e2e/cri-vm.sh - kumod's REAL backend booting containers as kumo VMs, driven
# through the CRI socket with kumo-crictl: images pushed by `kumo push` to a local
# docker-registry, PullImage, RunPodSandbox, CreateContainer (command/args/env, file
# mounts shared live: read-only ones refuse writes, the termination-message file holds
# what the app wrote),
# StartContainer, the exit (code, reason, trap name), the CRI log file's exact
# content, stats, stop/remove/rmp/rmi, a memory limit below the floor and a module with
# an unsupported import refused with a clear message, nothing left behind.
# VM backend: $VM_BACKEND (default qemu; fast under TCG). POD_VM (default true, kumod's
# default): the pod is one VM and each container an instance in it (issue 16); false:
# each container its own VM (the comparison mode), where a container's memory limit is
# its VM's RAM and each container has a run directory of its own.
# Prints `cri-vm: N passed, N failed`.
set -u
# kumod's real backend gives pods their network from CNI (a default list in this
# script's conf dir: bridge, veths, iptables rules, taps) and binds the pods' mounts (its
# staging directory): in network and mount namespaces of this script's own they never
# touch the machine's, and nothing outlives it.
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
# Pods take their network from CNI: host-local's store is a tmpfs of this mount namespace.
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
VM_BACKEND=${VM_BACKEND:-qemu}
POD_VM=${POD_VM:-true}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
cri_suite cri-vm 120
at_exit 'umount -l "$T/netns" 2>/dev/null'

for a in app_args app_exitcode app_trap app_podtool; do
	[ -f "$APPS/$a.wasm" ] || { bad "test app $a" "missing $APPS/$a.wasm (make apps)"; finish; }
done
# A module importing something the kernel does not provide.
printf '(module (import "env" "nosuch" (func)) (func (export "_start") call 0))' >"$T/bad.wat"
wat2wasm "$T/bad.wat" -o "$T/bad.wasm" || { bad "wat2wasm" "failed"; finish; }
# An app that says so, then sleeps 120 s in poll_oneoff (for the graceful stop).
cat >"$T/sleep.wat" <<'WAT'
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $p (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "sleeping\n")
  (func (export "_start")
    (i32.store (i32.const 200) (i32.const 256))
    (i32.store (i32.const 204) (i32.const 9))
    (drop (call $w (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 120000000000))
    (drop (call $p (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))
WAT
wat2wasm "$T/sleep.wat" -o "$T/sleep.wasm" || { bad "wat2wasm sleep" "failed"; finish; }

registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
for a in args exitcode trap podtool; do
	"$BIN/kumo" push "$APPS/app_$a.wasm" "$REG/$a:v1" >"$T/push.log" 2>&1 || bad "kumo push $a" "$(cat "$T/push.log")"
done
"$BIN/kumo" push "$T/bad.wasm" "$REG/badimport:v1" >"$T/push.log" 2>&1 || bad "kumo push badimport" "$(cat "$T/push.log")"
"$BIN/kumo" push "$T/sleep.wasm" "$REG/sleep:v1" >"$T/push.log" 2>&1 || bad "kumo push sleep" "$(cat "$T/push.log")"

"$BIN/kumod" --socket "$SOCK" --root "$T/root" --vm-backend "$VM_BACKEND" --pod-vm "$POD_VM" --cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --log-level debug 2>"$T/kumod.log" &
KPID=$!
for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done

for a in args exitcode trap podtool badimport sleep; do
	call "PullImage $a" PullImage "{\"image\":{\"image\":\"$REG/$a:v1\"}}"
done
LOGDIR=$T/logs/pod1
call "RunPodSandbox" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"p1\",\"uid\":\"u1\",\"namespace\":\"n\"},\"log_directory\":\"$LOGDIR\"}}"
POD=$(jq -r .pod_sandbox_id <<<"$OUT")

# create NAME IMAGE ARGS-JSON [EXTRA-CONFIG-JSON]: sets CID
create() {
	call "CreateContainer $1" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"$1\"},\"image\":{\"image\":\"$REG/$2:v1\"},\"args\":$3,\"log_path\":\"$1.log\"${4:-}}}"
	CID=$(jq -r .container_id <<<"$OUT")
}
# waitexit CID: waits until EXITED (up to 120 s), sets OUT to ContainerStatus
waitexit() {
	local st=
	case $1 in null | "") bad "container exits" "no container id"; OUT='{}'; return ;; esac
	for _ in $(seq 1200); do
		OUT=$(crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null) || OUT='{}'
		st=$(jq -r .status.state <<<"$OUT")
		[ "$st" = CONTAINER_EXITED ] && break
		sleep 0.1
	done
	eq "container exits" "$st" CONTAINER_EXITED
}
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2})'

create args args '["one","two words"]' ',"envs":[{"key":"K","value":"V"}]'
C1=$CID
eq "a created container is CREATED" "$(crictl ContainerStatus "{\"container_id\":\"$C1\"}" | jq -r .status.state)" CONTAINER_CREATED
eq "a run dir exists for it" "$(ls "$T/root/vms" 2>/dev/null | wc -l)" 1
call "StartContainer args" StartContainer "{\"container_id\":\"$C1\"}"
waitexit "$C1"
eq "exit code 0" "$(jq -r .status.exit_code <<<"$OUT")" 0
eq "reason Completed" "$(jq -r .status.reason <<<"$OUT")" Completed
eq "log path" "$(jq -r .status.log_path <<<"$OUT")" "$LOGDIR/args.log"
eq "CRI log lines are well-formed" "$(grep -cvE "^$ts stdout F " "$LOGDIR/args.log")" 0
eq "CRI log content" "$(sed -E "s/^$ts stdout F //" "$LOGDIR/args.log")" "argc=3
argv[1]=<one>
argv[2]=<two words>"
eq "started_at <= finished_at" "$(jq -r '(.status.started_at|tonumber) <= (.status.finished_at|tonumber)' <<<"$OUT")" true

create exit42 exitcode '["42"]'
C2=$CID
call "StartContainer exit42" StartContainer "{\"container_id\":\"$C2\"}"
waitexit "$C2"
eq "exit code 42" "$(jq -r .status.exit_code <<<"$OUT")" 42
eq "reason Error" "$(jq -r .status.reason <<<"$OUT")" Error
eq "exit42 log" "$(sed -E "s/^$ts stdout F //" "$LOGDIR/exit42.log")" "exiting with 42"

create trap trap '["div-zero"]'
C3=$CID
call "StartContainer trap" StartContainer "{\"container_id\":\"$C3\"}"
waitexit "$C3"
eq "a trap's reason" "$(jq -r .status.reason <<<"$OUT")" Trap
eq "a trap's message names it" "$(jq -r .status.message <<<"$OUT")" "integer divide by zero"
eq "a trap's exit code is not 0" "$(jq -r '.status.exit_code != 0' <<<"$OUT")" true

# File mounts, as kubelet sends them: /etc/hosts is read, a read-only file refuses
# writes, and what the app writes to the termination-message file is in the host file
# once ContainerStatus says EXITED (the file is shared live).
printf '127.0.0.1 localhost\n10.0.0.5 web\n' >"$T/etc-hosts"
: >"$T/termlog"
printf v1 >"$T/rofile"
create files podtool '["cat","/etc/hosts","write","/etc/ro","changed","cat","/etc/ro","print","","write","/dev/termination-log","bye now","exit","3"]' \
	",\"mounts\":[{\"container_path\":\"/etc/hosts\",\"host_path\":\"$T/etc-hosts\"},{\"container_path\":\"/etc/ro\",\"host_path\":\"$T/rofile\",\"readonly\":true},{\"container_path\":\"/dev/termination-log\",\"host_path\":\"$T/termlog\"}]"
C5=$CID
call "StartContainer files" StartContainer "{\"container_id\":\"$C5\"}"
waitexit "$C5"
eq "file mounts: exit code" "$(jq -r .status.exit_code <<<"$OUT")" 3
eq "file mounts: what the app saw" "$(sed -E "s/^$ts stdout F //" "$LOGDIR/files.log")" "127.0.0.1 localhost
10.0.0.5 web
write /etc/ro: EROFS
v1"
eq "the termination message is in the host file at EXITED" "$(cat "$T/termlog")" "bye now"
eq "a read-only file mount's host file is unchanged" "$(cat "$T/rofile")" v1
eq "an unchanged file mount is not written back" "$(cat "$T/etc-hosts")" "127.0.0.1 localhost
10.0.0.5 web"
eq "ContainerStatus lists the mounts (kubelet finds the message file there)" \
	"$(jq -r '.status.mounts[] | select(.container_path == "/dev/termination-log") | .host_path' <<<"$OUT")" "$T/termlog"
call "RemoveContainer files" RemoveContainer "{\"container_id\":\"$C5\"}"

call "ListContainers" ListContainers '{}'
eq "three containers listed" "$(jq '.containers | length' <<<"$OUT")" 3

# Graceful stop: StopContainer presses the VM's power button; the kernel ends the
# sleeping app with 143 (128 + SIGTERM) well before the grace period would destroy it.
create sleep sleep '[]'
C4=$CID
call "StartContainer sleep" StartContainer "{\"container_id\":\"$C4\"}"
for _ in $(seq 600); do grep -q sleeping "$LOGDIR/sleep.log" 2>/dev/null && break; sleep 0.1; done
call "StopContainer with a grace period" StopContainer "{\"container_id\":\"$C4\",\"timeout\":60}"
call "ContainerStatus after a graceful stop" ContainerStatus "{\"container_id\":\"$C4\"}"
eq "a stopped app exits 143" "$(jq -r .status.exit_code <<<"$OUT")" 143
eq "stopped, not killed" "$(jq -r .status.reason <<<"$OUT")" Error
call "RemoveContainer sleep" RemoveContainer "{\"container_id\":\"$C4\"}"

if [ "$POD_VM" = true ]; then
	# A container's limit caps its linear memory inside the pod VM (no floor of its
	# own); one the VM cannot give is refused.
	code "a memory limit the pod VM cannot give" InvalidArgument CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"huge\"},\"image\":{\"image\":\"$REG/args:v1\"},\"linux\":{\"resources\":{\"memory_limit_in_bytes\":4294967296}}}}"
	says "the message says the memory does not fit" "memory"
else
	code "a memory limit below the floor" InvalidArgument CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"tiny\"},\"image\":{\"image\":\"$REG/args:v1\"},\"linux\":{\"resources\":{\"memory_limit_in_bytes\":1048576}}}}"
	says "the message names the floor" "16 MiB"
fi
code "an unsupported import" Unimplemented CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"bad\"},\"image\":{\"image\":\"$REG/badimport:v1\"}}}"
says "the message names the import" "unsupported import \`env.nosuch\`"
# Run directories: one per container VM (three left), or the pod VM's alone.
[ "$POD_VM" = true ] && dirs=1 || dirs=3
eq "failed creates leave no run dir" "$(ls "$T/root/vms" | wc -l)" $dirs

for c in "$C1" "$C2" "$C3"; do
	call "StopContainer (exited)" StopContainer "{\"container_id\":\"$c\",\"timeout\":1}"
	call "RemoveContainer" RemoveContainer "{\"container_id\":\"$c\"}"
done
[ "$POD_VM" = true ] && dirs=1 || dirs=0
eq "no container run dir left" "$(ls "$T/root/vms" | wc -l)" $dirs
call "StopPodSandbox" StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
call "RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
eq "no run dir left" "$(ls "$T/root/vms" | wc -l)" 0
for a in args exitcode trap podtool badimport sleep; do
	call "RemoveImage $a" RemoveImage "{\"image\":{\"image\":\"$REG/$a:v1\"}}"
done
eq "no QEMU left" "$(qemu_pids "$T/root" | wc -l)" 0

kill -TERM "$KPID"; wait "$KPID"; eq "kumod stops on SIGTERM" "$?" "0"; KPID=
[ $fail -ne 0 ] && tail -30 "$T/kumod.log"
finish
