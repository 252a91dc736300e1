#!/usr/bin/env bash
# tests/bench/bench-vs-linux.sh - `make bench-vs-linux` (issue 20): the same static-file
# server (tests/apps/net_httpd.c) in three VMs that differ only in what runs inside:
#   kumo           net_httpd.wasm as a kumo VM (`kumo build`'s kernel image; the files in
#                  the initrd's in-memory rootfs)
#   linux-hostrun  Debian's kernel (linux-image-amd64) with a busybox initramfs, running
#                  the same compiled object under kumo's hosted runtime (kumo-hostrun on
#                  the shared object `ld -shared` made of `kumo compile`'s output: compiler
#                  and WASI code are the same, only the OS differs)
#   linux-native   the same guest running net_httpd built natively (clang-19 -O2 -static)
# Every VM gets the same QEMU line (vmm/qemu.c's: -M microvm, kumo's CPU model, the
# accelerator kumo picks, 1 vCPU, BENCH_VS_MEM MiB, virtio-net-device on virtio-mmio),
# the same tap on the same bridge, the same files in guest RAM and the same wrk load from
# the host. Per cell (1 KiB and 64 KiB files x 1 and 64 connections): req/s, MB/s,
# p50/p99, and the host CPU per request of QEMU's threads (vCPU + the rest); per system:
# boot -> first HTTP 200 and QEMU's RSS. BENCH_VS_RUNS boots of each system, taken in
# turn; every figure is the median over them. Closes with `vs-linux-ratio R` (kumo over
# linux-hostrun, req/s, 64 KiB x 64) and `vs-native-linux-ratio R` (kumo over linux-native).
#
# Only Debian packages are downloaded (`apt-get download`: the kernel, busybox-static),
# into BUILD/bench-vs-linux/debs; nothing is installed on the host.
#   BENCH_VS_SECS=N     seconds per wrk cell (default 10)
#   BENCH_VS_RUNS=N     boots of each system (default 3)
#   BENCH_VS_MEM=MIB    guest RAM (default 128)
#   BENCH_VS_SYSTEMS    which systems, in order (default "kumo linux-hostrun linux-native";
#                       also kumo-base: the kumo image linked with the kernel library in
#                       BENCH_VS_BASE_KERNEL_DIR, e.g. main's, for before/after in one run)
#   BENCH_VS_PROFILE=0  skip the guest profile: one more kumo boot per cell, stopped
#                       through QMP so the kernel logs its NIC counters and, with
#                       kumo.netprof=1 on its command line, where its time went
#   BENCH_VS_TSC_KHZ    the host TSC's kHz for the Linux guest (default: /proc/cpuinfo)
#   BUILD=DIR           build directory (default build)
# The whole script is one block: bash reads it before running, so editing the file
# during a run (the runs are long) cannot break the run.
{
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
secs=${BENCH_VS_SECS:-10}
runs=${BENCH_VS_RUNS:-3}
mem=${BENCH_VS_MEM:-128}
systems=(${BENCH_VS_SYSTEMS:-kumo linux-hostrun linux-native})
kumo=$build/bin/kumo
hostrun=$build/bin/kumo-hostrun
wasm=$build/apps/net_httpd.wasm
out=$build/bench-vs-linux
boot_timeout=${BENCH_VS_BOOT_TIMEOUT:-180}
source "$here/bench-lib.sh"
source "$root/tests/accel.sh"

die() { echo "bench-vs-linux: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] || die "needs root and /dev/net/tun (a bridge and a tap)"
for t in wrk qemu-system-x86_64 curl ip ld clang-19 dpkg-deb apt-get apt-cache; do
	command -v "$t" >/dev/null || die "needs $t (deploy/install-deps.sh)"
done
for f in "$kumo" "$hostrun" "$wasm" "$root/tests/apps/net_httpd.c"; do
	[ -e "$f" ] || die "missing $f (make all net-apps)"
done
kumo_accel "$build"

mkdir -p "$out"
tmp=$(mktemp -d)
tag=$(( $$ % 100000 ))
br=kvsbr$tag tap=kvstap$tag
sub=10.$(( 200 + $$ % 50 )).$(( $$ / 50 % 250 + 1 ))
host=$sub.1 guest=$sub.2
mac=52:54:00:76:73:02
vm_pid=
cleanup() {
	[ -n "$vm_pid" ] && { kill "$vm_pid" 2>/dev/null; wait "$vm_pid" 2>/dev/null; }
	ip link del "$tap" 2>/dev/null
	ip link del "$br" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the Linux guest: Debian's kernel and busybox, from Debian's archive ----

# deb_files PACKAGE PATTERN...: the package's files matching the tar patterns (./boot/...),
# unpacked under $out/debian/PACKAGE (the .deb downloaded once, into $out/debian/debs).
# Only what the guest needs: a whole kernel tree under BUILD would slow the Makefile's
# search for dependency files.
deb_files() {
	local pkg=$1 d=$out/debian
	shift
	[ -d "$d/$pkg" ] && { echo "$d/$pkg"; return 0; }
	mkdir -p "$d/debs"
	if ! ls "$d/debs/${pkg}"_*.deb >/dev/null 2>&1; then
		# apt drops to user _apt for downloads; let it write here.
		chmod 0777 "$d/debs"
		(cd "$d/debs" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
			{ echo "bench-vs-linux: apt-get download $pkg failed (apt-get update?)" >&2; return 1; }
	fi
	rm -rf "$d/$pkg.tmp"
	mkdir -p "$d/$pkg.tmp"
	dpkg-deb --fsys-tarfile "$(ls "$d/debs/${pkg}"_*.deb | tail -1)" |
		tar -x -C "$d/$pkg.tmp" --wildcards "$@" && mv "$d/$pkg.tmp" "$d/$pkg" && echo "$d/$pkg"
}

kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
[ -n "$kpkg" ] || die "apt-cache knows no linux-image-amd64 (apt-get update first)"
kver=${kpkg#linux-image-}
mods="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio
	net/core/failover drivers/net/net_failover drivers/net/virtio_net"
kroot=$(deb_files "$kpkg" "./boot/vmlinuz-$kver" "./boot/config-$kver" \
	$(for m in $mods; do echo "./lib/modules/$kver/kernel/$m.ko"; done)) || exit 1
bbroot=$(deb_files busybox-static ./bin/busybox) || exit 1
vmlinuz=$kroot/boot/vmlinuz-$kver
kmods=$kroot/lib/modules/$kver/kernel
[ -f "$vmlinuz" ] || die "no $vmlinuz in $kpkg"

# The app: one compile, shared by the kumo image and the hosted runner; natively, static
# (the guest has no C library besides the one kumo-hostrun brings).
"$kumo" compile "$wasm" -o "$out/net_httpd.o" >/dev/null || die "kumo compile failed"
ld -shared -o "$out/net_httpd.so" "$out/net_httpd.o" || die "ld -shared failed"
clang-19 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -static "$root/tests/apps/net_httpd.c" \
	-o "$out/net_httpd.static" || die "cannot build net_httpd statically"

# The files served: the same bytes in every guest's RAM.
www=$tmp/rootfs/www
mkdir -p "$www"
head -c 1024 /dev/urandom >"$www/1k.bin"
head -c 65536 /dev/urandom >"$www/64k.bin"

# The initramfs: busybox, six modules, kumo-hostrun and its libraries, both servers.
ir=$tmp/initramfs
mkdir -p "$ir"/{bin,app,proc,sys,dev,tmp,lib/modules}
cp "$bbroot/bin/busybox" "$ir/bin/"
for m in $mods; do
	cp "$kmods/$m.ko" "$ir/lib/modules/" || die "no $m.ko in $kpkg"
done
cp "$hostrun" "$ir/bin/kumo-hostrun"
for lib in $(ldd "$hostrun" | grep -o '/[^ ]*'); do
	mkdir -p "$ir$(dirname "$lib")"
	cp -L "$lib" "$ir$lib"
done
cp "$out/net_httpd.so" "$ir/app/"
cp "$out/net_httpd.static" "$ir/bin/net_httpd"
cp -r "$www" "$ir/www"
install -m 0755 "$here/vs-linux-init.sh" "$ir/init"
(cd "$ir" && find . | "$bbroot/bin/busybox" cpio -o -H newc -R 0:0 >"$out/linux-initramfs.cpio" 2>/dev/null) ||
	die "cannot write the initramfs"

# The kumo image: kumo build's kernel (the same object, linked), and an initrd with the
# network and the files (tests/guest/mkinitrd.sh: boot config + rootfs archive).
"$kumo" build "$wasm" -o "$out/kumo" >/dev/null 2>&1 || die "kumo build failed"
if [[ " ${systems[*]} " == *" kumo-base "* ]]; then
	[ -f "${BENCH_VS_BASE_KERNEL_DIR:-}/libkumo-kernel.a" ] ||
		die "kumo-base needs BENCH_VS_BASE_KERNEL_DIR (a directory with libkumo-kernel.a and kernel.ld)"
	KUMO_KERNEL_DIR=$BENCH_VS_BASE_KERNEL_DIR "$kumo" build "$wasm" -o "$out/kumo-base" >/dev/null 2>&1 ||
		die "kumo build with $BENCH_VS_BASE_KERNEL_DIR failed"
fi
tar --format=ustar --owner=0 --group=0 -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" www
bash "$root/tests/guest/mkinitrd.sh" "$out/kumo/initrd-net.img" \
	"{\"version\": 2, \"args\": [\"net_httpd\", \"--quiet\"], \"env\": [],
	  \"preopens\": [{\"guest\": \"/www\", \"path\": \"/www\", \"readonly\": false}],
	  \"net\": {\"mac\": \"$mac\", \"address\": \"$guest/24\", \"gateway\": \"$host\",
		  \"dns\": [], \"search\": [], \"listen\": [\"tcp:0.0.0.0:8080\"]}}" "$tmp/rootfs.tar"

tsc_khz=${BENCH_VS_TSC_KHZ:-$(awk '/^cpu MHz/ { printf "%d\n", $4 * 1000; exit }' /proc/cpuinfo)}
lpj=$(( tsc_khz * 1000 / $(sed -n 's/^CONFIG_HZ=//p' "$kroot/boot/config-$kver") ))

# ---- the network: a bridge and one tap, the same for every VM ----
ip link add "$br" type bridge && ip addr add "$host/24" dev "$br" && ip link set "$br" up &&
	ip tuntap add "$tap" mode tap && ip link set "$tap" master "$br" && ip link set "$tap" up ||
	die "cannot create bridge $br and tap $tap"
# A known neighbour: connects tried before the guest is up would otherwise leave a failed
# ARP entry that Linux retries only every second.
ip neigh replace "$guest" lladdr "$mac" dev "$br" nud permanent

# boot SYSTEM [KERNEL-ARGS]: starts the VM ($vm_pid, QMP on $tmp/qmp); vmm/qemu.c's QEMU
# line, with the legacy timers the Linux guest needs spelled out (TCG's defaults anyway)
# for every system alike.
boot() {
	local kernel initrd append=()
	case $1 in
	kumo | kumo-base)
		kernel=$out/$1/kernel.elf initrd=$out/kumo/initrd-net.img
		[ -n "${2:-}" ] && append=(-append "$2") ;;
	linux-*)
		kernel=$vmlinuz initrd=$out/linux-initramfs.cpio
		# microvm under TCG: the TSC's rate given, not calibrated (slow and wrong there).
		append=(-append "console=ttyS0 quiet tsc_early_khz=$tsc_khz lpj=$lpj no_timer_check vs.mode=${1#linux-} vs.addr=$guest/24 vs.gw=$host") ;;
	esac
	local serial=() i base=(0x3f8 0x2f8 0x3e8) irq=(4 3 4)
	for i in 0 1 2; do
		: >"$tmp/com$i"
		serial+=(-chardev "file,id=com$i,path=$tmp/com$i"
			-device "isa-serial,chardev=com$i,iobase=${base[i]},irq=${irq[i]}")
	done
	qemu-system-x86_64 -name "vs-$1,debug-threads=on" \
		-machine microvm,x-option-roms=off,isa-serial=off,acpi=on,pit=on,pic=on,rtc=on \
		-accel "$accel" -cpu Nehalem -m "$mem" -smp 1 -nodefaults -no-user-config \
		-display none -no-reboot "${serial[@]}" -global virtio-mmio.force-legacy=false \
		-netdev "tap,id=net0,ifname=$tap,script=no,downscript=no" \
		-device "virtio-net-device,netdev=net0,mac=$mac" \
		-kernel "$kernel" -initrd "$initrd" "${append[@]}" \
		-qmp "unix:$tmp/qmp,server=on,wait=off" >"$tmp/qemu.log" 2>&1 &
	vm_pid=$!
}

# first_200 T0_NS: polls until the guest serves 1k.bin; prints ms since T0_NS, or fails.
# About 10 ms of polling granularity (a curl process per try).
first_200() {
	local end=$(( $(date +%s) + boot_timeout ))
	while [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$vm_pid" 2>/dev/null || return 1
		# A short connect timeout: a SYN sent before the guest's NIC is up is lost,
		# and the host would retransmit it only after a second.
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 0.05 --max-time 5 \
			"http://$guest:8080/1k.bin")" = 200 ]; then
			echo $(( ($(date +%s%N) - $1) / 1000000 ))
			return 0
		fi
		sleep 0.02
	done
	return 1
}

stop_vm() {
	kill "$vm_pid" 2>/dev/null
	wait "$vm_pid" 2>/dev/null
	vm_pid=
}

# powerdown_vm: the ACPI power button through QMP (a kumo guest logs its counters and
# exits), then waits for QEMU (10 s at most) or kills it.
powerdown_vm() {
	python3 - "$tmp/qmp" <<'PY' >/dev/null 2>&1
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile('rw')
f.readline()
for cmd in ('qmp_capabilities', 'system_powerdown'):
    f.write(json.dumps({'execute': cmd}) + '\n')
    f.flush()
    f.readline()
PY
	for _ in $(seq 100); do kill -0 "$vm_pid" 2>/dev/null || break; sleep 0.1; done
	stop_vm
}

declare -A res   # res[system.file.conns] lines: "req/s MB/s p50 p99 errors requests us/req vcpu-us other-us"
declare -A boots rss
echo "bench-vs-linux: $accel_why; $runs boot(s) of each system, ${secs}s per cell; load average $(loadavg) at start" >&2
for ((run = 1; run <= runs; run++)); do
	for s in "${systems[@]}"; do
		t0=$(date +%s%N)
		boot "$s"
		if ! ms=$(first_200 "$t0"); then
			echo "bench-vs-linux: $s did not serve within ${boot_timeout}s:" >&2
			tail -n 5 "$tmp/com0" "$tmp/com2" "$tmp/qemu.log" >&2
			stop_vm
			continue
		fi
		boots[$s]+="$ms "
		wrk -t1 -c4 -d1s "http://$guest:8080/1k.bin" >/dev/null 2>&1 # warm up
		for f in 1k 64k; do
			for c in 1 64; do
				read -r v0 o0 <<<"$(qemu_cpu_ticks "$vm_pid")"
				w=$(wrk -t1 -c"$c" -d"${secs}s" --latency "http://$guest:8080/$f.bin" 2>&1 | parse_wrk)
				read -r v1 o1 <<<"$(qemu_cpu_ticks "$vm_pid")"
				tck=$(getconf CLK_TCK)
				res[$s.$f.$c]+=$(awk -v w="$w" -v dv=$((v1 - v0)) -v do_=$((o1 - o0)) -v hz="$tck" 'BEGIN {
					split(w, a, " "); n = a[6] > 0 ? a[6] : 1
					printf "%s %.0f %.0f %.0f\n", w, (dv + do_) * 1e6 / hz / n, dv * 1e6 / hz / n, do_ * 1e6 / hz / n }')$'\n'
			done
		done
		rss[$s]+="$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$vm_pid/status") "
		stop_vm
		echo "bench-vs-linux: run $run $s done (boot ${ms} ms, load average $(loadavg))" >&2
	done
done

# col SYSTEM FILE CONNS N: the median of field N over the runs.
col() { printf '%s' "${res[$1.$2.$3]:-}" | awk -v n="$4" 'NF { print $n }' | median; }

echo "bench-vs-linux: wrk -t1 -d${secs}s --latency from the host; medians of $runs boot(s) per system, load average $(loadavg) at the end"
echo "  all: qemu -M microvm -accel $accel -cpu Nehalem -smp 1 -m $mem, virtio-net-device (virtio-mmio) on tap $tap on bridge $br, files in guest RAM"
echo "  kumo: net_httpd.wasm as a kumo VM   linux-hostrun: $kpkg + busybox, kumo-hostrun on the same object   linux-native: net_httpd (clang-19 -O2 -static)"
echo "  cpu/req: host CPU of QEMU's threads per request, microseconds (vCPU + the rest: main loop, virtio, tap)"
printf '%-4s %5s  %-13s %9s %8s %9s %9s %6s %19s %9s\n' file conns system "req/s" "MB/s" "p50 ms" "p99 ms" errors "cpu/req us (v+o)" "vs kumo"
for f in 1k 64k; do
	for c in 1 64; do
		for s in "${systems[@]}"; do
			if [ -z "${res[$s.$f.$c]:-}" ]; then
				printf '%-4s %5s  %-13s %s\n' "$f" "$c" "$s" "unavailable (did not boot)"
				continue
			fi
			rps=$(col "$s" $f $c 1)
			krps=$(col kumo $f $c 1)
			ratio=$(awk -v a="$krps" -v b="$rps" 'BEGIN { if (a != "n/a" && b > 0) printf "%.2fx", a / b; else print "-" }')
			printf '%-4s %5s  %-13s %9s %8s %9s %9s %6s %19s %9s\n' "$f" "$c" "$s" "$rps" "$(col "$s" $f $c 2)" \
				"$(col "$s" $f $c 3)" "$(col "$s" $f $c 4)" "$(col "$s" $f $c 5)" \
				"$(col "$s" $f $c 7) ($(col "$s" $f $c 8)+$(col "$s" $f $c 9))" "$ratio"
		done
	done
done
for s in "${systems[@]}"; do
	printf '%-13s boot -> first HTTP 200 %s ms (runs: %s), QEMU RSS %s MiB\n' "$s" \
		"$(tr ' ' '\n' <<<"${boots[$s]:-}" | grep . | median)" "${boots[$s]:-none}" \
		"$(tr ' ' '\n' <<<"${rss[$s]:-}" | grep . | median)"
done
# ---- the guest profile: one more kumo boot per cell, read from its kernel log ----
if [ "${BENCH_VS_PROFILE:-1}" != 0 ] && [[ " ${systems[*]} " == *" kumo "* ]]; then
	echo "guest profile (kumo, kumo.netprof=1; one boot per cell, stopped by the power button;"
	echo "  per request: the NIC's counters and the guest's time by stage in microseconds, TSC):"
	printf '%-4s %5s %7s %8s %6s %9s %8s %7s %7s | %6s %6s %6s %6s %6s %6s %6s %8s\n' file conns \
		"tx-frm" "KiB/frm" "tso" "kicks" "skipped" "rx-frm" "sleeps" busy poll write output "(tx)" "(kick)" recv "app+wasi"
	for f in 1k 64k; do
		for c in 1 64; do
			t0=$(date +%s%N)
			boot kumo "kumo.netprof=1"
			if ! first_200 "$t0" >/dev/null; then
				printf '%-4s %5s  %s\n' "$f" "$c" "unavailable (did not boot)"
				stop_vm
				continue
			fi
			w=$(wrk -t1 -c"$c" -d"${secs}s" "http://$guest:8080/$f.bin" 2>&1 | parse_wrk)
			powerdown_vm
			nic=$(sed -n 's/^kumo: kumo-nic: //p' "$tmp/com2" | tail -1)
			np=$(sed -n 's/^kumo: kumo-netprof: us since //p' "$tmp/com2" | tail -1)
			if [ -z "$nic" ] || [ -z "$np" ]; then
				printf '%-4s %5s  %s\n' "$f" "$c" "no counters in the kernel log"
				continue
			fi
			awk -v f="$f" -v c="$c" -v w="$w" -v nic="$nic" -v np="$np" 'BEGIN {
				split(w, a, " "); n = a[6] + 1   # + the first 200
				k = split(nic " " np, kv, " ")
				for (i = 1; i <= k; i++) { split(kv[i], x, "="); v[x[1]] = x[2] }
				busy = v["up"] - v["idle"]
				rest = busy - v["poll"] - v["write"] - v["output"] - v["recv-copy"]
				printf "%-4s %5s %7.1f %8.1f %6.2f %9.1f %8.1f %7.1f %7.2f | %6.0f %6.0f %6.0f %6.0f %6.0f %6.0f %6.0f %8.0f\n", f, c,
					v["tx"] / n, v["tx"] ? v["tx-bytes"] / v["tx"] / 1024 : 0, v["tx-tso"] / n,
					v["tx-kicks"] / n, v["tx-kicks-skipped"] / n, v["rx"] / n, v["sleeps"] / n,
					busy / n, v["poll"] / n, v["write"] / n, v["output"] / n, v["tx-us"] / n, v["kick-us"] / n,
					v["recv-copy"] / n, rest / n
			}'
		done
	done
	echo "  (tx): vnet_tx, in poll and output; (kick): the notifications, in poll and output; app+wasi: busy minus the stages (the app, poll_oneoff, files, the rest of WASI)"
fi
ratio() { # ratio NAME PEER [KUMO-SYSTEM]
	local k p
	k=$(col "${3:-kumo}" 64k 64 1) p=$(col "$2" 64k 64 1)
	awk -v n="$1" -v a="$k" -v b="$p" -v peer="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || b <= 0) printf "%s n/a (kumo or %s did not serve)\n", n, peer
		else printf "%s %.2f\n", n, a / b }'
}
if [[ " ${systems[*]} " == *" kumo-base "* ]]; then
	ratio "kumo-base: vs-linux-ratio" linux-hostrun kumo-base
	ratio "kumo-base: vs-native-linux-ratio" linux-native kumo-base
fi
ratio vs-linux-ratio linux-hostrun
ratio vs-native-linux-ratio linux-native
exit 0
}
