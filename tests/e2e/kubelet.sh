#!/usr/bin/env bash
# tests/e2e/kubelet.sh - the real-kubelet tier: a standalone kubelet (static pods from a
# folder, no API server) drives kumod over its CRI socket, and every check reads what
# kubelet itself reports (its read-only API's /pods, the logs under /var/log/pods):
# a hello pod Succeeded; a web server with a containerPort and HTTP readiness / TCP
# liveness probes Ready, also when it binds that port itself; a downward-API volume's
# `..data` layout, env from the pod, workingDir, a memory limit as the VM's size, a
# read-only subPath file, a file mounted at /etc/resolv.conf, the termination message
# (File and FallbackToLogsOnError); an exec liveness probe (a Wasm command of the image,
# ExecSync in the pod VM) passing, then failing as the module decides: restarted; an app
# exiting 1 under restartPolicy Always
# restarted with back-off (and its previous log kept); OnFailure; an init container
# before the app; hostNetwork, hostPID and privileged pods refused with a clear
# CreateContainerError; a counter pod checkpointed (`kumo checkpoint`), pushed as a
# checkpoint image (`kumo push --checkpoint`) and a static pod of that image counting on
# from the checkpoint (kubelet's own PullImage, RunPodSandbox, CreateContainer); kubelet restarted under running pods (re-adopted), kumod
# restarted under kubelet; log rotation (ReopenContainerLog); pod deletion
# (StopPodSandbox, RemovePodSandbox) leaving no VM or tap. The tier fails on any
# kubelet log line `... from runtime service failed` that a check did not provoke.
# Runs when a kubelet binary is present ($KUBELET, else `kubelet` on PATH); skipped with
# a one-line reason otherwise. Prints `kubelet: N passed, N failed`.
set -u
SUITE=kubelet
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/kubelet.sh
. "$HERE/../lib/kubelet.sh"
kubelet_enter_namespaces "$0" "$@"
trap kubelet_cleanup EXIT

for a in app_hello app_podtool net_httpd; do
	[ -f "$APPS/$a.wasm" ] || { bad "test app $a" "missing $APPS/$a.wasm (make apps net-apps)"; finish; }
done
KUBELET_LOG_MAX_SIZE=1Ki kubelet_setup hello podtool web counter

# ---- a hello pod runs to Succeeded, its log where kubelet keeps logs
manifest hello "apiVersion: v1
kind: Pod
metadata: {name: hello, namespace: default}
spec:
  restartPolicy: Never
  containers:
  - name: hello
    image: $REG/hello:v1"
if wait_pod hello '.status.phase == "Succeeded"' 180; then ok "hello pod Succeeded"; else bad "hello pod Succeeded" "$(jq -c .status <<<"$POD")"; fi
eq "hello exit code" "$(ctr hello | jq -r .state.terminated.exitCode)" 0
eq "hello log in /var/log/pods" "$(podlog hello hello | logtext)" "hello, world"

# ---- web servers: the preopened containerPort, and the same server binding it itself
for w in web web-own; do
	args='["--root", "/www"]'
	[ $w = web-own ] && args='["--port", "8080", "--root", "/www"]'
	manifest $w "apiVersion: v1
kind: Pod
metadata: {name: $w, namespace: default}
spec:
  containers:
  - name: httpd
    image: $REG/web:v1
    args: $args
    ports:
    - {containerPort: 8080, protocol: TCP}
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 2
      timeoutSeconds: 5
    livenessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 5
      timeoutSeconds: 5
      failureThreshold: 3"
done

# ---- a pod's CreateContainer, the way kubelet fills it: a downward-API volume (the
# `..data` symlink layout ConfigMap and Secret volumes share), env from the pod,
# workingDir, a memory limit, a read-only subPath file, the termination message.
mkdir -p "$T/hostdir"
printf 'from a subPath\n' >"$T/hostdir/one.txt"
printf 'nameserver 10.96.0.10\nsearch default.svc.cluster.local\n' >"$T/resolv.conf"
manifest vol "apiVersion: v1
kind: Pod
metadata:
  name: vol
  namespace: default
  labels: {app: vol, tier: test}
