#!/usr/bin/env bash
# tests/guest/run-net-tests.sh - the kernel's network stack in a VM: boots
# tests/guest/net_payload.c on microvm (virtio-mmio) and q35 (virtio-pci) attached to a
# tap device of its own, then checks from the host: ping, byte-exact TCP echo, UDP
# echo, name resolution through a DNS server on the host, a TCP client reaching a host
# server, that the idle guest does not spin, the leak report at exit (NET_SOAK_SECS=N adds
# an N-second open/close soak on microvm, outside make test), and that a
# missing NIC is a boot error.
# usage: run-net-tests.sh [BUILD_DIR]     prints `net: N passed, N failed`
set -u
SUITE=net
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
build=${1:-build}
elf=$build/tests/guest/net_payload.elf
here=$(dirname "$0")

for f in "$elf" "$build/tests/guest/net_httpd.elf" "$build/tests/guest/net_echo.elf"; do
	[ -f "$f" ] || { bad "missing $f (make test-prereqs)"; finish; }
done
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
	bad "needs root, /dev/net/tun and ip(8) to create a tap device"; finish
fi
kumo_accel "$build"
echo "net: $accel_why"

# A tap and a /24 of our own: names and addresses from our pid, removed on exit.
tap=kntap$(( $$ % 100000 ))
sub=10.$(( 200 + $$ % 50 )).$(( $$ / 50 % 250 + 1 ))
host=$sub.1 guest=$sub.2
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip link del "$tap" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
if ! ip tuntap add "$tap" mode tap || ! ip addr add "$host/24" dev "$tap" || ! ip link set "$tap" up; then
	bad "cannot create tap $tap"; finish
fi
py() { python3 "$here/../support/net_host.py" "$@"; }

# The host's DNS server and greeting server on the tap address.
py dns "$host" kumo-test.example="$sub.77" web.cluster.test="$sub.78" greeter.example="$host" \
	>"$tmp/dns.log" 2>&1 &
pids+=($!)
py greet "$host" 7100 >"$tmp/greet.log" 2>&1 &
pids+=($!)

# boot NAME MACHINE JSON [qemu options]: starts the VM in the background ($vm_pid).
boot() {
	local name=$1 machine=$2 json=$3; shift 3
	local m
	bash "$here/../support/mkinitrd.sh" "$tmp/$name.img" "$json" ${ROOTFS:+"$ROOTFS"}
	: >"$tmp/$name.1"; : >"$tmp/$name.3"
	local modern=(-global virtio-mmio.force-legacy=false)
	[ "${LEGACY:-}" = 1 ] && modern=()
	if [ "$machine" = microvm ]; then
		m=(-M microvm "${modern[@]}"
			-chardev "file,id=c1,path=$tmp/$name.1" -serial chardev:c1
			-chardev "file,id=c2,path=$tmp/$name.2"
			-device isa-serial,chardev=c2,iobase=0x2f8,irq=3
			-chardev "file,id=c3,path=$tmp/$name.3"
			-device isa-serial,chardev=c3,iobase=0x3e8,irq=4)
		nic=(-device virtio-net-device,netdev=n0,mac=52:54:00:4b:4d:01)
	else
		m=(-M "$machine" -bios /usr/share/qemu/qboot.rom -serial "file:$tmp/$name.1"
			-serial "file:$tmp/$name.2" -serial "file:$tmp/$name.3")
		nic=(-device virtio-net-pci,netdev=n0,mac=52:54:00:4b:4d:01)
	fi
	[ "${NO_NIC:-}" = 1 ] && nic=()
	timeout $((120 + ${NET_SOAK_SECS:-0})) qemu-system-x86_64 "${m[@]}" -accel "$accel" -cpu max -m "${MEM:-32}" \
		-display none -no-reboot -nodefaults \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" "${nic[@]}" \
		-kernel "${ELF:-$elf}" -initrd "$tmp/$name.img" "$@" >"$tmp/$name.qemu" 2>&1 &
	vm_pid=$!
	pids+=("$vm_pid")
}
# wait_for FILE TEXT: until FILE contains TEXT or the VM is gone (60 s at most)
wait_for() {
	for _ in $(seq 600); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$vm_pid" 2>/dev/null || { grep -qF -- "$2" "$1" 2>/dev/null; return; }
		sleep 0.1
	done
	return 1
}
vm_end() { # waits for the VM; 1 if it had to be killed
	for _ in $(seq 300); do kill -0 "$vm_pid" 2>/dev/null || { wait "$vm_pid"; return 0; }; sleep 0.1; done
	kill "$vm_pid"; wait "$vm_pid"; return 1
}
record() { grep '^KUMO-EXIT ' "$tmp/$1.3" | tail -1; }
netcfg() { # netcfg EXTRA_JSON -> the "net" object
	echo "{\"address\": \"$guest/24\", \"gateway\": \"$host\", \"dns\": [\"$host\"], $1}"
}
exit0='KUMO-EXIT v=1 status=0 kind=exit msg=exited'

