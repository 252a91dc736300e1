#!/usr/bin/env bash
# deploy/demo.sh - `make demo`: kumo's main job as far as it works today.
#   1. a Wasm app (our own C, built with clang --target=wasm32-wasi) is pushed as a
#      wasi/wasm OCI image to a local registry (Debian's docker-registry on 127.0.0.1),
#   2. pulled into a kumo store (digests verified, module identified),
#   3. compiled ahead of time and linked with the kumo unikernel (cached),
#   4. booted as its own VM (QEMU started directly; KVM when /dev/kvm works, else TCG)
#      with its args, its stdout streamed back and its exit code kept,
#   5. the same app as a Linux process on the hosted runtime, for comparison.
# What it does not show yet (see README "Status"): a pod started through kumod's CRI
# socket and reached over its pod IP needs the kernel's network stack (issue 4).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kumo=$top/build/bin/kumo
work=$(mktemp -d /tmp/kumo-demo-XXXXXX)
source tests/registry/registry.sh
cleanup() { registry_stop >/dev/null 2>&1 || true; rm -rf "$work"; }
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
echo
echo "demo done: pushed, pulled, compiled, linked and booted a Wasm app as a kumo VM."
