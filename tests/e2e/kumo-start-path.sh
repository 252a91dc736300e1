#!/usr/bin/env bash
# tests/e2e/kumo-start-path.sh - what a cache-hit `kumo run` does not do (issue 20): kumo
# and kumod do not link libLLVM and no process of a cache-hit run loads it (LD_DEBUG);
# every compile of theirs runs in the worker program kumo-compile, which does load it,
# under the compile budget when one is set (memory and CPU) and with none otherwise;
# a missing worker is an error naming where it was looked for; file digests (the kernel
# library, its linker script, a module given no digest) are hashed once per version of
# the file, and a changed file is hashed again (a new kernel id: a new image is linked).
# kumo links no library a cache-hit run does not call (libvirt, libcurl, libarchive,
# libnl: loaded at their first call, common/lazylib.h), and a run's console uses no
# inotify (vmm_spec.console_stream). Under TCG the host's TSC rate is measured once per
# boot and the guest takes it instead of calibrating (clock `host`).
# Boots VMs (whatever accelerator kumo chooses). Prints `kumo-start-path: N passed, N failed`.
set -u
SUITE=kumo-start-path
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
test_tmpdir kumo-start-path
APP=$BUILD/apps/app_hello.wasm
[ -f "$APP" ] || { bad "test app" "missing $APP (make apps)"; finish; }
export KUMO_ROOT=$T/root

