#!/usr/bin/env bash
# tests/e2e/cri-pod.sh - a pod is one VM (issue 16): kumod's real backend with its default
# (pod_vm) driven through the CRI socket. One pod VM booted at RunPodSandbox runs, side
# by side: a web server and a sidecar fetching from it over 127.0.0.1; a shared emptyDir
# written by one container and read by another while both run; a restartable init
# container still running while the app starts and completes; a trap in one container
# while the web server keeps serving; a container's next attempt without a VM boot (the
# pod VM's boot count stays 1); StopContainer on a waiting app (143) and on a computing
# one (137 once its grace period ran out); bad input refused at CreateContainer (an
# unsupported import, a port another container holds, a memory limit the VM cannot
# give) with the others untouched; then kill -9 of kumod with three containers running
# and one about to exit: after the restart the containers are still RUNNING, the exit
# that happened meanwhile is recorded, the logs go on without a line lost or repeated,
# and new containers start in the same VM; a second pod whose VM is killed: each of its
# containers exits with VMError saying the pod VM ended, the first pod untouched.
# Prints `cri-pod: N passed, N failed`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
cri_suite cri-pod 120
at_exit 'umount -l "$T/netns" 2>/dev/null'

PROBE=$BUILD/tests/pod/pod_probe.wasm
for f in "$APPS/net_httpd.wasm" "$APPS/net_client.wasm" "$APPS/app_podtool.wasm" "$PROBE"; do
	[ -f "$f" ] || { bad "test app $f" "missing (make test-prereqs)"; finish; }
done
printf '(module (import "env" "nosuch" (func)) (func (export "_start") call 0))' >"$T/bad.wat"
wat2wasm "$T/bad.wat" -o "$T/bad.wasm" || { bad "wat2wasm" "failed"; finish; }

registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
push() { "$BIN/kumo" push "$1" "$REG/$2:v1" >"$T/push.log" 2>&1 || bad "kumo push $2" "$(cat "$T/push.log")"; }
push "$APPS/net_httpd.wasm" httpd
push "$APPS/net_client.wasm" client
push "$APPS/app_podtool.wasm" podtool
push "$PROBE" probe
push "$T/bad.wasm" badimport

start_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/root" --cni-conf-dir "$T/net.d" --netns-dir "$T/netns" \
		--log-level debug 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 600); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
start_kumod
grep -q "pods run as one VM each" "$T/kumod.log" && ok "kumod runs pods as one VM by default" ||
	bad "kumod runs pods as one VM by default" "$(tail -5 "$T/kumod.log")"

for a in httpd client podtool probe badimport; do
	call "PullImage $a" PullImage "{\"image\":{\"image\":\"$REG/$a:v1\"}}"
done
LOGDIR=$T/logs
mkdir -p "$T/www" "$T/empty"
echo "hello from the pod's web server" >"$T/www/index.html"
t0=$(date +%s%N)
call "RunPodSandbox boots the pod VM" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"web\",\"uid\":\"u1\",\"namespace\":\"n\"},\"log_directory\":\"$LOGDIR\",\"linux\":{\"resources\":{\"memory_limit_in_bytes\":134217728}}}}"
POD=$(jq -r .pod_sandbox_id <<<"$OUT")
echo "RunPodSandbox: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
PODDIR=$(echo "$T"/root/vms/kumopod-*)
eq "one pod VM, named after the pod" "$(basename "$PODDIR")" "kumopod-${POD:0:24}"
QEMU_ARGS=$(tr '\0' ' ' <"/proc/$(cat "$PODDIR/qemu.pid")/cmdline" 2>/dev/null)
eq "its QEMU runs with one vCPU" "$(grep -c -- '-smp 1 ' <<<"$QEMU_ARGS")" 1
eq "its RAM: the pod's limit + the kernel's reserve + stacks (152 MiB)" \
	"$(grep -o -- '-m [0-9]*' <<<"$QEMU_ARGS" | head -1)" "-m 152"
boots() { grep -c '^KUMO-BOOT v=1' "$PODDIR/exit.raw"; }
eq "the pod VM booted once" "$(boots)" 1

