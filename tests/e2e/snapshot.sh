#!/usr/bin/env bash
# tests/e2e/snapshot.sh - snapshots (issue 18) end to end: vmm/ alone (snapshot-tool: a
# counter VM checkpointed, destroyed, restored, counting on), then through kumod's CRI
# socket with the kumo CLI, first with per-container VMs (--pod-vm false): a counter pod
# checkpointed (`kumo checkpoint --stop`), its pod removed, restored (`kumo restore`) and
# counting on from where it was in the same CRI log; CheckpointContainer leaving it
# running; a tampered archive, a truncated one, one of another format version and one
# of another kernel build refused with clear errors, nothing restored; a pod with a live
# mount refused (a container VM's kernel cannot let go of its 9p share, which QEMU 7.2
# cannot migrate); a web pod and live migration. Then pod VMs (the default): a counter
# writing a hostPath volume through one fd, CheckpointContainer leaving the pod going
# (QUIESCE/RESUME around the save), `kumo checkpoint --stop`, `kumo restore`: the count
# goes on in the log and in the file at its offset; kumod killed and back; pod VM
# archives altered or truncated, and archives of the other kind, refused. Last, pod VMs
# started from a snapshot (--pod-vm-snapshot-start true): three pods, three distinct
# random values, addresses and boot ids, each counting its instances from 1; a web
# server reached at its address; a template that does not load, the pod booted instead.
# Prints `snapshot: N passed, N failed`.
set -u
# kumod's real backend gives pods their network from CNI and binds mounts: in network and
# mount namespaces of this script's own they never touch the machine's.
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
cri_suite snapshot 120
at_exit 'umount -l "$T/netns" 2>/dev/null; umount -l "$T"/root*/pod-templates/netns 2>/dev/null'
# VMs outlive kumod by design: a run that fails half-way must not leave its QEMUs behind.
at_exit 'for f in "$T"/root*/vms/*/qemu.pid "$T"/*/run*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done'
TOOL=$BUILD/tests/support/snapshot-tool
for f in "$APPS/app_counter.wasm" "$TOOL"; do
	[ -f "$f" ] || { bad "prerequisite" "missing $f (make test-prereqs)"; finish; }
done
kumo_accel; ACCEL=$accel


# ---- vmm/ alone --------------------------------------------------------------------------
"$BIN/kumo" build "$APPS/app_counter.wasm" -o "$T/counter" -- 0 20 >"$T/build.log" 2>&1 ||
	bad "kumo build counter" "$(cat "$T/build.log")"
if "$TOOL" cycle --accel "$ACCEL" --dir "$T/cycle" --lines 5 --more 5 "$T/counter" >"$T/cycle.log" 2>&1; then
	ok "snapshot-tool cycle: checkpoint, destroy, restore"
else
	bad "snapshot-tool cycle" "$(cat "$T/cycle.log")"
fi
cat "$T/cycle/first.out" "$T/cycle/second.out" >"$T/cycle/both.out" 2>/dev/null
eq "the restored VM counts on from the checkpoint (1, 2, ... no gap, no repeat)" \
	"$(consecutive "$T/cycle/both.out")" yes
# A line the save cut in half ends in second.out: its count is the first VM's, and the
# restored VM's first whole line of its own is the one after it.
cut=0; [ -s "$T/cycle/first.out" ] && [ -n "$(tail -c 1 "$T/cycle/first.out")" ] && cut=1
eq "the restored VM wrote its own lines" "$(counting "$T/cycle/second.out" | head -1)" \
	"$(($(counting "$T/cycle/first.out" | tail -1) + 1 + cut))"
grep -q "first vm: exit status 137" "$T/cycle.log" && ok "checkpoint without leave_running destroys the VM (137)" ||
	bad "checkpointed VM destroyed" "$(cat "$T/cycle.log")"

# Live migration through vmm/: pre-copy over TCP into a second VM listening on loopback.
port=$(free_port)
if "$TOOL" migrate --accel "$ACCEL" --dir "$T/mig" --port "$port" --lines 5 --more 5 "$T/counter" >"$T/mig.log" 2>&1; then
	ok "snapshot-tool migrate: live, over TCP ($(grep -o 'total.*' "$T/mig.log"))"
else
	bad "snapshot-tool migrate" "$(cat "$T/mig.log")"
fi
cat "$T/mig/first.out" "$T/mig/second.out" >"$T/mig/both.out" 2>/dev/null
eq "the destination counts on from where the source was (no gap, no repeat)" "$(consecutive "$T/mig/both.out")" yes
# A destination killed half-way (the migration slowed to 200 kB/s): the source goes on.
port=$(free_port)
if KUMO_VM_MIGRATE_MAX_BANDWIDTH=200000 "$TOOL" migrate --accel "$ACCEL" --dir "$T/mig2" --port "$port" \
	--lines 5 --kill-dest 300 "$T/counter" >"$T/mig2.log" 2>&1; then
	ok "a destination killed mid-migration leaves the source running"
