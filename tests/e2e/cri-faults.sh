#!/usr/bin/env bash
# tests/e2e/cri-faults.sh - faults while kumod works (issue 21), on kumod's REAL backend
# (QEMU-direct), pods on the host network without a NIC (as cri-restart.sh):
#   kills    RUNNING ticker pods run and CREATING more are being created (a client that
#            retries, as kubelet does) while kumod is `kill -9`'d KILLS times in a row
#            and restarted each time: afterwards every pod and container is listed in a
#            state CRI allows, every container that was started exits 0, and every CRI
#            log holds each of its LINES ticks exactly once, in order (lost and doubled
#            lines counted);
#   corrupt  a pod record cut in half while kumod is down: at start it is set aside
#            with a log line (its containers too, their VMs ended); the rest is served;
#            a VM whose container record was never written (kumod killed inside
#            CreateContainer) is removed at start;
#   disk     the state directory on a small tmpfs: full during a pull (a clear error
#            naming the lack of space, nothing half-written, the next pull works once
#            space is back), and full during a state write (RunPodSandbox fails saying
#            so, every record on disk still whole, the next one works once space is back).
#   libvirt  the kills again on the libvirt backend (2 tickers and 2 kills; FULL: 5 and
#            5), when a libvirtd runs or can be started; then libvirtd stopped and
#            started again under 2 running tickers (they end whole; a create while it
#            is down fails naming libvirt; kumod stays up; a new pod starts after).
# Fast by default (make test); FULL=1 (make test-faults) runs the issue's sizes: 20
# running, 5 being created, 10 kills, 150 lines each. RUNNING, CREATING, KILLS, LINES
# override either. Prints `faults: pods P, kills K, lines checked L, lost X, doubled D`
# after the QEMU-direct kills and again with the libvirt ones added, and closes with
# `cri-faults: N passed, N failed`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
cri_suite cri-faults 60
if [ -n "${FULL:-}" ]; then
	RUNNING=${RUNNING:-20} CREATING=${CREATING:-5} KILLS=${KILLS:-10} LINES=${LINES:-150}
else
	RUNNING=${RUNNING:-4} CREATING=${CREATING:-2} KILLS=${KILLS:-3} LINES=${LINES:-40}
fi
INTERVAL_MS=100

cleanup_vms() {
	kumod_kill
	local p
	for p in $(qemu_pids "$T"); do kill -9 "$p" 2>/dev/null; done
	[ -z "${CPID:-}" ] || kill "$CPID" 2>/dev/null
	mountpoint -q "$T/small" 2>/dev/null && umount -l "$T/small"
}
at_exit cleanup_vms

[ -f "$APPS/app_ticker.wasm" ] || { bad "test app ticker" "missing $APPS/app_ticker.wasm (make apps)"; finish; }
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
"$BIN/kumo" push "$APPS/app_ticker.wasm" "$REG/ticker:v1" >"$T/push.log" 2>&1 || { bad "kumo push ticker" "$(cat "$T/push.log")"; finish; }

ROOT=$T/root
VMB=qemu
start_kumod() { # [ROOT]: starts kumod (VM backend $VMB), waits until it answers
	"$BIN/kumod" --socket "$SOCK" --root "${1:-$ROOT}" --vm-backend "$VMB" --cni-conf-dir "$T/net.d" \
		--host-network no-network --log-level debug 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 600); do crictl Version >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
