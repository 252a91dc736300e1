#!/usr/bin/env bash
# tests/e2e/kumo-run-host.sh - `kumo run --host` end to end: exit codes, stdout,
# traps, argv/env/preopens, errors. Modules: the hand-written fake module (as .o and
# .so) and small .wat files compiled by kumo's compiler. Closes with `N passed, N failed`.
set -u
SUITE=run-host
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
BUILD=${BUILD:-build}
KUMO=$BUILD/bin/kumo
HOSTRUN=$BUILD/bin/kumo-hostrun
FAKE_O=$BUILD/host/tests/unit/fakemod.o
FAKE_SO=$BUILD/tests/fakemod.so
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# check NAME WANT_EXIT WANT_STDOUT WANT_STDERR_SUBSTRING -- CMD...
check() {
	local name=$1 want_rc=$2 want_out=$3 want_err=$4; shift 5
	"$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
	local out; out=$(cat "$tmp/out")
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] &&
		{ [ -z "$want_err" ] || grep -qF -- "$want_err" "$tmp/err"; }; then
		pass=$((pass + 1)); echo "ok   $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name: exit $rc (want $want_rc), stdout '$out' (want '$want_out')"
		sed 's/^/     stderr: /' "$tmp/err"
	fi
}

check "fake .o: stdout and proc_exit(7)" 7 "hello from the fake module" "" -- "$KUMO" run --host "$FAKE_O"
check "fake .so" 7 "hello from the fake module" "" -- "$KUMO" run --host "$FAKE_SO" -- x y
check "an object without --host" 125 "" "objects and .so files run with --host" -- "$KUMO" run "$FAKE_O"
check "missing file" 125 "" "load \`$tmp/nope.o\`" -- "$KUMO" run --host "$tmp/nope.o"
check "bad --mem" 2 "" "bad --mem" -- "$KUMO" run --host --mem 12Q "$FAKE_O"
check "bad --dir" 125 "" "open directory \`$tmp/nodir\`" -- "$KUMO" run --host --dir "$tmp/nodir::/d" "$FAKE_O"
check "no args" 2 "" "usage" -- "$KUMO" run
check "kumo-hostrun .so" 7 "hello from the fake module" "" -- "$HOSTRUN" "$FAKE_SO"
check "kumo-hostrun .o" 7 "hello from the fake module" "" -- "$HOSTRUN" --host "$FAKE_O" -- a

if command -v wat2wasm >/dev/null; then
	cat >"$tmp/trap.wat" <<'WAT'
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
WAT
	cat >"$tmp/exit.wat" <<'WAT'
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; exit code = argc * 10 + number of preopened-or-not fds is not needed: argc * 10
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (call $exit (i32.mul (i32.load (i32.const 0)) (i32.const 10)))))
WAT
	cat >"$tmp/oob.wat" <<'WAT'
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.load (i32.const 70000)))))
WAT
	cat >"$tmp/grow.wat" <<'WAT'
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; exits with 1 when growing by 2 pages fails (the --mem cap), 0 otherwise
  (func (export "_start")
    (call $exit (i32.eq (memory.grow (i32.const 2)) (i32.const -1)))))
WAT
	cat >"$tmp/import.wat" <<'WAT'
(module
  (import "env" "missing" (func))
  (memory (export "memory") 1)
  (func (export "_start")))
WAT
	for w in trap exit oob grow import; do wat2wasm "$tmp/$w.wat" -o "$tmp/$w.wasm"; done
	check "trap: unreachable" 134 "" "kumo: trap: unreachable" -- "$KUMO" run --host "$tmp/trap.wasm"
	check "trap: out of bounds (guard page)" 134 "" "kumo: trap: out of bounds memory access" -- "$KUMO" run --host "$tmp/oob.wasm"
	check "trap: out of bounds (bounds checks)" 134 "" "kumo: trap: out of bounds memory access" -- "$KUMO" run --host --bounds-checks "$tmp/oob.wasm"
	check "args reach the app" 30 "" "" -- "$KUMO" run --host "$tmp/exit.wasm" -- a b
	check "-- is optional" 20 "" "" -- "$KUMO" run --host "$tmp/exit.wasm" a
	check "memory.grow within limits" 0 "" "" -- "$KUMO" run --host "$tmp/grow.wasm"
	check "--mem caps memory.grow" 1 "" "" -- "$KUMO" run --host --mem 128K "$tmp/grow.wasm"
	check "unknown import" 125 "" "unknown import \`env.missing\`" -- "$KUMO" run --host "$tmp/import.wasm"
	check "kumo-hostrun refuses .wasm" 125 "" "compile it first" -- "$HOSTRUN" "$tmp/trap.wasm"
	check "text (.wat) is compiled too" 134 "" "kumo: trap: unreachable" -- "$KUMO" run --host "$tmp/trap.wat"
	echo "not wasm" >"$tmp/junk.txt"
	check "not a module" 125 "" "load \`$tmp/junk.txt\`" -- "$KUMO" run --host "$tmp/junk.txt"
else
	echo "skip: wat2wasm (wabt) not installed: the .wat cases did not run"
fi
finish
