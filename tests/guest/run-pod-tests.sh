#!/usr/bin/env bash
# tests/guest/run-pod-tests.sh - one pod VM, many containers (kernel/pod_abi.h), through the
# control channel with tests/support/podtest.c: an app and a sidecar fetching from it over
# 127.0.0.1, a port taken twice, a shared directory written by one container and read by
# another while both run, a trap in one while the app keeps serving, a restart without a
# VM boot, a computing container that cannot starve the app (preemption), stop of a
# computing app (137 after its grace) and of a waiting one (143), bad objects (truncated,
# corrupt relocation, wrong ABI version, unsupported import) refused while the rest runs,
# garbage and a bad checksum on the channel, a host crash in the middle of a CREATE and
# the restart procedure, remove, stdin (STDIN/CLOSE_STDIN: read on fd 0, its 1 MiB bound,
# poll_oneoff, a stop of a waiting reader), a snapshot's QUIESCE and RESUME (a share held
# open blocks QEMU's save until QUIESCE; a container writing across them sees no error; a
# file removed meanwhile fails with ESTALE), and the pod's end.
# usage: run-pod-tests.sh [BUILD_DIR]          prints `pod: N passed, N failed`
set -u
SUITE=pod
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
build=${1:-build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
here=$(cd "$(dirname "$0")" && pwd)
tool=$build/tests/support/kumo-podtest
kernel=$build/kernel/kernel.elf
obj=$build/tests/pod
for f in "$tool" "$kernel" "$obj/pod_probe.o" "$obj/net_httpd.o" "$obj/net_client.o" \
	"$obj/app_hello.o" "$obj/badimport.o"; do
	[ -e "$f" ] || { bad "missing $f (make test-prereqs)"; finish; }
done
kumo_accel "$build"
echo "pod: $accel_why"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# ---- inputs: a web root, a shared directory, bad objects ----
mkdir -p "$tmp/www" "$tmp/data"
printf 'hello from the pod web root\n' >"$tmp/www/index.html"
head -c 3000 "$obj/pod_probe.o" >"$tmp/truncated.o"
python3 - "$obj/pod_probe.o" "$tmp" <<'PY'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
b = bytearray(open(src, 'rb').read())
shoff, = struct.unpack_from('<Q', b, 0x28)
shnum, = struct.unpack_from('<H', b, 0x3c)
secs = [struct.unpack_from('<IIQQQQIIQQ', b, shoff + 64 * i) for i in range(shnum)]
# corrupt relocation: the first entry of .rela.text points past its section
bad = bytearray(b)
for s in secs:
    if s[1] == 4 and secs[s[7]][2] & 4 and s[5]:
        struct.pack_into('<Q', bad, s[4], secs[s[7]][5] + 100)
        break
open(out + '/badreloc.o', 'wb').write(bad)
# wrong ABI version: the descriptor's first field
sym = [s for s in secs if s[1] == 2][0]
strtab = secs[sym[6]]
abi = bytearray(b)
for off in range(sym[4], sym[4] + sym[5], 24):
    name, info, other, shndx, value, size = struct.unpack_from('<IBBHQQ', b, off)
    n = b[strtab[4] + name:b.index(0, strtab[4] + name)]
    if n == b'kumo_module':
        at = secs[shndx][4] + value
        v, = struct.unpack_from('<I', abi, at)
        struct.pack_into('<I', abi, at, v + 1)
open(out + '/wrongabi.o', 'wb').write(abi)
PY

# ---- the session ----
web='{"name":"web","args":["net_httpd","--root","/www","--quiet"],"listen":["tcp:0.0.0.0:8080"],"preopens":[{"guest":"/www","share":"www","readonly":true}]}'
side='{"name":"sidecar","args":["net_client","127.0.0.1","8080","/index.html"]}'
watch='{"name":"watcher","args":["pod_probe","watch","/data/msg.txt","30000"],"preopens":[{"guest":"/data","share":"data"}]}'
write='{"name":"writer","args":["pod_probe","write","/data/msg.txt","from_the_writer"],"preopens":[{"guest":"/data","share":"data"}]}'
# The FP result one run alone computes (the hosted runner: no preemption at all).
fpn=2000000
fp_alone=$("$build/bin/kumo-hostrun" "$obj/pod_probe.o" fpspin $fpn 2>&1)
start=$(date +%s%N)
"$tool" --kernel "$kernel" --dir "$tmp/run" --accel "$accel" --mem 256 \
	--share "www=$tmp/www:ro" --share "data=$tmp/data" --share "objs=$obj:ro" >"$tmp/out" 2>"$tmp/err" <<EOF
reinit {"seed":"xyz","name":"bad"}
reinit {"seed":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","name":"reborn","realtime_ns":1700000000000000000}
reinit {"seed":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
info
create 1 $obj/net_httpd.o $web
start 1
wait-started 1
create 2 $obj/net_client.o $side
start 2
wait-exit 2
out 2
create 3 $obj/net_httpd.o {"name":"web2","args":["net_httpd","--quiet"],"listen":["tcp:0.0.0.0:8080"]}
create 4 $obj/pod_probe.o $watch
start 4
wait-out 4 watching
create 5 $obj/pod_probe.o $write
start 5
wait-exit 5
wait-exit 4
out 4
create 6 $obj/pod_probe.o {"name":"trapper","args":["pod_probe","trap"]}
start 6
wait-exit 6
out 6
start 2
wait-exit 2
out 2
boots
create 7 $obj/pod_probe.o {"name":"spinner","args":["pod_probe","spin"]}
start 7
wait-out 7 spinning
start 2
wait-exit 2
stop 7 600
wait-exit 7
stop 1 5000
wait-exit 1
create 8 $tmp/truncated.o {"args":["x"]}
create 9 $tmp/badreloc.o {"args":["x"]}
create 10 $tmp/wrongabi.o {"args":["x"]}
create 11 $obj/badimport.o {"args":["x"]}
start 1
wait-started 1
start 2
wait-exit 2
junk 1000
info
badcrc 12 $obj/app_hello.o {"args":["x"]}
sleep 200
errors
crash 12 $obj/pod_probe.o {"name":"late","args":["pod_probe","hello"]} 3000
recover
start 12
wait-exit 12
out 12
remove 1
kill 1
wait-exit 1
remove 1
remove 7
create 7 $obj/app_hello.o {"args":["hello"]}
start 7
wait-exit 7
info
$(for i in $(seq 30); do printf 'start 7\nwait-exit 7\n'; done)
info
create 22 $obj/pod_probe.o {"name":"copier","args":["pod_probe","copy"],"stdin":true}
stdin 22 before_start\n
start 22
wait-out 22 before_start
stdin 22 second_line\n
wait-out 22 second_line
close-stdin 22
wait-exit 22
out 22
stdin 22 late
close-stdin 22
stdin 2 x
create 23 $obj/pod_probe.o {"name":"counter","args":["pod_probe","count"],"stdin":true}
stdin-bytes 23 400000
stdin-bytes 23 400000
stdin-bytes 23 400000
stdin-bytes 23 2000000
start 23
sleep 500
stdin-bytes 23 400000
close-stdin 23
wait-exit 23
out 23
create 24 $obj/pod_probe.o {"name":"poller","args":["pod_probe","pollin","300"],"stdin":true}
start 24
wait-exit 24
out 24
create 25 $obj/pod_probe.o {"name":"waker","args":["pod_probe","pollin","60000"],"stdin":true}
start 25
wait-started 25
sleep 300
stdin 25 wake
wait-exit 25
out 25
close-stdin 24
start 24
wait-exit 24
out 24
create 26 $obj/pod_probe.o {"name":"reader","args":["pod_probe","count"],"stdin":true}
start 26
wait-started 26
sleep 200
stop 26 10000
wait-exit 26
start 26
wait-started 26
sleep 200
kill 26
wait-exit 26
remove 22
remove 23
remove 24
remove 25
remove 26
info
create 22 $obj/pod_probe.o {"name":"copier","args":["pod_probe","copy"],"stdin":true}
start 22
stdin-bytes 22 300000
close-stdin 22
wait-exit 22
create 24 $obj/pod_probe.o {"name":"poller","args":["pod_probe","pollin","300"],"stdin":true}
start 24
wait-exit 24
create 26 $obj/pod_probe.o {"name":"reader","args":["pod_probe","count"],"stdin":true}
start 26
wait-started 26
stop 26 10000
wait-exit 26
remove 22
remove 24
remove 26
info
create 13 - {"name":"fromshare","args":["pod_probe","hello"],"object":{"share":"objs","path":"pod_probe.o"}}
start 13
wait-exit 13
out 13
create 14 $obj/pod_probe.o {"args":["pod_probe","grow","16"],"memory_limit":4194304}
start 14
wait-exit 14
out 14
create 15 $obj/pod_probe.o {"args":["pod_probe","grow","100"],"memory_limit":4194304}
start 15
wait-exit 15
out 15
create 16 $obj/pod_probe.o {"args":["pod_probe","hello"],"memory_limit":1099511627776}
remove 13
remove 14
remove 15
create 13 $obj/pod_probe.o {"name":"fp1","args":["pod_probe","fpspin","$fpn"]}
create 14 $obj/pod_probe.o {"name":"fp2","args":["pod_probe","fpspin","$fpn"]}
start 13
start 14
wait-exit 13
wait-exit 14
out 13
out 14
info
create 17 $obj/pod_probe.o {"name":"appender","args":["pod_probe","append","/data/log.txt","30","40"],"preopens":[{"guest":"/data","share":"data"}]}
start 17
wait-out 17 appended_3
checkpoint $tmp/snap-busy
quiesce
create 19 - {"name":"late","object":{"share":"objs","path":"pod_probe.o"}}
checkpoint $tmp/snap-quiet
sleep 300
resume
wait-exit 17
out 17
create 18 $obj/pod_probe.o {"name":"loser","args":["pod_probe","append","/data/gone.txt","1000","40"],"preopens":[{"guest":"/data","share":"data"}]}
start 18
wait-out 18 appended_3
quiesce
unlink $tmp/data/gone.txt
resume
wait-exit 18
out 18
quiesce
quiesce
resume
resume
shutdown 5000
EOF
rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
out=$(cat "$tmp/out")
echo "pod: session of $elapsed ms (tool exit $rc)"
# check NAME PATTERN: a line of the tool's output matches the extended regex
check() {
	if grep -Eq -- "$2" "$tmp/out"; then ok "$1"; else bad "$1" "wanted /$2/" "$(tail -3 "$tmp/err")"; fi
}
# check_nth NAME N PATTERN: the N-th line starting like the pattern (up to its `:`) matches
check_nth() {
	local first=${3%%:*} line
	line=$(grep -E "$first:" "$tmp/out" | sed -n "$2p")
	if [[ $line =~ $3 ]]; then ok "$1"; else bad "$1" "wanted /$3/" "got: $line"; fi
}
[ "$rc" = 0 ] || bad "the tool ended with $rc" "$(tail -5 "$tmp/err")"
check "ready record (control channel, abi 3)" '^ready: \{"boot_id": "[0-9a-f]{16}", "abi": 3, "control": true'
check "REINIT with a bad seed is refused" '^reinit 0: error config: `seed` is not 64 hex digits'
check "REINIT makes a new pod: a new boot id" '^reinit 0: ok \{"ok": true, "boot_id": "[0-9a-f]{16}"'
b0=$(grep -oE '^ready: \{"boot_id": "[0-9a-f]+' "$tmp/out" | grep -oE '[0-9a-f]{16}$')
b1=$(grep -E '^reinit 0: ok' "$tmp/out" | grep -oE '"boot_id": "[0-9a-f]{16}' | grep -oE '[0-9a-f]{16}$')
[ -n "$b0" ] && [ -n "$b1" ] && [ "$b0" != "$b1" ] && ok "the boot id changed ($b0 -> $b1)" || bad "the boot id changed" "$b0 -> $b1"
check "INFO says the new one" "^info 0: ok .*\"boot_id\": \"$b1\""
check "a second REINIT is refused" '^reinit 0: error this VM is a pod already'
grep -q "pod \`reborn\` made from a snapshot" "$tmp/run/exit.raw" && ok "REINIT's name is the pod's" ||
	bad "REINIT's name is the pod's" "$(grep -a 'made from' "$tmp/run/exit.raw")"
check "app created and linked" '^create 1: ok .*"link_us"'
check "app started" '^started 1: \{"instance": 1, "instantiate_us"'
check_nth "sidecar fetched from the app over 127.0.0.1" 1 '^exit 2: \{"instance": 2, "status": 0, "kind": "exit"'
check "sidecar's stdout has the page" '^out 2\| HTTP/1.1 200 OK.*hello from the pod web root'
check "a port taken twice is refused" '^create 3: error listen `tcp:0.0.0.0:8080`: address in use'
check "writer wrote to the shared directory" '^exit 5: \{"instance": 4, "status": 0'
check "watcher (running meanwhile) read the writer's file" '^out 4\| watching\\nsaw: from_the_writer'
[ "$(cat "$tmp/data/msg.txt" 2>/dev/null)" = "from_the_writer" ] && ok "the host sees the write" ||
	bad "the host sees the write" "$(ls -la "$tmp/data")"
check "a trap ends only its container" '^exit 6: \{"instance": 5, "status": 134, "kind": "trap", "trap": 1, "msg": "unreachable"'
check_nth "the app keeps serving after the trap (sidecar restarted)" 2 '^exit 2: \{"instance": 6, "status": 0'
check "a restart is not a boot" '^boots: 1$'
check_nth "a computing container does not starve the app" 3 '^exit 2: \{"instance": 8, "status": 0'
check "stop of a computing app: 137 after its grace" '^exit 7: \{"instance": 7, "status": 137, "kind": "killed"'
g=$(grep -E '^exit 7: ' "$tmp/out" | head -1 | grep -oE 'after_stop_ms=[0-9]+' | cut -d= -f2)
[ -n "$g" ] && [ "$g" -ge 600 ] && ok "the kill came after the grace period ($g ms after the stop, grace 600)" ||
	bad "the kill came after the grace period" "after_stop_ms=$g"
check "stop of a waiting app: 143 at once" '^exit 1: \{"instance": 1, "status": 143, "kind": "stopped"'
check "truncated object refused" '^create 8: error object: '
check "corrupt relocation refused" '^create 9: error object: relocation .* is outside its section'
check "wrong ABI version refused" '^create 10: error object: compiled for runtime abi version'
check "unsupported import refused" '^create 11: error unsupported import `env.foo`'
check_nth "after the refusals the pod still serves" 4 '^exit 2: \{"instance": 10, "status": 0'
check "garbage on the channel: resync, then commands work" '^info 0: ok'
check "resync reported" 'errors: .*resync: skipped 1000 bytes'
check "a bad frame checksum is dropped, not executed" 'errors: .*frame checksum mismatch: dropped'
check "host crash mid-CREATE, then the restart procedure" '^recover: in sync after 1 ping\(s\), 1 command\(s\) resent'
check "the resent CREATE worked" '^exit 12: \{"instance": 11, "status": 0'
check "its output" '^out 12\| hello from pod_probe'
check "remove of a running container is refused" '^remove 1: error container 1 is running'
check_nth "kill of a waiting app: 137 at once" 2 '^exit 1: \{"instance": 9, "status": 137, "kind": "killed"'
check_nth "remove of an exited container" 2 '^remove 1: ok'
check "a handle is reused after remove (and the freed image leaves no dangling trampoline)" '^exit 7: \{"instance": 12, "status": 0'
check "info counts instances" '^info 0: ok .*"instances": 12,'
mem() { grep -E '^info 0: ' "$tmp/out" | sed -n "$1p" | grep -oE '"(heap|free)_bytes": [0-9]+' | tr '\n' ' '; }
m1=$(mem 3); m2=$(mem 4) # the first INFO follows REINIT
[ -n "$m1" ] && [ "$m1" = "$m2" ] && ok "30 restarts leak nothing ($m1)" || bad "30 restarts leak nothing" "before: $m1" "after:  $m2"
check "the restarts ran" '^info 0: ok .*"instances": 42,'
check "stdin: bytes sent before START, then while it runs, reach the app's fd 0" '^out 22\| before start\\nsecond line\\n$'
check "stdin: CLOSE_STDIN is end-of-file" '^err 22\| copy: 25 bytes, eof'
check "stdin: a closed stdin takes nothing more" '^stdin 22: error stdin of container 22 is closed'
check "stdin: CLOSE_STDIN twice is fine" '^close-stdin 22: ok'
check "stdin: a container created without stdin takes none" '^stdin 2: error container 2 was created without stdin'
check_nth "stdin: 400000 bytes buffered" 2 '^stdin 23: ok \{"ok": true, "buffered": 800000\}'
check "stdin: past the 1 MiB buffer: refused, nothing appended" '^stdin 23: error stdin of container 23 is full: 800000 bytes wait to be read, 400000 more do not fit'
check "stdin: more than the buffer holds at all" '^stdin 23: error 2000000 bytes of stdin are more than'
check "stdin: after the app read, the same bytes fit" '^stdin 23: ok \{"ok": true, "buffered": 400000\}'
check "stdin: the app counted every byte accepted" '^out 23\| count: 1200000 bytes'
check "poll_oneoff: an empty stdin is not readable (timeout)" '^out 24\| pollin: timeout'
check "poll_oneoff: a STDIN wakes a poller" '^out 25\| pollin: ready\\n'
w=$(grep -E '^exit 25: ' "$tmp/out" | grep -oE 'after_ms=[0-9]+' | cut -d= -f2)
[ -n "$w" ] && [ "$w" -lt 30000 ] && ok "... at once, not at its 60 s timeout ($w ms)" || bad "a STDIN wakes a poller at once" "after_ms=$w"
check "poll_oneoff: a closed stdin is readable with hangup (a restart keeps the pipe)" '^out 24\| pollin: timeout\\npollin: ready, eof'
check "a STOP ends an app waiting on stdin: 143 at once" '^exit 26: \{"instance": [0-9]+, "status": 143, "kind": "stopped".*after_stop_ms=[0-9]{1,3}$'
check "a KILL ends it too: 137" '^exit 26: \{"instance": [0-9]+, "status": 137, "kind": "killed"'
m5=$(mem 5); m6=$(mem 6)
[ -n "$m5" ] && [ "$m5" = "$m6" ] && ok "stdin containers leave nothing behind (a second round: $m6)" || bad "stdin containers leave nothing behind (a second round)" "before: $m5" "after:  $m6"
check "an object read from a read-only share" '^out 13\| hello from pod_probe'
check "memory limit: growth within it" '^out 14\| grow 16: ok'
check "memory limit: growth past it is refused" '^out 15\| grow 100: refused'
check "a memory limit the VM cannot give is refused" '^create 16: error memory limit 1048576 MiB does not fit'
for c in 13 14; do
	got=$(grep -E "^out $c\| fpspin" "$tmp/out" | tail -1 | sed -E 's/^out [0-9]+\| //; s/\\n$//')
	[ -n "$fp_alone" ] && [ "$got" = "$fp_alone" ] && ok "preempted FP container $c computed what one alone does" ||
		bad "preempted FP container $c computed what one alone does" "alone: $fp_alone" "got:   $got"
done
pre=$(grep -E '^info 0: ' "$tmp/out" | tail -1 | grep -oE '"name": "fp[12]", [^}]*"preemptions": [0-9]+' | grep -oE '[0-9]+$' | sort -n | head -1)
[ -n "$pre" ] && [ "$pre" -gt 0 ] && ok "both FP containers were preempted (at least $pre times each)" ||
	bad "both FP containers were preempted" "$(grep -E '^info 0: ' "$tmp/out" | tail -1)"
check "a share held open blocks QEMU's save (its 9p blocker)" '^checkpoint: error .*VirtFS'
check "QUIESCE lets go of every share" '^quiesce 0: ok \{"ok": true, "shares": [1-9][0-9]*, "files": [1-9]'
check "no CREATE while quiesced" '^create 19: error the pod is quiesced for a snapshot'
check "quiesced, the VM saves (no blocker left)" '^checkpoint: ok [0-9]+ bytes'
check_nth "RESUME takes every open file up again" 1 '^resume 0: ok \{"ok": true, "shares": [1-9][0-9]*, "files": [1-9][0-9]*, "lost": 0, "dead_shares": 0'
check "the container writing across the quiesce never saw an error" '^exit 17: \{"instance": [0-9]+, "status": 0'
seq 30 | sed 's/^/line /' >"$tmp/want.txt"
cmp -s "$tmp/data/log.txt" "$tmp/want.txt" && ok "its file holds every line once, in order (the offset survived)" ||
	bad "its file holds every line once, in order" "$(head -c 300 "$tmp/data/log.txt")"
check "a file removed while quiesced is lost at RESUME" '^resume 0: ok \{"ok": true, .*"lost": 1,'
check "its fd's next write fails with ESTALE" '^out 18\| .*append [0-9]+: Stale file handle'
check "a second QUIESCE or RESUME does nothing" '^resume 0: ok \{"ok": true, "shares": 0, "files": 0, "lost": 0'
grep -q "cannot be opened again after the snapshot" "$tmp/run/exit.raw" && ok "the lost file is logged" ||
	bad "the lost file is logged" "$(grep -a snapshot "$tmp/run/exit.raw" | tail -3)"
check "the pod ends on the power button" '^shutdown: vm exit code 0'
[ "$fail" = 0 ] || { echo "--- tool output"; cat "$tmp/out"; echo "--- kernel log"; tail -30 "$tmp/run/exit.raw"; }
finish
