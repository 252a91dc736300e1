# tests/lib/testlib.sh - the one shell library of kumo's test scripts (sourced; a script
# holds only its checks). Sibling files add the daemons: registry.sh (docker-registry),
# cri.sh (kumod and its CRI client), containerd.sh, kubelet.sh.
#
# Counting: a script sets SUITE (the name on its closing line), then
#   ok NAME                 a check passed          ("ok   NAME")
#   bad NAME [WHY...]       a check failed          ("FAIL NAME: WHY", more lines indented)
#   skip NAME WHY           a check could not run   ("skip NAME: WHY"; counted apart)
#   eq NAME GOT WANT        ok when GOT = WANT, else bad saying both
#   finish                  prints "SUITE: N passed, N failed" (tests/run-tests.sh reads
#                           it) and exits 0 when nothing failed, 1 otherwise
# Temporary things:
#   test_tmpdir [PREFIX]    sets T to a new directory, removed at exit
#   at_exit CMD...          runs CMD at exit (before the ones added before it), also on
#                           a signal; test_tmpdir's removal runs last
# The accelerator:
#   kumo_accel [BUILD]      sets $accel (kvm|tcg) and $accel_why from kumo's own verdict
#                           (`kumo info -o json accel`: KVM only when kumo's kernel,
#                           probed under KVM, reported back, exactly as `kumo run` and
#                           kumod decide); KUMO_TEST_ACCEL=kvm|tcg forces it; tcg when
#                           kumo cannot say (not built)
# A guest:
#   guest_boot NAME KERNEL [--initrd FILE] [--mem MIB] [--append WORDS] [--qemu WORDS]
#                           boots KERNEL through vmm (the tests' vmm tool: vmm_create,
#                           QEMU's command line from vmm_qemu_argv, the accelerator
#                           above), in $GUEST_DIR (default $T): NAME.1/.2/.3 are COM1,
#                           COM2 and COM3 (stdout, stderr, kernel log and exit record),
#                           NAME.rc is 0 when the VM ran to its end (any end: the
#                           record says which), NAME.out what the tool said. --qemu
#                           adds QEMU options after vmm's (KUMO_VM_QEMU_ARGS).
#   guest_boot_machine NAME MACHINE KERNEL [QEMU OPTIONS...]
#                           a machine vmm does not make (pc, q35 with qboot; one
#                           serial port with ONE_SERIAL=1): the one place a test starts
#                           QEMU itself; the same NAME.* files

# QEMU processes:
#   qemu_pids DIR           pids of QEMU processes of VMs under DIR: working in a run
#                           directory below it (kumo's QEMU works in its VM's run
#                           directory and opens files through fds), or naming DIR on
#                           their command line