spec:
  restartPolicy: Never
  containers:
  - name: tool
    image: $REG/podtool:v1
    workingDir: /work
    args: [ls, /etc/podinfo, cat, /etc/podinfo/labels, print, '', cat, /etc/one.txt,
           cat, /etc/resolv.conf,
           write, /etc/one.txt, changed, env, POD_, env, PWD,
           write, /dev/termination-log, 'all good', exit, '0']
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: POD_GREETING, value: hi}
    resources:
      limits: {memory: 48Mi}
    volumeMounts:
    - {name: podinfo, mountPath: /etc/podinfo}
    - {name: host, mountPath: /etc/one.txt, subPath: one.txt, readOnly: true}
    - {name: resolv, mountPath: /etc/resolv.conf, readOnly: true}
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - path: labels
        fieldRef: {fieldPath: metadata.labels}
  - name: host
    hostPath: {path: $T/hostdir, type: Directory}
  - name: resolv
    hostPath: {path: $T/resolv.conf, type: File}"

# FallbackToLogsOnError: no message file written, exit 1: the log's tail is the message.
manifest fallback "apiVersion: v1
kind: Pod
metadata: {name: fallback, namespace: default}
spec:
  restartPolicy: Never
  containers:
  - name: tool
    image: $REG/podtool:v1
    args: [print, 'something broke', exit, '1']
    terminationMessagePolicy: FallbackToLogsOnError"

# restartPolicy Always: an app exiting 1 restarts with kubelet's back-off.
manifest crash "apiVersion: v1
kind: Pod
metadata: {name: crash, namespace: default}
spec:
  restartPolicy: Always
  containers:
  - name: tool
    image: $REG/podtool:v1
    args: [print, 'attempt done', sleep, '4000', exit, '1']"

# restartPolicy OnFailure: a failing app restarts too.
manifest onfail "apiVersion: v1
kind: Pod
metadata: {name: onfail, namespace: default}
spec:
  restartPolicy: OnFailure
  containers:
  - name: tool
    image: $REG/podtool:v1
    args: [exit, '7']"

# An init container runs to completion before the app.
manifest init "apiVersion: v1
kind: Pod
metadata: {name: init, namespace: default}
spec:
  restartPolicy: Never
  initContainers:
  - name: setup
    image: $REG/podtool:v1
    args: [print, 'init ran']
  containers:
  - name: app
    image: $REG/podtool:v1
    args: [print, 'app ran']"

# hostNetwork: a VM cannot join the node's network; CreateContainer says so.
manifest hostnet "apiVersion: v1
kind: Pod
metadata: {name: hostnet, namespace: default}
spec:
  hostNetwork: true
  containers:
  - name: tool
    image: $REG/podtool:v1
    args: [print, 'never runs']"
# hostPID and a privileged container: refused the same way.
manifest hostpid "apiVersion: v1
kind: Pod
metadata: {name: hostpid, namespace: default}
spec:
  hostPID: true
  containers:
  - name: tool
    image: $REG/podtool:v1"
manifest priv "apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: default}
spec:
  containers:
  - name: tool
    image: $REG/podtool:v1
    securityContext: {privileged: true}"
PROVOKED='spec\.hostNetwork|spec\.hostPID|securityContext\.privileged'

# Log rotation: more than containerLogMaxSize at once, then, after kubelet rotated the
# file and asked kumod to reopen it (ReopenContainerLog), more lines.
manifest logs "apiVersion: v1
kind: Pod
metadata: {name: logs, namespace: default}
spec:
  containers:
  - name: tool
    image: $REG/podtool:v1
    args: [repeat, '60', 'before rotation', sleep, '30000', repeat, '3', 'after rotation',
           sleep, '3600000']"

