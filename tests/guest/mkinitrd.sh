#!/usr/bin/env bash
# tests/guest/mkinitrd.sh - writes a kumo initrd (kernel/boot_abi.h: struct
# kumo_initrd_header, the config JSON, then a ustar rootfs) for tests, without the
# builder. usage: mkinitrd.sh OUT JSON [ROOTFS.tar]
set -eu
out=$1; json=$2; rootfs=${3:-}
le() { # value bytes -> little-endian binary on stdout
	local v=$1 n=$2 i
	for ((i = 0; i < n; i++)); do printf "\\$(printf '%03o' $(((v >> (8 * i)) & 255)))"; done
}
clen=$(printf '%s' "$json" | wc -c)
rlen=0; [ -n "$rootfs" ] && rlen=$(stat -c %s "$rootfs")
roff=$(( (72 + clen + 7) / 8 * 8 ))
{
	printf 'KUMOBOOT'; le 1 4; le 72 4; le 72 8; le "$clen" 8; le "$roff" 8; le "$rlen" 8
	le 0 8; le 0 8; le 0 8
	printf '%s' "$json"
	head -c $((roff - 72 - clen)) /dev/zero
	if [ -n "$rootfs" ]; then cat "$rootfs"; fi
} >"$out"
