#!/usr/bin/env bash
# tests/e2e/cri-e2e.sh - end-to-end tests of kumod through its CRI socket: starts the
# test daemon (kumod's own main on the fake stages: fake images and VMs, see
# tests/support/fake_backend.c) with --socket/--root in a temp dir and drives it with
# build/bin/kumo-crictl the way kubelet and
# crictl do: Version, Status, pull, runp, create, start, status, logs, stats, events,
# stop, rm, rmp, rmi, filters, restart recovery (kill -9 and SIGTERM), bad requests.
# Prints `cri: N passed, N failed`.
set -u
# shellcheck source=../lib/cri.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/cri.sh"
cri_suite cri 20
ROOT=$T/root
LOGS=$T/logs
mkdir -p "$LOGS"
at_exit '[ -z "${K2PID:-}" ] || { kill -9 "$K2PID" 2>/dev/null; wait "$K2PID" 2>/dev/null; }'

# wait_state ID STATE: polls ContainerStatus until STATE (bounded, not a timed assertion)
wait_state() {
	for _ in $(seq 200); do
		[ "$(crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null | jq -r .status.state)" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
start_kumod() {
	"$BUILD/tests/kumod-fake" --socket "$SOCK" --root "$ROOT" --log-level debug "$@" 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do
		crictl Version >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "kumod did not come up:"; cat "$T/kumod.log"
	return 1
}
pod_json() { # name uid [labels-json]
	printf '{"config":{"metadata":{"name":"%s","uid":"%s","namespace":"e2e","attempt":0},"hostname":"%s","log_directory":"%s/%s","labels":%s,"annotations":{"note":"kept"},"port_mappings":[{"protocol":"TCP","container_port":8080}]}}' \
		"$1" "$2" "$1" "$LOGS" "$1" "${3:-{\}}"
}
ctr_json() { # pod name image cmd-json [labels-json]
	printf '{"pod_sandbox_id":"%s","config":{"metadata":{"name":"%s"},"image":{"image":"%s"},"command":%s,"envs":[{"key":"GREETING","value":"aGk="}],"log_path":"%s.log","labels":%s}}' \
		"$1" "$2" "$3" "$4" "$2" "${5:-{\}}"
}
create() { # pod name cmd-json [labels] -> prints the id
	crictl CreateContainer "$(ctr_json "$1" "$2" localhost:5000/hello "$3" "${4:-{\}}")" | jq -r .container_id
}

# --- daemon basics --------------------------------------------------------------------
eq "kumod --version" "$("$BIN/kumod" --version | cut -d' ' -f1-2)" "kumod 0.1.0"
"$BIN/kumod" --bogus >/dev/null 2>&1; eq "kumod rejects an unknown flag" "$?" "2"
start_kumod || { echo "cri: $pass passed, $((fail + 1)) failed"; exit 1; }
eq "socket mode is 0660" "$(stat -c %a "$SOCK")" "660"

call "Version" Version
eq "Version runtime_name" "$(jq -r .runtime_name <<<"$OUT")" "kumo"
eq "Version runtime_api_version" "$(jq -r .runtime_api_version <<<"$OUT")" "v1"
call "Status" Status '{}'
eq "Status RuntimeReady" "$(jq -r '.status.conditions[] | select(.type=="RuntimeReady") | .status' <<<"$OUT")" "true"
eq "Status NetworkReady reported" "$(jq -r '[.status.conditions[] | select(.type=="NetworkReady")] | length' <<<"$OUT")" "1"
eq "Status advertises the kumo handler" "$(jq -r '[.runtime_handlers[].name] | join(",")' <<<"$OUT")" ",kumo"
call "RuntimeConfig" RuntimeConfig '{}'
eq "RuntimeConfig cgroup driver" "$(jq -r .linux.cgroup_driver <<<"$OUT")" "CGROUPFS"
call "UpdateRuntimeConfig" UpdateRuntimeConfig '{"runtime_config":{"network_config":{"pod_cidr":"10.244.1.0/24"}}}'
call "Status verbose" Status '{"verbose":true}'
eq "pod CIDR stored" "$(jq -r '.info.info | fromjson | .pod_cidr' <<<"$OUT")" "10.244.1.0/24"
call "ListMetricDescriptors" ListMetricDescriptors '{}'
eq "ListMetricDescriptors empty" "$(jq -r '.descriptors | length' <<<"$OUT")" "0"
call "ListPodSandboxMetrics" ListPodSandboxMetrics '{}'

# --- images ---------------------------------------------------------------------------
call "PullImage" PullImage '{"image":{"image":"localhost:5000/hello"}}'
IMG=$(jq -r .image_ref <<<"$OUT")
eq "PullImage returns an image id" "${IMG:0:7}" "sha256:"
call "ListImages" ListImages '{}'
eq "ListImages has the tag" "$(jq -r '.images[].repo_tags[]' <<<"$OUT" | grep -c '^localhost:5000/hello:latest$')" "1"
call "ImageStatus" ImageStatus '{"image":{"image":"localhost:5000/hello:latest"}}'
eq "ImageStatus id" "$(jq -r .image.id <<<"$OUT")" "$IMG"
call "ImageStatus of an absent image" ImageStatus '{"image":{"image":"localhost:5000/absent"}}'
eq "absent image: no image in the answer" "$(jq -r '.image // "none"' <<<"$OUT")" "none"
call "ImageFsInfo" ImageFsInfo '{}'
eq "ImageFsInfo mountpoint" "$(jq -r '.image_filesystems[0].fs_id.mountpoint' <<<"$OUT")" "$ROOT/test-backend"
code "pull of an unknown image" NotFound PullImage '{"image":{"image":"localhost:5000/notfound"}}'
code "pull of a non-Wasm image" Unimplemented PullImage '{"image":{"image":"localhost:5000/notwasm"}}'
grep -q "not a WebAssembly image" <<<"$ERR" && ok "non-Wasm image message" || bad "non-Wasm image message" "$ERR"
code "pull of a module with an unsupported import" Unimplemented PullImage '{"image":{"image":"localhost:5000/badimport"}}'
code "PullImage without image" InvalidArgument PullImage '{}'

# --- pods -----------------------------------------------------------------------------
call "RunPodSandbox" RunPodSandbox "$(pod_json web uid-web '{"app":"web","tier":"front"}')"
POD=$(jq -r .pod_sandbox_id <<<"$OUT")
eq "pod id is 64 hex" "$(grep -cE '^[0-9a-f]{64}$' <<<"$POD")" "1"
mkdir -p "$LOGS/web"
call "PodSandboxStatus by prefix" PodSandboxStatus "{\"pod_sandbox_id\":\"${POD:0:12}\"}"
eq "pod is ready" "$(jq -r .status.state <<<"$OUT")" "SANDBOX_READY"
eq "pod has an IP" "$(jq -r .status.network.ip <<<"$OUT" | grep -cE '^10\.88\.[0-9]+\.[0-9]+$')" "1"
eq "pod labels round-trip" "$(jq -c .status.labels <<<"$OUT")" '{"app":"web","tier":"front"}'
eq "pod annotations round-trip" "$(jq -c .status.annotations <<<"$OUT")" '{"note":"kept"}'
eq "pod metadata" "$(jq -r '.status.metadata | "\(.namespace)/\(.name)/\(.uid)"' <<<"$OUT")" "e2e/web/uid-web"
code "RunPodSandbox twice" AlreadyExists RunPodSandbox "$(pod_json web uid-web)"
code "RunPodSandbox without metadata" InvalidArgument RunPodSandbox '{"config":{}}'
code "RunPodSandbox without config" InvalidArgument RunPodSandbox '{}'
code "RunPodSandbox with an unknown runtime handler" InvalidArgument RunPodSandbox '{"config":{"metadata":{"name":"h","uid":"h","namespace":"n"}},"runtime_handler":"gvisor"}'
call "RunPodSandbox second pod" RunPodSandbox "$(pod_json db uid-db '{"app":"db"}')"
POD2=$(jq -r .pod_sandbox_id <<<"$OUT")
mkdir -p "$LOGS/db"
call "ListPodSandbox" ListPodSandbox '{}'
eq "two pods listed" "$(jq '.items | length' <<<"$OUT")" "2"
call "ListPodSandbox label selector" ListPodSandbox '{"filter":{"label_selector":{"app":"web"}}}'
eq "label selector picks one pod" "$(jq -r '[.items[].id] | join(",")' <<<"$OUT")" "$POD"
call "ListPodSandbox unmatched selector" ListPodSandbox '{"filter":{"label_selector":{"app":"web","tier":"back"}}}'
eq "unmatched selector lists none" "$(jq '.items | length' <<<"$OUT")" "0"
call "ListPodSandbox id prefix filter" ListPodSandbox "{\"filter\":{\"id\":\"${POD2:0:10}\"}}"
eq "id prefix filter" "$(jq -r '[.items[].id] | join(",")' <<<"$OUT")" "$POD2"

# --- events: a subscriber sees the next container's create and start -------------------
crictl events 2 >"$T/events" 2>"$T/events.err" &
EVPID=$!
sleep 0.3 # let the subscription reach kumod before the events happen

# --- containers -----------------------------------------------------------------------
C1=$(create "$POD" hello '["echo","hello","world"]' '{"role":"greeter"}')
eq "CreateContainer returns an id" "$(grep -cE '^[0-9a-f]{64}$' <<<"$C1")" "1"
call "ContainerStatus after create" ContainerStatus "{\"container_id\":\"$C1\"}"
eq "created state" "$(jq -r .status.state <<<"$OUT")" "CONTAINER_CREATED"
eq "log path" "$(jq -r .status.log_path <<<"$OUT")" "$LOGS/web/hello.log"
eq "image ref is the image id" "$(jq -r .status.image_ref <<<"$OUT")" "$IMG"
eq "image spec kept" "$(jq -r .status.image.image <<<"$OUT")" "localhost:5000/hello"
call "StartContainer by prefix" StartContainer "{\"container_id\":\"${C1:0:12}\"}"
wait_state "$C1" CONTAINER_EXITED && ok "echo container exits" || bad "echo container exits" "still $(crictl ContainerStatus "{\"container_id\":\"$C1\"}" | jq -r .status.state)"
call "ContainerStatus after exit" ContainerStatus "{\"container_id\":\"$C1\",\"verbose\":true}"
eq "exit code 0" "$(jq -r .status.exit_code <<<"$OUT")" "0"
eq "reason Completed" "$(jq -r .status.reason <<<"$OUT")" "Completed"
eq "timestamps ordered" "$(jq -r '.status | (.created_at <= .started_at and .started_at <= .finished_at and .created_at > 1600000000000000000)' <<<"$OUT")" "true"
eq "verbose info names the pod" "$(jq -r '.info.info | fromjson | .sandboxID' <<<"$OUT")" "$POD"
eq "log content" "$(cut -d' ' -f2- "$LOGS/web/hello.log")" "stdout F hello world"
eq "log line is CRI format" "$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z stdout F ' "$LOGS/web/hello.log")" "1"
wait "$EVPID"; eq "events stream delivered two events" "$?" "0"
eq "event types" "$(jq -r .container_event_type "$T/events" | tr '\n' ' ')" "CONTAINER_CREATED_EVENT CONTAINER_STARTED_EVENT "
eq "events carry the container id" "$(jq -r .container_id "$T/events" | sort -u)" "$C1"
code "StartContainer twice" FailedPrecondition StartContainer "{\"container_id\":\"$C1\"}"

C2=$(create "$POD" fails '["exit","3"]')
call "start failing container" StartContainer "{\"container_id\":\"$C2\"}"
wait_state "$C2" CONTAINER_EXITED
call "status of failing container" ContainerStatus "{\"container_id\":\"$C2\"}"
eq "exit code 3" "$(jq -r .status.exit_code <<<"$OUT")" "3"
eq "reason Error" "$(jq -r .status.reason <<<"$OUT")" "Error"
C3=$(create "$POD" traps '["trap"]')
call "start trapping container" StartContainer "{\"container_id\":\"$C3\"}"
wait_state "$C3" CONTAINER_EXITED
call "status of trapping container" ContainerStatus "{\"container_id\":\"$C3\"}"
eq "trap exit code" "$(jq -r .status.exit_code <<<"$OUT")" "134"
eq "trap reason and message" "$(jq -r '"\(.status.reason): \(.status.message)"' <<<"$OUT")" "Trap: integer divide by zero"

C4=$(create "$POD" server '["serve"]' '{"role":"server"}')
call "start server container" StartContainer "{\"container_id\":\"$C4\"}"
wait_state "$C4" CONTAINER_RUNNING && ok "server runs" || bad "server runs" "not running"
code "CreateContainer with the same name" AlreadyExists CreateContainer "$(ctr_json "$POD" server localhost:5000/hello '["serve"]')"
call "ListContainers" ListContainers '{}'
eq "four containers" "$(jq '.containers | length' <<<"$OUT")" "4"
call "ListContainers state filter" ListContainers '{"filter":{"state":{"state":"CONTAINER_RUNNING"}}}'
eq "running filter" "$(jq -r '[.containers[].id] | join(",")' <<<"$OUT")" "$C4"
call "ListContainers label filter" ListContainers '{"filter":{"label_selector":{"role":"greeter"}}}'
eq "label filter" "$(jq -r '[.containers[].id] | join(",")' <<<"$OUT")" "$C1"
call "ListContainers pod filter" ListContainers "{\"filter\":{\"pod_sandbox_id\":\"$POD2\"}}"
eq "pod filter (other pod has none)" "$(jq '.containers | length' <<<"$OUT")" "0"
call "ContainerStats" ContainerStats "{\"container_id\":\"$C4\"}"
eq "stats attributes" "$(jq -r .stats.attributes.id <<<"$OUT")" "$C4"
eq "stats memory" "$(jq -r '.stats.memory.working_set_bytes.value > 0' <<<"$OUT")" "true"
call "ListContainerStats" ListContainerStats "{\"filter\":{\"pod_sandbox_id\":\"$POD\"}}"
eq "stats for the pod's containers" "$(jq '.stats | length' <<<"$OUT")" "4"
call "PodSandboxStats" PodSandboxStats "{\"pod_sandbox_id\":\"$POD\"}"
eq "pod stats list containers" "$(jq '.stats.linux.containers | length' <<<"$OUT")" "4"
call "ListPodSandboxStats" ListPodSandboxStats '{}'
eq "pod stats for both pods" "$(jq '.stats | length' <<<"$OUT")" "2"
call "UpdateContainerResources" UpdateContainerResources "{\"container_id\":\"$C4\",\"linux\":{\"memory_limit_in_bytes\":67108864}}"
call "resources reported" ContainerStatus "{\"container_id\":\"$C4\"}"
eq "memory limit recorded" "$(jq -r .status.resources.linux.memory_limit_in_bytes <<<"$OUT")" "67108864"
call "ReopenContainerLog" ReopenContainerLog "{\"container_id\":\"$C4\"}"
# An exited container's log rotated (kubelet renames it, then asks): a new, empty file.
mv "$LOGS/web/hello.log" "$LOGS/web/hello.log.1"
call "ReopenContainerLog of an exited container" ReopenContainerLog "{\"container_id\":\"$C1\"}"
eq "it made the exited container's new, empty log file" \
	"$([ -f "$LOGS/web/hello.log" ] && [ ! -s "$LOGS/web/hello.log" ] && echo yes)" yes
eq "and the rotated one kept its lines" "$(grep -c 'hello world' "$LOGS/web/hello.log.1")" 1

# --- bad requests -----------------------------------------------------------------------
code "ContainerStatus unknown id" NotFound ContainerStatus '{"container_id":"0000dead"}'
code "StartContainer unknown id" NotFound StartContainer '{"container_id":"0000dead"}'
code "StopContainer unknown id" NotFound StopContainer '{"container_id":"0000dead"}'
code "PodSandboxStatus unknown id" NotFound PodSandboxStatus '{"pod_sandbox_id":"0000dead"}'
code "StopPodSandbox unknown id" NotFound StopPodSandbox '{"pod_sandbox_id":"0000dead"}'
code "ContainerStats unknown id" NotFound ContainerStats '{"container_id":"0000dead"}'
call "RemoveContainer unknown id is idempotent" RemoveContainer '{"container_id":"0000dead"}'
call "RemovePodSandbox unknown id is idempotent" RemovePodSandbox '{"pod_sandbox_id":"0000dead"}'
code "ContainerStatus without id" InvalidArgument ContainerStatus '{}'
code "CreateContainer without pod" InvalidArgument CreateContainer '{"config":{"metadata":{"name":"x"},"image":{"image":"a"}}}'
code "CreateContainer without image" InvalidArgument CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"x\"}}}"
code "CreateContainer without metadata" InvalidArgument CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"image\":{\"image\":\"a\"}}}"
code "CreateContainer with an unpulled image" NotFound CreateContainer "$(ctr_json "$POD" x localhost:5000/never-pulled '[]')"
grep -q "pull it first" <<<"$ERR" && ok "unpulled image message" || bad "unpulled image message" "$ERR"
code "CreateContainer in an unknown pod" NotFound CreateContainer "$(ctr_json 0000dead x localhost:5000/hello '[]')"
# Streaming (the test backend's fake exec; tests/e2e/cri-stream.sh has the rest).
code "ExecSync of a command that is not a Wasm module" Unimplemented ExecSync "{\"container_id\":\"$C4\",\"cmd\":[\"ls\"]}"
grep -q "exec" <<<"$ERR" && ok "ExecSync message says why" || bad "ExecSync message says why" "$ERR"
code "Attach without any stream" InvalidArgument Attach "{\"container_id\":\"$C4\"}"
call "PortForward returns a URL" PortForward "{\"pod_sandbox_id\":\"$POD\"}"
grep -q '"url": "http://127.0.0.1:[0-9]*/portforward/' <<<"$OUT" && ok "the URL is on loopback" || bad "the URL is on loopback" "$OUT"
code "CheckpointContainer without a location" InvalidArgument CheckpointContainer "{\"container_id\":\"$C4\"}"
grep -q "archive's path" <<<"$ERR" && ok "CheckpointContainer says what is missing" || bad "CheckpointContainer says what is missing" "$ERR"

# --- restart recovery: kill -9 --------------------------------------------------------
C5=$(create "$POD2" sleeper '["sleep","1000"]')
call "start a container that exits while kumod is down" StartContainer "{\"container_id\":\"$C5\"}"
kumod_kill
sleep 1.5 # the sleeper's fake VM exits while kumod is down
start_kumod || bad "kumod restarts after kill -9" "no"
call "ListPodSandbox after kill -9" ListPodSandbox '{}'
eq "pods survive kill -9" "$(jq '.items | length' <<<"$OUT")" "2"
call "ListContainers after kill -9" ListContainers '{}'
eq "containers survive kill -9" "$(jq '.containers | length' <<<"$OUT")" "5"
call "running container after kill -9" ContainerStatus "{\"container_id\":\"$C4\"}"
eq "running VM re-attached" "$(jq -r .status.state <<<"$OUT")" "CONTAINER_RUNNING"
call "exited container after kill -9" ContainerStatus "{\"container_id\":\"$C2\"}"
eq "exit code kept" "$(jq -r '"\(.status.state) \(.status.exit_code)"' <<<"$OUT")" "CONTAINER_EXITED 3"
call "exit while down" ContainerStatus "{\"container_id\":\"$C5\"}"
eq "exit that happened while down is reported" "$(jq -r '"\(.status.state) \(.status.exit_code) \(.status.reason)"' <<<"$OUT")" "CONTAINER_EXITED 0 Completed"
call "pod status after kill -9" PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}"
eq "pod labels after restart" "$(jq -c .status.labels <<<"$OUT")" '{"app":"web","tier":"front"}'

# --- graceful SIGTERM: VMs keep running --------------------------------------------------
kill -TERM "$KPID"; wait "$KPID"; eq "kumod exits 0 on SIGTERM" "$?" "0"; KPID=
[ -e "$SOCK" ] && bad "socket removed on shutdown" "still there" || ok "socket removed on shutdown"
start_kumod || bad "kumod restarts after SIGTERM" "no"
call "running container after SIGTERM" ContainerStatus "{\"container_id\":\"$C4\"}"
eq "VM kept running across SIGTERM" "$(jq -r .status.state <<<"$OUT")" "CONTAINER_RUNNING"

# --- stop, remove ------------------------------------------------------------------------
call "StopContainer" StopContainer "{\"container_id\":\"$C4\",\"timeout\":1}"
call "status after stop" ContainerStatus "{\"container_id\":\"$C4\"}"
eq "stopped with 143" "$(jq -r '"\(.status.state) \(.status.exit_code)"' <<<"$OUT")" "CONTAINER_EXITED 143"
call "StopContainer again is idempotent" StopContainer "{\"container_id\":\"$C4\",\"timeout\":1}"
call "RemoveContainer" RemoveContainer "{\"container_id\":\"$C1\"}"
code "removed container is gone" NotFound ContainerStatus "{\"container_id\":\"$C1\"}"
call "RemoveContainer again is idempotent" RemoveContainer "{\"container_id\":\"$C1\"}"
C6=$(create "$POD" late '["serve"]')
crictl StartContainer "{\"container_id\":\"$C6\"}" >/dev/null
call "StopPodSandbox" StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
call "pod status after stop" PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}"
eq "pod not ready" "$(jq -r .status.state <<<"$OUT")" "SANDBOX_NOTREADY"
eq "its running container was stopped" "$(jq -r ".containers_statuses[] | select(.id==\"$C6\") | .state" <<<"$OUT")" "CONTAINER_EXITED"
call "StopPodSandbox again is idempotent" StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
code "CreateContainer in a stopped pod" FailedPrecondition CreateContainer "$(ctr_json "$POD" x localhost:5000/hello '[]')"
call "ListPodSandbox state filter" ListPodSandbox '{"filter":{"state":{"state":"SANDBOX_READY"}}}'
eq "ready filter" "$(jq -r '[.items[].id] | join(",")' <<<"$OUT")" "$POD2"
call "RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
code "removed pod is gone" NotFound PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}"
call "ListContainers after rmp" ListContainers "{\"filter\":{\"pod_sandbox_id\":\"$POD\"}}"
eq "pod's containers removed" "$(jq '.containers | length' <<<"$OUT")" "0"
call "RemovePodSandbox of a ready pod" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD2\"}"
call "ListPodSandbox empty" ListPodSandbox '{}'
eq "no pods left" "$(jq '.items | length' <<<"$OUT")" "0"
eq "no state files left" "$(ls "$ROOT/pods" "$ROOT/containers" | grep -c json)" "0"
call "RemoveImage" RemoveImage '{"image":{"image":"localhost:5000/hello"}}'
call "ListImages after rmi" ListImages '{}'
eq "image gone" "$(jq '.images | length' <<<"$OUT")" "0"
call "RemoveImage again is idempotent" RemoveImage '{"image":{"image":"localhost:5000/hello"}}'

