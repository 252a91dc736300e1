#!/usr/bin/env bash
# tests/guest/run-guest-tests.sh - boots the kernel with the C test payload through vmm
# (tests/lib/testlib.sh's guest_boot: the accelerator kumo chose, vmm's own QEMU command
# line; other machines and a single serial port through guest_boot_machine) and checks
# exact serial output (COM1 stdout, COM2 stderr) and the exit record on COM3
# (kernel/boot_abi.h).
# usage: run-guest-tests.sh [BUILD_DIR]     prints `guest: N passed, N failed`
set -u
build=${1:-build}
BUILD=$build
elf=$build/tests/guest/payload.elf
here=$(dirname "$0")
SUITE=guest
# shellcheck source=../lib/testlib.sh
. "$here/../lib/testlib.sh"
if [ ! -f "$elf" ]; then
	bad "payload" "missing $elf (make test-prereqs)"
	finish
fi
kumo_accel "$build"
echo "guest: $accel_why"
test_tmpdir kumo-guest
tmp=$T

# mkinitrd FILE JSON [ROOTFS_FILE]: struct kumo_initrd_header + config + rootfs
mkinitrd() { bash "$here/../support/mkinitrd.sh" "$@"; }

# boot NAME [qemu options...]: runs the payload (ELF=, MEM=, MACHINE=, ONE_SERIAL=);
# leaves $tmp/NAME.{1,2,3}
boot() {
	local name=$1 kernel=${ELF:-$elf} mem=${MEM:-64}
	shift
	case $mem in *G) mem=$((${mem%G} * 1024)) ;; esac
	if [ -n "${MACHINE:-}" ] || [ "${ONE_SERIAL:-}" = 1 ]; then
		guest_boot_machine "$name" "${MACHINE:-microvm}" "$kernel" "$@"
		return
	fi
	local args=(--mem "$mem") extra=()
	while [ $# -gt 0 ]; do
		case $1 in
		-initrd) args+=(--initrd "$2"); shift 2 ;;
		-append) args+=(--append "$2"); shift 2 ;;
		-device) [ "$2" = pvpanic ] || extra+=("$1" "$2"); shift 2 ;; # vmm adds pvpanic
		*) extra+=("$1"); shift ;;
		esac
	done
	guest_boot "$name" "$kernel" "${args[@]}" --qemu "${extra[*]}"
}

# check NAME EXPECTED_STDOUT EXPECTED_RECORD [EXPECTED_STDERR]
check() {
	local name=$1 want_out=$2 want_rec=$3 want_err=${4-} got_out got_rec got_err
	got_out=$(cat "$tmp/$name.1"; echo x); got_out=${got_out%x}
	got_err=$(cat "$tmp/$name.2"; echo x); got_err=${got_err%x}
	got_rec=$(grep '^KUMO-EXIT ' "$tmp/$name.3" | tail -1)
	if [ "$(cat "$tmp/$name.rc")" != 0 ]; then
		bad "$name" "qemu exit $(cat "$tmp/$name.rc")" "$(cat "$tmp/$name.qemu")"
	elif [ "$got_out" != "$want_out" ]; then
		bad "$name" "stdout: $(printf %q "$got_out")" "wanted: $(printf %q "$want_out")"
	elif [ "$got_err" != "$want_err" ]; then
		bad "$name" "stderr: $(printf %q "$got_err")" "wanted: $(printf %q "$want_err")"
	elif [ "$got_rec" != "$want_rec" ]; then
		bad "$name" "record: $got_rec" "wanted: $want_rec" "$(tail -5 "$tmp/$name.3")"
	else
		ok "$name"
	fi
}
# check_log NAME PATTERN: the kernel log on COM3 contains PATTERN (fixed string)
check_log() {
	if grep -qF -- "$2" "$tmp/$1.3"; then ok "$1 log: $2"; else bad "$1 log: $2" "$(tail -5 "$tmp/$1.3")"; fi
}
# run NAME ARGS_JSON -> boot with config {"args": ARGS_JSON}
run() {
	local name=$1 args=$2; shift 2
	mkinitrd "$tmp/$name.img" "{\"version\": 1, \"args\": $args}"
	boot "$name" -initrd "$tmp/$name.img" "$@"
}
rec_exit() { echo "KUMO-EXIT v=1 status=$1 kind=exit msg=exited"; }
rec_trap() { echo "KUMO-EXIT v=1 status=134 kind=trap trap=$1 msg=$2"; }

# Without an initrd: default args, hello.
boot hello
check hello "hello from the kumo kernel"$'\n' "$(rec_exit 0)"
check_log hello "kernel entry to app entry"

