#!/usr/bin/env bash
# tests/e2e/cri-restart.sh - kumod's REAL backend survives `kill -9`, on both VM
# backends (libvirt: each container its own VM; then qemu: kumod's default, the pod one
# VM with both containers in it): a container whose VM keeps running while kumod is down
# is listed RUNNING after the restart (re-attached, its log continues, StopContainer
# works), and a container whose VM exits while kumod is down reports its real exit code
# and reason after the restart. libvirtd is started by deploy/start-libvirtd.sh when
# none runs (and stopped again). The pods use the host network, run without a NIC
# (kumod --host-network no-network): libvirtd lives in the machine's network namespace,
# this script's taps in its own.
# Prints `cri-restart: N passed, N failed`.
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
cri_suite cri-restart 120

# kumod first, then the VMs it left.
vms_cleanup() {
	kumod_kill
	for d in $(virsh -q -c qemu:///system list --name 2>/dev/null | grep "^kumo-" ); do
		grep -qs "$d" "$T"/root-*/vms/*/vm.json && virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1
	done
	for f in "$T"/root-qemu/vms/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
	[ $started_here -eq 1 ] && bash "$TOP/deploy/start-libvirtd.sh" --stop >/dev/null 2>&1
}
at_exit vms_cleanup

bash "$TOP/deploy/start-libvirtd.sh" --status 2>/dev/null || started_here=1
if ! bash "$TOP/deploy/start-libvirtd.sh" >"$T/libvirtd.log" 2>&1; then
	bad "libvirtd starts" "$(tail -5 "$T/libvirtd.log")"
	finish
fi

# spin: runs until stopped; sleep3: prints "up", sleeps 3 s, exits 3.
printf '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))' >"$T/spin.wat"
cat >"$T/sleep3.wat" <<'EOF'
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "up\n")
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    (i64.store (i32.const 64) (i64.const 0))
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 3000000000))
    (i64.store (i32.const 96) (i64.const 0))
    (i32.store16 (i32.const 104) (i32.const 0))
    (drop (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 192)))
    (call $exit (i32.const 3))))
EOF
for a in spin sleep3; do
	wat2wasm "$T/$a.wat" -o "$T/$a.wasm" || { bad "wat2wasm $a" "failed"; finish; }
done
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
for a in spin sleep3; do
	"$BIN/kumo" push "$T/$a.wasm" "$REG/$a:v1" >"$T/push.log" 2>&1 || bad "kumo push $a" "$(cat "$T/push.log")"
done

VMB=
start_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/root-$VMB" --vm-backend "$VMB" \
		--cni-conf-dir "$T/net.d" --host-network no-network --log-level debug 2>>"$T/kumod-$VMB.log" &
	KPID=$!
	for _ in $(seq 600); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
state() { crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null | jq -r .status.state; }
# waitfor CID STATE: polls up to 120 s
waitfor() {
	local st=
	for _ in $(seq 1200); do st=$(state "$1"); [ "$st" = "$2" ] && break; sleep 0.1; done
	eq "$VMB: container ${1:0:12} reaches $2" "$st" "$2"
}
# vm_exists NAME: the VM (libvirt domain, or QEMU process) is there
vm_exists() {
	if [ "$VMB" = libvirt ]; then
		virsh -q -c qemu:///system domstate "$1" >/dev/null 2>&1
	else
		pgrep -f "qemu-system.*-name $1," >/dev/null
	fi
}

for VMB in libvirt qemu; do
	start_kumod
	for a in spin sleep3; do call "$VMB: PullImage $a" PullImage "{\"image\":{\"image\":\"$REG/$a:v1\"}}"; done
	call "$VMB: RunPodSandbox" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"r\",\"uid\":\"u1\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs-$VMB\",\"linux\":{\"security_context\":{\"namespace_options\":{\"network\":\"NODE\"}}}}}"
	POD=$(jq -r .pod_sandbox_id <<<"$OUT")
	call "$VMB: CreateContainer spin" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"spin\"},\"image\":{\"image\":\"$REG/spin:v1\"},\"log_path\":\"spin.log\"}}"
	CS=$(jq -r .container_id <<<"$OUT")
	call "$VMB: CreateContainer sleep3" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"sleep3\"},\"image\":{\"image\":\"$REG/sleep3:v1\"},\"log_path\":\"sleep3.log\"}}"
	CE=$(jq -r .container_id <<<"$OUT")
	call "$VMB: StartContainer spin" StartContainer "{\"container_id\":\"$CS\"}"
	call "$VMB: StartContainer sleep3" StartContainer "{\"container_id\":\"$CE\"}"
	for _ in $(seq 600); do grep -qs ' F up$' "$T/logs-$VMB/sleep3.log" && break; sleep 0.1; done
	eq "$VMB: sleep3 printed before the kill" "$(grep -c ' stdout F up$' "$T/logs-$VMB/sleep3.log" 2>/dev/null)" "1"

	kumod_kill
	# While kumod is down, sleep3's VM powers off.
	# The VMs: each container's own (libvirt: kumod's pod VMs need the qemu backend), or
	# with qemu the pod VM both run in (kumod's default), which runs on while sleep3's
	# instance ends in it.
	if [ "$VMB" = qemu ]; then dom=kumopod-${POD:0:24} sdom=$dom; else dom=kumo-${CE:0:40} sdom=kumo-${CS:0:40}; fi
	if [ "$VMB" = qemu ]; then
		sleep 4 # sleep3 sleeps 3 s after its first line
		if vm_exists "$dom"; then ok "$VMB: the pod VM runs on while kumod is down"; else bad "$VMB: the pod VM runs on while kumod is down" "gone"; fi
	else
		for _ in $(seq 600); do vm_exists "$dom" || break; sleep 0.1; done
		if vm_exists "$dom"; then bad "$VMB: sleep3's VM exits while kumod is down" "still there"; else ok "$VMB: sleep3's VM exits while kumod is down"; fi
	fi
	start_kumod
	eq "$VMB: after kill -9, spin is listed RUNNING" "$(state "$CS")" "CONTAINER_RUNNING"
	call "$VMB: ContainerStatus sleep3 after restart" ContainerStatus "{\"container_id\":\"$CE\"}"
	eq "$VMB: the exit that happened while down is reported" "$(jq -r .status.state <<<"$OUT")/$(jq -r .status.exit_code <<<"$OUT")/$(jq -r .status.reason <<<"$OUT")" "CONTAINER_EXITED/3/Error"
	call "$VMB: ListContainers" ListContainers '{}'
	eq "$VMB: both containers listed" "$(jq '.containers | length' <<<"$OUT")" "2"
	# SIGTERM lets go of the running VM too; the next kumod finds it again.
	kill -TERM "$KPID"; wait "$KPID"; KPID=
	if vm_exists "$sdom"; then ok "$VMB: spin's VM outlives a SIGTERM of kumod"; else bad "$VMB: spin's VM outlives a SIGTERM of kumod" "gone"; fi
	start_kumod
	eq "$VMB: after SIGTERM, spin is listed RUNNING" "$(state "$CS")" "CONTAINER_RUNNING"
	call "$VMB: StopContainer spin after restart" StopContainer "{\"container_id\":\"$CS\",\"timeout\":0}"
	waitfor "$CS" CONTAINER_EXITED
	call "$VMB: RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
	if vm_exists "$sdom" || vm_exists "$dom"; then bad "$VMB: no VM of this kumod left" "some"; else ok "$VMB: no VM of this kumod left"; fi
	kill -TERM "$KPID"; wait "$KPID"; KPID=
	if [ $fail -ne 0 ]; then echo "--- kumod log ($VMB)"; tail -40 "$T/kumod-$VMB.log"; fi
done
finish
