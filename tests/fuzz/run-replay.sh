#!/usr/bin/env bash
# tests/fuzz/run-replay.sh - replays the checked-in fuzz corpus through the gcc build.
here=$(cd "$(dirname "$0")" && pwd)
exec "${BUILD:-build}/fuzz/replay_wasm" "$here/corpus/wasm"