# The boot record is the kernel's first line on COM3 (the host's sign of life).
if [ "$(head -1 "$tmp/hello.3")" = "KUMO-BOOT v=1" ]; then ok "boot record first"; else bad "boot record first" "$(head -2 "$tmp/hello.3")"; fi
# Probe mode: the CPU set-up, the probe record, power-off; no app, no exit record.
boot probe -append kumo.probe
check probe "" "" ""
if [ "$(grep -c . "$tmp/probe.3")" = 2 ] && grep -qx "KUMO-PROBE v=1 ok accel=$accel" "$tmp/probe.3"; then
	ok "probe record"
else
	bad "probe record" "$(cat "$tmp/probe.3")"
fi
# pvpanic: the test hook panics through the device only and halts; QEMU's default panic
# action powers the VM off, so QEMU ends (without it the VM would halt for ever).
boot pvpanic -append kumo.test=pvpanic -device pvpanic
check pvpanic "" "" ""
check_log pvpanic "test hook: pvpanic without an exit record"

for code in 0 1 42 255; do
	run "exit-$code" "[\"app\", \"exit\", \"$code\"]"
	check "exit-$code" "" "$(rec_exit "$code")"
done
run exit-300 '["app", "exit", "300"]'
check exit-300 "" "$(rec_exit 44)"

run streams '["app", "stderr"]'
check streams "to stdout"$'\n' "$(rec_exit 3)" "to stderr"$'\n'

name=config
json='{"version": 1, "args": ["app.wasm", "args", "sp ace", "q\"uote", "\u00e9t\u00e9"],
  "env": ["HOME=/", "K=a=b", "EMPTY="], "preopens": [{"guest": "/data", "path": "/srv", "readonly": true}],
  "stack_size": 200000, "seed": "00ff17", "future_key": {"ignored": [1, 2.5e3, null]}}'
printf 'not really a tar' >"$tmp/rootfs"
mkinitrd "$tmp/$name.img" "$json" "$tmp/rootfs"
boot "$name" -initrd "$tmp/$name.img"
check config "arg 0: app.wasm
arg 1: args
arg 2: sp ace
arg 3: q\"uote
arg 4: été
env 0: HOME=/
env 1: K=a=b
env 2: EMPTY=
preopen 0: /data -> /srv (ro)
stack 200000
rootfs 16 bytes
" "$(rec_exit 0)"

run memory-oob '["app", "memory", "0"]'
check memory-oob "last byte 7"$'\n' "$(rec_trap 2 "out of bounds memory access")"
run memory-far '["app", "memory", "0xfffeffff"]'
check memory-far "last byte 7"$'\n' "$(rec_trap 2 "out of bounds memory access")"
run stack '["app", "stack"]'
check stack "" "$(rec_trap 6 "call stack exhausted")"
run unreachable '["app", "trap", "1"]'
check unreachable "" "$(rec_trap 1 "unreachable")"

run null '["app", "null", "8"]'
check null "" "KUMO-EXIT v=1 status=255 kind=panic msg=kernel bug: page fault at rip $(grep -o 'kernel bug: page fault (vector 14, error 0) at rip 0x[0-9a-f]*' "$tmp/null.3" | grep -o '0x[0-9a-f]*$')"
check_log null "fault address 0x8 (null page)"
run ud2 '["app", "ud2"]'
check_log ud2 "kernel bug: invalid opcode"
grep -q '^KUMO-EXIT v=1 status=255 kind=panic msg=kernel bug: invalid opcode at rip 0x' "$tmp/ud2.3" \
	&& ok "ud2 record" || bad "ud2 record" "$(tail -3 "$tmp/ud2.3")"

run sleep '["app", "sleep", "50"]'
check sleep "slept at least 50 ms: yes
woken by the timer: yes
" "$(rec_exit 0)"
run clock '["app", "clock"]'
check clock "realtime plausible: yes
monotonic: yes
random differs: yes
" "$(rec_exit 0)"
run heap '["app", "heap"]'
check heap "heap balanced: yes"$'\n' "$(rec_exit 0)"
MEM=32 run grow '["app", "grow"]'
check grow "grew to most of RAM, then refused"$'\n' "$(rec_exit 0)"

# RAM above 4 GiB is mapped and usable; a CPU with AVX/XSAVE and RDRAND gets them on.
MEM=5G run highmem '["app", "highmem"]'
check highmem "above 4 GiB: 1 2"$'\n' "$(rec_exit 0)"
run cpu-max '["app", "clock"]' -cpu max
check cpu-max "realtime plausible: yes
monotonic: yes
random differs: yes
" "$(rec_exit 0)"
check_log cpu-max "random rdrand, "
check_log cpu-max "avx on"

# Bad boot input is a clear error, never a hang.
mkinitrd "$tmp/badjson.img" '{"args": ["app", }'
boot badjson -initrd "$tmp/badjson.img"
grep -q '^KUMO-EXIT v=1 status=255 kind=panic msg=boot config: malformed JSON near byte ' "$tmp/badjson.3" \
	&& ok badjson || bad badjson "$(tail -2 "$tmp/badjson.3")"
