#!/usr/bin/env bash
# tests/e2e/cri-mixed.sh - a mixed node (issue 22): kumod with Debian's containerd + runc
# behind it (tests/lib/containerd.sh). A busybox image pulled through kumod runs
# under runc (runp with the default handler, create, start, logs, exec via kumod, stop,
# rm) while a Wasm pod runs as a kumo VM beside it (handler `kumo`, and the annotation
# kumo.dev/runtime for a pod that names none); pulls by content; merged lists, Status,
# ImageFsInfo, stats; the downstream's ids, errors and codes passed on; each image/runtime
# mismatch refused; kill -9 of kumod mid-flight and a restart: both pods still listed
# and operable; events merged (containerd 1.6 answers Unimplemented, passed on; a
# downstream that streams, kumod's test daemon, merged with kumo's own); a downstream
# that is not there leaves a kumo-only node. With CRICTL (or crictl on PATH) the real
# crictl lists and execs too. Prints `cri-mixed: N passed, N failed`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
# Pods take their network from CNI: host-local's store is a tmpfs of this mount namespace.
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
BUILD=${BUILD:-build}
BIN=$BUILD/bin
APPS=$BUILD/apps
CHECK=${CHECK:-$BUILD/tests/e2e/kumo-downstream-check}
VM_BACKEND=${VM_BACKEND:-qemu}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/kumo-cri-mixed.XXXXXX)
SOCK=$T/kumo.sock
SUITE=cri-mixed
CRICTL_TIMEOUT=120
KPID=
FPIDS=()
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/containerd.sh
. "$HERE/../lib/containerd.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"

