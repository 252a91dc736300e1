#!/usr/bin/env bash
# tests/e2e/cri-jail.sh - the jail around QEMU (vmm/vmm.h "The jail around QEMU") as
# kumod's REAL backend sets it up, on both VM backends (libvirt, then qemu): a running
# container's QEMU has the jail's uid (not root), QEMU's seccomp filter (`Seccomp: 2`),
# and sits in the VM's memory and pids cgroups with the limits its spec gives; the CRI
# socket has mode 0660, owner root and the --socket-group, and kumod listens on nothing
# but loopback (the streaming server's default); a QEMU killed under a running
# container ends it with a reason that says so, and its cgroups go with it. Then
# `--jail off` (qemu): QEMU runs as root, still under seccomp, without kumo's cgroups.
# libvirtd is started by deploy/start-libvirtd.sh when none runs (and stopped again).
# Pods use the host network without a NIC (as cri-restart.sh). kumod runs with
# --pod-vm false here: the checks find each container's own QEMU by its VM's name and
# size its cgroup from the container's memory; a pod VM's QEMU gets the same jail
# (cri-pod.sh runs jailed, kumod's default).
# Prints `cri-jail: N passed, N failed`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -- bash "$0" "$@"
ip link set lo up
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
started_here=0
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
cri_suite cri-jail 120

