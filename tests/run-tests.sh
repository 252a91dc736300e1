#!/usr/bin/env bash
# tests/run-tests.sh - runs every test tier and prints the closing `N passed, N failed`.
# usage: run-tests.sh "UNIT_DIR..." [SCRIPT...]
#   every executable test_* in each UNIT_DIR is a cmocka binary; each SCRIPT is a tier
#   that ends its output with a line `N passed, N failed`.
set -u
unit_dirs=$1; shift
passed=0; failed=0; broken=()

count_cmocka() { # file -> adds to passed/failed
	local p f
	p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
	f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:handle_segv=0:allow_user_segv_handler=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$(mktemp); trap 'rm -f "$log"' EXIT
# QEMU started by kumo as root runs as this user (vmm/vmm.h "The jail around QEMU").
[ "$(id -u)" != 0 ] || bash "$(dirname "$0")/../deploy/qemu-user.sh"
for d in $unit_dirs; do
	for t in "$d"/test_*; do
		[ -x "$t" ] || continue
		echo "== $t"
		"$t" >"$log" 2>&1; rc=$?
		cat "$log"
		count_cmocka "$log"
		if [ $rc -ne 0 ] && ! grep -qE '^\[  FAILED  \] [0-9]+ test' "$log"; then
			failed=$((failed + 1)); broken+=("$t (exit $rc)")
		fi
	done
done
for s in "$@"; do
	echo "== $s"
	bash "$s" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
	line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1)); broken+=("$s (no result line, exit $rc)")
		continue
	fi
	p=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
	f=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
	passed=$((passed + p)); failed=$((failed + f))
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1)); broken+=("$s (exit $rc)")
	fi
done
for b in "${broken[@]}"; do echo "broken: $b"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