cleanup() {
	if [ -n "$KPID" ]; then
		for p in $(crictl ListPodSandbox '{}' 2>/dev/null | jq -r '.items[]?.id'); do
			crictl StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
			crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
		done
		kill -9 "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	fi
	for p in "${FPIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	containerd_stop
	registry_stop
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# ctrd METHOD JSON: a call straight to containerd (what it holds, for comparison).
ctrd() { "$BIN/kumo-crictl" --socket "$CTRD_SOCK" --timeout 60 "$@"; }
start_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/root" --vm-backend "$VM_BACKEND" \
		--cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --pod-cidr 10.79.0.0/24 --downstream-endpoint "$CTRD_ENDPOINT" \
		--log-level debug "$@" 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
# ts: the CRI log line prefix
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})'
# waitstate CID STATE: ContainerStatus until STATE (60 s); OUT is the last status
waitstate() {
	local st=
	for _ in $(seq 600); do
		OUT=$(crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null) || OUT='{}'
		st=$(jq -r .status.state <<<"$OUT")
		[ "$st" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# pod NAME UID [HANDLER] [ANNOTATIONS-JSON]: a RunPodSandbox request (its log directory
# made, as kubelet does; a cgroup parent, as kubelet gives, for containerd's stats)
pod() {
	mkdir -p "$T/logs/$1"
	echo "{\"config\":{\"metadata\":{\"name\":\"$1\",\"uid\":\"$2\",\"namespace\":\"mixed\"},\"log_directory\":\"$T/logs/$1\",\"linux\":{\"cgroup_parent\":\"/kumo-mixed-test/$1\"},\"annotations\":${4:-{\}}},\"runtime_handler\":\"${3:-}\"}"
}
# ctr POD POD-NAME NAME IMAGE FIELD ARGV-JSON: a CreateContainer request (FIELD command
# or args; the pod's config with its log directory, as kubelet sends it)
ctr() {
	echo "{\"pod_sandbox_id\":\"$1\",\"config\":{\"metadata\":{\"name\":\"$3\"},\"image\":{\"image\":\"$4\"},\"$5\":$6,\"log_path\":\"$3.log\",\"linux\":{}},\"sandbox_config\":{\"metadata\":{\"name\":\"$2\",\"uid\":\"$2-uid\",\"namespace\":\"mixed\"},\"log_directory\":\"$T/logs/$2\"}}"
}
has() { jq -e --arg v "$2" "$1" >/dev/null 2>&1; } # has JQ-FILTER VALUE <<<JSON

for a in app_args app_podtool; do
	[ -f "$APPS/$a.wasm" ] || { bad "test app $a" "missing $APPS/$a.wasm (make apps)"; finish; }
done
[ -x "$CHECK" ] || { bad "the check program is built" "no $CHECK (make test-prereqs)"; finish; }
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
linux_images_push "$REG" pause busybox && ok "push the busybox and pause images" ||
	{ bad "push the busybox and pause images" "failed"; finish; }
for a in args podtool; do
	"$BIN/kumo" push "$APPS/app_$a.wasm" "$REG/$a:v1" >"$T/push.log" 2>&1 || bad "kumo push $a" "$(cat "$T/push.log")"
done
"$BIN/kumo" push --artifact "$APPS/app_args.wasm" "$REG/args-artifact:v1" >"$T/push.log" 2>&1 ||
	bad "kumo push --artifact" "$(cat "$T/push.log")"
containerd_start "$T/ctrd" "$REG" && ok "containerd starts" || { bad "containerd starts" "see above"; finish; }
BUSYBOX=docker.io/library/busybox:latest
WASM=$REG/args:v1
mkdir -p "$T/logs"

echo "# a pod containerd already runs before kumod takes over"
ctrd PullImage "{\"image\":{\"image\":\"$BUSYBOX\"}}" >/dev/null && ok "containerd pulls busybox itself" || bad "containerd pulls busybox itself" "failed"
OLDP=$(ctrd RunPodSandbox "$(pod old old-uid)" | jq -r .pod_sandbox_id)
OLDC=$(ctrd CreateContainer "$(ctr "$OLDP" old old "$BUSYBOX" command '["sh","-c","echo from before; exec sleep 1000"]')" | jq -r .container_id)
ctrd StartContainer "{\"container_id\":\"$OLDC\"}" >/dev/null && ok "containerd runs a busybox pod of its own" || bad "containerd runs a busybox pod of its own" "$OLDP $OLDC"

echo "# kumod in front of containerd ($CTRD_ENDPOINT)"
start_kumod && ok "kumod starts with containerd behind it" || { bad "kumod starts" "$(tail -20 "$T/kumod.log")"; finish; }
[ -f "$T/root/routes/pods/$OLDP.json" ] && [ -f "$T/root/routes/containers/$OLDC.json" ] &&
	ok "kumod adopted containerd's pod and container at start-up" || bad "kumod adopted containerd's pod" "no route entries"
call "the old pod is listed through kumod" PodSandboxStatus "{\"pod_sandbox_id\":\"$OLDP\"}"
eq "the old pod is ready" "$(jq -r .status.state <<<"$OUT")" SANDBOX_READY
call "ExecSync in the old container through kumod" ExecSync "{\"container_id\":\"$OLDC\",\"cmd\":[\"sh\",\"-c\",\"pgrep -x sleep >/dev/null && echo its sleep runs\"],\"timeout\":30}"
eq "it is the container containerd started" "$(jq -r .stdout <<<"$OUT" | base64 -d)" "its sleep runs"
call "Version" Version '{}'
eq "Version is kumo's" "$(jq -r .runtime_name <<<"$OUT")" kumo
call "Status (verbose)" Status '{"verbose":true}'
eq "RuntimeReady: both runtimes are" "$(jq -r '.status.conditions[] | select(.type=="RuntimeReady") | .status' <<<"$OUT")" true
eq "NetworkReady: both runtimes are" "$(jq -r '.status.conditions[] | select(.type=="NetworkReady") | .status' <<<"$OUT")" true
INFO=$(jq -r .info.info <<<"$OUT")
eq "Status info names the downstream and its version" "$(jq -r '.downstream.state + " " + .downstream.runtime_name' <<<"$INFO")" "present containerd"
eq "Status info: the downstream has no event stream (1.6)" "$(jq -r .downstream.events <<<"$INFO")" "unsupported (Unimplemented)"
eq "Status offers kumo's handler" "$(jq -r '[.runtime_handlers[].name] | index("kumo") != null' <<<"$OUT")" true

echo "# images by content"
call "PullImage busybox (a Linux image: containerd's)" PullImage "{\"image\":{\"image\":\"$BUSYBOX\"}}"
BB_ID=$(jq -r .image_ref <<<"$OUT")
eq "containerd holds busybox" "$(ctrd ImageStatus "{\"image\":{\"image\":\"$BUSYBOX\"}}" | jq -r .image.id)" "$BB_ID"
eq "kumo's store does not" "$(ls "$T/root/images" 2>/dev/null | wc -l)" 0
call "PullImage a wasi/wasm image (kumo's)" PullImage "{\"image\":{\"image\":\"$WASM\"}}"
W_ID=$(jq -r .image_ref <<<"$OUT")
call "PullImage the Wasm artifact (kumo's)" PullImage "{\"image\":{\"image\":\"$REG/args-artifact:v1\"}}"
call "PullImage podtool (kumo's)" PullImage "{\"image\":{\"image\":\"$REG/podtool:v1\"}}"
eq "containerd does not hold the Wasm images" "$(ctrd ImageStatus "{\"image\":{\"image\":\"$WASM\"}}" | jq -r '.image.id // "none"')" none
eq "kumo's store holds 3 images" "$(ls "$T/root/images" 2>/dev/null | wc -l)" 3
call "ListImages (merged)" ListImages '{}'
eq "ListImages lists busybox" "$(jq --arg i "$BB_ID" '[.images[] | select(.id == $i)] | length' <<<"$OUT")" 1
eq "ListImages lists the Wasm image" "$(jq --arg i "$W_ID" '[.images[] | select(.id == $i)] | length' <<<"$OUT")" 1
call "ListImages with a filter (both apply it)" ListImages "{\"filter\":{\"image\":{\"image\":\"$BUSYBOX\"}}}"
# (containerd 1.6 ignores ListImages' filter: kumo's half is what shows it applied)
eq "the filter reaches both: busybox in, kumo's Wasm image out" "$(jq --arg b "$BB_ID" --arg w "$W_ID" '[.images[].id] | (index($b) != null) and (index($w) == null)' <<<"$OUT")" true
call "ImageStatus busybox (containerd's answer)" ImageStatus "{\"image\":{\"image\":\"$BUSYBOX\"}}"
eq "ImageStatus busybox" "$(jq -r .image.id <<<"$OUT")" "$BB_ID"
call "ImageStatus the Wasm image (kumo's answer)" ImageStatus "{\"image\":{\"image\":\"$WASM\"}}"
eq "ImageStatus Wasm" "$(jq -r .image.id <<<"$OUT")" "$W_ID"
call "ImageStatus of an image nobody has" ImageStatus '{"image":{"image":"docker.io/library/nosuch:1"}}'
eq "is empty" "$(jq -r '.image.id // "none"' <<<"$OUT")" none
call "ImageFsInfo (merged)" ImageFsInfo '{}'
eq "ImageFsInfo: both runtimes' file systems" "$(jq '.image_filesystems | length' <<<"$OUT")" 2
eq "ImageFsInfo: containerd's first (kubelet reads the first)" "$(jq -r '.image_filesystems[0].fs_id.mountpoint | startswith("'"$T/ctrd"'")' <<<"$OUT")" true

echo "# a busybox pod under runc and a Wasm pod as a VM, side by side"
call "RunPodSandbox busybox (default handler)" RunPodSandbox "$(pod bb bb-uid)"
BP=$(jq -r .pod_sandbox_id <<<"$OUT")
eq "containerd runs the busybox pod (same id)" "$(ctrd PodSandboxStatus "{\"pod_sandbox_id\":\"$BP\"}" | jq -r .status.state)" SANDBOX_READY
eq "its route is recorded" "$(jq -r .runtime <"$T/root/routes/pods/$BP.json")" downstream
call "RunPodSandbox wasm (handler kumo)" RunPodSandbox "$(pod wasm wasm-uid kumo)"
WP=$(jq -r .pod_sandbox_id <<<"$OUT")
ctrd PodSandboxStatus "{\"pod_sandbox_id\":\"$WP\"}" >/dev/null 2>"$T/err" && bad "containerd does not know the Wasm pod" "it does" ||
	{ grep -q "code = NotFound" "$T/err" && ok "containerd does not know the Wasm pod" || bad "containerd does not know the Wasm pod" "$(cat "$T/err")"; }
call "PodSandboxStatus of the Wasm pod (kumo's)" PodSandboxStatus "{\"pod_sandbox_id\":\"$WP\"}"
eq "the Wasm pod is ready" "$(jq -r .status.state <<<"$OUT")" SANDBOX_READY
call "RunPodSandbox (no handler, annotation kumo.dev/runtime: kumo)" RunPodSandbox "$(pod anno anno-uid "" '{"kumo.dev/runtime":"kumo"}')"
AP=$(jq -r .pod_sandbox_id <<<"$OUT")
[ -f "$T/root/pods/$AP.json" ] && ok "the annotated pod is kumo's" || bad "the annotated pod is kumo's" "no kumo record"
call "RunPodSandbox (handler runc: containerd's)" RunPodSandbox "$(pod runc runc-uid runc)"
RP=$(jq -r .pod_sandbox_id <<<"$OUT")
eq "the runc pod is containerd's" "$(ctrd PodSandboxStatus "{\"pod_sandbox_id\":\"$RP\"}" | jq -r .status.runtime_handler)" runc

call "CreateContainer busybox" CreateContainer "$(ctr "$BP" bb bb "$BUSYBOX" command '["sh","-c","echo hello from busybox; exec sleep 1000"]')"
BC=$(jq -r .container_id <<<"$OUT")
call "StartContainer busybox" StartContainer "{\"container_id\":\"$BC\"}"
call "CreateContainer Wasm" CreateContainer "$(ctr "$WP" wasm args "$WASM" args '["mixed","node"]')"
WC=$(jq -r .container_id <<<"$OUT")
call "StartContainer Wasm" StartContainer "{\"container_id\":\"$WC\"}"
waitstate "$BC" CONTAINER_RUNNING && ok "busybox runs" || bad "busybox runs" "$(jq -c .status <<<"$OUT")"
waitstate "$WC" CONTAINER_EXITED && ok "the Wasm VM ran and exited" || bad "the Wasm VM ran and exited" "$(jq -c .status <<<"$OUT")"
eq "Wasm exit code and reason" "$(jq -r '"\(.status.exit_code) \(.status.reason)"' <<<"$OUT")" "0 Completed"
eq "Wasm log" "$(sed -E "s/^$ts stdout F //" "$T/logs/wasm/args.log" 2>/dev/null)" "argc=3
argv[1]=<mixed>
argv[2]=<node>"
for _ in $(seq 50); do grep -q hello "$T/logs/bb/bb.log" 2>/dev/null && break; sleep 0.1; done
eq "busybox log (containerd's CRI log file)" "$(sed -E "s/^$ts stdout F //" "$T/logs/bb/bb.log" 2>/dev/null)" "hello from busybox"
call "ExecSync in busybox via kumod" ExecSync "{\"container_id\":\"$BC\",\"cmd\":[\"sh\",\"-c\",\"echo \$((6 * 7))\"],\"timeout\":30}"
eq "ExecSync output" "$(jq -r .stdout <<<"$OUT" | base64 -d)" "42"
call "Exec in busybox via kumod" Exec "{\"container_id\":\"$BC\",\"cmd\":[\"true\"],\"stdout\":true}"
eq "Exec answers containerd's streaming URL" "$(jq -r .url <<<"$OUT" | grep -cE '^http://127\.0\.0\.1:[0-9]+/exec/')" 1
call "PortForward to the busybox pod" PortForward "{\"pod_sandbox_id\":\"$BP\",\"port\":[80]}"
eq "PortForward answers containerd's URL" "$(jq -r .url <<<"$OUT" | grep -cE '/portforward/')" 1
# kumo answers for its own (exited) container, containerd is never asked.
code "ExecSync in a kumo container: kumo's answer" FailedPrecondition ExecSync "{\"container_id\":\"$WC\",\"cmd\":[\"true\"]}"
says "it is kumo's container that is not running" "is not running"

echo "# merged views"
call "ListPodSandbox" ListPodSandbox '{}'
eq "both runtimes' pods listed" "$(jq -r '[.items[].id] | sort | join(" ")' <<<"$OUT")" "$(printf '%s\n' "$OLDP" "$BP" "$WP" "$AP" "$RP" | sort | tr '\n' ' ' | sed 's/ $//')"
call "ListPodSandbox filtered by id prefix" ListPodSandbox "{\"filter\":{\"id\":\"${BP:0:12}\"}}"
eq "the filter reaches containerd" "$(jq -r '[.items[].id] | join(",")' <<<"$OUT")" "$BP"
call "ListContainers" ListContainers '{}'
eq "both runtimes' containers listed" "$(jq -r '[.containers[].id] | sort | join(" ")' <<<"$OUT")" "$(printf '%s\n' "$OLDC" "$BC" "$WC" | sort | tr '\n' ' ' | sed 's/ $//')"
call "ListContainers filtered by state RUNNING" ListContainers '{"filter":{"state":{"state":"CONTAINER_RUNNING"}}}'
eq "only the busybox containers run" "$(jq -r '[.containers[].id] | sort | join(",")' <<<"$OUT")" "$(printf '%s\n' "$OLDC" "$BC" | sort | tr '\n' ',' | sed 's/,$//')"
call "ListImages again" ListImages '{}'
eq "ListImages: containerd's pause image too" "$(jq '[.images[].repo_tags[]? | select(startswith("registry.k8s.io/pause"))] | length' <<<"$OUT")" 1
call "ListContainerStats" ListContainerStats '{}'
eq "stats of all three containers" "$(jq '.stats | length' <<<"$OUT")" 3
call "ContainerStats busybox (containerd's)" ContainerStats "{\"container_id\":\"$BC\"}"
eq "busybox uses memory" "$(jq -r '(.stats.memory.working_set_bytes.value // "0" | tonumber) > 0' <<<"$OUT")" true
call "ListPodSandboxStats" ListPodSandboxStats '{}'
eq "pod stats of kumo's and containerd's" "$(jq --arg b "$BP" --arg w "$WP" '[.stats[].attributes.id | select(. == $b or . == $w)] | length' <<<"$OUT")" 2
call "UpdateRuntimeConfig reaches both" UpdateRuntimeConfig '{"runtime_config":{"network_config":{"pod_cidr":"10.79.0.0/24"}}}'

echo "# the downstream's ids, errors and codes"
code "an id nobody knows: containerd's NotFound" NotFound ContainerStatus '{"container_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}'
theirs=$(ctrd ContainerStatus '{"container_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}' 2>&1 >/dev/null)
eq "its message is containerd's own" "$ERR" "$theirs"
code "a handler containerd lacks: its error, its code" Unknown RunPodSandbox "$(pod nosuch nosuch-uid nosuch)"
says "it names the handler" 'nosuch'
code "a kumo container named by a prefix" FailedPrecondition ExecSync "{\"container_id\":\"${WC:0:12}\",\"cmd\":[\"true\"]}"
call "a containerd container named by a prefix" ContainerStatus "{\"container_id\":\"${BC:0:12}\"}"
eq "is containerd's" "$(jq -r .status.id <<<"$OUT")" "$BC"

echo "# each mismatch is refused, naming the runtime class to use"
code "a Linux image in a kumo pod" InvalidArgument CreateContainer "$(ctr "$WP" wasm bad "$BUSYBOX" command '["true"]')"
says "it says the image is not WebAssembly" "is not a WebAssembly image"
says "it names the runtime class" "without runtime class \`kumo\`"
code "a Wasm image in a containerd pod" InvalidArgument CreateContainer "$(ctr "$BP" bb bad "$WASM" args '["x"]')"
says "it says the image is WebAssembly" "is a WebAssembly image"
says "it names runtime class kumo and the annotation" "runtime class \`kumo\`.*kumo.dev/runtime: kumo"
code "a Wasm image in a containerd pod named by annotation" InvalidArgument CreateContainer "$(ctr "$RP" runc bad "$WASM" args '["x"]')"

echo "# kill -9 of kumod mid-flight, and a restart"
crictl RunPodSandbox "$(pod late late-uid)" >"$T/late.out" 2>&1 &
LATE=$!
sleep 0.05
kill -9 "$KPID"; wait "$KPID" 2>/dev/null; KPID=
wait "$LATE"
rm -f "$SOCK"
start_kumod && ok "kumod restarts" || bad "kumod restarts" "$(tail -20 "$T/kumod.log")"
call "ListPodSandbox after the restart" ListPodSandbox '{}'
for p in "$OLDP" "$BP" "$WP" "$AP" "$RP"; do
	eq "pod ${p:0:12} still listed" "$(jq --arg p "$p" '[.items[] | select(.id == $p)] | length' <<<"$OUT")" 1
done
LP=$(ctrd ListPodSandbox '{"filter":{"label_selector":{}}}' | jq -r '.items[] | select(.metadata.name == "late") | .id')
if [ -n "$LP" ]; then
	eq "the pod containerd made while kumod died is listed" "$(jq --arg p "$LP" '[.items[] | select(.id == $p)] | length' <<<"$OUT")" 1
	[ -f "$T/root/routes/pods/$LP.json" ] && ok "and adopted into the routes" || bad "and adopted into the routes" "no entry"
else
	ok "the interrupted RunPodSandbox left nothing behind"
fi
call "ListContainers after the restart" ListContainers '{}'
eq "the containers are still listed" "$(jq -r '[.containers[].id] | sort | join(" ")' <<<"$OUT")" "$(printf '%s\n' "$OLDC" "$BC" "$WC" | sort | tr '\n' ' ' | sed 's/ $//')"
call "ExecSync in busybox after the restart" ExecSync "{\"container_id\":\"$BC\",\"cmd\":[\"echo\",\"still here\"],\"timeout\":30}"
eq "ExecSync output after the restart" "$(jq -r .stdout <<<"$OUT" | base64 -d)" "still here"
call "a second Wasm container after the restart" CreateContainer "$(ctr "$AP" anno args2 "$WASM" args '["again"]')"
WC2=$(jq -r .container_id <<<"$OUT")
call "StartContainer it" StartContainer "{\"container_id\":\"$WC2\"}"
waitstate "$WC2" CONTAINER_EXITED && ok "it ran as a VM" || bad "it ran as a VM" "$(jq -c .status <<<"$OUT")"
eq "its log" "$(sed -E "s/^$ts stdout F //" "$T/logs/anno/args2.log" 2>/dev/null | tail -1)" "argv[1]=<again>"
call "StopContainer busybox" StopContainer "{\"container_id\":\"$BC\",\"timeout\":2}"
waitstate "$BC" CONTAINER_EXITED && ok "busybox stopped" || bad "busybox stopped" "$(jq -c .status <<<"$OUT")"
call "RemoveContainer busybox" RemoveContainer "{\"container_id\":\"$BC\"}"
[ -f "$T/root/routes/containers/$BC.json" ] && bad "its route is forgotten" "still there" || ok "its route is forgotten"
code "containerd no longer has it" NotFound ContainerStatus "{\"container_id\":\"$BC\"}"
call "RemoveContainer Wasm" RemoveContainer "{\"container_id\":\"$WC\"}"
for p in "$OLDP" "$BP" "$WP" "$AP" "$RP" ${LP:+"$LP"}; do
	call "StopPodSandbox ${p:0:12}" StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}"
	call "RemovePodSandbox ${p:0:12}" RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}"
