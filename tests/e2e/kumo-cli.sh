#!/usr/bin/env bash
# tests/e2e/kumo-cli.sh - the habits every `kumo` subcommand keeps (cri/cli/cli.h):
# options before or after the operands, a missing file called missing, an error naming
# its command once, `--version` a whole line (kumod's version), `--help` on stdout.
# Pushes and pulls go to a local docker-registry. Prints `kumo-cli: N passed, N failed`.
set -u
SUITE=kumo-cli
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/kumo-cli.XXXXXX)
SUITE=kumo-cli
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
trap 'registry_stop; rm -rf "$T"' EXIT
# run NAME WANT_RC CMD...: runs CMD, output in $T/out and $T/err; checks the exit status
run() {
	local name=$1 want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; local rc=$?
	eq "$name: exit status" "$rc" "$want"
}
export KUMO_ROOT=$T/root
APP=$BUILD/apps/app_hello.wasm
[ -f "$APP" ] || { bad "test app" "missing $APP (make apps)"; echo "$SUITE: $pass passed, $fail failed"; exit 1; }

# --- --version: one whole line, the same version as kumod's -------------------------------
"$BIN/kumo" --version >"$T/v"
eq "--version ends its line" "$(tail -c1 "$T/v" | od -An -c | tr -d ' ')" '\n'
eq "--version is kumod's" "$(sed 's/^kumo //' "$T/v")" "$("$BIN/kumod" --version | awk '{print $2}')"
eq "version is --version" "$("$BIN/kumo" version)" "$(cat "$T/v")"

# --- a missing file is called missing ----------------------------------------------------------
run "run nosuch.wasm" 125 "$BIN/kumo" run "$T/nosuch.wasm"
eq "run nosuch.wasm says no such file" "$(cat "$T/err")" "kumo run: load \`$T/nosuch.wasm\`: no such file"
run "run --host nosuch.wasm" 125 "$BIN/kumo" run --host "$T/nosuch.wasm"
eq "run --host nosuch.wasm says no such file" "$(cat "$T/err")" "kumo run: load \`$T/nosuch.wasm\`: no such file"
run "kumo-hostrun nosuch.o" 125 "$BIN/kumo-hostrun" "$T/nosuch.o"
eq "kumo-hostrun says no such file" "$(cat "$T/err")" "kumo-hostrun: load \`$T/nosuch.o\`: no such file"
run "compile nosuch.wasm" 125 "$BIN/kumo" compile "$T/nosuch.wasm" -o "$T/x.o"
grep -q "No such file" "$T/err" && ok "compile nosuch.wasm says no such file" || bad "compile nosuch.wasm says no such file" "$(cat "$T/err")"

# --- options after the operands ----------------------------------------------------------------
registry_start open "$T/reg" || { bad "registry starts" "no"; echo "$SUITE: $pass passed, $fail failed"; exit 1; }
REG=127.0.0.1:$REG_PORT
run "push APP REF --insecure-registry HOST" 0 "$BIN/kumo" push "$APP" "$REG/hello:v1" --insecure-registry "$REG"
grep -q "^pushed $REG/hello:v1 sha256:" "$T/out" && ok "push with the option last pushed" || bad "push with the option last pushed" "$(cat "$T/out" "$T/err")"
run "push --artifact after the operands" 0 "$BIN/kumo" push "$APP" "$REG/hello-art:v1" --artifact
run "pull REF --quiet" 0 "$BIN/kumo" pull "$REG/hello:v1" --quiet
grep -qx 'sha256:[0-9a-f]\{64\}' "$T/out" && ok "pull REF --quiet prints the id alone" || bad "pull REF --quiet prints the id alone" "$(cat "$T/out")"
ID=$(cat "$T/out")
run "images -q" 0 "$BIN/kumo" images -q
grep -qF "${ID#sha256:}" "$T/out" && ok "images -q lists the pulled image" || bad "images -q lists the pulled image" "$(cat "$T/out"), want $ID"
run "rmi REF --root DIR" 0 "$BIN/kumo" rmi "$REG/hello:v1" --root "$KUMO_ROOT"
run "images after rmi" 0 "$BIN/kumo" images -q
eq "the image is gone" "$(cat "$T/out")" ""
run "compile APP -o OUT -O1" 0 "$BIN/kumo" compile "$APP" -o "$T/app.o" -O1
[ -s "$T/app.o" ] && ok "compile wrote the object" || bad "compile wrote the object" "empty"

# --- an error names its command once -----------------------------------------------------------
run "pull from nowhere" 125 "$BIN/kumo" pull 127.0.0.1:1/nothing:v1
grep -q '^kumo pull `127.0.0.1:1/nothing:v1`: ' "$T/err" && ok "pull's error starts with its command once" || bad "pull's error starts with its command once" "$(cat "$T/err")"
grep -q 'pull: pull\|pull `.*pull `' "$T/err" && bad "pull's error names it twice" "$(cat "$T/err")" || ok "pull's error names pull once"
run "push to nowhere" 125 "$BIN/kumo" push "$APP" 127.0.0.1:1/nothing:v1
grep -q '^kumo push `' "$T/err" && ok "push's error starts with its command once" || bad "push's error starts with its command once" "$(cat "$T/err")"
grep -q 'push: push' "$T/err" && bad "push's error names it twice" "$(cat "$T/err")" || ok "push's error names push once"
run "build a module that does not exist" 125 "$BIN/kumo" build "$T/nosuch.wasm" -o "$T/out-dir"
grep -q '^kumo build `' "$T/err" && ok "build's error starts with its command once" || bad "build's error starts with its command once" "$(cat "$T/err")"
[ ! -e "$T/out-dir" ] && ok "a failed build leaves no output directory" || bad "a failed build leaves no output directory" "it exists"
run "images from a root that cannot be made" 125 "$BIN/kumo" images --root /proc/nope
grep -qx 'kumo images: .*' "$T/err" && ! grep -q 'images: images' "$T/err" && ok "images' error names images once" || bad "images' error names images once" "$(cat "$T/err")"

# --- --help on stdout, for every command -----------------------------------------------------
for c in run build compile pull push images rmi info; do
	"$BIN/kumo" "$c" --help >"$T/out" 2>"$T/err"; rc=$?
	if [ $rc -eq 0 ] && grep -q "usage: kumo $c" "$T/out" && [ ! -s "$T/err" ]; then ok "$c --help"; else bad "$c --help" "rc $rc, $(head -c 200 "$T/out" "$T/err")"; fi
done

echo "$SUITE: $pass passed, $fail failed"
[ $fail -eq 0 ]
