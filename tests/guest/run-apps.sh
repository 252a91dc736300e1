#!/usr/bin/env bash
# tests/guest/run-apps.sh - guest test tier: runs every case of tests/apps/cases.list under
# each runner present and checks stdout byte for byte and the exit code.
# usage: run-apps.sh [CASE-FILTER]      (env: BUILD=build, APPS_RUNNERS="node kumo-host kumo-vm")
# Runners (each detected at run time, skipped with a note when absent):
#   node       Node 20's node:wasi through tests/apps/node-wasi.mjs (a second opinion;
#              node has no spec trap names, so a trap case only needs a non-zero exit)
#   kumo-host  build/bin/kumo run --host  (a trap: exit 134 and the trap message on stderr);
#              when `kumo run --host` accepts a compiled object, each app is compiled
#              once with `kumo compile` into $BUILD/apps/kumo/ (reused while newer than
#              both the .wasm and kumo) and the object is run; else the .wasm is run
#   kumo-vm    build/bin/kumo run          (same checks, the app booted as a VM; present
#              unless `kumo run` says the unikernel is "not built yet")
# Prints one line per failure and closes with `apps: N passed, N failed`.
set -u
SUITE=apps
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
apps_dir=$build/apps
kumo=$build/bin/kumo
filter=${1:-}
trap_exit=134 # KUMO_EXIT_TRAP in cri/cli/cli.h
case_timeout=${APPS_TIMEOUT:-20}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- runners: each is a function NAME_cmd printing nothing, filling the array `cmd`
# with the command line for (wasm, options...), `--`, args are appended by the caller.
runners=()
want=${APPS_RUNNERS:-node kumo-host kumo-vm}

have_node() {
	command -v node >/dev/null 2>&1 || return 1
	local major
	major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
	[ "${major:-0}" -ge 20 ]
}

# `kumo help` must list `run`, and `kumo run --help` must mention the option.
kumo_run_supports() {
	[ -x "$kumo" ] || return 1
	"$kumo" help 2>/dev/null | grep -qE '^\s+run\b' || return 1
	"$kumo" run --help 2>&1 | grep -q -- "$1"
}

kumo_vm_present() {
	kumo_run_supports "" || return 1
	local err rc
	err=$(timeout -k 5 "$case_timeout" "$kumo" run "$apps_dir/app_hello.wasm" </dev/null 2>&1 >/dev/null)
	rc=$?
	! { [ $rc = 125 ] && [[ $err == *"not built yet"* ]]; }
}

for r in $want; do
	case $r in
	node)
		if have_node; then runners+=(node); else echo "node 20 not found: node runner skipped"; fi ;;
	kumo-host)
		if kumo_run_supports --host; then runners+=(kumo-host); else echo "kumo hosted runner not built yet"; fi ;;
	kumo-vm)
		# No option tells the VM runner apart, so ask it: `kumo run` without --host
		# fails with KUMO_EXIT_FAILURE and says "not built yet" while the unikernel is
		# missing. Any other answer counts, so a broken VM path shows as failures.
		if kumo_vm_present; then runners+=(kumo-vm); else echo "kumo VM runner not built yet"; fi ;;
	*) echo "unknown runner \`$r\`"; fail=$((fail + 1)) ;;
	esac
done

# kumo-host: run precompiled objects when kumo accepts them (compiling every case again
# would cost seconds each). Decided once, on the hello app.
host_objects=0
objdir=$apps_dir/kumo
kumo_object() { # WASM -> prints the object path, or fails (compile error on stderr)
	local wasm=$1 obj
	obj=$objdir/$(basename "$wasm" .wasm).o
	if [ ! "$obj" -nt "$wasm" ] || [ ! "$obj" -nt "$kumo" ]; then
		mkdir -p "$objdir"
		"$kumo" compile "$wasm" -o "$obj" >&2 || return 1
	fi
	echo "$obj"
}
if [[ " ${runners[*]} " == *" kumo-host "* ]] && "$kumo" help 2>/dev/null | grep -qE '^\s+compile\b'; then
	if obj=$(kumo_object "$apps_dir/app_hello.wasm" 2>/dev/null) &&
		"$kumo" run --host "$obj" </dev/null 2>/dev/null | cmp -s - "$here/../apps/expected/hello.default.out"; then
		host_objects=1
		echo "kumo-host: running objects compiled by kumo compile"
		# Compile the rest two at a time up front (errors show again at their cases).
		for w in "$apps_dir"/app_*.wasm; do
			kumo_object "$w" >/dev/null 2>&1 &
			while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
		done
		wait
	fi
