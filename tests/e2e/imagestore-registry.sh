#!/usr/bin/env bash
# tests/e2e/imagestore-registry.sh - imagestore against a real registry (Debian's docker-registry
# on 127.0.0.1): open, htpasswd Basic auth and token auth; images pushed by `kumo push` and
# by skopeo from OCI layouts built by make-layout.py; faults injected by fault-proxy.py;
# kill -9 in the middle of a pull; two concurrent pulls. Ends with `registry: N passed, N failed`.
set -u
SUITE=registry
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KUMO=${KUMO:-$ROOT/build/bin/kumo}
. "$HERE/../lib/registry.sh"
W=$(mktemp -d /tmp/kumo-registry-test.XXXXXX)
PROXY_PID=
cleanup() {
	[ -n "$PROXY_PID" ] && { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
	registry_stop
	rm -rf "$W"
}
trap cleanup EXIT

t() { # name function   (ONLY=substring runs the matching tests only)
	[ -n "${ONLY:-}" ] && [[ "$1" != *"$ONLY"* ]] && return 0
	if "$2" >"$W/out" 2>&1 </dev/null; then
		pass=$((pass + 1)); echo "ok - $1"
		[ -n "${VERBOSE:-}" ] && sed 's/^/    /' "$W/out"
	else
		fail=$((fail + 1)); echo "FAIL - $1"; sed 's/^/    /' "$W/out" | tail -20
	fi
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
kumo() { "$KUMO" "$@"; }
store() { echo "$W/store-$1"; }
# pulled module digest == sha256 of the file we published
module_is() { # store ref wasm
	local out
	out=$(kumo pull --root "$1" "$2") || return 1
	echo "$out"
	grep -q "digest  sha256:$(sha "$3")" <<<"$out"
}
check_store() { kumo images --root "$1" --check; }
skopeo_push() { # kind tag-ref
	rm -rf "$W/layout-$1"
	python3 "$HERE/../support/make-layout.py" "$W/layout-$1" v1 "$1" "$W/app.wasm" &&
		skopeo copy -q --all "oci:$W/layout-$1:v1" "docker://$2" --dest-tls-verify=false
}
proxy_start() { # mode
	[ -n "$PROXY_PID" ] && { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
	PROXY_PORT=$(free_port)
	: > "$W/proxy.log"
	python3 "$HERE/../support/fault-proxy.py" "$PROXY_PORT" "$REG_PORT" "$W/proxy.log" "$1" >>"$W/proxy.err" 2>&1 &
	PROXY_PID=$!
	wait_port "$PROXY_PORT"
}

# A module: valid header, then ~1 MiB of data so layers are worth resuming.
printf '\0asm\1\0\0\0' > "$W/app.wasm"
head -c 1000000 /dev/urandom >> "$W/app.wasm"
printf '\0asm\1\0\0\0' > "$W/app2.wasm"
head -c 1000 /dev/urandom >> "$W/app2.wasm"
printf 'not wasm' > "$W/notwasm.wasm"

# ---------------------------------------------------------------- open registry
registry_start open "$W/reg-open" || { echo "registry: 0 passed, 1 failed"; exit 1; }
R=127.0.0.1:$REG_PORT

t_push_image() { kumo push "$W/app.wasm" "$R/kumo/app:v1" && module_is "$(store a)" "$R/kumo/app:v1" "$W/app.wasm"; }
t_push_artifact() {
	kumo push --artifact "$W/app.wasm" "$R/kumo/art:v1" &&
		module_is "$(store a)" "$R/kumo/art:v1" "$W/app.wasm" &&
		kumo images --root "$(store a)" | grep "$R/kumo/art:v1" | grep -q artifact
}
t_push_refuses_non_wasm() { ! kumo push "$W/notwasm.wasm" "$R/kumo/bad:v1" 2>"$W/err" && grep -q "not a WebAssembly binary" "$W/err"; }
t_skopeo_image() { skopeo_push image "$R/sk/image:v1" && module_is "$(store a)" "$R/sk/image:v1" "$W/app.wasm"; }
t_skopeo_wasip1() {
	skopeo_push wasip1 "$R/sk/wasip1:v1" && module_is "$(store a)" "$R/sk/wasip1:v1" "$W/app.wasm" &&
		kumo images --root "$(store a)" | grep "sk/wasip1" | grep -q wasip1/wasm
}
t_skopeo_artifact() { skopeo_push artifact "$R/sk/artifact:v1" && module_is "$(store a)" "$R/sk/artifact:v1" "$W/app.wasm"; }
t_skopeo_index() { skopeo_push index "$R/sk/index:v1" && module_is "$(store a)" "$R/sk/index:v1" "$W/app.wasm"; }
t_skopeo_docker_v2s2() {
	python3 "$HERE/../support/make-layout.py" "$W/layout-v2" v1 image "$W/app.wasm" &&
		skopeo copy -q --format v2s2 "oci:$W/layout-v2:v1" "docker://$R/sk/v2s2:v1" --dest-tls-verify=false &&
		skopeo inspect --raw --tls-verify=false "docker://$R/sk/v2s2:v1" | grep -q 'distribution.manifest.v2+json' &&
		module_is "$(store a)" "$R/sk/v2s2:v1" "$W/app.wasm"
}
t_zstd_layer() { skopeo_push zstd "$R/sk/zstd:v1" && module_is "$(store a)" "$R/sk/zstd:v1" "$W/app.wasm"; }
t_whiteouts() {
	skopeo_push whiteout "$R/sk/whiteout:v1" && kumo pull --root "$(store w)" "$R/sk/whiteout:v1" || return 1
	local rf; rf=$(ls -d "$(store w)"/rootfs/*/)
	[ -f "$rf/app.wasm" ] && [ ! -e "$rf/old.txt" ] && [ ! -e "$rf/d/x" ] && [ -f "$rf/d/y" ]
}
t_linux_refused() {
	skopeo_push linux "$R/sk/linux:v1" || return 1
	! kumo pull --root "$(store a)" "$R/sk/linux:v1" 2>"$W/err" && cat "$W/err" && grep -q "is for linux/amd64" "$W/err"
}
t_linux_index_refused() {
	skopeo_push linux-index "$R/sk/linux-index:v1" || return 1
	! kumo pull --root "$(store a)" "$R/sk/linux-index:v1" 2>"$W/err" && cat "$W/err" &&
		grep -q "has no wasi/wasm platform (it has linux/amd64, linux/arm64)" "$W/err"
}
t_pull_by_digest() {
	local d; d=$(skopeo inspect --raw --tls-verify=false "docker://$R/kumo/app:v1" | sha256sum | cut -d' ' -f1)
	module_is "$(store d)" "$R/kumo/app@sha256:$d" "$W/app.wasm" &&
		kumo images --root "$(store d)" | grep -q "$R/kumo/app@sha256:$d"
}
t_wrong_digest_refused() {
	! kumo pull --root "$(store d)" "$R/kumo/app@sha256:$(printf '%064d' 0)" 2>"$W/err" && cat "$W/err" && grep -q "HTTP 404" "$W/err"
}
t_missing_tag() { ! kumo pull --root "$(store a)" "$R/kumo/app:nope" 2>"$W/err" && grep -q "MANIFEST_UNKNOWN" "$W/err"; }
t_bad_reference() { ! kumo pull --root "$(store a)" "UPPER/Case:tag" 2>"$W/err" && grep -q "invalid" "$W/err"; }
t_store_consistent() { check_store "$(store a)"; }
t_tag_moves() {
	local s; s=$(store m)
	kumo push "$W/app.wasm" "$R/kumo/moving:v1" && kumo pull --root "$s" "$R/kumo/moving:v1" || return 1
	kumo push "$W/app2.wasm" "$R/kumo/moving:v1" && module_is "$s" "$R/kumo/moving:v1" "$W/app2.wasm" || return 1
	kumo images --root "$s"
	[ "$(kumo images --root "$s" | grep -c "kumo/moving:v1")" = 1 ] && [ "$(kumo images -q --root "$s" | wc -l)" = 2 ]
}
t_rmi_gc() {
	local s; s=$(store r)
	kumo push "$W/app.wasm" "$R/kumo/app:v1" && kumo push --artifact "$W/app2.wasm" "$R/kumo/rm:v1" && kumo pull --root "$s" "$R/kumo/rm:v1" &&
		kumo pull --root "$s" "$R/kumo/app:v1" || return 1
	local before; before=$(ls "$s/blobs/sha256" | wc -l)
	kumo rmi --root "$s" "$R/kumo/rm:v1" || return 1
	local after; after=$(ls "$s/blobs/sha256" | wc -l)
	echo "blobs $before -> $after"
	[ "$after" -lt "$before" ] && [ ! -e "$s/blobs/sha256/$(sha "$W/app2.wasm")" ] &&
		[ "$(ls "$s/rootfs" | wc -l)" = 1 ] && check_store "$s" &&
		! kumo rmi --root "$s" "$R/kumo/rm:v1" 2>/dev/null &&
		kumo rmi --root "$s" "$R/kumo/app:v1" && [ -z "$(ls "$s/blobs/sha256")" ] &&
		[ -z "$(ls "$s/rootfs")" ] && [ -z "$(ls "$s/images")" ]
}
t_hostile() { # kind message
	skopeo_push "hostile-$1" "$R/sk/hostile-$1:v1" || return 1
	local s; s=$(store h)
	! kumo pull --root "$s" "$R/sk/hostile-$1:v1" 2>"$W/err" && cat "$W/err" && grep -q "$2" "$W/err" &&
		[ ! -e "$W/escaped.txt" ] && [ ! -e /abs-escaped.txt ] && [ ! -e /tmp/symlink-escaped.txt ] &&
		[ -z "$(ls "$s/rootfs")" ] && check_store "$s"
}
t_hostile_dotdot() { t_hostile dotdot "escapes the root"; }
t_hostile_abs() { t_hostile abs "is an absolute path"; }
t_hostile_symlink() { t_hostile symlink "points outside the layer root"; }
t_hostile_device() { t_hostile device "is a device node: refused"; }

t "kumo push (wasi/wasm image) then pull" t_push_image
t "kumo push --artifact then pull" t_push_artifact
t "kumo push refuses a non-wasm file" t_push_refuses_non_wasm
t "skopeo-pushed wasi/wasm OCI image" t_skopeo_image
t "skopeo-pushed wasip1/wasm OCI image" t_skopeo_wasip1
t "skopeo-pushed CNCF Wasm artifact" t_skopeo_artifact
t "skopeo-pushed index (linux/amd64, wasi/wasm, linux/arm64) selects wasi/wasm" t_skopeo_index
t "skopeo-pushed Docker schema 2 manifest" t_skopeo_docker_v2s2
t "zstd layer" t_zstd_layer
t "OCI whiteouts across layers" t_whiteouts
t "linux/amd64 image refused naming its platform" t_linux_refused
t "linux-only index refused naming its platforms" t_linux_index_refused
t "pull by digest records the repo digest" t_pull_by_digest
t "unknown digest refused" t_wrong_digest_refused
t "unknown tag refused" t_missing_tag
t "bad reference refused" t_bad_reference
t "store checker passes after all pulls" t_store_consistent
t "a re-pushed tag moves to the new image" t_tag_moves
t "rmi drops the image and collects its blobs" t_rmi_gc
t "hostile layer: .. escape refused" t_hostile_dotdot
t "hostile layer: absolute path refused" t_hostile_abs
t "hostile layer: symlink escape refused" t_hostile_symlink
t "hostile layer: device node refused" t_hostile_device

# ---------------------------------------------------------------- faults (proxy)
kumo push "$W/app.wasm" "$R/kumo/fault:v1" >/dev/null
t_fault_corrupt() {
	proxy_start corrupt || return 1
	local s; s=$(store fc)
	! kumo pull --root "$s" "127.0.0.1:$PROXY_PORT/kumo/fault:v1" 2>"$W/err" && cat "$W/err" &&
		grep -q "does not match its digest" "$W/err" &&
		[ ! -e "$s/blobs/sha256/$(kumo_layer_hex)" ] && check_store "$s" &&
		[ -z "$(ls "$s/images")" ]
}
kumo_layer_hex() { skopeo inspect --raw --tls-verify=false "docker://$R/kumo/fault:v1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])'; }
t_fault_truncate() {
	proxy_start truncate-once || return 1
	local s; s=$(store ft)
	module_is "$s" "127.0.0.1:$PROXY_PORT/kumo/fault:v1" "$W/app.wasm" && cat "$W/proxy.log" &&
		grep -q TRUNCATED "$W/proxy.log" && grep -Eq "GET .*/blobs/.* range=bytes=[1-9][0-9]*- status=206" "$W/proxy.log" &&
		check_store "$s"
}
t_fault_500() {
	proxy_start fail500 || return 1
	local s; s=$(store f5)
	module_is "$s" "127.0.0.1:$PROXY_PORT/kumo/fault:v1" "$W/app.wasm" && cat "$W/proxy.log" &&
		[ "$(grep -c 'status=500' "$W/proxy.log")" = 2 ] && check_store "$s"
}
t_fault_mediatype() {
	proxy_start mediatype || return 1
	local s; s=$(store fm)
	! kumo pull --root "$s" "127.0.0.1:$PROXY_PORT/kumo/fault:v1" 2>"$W/err" && cat "$W/err" &&
		grep -q "unsupported manifest media type" "$W/err" && check_store "$s"
}
t_concurrent_pulls() {
	proxy_start slow || return 1
	local s; s=$(store cc)
	kumo pull --root "$s" "127.0.0.1:$PROXY_PORT/kumo/fault:v1" >"$W/p1" 2>&1 &
	local p1=$!
	kumo pull --root "$s" "127.0.0.1:$PROXY_PORT/kumo/fault:v1" >"$W/p2" 2>&1 &
	local p2=$!
	wait $p1 && wait $p2 || { cat "$W/p1" "$W/p2"; return 1; }
	cat "$W/proxy.log"
	[ "$(grep -c "GET .*/blobs/sha256:$(kumo_layer_hex)" "$W/proxy.log")" = 1 ] && check_store "$s"
}
t_kill9() {
	proxy_start slow || return 1
	local s i j p; s=$(store k9)
	# kill -9 once before any byte (right after start), then twice in the middle of the layer
	for i in 0 1 2; do
		"$KUMO" pull --root "$s" "127.0.0.1:$PROXY_PORT/kumo/fault:v1" >/dev/null 2>&1 &
		p=$!
		for ((j = 0; i > 0 && j < 500; j++)); do
			[ "$(cat "$s"/ingest/*.partial 2>/dev/null | wc -c)" -ge $((i * 262144)) ] && break
			sleep 0.02
		done
		kill -9 $p 2>/dev/null; wait $p 2>/dev/null
		ls -l "$s/ingest" "$s/blobs/sha256"
		check_store "$s" || return 1
		[ -z "$(ls "$s/images")" ] || return 1 # no record before the pull completes
	done
	module_is "$s" "127.0.0.1:$PROXY_PORT/kumo/fault:v1" "$W/app.wasm" && check_store "$s" && cat "$W/proxy.log" &&
		grep -Eq "GET .*/blobs/.* range=bytes=[1-9][0-9]*- status=206" "$W/proxy.log"
}
t "fault: blob bytes not matching the digest are refused, nothing stored" t_fault_corrupt
t "fault: truncated download resumes with Range" t_fault_truncate
t "fault: 500 twice then success" t_fault_500
t "fault: manifest of the wrong media type refused" t_fault_mediatype
t "two concurrent pulls download each blob once" t_concurrent_pulls
t "kill -9 during pulls, then a pull succeeds" t_kill9
registry_stop

# ---------------------------------------------------------------- htpasswd (Basic)
registry_start htpasswd "$W/reg-basic" || { fail=$((fail + 1)); echo "FAIL - htpasswd registry start"; }
R=127.0.0.1:$REG_PORT
t_basic_push() { kumo push --creds "$REG_USER:$REG_PASS" "$W/app.wasm" "$R/kumo/basic:v1"; }
t_basic_no_creds() { ! kumo pull --root "$(store b)" "$R/kumo/basic:v1" 2>"$W/err" && grep -q "requires credentials" "$W/err"; }
t_basic_wrong() { ! kumo pull --creds "$REG_USER:nope" --root "$(store b)" "$R/kumo/basic:v1" 2>"$W/err" && grep -q "refused the credentials" "$W/err"; }
t_basic_ok() { module_is "$(store b)" "$R/kumo/basic:v1" "$W/app.wasm" --creds; }
t_basic_creds() { kumo pull --creds "$REG_USER:$REG_PASS" --root "$(store b)" "$R/kumo/basic:v1" | grep -q "sha256:$(sha "$W/app.wasm")"; }
t_basic_docker_config() {
	mkdir -p "$W/dockercfg"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$R" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64)" > "$W/dockercfg/config.json"
	DOCKER_CONFIG=$W/dockercfg kumo pull --root "$(store b2)" "$R/kumo/basic:v1" | grep -q "sha256:$(sha "$W/app.wasm")"
}
t "basic auth: push with credentials" t_basic_push
t "basic auth: pull without credentials refused" t_basic_no_creds
t "basic auth: wrong password refused" t_basic_wrong
t "basic auth: pull with credentials" t_basic_creds
t "basic auth: credentials from docker config.json" t_basic_docker_config
registry_stop

# ---------------------------------------------------------------- token auth
if registry_start token "$W/reg-token"; then
	R=127.0.0.1:$REG_PORT
	t_token_push() { kumo push --creds "$REG_USER:$REG_PASS" --artifact "$W/app.wasm" "$R/public/tok:v1" &&
		kumo push --creds "$REG_USER:$REG_PASS" "$W/app.wasm" "$R/private/tok:v1"; }
	t_token_anon_push_refused() { ! kumo push "$W/app.wasm" "$R/public/anon:v1" 2>"$W/err" && grep -q "refused anonymous access" "$W/err"; }
	t_token_anonymous_pull() {
		module_is "$(store t)" "$R/public/tok:v1" "$W/app.wasm" && grep -q "token anonymous .*public/tok.*pull" "$W/reg-token/token.log"
	}
	t_token_private_refused() { ! kumo pull --root "$(store t)" "$R/private/tok:v1" 2>"$W/err" && grep -q "refused anonymous access" "$W/err"; }
	t_token_wrong() { ! kumo pull --creds "$REG_USER:nope" --root "$(store t)" "$R/private/tok:v1" 2>"$W/err" && grep -q "refused the credentials" "$W/err"; }
	t_token_creds() { kumo pull --creds "$REG_USER:$REG_PASS" --root "$(store t)" "$R/private/tok:v1" | grep -q "sha256:$(sha "$W/app.wasm")" && check_store "$(store t)"; }
	t "token auth: push with credentials" t_token_push
	t "token auth: anonymous push refused" t_token_anon_push_refused
	t "token auth: anonymous bearer pull of a public repository" t_token_anonymous_pull
	t "token auth: anonymous pull of a private repository refused" t_token_private_refused
	t "token auth: wrong password refused by the token server" t_token_wrong
	t "token auth: pull with credentials" t_token_creds
	registry_stop
else
	fail=$((fail + 1)); echo "FAIL - token registry start"
fi

finish