else
	bad "a destination killed mid-migration leaves the source running" "$(cat "$T/mig2.log")"
fi
grep -q "it goes on running here" "$T/mig2.log" && ok "the error says the source goes on" ||
	bad "the error says the source goes on" "$(cat "$T/mig2.log")"
eq "the source's counts have no gap" "$(consecutive "$T/mig2/first.out")" yes

# ---- through kumod ------------------------------------------------------------------------
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
"$BIN/kumo" push "$APPS/app_counter.wasm" "$REG/counter:v1" >"$T/push.log" 2>&1 ||
	bad "kumo push counter" "$(cat "$T/push.log")"
# First per-container VMs (--pod-vm false); pod VMs (the default) further down.
start_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/root" --accel "$ACCEL" --pod-vm false --cni-conf-dir "$T/net.d" \
		--netns-dir "$T/netns" --log-level debug 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
start_kumod
call "PullImage counter" PullImage "{\"image\":{\"image\":\"$REG/counter:v1\"}}"

LOGDIR=$T/logs/pod1
call "RunPodSandbox" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"counter\",\"uid\":\"u1\",\"namespace\":\"n\"},\"log_directory\":\"$LOGDIR\"}}"
POD=$(jq -r .pod_sandbox_id <<<"$OUT")
call "CreateContainer counter" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"0\",\"20\"],\"log_path\":\"counter.log\"}}"
CID=$(jq -r .container_id <<<"$OUT")
call "StartContainer counter" StartContainer "{\"container_id\":\"$CID\"}"
LOG=$LOGDIR/counter.log
for _ in $(seq 600); do [ "$(counting "$LOG" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done

# CheckpointContainer (kubelet's checkpoint API): the container keeps running.
call "CheckpointContainer" CheckpointContainer "{\"container_id\":\"$CID\",\"location\":\"$T/ctr.kumo\"}"
eq "the archive is a tar whose first member is the manifest" "$(tar tf "$T/ctr.kumo" 2>/dev/null | head -1)" manifest.json
eq "its manifest: format and version" "$(tar xOf "$T/ctr.kumo" manifest.json | jq -r '.format + " " + (.version|tostring)')" "kumo-snapshot 1"
eq "its manifest names the module's digest" "$(tar xOf "$T/ctr.kumo" manifest.json | jq -r '.modules[0]' | cut -c1-7)" sha256:
eq "its records: pod, container, kumo" "$(tar tf "$T/ctr.kumo" | grep '^records/' | sort | tr '\n' ' ')" \
	"records/container.json records/kumo.json records/pod.json "
before=$(counting "$LOG" | tail -1)
sleep 0.5
eq "after CheckpointContainer the container still runs" \
	"$(crictl ContainerStatus "{\"container_id\":\"$CID\"}" | jq -r .status.state)" CONTAINER_RUNNING
eq "and still counts" "$([ "$(counting "$LOG" | tail -1)" -gt "$before" ] && echo yes)" yes

# kumo checkpoint --stop: saved and stopped, so the log ends exactly at the checkpoint.
if "$BIN/kumo" checkpoint "${POD:0:12}" -o "$T/pod.kumo" --stop --socket "$SOCK" 2>"$T/ck.err"; then
	ok "kumo checkpoint POD -o FILE --stop"
else
	bad "kumo checkpoint" "$(cat "$T/ck.err")"
fi
for _ in $(seq 100); do
	[ "$(crictl ContainerStatus "{\"container_id\":\"$CID\"}" | jq -r .status.state)" = CONTAINER_EXITED ] && break
	sleep 0.1
done
eq "the checkpointed container is stopped" \
	"$(crictl ContainerStatus "{\"container_id\":\"$CID\"}" | jq -r .status.state)" CONTAINER_EXITED
last=$(counting "$LOG" | tail -1)
call "StopPodSandbox" StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
call "RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"

# Bad archives, each refused with its reason, none restoring anything.
cp "$T/pod.kumo" "$T/tampered.kumo"
off=$(python3 -c "import sys,tarfile;t=tarfile.open(sys.argv[1]);m=t.getmember('vm/qemu.state');print(m.offset_data+m.size//2)" "$T/tampered.kumo")
printf '\xff' | dd of="$T/tampered.kumo" bs=1 seek="$off" conv=notrunc status=none
if "$BIN/kumo" restore "$T/tampered.kumo" --socket "$SOCK" >/dev/null 2>"$T/r.err"; then
	bad "a tampered archive is refused" "it was restored"
else
	ERR=$(cat "$T/r.err")
	says "a tampered archive is refused, naming the member" "member \`vm/qemu.state\` has digest"
fi
head -c $(($(stat -c %s "$T/pod.kumo") / 2)) "$T/pod.kumo" >"$T/truncated.kumo"
code "a truncated archive is refused" InvalidArgument RestorePod "{\"checkpoint_path\":\"$T/truncated.kumo\"}"
says "it says so" "truncated"
python3 - "$T/pod.kumo" "$T/v2.kumo" <<'PY'
import io, json, sys, tarfile
src, dst = tarfile.open(sys.argv[1]), tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT)
for m in src.getmembers():
    data = src.extractfile(m).read()
    if m.name == "manifest.json":
        j = json.loads(data); j["version"] = 2; data = json.dumps(j).encode()
        m.size = len(data)
    dst.addfile(m, io.BytesIO(data))
dst.close()
PY
code "an archive of format version 2 is refused" Unimplemented RestorePod "{\"checkpoint_path\":\"$T/v2.kumo\"}"
says "it names both versions" "has format version 2, this kumo reads version 1"
python3 - "$T/pod.kumo" "$T/kernel2.kumo" <<'PY'
import io, json, sys, tarfile
src, dst = tarfile.open(sys.argv[1]), tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT)
for m in src.getmembers():
    data = src.extractfile(m).read()
    if m.name == "manifest.json":
        j = json.loads(data); j["kernel_id"] = "sha256:" + "0" * 64; data = json.dumps(j).encode()
        m.size = len(data)
    dst.addfile(m, io.BytesIO(data))