for machine in microvm q35; do
	# Echo server: ping, TCP, UDP, idle CPU, leak report.
	n=echo-$machine
	boot "$n" "$machine" "{\"version\": 1, \"args\": [\"app\", \"echo\"], \"net\": $(netcfg \
		'"mac": "52:54:00:4b:4d:01", "listen": ["tcp:0.0.0.0:7000", "udp:0.0.0.0:7001"]')}"
	if ! wait_for "$tmp/$n.1" listening; then
		bad "$n: no listening" "$(tail -3 "$tmp/$n.3")" "$(cat "$tmp/$n.qemu")"
		kill "$vm_pid" 2>/dev/null; wait "$vm_pid" 2>/dev/null
		continue
	fi
	out=$(py ping "$guest" 3) && ok "$n: ping ($out)" || bad "$n: ping" "$out"
	out=$(py tcp-echo "$guest" 7000 300000) && ok "$n: $out" || bad "$n: tcp echo" "$out"
	out=$(py tcp-echo "$guest" 7000 1) && ok "$n: $out" || bad "$n: tcp echo" "$out"
	out=$(py udp-echo "$guest" 7001) && ok "$n: $out" || bad "$n: udp echo" "$out"
	out=$(py churn "$guest" 7000 50) && ok "$n: no leak $out" || bad "$n: leak" "$out"
	served=52
	# NET_SOAK_SECS=600: the issue's 10-minute open/close soak (not in make test).
	if [ -n "${NET_SOAK_SECS:-}" ] && [ "$machine" = microvm ]; then
		out=$(py churn-for "$guest" 7000 "$NET_SOAK_SECS") && ok "$n: soak ${NET_SOAK_SECS}s, no leak $out" ||
			bad "$n: soak leak" "$out"
		soaked=$(echo "$out" | sed -n 's/^after \([0-9]*\) connections.*/\1/p')
		served=$((served + ${soaked:-0}))
	fi
	# Idle: blocked in accept, the guest sleeps in hlt. A spinning guest burns a whole
	# core; an idle one a few percent even under TCG.
	cpu=$(py cpu "$vm_pid" 3)
	if awk -v c="$cpu" 'BEGIN { exit !(c < 1.0) }'; then ok "$n: idle guest used ${cpu}s CPU in 3s"
	else bad "$n: idle guest spins" "${cpu}s CPU in 3s"; fi
	py quit "$guest" 7000 >/dev/null
	vm_end || bad "$n: VM did not stop after QUIT"
	if [ "$(record "$n")" = "$exit0" ] && grep -qx "served $served connections" "$tmp/$n.1"; then
		ok "$n: exit"
	else
		bad "$n: exit" "$(record "$n")" "$(cat "$tmp/$n.1")"
	fi
	if grep -q 'kumo-net: heap-used=[0-9]* .*pbuf-used=[0-9]* memp-tcp-pcb=[0-9]' "$tmp/$n.3"; then
		ok "$n: usage report at exit"
	else
		bad "$n: usage report at exit" "$(grep kumo-net "$tmp/$n.3")"
	fi

	# Resolver: through the host's DNS server, with a search domain, a missing name,
	# a numeric address and the guest's own hostname.
	n=resolve-$machine
	boot "$n" "$machine" "{\"version\": 1, \"args\": [\"app\", \"resolve\", \"kumo-test.example\", \
		\"web\", \"nx.example\", \"192.0.2.9\", \"pod-a\"], \"net\": $(netcfg \
		'"search": ["cluster.test"], "hostname": "pod-a"')}"
	vm_end || bad "$n: VM did not stop"
	want="kumo-test.example: $sub.77 port 80
web: $sub.78 port 80
nx.example: wasi errno 44
192.0.2.9: 192.0.2.9 port 80
pod-a: $guest port 80"
	got=$(cat "$tmp/$n.1")
	if [ "$got" = "$want" ] && [ "$(record "$n")" = "$exit0" ]; then ok "$n"
	else bad "$n" "got: $got" "wanted: $want" "$(record "$n")"; fi

	# Client: resolves the host's server by name and talks to it.
	n=client-$machine
	boot "$n" "$machine" "{\"version\": 1, \"args\": [\"app\", \"client\", \"greeter.example\", \
		\"7100\", \"kumo $machine\"], \"net\": $(netcfg '"mtu": 1500')}"
	vm_end || bad "$n: VM did not stop"
	got=$(cat "$tmp/$n.1")
	if [ "$got" = "hello kumo $machine" ] && [ "$(record "$n")" = "$exit0" ]; then ok "$n"
	else bad "$n" "got: $got" "$(record "$n")" "$(tail -3 "$tmp/$n.3")"; fi
done

