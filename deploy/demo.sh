#!/usr/bin/env bash
# deploy/demo.sh - `make demo`: kumo's main job as far as it works today.
#   1. a Wasm app (our own C, built with clang --target=wasm32-wasi) is pushed as a
#      wasi/wasm OCI image to a local registry (Debian's docker-registry on 127.0.0.1),
#   2. pulled into a kumo store (digests verified, module identified),
#   3. compiled ahead of time and linked with the kumo unikernel (cached),
#   4. booted as its own VM (QEMU started directly; KVM when /dev/kvm works, else TCG)
#      with its args, its stdout streamed back and its exit code kept,
#   5. the same app as a Linux process on the hosted runtime, for comparison,
#   6. the same pushed image run as a pod through kumod's CRI socket (kumod started on
#      a temporary socket and root, stopped at the end): pull, runp, create, start,
#      wait, the container's CRI log file and exit code.
# What it does not show yet (see README "Status"): a pod reached over its pod IP needs
# the kernel's network stack (issue 4).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kumo=$top/build/bin/kumo
work=$(mktemp -d /tmp/kumo-demo-XXXXXX)
source tests/registry/registry.sh
kpid=
cleanup() {
	if [ -n "$kpid" ]; then kill -TERM "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null || true; fi
	registry_stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

app=build/apps/app_args.wasm
step "local registry on 127.0.0.1"
registry_start open "$work/registry"
ref=127.0.0.1:$REG_PORT/demo/args:v1
echo "registry at 127.0.0.1:$REG_PORT"

step "kumo push $app $ref"
"$kumo" push "$app" "$ref"

step "kumo pull $ref"
export KUMO_ROOT=$work/store
"$kumo" pull "$ref" | tee "$work/pull.txt"
"$kumo" images
module=$(awk '$1 == "module" { print $2 }' "$work/pull.txt")

step "kumo build: compile (LLVM, ahead of time) + link with the kumo unikernel"
"$kumo" build "$module" -o "$work/image" -- demo 2>&1
ls -l "$work/image"

step "kumo run: the app boots as its own VM"
set +e
"$kumo" run -v "$module" -- one "two words" 3
rc=$?
set -e
echo "exit code: $rc"

step "the same app as a Linux process (kumo run --host)"
"$kumo" run --host "$module" -- one "two words" 3
echo "exit code: $?"

step "a trap inside the VM is reported with the spec's wording"
set +e
"$kumo" run build/apps/app_trap.wasm -- div-zero
echo "exit code: $? (134 = trap)"
set -e
step "a pod through kumod's CRI socket (kumo-crictl)"
sock=$work/kumo.sock
crictl() { "$top/build/bin/kumo-crictl" --socket "$sock" --timeout 120 "$@"; }
"$top/build/bin/kumod" --socket "$sock" --root "$work/kumod" --vm-backend qemu 2>"$work/kumod.log" &
kpid=$!
for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
echo "kumod on $sock (pid $kpid, log $work/kumod.log)"
crictl PullImage "{\"image\":{\"image\":\"$ref\"}}"
pod=$(crictl RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"demo\",\"uid\":\"demo-uid\",\"namespace\":\"default\"},\"log_directory\":\"$work/logs\"}}" | jq -r .pod_sandbox_id)
echo "pod $pod"
ctr=$(crictl CreateContainer "{\"pod_sandbox_id\":\"$pod\",\"config\":{\"metadata\":{\"name\":\"args\"},\"image\":{\"image\":\"$ref\"},\"args\":[\"one\",\"two words\",\"3\"],\"log_path\":\"args.log\"}}" | jq -r .container_id)
echo "container $ctr"
crictl StartContainer "{\"container_id\":\"$ctr\"}" >/dev/null
for _ in $(seq 1200); do
	st=$(crictl ContainerStatus "{\"container_id\":\"$ctr\"}")
	[ "$(jq -r .status.state <<<"$st")" = CONTAINER_EXITED ] && break
	sleep 0.1
done
echo "CRI log file $work/logs/args.log:"
cat "$work/logs/args.log"
jq -r '"state \(.status.state), exit code \(.status.exit_code), reason \(.status.reason)"' <<<"$st"
crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
kill -TERM "$kpid"; wait "$kpid" || true; kpid=

echo
echo "demo done: pushed, pulled, compiled, linked and booted a Wasm app as a kumo VM,"
echo "directly and as a pod through kumod's CRI socket."
