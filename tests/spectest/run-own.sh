#!/usr/bin/env bash
# tests/spectest/run-own.sh - converts our own .wast files (tests/spectest/wast/) with
# wabt's wast2json and runs them through kumo-spectest; ends with `spectest: N passed, N failed`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-build}
out=$build/spectest/own
rm -rf "$out"; mkdir -p "$out"
conv_failed=0
for w in "$here"/wast/*.wast; do
	n=$(basename "$w" .wast)
	mkdir -p "$out/$n"
	if ! (cd "$out/$n" && wast2json "$w" -o "$n.json"); then
		echo "wast2json failed on $w"; conv_failed=$((conv_failed + 1))
	fi
done
"$build/spectest/kumo-spectest" -v --timeout 60 "$out" | tee "$out/result.txt"
line=$(tail -1 "$out/result.txt")
p=$(echo "$line" | sed -E 's/^spectest: ([0-9]+) passed, ([0-9]+) failed.*/\1/')
f=$(echo "$line" | sed -E 's/^spectest: ([0-9]+) passed, ([0-9]+) failed.*/\2/')
# A valid module that does not load is a failure too.
mods=$(grep -E '^modules: ' "$out/result.txt" | tail -1)
mp=$(echo "$mods" | sed -E 's/^modules: ([0-9]+) ok, ([0-9]+) failed.*/\1/')
mf=$(echo "$mods" | sed -E 's/^modules: ([0-9]+) ok, ([0-9]+) failed.*/\2/')
failed=$((f + mf + conv_failed))
echo "spectest: $((p + mp)) passed, $failed failed"
[ "$failed" -eq 0 ]
