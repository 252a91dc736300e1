#!/usr/bin/env bash
# tests/e2e/snapshot-libvirt.sh - snapshots (issue 18) on the libvirt backend, whose VMs
# are saved with the same QEMU migration stream as QEMU-direct's (through libvirt-qemu's
# monitor passthrough), so an archive loads on either backend. First vmm/ alone
# (snapshot-tool): a counter VM checkpointed on libvirt, destroyed, restored on libvirt,
# on QEMU-direct, and one of QEMU-direct restored on libvirt, each counting on with no gap
# or repeat; a live migration between two libvirt domains; a destination killed
# mid-migration, the source going on. Then through kumod --vm-backend libvirt (each
# container its own VM): CheckpointContainer leaving the counter running; `kumo
# checkpoint --stop`, the pod removed, `kumo restore` counting on in the same CRI log with
# no gap or repeat; the restored domain found again after kill -9 of kumod; a web server
# pod restored at its address with a client's keep-alive connection going on; the libvirt
# archive restored by a QEMU-direct kumod (CreateContainer with the archive as image) and a
# QEMU-direct archive by the libvirt kumod, each counting on from its checkpoint; `kumo
# migrate` between two libvirt kumods. Needs a libvirtd (deploy/start-libvirtd.sh starts
# one, stopped again at the end); skips when none can run.
# Prints `snapshot-libvirt: N passed, N failed`.
set -u
# kumod's real backend gives pods their network from CNI and binds mounts: in network and
# mount namespaces of this script's own they never touch the machine's (libvirt's QEMUs
# get the pods' taps in libvirtd's namespace: the tap dance, vmm/vm.c).
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
# shellcheck source=../lib/oci-wasm-image.sh
. "$HERE/../lib/oci-wasm-image.sh"
# shellcheck source=../lib/snaplib.sh
. "$HERE/../lib/snaplib.sh"
cri_suite snapshot-libvirt 120
at_exit 'umount -l "$T/netns" 2>/dev/null'
TOOL=$BUILD/tests/support/snapshot-tool
for f in "$APPS/app_counter.wasm" "$APPS/net_httpd.wasm" "$TOOL"; do
	[ -f "$f" ] || { bad "prerequisite" "missing $f (make test-prereqs)"; finish; }
done
lv_started=0
bash "$HERE/../../deploy/start-libvirtd.sh" --status >/dev/null 2>&1 || lv_started=1
if ! bash "$HERE/../../deploy/start-libvirtd.sh" >"$T/libvirtd.log" 2>&1; then
	skip "libvirt snapshots" "no libvirtd: $(tail -1 "$T/libvirtd.log")"
	finish
