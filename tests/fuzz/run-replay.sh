#!/usr/bin/env bash
# tests/fuzz/run-replay.sh - replays the checked-in fuzz corpus through the gcc build.
here=$(cd "$(dirname "$0")" && pwd)
# corpus/wat: text modules, which kumo_validate() tells from binaries by content.
exec "${BUILD:-build}/fuzz/replay_wasm" "$here/corpus/wasm" "$here/corpus/wat"
