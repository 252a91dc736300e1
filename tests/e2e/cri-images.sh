#!/usr/bin/env bash
# tests/e2e/cri-images.sh - kumod's REAL backend through the CRI socket, as far as it
# is built: ImageService against a local docker-registry (pull a wasi/wasm image
# pushed by `kumo push` and compiled at pull time, list, status, fs info, remove; a
# Linux-only image, a module that does not validate, a missing tag and an unreachable
# registry each get the right gRPC status and a clear message),
# honest NetworkReady (true: kumod wrote its default CNI list into the empty conf dir and Debian's plugins are there), and a pod removed with a created (paused) container in it.
# Booting containers is tests/e2e/cri-vm.sh.
# Prints `cri-images: N passed, N failed`.
set -u
# kumod's real backend gives pods their network from CNI (a default list in this
# script's conf dir: bridge, veths, iptables rules, taps): in network and mount
# namespaces of this script's own they never touch the machine's.
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
# Pods take their network from CNI: host-local's store is a tmpfs of this mount namespace.
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/kumo-cri-images.XXXXXX)
SOCK=$T/kumo.sock
KPID=
SUITE=cri-images
CRICTL_TIMEOUT=60
# shellcheck source=../registry/registry.sh
. "$HERE/../registry/registry.sh"
# shellcheck source=cri-lib.sh
. "$HERE/cri-lib.sh"

cleanup() {
	[ -n "$KPID" ] && kill -9 "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	registry_stop
	umount -l "$T/netns" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# A tiny WASI module (exports _start) and the images around it.
printf '(module (func (export "_start")))' >"$T/app.wat"
wat2wasm "$T/app.wat" -o "$T/app.wasm" || { bad "wat2wasm" "failed"; finish; }
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
"$BIN/kumo" push "$T/app.wasm" "$REG/hello:v1" >"$T/push.log" 2>&1 && ok "kumo push" || bad "kumo push" "$(cat "$T/push.log")"
printf '\0asm\1\0\0\0\1\5\1\140' >"$T/broken.wasm" # a type section cut short
"$BIN/kumo" push "$T/broken.wasm" "$REG/broken:v1" >"$T/push2.log" 2>&1 && ok "kumo push of a broken module" || bad "kumo push of a broken module" "$(cat "$T/push2.log")"
python3 "$HERE/../registry/make-layout.py" "$T/linux" v1 linux "$T/app.wasm" &&
	skopeo copy --quiet --dest-tls-verify=false "oci:$T/linux:v1" "docker://$REG/linuxonly:v1" >"$T/skopeo.log" 2>&1 &&
	ok "push a Linux-only image" || bad "push a Linux-only image" "$(cat "$T/skopeo.log")"

"$BIN/kumod" --socket "$SOCK" --root "$T/root" --cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --log-level debug 2>"$T/kumod.log" &
KPID=$!
for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done

call "Status" Status '{}'
eq "NetworkReady is true with the default CNI list and its plugins" "$(jq -r '.status.conditions[] | select(.type=="NetworkReady") | .status' <<<"$OUT")" "true"

call "PullImage from the registry" PullImage "{\"image\":{\"image\":\"$REG/hello:v1\"}}"
IMG=$(jq -r .image_ref <<<"$OUT")
eq "image id is a sha256" "$(grep -cE '^sha256:[0-9a-f]{64}$' <<<"$IMG")" "1"
call "ListImages" ListImages '{}'
eq "the tag is listed" "$(jq -r '.images[].repo_tags[]' <<<"$OUT")" "$REG/hello:v1"
eq "size is counted" "$(jq -r '.images[0].size > 0' <<<"$OUT")" "true"
call "ImageStatus by tag" ImageStatus "{\"image\":{\"image\":\"$REG/hello:v1\"}}"
eq "ImageStatus id" "$(jq -r .image.id <<<"$OUT")" "$IMG"
call "ImageStatus by id" ImageStatus "{\"image\":{\"image\":\"$IMG\"}}"
eq "ImageStatus by id finds it" "$(jq -r '.image.repo_tags[0]' <<<"$OUT")" "$REG/hello:v1"
call "ImageFsInfo" ImageFsInfo '{}'
eq "image fs bytes" "$(jq -r '.image_filesystems[0].used_bytes.value > 0' <<<"$OUT")" "true"
eq "the pull compiled the module into the build cache" "$(ls "$T/root/build/objects/" 2>/dev/null | grep -c '\.o$')" "1"
call "pull again (cached)" PullImage "{\"image\":{\"image\":\"$REG/hello:v1\"}}"
eq "same id again" "$(jq -r .image_ref <<<"$OUT")" "$IMG"

code "a Linux-only image is refused" Unimplemented PullImage "{\"image\":{\"image\":\"$REG/linuxonly:v1\"}}"
says "the refusal names the platform" "wasm"
code "a module that does not validate" InvalidArgument PullImage "{\"image\":{\"image\":\"$REG/broken:v1\"}}"
says "the message says which image" "compile the image's module"
call "ListImages after the failed compile" ListImages '{}'
eq "an image that does not compile is not kept" "$(jq -r '[.images[].repo_tags[]] | join(",")' <<<"$OUT")" "$REG/hello:v1"
code "a missing tag" NotFound PullImage "{\"image\":{\"image\":\"$REG/hello:nope\"}}"
code "an unreachable registry" Unavailable PullImage '{"image":{"image":"127.0.0.1:1/hello:v1"}}'
code "a malformed reference" InvalidArgument PullImage '{"image":{"image":"UPPER/Case::bad"}}'

# A pod removed with a created (paused, never started) container: nothing left behind.
call "RunPodSandbox (no network yet)" RunPodSandbox '{"config":{"metadata":{"name":"p","uid":"u","namespace":"n"}}}'
POD=$(jq -r .pod_sandbox_id <<<"$OUT")
call "CreateContainer" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"c\"},\"image\":{\"image\":\"$REG/hello:v1\"}}}"
eq "its VM has a run dir" "$(ls "$T/root/vms" 2>/dev/null | wc -l)" "1"
call "RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
eq "no run dir left" "$(ls "$T/root/vms" 2>/dev/null | wc -l)" "0"
eq "no QEMU left" "$(pgrep -f "qemu-system.*$T/root" | wc -l)" "0"

call "RemoveImage" RemoveImage "{\"image\":{\"image\":\"$REG/hello:v1\"}}"
call "ListImages after remove" ListImages '{}'
eq "no images left" "$(jq '.images | length' <<<"$OUT")" "0"
call "RemoveImage again" RemoveImage "{\"image\":{\"image\":\"$REG/hello:v1\"}}"

kill -TERM "$KPID"; wait "$KPID"; eq "kumod stops on SIGTERM" "$?" "0"; KPID=
[ $fail -ne 0 ] && tail -30 "$T/kumod.log"
finish
