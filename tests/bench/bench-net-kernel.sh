#!/usr/bin/env bash
# tests/bench/bench-net-kernel.sh - the kernel's network path measured without Wasm:
# tests/guest/net_payload.c's HTTP responder in a VM on a tap, per machine (microvm =
# virtio-mmio, q35 = virtio-pci): time from QEMU start until a TCP connect succeeds
# (and the guest's own kernel-entry-to-listening time), then wrk against a 64 KiB body
# with 1 and 64 connections. Not part of `make test` (timings); `make bench-net-kernel`.
# usage: bench-net-kernel.sh [BUILD_DIR] [SECONDS]
set -u
build=${1:-build}
secs=${2:-10}
elf=$build/tests/guest/net_payload.elf
here=$(dirname "$0")
[ -f "$elf" ] || { echo "missing $elf (make test-prereqs)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root for a tap device"; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk"; exit 1; }
source "$here/../lib/testlib.sh"
kumo_accel "$build"
tap=knbtap$(( $$ % 100000 ))
sub=10.$(( 200 + $$ % 50 )).$(( $$ / 50 % 250 + 1 ))
host=$sub.1 guest=$sub.2
tmp=$(mktemp -d)
vm_pid=
cleanup() {
	[ -n "$vm_pid" ] && { kill "$vm_pid" 2>/dev/null; wait "$vm_pid" 2>/dev/null; }
	ip link del "$tap" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip tuntap add "$tap" mode tap && ip addr add "$host/24" dev "$tap" && ip link set "$tap" up || exit 1
# A known neighbour: connect attempts made before the guest is up would otherwise
# leave a failed ARP entry that Linux retries only every second.
ip neigh replace "$guest" lladdr 52:54:00:4b:4d:02 dev "$tap" nud permanent
echo "bench-net-kernel: $accel_why, $secs s per wrk run, 64 KiB responses"
for machine in microvm q35; do
	bash "$here/../support/mkinitrd.sh" "$tmp/i.img" "{\"version\": 1, \"args\": [\"app\", \"http\", \"65536\"],
		\"net\": {\"address\": \"$guest/24\", \"gateway\": \"$host\", \"listen\": [\"tcp:0.0.0.0:8080\"]}}"
	if [ "$machine" = microvm ]; then
		m=(-M microvm -global virtio-mmio.force-legacy=false -serial "file:$tmp/1"
			-chardev "file,id=c3,path=$tmp/3" -device isa-serial,chardev=c3,iobase=0x3e8,irq=4
			-device virtio-net-device,netdev=n0,mac=52:54:00:4b:4d:02)
	else
		m=(-M q35 -bios /usr/share/qemu/qboot.rom -serial "file:$tmp/1" -serial "file:$tmp/2"
			-serial "file:$tmp/3" -device virtio-net-pci,netdev=n0,mac=52:54:00:4b:4d:02)
	fi
	: >"$tmp/1"
	t0=$(date +%s%N)
	qemu-system-x86_64 "${m[@]}" -accel "$accel" -cpu max -m 64 -display none -no-reboot \
		-nodefaults -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-kernel "$elf" -initrd "$tmp/i.img" >"$tmp/qemu.log" 2>&1 &
	vm_pid=$!
	t1= tl=
	for _ in $(seq 4000); do
		[ -z "$tl" ] && grep -q listening "$tmp/1" && tl=$(date +%s%N)
		if [ -n "$tl" ] && timeout 1 bash -c "exec 3<>/dev/tcp/$guest/8080" 2>/dev/null; then
			t1=$(date +%s%N); break
		fi
		sleep 0.002
	done
	if [ -z "$t1" ]; then echo "$machine: never listened"; cat "$tmp/qemu.log"; exit 1; fi
	guest_us=$(sed -n 's/.*http listening at \([0-9]*\) us.*/\1/p' "$tmp/3")
	echo "$machine: qemu start to \"listening\" on the console $(( (tl - t0) / 1000000 )) ms, to an accepted connect $(( (t1 - t0) / 1000000 )) ms (guest: kernel entry to listening ${guest_us} us)"
	for c in 1 64; do
		th=1; [ "$c" -gt 1 ] && th=2
		wrk -t"$th" -c"$c" -d"${secs}s" --latency "http://$guest:8080/" >"$tmp/wrk" 2>&1
		rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk")
		mbs=$(awk '/^Transfer\/sec/ {print $2}' "$tmp/wrk")
		p50=$(awk '$1 == "50%" {print $2}' "$tmp/wrk")
		p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk")
		errs=$(grep -c 'Socket errors\|Non-2xx' "$tmp/wrk")
		echo "$machine: 64KiB c=$c: $rps req/s, $mbs/s, p50 $p50, p99 $p99, error lines $errs"
	done
	kill "$vm_pid"; wait "$vm_pid" 2>/dev/null; vm_pid=
done
