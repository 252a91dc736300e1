#!/usr/bin/env bash
# tests/fuzz/replay-targets.sh - replays the checked-in corpus of every fuzz target but the
# Wasm front end's (run-replay.sh) through its plain build (build/fuzz/replay_<target>,
# no libFuzzer): each file, its truncations and byte flips (fuzz_replay_main.h). A crash,
# a sanitizer report or a failed check inside the target fails it. Prints one line per
# target, then `fuzz-targets: N passed, N failed`.
here=$(cd "$(dirname "$0")" && pwd)
b=${BUILD:-build}
targets=${*:-reference manifest cri tar registry config bootcfg cni p9 snapshot}
p=0; f=0
for t in $targets; do
	if [ ! -d "$here/corpus/$t" ]; then
		echo "$t: no corpus at tests/fuzz/corpus/$t"
		f=$((f + 1))
		continue
	fi
	if ! line=$("$b/fuzz/replay_$t" "$here/corpus/$t" 2>&1 | tail -1) ||
		! [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		echo "$t: replay crashed: $line"
		f=$((f + 1))
		continue
	fi
	echo "$line"
	p=$((p + BASH_REMATCH[1]))
	f=$((f + BASH_REMATCH[2]))
done
echo "fuzz-targets: $p passed, $f failed"
[ "$f" -eq 0 ]
