#!/usr/bin/env bash
# tests/guest/run-share-tests.sh - host directories shared live with the VM over
# virtio-9p (kernel/os/p9fs.c): boots tests/guest/share_probe.c (a WASI app compiled by
# kumo) with QEMU's -fsdev local + virtio-9p on microvm (virtio-mmio) and q35
# (virtio-pci), checks its exact output and what it leaves in the host directories:
# files and directories made, renamed and removed in the guest seen on the host,
# read-only shares and file mounts refusing changes, a ConfigMap `..data` symlink swapped
# on the host while the app runs, symlinks that try to leave the share, a file larger
# than msize read and written byte for byte; then `kumo run --dir` end to end.
# usage: run-share-tests.sh [BUILD_DIR]     prints `share: N passed, N failed`
set -u
build=${1:-build}
elf=$build/tests/guest/share_probe.elf
here=$(dirname "$0")
[ -f "$elf" ] || { bad "missing $elf (make test-prereqs)"; finish; }
SUITE=share
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
kumo_accel "$build"
echo "share: $accel_why"
tmp=$(mktemp -d)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# qemu_cmd NAME MACHINE JSON SHARE... : the QEMU command line in the array `cmd`; each
# SHARE is TAG=DIR or TAG=DIR:ro.
qemu_cmd() {
	local name=$1 machine=$2 json=$3; shift 3
	bash "$here/../support/mkinitrd.sh" "$tmp/$name.img" "$json" ${ROOTFS:+"$ROOTFS"}
	: >"$tmp/$name.1"; : >"$tmp/$name.2"; : >"$tmp/$name.3"
	local dev=virtio-9p-device
	cmd=(timeout 120 qemu-system-x86_64 -accel "$accel" -cpu max -m 64 -display none -no-reboot
		-nodefaults -kernel "$elf" -initrd "$tmp/$name.img")
	if [ "$machine" = q35 ]; then
		dev=virtio-9p-pci
		cmd+=(-M q35 -bios /usr/share/qemu/qboot.rom -serial "file:$tmp/$name.1"
			-serial "file:$tmp/$name.2" -serial "file:$tmp/$name.3")
	else
		cmd+=(-M microvm -global virtio-mmio.force-legacy=false
			-chardev "file,id=c1,path=$tmp/$name.1" -chardev "file,id=c2,path=$tmp/$name.2"
			-chardev "file,id=c3,path=$tmp/$name.3" -serial chardev:c1
			-device isa-serial,chardev=c2,iobase=0x2f8,irq=3
			-device isa-serial,chardev=c3,iobase=0x3e8,irq=4)
	fi
	local i=0 s tag dir ro
	for s in "$@"; do
		tag=${s%%=*} dir=${s#*=} ro=
		case $dir in *:ro) dir=${dir%:ro} ro=,readonly=on ;; esac
		cmd+=(-fsdev "local,id=fs$i,path=$dir,security_model=passthrough$ro"
			-device "$dev,fsdev=fs$i,mount_tag=$tag")
		i=$((i + 1))
	done
}
# boot NAME MACHINE JSON SHARE...: runs the VM to its end
boot() {
	local name=$1
	qemu_cmd "$@"
	"${cmd[@]}" >"$tmp/$name.qemu" 2>&1
	echo $? >"$tmp/$name.rc"
}
# check NAME EXPECTED_STDOUT [STATUS]: stdout byte for byte and the exit record
check() {
	local name=$1 want=$2 status=${3:-0} got rec
	got=$(cat "$tmp/$name.1"; echo x); got=${got%x}
	rec=$(grep '^KUMO-EXIT ' "$tmp/$name.3" | tail -1)
	if [ "$(cat "$tmp/$name.rc")" != 0 ]; then
		bad "$name" "qemu exit $(cat "$tmp/$name.rc")" "$(cat "$tmp/$name.qemu")" "$(tail -3 "$tmp/$name.3")"
	elif [ "$got" != "$want" ]; then
		bad "$name" "$(diff <(echo "$want") <(echo "$got"))" "$(tail -3 "$tmp/$name.3")"
	elif [ "$rec" != "KUMO-EXIT v=1 status=$status kind=exit msg=exited" ]; then
		bad "$name" "record: $rec" "$(tail -5 "$tmp/$name.3")"
	else
		ok "$name"
	fi
}
# host_check NAME CONDITION-DESCRIPTION COMMAND...: the host sees what the guest did
host_check() {
	local name=$1 what=$2; shift 2
	if "$@"; then ok "$name: $what"; else bad "$name: $what"; fi
}