# create NAME IMAGE ARGS-JSON [EXTRA-CONFIG-JSON]: sets CID
create() {
	call "CreateContainer $1" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"$1\"},\"image\":{\"image\":\"$REG/$2:v1\"},\"args\":$3,\"log_path\":\"$1.log\"${4:-}}}"
	CID=$(jq -r .container_id <<<"$OUT")
}
start() { call "StartContainer $1" StartContainer "{\"container_id\":\"$2\"}"; }
state() { crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null | jq -r .status.state; }
# waitexit NAME CID: waits until EXITED (up to 60 s), sets OUT to ContainerStatus
waitexit() {
	local st=
	for _ in $(seq 600); do
		OUT=$(crictl ContainerStatus "{\"container_id\":\"$2\"}" 2>/dev/null) || OUT='{}'
		st=$(jq -r .status.state <<<"$OUT")
		[ "$st" = CONTAINER_EXITED ] && break
		sleep 0.1
	done
	eq "$1 exits" "$st" CONTAINER_EXITED
}
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2})'
logtext() { sed -E "s/^$ts (stdout|stderr) [FP] //" "$LOGDIR/$1.log" 2>/dev/null; }
waitlog() { for _ in $(seq 600); do grep -q -- "$2" "$LOGDIR/$1.log" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# ---- an app and a sidecar over 127.0.0.1 ------------------------------------------------
PORTS=',"annotations":{"io.kubernetes.container.ports":"[{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"}]"}'
WWW=",\"mounts\":[{\"container_path\":\"/www\",\"host_path\":\"$T/www\",\"readonly\":true}]"
create web httpd '["--root","/www","--quiet"]' "$WWW$PORTS"
WEB=$CID
start web "$WEB"
eq "web runs" "$(state "$WEB")" CONTAINER_RUNNING
create side client '["127.0.0.1","8080","/index.html"]'
SIDE=$CID
start side "$SIDE"
waitexit side "$SIDE"
eq "the sidecar fetched from the app over 127.0.0.1 (exit 0)" "$(jq -r .status.exit_code <<<"$OUT")" 0
grep -q "hello from the pod's web server" "$LOGDIR/side.log" && ok "the sidecar's log has the page" ||
	bad "the sidecar's log has the page" "$(cat "$LOGDIR/side.log")"
eq "its log lines are CRI lines" "$(grep -cvE "^$ts (stdout|stderr) [FP] " "$LOGDIR/side.log")" 0
eq "web still runs" "$(state "$WEB")" CONTAINER_RUNNING
eq "the web server's log holds only its own output (none: --quiet)" "$(logtext web | wc -c)" 0

# ---- a shared emptyDir, written by one while the other reads it --------------------------
EMPTY=",\"mounts\":[{\"container_path\":\"/data\",\"host_path\":\"$T/empty\"}]"
create reader podtool '["watch","/data/msg.txt","2","20"]' "$EMPTY"
READER=$CID
start reader "$READER"
waitlog reader "seen:" && ok "the reader runs" || bad "the reader runs" "$(logtext reader)"
create writer podtool '["write","/data/msg.txt","written-by-the-writer"]' "$EMPTY"
WRITER=$CID
start writer "$WRITER"
waitexit writer "$WRITER"
waitexit reader "$READER"
eq "the reader saw the writer's file while both ran" "$(logtext reader | tail -1)" "seen: written-by-the-writer"
eq "the host's emptyDir holds it" "$(cat "$T/empty/msg.txt")" written-by-the-writer

# ---- a restartable init container still running while the app starts and completes -------
create init probe '["sleep","600000"]'
INIT=$CID
start init "$INIT"
create app podtool '["print","app-done","exit","0"]'
APP=$CID
start app "$APP"
waitexit app "$APP"
eq "the app completed" "$(jq -r .status.reason <<<"$OUT")" Completed
eq "the app's log" "$(logtext app)" app-done
eq "the init container still runs" "$(state "$INIT")" CONTAINER_RUNNING

# ---- a trap in one container while the web server keeps serving ---------------------------
create trapper probe '["trap"]'
TRAP=$CID
start trapper "$TRAP"
waitexit trapper "$TRAP"
eq "a trap's reason" "$(jq -r .status.reason <<<"$OUT")" Trap
eq "a trap's exit code (134)" "$(jq -r .status.exit_code <<<"$OUT")" 134
eq "a trap's message" "$(jq -r .status.message <<<"$OUT")" unreachable
eq "web still runs after the trap" "$(state "$WEB")" CONTAINER_RUNNING

# ---- the sidecar's next attempt: a new instance, no boot ----------------------------------
call "CreateContainer side attempt 1" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"side\",\"attempt\":1},\"image\":{\"image\":\"$REG/client:v1\"},\"args\":[\"127.0.0.1\",\"8080\",\"/index.html\"],\"log_path\":\"side-1.log\"}}"
SIDE1=$(jq -r .container_id <<<"$OUT")
start "side attempt 1" "$SIDE1"
waitexit "side attempt 1" "$SIDE1"
eq "the next attempt fetched again (exit 0)" "$(jq -r .status.exit_code <<<"$OUT")" 0
eq "the pod VM's boot count stays 1" "$(boots)" 1

# ---- StopContainer: a waiting app (143), a computing one (137) ---------------------------
eq "the waiting app runs" "$(state "$INIT")" CONTAINER_RUNNING
t0=$(date +%s%N)
call "StopContainer a waiting app" StopContainer "{\"container_id\":\"$INIT\",\"timeout\":30}"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
call "its status" ContainerStatus "{\"container_id\":\"$INIT\"}"
eq "a waiting app stops with 143" "$(jq -r .status.exit_code <<<"$OUT")" 143
[ "$ms" -lt 10000 ] && ok "at its next wait, not after the grace period ($ms ms)" || bad "stopped at once" "$ms ms"
create spin probe '["spin"]'
SPIN=$CID
start spin "$SPIN"
waitlog spin . || bad "the spinner prints" "$(logtext spin)"
t0=$(date +%s%N)
call "StopContainer a computing app (1 s grace)" StopContainer "{\"container_id\":\"$SPIN\",\"timeout\":1}"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
call "its status" ContainerStatus "{\"container_id\":\"$SPIN\"}"
eq "a computing app is killed with 137" "$(jq -r .status.exit_code <<<"$OUT")" 137
[ "$ms" -ge 900 ] && ok "after its grace period ($ms ms)" || bad "after its grace period" "$ms ms"
eq "web still runs after both stops" "$(state "$WEB")" CONTAINER_RUNNING

# ---- bad input at CreateContainer, the others untouched -----------------------------------
code "an unsupported import" Unimplemented CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"bad\"},\"image\":{\"image\":\"$REG/badimport:v1\"}}}"
says "the message names the import" "unsupported import \`env.nosuch\`"
code "a port another container holds" InvalidArgument CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"web2\"},\"image\":{\"image\":\"$REG/httpd:v1\"},\"args\":[\"--quiet\"]$PORTS}}"
says "the message says the address is in use" "tcp:0.0.0.0:8080\` *: address in use"
code "a memory limit the pod VM cannot give" InvalidArgument CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"huge\"},\"image\":{\"image\":\"$REG/probe:v1\"},\"args\":[\"hello\"],\"linux\":{\"resources\":{\"memory_limit_in_bytes\":4294967296}}}}"
says "the message says it does not fit" "memory"
eq "web still runs after the refusals" "$(state "$WEB")" CONTAINER_RUNNING
create side2 client '["127.0.0.1","8080","/index.html"]'
start side2 "$CID"
waitexit side2 "$CID"
eq "and still serves" "$(jq -r .status.exit_code <<<"$OUT")" 0

# ---- kill -9 of kumod with three containers running ---------------------------------------
create watcher podtool '["watch","/data/flag","2","20"]' "$EMPTY"
WATCH=$CID
start watcher "$WATCH"
waitlog watcher "seen:" || bad "the watcher runs" "$(logtext watcher)"
create short probe '["sleep","2500"]'
SHORT=$CID
start short "$SHORT"
create busy probe '["sleep","600000"]'
BUSY=$CID
start busy "$BUSY"
for c in "$WEB" "$WATCH" "$BUSY" "$SHORT"; do
	eq "running before the crash" "$(state "$c")" CONTAINER_RUNNING
done
kill -9 "$KPID"; wait "$KPID" 2>/dev/null; KPID=
sleep 3 # the short one exits while kumod is down
printf flag-set >"$T/empty/flag"
start_kumod
grep -q "re-attached to VM kumopod-" "$T/kumod.log" && ok "the pod VM is re-attached" ||
	bad "the pod VM is re-attached" "$(tail -5 "$T/kumod.log")"
for c in "$WEB" "$BUSY"; do
	eq "still RUNNING after the restart" "$(state "$c")" CONTAINER_RUNNING
done
call "ContainerStatus of the one that exited meanwhile" ContainerStatus "{\"container_id\":\"$SHORT\"}"
eq "its exit, recorded from the VM's records" "$(jq -r '.status.state + " " + (.status.exit_code|tostring)' <<<"$OUT")" "CONTAINER_EXITED 0"
waitexit watcher "$WATCH"
eq "the watcher's log: each line once, the one after the restart included" "$(logtext watcher)" "seen: /data/flag: ENOENT
seen: flag-set"
create side3 client '["127.0.0.1","8080","/index.html"]'
start side3 "$CID"
waitexit side3 "$CID"
eq "a new container after the restart reaches the app" "$(jq -r .status.exit_code <<<"$OUT")" 0
call "StopContainer after the restart" StopContainer "{\"container_id\":\"$BUSY\",\"timeout\":30}"
call "its status" ContainerStatus "{\"container_id\":\"$BUSY\"}"
eq "stopped through the reopened control channel (143)" "$(jq -r .status.exit_code <<<"$OUT")" 143
eq "still one boot" "$(boots)" 1

# ---- a pod VM that dies: each of its containers exits saying so --------------------------------
call "RunPodSandbox doomed" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"doomed\",\"uid\":\"u2\",\"namespace\":\"n\"},\"log_directory\":\"$LOGDIR/doomed\"}}"
POD2=$(jq -r .pod_sandbox_id <<<"$OUT")
SAVED=$POD
POD=$POD2
create doomed1 probe '["sleep","600000"]'
D1=$CID
start doomed1 "$D1"
create doomed2 probe '["sleep","600000"]'
D2=$CID
start doomed2 "$D2"
POD=$SAVED
kill -9 "$(cat "$T/root/vms/kumopod-${POD2:0:24}/qemu.pid")"
for c in "$D1" "$D2"; do
	waitexit "a container of the dead pod VM" "$c"
	eq "its reason: the VM's failure" "$(jq -r .status.reason <<<"$OUT")" VMError
	case $(jq -r .status.message <<<"$OUT") in "the pod VM ended"*) ok "its message says the pod VM ended";;
	*) bad "its message says the pod VM ended" "$(jq -r .status.message <<<"$OUT")";; esac
done
eq "the first pod's web server is not affected" "$(state "$WEB")" CONTAINER_RUNNING
call "StopPodSandbox doomed" StopPodSandbox "{\"pod_sandbox_id\":\"$POD2\"}"
call "RemovePodSandbox doomed" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD2\"}"

# ---- the pod's end --------------------------------------------------------------------------
call "StopPodSandbox ends the VM" StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
call "web's status" ContainerStatus "{\"container_id\":\"$WEB\"}"
eq "web exited" "$(jq -r .status.state <<<"$OUT")" CONTAINER_EXITED
eq "no QEMU left after StopPodSandbox" "$(pgrep -f "qemu-system.*$T/root" | wc -l)" 0
call "RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
eq "no run dir left" "$(ls "$T/root/vms" | wc -l)" 0
eq "no staged mount left" "$(grep -c " $T/root/mounts" /proc/self/mountinfo)" 0

kill -TERM "$KPID"; wait "$KPID"; eq "kumod stops on SIGTERM" "$?" "0"; KPID=
[ $fail -ne 0 ] && tail -40 "$T/kumod.log"
finish