# The Wasm apps (tests/apps/net_*.c through kumo compile and WASI sockets) in the VM:
# the HTTP server on its preopened listening socket serves the rootfs byte for byte
# with keep-alive; the echo server opens its own UDP socket (WasmEdge sock_open/bind).
www=$tmp/root/www
mkdir -p "$www/sub"
head -c 65536 /dev/urandom >"$www/64k.bin"
head -c 3001 /dev/urandom >"$www/sub/odd.bin"
echo "kumo" >"$www/index.html"
tar --format=ustar -C "$tmp/root" -cf "$tmp/rootfs.tar" www
for machine in microvm q35; do
	n=httpd-$machine
	ELF=$build/tests/guest/net_httpd.elf ROOTFS=$tmp/rootfs.tar boot "$n" "$machine" \
		"{\"version\": 1, \"args\": [\"net_httpd.wasm\", \"--root\", \"/www\", \"--quiet\"],
		\"preopens\": [{\"guest\": \"/www\", \"path\": \"/www\"}], \"net\": $(netcfg \
		'"listen": ["tcp:0.0.0.0:8080"]')}"
	if ! wait_for "$tmp/$n.3" "listening sockets"; then
		bad "$n: no listening" "$(tail -3 "$tmp/$n.3")"
	else
		for f in 64k.bin sub/odd.bin index.html; do
			if curl -s -m 20 --retry 3 --retry-connrefused "http://$guest:8080/$f" -o "$tmp/got" &&
				cmp -s "$tmp/got" "$www/$f"; then ok "$n: GET /$f identical"
			else bad "$n: GET /$f" "$(ls -l "$tmp/got" 2>&1)"; fi
		done
		out=$(py keepalive "$guest" 8080 /sub/odd.bin 100 "$www/sub/odd.bin") &&
			ok "$n: $out" || bad "$n: keep-alive" "$out"
	fi
	kill "$vm_pid" 2>/dev/null; wait "$vm_pid" 2>/dev/null
done
n=echo-wasm
ELF=$build/tests/guest/net_echo.elf boot "$n" microvm \
	"{\"version\": 1, \"args\": [\"net_echo.wasm\", \"udp\", \"7002\"], \"net\": $(netcfg '"mtu": 1500')}"
sleep 1
out=""
for _ in $(seq 30); do
	out=$(py udp-echo "$guest" 7002) && break
	kill -0 "$vm_pid" 2>/dev/null || break
done
case "$out" in
"udp echo 5/5") ok "$n: WasmEdge sock_open/bind, $out" ;;
*) bad "$n: udp echo" "$out" "$(tail -3 "$tmp/$n.3")" ;;
esac
kill "$vm_pid" 2>/dev/null; wait "$vm_pid" 2>/dev/null

# QEMU's default legacy virtio-mmio interface works too.
n=client-legacy-mmio
LEGACY=1 boot "$n" microvm "{\"version\": 1, \"args\": [\"app\", \"client\", \"$host\", \
	\"7100\", \"legacy\"], \"net\": $(netcfg '"mtu": 1500')}"
vm_end || bad "$n: VM did not stop"
got=$(cat "$tmp/$n.1")
if [ "$got" = "hello legacy" ] && [ "$(record "$n")" = "$exit0" ]; then ok "$n"
else bad "$n" "got: $got" "$(record "$n")" "$(tail -3 "$tmp/$n.3")"; fi

# Without the network config, sockets say the network is down.
n=no-net
NO_NIC=1 boot "$n" microvm '{"version": 1, "args": ["app", "nosock"]}'
vm_end
got=$(cat "$tmp/$n.1")
if [ "$got" = "sock_open: wasi errno 38" ] && [ "$(record "$n")" = "$exit0" ]; then ok "$n"
else bad "$n" "got: $got" "$(record "$n")"; fi

# A "net" config without a NIC is a boot error that says so.
n=no-nic
NO_NIC=1 boot "$n" microvm "{\"version\": 1, \"args\": [\"app\", \"nosock\"], \"net\": $(netcfg '"mtu": 1500')}"
vm_end
case "$(record "$n")" in
"KUMO-EXIT v=1 status=255 kind=panic msg=network: no virtio-net device"*) ok "$n: boot error" ;;
*) bad "$n: boot error" "$(record "$n")" ;;
esac
# A NIC with another MAC than the config's is not used.
n=wrong-mac
boot "$n" microvm "{\"version\": 1, \"args\": [\"app\", \"nosock\"], \"net\": $(netcfg '"mac": "52:54:00:00:00:09"')}"
vm_end
case "$(record "$n")" in
"KUMO-EXIT v=1 status=255 kind=panic msg=network: no virtio-net device with mac 52:54:00:00:00:09") ok "$n: boot error" ;;
*) bad "$n: boot error" "$(record "$n")" ;;
esac
# A malformed net config is a boot error naming the key.
n=bad-address
boot "$n" microvm '{"version": 1, "args": ["app", "nosock"], "net": {"address": "10.0.0.300/24"}}'
vm_end
case "$(record "$n")" in
*'kind=panic msg=boot config: `net.address` `10.0.0.300/24` is not ADDRESS/PREFIX') ok "$n: boot error" ;;
*) bad "$n: boot error" "$(record "$n")" ;;
esac
finish