fi
[ $lv_started -eq 0 ] || at_exit 'bash "$HERE/../../deploy/start-libvirtd.sh" --stop >/dev/null 2>&1'
virsh_() { virsh -q -c qemu:///system "$@"; }
# lv_domains ROOT: the running domains that kumod's records under ROOT name.
lv_domains() {
	local d
	for d in $(virsh_ list --name 2>/dev/null); do grep -qs "\"$d\"" "$1"/vms/*/vm.json && echo "$d"; done
}
# Domains outlive kumod by design: a run that fails half-way must not leave its VMs (the
# tool's end in its pid; kumod's are named in its roots' records), nor QEMU-direct's.
at_exit 'for d in $(virsh_ list --name 2>/dev/null); do case $d in snap-*-"$TOOL_PID") virsh_ destroy "$d" >/dev/null 2>&1 ;; kumo-*) grep -qs "\"$d\"" "$T"/root*/vms/*/vm.json && virsh_ destroy "$d" >/dev/null 2>&1 ;; esac; done'
at_exit 'for f in "$T"/root*/vms/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done'
TOOL_PID=none
kumo_accel; ACCEL=$accel

# tool WORK ARGS...: snapshot-tool in the background (its VMs' names end in its pid).
tool() {
	"$TOOL" "$@" >"$T/tool.log" 2>&1 &
	TOOL_PID=$!
	wait "$TOOL_PID"
}

# ---- vmm/ alone ----------------------------------------------------------------------------
"$BIN/kumo" build "$APPS/app_counter.wasm" -o "$T/counter" -- 0 20 >"$T/build.log" 2>&1 ||
	bad "kumo build counter" "$(cat "$T/build.log")"
for pair in libvirt:libvirt libvirt:qemu qemu:libvirt; do
	from=${pair%%:*} to=${pair#*:} dir=$T/cycle-$from-$to
	if tool cycle --accel "$ACCEL" --backend "$from" --to-backend "$to" --dir "$dir" --lines 5 --more 5 "$T/counter"; then
		ok "snapshot-tool cycle: checkpoint on $from, destroy, restore on $to ($(grep -o 'stream.*' "$T/tool.log"))"
	else
		bad "snapshot-tool cycle $from -> $to" "$(cat "$T/tool.log")"
	fi
	cat "$dir/first.out" "$dir/second.out" >"$dir/both.out" 2>/dev/null
	eq "$from -> $to: the restored VM counts on from the checkpoint (no gap, no repeat)" "$(consecutive "$dir/both.out")" yes
	eq "$from -> $to: the restored VM wrote its own lines" "$(counting "$dir/second.out" | head -1)" \
		"$(($(counting "$dir/first.out" | tail -1) + 1))"
	grep -q "first vm: exit status 137" "$T/tool.log" && ok "$from: checkpoint without leave_running destroys the VM (137)" ||
		bad "$from: checkpointed VM destroyed" "$(cat "$T/tool.log")"
done
# The stream is QEMU's own, whichever backend wrote it: libvirt's save-image header (magic
# "LibvirtQemudSave") would come first otherwise.
eq "a libvirt snapshot's state is QEMU's raw migration stream (magic QEVM)" \
	"$(head -c 4 "$T/cycle-libvirt-qemu/snap/qemu.state")" QEVM
# Live migration between two libvirt domains, over TCP in libvirtd's network namespace.
port=$(free_port)
if tool migrate --accel "$ACCEL" --backend libvirt --dir "$T/mig" --port "$port" --lines 5 --more 5 "$T/counter"; then
	ok "snapshot-tool migrate on libvirt: live, over TCP ($(grep -o 'total.*' "$T/tool.log"))"
else
	bad "snapshot-tool migrate on libvirt" "$(cat "$T/tool.log")"
fi
cat "$T/mig/first.out" "$T/mig/second.out" >"$T/mig/both.out" 2>/dev/null
eq "the destination domain counts on from where the source was (no gap, no repeat)" "$(consecutive "$T/mig/both.out")" yes
port=$(free_port)
if KUMO_VM_MIGRATE_MAX_BANDWIDTH=200000 tool migrate --accel "$ACCEL" --backend libvirt --dir "$T/mig2" \
	--port "$port" --lines 5 --kill-dest 300 "$T/counter"; then
	ok "libvirt: a destination killed mid-migration leaves the source running"
else
	bad "libvirt: a destination killed mid-migration leaves the source running" "$(cat "$T/tool.log")"
fi
grep -q "it goes on running here" "$T/tool.log" && ok "libvirt: the error says the source goes on" ||
	bad "libvirt: the error says the source goes on" "$(cat "$T/tool.log")"
eq "libvirt: the source's counts have no gap" "$(consecutive "$T/mig2/first.out")" yes

# ---- through kumod on libvirt ---------------------------------------------------------------
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
"$BIN/kumo" push "$APPS/app_counter.wasm" "$REG/counter:v1" >"$T/push.log" 2>&1 ||
	bad "kumo push counter" "$(cat "$T/push.log")"
# start_kumod SOCKET ROOT BACKEND: a kumod with per-container VMs; KPID (SOCK) or K2PID.
start_kumod() {
	"$BIN/kumod" --socket "$1" --root "$2" --accel "$ACCEL" --vm-backend "$3" --pod-vm false \
		--cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --log-level debug 2>>"$T/kumod-$3.log" &
	if [ "$1" = "$SOCK" ]; then KPID=$!; else K2PID=$!; fi
	for _ in $(seq 200); do "$BIN/kumo-crictl" --socket "$1" Version >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
# counter_pod NAME UID: a pod with a running counter logging to $T/logs/NAME/counter.log;
# sets POD, CID, LOG once it has counted to 5.
counter_pod() {
	call "RunPodSandbox $1" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"$1\",\"uid\":\"$2\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/$1\"}}"
	POD=$(jq -r .pod_sandbox_id <<<"$OUT")
	call "CreateContainer $1" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"0\",\"20\"],\"log_path\":\"counter.log\"}}"
	CID=$(jq -r .container_id <<<"$OUT")
	call "StartContainer $1" StartContainer "{\"container_id\":\"$CID\"}"
	LOG=$T/logs/$1/counter.log
	for _ in $(seq 600); do [ "$(counting "$LOG" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
}
state_of() { crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null | jq -r .status.state; }

start_kumod "$SOCK" "$T/root" libvirt || { bad "kumod --vm-backend libvirt starts" "$(tail -5 "$T/kumod-libvirt.log")"; finish; }
call "PullImage counter" PullImage "{\"image\":{\"image\":\"$REG/counter:v1\"}}"
counter_pod counter u1
DOMAIN=$(lv_domains "$T/root")
eq "the container runs as a libvirt domain" "$(virsh_ domstate "$DOMAIN" 2>/dev/null)" running

# CheckpointContainer (kubelet's checkpoint API): the container keeps running.
call "CheckpointContainer" CheckpointContainer "{\"container_id\":\"$CID\",\"location\":\"$T/ctr.kumo\"}"
eq "the archive is a tar whose first member is the manifest" "$(tar tf "$T/ctr.kumo" 2>/dev/null | head -1)" manifest.json
eq "it holds the VM's migration stream and kumo's records" \
	"$(tar tf "$T/ctr.kumo" | grep -E '^(vm/qemu.state|records/container.json)$' | sort | tr '\n' ' ')" \
	"records/container.json vm/qemu.state "
eq "vm/qemu.state is QEMU's raw stream (magic QEVM), not libvirt's save image" "$(tar xOf "$T/ctr.kumo" vm/qemu.state | head -c 4)" QEVM
before=$(counting "$LOG" | tail -1)
sleep 0.5
eq "after CheckpointContainer the container still runs" "$(state_of "$CID")" CONTAINER_RUNNING
eq "and still counts" "$([ "$(counting "$LOG" | tail -1)" -gt "$before" ] && echo yes)" yes
eq "its domain runs again (libvirt's state, not paused)" "$(virsh_ domstate "$DOMAIN" 2>/dev/null)" running

# kumo checkpoint --stop: saved and stopped, so the log ends exactly at the checkpoint.
if "$BIN/kumo" checkpoint "${POD:0:12}" -o "$T/pod.kumo" --stop --socket "$SOCK" 2>"$T/ck.err"; then
	ok "kumo checkpoint POD -o FILE --stop"
else
	bad "kumo checkpoint" "$(cat "$T/ck.err")"
fi
for _ in $(seq 100); do [ "$(state_of "$CID")" = CONTAINER_EXITED ] && break; sleep 0.1; done
eq "the checkpointed container is stopped" "$(state_of "$CID")" CONTAINER_EXITED
eq "its domain is gone" "$(virsh_ domstate "$DOMAIN" >/dev/null 2>&1 && echo there || echo gone)" gone
last=$(counting "$LOG" | tail -1)
snap_pod_remove "$POD"

# kumo restore: a new pod, the counter going on from where it was saved, in the same log.
if "$BIN/kumo" restore "$T/pod.kumo" --socket "$SOCK" >"$T/r.out" 2>"$T/r.err"; then
	ok "kumo restore FILE"
else
	bad "kumo restore" "$(cat "$T/r.err")"
fi
POD2=$(sed -n 1p "$T/r.out")
CID2=$(sed -n 2p "$T/r.out")
eq "the restored container runs" "$(state_of "$CID2")" CONTAINER_RUNNING
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((last + 5)) ] && break; sleep 0.1; done
eq "it counts on from the checkpoint: the log's counts go on with no gap or repeat" "$(consecutive "$LOG")" yes
eq "its first count after the restore follows the checkpoint's last" \
	"$(counting "$LOG" | awk -v l="$last" '$1 > l {print; exit}')" "$((last + 1))"
eq "the restored VM is a libvirt domain" "$(lv_domains "$T/root" | wc -l)" 1
# kumod killed and started again: the restored domain is found again like any other.
kumod_kill
start_kumod "$SOCK" "$T/root" libvirt || bad "kumod restarts" "$(tail -5 "$T/kumod-libvirt.log")"
eq "after kill -9 of kumod the restored container is still running" "$(state_of "$CID2")" CONTAINER_RUNNING
now=$(counting "$LOG" | tail -1)
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((now + 5)) ] && break; sleep 0.1; done
eq "and its log goes on with no gap or repeat" "$(consecutive "$LOG")" yes
snap_pod_remove "$POD2"

# A web server pod on libvirt: checkpointed, removed, restored at the same address (its
# tap handed to libvirtd's namespace again for the new domain), serving the same file; a
# client's keep-alive connection opened before the checkpoint goes on after the restore.
snap_web_image
snap_web_restore "libvirt" web u7

# The libvirt archive restored by a QEMU-direct kumod: CreateContainer with the archive as
# its image, in a pod of the caller's (its own log).
start_kumod "$T/kq.sock" "$T/root-q" qemu || bad "kumod --vm-backend qemu starts" "$(tail -5 "$T/kumod-qemu.log")"
at_exit 'kill -9 $K2PID 2>/dev/null; wait $K2PID 2>/dev/null'
crictlq() { "$BIN/kumo-crictl" --socket "$T/kq.sock" --timeout 120 "$@"; }
if OUT=$(crictlq RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"onqemu\",\"uid\":\"u3\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/onqemu\"}}" 2>"$T/err") &&
	PQ=$(jq -r .pod_sandbox_id <<<"$OUT") &&
	OUT=$(crictlq CreateContainer "{\"pod_sandbox_id\":\"$PQ\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$T/pod.kumo\"},\"log_path\":\"counter.log\"}}" 2>"$T/err") &&
	crictlq StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}" >/dev/null 2>"$T/err"; then
	ok "a QEMU-direct kumod restores the libvirt archive (CreateContainer with it as image)"
else
	bad "a QEMU-direct kumod restores the libvirt archive" "$(cat "$T/err")"
fi
LQ=$T/logs/onqemu/counter.log
for _ in $(seq 300); do [ "$(counting "$LQ" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
eq "on QEMU-direct it counts on from the libvirt checkpoint ($((last + 1)), ...)" "$(counts_from "$LQ" $((last + 1)))" yes
eq "that VM is QEMU-direct's (a qemu.pid in its run directory)" "$(ls "$T"/root-q/vms/*/qemu.pid 2>/dev/null | wc -l)" 1

# The reverse: a counter on QEMU-direct checkpointed, restored by the libvirt kumod.
if crictlq PullImage "{\"image\":{\"image\":\"$REG/counter:v1\"}}" >/dev/null 2>"$T/err" &&
	OUT=$(crictlq RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"fromqemu\",\"uid\":\"u4\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/fromqemu\"}}" 2>"$T/err") &&
	PQ2=$(jq -r .pod_sandbox_id <<<"$OUT") &&
	OUT=$(crictlq CreateContainer "{\"pod_sandbox_id\":\"$PQ2\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"0\",\"20\"],\"log_path\":\"counter.log\"}}" 2>"$T/err") &&
	CQ2=$(jq -r .container_id <<<"$OUT") &&
	crictlq StartContainer "{\"container_id\":\"$CQ2\"}" >/dev/null 2>"$T/err"; then
	ok "a counter runs on the QEMU-direct kumod"
else
	bad "a counter runs on the QEMU-direct kumod" "$(cat "$T/err")"
fi
LQ2=$T/logs/fromqemu/counter.log
for _ in $(seq 600); do [ "$(counting "$LQ2" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
if "$BIN/kumo" checkpoint "$PQ2" -o "$T/q.kumo" --stop --socket "$T/kq.sock" 2>"$T/ck.err"; then
	ok "kumo checkpoint --stop on QEMU-direct"
else
	bad "kumo checkpoint --stop on QEMU-direct" "$(cat "$T/ck.err")"
fi
lastq=$(counting "$LQ2" | tail -1)
call "RunPodSandbox for the QEMU-direct archive" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"onlibvirt\",\"uid\":\"u5\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/onlibvirt\"}}"
PL=$(jq -r .pod_sandbox_id <<<"$OUT")
call "CreateContainer with the QEMU-direct archive as image" CreateContainer "{\"pod_sandbox_id\":\"$PL\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$T/q.kumo\"},\"log_path\":\"counter.log\"}}"
call "StartContainer restored on libvirt" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
LL=$T/logs/onlibvirt/counter.log
for _ in $(seq 300); do [ "$(counting "$LL" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
eq "on libvirt it counts on from the QEMU-direct checkpoint ($((lastq + 1)), ...)" "$(counts_from "$LL" $((lastq + 1)))" yes
for p in $(crictlq ListPodSandbox '{}' | jq -r '.items[]?.id'); do
	crictlq StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
	crictlq RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
done
kill "$K2PID"; wait "$K2PID" 2>/dev/null
snap_pod_remove "$PL"

# kumo migrate between two libvirt kumods (one libvirtd: both QEMUs in its namespace).
start_kumod "$T/kl2.sock" "$T/root-l2" libvirt || bad "a second libvirt kumod starts" "$(tail -5 "$T/kumod-libvirt.log")"
counter_pod mover u6
if "$BIN/kumo" migrate "$POD" --to "$T/kl2.sock" --socket "$SOCK" --work-dir "$T" >"$T/m.out" 2>"$T/m.err"; then
	ok "kumo migrate POD --to SOCKET between libvirt kumods ($(grep -o 'describe.*' "$T/m.err"))"
else
	bad "kumo migrate between libvirt kumods" "$(cat "$T/m.err")"
fi
PM=$(head -1 "$T/m.out")
eq "the source pod is gone" "$(crictl ListPodSandbox '{}' | jq '[.items[]? | select(.id == "'"$POD"'")] | length')" 0
crictl2() { "$BIN/kumo-crictl" --socket "$T/kl2.sock" --timeout 60 "$@"; }
eq "the destination runs the pod" \
	"$(crictl2 ListContainers "{\"filter\":{\"pod_sandbox_id\":\"$PM\"}}" | jq -r '.containers[0].state')" CONTAINER_RUNNING
n=$(counting "$LOG" | tail -1)
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((n + 5)) ] && break; sleep 0.1; done
eq "it counts on from where it was: the log's counts have no gap or repeat" "$(consecutive "$LOG")" yes
crictl2 StopPodSandbox "{\"pod_sandbox_id\":\"$PM\"}" >/dev/null 2>&1
crictl2 RemovePodSandbox "{\"pod_sandbox_id\":\"$PM\"}" >/dev/null 2>&1
kill "$K2PID"; wait "$K2PID" 2>/dev/null

eq "no restore work directory is left" "$(ls "$T/root/restores" 2>/dev/null | wc -l)" 0
kumod_kill
eq "no domain of this test is left" "$(cat <(lv_domains "$T/root") <(lv_domains "$T/root-l2") | wc -l)" 0
finish