vms_cleanup() {
	kumod_kill
	for d in $(virsh -q -c qemu:///system list --name 2>/dev/null | grep "^kumo-"); do
		grep -qs "$d" "$T"/root-*/vms/*/vm.json && virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1
	done
	local p
	for p in $(qemu_pids "$T"); do kill -9 "$p" 2>/dev/null; done
	[ $started_here -eq 1 ] && bash "$TOP/deploy/start-libvirtd.sh" --stop >/dev/null 2>&1
}
at_exit vms_cleanup

bash "$TOP/deploy/start-libvirtd.sh" --status 2>/dev/null || started_here=1
if ! bash "$TOP/deploy/start-libvirtd.sh" >"$T/libvirtd.log" 2>&1; then
	bad "libvirtd starts" "$(tail -5 "$T/libvirtd.log")"
	finish
fi
jail_uid=$(id -u kumo-qemu 2>/dev/null) || { bad "the jail's user kumo-qemu exists" "no"; finish; }

printf '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))' >"$T/spin.wat"
# toucher: grows its memory a page at a time, writing every 4 KiB of it, until the guest
# has no more (or 4000 pages), then says so: QEMU's RSS grows with the guest RAM touched.
{
	echo '(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))'
	echo ' (memory (export "memory") 1) (data (i32.const 16) "touched\n")'
	echo ' (func (export "_start") (local $old i32) (local $a i32) (local $n i32) (local $o i32)'
	echo '  (block $done (loop $l'
	echo '   (br_if $done (i32.ge_u (local.get $n) (i32.const 4000)))'
	echo '   (local.set $old (memory.grow (i32.const 1)))'
	echo '   (br_if $done (i32.eq (local.get $old) (i32.const -1)))'
	echo '   (local.set $a (i32.mul (local.get $old) (i32.const 65536)))'
	echo '   (local.set $o (i32.const 0))'
	echo '   (block $pd (loop $pl (br_if $pd (i32.ge_u (local.get $o) (i32.const 65536)))'
	echo '     (i32.store8 (i32.add (local.get $a) (local.get $o)) (i32.const 1))'
	echo '     (local.set $o (i32.add (local.get $o) (i32.const 4096))) (br $pl)))'
	echo '   (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $l)))'
	echo '  (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 8))'
	echo '  (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))'
} >"$T/toucher.wat"
for a in spin toucher; do
	wat2wasm "$T/$a.wat" -o "$T/$a.wasm" || { bad "wat2wasm $a" "failed"; finish; }
done
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
for a in spin toucher; do
	"$BIN/kumo" push "$T/$a.wasm" "$REG/$a:v1" >"$T/push.log" 2>&1 || bad "kumo push $a" "$(cat "$T/push.log")"
done

VMB=
JAIL=on
start_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/root-$VMB-$JAIL" --vm-backend "$VMB" --jail "$JAIL" --pod-vm false \
		--socket-group kvm --cni-conf-dir "$T/net.d" --host-network no-network \
		--log-level debug 2>>"$T/kumod-$VMB.log" &
	KPID=$!
	for _ in $(seq 600); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
state() { crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null | jq -r .status.state; }
waitfor() { # CID STATE: polls up to 120 s
	local st=
	for _ in $(seq 1200); do st=$(state "$1"); [ "$st" = "$2" ] && break; sleep 0.1; done
	eq "$VMB: container ${1:0:12} reaches $2" "$st" "$2"
}
qemu_pid() { # VM name -> its QEMU's pid
	if [ "$VMB" = libvirt ]; then cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; else pgrep -f "qemu-system.*-name $1," | head -1; fi
}
status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cgroup_of() { # PID CONTROLLER -> the directory of its cgroup (v1 hierarchy, else v2)
	local rel
	if [ -d "/sys/fs/cgroup/$2" ]; then
		rel=$(awk -F: -v c="$2" '$2 == c { print $3 }' "/proc/$1/cgroup")
		echo "/sys/fs/cgroup/$2$rel"
	else
		rel=$(awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup")
		echo "/sys/fs/cgroup$rel"
	fi
}

# run_spin MEM_MIB: a pod with a spinning container of MEM_MIB of guest RAM; sets POD,
# CID, NAME (its VM), QPID (its QEMU)
run_spin() {
	call "$VMB: RunPodSandbox" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"j\",\"uid\":\"u-$VMB-$JAIL\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs-$VMB-$JAIL\",\"linux\":{\"security_context\":{\"namespace_options\":{\"network\":\"NODE\"}}}}}"
	POD=$(jq -r .pod_sandbox_id <<<"$OUT")
	call "$VMB: CreateContainer spin" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"spin\"},\"image\":{\"image\":\"$REG/spin:v1\"},\"log_path\":\"spin.log\",\"linux\":{\"resources\":{\"memory_limit_in_bytes\":$(($1 << 20))}}}}"
	CID=$(jq -r .container_id <<<"$OUT")
	call "$VMB: StartContainer spin" StartContainer "{\"container_id\":\"$CID\"}"
	waitfor "$CID" CONTAINER_RUNNING
	NAME=kumo-${CID:0:40}
	QPID=$(qemu_pid "$NAME")
}

for VMB in libvirt qemu; do
	start_kumod
	eq "$VMB: the CRI socket is 0660, root's, group kvm (--socket-group)" "$(stat -c '%a %U %G' "$SOCK")" "660 root kvm"
	listen=$(ss -Hltnup 2>/dev/null | grep "pid=$KPID," | awk '{ print $5 }')
	eq "$VMB: kumod listens on TCP/UDP on loopback only (the streaming server)" \
		"$(grep -c . <<<"$listen") $(grep -vE '^(127\.0\.0\.1|\[::1\]):' <<<"$listen" | grep -c .)" "1 0"
	call "$VMB: PullImage spin" PullImage "{\"image\":{\"image\":\"$REG/spin:v1\"}}"
	run_spin 48
	if [ -z "$QPID" ] || [ ! -d "/proc/$QPID" ]; then
		bad "$VMB: the container's QEMU is found" "no pid for $NAME"
		kill -TERM "$KPID"; wait "$KPID"; KPID=; continue
	fi
	ok "$VMB: the container's QEMU is found (pid $QPID)"
	eq "$VMB: QEMU runs as the jail's user, not root" "$(status_field "$QPID" Uid)" "$jail_uid"
	eq "$VMB: QEMU's gid is the jail's group" "$(status_field "$QPID" Gid)" "$(id -g kumo-qemu)"
	eq "$VMB: QEMU runs under its seccomp filter" "$(status_field "$QPID" Seccomp)" 2
	eq "$VMB: QEMU holds no effective capability (no shares)" "$(status_field "$QPID" CapEff)" 0000000000000000
	mem=$(cgroup_of "$QPID" memory); pids=$(cgroup_of "$QPID" pids)
	eq "$VMB: QEMU's memory cgroup is the VM's" "${mem##*/kumo/}" "$NAME"
	eq "$VMB: QEMU's pids cgroup is the VM's" "${pids##*/kumo/}" "$NAME"
	limit=$(cat "$mem/memory.limit_in_bytes" 2>/dev/null || cat "$mem/memory.max" 2>/dev/null)
	eq "$VMB: memory limit = guest RAM 48 MiB + 256 MiB for QEMU" "$limit" $(((48 + 256) << 20))
	eq "$VMB: pids limit = 96 + 2 per vCPU" "$(cat "$pids/pids.max" 2>/dev/null)" 98
	used=$(cat "$mem/memory.usage_in_bytes" 2>/dev/null || cat "$mem/memory.current" 2>/dev/null)
	echo "     ($VMB: the VM's cgroup holds $((${used:-0} >> 20)) MiB, $(cat "$pids/pids.current" 2>/dev/null) tasks)"

	# A QEMU killed under a running container: the container ends, and says why.
	kill -9 "$QPID"
	waitfor "$CID" CONTAINER_EXITED
	call "$VMB: ContainerStatus after QEMU was killed" ContainerStatus "{\"container_id\":\"$CID\"}"
	msg=$(jq -r .status.message <<<"$OUT")
	case "$VMB" in
	qemu) want="QEMU was killed by signal 9" ;;
	libvirt) want="QEMU (pid $QPID) died" ;;
	esac
	if grep -qF "$want" <<<"$msg"; then ok "$VMB: the exit says QEMU was killed"; else bad "$VMB: the exit says QEMU was killed" "message \`$msg\` lacks \`$want\`"; fi
	eq "$VMB: reason VMError" "$(jq -r .status.reason <<<"$OUT")" VMError
	for _ in $(seq 50); do [ -d "$mem" ] || [ -d "$pids" ] || break; sleep 0.1; done
	if [ -d "$mem" ] || [ -d "$pids" ]; then bad "$VMB: the VM's cgroups are removed with it" "$mem $pids"; else ok "$VMB: the VM's cgroups are removed with it"; fi
	call "$VMB: RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
	kill -TERM "$KPID"; wait "$KPID"; KPID=
	if [ $fail -ne 0 ]; then echo "--- kumod log ($VMB)"; tail -30 "$T/kumod-$VMB.log"; fi
