#!/usr/bin/env bash
# tests/e2e/vmm-libvirt.sh - the libvirt backend's lifecycle tests
# (tests/e2e/libvirt_lifecycle.c) against a libvirtd that deploy/start-libvirtd.sh
# starts when none runs; daemons this script started are stopped at the end.
# Prints `libvirt: N passed, N failed`.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
BUILD=${BUILD:-build}
bin=$BUILD/tests/e2e/vmm-libvirt-test
started_here=0
if ! bash deploy/start-libvirtd.sh --status 2>/dev/null; then started_here=1; fi
if ! bash deploy/start-libvirtd.sh; then
	echo "libvirt: 0 passed, 1 failed"
	exit 1
fi
log=$(mktemp)
KUMO_VMM_FIXTURE=$root/$BUILD/tests/support/pvh-fixture.elf \
KUMO_TEST_KUMO_KERNEL=$root/$BUILD/tests/guest/payload.elf \
KUMO_START_LIBVIRTD=$root/deploy/start-libvirtd.sh \
	"$bin" >"$log" 2>&1
rc=$?
cat "$log"
p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | head -1)
f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | head -1)
p=${p:-0}; f=${f:-0}
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
rm -f "$log"
# Leave no test domain behind, whatever happened above.
for d in $(virsh -q -c qemu:///system list --all --name 2>/dev/null | grep '^kumo-test-'); do
	virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1
done
if [ $started_here -eq 1 ]; then bash deploy/start-libvirtd.sh --stop; fi
echo "libvirt: $p passed, $f failed"
[ "$f" -eq 0 ]
