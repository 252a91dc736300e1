#!/usr/bin/env bash
# tests/bench/boot-time.sh - measures booting the test payload's "hello" N times under
# QEMU (-M microvm, the accelerator kumo chose: tests/lib/testlib.sh) and prints medians of: QEMU start
# to exit, QEMU start to the first stdout line, and the in-guest TSC time from the
# kernel's first instruction to the app's entry. A measurement, not a test.
# usage: boot-time.sh [BUILD_DIR] [N]
set -eu
build=${1:-build}; n=${2:-20}
elf=$build/tests/guest/payload.elf
source "$(dirname "$0")/../lib/testlib.sh"
kumo_accel "$build"
echo "boot-time: $accel_why"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }
for ((i = 0; i < n; i++)); do
	t0=$(date +%s%N)
	qemu-system-x86_64 -M microvm -accel "$accel" -m "${MEM:-64}" -display none -no-reboot \
		-nodefaults -serial stdio -chardev "file,id=c3,path=$tmp/com3" \
		-device isa-serial,chardev=c3,iobase=0x3e8,irq=4 -kernel "$elf" |
		{ read -r _; date +%s%N >"$tmp/first"; cat >/dev/null; }
	t2=$(date +%s%N)
	echo $(((t2 - t0) / 1000)) >>"$tmp/wall"
	echo $((($(cat "$tmp/first") - t0) / 1000)) >>"$tmp/firstline"
	grep -o 'kernel entry to app entry [0-9]* us' "$tmp/com3" | grep -o '[0-9]*' >>"$tmp/entry"
	grep -o "accel [a-z]*, clock [a-z0-9-]*" "$tmp/com3" | head -1 >"$tmp/what"
done
echo "boot-time: $n runs, -M microvm, $(cat "$tmp/what"), ${MEM:-64} MiB"
echo "boot-time: qemu start to exit          median $(median <"$tmp/wall") us"
echo "boot-time: qemu start to first stdout  median $(median <"$tmp/firstline") us"
echo "boot-time: kernel entry to app (tsc)   median $(median <"$tmp/entry") us"