for machine in microvm q35; do
	# ---- a writable share: what the guest does is on the host at once ----
	d=$tmp/ops-$machine; mkdir -p "$d"
	printf 'hello from the host\n' >"$d/hello.txt"
	boot "ops-$machine" "$machine" \
		'{"args": ["p", "ops"], "preopens": [{"guest": "/data", "path": "/data", "share": "data"}]}' \
		"data=$d"
	check "ops-$machine" 'host file: hello from the host
write: ok
append: ok
mkdir: ok
mkdir again: File exists
write in it: ok
rename: ok
rename over: ok
renamed: moved
stat: ok size 6 dir 0
write to remove: ok
unlink: ok
unlink missing: No such file or directory
rmdir non-empty: Directory not empty
mkdir doomed: ok
rmdir: ok
open missing: No such file or directory
exclusive: File exists
unlink dir: Is a directory
seek end: 6
truncate: ok
pread: ok "ov"
symlink: ok
readlink: made/over.txt
through the link: mov/data: . d
/data: .. d
/data: from-guest.txt f
/data: hello.txt f
/data: link l
/data: made d
/data/made: . d
/data/made: .. d
/data/made: over.txt f
'
	host_check "ops-$machine" "written file" \
		test "$(cat "$d/from-guest.txt")" = "written by the guest
and appended"
	host_check "ops-$machine" "renamed and truncated file" test "$(cat "$d/made/over.txt")" = mov
	host_check "ops-$machine" "removed entries gone" \
		test ! -e "$d/made/tmp.txt" -a ! -e "$d/made/final.txt" -a ! -e "$d/made/gone.txt" -a ! -e "$d/doomed"
	host_check "ops-$machine" "symlink" test "$(readlink "$d/link")" = made/over.txt
	host_check "ops-$machine" "new files have real modes (passthrough)" \
		test "$(stat -c '%a %u' "$d/from-guest.txt") $(stat -c %a "$d/made")" = "644 0 755"

	# ---- a file larger than msize (128 KiB), one read and one write call ----
	d=$tmp/big-$machine; mkdir -p "$d"
	head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$d/big.bin"
	sum=$(python3 -c 'import sys
h = 1469598103934665603
for b in open(sys.argv[1], "rb").read(): h = ((h ^ b) * 1099511628211) & (2**64 - 1)
print("%016x" % h)' "$d/big.bin")
	boot "big-$machine" "$machine" \
		'{"args": ["p", "big"], "preopens": [{"guest": "/data", "path": "/data", "share": "data"}]}' \
		"data=$d"
	check "big-$machine" "read 3158073 bytes, fnv1a $sum
wrote 3158073 bytes
"
	host_check "big-$machine" "copy byte-identical" cmp -s "$d/big.bin" "$d/big.copy"
done

# ---- read-only: a read-only share preopened at /ro, a read-only file mount
# (/etc/hosts, one entry of a pod directory) and a writable one (the termination log)
# under a writable root from the image ----
d=$tmp/ro; mkdir -p "$d/ro" "$d/pod" "$d/ctr" "$d/root/etc"
printf 'read only\n' >"$d/ro/file.txt"
printf '127.0.0.1 localhost\n' >"$d/pod/etc-hosts"
printf 'secret\n' >"$d/pod/other"
: >"$d/ctr/abc123"; printf 'previous attempt\n' >"$d/ctr/old999"
printf 'from the image\n' >"$d/root/etc/motd"
(cd "$d/root" && tar --format=ustar -cf "$d/rootfs.tar" .)
ROOTFS=$d/rootfs.tar boot ro microvm '{"args": ["p", "readonly"],
  "preopens": [{"guest": "/", "path": "/"}, {"guest": "/ro", "path": "/ro", "share": "ro", "readonly": true}],
  "mounts": [{"path": "/etc/hosts", "share": "pod", "entry": "etc-hosts", "readonly": true},
             {"path": "/dev/termination-log", "share": "ctr", "entry": "abc123"}]}' \
	"ro=$d/ro" "pod=$d/pod" "ctr=$d/ctr"