# --- configuration file, flags override it -----------------------------------------------
printf '{"socket":"%s/other.sock","root":"%s/root2","backend":"test","workers":2}\n' "$T" "$T" >"$T/kumo.json"
"$BUILD/tests/kumod-fake" --config "$T/kumo.json" --socket "$T/flag.sock" 2>>"$T/kumod2.log" &
K2PID=$!
for _ in $(seq 200); do "$BIN/kumo-crictl" --socket "$T/flag.sock" Version >/dev/null 2>&1 && break; sleep 0.05; done
"$BIN/kumo-crictl" --socket "$T/flag.sock" Version >/dev/null 2>&1 && ok "flag overrides config socket" || bad "flag overrides config socket" "$(cat "$T/kumod2.log")"
[ -d "$T/root2/pods" ] && ok "config file sets root" || bad "config file sets root" "no $T/root2/pods"
kill -TERM "$K2PID"; wait "$K2PID"; K2PID=
printf '{"sockett":"x"}\n' >"$T/bad.json"
"$BIN/kumod" --config "$T/bad.json" >/dev/null 2>"$T/bad.err"; rc=$?
[ $rc -eq 2 ] && grep -q 'sockett' "$T/bad.err" && ok "bad config key rejected" || bad "bad config key rejected" "rc $rc: $(cat "$T/bad.err")"

kill -TERM "$KPID"; wait "$KPID"; KPID=
if [ $fail -ne 0 ]; then echo "--- kumod log"; tail -50 "$T/kumod.log"; fi
echo "cri: $pass passed, $fail failed"
[ $fail -eq 0 ]