# ---- an exec liveness probe: a Wasm command of the image (podtool's `test`) decides,
# from a file of a hostPath volume this script creates and removes
mkdir -p "$T/probe"
: >"$T/probe/healthy"
manifest probe "apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: default}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: tool
    image: $REG/podtool:v1
    args: [print, up, sleep, '3600000']
    volumeMounts: [{name: flag, mountPath: /flag}]
    livenessProbe:
      exec: {command: [/app_podtool.wasm, test, /flag/healthy]}
      periodSeconds: 2
      timeoutSeconds: 20
      failureThreshold: 1
  volumes:
  - name: flag
    hostPath: {path: $T/probe, type: Directory}"

# ---- what kubelet reports
for w in web web-own; do
	if wait_pod $w '.status.conditions[]? | select(.type == "Ready") | .status == "True"' 240; then
		ok "$w: Ready (HTTP readiness probe)$([ $w = web-own ] && echo ', binding its declared port itself')"
	else
		bad "$w: Ready (HTTP readiness probe)" "$(jq -c .status <<<"$POD") $(podlog $w httpd)"
	fi
	ip=$(jq -r .status.podIP <<<"$POD")
	eq "$w: the page over the pod IP $ip" "$(curl -s --max-time 10 "http://$ip:8080/index.html")" "$(cat "$T/img/www/index.html")"
	eq "$w: running, never restarted (TCP liveness probe passes)" "$(ctr httpd | jq -r '"\(.state | keys[0]) \(.restartCount)"')" "running 0"
done

if wait_pod vol '.status.phase == "Succeeded"' 240; then ok "vol pod Succeeded"; else bad "vol pod Succeeded" "$(jq -c .status <<<"$POD")"; fi
eq "the termination message kubelet reports (file)" "$(ctr tool | jq -r .state.terminated.message)" "all good"
datadir=$(podlog vol tool | logtext | sed -n 's/^l \.\.data -> //p')
eq "vol: what the app saw" "$(podlog vol tool | logtext | sed -E 's/^POD_IP=10\.78\.0\.[0-9]+$/POD_IP=<pod address>/')" "d $datadir
l ..data -> $datadir
l labels -> ..data/labels
app=\"vol\"
tier=\"test\"
from a subPath
nameserver 10.96.0.10
search default.svc.cluster.local
write /etc/one.txt: EROFS
POD_GREETING=hi
POD_IP=<pod address>
POD_NAME=vol-$NODE
PWD=/work"
case $datadir in ..20*) ok "the downward-API volume has kubelet's timestamped ..data target" ;; *) bad "..data target" "\`$datadir\`" ;; esac
eq "the read-only subPath file is unchanged on the host" "$(cat "$T/hostdir/one.txt")" "from a subPath"
if [ "${POD_VM:-true}" = true ]; then
	# In the pod VM the container's limit caps its linear memory (its CREATE config).
	eq "the memory limit caps the container's memory in the pod VM" "$(grep -c '"memory_limit":50331648' "$T/kumod.log")" 1
else
	eq "the memory limit sizes the VM" "$(grep -c 'created (48 MiB' "$T/kumod.log")" 1
fi

if wait_pod fallback '.status.phase == "Failed"' 180; then ok "fallback pod Failed (restartPolicy Never)"; else bad "fallback pod Failed" "$(jq -c .status <<<"$POD")"; fi
eq "FallbackToLogsOnError: the log's tail is the message" "$(ctr tool | jq -r '"\(.state.terminated.exitCode) \(.state.terminated.message)"')" "1 something broke"

if wait_pod crash '[.status.containerStatuses[]? | .restartCount >= 2] | any' 300; then
	ok "crash: restarted (restartCount $(ctr tool | jq -r .restartCount))"
else
	bad "crash: restartCount rises" "$(jq -c .status <<<"$POD")"
fi
eq "crash: the last attempt exited 1" "$(ctr tool | jq -r .lastState.terminated.exitCode)" 1
if wait_pod crash '[.status.containerStatuses[]? | .state.waiting.reason == "CrashLoopBackOff"] | any' 120; then
	ok "crash: kubelet backs off (CrashLoopBackOff)"