done
call "ListPodSandbox at the end" ListPodSandbox '{}'
eq "no pod left" "$(jq '.items | length' <<<"$OUT")" 0
eq "containerd has no pod left" "$(ctrd ListPodSandbox '{}' | jq '.items | length')" 0
eq "no route left" "$(ls "$T/root/routes/pods" "$T/root/routes/containers" | grep -c json)" 0
call "RemoveImage busybox (containerd's)" RemoveImage "{\"image\":{\"image\":\"$BUSYBOX\"}}"
eq "containerd no longer holds busybox" "$(ctrd ImageStatus "{\"image\":{\"image\":\"$BUSYBOX\"}}" | jq -r '.image.id // "none"')" none
call "RemoveImage the Wasm image (kumo's)" RemoveImage "{\"image\":{\"image\":\"$WASM\"}}"
eq "kumo's store holds 2 images" "$(ls "$T/root/images" 2>/dev/null | wc -l)" 2

echo "# containerd down: Status names it, its views fail, kumo's pods still answer"
call "a kumo pod" RunPodSandbox "$(pod kdown kdown-uid kumo)"
KD=$(jq -r .pod_sandbox_id <<<"$OUT")
kill "$CTRD_PID"; wait "$CTRD_PID" 2>/dev/null
call "Status with containerd down" Status '{}'
eq "RuntimeReady is false" "$(jq -r '.status.conditions[] | select(.type=="RuntimeReady") | .status' <<<"$OUT")" false
eq "its message names the downstream" "$(jq -r '.status.conditions[] | select(.type=="RuntimeReady") | .message' <<<"$OUT" | grep -c "downstream runtime \`$CTRD_ENDPOINT\`")" 1
code "ListPodSandbox fails rather than hide containerd's pods" Unavailable ListPodSandbox '{}'
call "the kumo pod still answers" PodSandboxStatus "{\"pod_sandbox_id\":\"$KD\"}"
call "RunPodSandbox of a kumo pod still works" RunPodSandbox "$(pod kdown2 kdown2-uid kumo)"
KD2=$(jq -r .pod_sandbox_id <<<"$OUT")
code "a pod for containerd gets its Unavailable" Unavailable RunPodSandbox "$(pod cdown cdown-uid)"
ctrd_launch && ok "containerd back" || bad "containerd back" "see above"
call "Status with containerd back" Status '{}'
eq "ready again" "$(jq -r '[.status.conditions[].status] | all' <<<"$OUT")" true
for p in "$KD" "$KD2"; do crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1; done

echo "# GetContainerEvents"
code "containerd 1.6 streams no events: kumod says so" Unimplemented events 1
says "naming the downstream" "downstream runtime"

# With the real crictl: the lists and exec as a user sees them.
CRICTL=${CRICTL:-$(command -v crictl || true)}
if [ -n "$CRICTL" ] && [ -x "$CRICTL" ]; then
	echo "# the real crictl ($CRICTL) against kumod"
	cc() { "$CRICTL" --config /dev/null --runtime-endpoint "unix://$SOCK" --image-endpoint "unix://$SOCK" --timeout 120s "$@" 2>"$T/crictl.err"; }
	pod bb2 bb2-uid | jq .config >"$T/bb.json"
	pod wasm2 wasm2-uid | jq '.config | .annotations = {"kumo.dev/runtime":"kumo"}' >"$T/wasm.json"
	echo "{\"metadata\":{\"name\":\"c\"},\"image\":{\"image\":\"$BUSYBOX\"},\"command\":[\"sh\",\"-c\",\"echo hello from crictl; sleep 1000\"],\"log_path\":\"c.log\",\"linux\":{}}" >"$T/bbc.json"
	echo "{\"metadata\":{\"name\":\"w\"},\"image\":{\"image\":\"$REG/podtool:v1\"},\"args\":[\"echo\",\"hi\"],\"log_path\":\"w.log\"}" >"$T/wc.json"
	cc pull "$BUSYBOX" >/dev/null && ok "crictl pull busybox" || bad "crictl pull busybox" "$(cat "$T/crictl.err")"
	P1=$(cc runp "$T/bb.json") && ok "crictl runp busybox" || bad "crictl runp busybox" "$(cat "$T/crictl.err")"
	C1=$(cc create "$P1" "$T/bbc.json" "$T/bb.json") && ok "crictl create busybox" || bad "crictl create busybox" "$(cat "$T/crictl.err")"
	cc start "$C1" >/dev/null && ok "crictl start busybox" || bad "crictl start busybox" "$(cat "$T/crictl.err")"
	P2=$(cc runp "$T/wasm.json") && ok "crictl runp wasm (annotation)" || bad "crictl runp wasm" "$(cat "$T/crictl.err")"
	C2=$(cc create "$P2" "$T/wc.json" "$T/wasm.json") && ok "crictl create wasm" || bad "crictl create wasm" "$(cat "$T/crictl.err")"
	cc start "$C2" >/dev/null && ok "crictl start wasm" || bad "crictl start wasm" "$(cat "$T/crictl.err")"
	for _ in $(seq 100); do grep -q hello "$T/logs/bb2/c.log" 2>/dev/null && break; sleep 0.1; done
	eq "crictl logs busybox" "$(cc logs "$C1" 2>&1)" "hello from crictl"
	eq "crictl exec into busybox through kumod" "$(cc exec "$C1" sh -c 'echo $((6 * 7))')" "42"
	eq "crictl exec -s (ExecSync)" "$(cc exec -s "$C1" echo sync)" "sync"
	eq "crictl pods lists both" "$(cc pods -q | grep -cE "^($P1|$P2)$")" 2
	eq "crictl ps -a lists both" "$(cc ps -a -q | grep -cE "^($C1|$C2)$")" 2
	eq "crictl images lists both kinds" "$(cc images -o json | jq --arg r "$REG/podtool:v1" '[.images[].repoTags[] | select(. == $r or . == "docker.io/library/busybox:latest")] | length')" 2
	cc info >"$T/info.json" && ok "crictl info" || bad "crictl info" "$(cat "$T/crictl.err")"
	eq "crictl info shows the downstream" "$(jq -r '.downstream.runtime_name // .info.downstream.runtime_name // empty' "$T/info.json" 2>/dev/null | head -1)" containerd
	cc stop "$C1" >/dev/null && ok "crictl stop busybox" || bad "crictl stop busybox" "$(cat "$T/crictl.err")"
	cc rm "$C1" "$C2" >/dev/null && ok "crictl rm both" || bad "crictl rm both" "$(cat "$T/crictl.err")"
	cc stopp "$P1" "$P2" >/dev/null && ok "crictl stopp both" || bad "crictl stopp both" "$(cat "$T/crictl.err")"
	cc rmp "$P1" "$P2" >/dev/null && ok "crictl rmp both" || bad "crictl rmp both" "$(cat "$T/crictl.err")"
else
	echo "# crictl not given (CRICTL=path): the real crictl's view is skipped"
fi
kill -TERM "$KPID"; wait "$KPID" 2>/dev/null; KPID=

echo "# events merged: kumod's test daemon in front of another that streams events"
fake() { # SOCK ROOT [ARGS...]
	local s=$1 r=$2; shift 2
	"$BUILD/tests/kumod-fake" --socket "$s" --root "$r" --log-level warn "$@" 2>>"$T/fake.log" &
	FPIDS+=($!)
	for _ in $(seq 200); do [ -S "$s" ] && return 0; sleep 0.05; done
	return 1
}
fake "$T/down.sock" "$T/down" --downstream-endpoint none && fake "$T/front.sock" "$T/front" --downstream-endpoint "unix://$T/down.sock" ||
	bad "two test daemons start" "$(tail -5 "$T/fake.log")"
"$CHECK" "unix://$T/front.sock" --image example.com/linux-app:v1 --logdir "$T/logs" events >"$T/ev.out" 2>&1
while IFS= read -r line; do case $line in "ok   "*) ok "through kumod, the downstream's ${line#ok   }" ;; "FAIL "*) bad "downstream events" "$line" ;; esac; done <"$T/ev.out"
eq "the image went to the downstream" "$(SOCK=$T/down.sock crictl ImageStatus '{"image":{"image":"example.com/linux-app:v1"}}' | jq -r '.image.id != null')" true
grep -q "^ok   GetContainerEvents delivers STARTED" "$T/ev.out" || bad "the check ran" "$(cat "$T/ev.out")"
kill -9 "${FPIDS[1]}"; wait "${FPIDS[1]}" 2>/dev/null
rm -f "$T/front.sock"
fake "$T/front.sock" "$T/front" --downstream-endpoint "unix://$T/down.sock" --default-runtime kumo
"$CHECK" "unix://$T/front.sock" --image example.com/app:v1 --logdir "$T/logs" events >"$T/ev.out" 2>&1
while IFS= read -r line; do case $line in "ok   "*) ok "through kumod, kumo's own ${line#ok   }" ;; "FAIL "*) bad "kumo's events" "$line" ;; esac; done <"$T/ev.out"

echo "# no downstream there: a kumo-only node"
"$BUILD/tests/kumod-fake" --socket "$T/solo.sock" --root "$T/solo" --downstream-endpoint "unix://$T/nobody.sock" --log-level warn 2>>"$T/fake.log" &
FPIDS+=($!)
for _ in $(seq 200); do [ -S "$T/solo.sock" ] && break; sleep 0.05; done
SOCK=$T/solo.sock
call "Status without the downstream" Status '{"verbose":true}'
eq "ready as a kumo-only node" "$(jq -r '[.status.conditions[].status] | all' <<<"$OUT")" true
eq "Status says the downstream is absent" "$(jq -r .info.info <<<"$OUT" | jq -r .downstream.state | cut -d' ' -f1)" absent
call "PullImage (kumo's)" PullImage '{"image":{"image":"example.com/app:v1"}}'
call "RunPodSandbox with the default handler: kumo's" RunPodSandbox "$(pod solo solo-uid)"
call "ListPodSandbox: kumo's alone" ListPodSandbox '{}'
eq "one pod" "$(jq '.items | length' <<<"$OUT")" 1
code "another handler: refused, naming the missing downstream" InvalidArgument RunPodSandbox "$(pod solo2 solo2-uid runc)"
says "it names the socket" "nobody.sock"
"$BIN/kumo-crictl" --socket "$SOCK" --timeout 1 events 1 >/dev/null 2>"$T/err"
grep -q Unimplemented "$T/err" && bad "GetContainerEvents is kumo's alone, open" "$(cat "$T/err")" || ok "GetContainerEvents is kumo's alone, open"
if [ $fail -ne 0 ]; then echo "--- kumod log"; tail -40 "$T/kumod.log"; fi
finish
