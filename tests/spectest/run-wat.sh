#!/usr/bin/env bash
# tests/spectest/run-wat.sh - kumo's text front end against wabt's wat2wasm: every text
# module in the repo (tests/apps/*.wat, the modules of tests/spectest/wast/*.wast, or the
# .wat/.wast files given as arguments) is assembled by both; the binaries must be equal,
# or decode to the same module (wasm2wat dumps of both compared). A module wabt refuses
# must be refused by kumo too. Ends with `wat: N passed, N failed`.
set -u
SUITE=wat
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-build}
kumo=$build/spectest/kumo-wat2wasm
out=$build/spectest/wat
rm -rf "$out"; mkdir -p "$out/mods"
if [ $# -eq 0 ]; then
	set -- "$here"/../apps/*.wat "$here"/wast/*.wast
fi
wasts=()
for f in "$@"; do
	case $f in
	*.wast) wasts+=("$f") ;;
	*) cp "$f" "$out/mods/" ;;
	esac
done
[ ${#wasts[@]} -gt 0 ] && python3 "$here/wast-modules.py" "$out/mods" "${wasts[@]}"
for f in "$out"/mods/*.wat; do
	flags=
	case $f in *.invalid.wat) flags=--no-check ;; esac
	if ! wat2wasm $flags "$f" -o "$out/w.wasm" 2>"$out/w.err"; then
		if "$kumo" $flags "$f" -o "$out/k.wasm" 2>/dev/null; then
			echo "FAIL $f: wabt refuses it, kumo accepts it: $(head -1 "$out/w.err")"
			fail=$((fail + 1))
		else
			pass=$((pass + 1))
		fi
		continue
	fi
	if ! "$kumo" $flags "$f" -o "$out/k.wasm" 2>"$out/k.err"; then
		echo "FAIL $f: kumo refuses it: $(head -1 "$out/k.err")"
		fail=$((fail + 1))
		continue
	fi
	if cmp -s "$out/k.wasm" "$out/w.wasm"; then
		pass=$((pass + 1))
		continue
	fi
	wasm2wat --no-check "$out/k.wasm" >"$out/k.txt" 2>&1
	wasm2wat --no-check "$out/w.wasm" >"$out/w.txt" 2>&1
	if cmp -s "$out/k.txt" "$out/w.txt"; then
		pass=$((pass + 1))
	else
		echo "FAIL $f: the binaries decode to different modules:"
		diff "$out/w.txt" "$out/k.txt" | head -10
		fail=$((fail + 1))
	fi
done
finish