else
	bad "crash: kubelet backs off" "$(jq -c .status <<<"$POD")"
fi
# kubectl logs --previous reads lastState's container: while the next attempt runs, the
# previous attempt's log file stays next to the current one.
if wait_pod crash '[.status.containerStatuses[]? | .state.running != null] | any' 120; then
	n=$(ctr tool | jq -r .restartCount)
	eq "crash: attempt $n runs, attempt $((n - 1))'s log stays (kubectl logs --previous)" "$(podlog crash tool $((n - 1)) | logtext)" "attempt done"
else
	bad "crash: runs again after the back-off" "$(jq -c .status <<<"$POD")"
fi

if wait_pod onfail '[.status.containerStatuses[]? | .restartCount >= 1] | any' 180; then ok "onfail: restarted under OnFailure"; else bad "onfail: restarted under OnFailure" "$(jq -c .status <<<"$POD")"; fi

if wait_pod init '.status.phase == "Succeeded"' 240; then ok "init pod Succeeded"; else bad "init pod Succeeded" "$(jq -c .status <<<"$POD")"; fi
eq "the init container completed" "$(ctr setup init | jq -r .state.terminated.reason)" Completed
eq "the init container ran before the app" "$(jq -r '(.status.initContainerStatuses[0].state.terminated.finishedAt) <= (.status.containerStatuses[0].state.terminated.startedAt)' <<<"$POD")" true
eq "init and app logs" "$(podlog init setup | logtext)/$(podlog init app | logtext)" "init ran/app ran"

if wait_pod hostnet '[.status.containerStatuses[]? | .state.waiting.reason == "CreateContainerError"] | any' 180; then
	ok "hostnet: CreateContainerError"
else
	bad "hostnet: CreateContainerError" "$(jq -c .status <<<"$POD")"
fi
msg=$(ctr tool | jq -r .state.waiting.message)
case $msg in *spec.hostNetwork*) ok "the message names spec.hostNetwork" ;; *) bad "the message names spec.hostNetwork" "$msg" ;; esac
eq "hostnet: never started, no crash loop" "$(ctr tool | jq -r .restartCount)" 0
for p in hostpid:spec.hostPID priv:securityContext.privileged; do
	if wait_pod ${p%%:*} '[.status.containerStatuses[]? | .state.waiting.reason == "CreateContainerError"] | any' 180 &&
		[[ $(ctr tool | jq -r .state.waiting.message) == *"${p#*:}"* ]]; then
		ok "${p%%:*}: CreateContainerError naming ${p#*:}"
	else
		bad "${p%%:*}: CreateContainerError naming ${p#*:}" "$(jq -c .status <<<"$POD")"
	fi
done

# ---- log rotation by kubelet: the old file renamed, kumod writes on in the new one
if wait_pod logs '[.status.containerStatuses[]? | .state.running != null] | any' 180; then
	ok "logs pod runs"
else
	bad "logs pod runs" "$(jq -c .status <<<"$POD")"
fi
ldir=$(podlogdir logs tool)
for _ in $(seq 300); do
	ls $ldir/0.log.* >/dev/null 2>&1 && grep -q 'after rotation 3' $ldir/0.log 2>/dev/null && break
	sleep 0.2
done
rotated=$(ls $ldir/0.log.* 2>/dev/null | head -1)
if [ -n "$rotated" ]; then ok "kubelet rotated the log ($(basename "$rotated"))"; else bad "kubelet rotated the log" "$(ls $ldir)"; fi
eq "the rotated file holds the lines before" "$( (zcat -f "$rotated" 2>/dev/null) | logtext | grep -c 'before rotation')" 60
eq "the new file gets the lines after (ReopenContainerLog)" "$(podlog logs tool | logtext)" "after rotation 1
after rotation 2
after rotation 3"

