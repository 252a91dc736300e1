#!/usr/bin/env bash
# tests/bench/bench-boot.sh - `make bench-boot` (issues 3 and 20): how fast a cached Wasm
# app boots as a kumo VM, where the time of a cache-hit `kumo run hello.wasm` goes, and
# the same hello as a native process and on the hosted runtime, measured in the same
# run. N rounds (BOOT_RUNS, default 20); each round runs every contender once, in turn
# (interleaved, so a load change hits them all alike); medians are shown:
#   (a) `kumo run hello.wasm` wall time until exit (cache hit; the default QEMU backend),
#       and its breakdown from `kumo run -v`'s timing line:
#         process start + exit   (a) minus the time spent inside `kumo run` (exec, dynamic
#                                linking, exit); `kumo version` beside it: the same
#                                binary doing nothing
#         cache lookup           builder_prepare: the image found by key, the initrd
#         accelerator choice     the cached verdict read (a probe when there is none)
#         QEMU start             spawn until QEMU's monitor answers (machine built,
#                                kernel and initrd loaded, paused)
#         guest boot + app       resume to the app's first line (of it, in-guest: kernel
#                                entry to _start by the TSC)
#         app end + power-off    first line to the exit record read and QEMU reaped
#         teardown               the VM let go, the run directory removed
#       the components' medians need not add up to the total's median.
#   QEMU alone: the same kernel image booted by QEMU directly (no kumo): the floor (with
#       the kernel command line kumo gives it: under TCG the host's TSC rate, vmm/tsc.c).
#   (c) kernel entry to _start, in-guest TSC, from that direct boot's COM3 log
#   (d) host memory per VM (QEMU's max RSS) and the smallest guest RAM that runs hello
#   BOOT_BASE=DIR: also `DIR/bin/kumo run` in every round (another build, e.g. one from
#       before a change: a before/after under the same load).
#   BOOT_RT=1: the whole bench (every contender alike) runs as SCHED_FIFO 1 (root): on a
#       machine other jobs keep busy this shows what each figure costs by itself.
# Every figure says which accelerator it was measured with; the load average is printed
# before and after (2 cores shared: the figures move with it).
# Closes with `boot-median-ms N` (figure (a)).
set -euo pipefail
if [ "${BOOT_RT:-0}" = 1 ] && [ "$(chrt -p $$ | grep -o 'SCHED_[A-Z]*' | head -1)" != SCHED_FIFO ]; then
	exec chrt -f 1 bash "$0" "$@"
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
n=${BOOT_RUNS:-20}
kumo=$build/bin/kumo
app=$build/apps/app_hello.wasm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
source "$top/tests/lib/testlib.sh"
kumo_accel "$build"