mkinitrd "$tmp/badargs.img" '{"args": "app"}'
boot badargs -initrd "$tmp/badargs.img"
check badargs "" 'KUMO-EXIT v=1 status=255 kind=panic msg=boot config: `args` is not an array'
printf 'GARBAGE!%64s' "" >"$tmp/badmagic.img"
boot badmagic -initrd "$tmp/badmagic.img"
check badmagic "" 'KUMO-EXIT v=1 status=255 kind=panic msg=boot config: initrd (72 bytes) does not start with `KUMOBOOT`'

# Other machines (qboot firmware, power-off through PM1a_CNT) and a single serial port.
MACHINE=pc boot pc-hello
check pc-hello "hello from the kumo kernel"$'\n' "$(rec_exit 0)"
MACHINE=q35 run q35-exit '["app", "exit", "42"]'
check q35-exit "" "$(rec_exit 42)"
ONE_SERIAL=1 run one-serial '["app", "stderr"]'
# Everything shares COM1: the boot record, the app's lines in order, the kernel log, the record last.
if [ "$(grep -v -e '^kumo: ' -e '^KUMO-BOOT ' "$tmp/one-serial.1" | grep -v '^$' | head -2)" = "to stdout
to stderr" ] && [ "$(tail -1 "$tmp/one-serial.1")" = "$(rec_exit 3)" ]; then
	ok one-serial
else
	bad one-serial "$(cat "$tmp/one-serial.1")"
fi

# A real WASI app, compiled by kumo and linked with the kernel (tests/guest/wasm_probe.c).
wasm=$build/tests/guest/wasm_probe.elf
mkdir -p "$tmp/root/data/empty"
printf 'from the image\n' >"$tmp/root/data/in.txt"
(cd "$tmp/root" && tar --format=ustar -cf "$tmp/rootfs.tar" .)
# wrun NAME JSON_CONFIG: boots the Wasm app with the config and the test rootfs
wrun() {
	mkinitrd "$tmp/$1.img" "$2" "$tmp/rootfs.tar"
	ELF=$wasm boot "$1" -initrd "$tmp/$1.img" -cpu "${CPU:-max}"
}
wrun wasm-hello '{"args": ["probe.wasm"]}'
check wasm-hello "hello from wasm"$'\n' "$(rec_exit 0)"
check_log wasm-hello "kernel entry to _start"
wrun wasm-args '{"args": ["probe.wasm", "args", "two words"], "env": ["A=1", "B=x=y"]}'
check wasm-args "argv[0] probe.wasm
argv[1] args
argv[2] two words
env A=1
env B=x=y
" "$(rec_exit 0)" "err line"$'\n'
for code in 0 1 42 255; do
	wrun "wasm-exit-$code" "{\"args\": [\"p\", \"exit\", \"$code\"]}"
	check "wasm-exit-$code" "" "$(rec_exit "$code")"
done
wrun wasm-files '{"args": ["p", "files"], "preopens": [{"guest": "/data", "path": "/data"}]}'
check wasm-files "read: from the image
moved size 14
moved: line 1
moved: line 2
open missing: No such file or directory
rmdir non-empty: Directory not empty
rmdir empty: removed
escape: Operation not permitted
entry .
entry ..
entry empty
entry in.txt
" "$(rec_exit 0)"
wrun wasm-sleep '{"args": ["p", "sleep"]}'
check wasm-sleep "slept at least 50 ms: yes
realtime after 2020: yes
random nonzero: yes
" "$(rec_exit 0)"
wrun wasm-oob '{"args": ["p", "oob"]}'
check wasm-oob "" "$(rec_trap 2 "out of bounds memory access")"
wrun wasm-stack '{"args": ["p", "stack"]}'
check wasm-stack "" "$(rec_trap 6 "call stack exhausted")"
wrun wasm-unreachable '{"args": ["p", "unreachable"]}'
check wasm-unreachable "" "$(rec_trap 1 "unreachable")"
MEM=48 wrun wasm-grow '{"args": ["p", "grow"]}'
check wasm-grow "grew until refused: yes"$'\n' "$(rec_exit 0)"
# qemu64 lacks SSSE3/SSE4/POPCNT: an app compiled for x86-64-v2 is refused, not run.
CPU=qemu64 wrun wasm-oldcpu '{"args": ["p"]}'
check wasm-oldcpu "" 'KUMO-EXIT v=1 status=255 kind=panic msg=the app was compiled for `x86-64-v2` but this CPU has no `ssse3` (QEMU: -cpu max under TCG, a matching named model under KVM)'
wrun wasm-badpreopen '{"args": ["p"], "preopens": [{"guest": "/x", "path": "/missing"}]}'
check wasm-badpreopen "" 'KUMO-EXIT v=1 status=255 kind=panic msg=boot config: preopen `/x`: no directory `/missing` in the rootfs (wasi errno 44)'

finish