# ---- the exec liveness probe (checked here, late: its restart takes a while, and the
# crash pod's checks above read lastState before kubelet's container GC removes it)
if wait_pod probe '[.status.containerStatuses[]? | .state.running != null] | any' 240; then ok "probe pod runs"; else bad "probe pod runs" "$(jq -c .status <<<"$POD")"; fi
execs() { grep -c 'RuntimeService/ExecSync ok' "$T/kumod.log"; }
n0=$(execs)
for _ in $(seq 100); do [ $(($(execs) - n0)) -ge 3 ] && break; sleep 0.2; done
eq "probe: kubelet's exec liveness probe passes while the file exists (3 probes, no restart)" "$(( $(execs) - n0 >= 3 ))/$(ctr tool | jq -r .restartCount)" "1/0"
rm "$T/probe/healthy"
if wait_pod probe '[.status.containerStatuses[]? | .restartCount >= 1] | any' 120; then
	ok "probe: the module says unhealthy (exit 1): kubelet restarts the container"
else
	bad "probe: a failing exec probe restarts the container" "$(jq -c .status <<<"$POD")"
fi
grep -A1 '"Probe failed" probeType="Liveness" pod="default/probe-' "$T/kubelet.log" | grep -q 'test /flag/healthy: ENOENT' &&
	grep -q 'Container tool failed liveness probe, will be restarted' "$T/kubelet.log" &&
	ok "probe: kubelet logged the module's output as the failure, and restarted it for it" ||
	bad "probe: kubelet logged the failure" "$(grep -i 'liveness' "$T/kubelet.log" | tail -2)"
: >"$T/probe/healthy"
if wait_pod probe '[.status.containerStatuses[]? | .state.running != null] | any' 120; then ok "probe: runs again once the file is back"; else bad "probe: runs again" "$(jq -c .status <<<"$POD")"; fi

# ---- a pod restored from a checkpoint image (issue 18): a counter pod kubelet runs is
# checkpointed (it goes on), its archive pushed as a checkpoint image and the pod
# replaced by one whose image is that: kubelet pulls it and creates the pod and its
# container as for any image, and the counter counts on from the checkpoint.
counts() { podlog "$1" counter | logtext | sed -nE 's/^count ([0-9]+) sum [0-9]+ ok$/\1/p'; }
manifest counter "apiVersion: v1
kind: Pod
metadata: {name: counter, namespace: default}
spec:
  containers:
  - name: counter
    image: $REG/counter:v1
    args: ['0', '50']"
if wait_pod counter '.status.phase == "Running"' 180; then ok "counter pod runs"; else bad "counter pod runs" "$(jq -c .status <<<"$POD")"; fi
for _ in $(seq 300); do [ "$(counts counter | wc -l)" -ge 5 ] && break; sleep 0.1; done
cpod=$(crictl ListPodSandbox '{}' | jq -r --arg n "counter-$NODE" '.items[] | select(.metadata.name == $n) | .id')
pre=$(counts counter | tail -1)
"$BIN/kumo" checkpoint "$cpod" -o "$T/counter.kumo" --socket "$SOCK" 2>"$T/ck.err" && ok "kumo checkpoint of kubelet's counter pod" ||
	bad "kumo checkpoint of kubelet's counter pod" "$(cat "$T/ck.err")"
post=$(counts counter | tail -1)
"$BIN/kumo" push --checkpoint "$T/counter.kumo" "$REG/counter-ck:v1" >"$T/push.log" 2>&1 && ok "kumo push --checkpoint" ||
	bad "kumo push --checkpoint" "$(cat "$T/push.log")"
unmanifest counter
for _ in $(seq 300); do [ -z "$(pod counter)" ] && break; sleep 0.2; done
manifest restored "apiVersion: v1
kind: Pod
metadata: {name: restored, namespace: default}
spec:
  containers:
  - name: counter
    image: $REG/counter-ck:v1"
