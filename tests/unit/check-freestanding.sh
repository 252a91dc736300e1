#!/usr/bin/env bash
# tests/unit/check-freestanding.sh - kernel/rt and kernel/wasi must build for the
# unikernel: each file compiles freestanding (no libc headers, no red zone, kernel code
# model) and the objects need nothing beyond the platform interface
# (kernel/rt/rt_platform.h), each other, and memcpy/memmove/memset/memcmp/strlen.
set -u
SUITE=freestanding
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
CLANG=${CLANG:-clang-19}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for f in kernel/rt/*.c kernel/wasi/*.c; do
	o=$tmp/$(basename "$f" .c).o
	if $CLANG --target=x86_64-unknown-none -ffreestanding -nostdlibinc -fno-builtin \
		-mno-red-zone -mcmodel=kernel -std=gnu11 -O2 -Wall -Wextra -Werror \
		-Wno-unused-parameter -I. -c "$f" -o "$o"; then
		pass=$((pass + 1)); echo "ok   $f"
	else
		fail=$((fail + 1)); echo "FAIL $f"
	fi
done
# Undefined symbols the objects need from outside kernel/rt and kernel/wasi.
defined=$(nm --defined-only "$tmp"/*.o 2>/dev/null | awk 'NF==3 {print $3}' | sort -u)
extra=$(nm -u "$tmp"/*.o 2>/dev/null | awk 'NF==2 {print $2}' | sort -u |
	grep -vxF -f <(echo "$defined") |
	grep -vE '^(kumo_plat_[a-z_]+|memcpy|memmove|memset|memcmp|strlen)$')
if [ -z "$extra" ]; then
	pass=$((pass + 1)); echo "ok   only platform symbols are needed"
else
	fail=$((fail + 1)); echo "FAIL needs symbols outside the platform interface:"; echo "$extra"
fi
finish
