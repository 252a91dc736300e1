#!/usr/bin/env bash
# tests/guest/mkinitrd.sh - writes a kumo initrd (kernel/boot_abi.h: struct
# kumo_initrd_header, the config JSON, then a ustar rootfs, then a compiled object) for
# tests, without the builder. usage: mkinitrd.sh OUT JSON [ROOTFS.tar|""] [OBJECT.o]
set -eu
out=$1; json=$2; rootfs=${3:-}; object=${4:-}
le() { # value bytes -> little-endian binary on stdout
	local v=$1 n=$2 i
	for ((i = 0; i < n; i++)); do printf "\\$(printf '%03o' $(((v >> (8 * i)) & 255)))"; done
}
clen=$(printf '%s' "$json" | wc -c)
rlen=0; [ -n "$rootfs" ] && rlen=$(stat -c %s "$rootfs")
olen=0; [ -n "$object" ] && olen=$(stat -c %s "$object")
roff=$(( (72 + clen + 7) / 8 * 8 ))
ooff=0; [ "$olen" -gt 0 ] && ooff=$(( (roff + rlen + 7) / 8 * 8 ))
version=1; [ "$olen" -gt 0 ] && version=3
{
	printf 'KUMOBOOT'; le "$version" 4; le 72 4; le 72 8; le "$clen" 8; le "$roff" 8; le "$rlen" 8
	le "$ooff" 8; le "$olen" 8; le 0 8
	printf '%s' "$json"
	head -c $((roff - 72 - clen)) /dev/zero
	if [ -n "$rootfs" ]; then cat "$rootfs"; fi
	if [ "$olen" -gt 0 ]; then
		head -c $((ooff - roff - rlen)) /dev/zero
		cat "$object"
	fi
} >"$out"