# --- what the programs link ------------------------------------------------------------------
needed() { objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'; }
for p in kumo kumod; do
	if needed "$BIN/$p" | grep -q libLLVM; then bad "$p does not link libLLVM" "$(needed "$BIN/$p" | grep libLLVM)"
	else ok "$p does not link libLLVM"; fi
done
needed "$BIN/kumo-compile" | grep -q libLLVM && ok "kumo-compile links libLLVM" || bad "kumo-compile links libLLVM" "$(needed "$BIN/kumo-compile")"
lazy=$(needed "$BIN/kumo" | grep -E '^lib(virt|curl|archive|nl-)' || true)
eq "kumo links none of libvirt, libcurl, libarchive, libnl (lazily loaded)" "$lazy" ""
"$BIN/kumo" info >"$T/info" 2>&1
grep -qE '^libvirt +library [0-9]+\.[0-9]+' "$T/info" && ok "... kumo info still calls libvirt (loaded at the first call)" ||
	bad "... kumo info still calls libvirt (loaded at the first call)" "$(cat "$T/info")"
eq "kumo-compile --version is the compiler id" "$("$BIN/kumo-compile" --version | cut -d' ' -f1)" "kumo-compiler/0.1"
"$BIN/kumo-compile" >/dev/null 2>"$T/w.err"
eq "kumo-compile run by hand: exit status 2" "$?" 2
grep -q "compile worker" "$T/w.err" && ok "... saying what it is" || bad "... saying what it is" "$(cat "$T/w.err")"

# --- a cache miss compiles in the worker; the cache hit loads no LLVM anywhere ----------------
# ldrun NAME CMD...: CMD in the background with LD_DEBUG=files into $T/ld-NAME.<pid>; sets
# rc and mainpid (CMD's own pid).
ldrun() {
	local name=$1; shift
	LD_DEBUG=files LD_DEBUG_OUTPUT=$T/ld-$name "$@" >"$T/out" 2>"$T/err" &
	mainpid=$!
	wait $mainpid; rc=$?
}
ldrun miss "$BIN/kumo" run "$APP"
eq "cache miss: kumo run exits 0" "$rc" 0
eq "cache miss: the app's output" "$(cat "$T/out")" "hello, world"
grep -q "libLLVM" "$T/ld-miss.$mainpid" 2>/dev/null && bad "cache miss: the kumo process itself loads no libLLVM" "it did" ||
	ok "cache miss: the kumo process itself loads no libLLVM"
[ -s "$T/ld-miss.$mainpid" ] && grep -q "file=libc.so.6" "$T/ld-miss.$mainpid" && ok "LD_DEBUG saw the kumo process's libraries" ||
	bad "LD_DEBUG saw the kumo process's libraries" "$(ls "$T")"
llvm=$(grep -l "file=libLLVM" "$T"/ld-miss.* 2>/dev/null | wc -l)
eq "cache miss: exactly one process (the compile worker) loads libLLVM" "$llvm" 1

ldrun hit "$BIN/kumo" run -v "$APP"
eq "cache hit: kumo run exits 0" "$rc" 0
eq "cache hit: the app's output" "$(cat "$T/out")" "hello, world"
grep -q "build [0-9.]* ms (cached)" "$T/err" && ok "cache hit: -v says cached" || bad "cache hit: -v says cached" "$(cat "$T/err")"
eq "cache hit: no process loads libLLVM" "$(grep -l "file=libLLVM" "$T"/ld-hit.* 2>/dev/null | wc -l)" 0
grep -q "kumo: timing: prepare [0-9.]* ms, accel [0-9.]* ms, qemu start [0-9.]* ms, resume->first output [0-9.]* ms" "$T/err" &&
	ok "-v prints the timing line" || bad "-v prints the timing line" "$(cat "$T/err")"
lazyload=$(grep -lE "file=lib(virt|curl|archive|nl-route-3)\.so" "$T"/ld-hit.* 2>/dev/null | wc -l)
eq "cache hit: no process loads libvirt, libcurl, libarchive or libnl" "$lazyload" 0

# --- the console and the guest's clock -------------------------------------------------------
export KUMO_ACCEL_CACHE_DIR=$T/accel-cache
mkdir -p "$KUMO_ACCEL_CACHE_DIR"
"$BIN/kumo" run "$APP" >/dev/null 2>&1 # a fresh cache: the accelerator probe, the TSC rate
strace -f -e trace=inotify_init,inotify_init1 -o "$T/strace-ino" "$BIN/kumo" run "$APP" >"$T/out" 2>"$T/err"
eq "a run under strace prints the app's output" "$(cat "$T/out")" "hello, world"
grep -q "inotify_init" "$T/strace-ino" && bad "... and makes no inotify instance (a stream console)" "$(grep inotify "$T/strace-ino")" ||
	ok "... and makes no inotify instance (a stream console)"
"$BIN/kumo" run -v "$APP" >"$T/out" 2>"$T/err"
if grep -q "accel: tcg" "$T/err"; then
	rate=$(cat "$KUMO_ACCEL_CACHE_DIR"/tsc-* 2>/dev/null)
	[ -n "$rate" ] && [ "$rate" -gt 100000 ] 2>/dev/null && ok "tcg: the host's TSC rate is cached ($rate kHz)" ||
		bad "tcg: the host's TSC rate is cached" "$(ls "$KUMO_ACCEL_CACHE_DIR")"
	grep -q "guest kernel entry->_start [0-9.]* ms, clock host" "$T/err" && ok "tcg: the guest takes it (clock host)" ||
		bad "tcg: the guest takes it (clock host)" "$(tail -1 "$T/err")"
else
	skip "tcg: the host's TSC rate" "kumo chose $(grep -o 'accel: [a-z]*' "$T/err" | head -1)"
fi
unset KUMO_ACCEL_CACHE_DIR

# --- kumo compile: always the worker, the budget applies to it ---------------------------------
"$BIN/kumo" compile -v "$APP" -o "$T/a.o" 2>"$T/err"
eq "kumo compile (default budget): exit status" "$?" 0
grep -q "compile worker: .* peak [0-9]* KiB resident" "$T/err" && ok "... in the worker" || bad "... in the worker" "$(cat "$T/err")"
"$BIN/kumo" compile -v --compile-cpu-seconds 0 --compile-cpu-seconds-per-mib 0 --compile-memory-mb 0 \
	--compile-memory-mb-per-mib 0 "$APP" -o "$T/b.o" 2>"$T/err"
eq "kumo compile without a budget: exit status" "$?" 0
grep -q "compile worker:" "$T/err" && ok "... still in the worker (kumo has no LLVM)" || bad "... still in the worker (kumo has no LLVM)" "$(cat "$T/err")"
cmp -s "$T/a.o" "$T/b.o" && ok "both objects are the same bytes" || bad "both objects are the same bytes" "they differ"
"$BIN/kumo" compile --compile-memory-mb 64 --compile-memory-mb-per-mib 0 "$APP" -o "$T/c.o" 2>"$T/err"
eq "a 64 MiB memory budget: exit status" "$?" 125
grep -q 'compile budget exceeded: .* 64 MiB .*`compile_memory_mb`' "$T/err" && ok "... the memory budget is exceeded, naming its key" ||
	bad "... the memory budget is exceeded, naming its key" "$(cat "$T/err")"
[ ! -e "$T/c.o" ] && ok "... and leaves no object" || bad "... and leaves no object" "$T/c.o exists"
# A small module that makes LLVM work for minutes (as cri-images.sh), against 1 s of CPU.
python3 - "$T/slow.wat" <<'PY'
import sys
L, A = 20000, 2000
s = ['(module (func (export "_start") (local $n i32) (local' + ' i64' * L + ')', 'loop $top', 'block $out']
s += ['block'] * A
s.append('local.get $n i32.const %d i32.rem_u br_table %s $out' % (A, ' '.join(map(str, range(A)))))
for a in range(A):
    s.append('end')
    for k in range(3):
        i, j = 1 + (a * 7 + k * 13) % L, 1 + (a * 11 + k * 5) % L
        s.append('local.get %d local.get %d i64.add local.set %d' % (j, i, i))
    s.append('local.get $n i32.const 1 i32.sub local.tee $n br_if $top')
s.append('end end i64.const 0' + ' '.join(' local.get %d i64.add' % i for i in range(1, L + 1)) + ' drop))')
open(sys.argv[1], 'w').write('\n'.join(s) + '\n')
PY
"$BIN/kumo" compile --compile-cpu-seconds 1 --compile-cpu-seconds-per-mib 0 "$T/slow.wat" -o "$T/slow.o" 2>"$T/err"
eq "a 1 s CPU budget against a slow module: exit status" "$?" 125
grep -q 'compile budget exceeded: .*`compile_cpu_seconds`' "$T/err" && ok "... the CPU budget is exceeded, naming its key" ||
	bad "... the CPU budget is exceeded, naming its key" "$(cat "$T/err")"

# --- where the worker is found -------------------------------------------------------------
KUMO_COMPILE_WORKER_BIN=$T/nosuch "$BIN/kumo" compile "$APP" -o "$T/d.o" 2>"$T/err"
eq "KUMO_COMPILE_WORKER_BIN naming nothing: exit status" "$?" 125
grep -qF "KUMO_COMPILE_WORKER_BIN \`$T/nosuch\`: not an executable compile worker" "$T/err" && ok "... naming it" || bad "... naming it" "$(cat "$T/err")"
KUMO_COMPILE_WORKER_BIN=$(cd "$BIN" && pwd)/kumo-compile "$BIN/kumo" compile "$APP" -o "$T/e.o" 2>"$T/err"
eq "KUMO_COMPILE_WORKER_BIN naming the worker: exit status" "$?" 0
mkdir -p "$T/lonely"
cp "$BIN/kumo" "$T/lonely/kumo"
"$T/lonely/kumo" compile "$APP" -o "$T/f.o" 2>"$T/err"
eq "kumo without kumo-compile beside it: exit status" "$?" 125
if [ -x /usr/lib/kumo/bin/kumo-compile ]; then
	skip "the missing worker's message" "/usr/lib/kumo/bin/kumo-compile is installed"
else
	grep -qF "the compile worker \`kumo-compile\` was not found (looked for \`$T/lonely/kumo-compile\` and \`/usr/lib/kumo/bin/kumo-compile\`)" "$T/err" &&
		ok "... says where it looked" || bad "... says where it looked" "$(cat "$T/err")"
fi

# --- file digests: once per version of the file ----------------------------------------------
mkdir -p "$T/kernel"
cp "$BUILD/kernel/libkumo-kernel.a" "$BUILD/kernel/kernel.ld" "$T/kernel/"
export KUMO_KERNEL_DIR=$T/kernel KUMO_ROOT=$T/root2
"$BIN/kumo" run "$APP" >/dev/null 2>&1
eq "a first run remembers three digests (kernel library, linker script, module)" "$(ls "$KUMO_ROOT/build/digests" | wc -l)" 3
strace -f -e trace=openat,open -o "$T/strace" "$BIN/kumo" run "$APP" >"$T/out" 2>/dev/null
eq "a second run works" "$(cat "$T/out")" "hello, world"
grep -q "libkumo-kernel.a" "$T/strace" && bad "a second run does not read the kernel library" "$(grep libkumo-kernel.a "$T/strace" | head -2)" ||
	ok "a second run does not read the kernel library"
eq "... and remembers nothing new" "$(ls "$KUMO_ROOT/build/digests" | wc -l)" 3
printf '/* changed */\n' >>"$T/kernel/kernel.ld"
"$BIN/kumo" run -v "$APP" >"$T/out" 2>"$T/err"
eq "a changed linker script: the run works" "$(cat "$T/out")" "hello, world"
grep -q "(linked)" "$T/err" && ok "... with a new kernel id: a new image is linked" || bad "... with a new kernel id: a new image is linked" "$(cat "$T/err")"
eq "... and its digest is remembered beside the old one" "$(ls "$KUMO_ROOT/build/digests" | wc -l)" 4
finish