fi

# run_case RUNNER WASM OUT ERR CODEFILE OPTIONS... -- ARGS...
run_case() {
	local runner=$1 wasm=$2 out=$3 err=$4 codefile=$5
	shift 5
	local -a cmd
	case $runner in
	node) cmd=(node --no-warnings "$here/../apps/node-wasi.mjs") ;;
	kumo-host)
		if [ $host_objects = 1 ]; then
			local obj
			if ! obj=$(kumo_object "$wasm" 2>"$err"); then
				: >"$out"
				echo 125 >"$codefile"
				return
			fi
			wasm=$obj
		fi
		cmd=("$kumo" run --host) ;;
	kumo-vm) cmd=("$kumo" run) ;;
	esac
	# Runner options go before the module (`kumo run --host [OPTIONS] APP -- ARGS`),
	# the form every getopt style accepts.
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		cmd+=("$1")
		shift
	done
	timeout -k 5 "$case_timeout" "${cmd[@]}" "$wasm" "$@" </dev/null >"$out" 2>"$err"
	echo $? >"$codefile"
}

check() { # RUNNER NAME: compares the last run against the expected files
	local runner=$1 name=$2 app=$3 kase=$4
	local exp_out=$here/../apps/expected/$app.$kase.out exp_code
	exp_code=$(cat "$here/../apps/expected/$app.$kase.code" 2>/dev/null)
	local code why=""
	code=$(cat "$work/code")
	if [ ! -f "$exp_out" ] || [ -z "$exp_code" ]; then
		why="no expected files for $name"
	elif [ "$code" = 124 ] || [ "$code" = 137 ]; then
		why="timed out after ${case_timeout}s"
	elif [[ $exp_code == trap:* ]]; then
		local msg=${exp_code#trap: }
		if [ "$runner" = node ]; then
			[ "$code" -ne 0 ] || why="exit 0, expected a trap ($msg)"
		else
			[ "$code" = "$trap_exit" ] || why="exit $code, expected $trap_exit for trap \`$msg\`"
			[ -n "$why" ] || grep -qF -- "$msg" "$work/err" || why="stderr does not name the trap \`$msg\`"
		fi
	else
		[ "$code" = "$exp_code" ] || why="exit $code, expected $exp_code"
	fi
	if [ -z "$why" ] && ! cmp -s "$exp_out" "$work/out"; then
		why="stdout differs"
	fi
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		return
	fi
	fail=$((fail + 1))
	echo "FAIL [$runner] $name: $why"
	if [ "$why" = "stdout differs" ]; then
		diff -u --label expected --label actual "$exp_out" "$work/out" | head -20 | sed 's/^/    /'
	fi
	head -c 600 "$work/err" | sed 's/^/    stderr: /'
}

ncases=0
while IFS= read -r line; do
	case $line in '' | '#'*) continue ;; esac
	eval "set -- $line"
	app=$1 kase=$2
	shift 2
	name=$app.$kase
	if [ -n "$filter" ] && [[ $name != *$filter* ]]; then continue; fi
	ncases=$((ncases + 1))
	wasm=$apps_dir/app_$app.wasm
	if [ ! -f "$wasm" ]; then
		echo "FAIL $name: $wasm not built (make apps)"
		fail=$((fail + ${#runners[@]}))
		continue
	fi
	for runner in "${runners[@]}"; do
		if [ "$runner" = node ]; then
			why=$(awk -v c="$name" '$1 == c { $1 = ""; sub(/^ /, ""); print }' "$here/../apps/node-known.list")
			if [ -n "$why" ]; then
				echo "skip [node] $name: $why"
				continue
			fi
		fi
		sandbox=$work/sandbox
		rm -rf "$sandbox"
		opts=()
		for a in "$@"; do
			if [ "$a" = @dir ]; then
				mkdir -p "$sandbox"
				[ -d "$here/../apps/fixtures/$app" ] && cp -R "$here/../apps/fixtures/$app/." "$sandbox/"
				opts+=(--dir "$sandbox::/sandbox")
			else
				opts+=("$a")
			fi
		done
		run_case "$runner" "$wasm" "$work/out" "$work/err" "$work/code" "${opts[@]}"
		check "$runner" "$name" "$app" "$kase"
	done
done <"$here/../apps/cases.list"

echo "apps: ${#runners[@]} runner(s) [${runners[*]}], $ncases case(s)"
finish