check ro 'ro file: read only
create: Read-only file system
open for writing: ok
write through it: Bad file descriptor
mkdir: Capabilities insufficient
unlink: Capabilities insufficient
rename: Capabilities insufficient
symlink: Capabilities insufficient
file mount: 127.0.0.1 localhost
file mount write: Read-only file system
file mount truncate: Read-only file system
file mount unlink: Resource busy
file mount sibling: Not a directory
termination log: ok
/etc: . d
/etc: .. d
/etc: hosts f
/etc: motd f
'
host_check ro "nothing changed in the read-only share" \
	test "$(ls "$d/ro")" = file.txt -a "$(cat "$d/pod/etc-hosts")" = "127.0.0.1 localhost"
host_check ro "termination message on the host" test "$(cat "$d/ctr/abc123")" = "done: 42 items"
host_check ro "other entries of the file mounts' directories untouched" \
	test "$(cat "$d/ctr/old999")" = "previous attempt"

# ---- a ConfigMap volume as kubelet lays it out, updated while the app runs ----
d=$tmp/cm; mkdir -p "$d/config/..2024_01_01_00_00_00.1" "$d/data"
printf 'version 1\n' >"$d/config/..2024_01_01_00_00_00.1/key"
printf 'other 1\n' >"$d/config/..2024_01_01_00_00_00.1/other"
ln -s ..2024_01_01_00_00_00.1 "$d/config/..data"
ln -s ..data/key "$d/config/key"
ln -s ..data/other "$d/config/other"
qemu_cmd watch microvm '{"args": ["p", "watch"], "preopens": [
  {"guest": "/config", "path": "/config", "share": "config", "readonly": true},
  {"guest": "/data", "path": "/data", "share": "data"}]}' "config=$d/config:ro" "data=$d/data"
"${cmd[@]}" >"$tmp/watch.qemu" 2>&1 &
qpid=$!
for _ in $(seq 600); do [ -e "$d/data/ready" ] && break; sleep 0.1; done
# kubelet's atomic update: a new timestamped directory, a new `..data` symlink renamed
# over the old one, the old directory removed.
mkdir "$d/config/..2024_01_01_00_05_00.2"
printf 'version 2\n' >"$d/config/..2024_01_01_00_05_00.2/key"
printf 'other 2\n' >"$d/config/..2024_01_01_00_05_00.2/other"
ln -s ..2024_01_01_00_05_00.2 "$d/config/..data_tmp"
mv -T "$d/config/..data_tmp" "$d/config/..data"
rm -rf "$d/config/..2024_01_01_00_00_00.1"
touch "$d/data/go"
wait "$qpid"; echo $? >"$tmp/watch.rc"; qpid=
check watch 'before: version 1
/config: . d
/config: .. d
/config: ..2024_01_01_00_00_00.1 d
/config: ..data l
/config: key l
/config: other l
after: version 2
other: other 2
'

