#!/usr/bin/env bash
# tests/fuzz/replay-imagestore.sh - replays imagestore's fuzz corpora (references, manifests)
# through the gcc build; prints `fuzz-imagestore: N passed, N failed`.
here=$(cd "$(dirname "$0")" && pwd)
b=${BUILD:-build}
p=0; f=0
for t in reference manifest; do
	line=$("$b/fuzz/replay_$t" "$here/corpus/$t" | tail -1) || f=$((f + 1))
	echo "$line"
	p=$((p + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
	f=$((f + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
done
echo "fuzz-imagestore: $p passed, $f failed"
[ "$f" -eq 0 ]
