#!/usr/bin/env bash
# tests/fuzz/replay-kload.sh - replays the kernel linker's fuzz target (gcc build) over
# the objects the pod tier links (tests/pod/pod.mk: compiled at build time, so always of
# the current ABI), each also truncated and with flipped bytes; prints
# `fuzz-kload: N passed, N failed`.
b=${BUILD:-build}
objs=("$b"/tests/pod/*.o)
[ -e "${objs[0]}" ] || { echo "fuzz-kload: 0 passed, 1 failed (no objects: make test-prereqs)"; exit 1; }
line=$("$b/fuzz/replay_kload" "${objs[@]}" | tail -1)
echo "$line"
p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
echo "fuzz-kload: $p passed, $f failed"
[ "$f" -eq 0 ]
