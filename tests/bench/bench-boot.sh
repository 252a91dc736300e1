#!/usr/bin/env bash
# tests/bench/bench-boot.sh - `make bench-boot` (issue 3): how fast a cached Wasm app
# boots as a kumo VM, next to the same hello as a native process and on the hosted
# runtime, measured in the same run. Median of N runs (N=20, BOOT_RUNS to change):
#   (a) `kumo run hello.wasm` wall time until exit (cache hit; the default QEMU backend)
#   (b) VM start (resume) to the app's first output, as `kumo run -v` reports it
#   (c) kernel entry to _start, measured in the guest by the TSC (the kernel's COM3 log)
#   (d) host memory per VM (QEMU's max RSS) and the smallest guest RAM that runs hello
# Every figure says which accelerator it was measured with: (a) and (b) what `kumo run`
# chose (its -v line), (c) and (d) kumo's verdict (tests/lib/testlib.sh), the same one.
# Closes with `boot-median-ms N` (figure (a)).
set -euo pipefail
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

gcc -O2 -o "$tmp/hello-native" "$top/tests/apps/app_hello.c"
"$kumo" build "$app" -o "$tmp/img" >/dev/null 2>&1   # warm the caches (compile + link)
"$kumo" run "$app" >/dev/null 2>&1
"$kumo" run --host "$app" >/dev/null 2>&1

for ((i = 0; i < n; i++)); do
	t=$(date +%s%N); "$tmp/hello-native" >/dev/null; ms_since "$t" >>"$tmp/native"
	t=$(date +%s%N); "$kumo" run --host "$app" >/dev/null; ms_since "$t" >>"$tmp/hosted"
	t=$(date +%s%N); "$kumo" run -v "$app" >/dev/null 2>"$tmp/err"; ms_since "$t" >>"$tmp/vm"
	grep -o 'start->first output [0-9.]* ms' "$tmp/err" | grep -o '[0-9.]*' >>"$tmp/first" || true
	grep -o 'accel: [a-z]*' "$tmp/err" | head -1 | cut -d' ' -f2 >>"$tmp/run-accel" || true
	# (c) and (d): the same image booted by QEMU directly, COM3 to a file.
	/usr/bin/time -f %M -o "$tmp/rss1" qemu-system-x86_64 -M microvm -accel "$accel" -cpu Nehalem \
		-m 64 -display none -no-reboot -nodefaults -serial null \
		-chardev "file,id=c3,path=$tmp/com3" -device isa-serial,chardev=c3,iobase=0x3e8,irq=4 \
		-kernel "$tmp/img/kernel.elf" -initrd "$tmp/img/initrd.img" >/dev/null 2>&1
	cat "$tmp/rss1" >>"$tmp/rss"
	grep -o 'kernel entry to _start [0-9]* us' "$tmp/com3" | grep -o '[0-9]*' |
		awk '{printf "%.3f\n", $1/1000}' >>"$tmp/entry" || true
done

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
echo "bench-boot: $n runs each, -M microvm; $accel_why"
printf '%-44s %10s   %s\n' "figure" "median" "accelerator"
printf '%-44s %8s ms   %s\n' "native hello (gcc -O2), wall" "$(median <"$tmp/native")" "none (host)"
printf '%-44s %8s ms   %s\n' "kumo run --host hello.wasm, wall" "$(median <"$tmp/hosted")" "none (host)"
printf '%-44s %8s ms   %s\n' "(a) kumo run hello.wasm (VM), wall" "$(median <"$tmp/vm")" "${run_accel:-?}"
printf '%-44s %8s ms   %s\n' "(b) VM start to first output" "$(median <"$tmp/first")" "${run_accel:-?}"
printf '%-44s %8s ms   %s\n' "(c) kernel entry to _start (in-guest TSC)" "$(median <"$tmp/entry")" "$accel"
printf '%-44s %8s MiB  %s\n' "(d) QEMU max RSS per VM (64 MiB guest)" \
	"$(median <"$tmp/rss" | awk '{printf "%.1f", $1/1024}')" "$accel"
printf '%-44s %11s   %s\n' "(d) smallest guest RAM that runs hello" "$smallest" "$accel"
echo "boot-median-ms $(median <"$tmp/vm")"