# ---- symlinks in the share never lead out of the preopen ----
d=$tmp/esc; mkdir -p "$d/data/sub"
printf 'in the share\n' >"$d/data/file.txt"; printf 'in sub\n' >"$d/data/sub/file.txt"
ln -s file.txt "$d/data/inside"; ln -s sub "$d/data/sub-link"
ln -s .. "$d/data/up"; ln -s /etc/passwd "$d/data/abs"; ln -s sub/../../../etc "$d/data/deep"
ln -s loop "$d/data/loop"
boot escape microvm '{"args": ["p", "escape"], "preopens": [{"guest": "/data", "path": "/data", "share": "data"}]}' \
	"data=$d/data"
check escape 'inside: in the share
into subdir: in sub
dotdot link: Operation not permitted
absolute link: Operation not permitted
deep link: Operation not permitted
dotdot path: Operation not permitted
make escaping link: ok
follow it: Operation not permitted
loop: Symbolic link loop
'

# ---- shares inside a share (an emptyDir at /data, a ConfigMap at /data/config, a
# file at /data/hosts), listed child first: the kernel mounts parents first ----
d=$tmp/nest; mkdir -p "$d/data/config" "$d/config" "$d/pod"
printf 'parent\n' >"$d/data/file.txt"; printf 'cm value\n' >"$d/config/key"
printf '10.0.0.1 pod\n' >"$d/pod/etc-hosts"
boot nested microvm '{"args": ["p", "nested"],
  "preopens": [{"guest": "/data", "path": "/data"}],
  "mounts": [{"path": "/data/config", "share": "config", "readonly": true},
             {"path": "/data/hosts", "share": "pod", "entry": "etc-hosts", "readonly": true},
             {"path": "/data", "share": "data"}]}' "data=$d/data" "config=$d/config:ro" "pod=$d/pod"
check nested 'parent file: parent
nested share: cm value
nested file mount: 10.0.0.1 pod
back up: parent
write in nested: Read-only file system
write in parent: ok
rmdir mount point: Resource busy
rename mount point: Resource busy
mkdir over it: File exists
stat mount point: ok dir 1
/data/config: . d
/data/config: .. d
/data/config: key f
'
host_check nested "parent share written, nested share untouched" \
	test "$(cat "$d/data/new.txt")" = ok -a "$(ls "$d/config")" = key

# ---- a missing share is a clear boot error ----
qemu_cmd noshare microvm '{"args": ["p", "ops"], "preopens": [{"guest": "/data", "path": "/data", "share": "nope"}]}'
"${cmd[@]}" >/dev/null 2>&1
case $(grep '^KUMO-EXIT' "$tmp/noshare.3") in
"KUMO-EXIT v=1 status=255 kind=panic msg=boot config: share \`nope\`: no virtio-9p device has this mount tag"*)
	ok "noshare: boot error" ;;
*) bad "noshare: boot error" "$(tail -2 "$tmp/noshare.3")" ;;
esac

# ---- kumo run --dir: the builder's boot config and vmm's argv share it live ----
kumo=$build/bin/kumo wasm=$build/tests/guest/share_probe.wasm
if [ -x "$kumo" ] && [ -f "$wasm" ]; then
	d=$tmp/run; mkdir -p "$d"
	printf 'hello from the host\n' >"$d/hello.txt"
	KUMO_ROOT=$tmp/kumo-root "$kumo" run --dir "$d::/data" "$wasm" ops >"$tmp/run.out" 2>"$tmp/run.err"
	rc=$?
	if [ $rc = 0 ] && grep -qx 'write: ok' "$tmp/run.out" && grep -qx 'renamed: moved' "$tmp/run.out"; then
		ok "kumo run --dir"
	else
		bad "kumo run --dir" "exit $rc" "$(tail -5 "$tmp/run.err")"
	fi
	host_check "kumo run --dir" "guest's writes on the host" \
		test "$(cat "$d/from-guest.txt" 2>/dev/null)" = "written by the guest
and appended"
else
	bad "kumo run --dir" "missing $kumo or $wasm"
fi
finish