pass=0
fail=0
skipped=0
SUITE=${SUITE:-$(basename "$0" .sh)}

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
	local name=$1
	shift
	fail=$((fail + 1))
	echo "FAIL $name${1:+: $1}"
	[ $# -gt 0 ] && shift
	local l
	for l in "$@"; do echo "     $l"; done
	return 0
}
skip() { skipped=$((skipped + 1)); echo "skip $1: $2"; }
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got \`$2\`, want \`$3\`"; fi; }
finish() {
	[ "$skipped" -gt 0 ] && echo "$SUITE: $skipped skipped"
	echo "$SUITE: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

# The EXIT trap is the library's once at_exit or test_tmpdir is used (a script with a
# trap of its own uses neither).
_at_exit_cmds=()
_testlib_exit() {
	local i
	for ((i = ${#_at_exit_cmds[@]} - 1; i >= 0; i--)); do eval "${_at_exit_cmds[i]}"; done
}
at_exit() {
	_at_exit_cmds+=("$*")
	trap _testlib_exit EXIT
	trap 'exit 1' INT TERM
}
test_tmpdir() {
	T=$(mktemp -d "/tmp/${1:-kumo-test}.XXXXXX")
	_at_exit_cmds=("rm -rf '$T'" "${_at_exit_cmds[@]}")
	trap _testlib_exit EXIT
	trap 'exit 1' INT TERM
}

qemu_pids() {
	local p cwd
	for p in $(pgrep -f qemu-system); do
		cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
		case "$cwd/" in
		"$1"/*) echo "$p" ;;
		*) if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$1"; then echo "$p"; fi ;;
		esac
	done
}

kumo_accel() {
	local build=${1:-${BUILD:-build}} json
	if [ -n "${KUMO_TEST_ACCEL:-}" ]; then
		accel=$KUMO_TEST_ACCEL
		accel_why="accel: $accel (KUMO_TEST_ACCEL)"
		return 0
	fi
	accel=tcg
	accel_why="accel: tcg (kumo info failed: is $build/bin/kumo built?)"
	json=$("$build/bin/kumo" info -o json accel 2>/dev/null) || return 0
	case $(jq -r '.accel.name' <<<"$json") in
	kvm) accel=kvm ;;
	*) accel=tcg ;;
	esac
	accel_why=$(jq -r '.accel.line' <<<"$json")
}

guest_boot() {
	local name=$1 kernel=$2 dir=${GUEST_DIR:-$T} build=${BUILD:-build}
	shift 2
	local opts=() qemu= mem=64 append=
	while [ $# -gt 0 ]; do
		case $1 in
		--initrd) opts+=(--initrd "$2"); shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--append) append=$2; shift 2 ;;
		--qemu) qemu=$2; shift 2 ;;
		*) echo "guest_boot: unknown option $1" >&2; return 2 ;;
		esac
	done
	[ -n "${accel:-}" ] || kumo_accel "$build"
	local run=$dir/$name.vm
	rm -rf "$run"
	KUMO_VM_QEMU_ARGS=$qemu timeout -k 5 "${GUEST_TIMEOUT:-60}" "$build/tests/support/vmm-tool" run \
		--accel "$accel" --name "kumo-guest-$name-$$" --dir "$run" --mem "$mem" "${opts[@]}" \
		"$kernel" "$append" >"$dir/$name.out" 2>&1
	local rc=$?
	cp "$run/stdout.raw" "$dir/$name.1" 2>/dev/null || : >"$dir/$name.1"
	cp "$run/stderr.raw" "$dir/$name.2" 2>/dev/null || : >"$dir/$name.2"
	cp "$run/exit.raw" "$dir/$name.3" 2>/dev/null || : >"$dir/$name.3"
	cp "$run/qemu.log" "$dir/$name.qemu" 2>/dev/null || : >"$dir/$name.qemu"
	# Ran to its end: the tool says how it ended (the record is the test's business).
	if grep -q '^vmm-tool: exit ' "$dir/$name.out"; then echo 0; else echo "$rc"; fi >"$dir/$name.rc"
}

guest_boot_machine() {
	local name=$1 machine=$2 kernel=$3 dir=${GUEST_DIR:-$T}
	shift 3
	[ -n "${accel:-}" ] || kumo_accel "${BUILD:-build}"
	local serials=(-serial "file:$dir/$name.1" -serial "file:$dir/$name.2" -serial "file:$dir/$name.3")
	local m=(-M "$machine")
	[ "$machine" = microvm ] || m+=(-bios /usr/share/qemu/qboot.rom)
	if [ "${ONE_SERIAL:-}" = 1 ]; then
		serials=(-serial "file:$dir/$name.1")
		: >"$dir/$name.2"
		: >"$dir/$name.3"
	fi
	timeout 60 qemu-system-x86_64 "${m[@]}" -accel "$accel" -m "${MEM:-64}" -display none \
		-no-reboot -nodefaults "${serials[@]}" -kernel "$kernel" "$@" >"$dir/$name.qemu" 2>&1
	echo $? >"$dir/$name.rc"
}

# QEMU started by kumo as root runs as this user (vmm/vmm.h "The jail around QEMU").
if [ "$(id -u)" = 0 ] && ! getent passwd kumo-qemu >/dev/null; then
	bash "$(dirname "${BASH_SOURCE[0]}")/../../deploy/qemu-user.sh"
fi