if wait_pod restored '.status.phase == "Running"' 180; then ok "the checkpoint image's pod runs"; else bad "the checkpoint image's pod runs" "$(jq -c .status <<<"$POD")"; fi
for _ in $(seq 300); do [ "$(counts restored | wc -l)" -ge 5 ] && break; sleep 0.1; done
c1=$(counts restored | head -1)
eq "its first count follows the checkpoint's ($pre < $c1 <= $post + 1)" \
	"$([ -n "$c1" ] && [ "$c1" -gt "$pre" ] && [ "$c1" -le $((post + 1)) ] && echo yes)" yes
eq "and it counts on" "$(counts restored | awk -v s="$c1" 'BEGIN{r="yes"} $1!=s+NR-1{r="no"} END{print (NR >= 5 ? r : "too few")}')" yes
eq "kubelet reports the container running, never restarted" "$(ctr counter | jq -r '"\(.state.running != null) \(.restartCount)"')" "true 0"
unmanifest restored
for _ in $(seq 300); do [ -z "$(pod restored)" ] && break; sleep 0.2; done

# ---- kubelet restarts: its pods keep running and it adopts them again
wait_pod web '.status.phase == "Running"' 10
web_id=$(ctr httpd | jq -r .containerID)
stop_kubelet
sleep 2
start_kubelet || bad "kubelet restarts" "$(tail -5 "$T/kubelet.log")"
if wait_pod web '.status.conditions[]? | select(.type == "Ready") | .status == "True"' 120; then
	ok "after a kubelet restart: web Ready again"
else
	bad "after a kubelet restart: web Ready again" "$(jq -c .status <<<"$POD")"
fi
eq "after a kubelet restart: the same container, not restarted" "$(ctr httpd | jq -r '"\(.containerID) \(.restartCount)"')" "$web_id 0"
ip=$(jq -r .status.podIP <<<"$POD")
eq "after a kubelet restart: the page over the pod IP" "$(curl -s --max-time 10 "http://$ip:8080/index.html")" "$(cat "$T/img/www/index.html")"

# ---- kumod restarts under a running kubelet: pods keep running
stop_kumod
start_kumod
sleep 12 # a few of kubelet's sync periods
if wait_pod web '.status.conditions[]? | select(.type == "Ready") | .status == "True"' 120; then
	ok "after a kumod restart: web Ready"
else
	bad "after a kumod restart: web Ready" "$(jq -c .status <<<"$POD")"
fi
eq "after a kumod restart: the same container, not restarted" "$(ctr httpd | jq -r '"\(.containerID) \(.restartCount)"')" "$web_id 0"
eq "after a kumod restart: the page over the pod IP" "$(curl -s --max-time 10 "http://$ip:8080/index.html")" "$(cat "$T/img/www/index.html")"

# ---- pods deleted: kubelet stops and removes them (StopContainer, StopPodSandbox, then
# RemoveContainer and RemovePodSandbox in its garbage collection); nothing is left
for m in "$T"/manifests/*.yaml; do unmanifest "$(basename "$m" .yaml)"; done
for _ in $(seq 600); do [ "$(pods | jq '.items | length')" = 0 ] && break; sleep 0.2; done
eq "kubelet forgot every pod" "$(pods | jq '.items | length')" 0
for _ in $(seq 900); do
	[ "$(crictl ListPodSandbox '{}' | jq '.items | length')" = 0 ] && break
	sleep 0.2
done
eq "kubelet removed every sandbox" "$(crictl ListPodSandbox '{}' | jq '.items | length')" 0
eq "no container left" "$(crictl ListContainers '{}' | jq '.containers | length')" 0
eq "no VM left" "$(qemu_pids "$T/root" | wc -l)" 0
eq "no tap left" "$(ip -o link show | grep -c ': kt')" 0

stop_kubelet
# kumod never answered with an error kubelet did not cause.
eq "no unprovoked runtime errors in kubelet's log" "$(runtime_errors)" ""
[ $fail -ne 0 ] && { tail -40 "$T/kumod.log"; grep -E '^E' "$T/kubelet.log" | tail -20; }
finish