# A pod (NAME) and its ticker container, started; prints "POD CID" on success. Every
# call may fail while kumod is down: the caller retries (kubelet's way).
pod_json() { echo "{\"config\":{\"metadata\":{\"name\":\"$1\",\"uid\":\"$1\",\"namespace\":\"faults\",\"attempt\":${2:-0}},\"log_directory\":\"$T/logs/$1-${2:-0}\",\"linux\":{\"security_context\":{\"namespace_options\":{\"network\":\"NODE\"}}}}}"; }
ticker_pod() {
	local name=$1 attempt=${2:-0} out pod cid
	out=$(crictl RunPodSandbox "$(pod_json "$name" "$attempt")" 2>/dev/null) || return 1
	pod=$(jq -r .pod_sandbox_id <<<"$out")
	out=$(crictl CreateContainer "{\"pod_sandbox_id\":\"$pod\",\"config\":{\"metadata\":{\"name\":\"ticker\"},\"image\":{\"image\":\"$REG/ticker:v1\"},\"args\":[\"$LINES\",\"$INTERVAL_MS\"],\"log_path\":\"ticker.log\"},\"sandbox_config\":$(pod_json "$name" "$attempt" | jq -c .config)}" 2>/dev/null) || return 1
	cid=$(jq -r .container_id <<<"$out")
	crictl StartContainer "{\"container_id\":\"$cid\"}" >/dev/null 2>&1 || return 1
	echo "$pod $cid $name-$attempt"
}

# ---- kills ------------------------------------------------------------------------------
start_kumod || { bad "kumod starts" "$(tail -5 "$T/kumod.log")"; finish; }
call "PullImage ticker" PullImage "{\"image\":{\"image\":\"$REG/ticker:v1\"}}"
: >"$T/started"
for i in $(seq "$RUNNING"); do
	if r=$(ticker_pod "run$i"); then echo "$r" >>"$T/started"; else bad "ticker pod run$i starts" "$(tail -3 "$T/kumod.log")"; fi
done
eq "$RUNNING ticker pods started before the kills" "$(wc -l <"$T/started")" "$RUNNING"

# The creator: CREATING more pods, each retried (a new attempt) until all its calls went
# through, while the killer below kills kumod under it.
(
	for i in $(seq "$CREATING"); do
		for attempt in $(seq 0 200); do
			if r=$(ticker_pod "new$i" "$attempt"); then echo "$r" >>"$T/started"; break; fi
			sleep 0.1
		done
	done
) &
CPID=$!
kills=0
for k in $(seq "$KILLS"); do
	sleep "0.$((RANDOM % 6 + 2))"
	kumod_kill
	kills=$((kills + 1))
	start_kumod || bad "kumod restarts after kill $k" "$(tail -5 "$T/kumod.log")"
done
wait "$CPID"; CPID=
eq "every pod being created got created (retried)" "$(wc -l <"$T/started")" "$((RUNNING + CREATING))"
eq "$KILLS kill -9 of kumod" "$kills" "$KILLS"

# check_tickers FILE: every container listed in FILE ("POD CID NAME") exits 0 once its
# ticks are out and its CRI log holds each tick once, in order; adds to the counts.
lines_checked=0 lost=0 doubled=0 pods=0 bad_exit=0
check_tickers() {
local pod cid name st code log got n uniq deadline=$((SECONDS + LINES * INTERVAL_MS / 1000 + 120))
while read -r pod cid name; do
	pods=$((pods + 1))
	st=
	while [ $SECONDS -lt $deadline ]; do
		OUT=$(crictl ContainerStatus "{\"container_id\":\"$cid\"}" 2>/dev/null) || OUT='{}'
		st=$(jq -r .status.state <<<"$OUT")
		[ "$st" = CONTAINER_EXITED ] && break
		sleep 0.2
	done
	code=$(jq -r .status.exit_code <<<"$OUT")
	if [ "$st/$code" != CONTAINER_EXITED/0 ]; then
		bad_exit=$((bad_exit + 1))
		bad "$name: its ticker exits 0" "$st/$code $(jq -r .status.message <<<"$OUT")"
	fi
	log=$T/logs/$name/ticker.log
	got=$(sed -n -E 's/^[^ ]+ stdout F tick ([0-9]+) of [0-9]+$/\1/p' "$log" 2>/dev/null)
	n=$(grep -c . <<<"$got")
	uniq=$(sort -un <<<"$got" | grep -c .)
	lines_checked=$((lines_checked + n))
	lost=$((lost + LINES - uniq))
	doubled=$((doubled + n - uniq))
	if [ "$n" != "$LINES" ] || [ "$uniq" != "$LINES" ] || [ "$got" != "$(seq "$LINES")" ]; then
		bad "$name: its CRI log holds ticks 1..$LINES once each, in order" "$n lines, $uniq distinct; missing: $(comm -23 <(seq "$LINES" | sort) <(sort -u <<<"$got") | sort -n | tr '\n' ' ')doubled: $(sort <<<"$got" | uniq -d | sort -n | tr '\n' ' ')"
	fi
done <"$1"
}
check_tickers "$T/started"
eq "every started ticker exits 0" "$bad_exit" 0
eq "no CRI log line lost" "$lost" 0
eq "no CRI log line doubled" "$doubled" 0
# Whatever else the kills left (a pod whose answer was lost): listed in a state CRI has.
call "ListPodSandbox after the kills" ListPodSandbox '{}'
# A pod whose RunPodSandbox was cut by a kill (its client retried with a new attempt)
# may be listed NOTREADY (its VM never became ready; kubelet removes such a pod); every
# pod whose answer arrived is READY, and every other state is wrong.
notready=0
for p in $(jq -r '.items[] | select(.state != "SANDBOX_READY") | .id' <<<"$OUT"); do
	if grep -q "^$p " "$T/started"; then bad "started pod ${p:0:12} is listed READY" "$(jq -c --arg p "$p" '.items[] | select(.id == $p) | .state' <<<"$OUT")"; else notready=$((notready + 1)); fi
