#!/usr/bin/env bash
# tests/bench/bench-share.sh - what a host share (virtio-9p) costs against today's copy
# into the initrd, on the guest clock (tests/guest/share_probe.c `bench`): reading a
# 1 MiB file (open, read all, close; median of 9) from the share and from the
# in-memory rootfs, a small file's open+read+close, a stat; and the boot cost of
# shares: kernel entry -> _start with 0, 1 and 5 shares (median of BENCH_RUNS boots),
# and the host-side cost of copying 1 MiB into an initrd (the builder's path today).
# usage: bench-share.sh [BUILD_DIR]     closes with `share-read-1m-us N`
set -u
build=${1:-build}
elf=$build/tests/guest/share_probe.elf
kumo=$build/bin/kumo
here=$(dirname "$0")
runs=${BENCH_RUNS:-5}
[ -f "$elf" ] || { echo "missing $elf (make test-prereqs)"; exit 1; }
source "$here/../lib/testlib.sh"
kumo_accel "$build"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "bench-share: $accel_why, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$tmp/share" "$tmp/root/img"
head -c 1048576 /dev/urandom >"$tmp/share/1m.bin"
cp "$tmp/share/1m.bin" "$tmp/root/img/1m.bin"
printf 'hello from the host\n' >"$tmp/share/hello.txt"
(cd "$tmp/root" && tar --format=ustar -cf "$tmp/rootfs.tar" .)

# boot NAME JSON NSHARES: one run; the guest's stdout in $tmp/NAME.1, log in NAME.3
boot() {
	local name=$1 json=$2 n=$3 i args=()
	bash "$here/../support/mkinitrd.sh" "$tmp/$name.img" "$json" "$tmp/rootfs.tar"
	for ((i = 0; i < n; i++)); do
		args+=(-fsdev "local,id=fs$i,path=$tmp/share,security_model=passthrough"
			-device "virtio-9p-device,fsdev=fs$i,mount_tag=s$i")
	done
	timeout 300 qemu-system-x86_64 -M microvm -accel "$accel" -cpu max -m 64 -display none \
		-no-reboot -nodefaults -global virtio-mmio.force-legacy=false \
		-chardev "file,id=c1,path=$tmp/$name.1" -chardev "file,id=c3,path=$tmp/$name.3" \
		-serial chardev:c1 -device isa-serial,chardev=c3,iobase=0x3e8,irq=4 \
		-kernel "$elf" -initrd "$tmp/$name.img" "${args[@]}" >/dev/null 2>&1
}

boot bench '{"args": ["p", "bench"], "preopens": [{"guest": "/img", "path": "/img"},
  {"guest": "/data", "path": "/data", "share": "s0"}]}' 1
cat "$tmp/bench.1"
grep -o 'share `s0`.*' "$tmp/bench.3"

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for n in 0 1 5; do
	pre='' mnt=''
	for ((i = 0; i < n; i++)); do
		pre+=", {\"guest\": \"/s$i\", \"path\": \"/s$i\", \"share\": \"s$i\"}"
	done
	for ((r = 0; r < runs; r++)); do
		boot "boot$n-$r" "{\"args\": [\"p\"], \"preopens\": [{\"guest\": \"/img\", \"path\": \"/img\"}$pre]}" "$n"
		grep -o 'kernel entry to _start [0-9]*' "$tmp/boot$n-$r.3" | grep -o '[0-9]*$'
	done | median | xargs printf "boot-entry-to-start-us shares=%s %s\n" "$n"
	if [ "$n" -gt 0 ]; then
		grep -o 'shares: [0-9]* mounted in [0-9]* us' "$tmp/boot$n-0.3"
	fi
done

# Today's copy on the host: `kumo build --rootfs` packs the directory into the initrd
# (what CreateContainer does per mount); the difference with an empty rootfs is the
# copy's cost (object and image come from the cache both times).
wasm=$build/tests/guest/share_probe.wasm
if [ -x "$kumo" ] && [ -f "$wasm" ]; then
	mkdir -p "$tmp/empty"
	export KUMO_ROOT=$tmp/kumo-root
	"$kumo" build "$wasm" -o "$tmp/out" >/dev/null 2>&1
	for d in empty share; do
		for ((r = 0; r < runs; r++)); do
			s=$(date +%s%N)
			"$kumo" build "$wasm" -o "$tmp/out" --rootfs "$tmp/$d" >/dev/null 2>&1
			echo $(( ($(date +%s%N) - s) / 1000 ))
		done | median | xargs printf "host-kumo-build-rootfs-us %s=%s\n" "$d"
	done
fi
grep -o 'share-read-1m-us [0-9]*' "$tmp/bench.1"
