#!/usr/bin/env bash
# tests/guest/wasi-testsuite-vm.sh - runs WebAssembly/wasi-testsuite's prebuilt preview1
# tests (branch prod/testsuite-base, fetched outside the repo) inside the unikernel:
# each test is compiled with kumo, linked with the kernel library, given its `root`
# directory as the rootfs preopened at "/", booted under QEMU, and judged like the
# suite's own runner (exit code, default 0; stdout when the spec gives one).
# With SHARE=1 the `root` directory is a live host share (virtio-9p) preopened at "/"
# instead of a rootfs copied into the initrd.
# usage: wasi-testsuite-vm.sh [SUITE_DIR] [BUILD_DIR]     prints `wasi-vm: N passed, N failed`
set -u
suite=${1:-/work/fetched/wasi-testsuite}
build=${2:-build}
here=$(dirname "$0")
kumo=$build/bin/kumo
lib=$build/kernel/libkumo-kernel.a
lds=$build/kernel/kernel.ld
cache=$build/tests/wasi-vm
mkdir -p "$cache"
SUITE=wasi-vm
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
kumo_accel "$build"
echo "wasi-vm: $accel_why"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failures=()
for wasm in "$suite"/tests/*/testsuite/wasm32-wasip1/*.wasm; do
	dir=$(dirname "$wasm"); name=$(basename "$wasm" .wasm)
	lang=$(basename "$(dirname "$(dirname "$dir")")")
	id="$lang/$name"
	spec="$dir/$name.json"; [ -f "$spec" ] || spec=/dev/null
	json=$(cat "$spec"); [ -n "$json" ] || json='{}'
	# Objects are cached per (module, compiler build); the kernel is relinked each time.
	key=$( (sha256sum <"$wasm"; sha256sum <"$kumo") | sha256sum | cut -c1-16)
	obj=$cache/$key.o
	elf=$tmp/test.elf
	if [ ! -f "$obj" ] && ! { "$kumo" compile "$wasm" -o "$obj.tmp" >"$tmp/compile.log" 2>&1 &&
				   mv "$obj.tmp" "$obj"; }; then
		fail=$((fail + 1)); failures+=("$id (compile: $(tail -1 "$tmp/compile.log"))")
		echo "FAIL $id: compile"; continue
	fi
	if ! ld -nostdlib -static -z noexecstack -z max-page-size=4096 --no-warn-rwx-segments \
		-T "$lds" -o "$elf" "$obj" "$lib" >"$tmp/link.log" 2>&1; then
		fail=$((fail + 1)); failures+=("$id (link: $(tail -1 "$tmp/link.log"))")
		echo "FAIL $id: link"; continue
	fi
	root=$(jq -r '.root // empty' <<<"$json")
	rootfs=
	pre='[]'
	share=()
	if [ -n "$root" ]; then
		mkdir -p "$tmp/root"; rm -rf "$tmp/root"/* "$tmp/root"/.[!.]* 2>/dev/null
		[ -d "$dir/$root" ] && cp -a "$dir/$root/." "$tmp/root/"
		if [ "${SHARE:-0}" = 1 ]; then
			pre='[{"guest": "/", "path": "/", "share": "root"}]'
			share=(-global virtio-mmio.force-legacy=false
				-fsdev "local,id=fs0,path=$tmp/root,security_model=passthrough"
				-device virtio-9p-device,fsdev=fs0,mount_tag=root)
		else
			(cd "$tmp/root" && tar --format=ustar -cf "$tmp/rootfs.tar" .)
			rootfs=$tmp/rootfs.tar
			pre='[{"guest": "/", "path": "/"}]'
		fi
	fi
	cfg=$(jq -c --arg n "$name.wasm" --argjson pre "$pre" \
		'{version: 1, args: ([$n] + (.args // [])),
		  env: ((.env // {}) | to_entries | map("\(.key)=\(.value)")), preopens: $pre}' <<<"$json")
	bash "$here/../support/mkinitrd.sh" "$tmp/initrd.img" "$cfg" $rootfs
	: >"$tmp/out"; : >"$tmp/err"; : >"$tmp/log"
	timeout 120 qemu-system-x86_64 -M microvm -accel "$accel" -cpu "${CPU:-max}" -m 256 -display none -no-reboot \
		-nodefaults -chardev "file,id=c1,path=$tmp/out" -chardev "file,id=c2,path=$tmp/err" \
		-chardev "file,id=c3,path=$tmp/log" -serial chardev:c1 \
		-device isa-serial,chardev=c2,iobase=0x2f8,irq=3 \
		-device isa-serial,chardev=c3,iobase=0x3e8,irq=4 \
		-kernel "$elf" -initrd "$tmp/initrd.img" "${share[@]}" >/dev/null 2>&1
	rec=$(grep '^KUMO-EXIT ' "$tmp/log" | tail -1)
	status=$(sed -nE 's/^KUMO-EXIT v=1 status=([0-9]+) .*/\1/p' <<<"$rec")
	want_status=$(jq -r '.exit_code // 0' <<<"$json")
	want_out=$(jq -r '.stdout // empty' <<<"$json")
	why=
	if [ -z "$rec" ]; then why="no exit record"
	elif [ "$status" != "$want_status" ]; then why="status $status, wanted $want_status (${rec#*kind=})"
	elif [ -n "$want_out" ] && [ "$(cat "$tmp/out")" != "$want_out" ]; then why="stdout differs"
	fi
	if [ -z "$why" ]; then
		pass=$((pass + 1)); echo "ok $id"
	else
		fail=$((fail + 1)); failures+=("$id: $why"); echo "FAIL $id: $why"
		head -c 600 "$tmp/err" | sed 's/^/    stderr: /'
	fi
done
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "wasi-vm: $pass passed, $fail failed"