dst.close()
PY
code "an archive of another kernel build is refused" FailedPrecondition RestorePod "{\"checkpoint_path\":\"$T/kernel2.kumo\"}"
says "it names the builds" "was made with kernel build \`sha256:0000"
eq "no pod was left by the refused restores" "$(crictl ListPodSandbox '{}' | jq '.items | length')" 0

# kumo restore: a new pod, the counter going on from where it was saved.
if "$BIN/kumo" restore "$T/pod.kumo" --socket "$SOCK" >"$T/r.out" 2>"$T/r.err"; then
	ok "kumo restore FILE"
else
	bad "kumo restore" "$(cat "$T/r.err")"
fi
POD2=$(sed -n 1p "$T/r.out")
CID2=$(sed -n 2p "$T/r.out")
eq "the restored container runs" \
	"$(crictl ContainerStatus "{\"container_id\":\"$CID2\"}" 2>/dev/null | jq -r .status.state)" CONTAINER_RUNNING
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((last + 5)) ] && break; sleep 0.1; done
eq "it counts on from the checkpoint: the log's counts go on with no gap or repeat" \
	"$(consecutive "$LOG" )" yes
eq "the restored pod has the archived pod's name" \
	"$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$POD2\"}" | jq -r .status.metadata.name)" counter
# kumod killed and started again: the restored VM is found again like any other.
kumod_kill
start_kumod
eq "after kill -9 of kumod the restored container is still running" \
	"$(crictl ContainerStatus "{\"container_id\":\"$CID2\"}" 2>/dev/null | jq -r .status.state)" CONTAINER_RUNNING
now=$(counting "$LOG" | tail -1)
for _ in $(seq 300); do [ "$(counting "$LOG" | tail -1)" -ge $((now + 5)) ] && break; sleep 0.1; done
eq "and its log goes on with no gap or repeat" "$(consecutive "$LOG")" yes
call "StopPodSandbox restored" StopPodSandbox "{\"pod_sandbox_id\":\"$POD2\"}"
call "RemovePodSandbox restored" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD2\"}"

# A web server pod: checkpointed, removed, restored at the same address (the guest keeps
# the address it had, RestorePod asks the network for it again), serving the same files;
# a client's keep-alive connection opened before the checkpoint goes on after the restore.
snap_web_image
snap_web_restore "web pod" web u7