median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }
ms_since() { echo "$(( ($(date +%s%N) - $1) / 1000 ))" | awk '{printf "%.1f\n", $1/1000}'; }
# field NAME: the number after NAME in the timing line of $tmp/err
field() { sed -n "s/^kumo: timing: .*$1 \([-0-9.]*\) ms.*/\1/p" "$tmp/err" | head -1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

gcc -O2 -o "$tmp/hello-native" "$top/tests/apps/app_hello.c"
"$kumo" build "$app" -o "$tmp/img" >/dev/null 2>&1   # warm the caches (compile + link)
"$kumo" run "$app" >/dev/null 2>&1
"$kumo" run --host "$app" >/dev/null 2>&1
base=${BOOT_BASE:+$BOOT_BASE/bin/kumo}
[ -z "$base" ] || "$base" run "$app" >/dev/null 2>&1
# The guest's command line as kumo gives it: under TCG, the host's TSC rate (vmm/tsc.c),
# cached for this boot by the runs above.
tsc=$(cat "${KUMO_ACCEL_CACHE_DIR:-/run/kumo}/tsc-$(cat /proc/sys/kernel/random/boot_id)" 2>/dev/null || true)
append=
[ "$accel" != tcg ] || [ "${tsc:-0}" = 0 ] || append="kumo.tsc_khz=$tsc"
qemu_direct=(qemu-system-x86_64 -M microvm -accel "$accel" -cpu Nehalem -m 64 -display none
	-no-reboot -nodefaults -serial null -chardev "file,id=c3,path=$tmp/com3"
	-device isa-serial,chardev=c3,iobase=0x3e8,irq=4
	-kernel "$tmp/img/kernel.elf" -initrd "$tmp/img/initrd.img" -append "$append")

load_before=$(load)
for ((i = 0; i < n; i++)); do
	t=$(date +%s%N); "$tmp/hello-native" >/dev/null; ms_since "$t" >>"$tmp/native"
	t=$(date +%s%N); "$kumo" run --host "$app" >/dev/null; ms_since "$t" >>"$tmp/hosted"
	t=$(date +%s%N); "$kumo" version >/dev/null; ms_since "$t" >>"$tmp/version"
	if [ -n "$base" ]; then
		t=$(date +%s%N); "$base" run "$app" >/dev/null 2>&1; ms_since "$t" >>"$tmp/base"
		t=$(date +%s%N); "$base" version >/dev/null; ms_since "$t" >>"$tmp/base-version"
	fi
	t=$(date +%s%N); "$kumo" run -v "$app" >/dev/null 2>"$tmp/err"; ms_since "$t" >"$tmp/wall"
	wall=$(cat "$tmp/wall")
	echo "$wall" >>"$tmp/vm"
	inside=$(field "in kumo run")
	[ -z "$inside" ] || awk -v w="$wall" -v i="$inside" 'BEGIN {printf "%.1f\n", w - i}' >>"$tmp/proc"
	field prepare >>"$tmp/prepare" || true
	field accel >>"$tmp/accelms" || true
	field "qemu start" >>"$tmp/qemu" || true
	field "resume->first output" >>"$tmp/first" || true
	field "first output->exit" >>"$tmp/exit" || true
	field teardown >>"$tmp/teardown" || true
	grep -o 'kernel entry->_start [0-9.]* ms' "$tmp/err" | grep -o '[0-9.]*' >>"$tmp/gentry" || true
	grep -o 'accel: [a-z]*' "$tmp/err" | head -1 | cut -d' ' -f2 >>"$tmp/run-accel" || true
	grep -o '_start [0-9.]* ms, clock [a-z0-9-]*' "$tmp/err" | awk '{print $NF}' >>"$tmp/clock" || true
	# QEMU alone, (c) and (d): the same image booted by QEMU directly, COM3 to a file.
	t=$(date +%s%N)
	/usr/bin/time -f %M -o "$tmp/rss1" "${qemu_direct[@]}" >/dev/null 2>&1
	ms_since "$t" >>"$tmp/direct"
	cat "$tmp/rss1" >>"$tmp/rss"
	grep -o 'kernel entry to _start [0-9]* us' "$tmp/com3" | grep -o '[0-9]*' |
		awk '{printf "%.3f\n", $1/1000}' >>"$tmp/entry" || true
done
load_after=$(load)

smallest=none
for mib in 4 6 8 12 16 24 32; do
	if qemu-system-x86_64 -M microvm -accel "$accel" -cpu Nehalem -m "$mib" -display none \
		-no-reboot -nodefaults -serial stdio -kernel "$tmp/img/kernel.elf" \
		-initrd "$tmp/img/initrd.img" 2>/dev/null | grep -q '^hello, world'; then
		smallest="$mib MiB"
		break
	fi
done

# What `kumo run` used in every run ("kvm", "tcg", or a mix when the verdict changed).
run_accel=$(sort -u "$tmp/run-accel" 2>/dev/null | paste -sd+ -)
ra=${run_accel:-?}
row() { printf '%-50s %8s ms   %s\n' "$1" "$(median <"$tmp/$2")" "$3"; }
rt_note=
[ "${BOOT_RT:-0}" != 1 ] || rt_note="; every contender SCHED_FIFO 1 (BOOT_RT=1)"
echo "bench-boot: $n interleaved rounds, -M microvm; $accel_why$rt_note"
echo "load average (1/5/15 min): before $load_before, after $load_after"
printf '%-50s %11s   %s\n' "figure" "median" "accelerator"
row "native hello (gcc -O2), wall" native "none (host)"
row "kumo run --host hello.wasm, wall" hosted "none (host)"
row "(a) kumo run hello.wasm (VM, cache hit), wall" vm "$ra"
row "    process start + exit" proc "none (host)"
row "      (kumo version, wall: the binary alone)" version "none (host)"
row "    cache lookup (builder_prepare)" prepare "none (host)"
row "    accelerator choice (cached verdict)" accelms "none (host)"
row "    QEMU start (spawn -> machine built)" qemu "$ra"
row "    guest boot + app (resume -> first line)" first "$ra"
row "      of it kernel entry -> _start (in-guest)" gentry "$ra, clock $(sort -u "$tmp/clock" 2>/dev/null | paste -sd+ -)"
row "    app end + power-off (-> exit record)" exit "$ra"
row "    teardown (VM freed, run dir removed)" teardown "none (host)"
if [ -n "$base" ]; then
	row "BOOT_BASE's kumo run hello.wasm, wall" base "$accel"
	row "      (BOOT_BASE's kumo version, wall)" base-version "none (host)"
	echo "(BOOT_BASE: $BOOT_BASE)"
fi
row "QEMU alone, same image (no kumo), wall" direct "$accel"
row "(c) kernel entry to _start (in-guest TSC)" entry "$accel${append:+, $append}"
printf '%-50s %8s MiB  %s\n' "(d) QEMU max RSS per VM (64 MiB guest)" \
	"$(median <"$tmp/rss" | awk '{printf "%.1f", $1/1024}')" "$accel"
printf '%-50s %11s   %s\n' "(d) smallest guest RAM that runs hello" "$smallest" "$accel"
echo "boot-median-ms $(median <"$tmp/vm")"