done

# The memory limit holds: the toucher fills a 128 MiB guest; with 256 MiB for QEMU above
# the guest's RAM it finishes, with 4 MiB (kumo.json jail_memory_overhead_mib; QEMU
# itself holds ~22 MiB) the kernel's OOM killer ends QEMU inside its cgroup once the
# guest's pages fill the rest, and the container says so.
VMB=qemu
toucher() { # CONFIG-JSON -> the container's ContainerStatus once it exited, in OUT
	echo "$1" >"$T/kumo-$2.json"
	"$BIN/kumod" --config "$T/kumo-$2.json" --socket "$SOCK" --root "$T/root-oom-$2" --vm-backend "$VMB" --pod-vm false \
		--host-network no-network --cni-conf-dir "$T/net.d" --log-level debug 2>>"$T/kumod-oom.log" &
	KPID=$!
	for _ in $(seq 600); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
	call "oom $2: PullImage toucher" PullImage "{\"image\":{\"image\":\"$REG/toucher:v1\"}}"
	call "oom $2: RunPodSandbox" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"o\",\"uid\":\"oom-$2\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs-oom-$2\",\"linux\":{\"security_context\":{\"namespace_options\":{\"network\":\"NODE\"}}}}}"
	POD=$(jq -r .pod_sandbox_id <<<"$OUT")
	call "oom $2: CreateContainer toucher (128 MiB)" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"toucher\"},\"image\":{\"image\":\"$REG/toucher:v1\"},\"log_path\":\"toucher.log\",\"linux\":{\"resources\":{\"memory_limit_in_bytes\":$((128 << 20))}}}}"
	CID=$(jq -r .container_id <<<"$OUT")
	call "oom $2: StartContainer toucher" StartContainer "{\"container_id\":\"$CID\"}"
	waitfor "$CID" CONTAINER_EXITED
	OUT=$(crictl ContainerStatus "{\"container_id\":\"$CID\"}" 2>/dev/null) || OUT='{}'
	local st=$OUT
	call "oom $2: RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
	kill -TERM "$KPID"; wait "$KPID"; KPID=
	OUT=$st
}
toucher '{"jail_memory_overhead_mib": 256}' roomy
eq "oom: with 256 MiB for QEMU the toucher finishes" "$(jq -r '.status.exit_code' <<<"$OUT")/$(cat "$T/logs-oom-roomy/toucher.log" 2>/dev/null | grep -c ' stdout F touched$')" "0/1"
toucher '{"jail_memory_overhead_mib": 4}' tight
msg=$(jq -r .status.message <<<"$OUT")
case "$msg" in
*"QEMU was killed by the kernel's OOM killer: its cgroup's memory limit is 132 MiB (guest RAM 128 MiB + 4 MiB for QEMU)"*)
	ok "oom: with 4 MiB for QEMU its cgroup's OOM killer ends it, and the exit says so" ;;
*) bad "oom: with 4 MiB for QEMU its cgroup's OOM killer ends it, and the exit says so" "$(jq -c .status <<<"$OUT")" ;;
esac

# The switch: --jail off (kumo.json "jail": false) runs QEMU as root, still under seccomp.
VMB=qemu JAIL=off
start_kumod
call "jail off: PullImage spin" PullImage "{\"image\":{\"image\":\"$REG/spin:v1\"}}"
run_spin 48
eq "jail off: QEMU runs as root" "$(status_field "$QPID" Uid 2>/dev/null)" 0
eq "jail off: QEMU still runs under its seccomp filter" "$(status_field "$QPID" Seccomp 2>/dev/null)" 2
if [ -n "$QPID" ] && grep -q ":/kumo/" "/proc/$QPID/cgroup"; then bad "jail off: no kumo cgroup" "$(grep kumo "/proc/$QPID/cgroup")"; else ok "jail off: no kumo cgroup"; fi
call "jail off: StopContainer" StopContainer "{\"container_id\":\"$CID\",\"timeout\":0}"
call "jail off: RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
kill -TERM "$KPID"; wait "$KPID"; KPID=
eq "no QEMU of this test left" "$(qemu_pids "$T" | wc -l)" 0
finish