# CreateContainer whose image is the archive's path (as CRI-O takes a checkpoint archive):
# the container is restored into the pod kubelet made, with kubelet's config.
call "RunPodSandbox for a restore through CreateContainer" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"viacri\",\"uid\":\"u6\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/pod6\"}}"
POD6=$(jq -r .pod_sandbox_id <<<"$OUT")
call "CreateContainer with image = the archive" CreateContainer "{\"pod_sandbox_id\":\"$POD6\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$T/pod.kumo\"},\"log_path\":\"counter.log\"}}"
CID6=$(jq -r .container_id <<<"$OUT")
call "StartContainer restored" StartContainer "{\"container_id\":\"$CID6\"}"
LOG6=$T/logs/pod6/counter.log
for _ in $(seq 300); do [ "$(counting "$LOG6" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
eq "its first count follows the checkpoint's last" "$(counting "$LOG6" | head -1)" "$((last + 1))"
eq "and it counts on" "$(counting "$LOG6" | awk -v s=$((last + 1)) 'BEGIN{r="yes"} $1!=s+NR-1{r="no"} END{print (NR >= 5 ? r : "too few")}')" yes
code "CreateContainer with a tampered archive as image" InvalidArgument CreateContainer "{\"pod_sandbox_id\":\"$POD6\",\"config\":{\"metadata\":{\"name\":\"bad\"},\"image\":{\"image\":\"$T/tampered.kumo\"}}}"
says "it names the damaged member" "vm/qemu.state"
call "StopPodSandbox viacri" StopPodSandbox "{\"pod_sandbox_id\":\"$POD6\"}"
call "RemovePodSandbox viacri" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD6\"}"

# A pod with a live mount: the guest has the 9p share mounted, which QEMU 7.2 cannot migrate.
mkdir -p "$T/vol"
call "RunPodSandbox mounted" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"mounted\",\"uid\":\"u2\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/pod2\"}}"
POD3=$(jq -r .pod_sandbox_id <<<"$OUT")
call "CreateContainer with a mount" CreateContainer "{\"pod_sandbox_id\":\"$POD3\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"0\",\"20\"],\"log_path\":\"counter.log\",\"mounts\":[{\"container_path\":\"/data\",\"host_path\":\"$T/vol\"}]}}"
CID3=$(jq -r .container_id <<<"$OUT")
call "StartContainer with a mount" StartContainer "{\"container_id\":\"$CID3\"}"
for _ in $(seq 600); do [ "$(counting "$T/logs/pod2/counter.log" 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.1; done
code "a pod with a live mount is refused" FailedPrecondition CheckpointPod "{\"pod_sandbox_id\":\"$POD3\",\"output_path\":\"$T/mounted.kumo\"}"
says "it says why" "host share mounted"
eq "and keeps running" "$(crictl ContainerStatus "{\"container_id\":\"$CID3\"}" | jq -r .status.state)" CONTAINER_RUNNING
call "StopPodSandbox mounted" StopPodSandbox "{\"pod_sandbox_id\":\"$POD3\"}"
call "RemovePodSandbox mounted" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD3\"}"
# kumo migrate: a running counter pod moved live to a second kumod (the same network list,
# so the pod gets that kumod's next address), counting on in the same CRI log.
"$BIN/kumod" --socket "$T/kumo2.sock" --root "$T/root2" --accel "$ACCEL" --pod-vm false --cni-conf-dir "$T/net.d" \
	--netns-dir "$T/netns" --log-level debug 2>"$T/kumod2.log" &
K2PID=$!
at_exit 'kill -9 $K2PID 2>/dev/null; wait $K2PID 2>/dev/null'
for _ in $(seq 200); do "$BIN/kumo-crictl" --socket "$T/kumo2.sock" Version >/dev/null 2>&1 && break; sleep 0.05; done
LOG4=$T/logs/pod4/counter.log
call "RunPodSandbox to migrate" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"mover\",\"uid\":\"u4\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/pod4\"}}"
POD4=$(jq -r .pod_sandbox_id <<<"$OUT")
call "CreateContainer to migrate" CreateContainer "{\"pod_sandbox_id\":\"$POD4\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"0\",\"20\"],\"log_path\":\"counter.log\"}}"
call "StartContainer to migrate" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
for _ in $(seq 600); do [ "$(counting "$LOG4" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
if "$BIN/kumo" migrate "$POD4" --to "$T/kumo2.sock" --socket "$SOCK" --work-dir "$T" >"$T/m.out" 2>"$T/m.err"; then
	ok "kumo migrate POD --to SOCKET ($(grep -o 'describe.*' "$T/m.err"))"
else
	bad "kumo migrate" "$(cat "$T/m.err")"
fi
POD5=$(head -1 "$T/m.out")
crictl2() { "$BIN/kumo-crictl" --socket "$T/kumo2.sock" --timeout 60 "$@"; }
eq "the source pod is gone" "$(crictl ListPodSandbox '{}' | jq '[.items[]? | select(.id == "'"$POD4"'")] | length')" 0
eq "the destination runs the pod" \
	"$(crictl2 ListContainers "{\"filter\":{\"pod_sandbox_id\":\"$POD5\"}}" | jq -r '.containers[0].state')" CONTAINER_RUNNING
n=$(counting "$LOG4" | tail -1)
for _ in $(seq 300); do [ "$(counting "$LOG4" | tail -1)" -ge $((n + 5)) ] && break; sleep 0.1; done
eq "it counts on from where it was: the log's counts have no gap or repeat" "$(consecutive "$LOG4")" yes
eq "the migration left no description archive" "$(ls "$T"/kumo-migrate-*.kumo 2>/dev/null | wc -l)" 0
"$BIN/kumo-crictl" --socket "$T/kumo2.sock" StopPodSandbox "{\"pod_sandbox_id\":\"$POD5\"}" >/dev/null 2>&1
"$BIN/kumo-crictl" --socket "$T/kumo2.sock" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD5\"}" >/dev/null 2>&1
kill "$K2PID"; wait "$K2PID" 2>/dev/null

eq "no restore work directory is left" "$(ls "$T/root/restores" 2>/dev/null | wc -l)" 0
eq "no snapshot directory is left" "$(ls -d "$T/root/vms"/snapshot-* 2>/dev/null | wc -l)" 0
kumod_kill

# ---- pod VMs (the default: a pod is one VM; QUIESCE/RESUME around the save) --------------
SOCK=$T/kumop.sock
start_podvm_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/rootp" --accel "$ACCEL" --cni-conf-dir "$T/net.d" \
		--netns-dir "$T/netns" --log-level debug 2>>"$T/kumodp.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
start_podvm_kumod
call "pod VM: PullImage counter" PullImage "{\"image\":{\"image\":\"$REG/counter:v1\"}}"
mkdir -p "$T/pvol"
LOGP=$T/logs/pv1
call "pod VM: RunPodSandbox" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"pvcounter\",\"uid\":\"p1\",\"namespace\":\"n\"},\"log_directory\":\"$LOGP\"}}"
PP=$(jq -r .pod_sandbox_id <<<"$OUT")
call "pod VM: CreateContainer counter writing its volume" CreateContainer "{\"pod_sandbox_id\":\"$PP\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"0\",\"30\",\"/data/count.txt\"],\"log_path\":\"counter.log\",\"mounts\":[{\"container_path\":\"/data\",\"host_path\":\"$T/pvol\"}]}}"
PC=$(jq -r .container_id <<<"$OUT")
call "pod VM: StartContainer" StartContainer "{\"container_id\":\"$PC\"}"
LP=$LOGP/counter.log
for _ in $(seq 600); do [ "$(counting "$LP" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
pre=$(counting "$LP" | tail -1)
call "pod VM: CheckpointContainer (the whole pod VM, which goes on)" CheckpointContainer "{\"container_id\":\"$PC\",\"location\":\"$T/pvc.kumo\"}"
eq "its records: the pod, its containers, kumo's, the VM stage's" \
	"$(tar tf "$T/pvc.kumo" | grep '^records/' | sort | tr '\n' ' ')" \
	"records/containers.json records/kumo.json records/pod.json records/podvm-com1.bin records/podvm.json "
eq "kumo.json says it is a pod VM with 1 container" "$(tar xOf "$T/pvc.kumo" records/kumo.json | jq -r '"\(.pod_vm) \(.containers)"')" "true 1"
eq "its manifest names the module's digest" "$(tar xOf "$T/pvc.kumo" manifest.json | jq -r '.modules[0]' | cut -c1-7)" sha256:
before=$(counting "$LP" | tail -1)
sleep 0.6
eq "after CheckpointContainer the container still runs" \
	"$(crictl ContainerStatus "{\"container_id\":\"$PC\"}" | jq -r .status.state)" CONTAINER_RUNNING
after=$(counting "$LP" | tail -1)
eq "and still counts" "$([ "$after" -gt "$before" ] && echo yes)" yes
eq "and its volume file still grows, line after line (its fd came back)" "$(consecutive "$T/pvol/count.txt")" yes
if "$BIN/kumo" checkpoint "${PP:0:12}" -o "$T/pv.kumo" --stop --socket "$SOCK" 2>"$T/ck.err"; then
	ok "pod VM: kumo checkpoint POD -o FILE --stop"
else
	bad "pod VM: kumo checkpoint" "$(cat "$T/ck.err")"
fi
for _ in $(seq 100); do
	[ "$(crictl ContainerStatus "{\"container_id\":\"$PC\"}" | jq -r .status.state)" = CONTAINER_EXITED ] && break
	sleep 0.1
done
eq "the checkpointed pod's container is stopped" \
	"$(crictl ContainerStatus "{\"container_id\":\"$PC\"}" | jq -r .status.state)" CONTAINER_EXITED
lastp=$(counting "$LP" | tail -1)
# The app prints a count, then writes it to the file: the save may pause it in between.
lastf=$(counting "$T/pvol/count.txt" | tail -1)
eq "its volume file ends where its log does (or one count before: paused between the two writes)" \
	"$([ "$lastf" = "$lastp" ] || [ "$lastf" = "$((lastp - 1))" ] && echo yes)" yes
call "pod VM: StopPodSandbox" StopPodSandbox "{\"pod_sandbox_id\":\"$PP\"}"
call "pod VM: RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$PP\"}"
if "$BIN/kumo" restore "$T/pv.kumo" --socket "$SOCK" >"$T/rp.out" 2>"$T/rp.err"; then
	ok "pod VM: kumo restore FILE"
else
	bad "pod VM: kumo restore" "$(cat "$T/rp.err")"
fi
PP2=$(sed -n 1p "$T/rp.out")
PC2=$(sed -n 2p "$T/rp.out")
eq "the restored pod VM's container runs" \
	"$(crictl ContainerStatus "{\"container_id\":\"$PC2\"}" 2>/dev/null | jq -r .status.state)" CONTAINER_RUNNING
for _ in $(seq 300); do [ "$(counting "$LP" | tail -1)" -ge $((lastp + 5)) ] && break; sleep 0.1; done
eq "it counts on from the checkpoint: the log's counts go on with no gap or repeat" "$(consecutive "$LP")" yes
eq "its volume file, open across the save, is written on at its offset (no gap or repeat)" \
	"$(consecutive "$T/pvol/count.txt")" yes
eq "and has grown past the checkpoint" "$([ "$(counting "$T/pvol/count.txt" | tail -1)" -gt "$lastp" ] && echo yes)" yes
eq "the restored pod has the archived pod's name" \
	"$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$PP2\"}" | jq -r .status.metadata.name)" pvcounter
# kumod killed and started again: the restored pod VM is found again like any other.
kumod_kill
start_podvm_kumod
eq "after kill -9 of kumod the restored pod VM's container still runs" \
	"$(crictl ContainerStatus "{\"container_id\":\"$PC2\"}" 2>/dev/null | jq -r .status.state)" CONTAINER_RUNNING
now=$(counting "$LP" | tail -1)
for _ in $(seq 300); do [ "$(counting "$LP" | tail -1)" -ge $((now + 5)) ] && break; sleep 0.1; done
eq "and its log goes on with no gap or repeat" "$(consecutive "$LP")" yes
# Live migration of pod VMs between two nodes is tests/e2e/migrate.sh; here its errors.
code "pod VM: a live migration without the hand-over's path is refused" InvalidArgument CheckpointPod \
	"{\"pod_sandbox_id\":\"$PP2\",\"options\":{\"migrate_to\":\"tcp:127.0.0.1:1\"}}"
says "it says what it needs" "output_path"
code "pod VM: a live migration to a port nobody listens on fails" Internal CheckpointPod \
	"{\"pod_sandbox_id\":\"$PP2\",\"output_path\":\"$T/nowhere.tail\",\"options\":{\"migrate_to\":\"tcp:127.0.0.1:1\"}}"
says "it says the pod goes on" "goes on running here"
now=$(counting "$LP" | tail -1)
for _ in $(seq 300); do [ "$(counting "$LP" | tail -1)" -ge $((now + 3)) ] && break; sleep 0.1; done
eq "and it does: its log and its volume file go on with no gap or repeat" \
	"$(consecutive "$LP") $(consecutive "$T/pvol/count.txt")" "yes yes"
code "pod VM: a migration's RestorePod without the hand-over's path is refused" InvalidArgument RestorePod \
	"{\"checkpoint_path\":\"$T/pv.kumo\",\"options\":{\"incoming\":\"tcp:127.0.0.1:1\"}}"
says "it names the option" "incoming_tail"
# Bad archives of a pod VM, refused with their reasons, nothing restored.
cp "$T/pv.kumo" "$T/pvt.kumo"
off=$(python3 -c "import sys,tarfile;t=tarfile.open(sys.argv[1]);m=t.getmember('records/podvm.json');print(m.offset_data+2)" "$T/pvt.kumo")
printf 'X' | dd of="$T/pvt.kumo" bs=1 seek="$off" conv=notrunc status=none
code "pod VM: an archive whose stage record was altered is refused" InvalidArgument RestorePod "{\"checkpoint_path\":\"$T/pvt.kumo\"}"
says "it names the member" "member \`records/podvm.json\` has digest"
head -c $(($(stat -c %s "$T/pv.kumo") / 3)) "$T/pv.kumo" >"$T/pvtr.kumo"
code "pod VM: a truncated archive is refused" InvalidArgument RestorePod "{\"checkpoint_path\":\"$T/pvtr.kumo\"}"
says "it says so" "truncated"
code "pod VM: a container VM's archive is refused by a pod-VM kumod" FailedPrecondition RestorePod "{\"checkpoint_path\":\"$T/pod.kumo\"}"
says "it says which kumod restores it" "--pod-vm false"
code "pod VM: a pod VM's archive is no container image" FailedPrecondition CreateContainer \
	"{\"pod_sandbox_id\":\"$PP2\",\"config\":{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"$T/pv.kumo\"}}}"
says "it says to use RestorePod" "RestorePod"
eq "only the restored pod is there" "$(crictl ListPodSandbox '{}' | jq '.items | length')" 1
call "pod VM: StopPodSandbox restored" StopPodSandbox "{\"pod_sandbox_id\":\"$PP2\"}"
call "pod VM: RemovePodSandbox restored" RemovePodSandbox "{\"pod_sandbox_id\":\"$PP2\"}"
# The archive CheckpointContainer made while the pod ran, restored into a pod of the
# caller's config (a log directory of its own), its VM killed (kill -9 of QEMU), and
# restored again: each time the count goes on from the checkpoint.
firsts=
for round in 1 2; do
	call "pod VM: RestorePod of the running pod's archive, round $round" RestorePod \
		"{\"checkpoint_path\":\"$T/pvc.kumo\",\"config\":{\"metadata\":{\"name\":\"pvclone\",\"uid\":\"r$round\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/pvr$round\"}}"
	PR=$(jq -r .pod_sandbox_id <<<"$OUT")
	CR=$(jq -r '.restored_containers[0].container_id' <<<"$OUT")
	IPR=$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$PR\"}" | jq -r '.status.network.ip // ""')
	eq "round $round: the guest took its new pod's address $IPR (RESUME's net)" \
		"$(grep -acE "net: reconfigured: .*, ${IPR//./\\.}/" "$T/rootp/vms/kumopod-${PR:0:24}/exit.raw")" 1
	LR=$T/logs/pvr$round/counter.log
	for _ in $(seq 300); do [ "$(counting "$LR" 2>/dev/null | wc -l)" -ge 5 ] && break; sleep 0.1; done
	c1=$(counting "$LR" | head -1)
	firsts="$firsts $c1"
	eq "round $round: its first count follows the checkpoint's ($pre < $c1 <= $after + 1)" \
		"$([ -n "$c1" ] && [ "$c1" -gt "$pre" ] && [ "$c1" -le $((after + 1)) ] && echo yes)" yes
	eq "round $round: and it counts on" "$(counting "$LR" | awk -v s="$c1" 'BEGIN{r="yes"} $1!=s+NR-1{r="no"} END{print (NR >= 5 ? r : "too few")}')" yes
	kill -9 "$(cat "$T/rootp/vms/kumopod-${PR:0:24}/qemu.pid")"
	for _ in $(seq 100); do
		[ "$(crictl ContainerStatus "{\"container_id\":\"$CR\"}" | jq -r .status.state)" = CONTAINER_EXITED ] && break
		sleep 0.1
	done
	eq "round $round: its VM killed, the container exits saying so" \
		"$(crictl ContainerStatus "{\"container_id\":\"$CR\"}" | jq -r '.status.state + " " + (.status.message | test("pod VM ended") | tostring)')" "CONTAINER_EXITED true"
	crictl StopPodSandbox "{\"pod_sandbox_id\":\"$PR\"}" >/dev/null && crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$PR\"}" >/dev/null
done
eq "both restores of one archive start at the same count" "$(echo $firsts | tr ' ' '\n' | sort -u | wc -l)" 1
# A web server pod VM: checkpointed with --stop, removed, restored at its address (RESUME
# gives the guest the new pod's NIC, the same address), serving the same file, and a
# keep-alive connection opened before the checkpoint goes on after the restore.
snap_web_restore "pod VM" pvweb pw
eq "pod VM: no restore work directory is left" "$(ls "$T/rootp/restores" 2>/dev/null | wc -l)" 0
eq "pod VM: no snapshot directory is left" "$(ls -d "$T/rootp/vms"/snapshot-* 2>/dev/null | wc -l)" 0
kumod_kill

# ---- pod VMs started from a snapshot (--pod-vm-snapshot-start true) -----------------------
SOCK=$T/kumoq.sock
"$BIN/kumo" push "$APPS/app_random.wasm" "$REG/random:v1" >"$T/push.log" 2>&1 || bad "kumo push random" "$(cat "$T/push.log")"
mkdir -p "$T/imgq/www"
cp "$APPS/net_httpd.wasm" "$T/imgq/app.wasm"
head -c 3000 /dev/urandom | base64 >"$T/imgq/www/index.html"
oci_wasm_image "$T/imgq" /app.wasm /www "$T/ociq" && oci_wasm_push "$T/ociq" "$REG/webq:v1" 2>"$T/push.log" ||
	bad "push the web image" "$(cat "$T/push.log")"
"$BIN/kumod" --socket "$SOCK" --root "$T/rootq" --accel "$ACCEL" --pod-vm-snapshot-start true --cni-conf-dir "$T/net.d" \
	--netns-dir "$T/netns" --log-level debug 2>>"$T/kumodq.log" &
KPID=$!
for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
call "snapshot start: PullImage random" PullImage "{\"image\":{\"image\":\"$REG/random:v1\"}}"
call "snapshot start: PullImage web" PullImage "{\"image\":{\"image\":\"$REG/webq:v1\"}}"
rands=; ips=; pods=
for i in 1 2 3; do
	t0=$(date +%s%N)
	call "snapshot start: RunPodSandbox $i" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"rnd$i\",\"uid\":\"q$i\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/q$i\"}}"
	P=$(jq -r .pod_sandbox_id <<<"$OUT")
	pods="$pods $P"
	ips="$ips $(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$P\"}" | jq -r '.status.network.ip // ""')"
	call "snapshot start: CreateContainer random $i" CreateContainer "{\"pod_sandbox_id\":\"$P\",\"config\":{\"metadata\":{\"name\":\"rnd\"},\"image\":{\"image\":\"$REG/random:v1\"},\"args\":[\"hex\"],\"log_path\":\"rnd.log\"}}"
	C=$(jq -r .container_id <<<"$OUT")
	call "snapshot start: StartContainer random $i" StartContainer "{\"container_id\":\"$C\"}"
	for _ in $(seq 200); do grep -q "random [0-9a-f]" "$T/logs/q$i/rnd.log" 2>/dev/null && break; sleep 0.05; done
	rands="$rands $(grep -oE 'random [0-9a-f]{32}' "$T/logs/q$i/rnd.log" | cut -d' ' -f2)"
done
eq "every pod started from the snapshot (kumod's log)" "$(grep -c 'ready from snapshot' "$T/kumodq.log")" 3
eq "the template was made once" "$(grep -c 'pod VM template .* booted to READY' "$T/kumodq.log")" 1
eq "three pods, three random values, all different" "$(echo $rands | tr ' ' '\n' | grep -cE '^[0-9a-f]{32}$')/$(echo $rands | tr ' ' '\n' | sort -u | wc -l)" 3/3
eq "three pods, three addresses, all different" "$(echo $ips | tr ' ' '\n' | grep -c .)/$(echo $ips | tr ' ' '\n' | sort -u | grep -c .)" 3/3
boots=
for P in $pods; do
	klog=$T/rootq/vms/kumopod-${P:0:24}/exit.raw
	boots="$boots $(grep -aoE 'made from a snapshot: boot id [0-9a-f]{16}' "$klog" | grep -oE '[0-9a-f]{16}$')"
	grep -aqE 'container 1 instance 1 ended' "$klog" || bad "the instance count is the pod's own" "$(grep -a instance "$klog")"
done
eq "each pod has a boot id of its own" "$(echo $boots | tr ' ' '\n' | sort -u | grep -c .)" 3
eq "each pod counts its instances from 1" "$(grep -aclE 'container 1 instance 1 ended' $T/rootq/vms/kumopod-*/exit.raw | wc -l)" 3
# A web server in a pod started from the snapshot, reached at the address CNI gave.
call "snapshot start: RunPodSandbox web" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"webq\",\"uid\":\"qw\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/qw\",\"port_mappings\":[{\"container_port\":8080}]}}"
PQ=$(jq -r .pod_sandbox_id <<<"$OUT")
IPQ=$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$PQ\"}" | jq -r '.status.network.ip // ""')
call "snapshot start: CreateContainer web" CreateContainer "{\"pod_sandbox_id\":\"$PQ\",\"config\":{\"metadata\":{\"name\":\"srv\"},\"image\":{\"image\":\"$REG/webq:v1\"},\"args\":[\"--root\",\"/www\"],\"log_path\":\"srv.log\"}}"
call "snapshot start: StartContainer web" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
for _ in $(seq 100); do curl -s --max-time 2 "http://$IPQ:8080/index.html" >"$T/gotq" && [ -s "$T/gotq" ] && break; sleep 0.2; done
eq "the web pod started from the snapshot serves its file at $IPQ" "$(cmp -s "$T/gotq" "$T/imgq/www/index.html" && echo same)" same
# A template that does not load: the pod boots instead, saying so.
for f in "$T"/rootq/pod-templates/*/qemu.state; do : >"$f"; done
call "snapshot start: RunPodSandbox with a broken template" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"fallback\",\"uid\":\"qf\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/qf\"}}"
PF=$(jq -r .pod_sandbox_id <<<"$OUT")
grep -q "pod ${PF:0:12}: .*booting it instead" "$T/kumodq.log" && ok "a template that does not load: the pod boots, the log says why" ||
	bad "a template that does not load: the pod boots" "$(grep -a 'booting\|template' "$T/kumodq.log" | tail -3)"
eq "that pod is ready" "$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$PF\"}" | jq -r .status.state)" SANDBOX_READY
for P in $pods $PQ $PF; do
	crictl StopPodSandbox "{\"pod_sandbox_id\":\"$P\"}" >/dev/null && crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$P\"}" >/dev/null
done
eq "snapshot start: no pod is left" "$(crictl ListPodSandbox '{}' | jq '.items | length')" 0
kumod_kill
finish
