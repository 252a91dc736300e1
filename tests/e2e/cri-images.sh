#!/usr/bin/env bash
# tests/e2e/cri-images.sh - kumod's REAL backend through the CRI socket, as far as it
# is built: ImageService against a local docker-registry (pull a wasi/wasm image
# pushed by `kumo push` and compiled at pull time, list, status, fs info, remove; a
# Linux-only image, a module that does not validate, a missing tag and an unreachable
# registry each get the right gRPC status and a clear message; kumo.json limits: a module
# over max_functions and one that makes LLVM work for minutes are refused at pull, naming
# the key),
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
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
cri_suite cri-images 60
at_exit 'umount -l "$T/netns" 2>/dev/null'

# A tiny WASI module (exports _start) and the images around it.
printf '(module (func (export "_start")))' >"$T/app.wat"
wat2wasm "$T/app.wat" -o "$T/app.wasm" || { bad "wat2wasm" "failed"; finish; }
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
"$BIN/kumo" push "$T/app.wasm" "$REG/hello:v1" >"$T/push.log" 2>&1 && ok "kumo push" || bad "kumo push" "$(cat "$T/push.log")"
printf '\0asm\1\0\0\0\1\5\1\140' >"$T/broken.wasm" # a type section cut short
"$BIN/kumo" push "$T/broken.wasm" "$REG/broken:v1" >"$T/push2.log" 2>&1 && ok "kumo push of a broken module" || bad "kumo push of a broken module" "$(cat "$T/push2.log")"
python3 "$HERE/../support/make-layout.py" "$T/linux" v1 linux "$T/app.wasm" &&
	skopeo copy --quiet --dest-tls-verify=false "oci:$T/linux:v1" "docker://$REG/linuxonly:v1" >"$T/skopeo.log" 2>&1 &&
	ok "push a Linux-only image" || bad "push a Linux-only image" "$(cat "$T/skopeo.log")"

# Hostile modules against limits set in kumo.json: three functions over max_functions = 2,
# and a small module (thousands of locals written across a br_table dispatch) that makes
# LLVM work for minutes, within every structural limit, against a 3 s CPU budget.
printf '(module (func) (func) (func (export "_start")))' >"$T/three.wat"
python3 - "$T/slow.wat" <<'PY'
import sys
L, A = 20000, 2000
s = ['(module (func (export "_start") (local $n i32) (local' + ' i64' * L + ')', 'loop $top', 'block $out']
s += ['block'] * A
s.append('local.get $n i32.const %d i32.rem_u br_table %s $out' % (A, ' '.join(map(str, range(A)))))
for a in range(A):
    s.append('end')
    for k in range(3):
        i, j = 1 + (a * 7 + k * 13) % L, 1 + (a * 11 + k * 5) % L
        s.append('local.get %d local.get %d i64.add local.set %d' % (j, i, i))
    s.append('local.get $n i32.const 1 i32.sub local.tee $n br_if $top')
s.append('end end i64.const 0' + ' '.join(' local.get %d i64.add' % i for i in range(1, L + 1)) + ' drop))')
open(sys.argv[1], 'w').write('\n'.join(s) + '\n')
PY
for m in three slow; do
	wat2wasm "$T/$m.wat" -o "$T/$m.wasm" && "$BIN/kumo" push "$T/$m.wasm" "$REG/$m:v1" >"$T/push-$m.log" 2>&1 &&
		ok "kumo push of a hostile module ($m)" || bad "kumo push of a hostile module ($m)" "$(cat "$T/push-$m.log")"
done
printf '{"max_functions": 2, "compile_cpu_seconds": 3, "compile_cpu_seconds_per_mib": 0}\n' >"$T/kumo.json"

"$BIN/kumod" --config "$T/kumo.json" --socket "$SOCK" --root "$T/root" --cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --log-level debug 2>"$T/kumod.log" &
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
code "a module over max_functions is refused at pull" InvalidArgument PullImage "{\"image\":{\"image\":\"$REG/three:v1\"}}"
says "the message names the limit and its key" "3, over the limit of 2 (key \`max_functions\`)"
start=$(date +%s%N)
code "a module that makes LLVM work for minutes is stopped by the budget" InvalidArgument PullImage "{\"image\":{\"image\":\"$REG/slow:v1\"}}"
says "the message names the budget and its key" "compile budget exceeded: .* \`compile_cpu_seconds\`"
ms=$((($(date +%s%N) - start) / 1000000))
if [ $ms -lt 30000 ]; then ok "the budget stopped it in ${ms} ms"; else bad "the budget stopped it quickly" "${ms} ms"; fi
eq "no compile worker left" "$(pgrep -f kumo-compile-worker | wc -l)" "0"
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
eq "no QEMU left" "$(qemu_pids "$T/root" | wc -l)" "0"

call "RemoveImage" RemoveImage "{\"image\":{\"image\":\"$REG/hello:v1\"}}"
call "ListImages after remove" ListImages '{}'
eq "no images left" "$(jq '.images | length' <<<"$OUT")" "0"
call "RemoveImage again" RemoveImage "{\"image\":{\"image\":\"$REG/hello:v1\"}}"

kill -TERM "$KPID"; wait "$KPID"; eq "kumod stops on SIGTERM" "$?" "0"; KPID=
[ $fail -ne 0 ] && tail -30 "$T/kumod.log"
finish