done
eq "every pod is READY or, cut mid-RunPodSandbox, NOTREADY" "$(jq '[.items[] | select(.state != "SANDBOX_READY" and .state != "SANDBOX_NOTREADY")] | length' <<<"$OUT")" 0
[ $notready -eq 0 ] || echo "note: $notready pod(s) cut mid-RunPodSandbox are NOTREADY (their VMs go at clean-up)"
missing=0
while read -r pod _; do jq -e --arg p "$pod" '.items[] | select(.id == $p)' <<<"$OUT" >/dev/null || missing=$((missing + 1)); done <"$T/started"
eq "every pod that was started is listed" "$missing" 0
call "ListContainers after the kills" ListContainers '{}'
eq "every container is CREATED or EXITED (none UNKNOWN, none RUNNING on)" \
	"$(jq '[.containers[] | select(.state != "CONTAINER_EXITED" and .state != "CONTAINER_CREATED")] | length' <<<"$OUT")" 0
echo "faults: pods $pods, kills $kills, lines checked $lines_checked, lost $lost, doubled $doubled (qemu backend)"

# ---- corrupt ----------------------------------------------------------------------------
kill -TERM "$KPID"; wait "$KPID"; KPID=
read -r victim vcid _ < <(head -1 "$T/started")
npods=$(ls "$ROOT/pods"/*.json | wc -l)
rec=$ROOT/pods/$victim.json
head -c "$(($(stat -c %s "$rec") / 2))" "$rec" >"$rec.half" && mv "$rec.half" "$rec"
start_kumod || { bad "kumod starts with a corrupt record" "$(tail -5 "$T/kumod.log")"; finish; }
if grep -q "state: \`$rec\`: .*(moved aside as \`$rec.broken\`)" "$T/kumod.log"; then ok "the corrupt pod record is set aside, with a log line"; else bad "the corrupt pod record is set aside, with a log line" "$(grep 'state:' "$T/kumod.log" | tail -3)"; fi
[ -f "$ROOT/containers/$vcid.json.broken" ] && ok "its container's record is set aside too" || bad "its container's record is set aside too" "no $ROOT/containers/$vcid.json.broken"
call "ListPodSandbox with one record set aside" ListPodSandbox '{}'
eq "the other pods are served" "$(jq '.items | length' <<<"$OUT")" "$((npods - 1))"
call "ListContainers with one record set aside" ListContainers '{}'
eq "their containers too, none RUNNING or UNKNOWN" "$(jq '[.containers[] | select(.state != "CONTAINER_EXITED" and .state != "CONTAINER_CREATED")] | length' <<<"$OUT")" 0
code "the set-aside pod is not found" NotFound PodSandboxStatus "{\"pod_sandbox_id\":\"$victim\"}"
# kumod killed while a pod VM boots: QEMU runs (its pid file is written) but vmm has not
# recorded it yet (vm.json waits for QEMU's monitor). After the restart the pod is
# listed, and removing it ends that QEMU (the clean-up below counts what is left).
# Only a run directory that appears after the call counts: the kills above may have left
# others in the same state (pods cut mid-RunPodSandbox).
ls -d "$ROOT"/vms/kumopod-* >"$T/vms-before" 2>/dev/null
crictl RunPodSandbox "$(pod_json booting)" >/dev/null 2>&1 &
rpid=$!
seen=
for _ in $(seq 400); do
	for d in "$ROOT"/vms/kumopod-*; do
		grep -qxF "$d" "$T/vms-before" && continue
		[ -f "$d/qemu.pid" ] && [ ! -f "$d/vm.json" ] && seen=$d
	done
	[ -n "$seen" ] && break
	sleep 0.005
done
if [ -z "$seen" ]; then
	skip "kumod killed while a pod VM boots" "never caught QEMU before vm.json (the boot was too fast)"
	wait "$rpid"
else
	kumod_kill
	wait "$rpid" 2>/dev/null
	qpid=$(cat "$seen/qemu.pid")
	kill -0 "$qpid" 2>/dev/null && ok "a pod VM's QEMU runs with no vm.json when kumod is killed" || bad "a pod VM's QEMU runs with no vm.json when kumod is killed" "pid $qpid gone"
	start_kumod || { bad "kumod restarts after a kill mid-boot" "$(tail -5 "$T/kumod.log")"; finish; }
	call "ListPodSandbox after a kill mid-boot" ListPodSandbox '{}'
	bp=$(jq -r '.items[] | select(.metadata.name == "booting") | .id' <<<"$OUT")
	[ -n "$bp" ] && ok "the pod cut mid-boot is listed ($(jq -r '.items[] | select(.metadata.name == "booting") | .state' <<<"$OUT"))" || bad "the pod cut mid-boot is listed" "$OUT"
	[ -z "$bp" ] || { crictl StopPodSandbox "{\"pod_sandbox_id\":\"$bp\"}" >/dev/null 2>&1; crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$bp\"}" >/dev/null 2>&1; }
	for _ in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$qpid" 2>/dev/null && bad "removing the pod cut mid-boot ends its QEMU" "pid $qpid still runs" || ok "removing the pod cut mid-boot ends its QEMU"
fi
# Everything the kills left goes (a container created whose answer was lost has a QEMU
# waiting paused: it must go with its pod).
call "ListPodSandbox before the clean-up" ListPodSandbox '{}'
for p in $(jq -r '.items[].id' <<<"$OUT"); do
	crictl StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>"$T/err" &&
		crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>>"$T/err" ||
		bad "pod ${p:0:12} is removed" "$(cat "$T/err")"
done
call "ListContainers after the clean-up" ListContainers '{}'
eq "... no container left" "$(jq '.containers | length' <<<"$OUT")" 0
eq "... no QEMU left" "$(qemu_pids "$ROOT" | wc -l)" 0

# A kill inside CreateContainer after the VM was made but before its record was written
# (acted out: the record removed while kumod is down) leaves a paused QEMU nobody owns
# (POD_VM=false), or an instance in the pod VM (kumod's default): the next kumod removes
# it.
call "RunPodSandbox orphan" RunPodSandbox "$(pod_json orphan)"
pod=$(jq -r .pod_sandbox_id <<<"$OUT")
call "CreateContainer orphan" CreateContainer "{\"pod_sandbox_id\":\"$pod\",\"config\":{\"metadata\":{\"name\":\"ticker\"},\"image\":{\"image\":\"$REG/ticker:v1\"},\"log_path\":\"ticker.log\"}}"
cid=$(jq -r .container_id <<<"$OUT")
if [ "${POD_VM:-true}" = true ]; then
	# kumod's default: the container is an instance in its pod's VM (created, linked);
	# the next kumod REMOVEs it there.
	pj=$(echo "$ROOT"/vms/kumopod-"${pod:0:24}"/pod.json)
	eq "its instance is in the pod VM" "$(jq --arg c "$cid" '[.containers[] | select(.id == $c)] | length' "$pj" 2>&1)" 1
	kumod_kill
	rm -f "$ROOT/containers/$cid.json"
	start_kumod || bad "kumod restarts" "$(tail -5 "$T/kumod.log")"
	if grep -q "container ${cid:0:12} in a pod VM has no container record" "$T/kumod.log"; then ok "a container without a record is found at start, with a log line"; else bad "a container without a record is found at start, with a log line" "$(grep 'state:' "$T/kumod.log" | tail -2)"; fi
	eq "... it is removed from its pod VM" "$(jq --arg c "$cid" '[.containers[] | select(.id == $c)] | length' "$pj" 2>&1)" 0
	eq "... the pod VM runs on" "$(qemu_pids "$ROOT/vms/kumopod-${pod:0:24}" | wc -l)" 1
else
for _ in $(seq 100); do [ -n "$(qemu_pids "$ROOT/vms/kumo-${cid:0:40}")" ] && break; sleep 0.1; done
eq "its paused QEMU runs" "$(qemu_pids "$ROOT/vms/kumo-${cid:0:40}" | wc -l)" 1
kumod_kill
rm -f "$ROOT/containers/$cid.json"
start_kumod || bad "kumod restarts" "$(tail -5 "$T/kumod.log")"
if grep -q "vm \`kumo-${cid:0:40}\` has no container record" "$T/kumod.log"; then ok "a VM without a container record is found at start, with a log line"; else bad "a VM without a container record is found at start, with a log line" "$(grep 'state:' "$T/kumod.log" | tail -2)"; fi
for _ in $(seq 50); do [ -z "$(qemu_pids "$ROOT/vms/kumo-${cid:0:40}")" ] && break; sleep 0.1; done
eq "... its QEMU is ended" "$(qemu_pids "$ROOT/vms/kumo-${cid:0:40}" | wc -l)" 0
[ -d "$ROOT/vms/kumo-${cid:0:40}" ] && bad "... its run directory is removed" "still there" || ok "... its run directory is removed"
fi
call "RemovePodSandbox orphan" RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}"
kill -TERM "$KPID"; wait "$KPID"; KPID=

# ---- disk -------------------------------------------------------------------------------
SMALL=$T/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=16m tmpfs "$SMALL" || { bad "mount a small tmpfs" "failed"; finish; }
start_kumod "$SMALL/root" || { bad "kumod starts on the small tmpfs" "$(tail -5 "$T/kumod.log")"; finish; }
# fill LEAVE_KIB: fills the tmpfs but LEAVE_KIB
fill() {
	rm -f "$SMALL/filler"
	local free; free=$(df -k --output=avail "$SMALL" | tail -1)
	[ "$free" -gt "$1" ] && dd if=/dev/zero of="$SMALL/filler" bs=1k count=$((free - $1)) status=none 2>/dev/null
}
halfway() { find "$SMALL/root" -name '*.tmp.*' | wc -l; }
# fails NAME METHOD JSON: the call must fail; its message lands in $ERR
fails() {
	local name=$1; shift
	if crictl "$@" >/dev/null 2>"$T/err"; then bad "$name" "succeeded"; ERR=; else ok "$name"; ERR=$(cat "$T/err"); fi
}
fill 64
fails "a pull with the disk full fails" PullImage "{\"image\":{\"image\":\"$REG/ticker:v1\"}}"
case "$ERR" in *"No space left on device"*) ok "... and says there is no space left";; *) bad "... and says there is no space left" "$ERR";; esac
eq "... leaving no half-written file" "$(halfway)" 0
call "ListImages after the failed pull" ListImages '{}'
eq "... and no image" "$(jq '.images | length' <<<"$OUT")" 0
rm -f "$SMALL/filler"
call "the next pull works once space is back" PullImage "{\"image\":{\"image\":\"$REG/ticker:v1\"}}"
call "... and lists the image" ListImages '{}'
eq "... one image" "$(jq '.images | length' <<<"$OUT")" 1
call "RunPodSandbox with space" RunPodSandbox "$(pod_json disk1)"
fill 0
fails "RunPodSandbox with the disk full fails" RunPodSandbox "$(pod_json disk2)"
case "$ERR" in *"save state"*"No space left on device"*) ok "... saying it cannot save its state for lack of space";; *) bad "... saying it cannot save its state for lack of space" "$ERR";; esac
eq "... leaving no half-written record" "$(halfway)" 0
whole=0 records=0
for f in "$SMALL/root/pods"/*.json; do
	records=$((records + 1))
	jq -e .id "$f" >/dev/null 2>&1 && whole=$((whole + 1))
done
eq "... every pod record on disk is whole" "$whole" "$records"
rm -f "$SMALL/filler"
call "RunPodSandbox once space is back" RunPodSandbox "$(pod_json disk3)"
call "ListPodSandbox on the small disk" ListPodSandbox '{}'
eq "... lists the pods that were made" "$(jq '.items | length' <<<"$OUT")" 2
kill -TERM "$KPID"; wait "$KPID"; KPID=
start_kumod "$SMALL/root" || bad "kumod restarts on the small tmpfs" "$(tail -5 "$T/kumod.log")"
call "ListPodSandbox after a restart" ListPodSandbox '{}'
eq "... the same two pods, nothing set aside" "$(jq '.items | length' <<<"$OUT")/$(find "$SMALL/root" -name '*.broken' | wc -l)" "2/0"
# They go: a kumo pod is a VM of its own (kumod's default), which outlives kumod.
for p in $(jq -r '.items[].id' <<<"$OUT"); do
	crictl StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>"$T/err" &&
		crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>>"$T/err" ||
		bad "pod ${p:0:12} on the small disk is removed" "$(cat "$T/err")"
done
kill -TERM "$KPID"; wait "$KPID"; KPID=

# ---- kills, libvirt ------------------------------------------------------------------
# The same under the libvirt backend (fewer pods: libvirt's create is slower), when a
# libvirtd runs or deploy/start-libvirtd.sh can start one (stopped again at the end).
lv_started=0
bash "$HERE/../../deploy/start-libvirtd.sh" --status >/dev/null 2>&1 || lv_started=1
if ! bash "$HERE/../../deploy/start-libvirtd.sh" >"$T/libvirtd.log" 2>&1; then
	skip "libvirt kills" "no libvirtd: $(tail -1 "$T/libvirtd.log")"
else
	[ $lv_started -eq 0 ] || at_exit 'bash "$HERE/../../deploy/start-libvirtd.sh" --stop >/dev/null 2>&1'
	at_exit 'for d in $(virsh -q -c qemu:///system list --name 2>/dev/null | grep "^kumo-"); do grep -qs "$d" "$T"/root-lv/vms/*/vm.json && virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1; done'
	VMB=libvirt
	LV_RUNNING=${LV_RUNNING:-$([ -n "${FULL:-}" ] && echo 5 || echo 2)}
	LV_KILLS=${LV_KILLS:-$([ -n "${FULL:-}" ] && echo 5 || echo 2)}
	start_kumod "$T/root-lv" || { bad "libvirt: kumod starts" "$(tail -5 "$T/kumod.log")"; finish; }
	call "libvirt: PullImage ticker" PullImage "{\"image\":{\"image\":\"$REG/ticker:v1\"}}"
	: >"$T/started-lv"
	for i in $(seq "$LV_RUNNING"); do
		if r=$(ticker_pod "lv$i"); then echo "$r" >>"$T/started-lv"; else bad "libvirt: ticker pod lv$i starts" "$(tail -3 "$T/kumod.log")"; fi
	done
	for k in $(seq "$LV_KILLS"); do
		sleep "0.$((RANDOM % 6 + 2))"
		kumod_kill
		kills=$((kills + 1))
		start_kumod "$T/root-lv" || bad "libvirt: kumod restarts after kill $k" "$(tail -5 "$T/kumod.log")"
	done
	before=$((lost + doubled + bad_exit))
	check_tickers "$T/started-lv"
	eq "libvirt: $LV_RUNNING tickers across $LV_KILLS kills: every one exits 0, nothing lost or doubled" "$((lost + doubled + bad_exit - before))" 0
	# libvirtd restarted under running pods: the tickers keep ticking (their domains
	# survive libvirtd), a call that needs libvirtd while it is down fails with an error
	# naming it and kumod stays up, and once it is back every ticker ends with all its
	# lines and a new pod starts.
	: >"$T/started-lvd"
	for i in 1 2; do
		if r=$(ticker_pod "lvd$i"); then echo "$r" >>"$T/started-lvd"; else bad "libvirt: ticker pod lvd$i starts" "$(tail -3 "$T/kumod.log")"; fi
	done
	sleep 0.5
	bash "$HERE/../../deploy/start-libvirtd.sh" --stop-libvirtd >/dev/null 2>&1
	rc=$?
	if [ $rc -eq 3 ]; then
		skip "libvirt: libvirtd restarted under running pods" "libvirtd runs but deploy/start-libvirtd.sh did not start it"
	else
		if r=$(ticker_pod lvdown 2>&1); then
			bad "libvirt: a container made while libvirtd is down fails" "it started: $r"
		else
			ok "libvirt: a container made while libvirtd is down fails"
		fi
		grep -q "libvirt" <(crictl CreateContainer "{\"pod_sandbox_id\":\"$(head -1 "$T/started-lvd" | cut -d' ' -f1)\",\"config\":{\"metadata\":{\"name\":\"down\"},\"image\":{\"image\":\"$REG/ticker:v1\"},\"log_path\":\"down.log\"},\"sandbox_config\":$(pod_json lvd1 | jq -c .config)}" 2>&1) &&
			ok "libvirt: that error names libvirt" || bad "libvirt: that error names libvirt" "$(tail -3 "$T/kumod.log")"
		kill -0 "$KPID" 2>/dev/null && ok "libvirt: kumod stays up while libvirtd is down" || bad "libvirt: kumod stays up while libvirtd is down" "$(tail -5 "$T/kumod.log")"
		call "libvirt: ListContainers while libvirtd is down" ListContainers '{}'
		sleep 1
		bash "$HERE/../../deploy/start-libvirtd.sh" >"$T/libvirtd2.log" 2>&1 || bad "libvirt: libvirtd starts again" "$(tail -3 "$T/libvirtd2.log")"
		before=$((lost + doubled + bad_exit))
		check_tickers "$T/started-lvd"
		eq "libvirt: 2 tickers across a libvirtd restart: every one exits 0, nothing lost or doubled" "$((lost + doubled + bad_exit - before))" 0
		if r=$(ticker_pod lvdafter); then
			ok "libvirt: a new pod starts once libvirtd is back"
			echo "$r" >"$T/started-lvd2"
		else
			bad "libvirt: a new pod starts once libvirtd is back" "$(tail -3 "$T/kumod.log")"
		fi
	fi
	call "libvirt: ListPodSandbox" ListPodSandbox '{}'
	for p in $(jq -r '.items[].id' <<<"$OUT"); do
		crictl StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1 &&
			crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1 || bad "libvirt: pod ${p:0:12} is removed" "failed"
	done
	left=0
	for d in $(virsh -q -c qemu:///system list --name 2>/dev/null | grep "^kumo-"); do grep -qs "$d" "$T"/root-lv/vms/*/vm.json && left=$((left + 1)); done
	eq "libvirt: no domain of this test left" "$left" 0
	kill -TERM "$KPID"; wait "$KPID"; KPID=
fi
echo "faults: pods $pods, kills $kills, lines checked $lines_checked, lost $lost, doubled $doubled (both backends)"

eq "no QEMU of this test left" "$(qemu_pids "$T" | wc -l)" 0
[ $fail -ne 0 ] && tail -40 "$T/kumod.log"
finish
