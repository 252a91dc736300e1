#!/usr/bin/env bash
# tests/unit/check-deps.sh - who may depend on whom (ARCHITECTURE.md), checked on the
# includes: no include from vmm/ into compiler/, from builder/ into cri/ or vmm/, from
# the kernel into any host folder (cri imagestore builder vmm common), from imagestore/
# into vmm/ or builder/; and the boundary headers (kernel/boot_abi.h, kernel/pod_abi.h,
# compiler/abi.h) include only one another. kernel/hosted/ is the one part of kernel/
# that runs on the host (the hosted platform behind `kumo run --host`): it may use
# common/, nothing else host-side. Prints `deps: N passed, N failed`.
set -u
SUITE=deps
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
cd "$(dirname "$0")/../.."

# includes FILES...: the quoted includes of FILES, one "file: header" a line
includes() { grep -Ho '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"' "$@" 2>/dev/null |
	sed -E 's/:[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)"/: \1/'; }
# rule NAME FROM_GLOB... -- FORBIDDEN_REGEX: no include of FROM matches the regex
rule() {
	local name=$1 files=() re
	shift
	while [ "$1" != -- ]; do files+=("$1"); shift; done
	re=$2
	local hits
	hits=$(includes "${files[@]}" | grep -E ": ($re)" || true)
	if [ -z "$hits" ]; then ok "$name"; else bad "$name" "$(head -5 <<<"$hits")"; fi
}
shopt -s globstar nullglob
rule "vmm/ includes nothing of compiler/" vmm/**/*.[ch] -- 'compiler/'
rule "builder/ includes nothing of cri/ or vmm/" builder/**/*.[ch] -- '(cri|vmm)/'
rule "imagestore/ includes nothing of vmm/ or builder/" imagestore/**/*.[ch] -- '(vmm|builder)/'
kernel_proper=()
for f in kernel/**/*.[chS]; do case $f in kernel/hosted/*) ;; *) kernel_proper+=("$f") ;; esac; done
rule "the kernel includes no host folder" "${kernel_proper[@]}" -- '(cri|imagestore|builder|vmm|common)/|common\.h'
rule "kernel/hosted uses no host folder but common/" kernel/hosted/*.[ch] -- '(cri|imagestore|builder|vmm)/'
rule "compiler/ includes nothing of the daemon, images, VMs or builds" compiler/**/*.[ch] -- '(cri|imagestore|builder|vmm)/'
rule "the boundary headers include only boundary headers" kernel/boot_abi.h kernel/pod_abi.h compiler/abi.h -- \
	'(cri|imagestore|builder|vmm|common|kernel/os|kernel/rt|kernel/wasi|kernel/hosted|kernel/arch)/|common\.h'
# The rules above must be able to fail: a planted include is caught.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#include "compiler/abi.h"\n' >"$tmp/planted.c"
if includes "$tmp/planted.c" | grep -qE ': (compiler/)'; then ok "a planted include is seen"; else bad "a planted include is seen" "not matched"; fi
finish
