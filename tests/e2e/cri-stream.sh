#!/usr/bin/env bash
# tests/e2e/cri-stream.sh - kumod's streaming server (Exec, Attach, PortForward URLs)
# through the CRI socket, in a network namespace of its own.
#   Part 1, the fake stages (the test daemon, fast): attach following the log with stdin reaching the
#   (fake) app, attach ending when the container stops, the exec plumbing against the
#   fake exec (exit codes in the status, stdin, ExecSync's timeout), and the errors: a
#   bad, a used and an expired token, an unknown and a stopped container, an unknown pod.
#   Part 2, real VMs: port-forward to tests/apps/net_httpd serving byte-identical files
#   to 200 connections at once (SPDY), over the WebSocket tunnel and kubelet's channel
#   form, a port nothing listens on (a clean error on that stream); attach following a
#   VM's stdout and stderr live until it exits; exec of Wasm commands in the pod VM (a
#   tool module of the image printing and exiting 3, by path and on PATH, stdin through
#   a copying command, ExecSync's exit codes and its timeout ending the instance, a
#   Linux program, a script, a name nowhere and a stopped container each a clear error);
#   attach's stdin echoed by a copying app, stdin_once ending the app's stdin; kill -9
#   of kumod during an exec: the restart ends the command; nothing left behind (threads,
#   fds, transient containers in pod.json and the kernel's log).
# Both parts with our own client (build/tests/e2e/kumo-stream-client) and, when crictl is
# there ($CRICTL, or crictl on PATH), with crictl's port-forward, attach and exec over
# --transport spdy and websocket. After each part kumod has no streaming thread left
# and as many fds as before. Prints `cri-stream: N passed, N failed`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
# Pods take their network from CNI: host-local's store is a tmpfs of this mount namespace.
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
BUILD=${BUILD:-build}
BIN=$BUILD/bin
APPS=$BUILD/apps
CLIENT=$BUILD/tests/e2e/kumo-stream-client
HTTPD=${HTTPD:-$APPS/net_httpd.wasm}
PODTOOL=$APPS/app_podtool.wasm
VM_BACKEND=${VM_BACKEND:-qemu}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/kumo-cri-stream.XXXXXX)
SOCK=$T/kumo.sock
KPID=
SUITE=cri-stream
CRICTL_TIMEOUT=120
CIDR=10.78.0.0/24
REAL_CRICTL=${CRICTL:-$(type -P crictl || true)}
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
# shellcheck source=../lib/oci-wasm-image.sh
. "$HERE/../lib/oci-wasm-image.sh"

cleanup() {
	[ -n "$KPID" ] && kill -9 "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	registry_stop
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

start_kumod() { # [fake] flags...: kumod, or the test daemon on the fake stages
	local daemon=$BIN/kumod
	if [ "${1:-}" = fake ]; then daemon=$BUILD/tests/kumod-fake; shift; fi
	"$daemon" --socket "$SOCK" --root "$T/root" --log-level debug "$@" 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
stop_kumod() { kill -TERM "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; KPID=; }
real_crictl() { "$REAL_CRICTL" --runtime-endpoint "unix://$SOCK" "$@" 2> >(grep -v 'level=warning' >&2); }
client() { "$CLIENT" --timeout 60000 "$@"; }
url() { jq -r .url <<<"$OUT"; }

# kumod's streaming threads (named kumo-stream/kumo-exec/kumo-netns/kumo-stdin) and its fds.
stream_threads() { cat /proc/"$KPID"/task/*/comm 2>/dev/null | grep -c '^kumo-\(stream\|exec\|netns\|stdin\)$'; }
fds() { find /proc/"$KPID"/fd -mindepth 1 2>/dev/null | wc -l; }
# settled NAME FDS: within 5 s no streaming thread is left and the fds are back to FDS.
settled() {
	local t f
	for _ in $(seq 100); do
		t=$(stream_threads); f=$(fds)
		[ "$t" = 0 ] && [ "$f" -le "$2" ] && break
		sleep 0.05
	done
	eq "$1: no streaming thread left, fds back to $2" "$t/$([ "$f" -le "$2" ] && echo "$2" || echo "$f")" "0/$2"
}
wait_state() { # id state
	for _ in $(seq 600); do
		[ "$(crictl ContainerStatus "{\"container_id\":\"$1\"}" | jq -r .status.state)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

[ -x "$CLIENT" ] || { bad "the test client" "$CLIENT is not built (make test-prereqs)"; finish; }
if [ -n "$REAL_CRICTL" ]; then echo "     crictl: $("$REAL_CRICTL" --version 2>/dev/null)"; else echo "     no crictl: its checks are skipped"; fi

# === Part 1: the fake stages ================================================================
mkdir -p "$T/logs"
if [ "${STREAM_PART:-}" != 2 ]; then # STREAM_PART=1|2 runs one part (debugging)
start_kumod fake --stream-token-ttl-ms 1500
grep -q 'streaming server (exec, attach, port-forward) on http://127.0.0.1:' "$T/kumod.log" &&
	ok "the streaming server listens on loopback, an ephemeral port" || bad "streaming server" "$(tail -3 "$T/kumod.log")"
call "RunPodSandbox" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"p\",\"uid\":\"u1\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs\"}}"
POD=$(jq -r .pod_sandbox_id <<<"$OUT")
call "PullImage" PullImage '{"image":{"image":"example.com/app:v1"}}'
ctr() { # name stdin_once -> container id (a fake VM that serves and takes stdin)
	crictl CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"$1\"},\"image\":{\"image\":\"example.com/app:v1\"},\"command\":[\"serve\"],\"log_path\":\"$1.log\",\"stdin\":true,\"stdin_once\":$2}}" | jq -r .container_id
}
CID=$(ctr app false)
call "StartContainer" StartContainer "{\"container_id\":\"$CID\"}"
# A first URL and session, so lazily made resources (MHD's, gRPC's) are in the baseline.
call "Attach" Attach "{\"container_id\":\"$CID\",\"stdout\":true,\"stderr\":true}"
client http "$(url)" >/dev/null
sleep 0.3
FDS0=$(fds)

# Attach: stdin reaches the app (the fake VM copies it to its log), and the output
# comes back through the followed log.
for tr in spdy ws; do
	call "Attach with stdin ($tr)" Attach "{\"container_id\":\"$CID\",\"stdin\":true,\"stdout\":true,\"stderr\":true}"
	grep -q "http://127.0.0.1:[0-9]*/attach/" <<<"$(url)" && ok "an attach URL on loopback" || bad "attach URL" "$OUT"
	got=$(client --transport $tr attach "$(url)" --stdin "typed over $tr\n" --keep-stdin --until "typed over $tr" 2>"$T/err")
	eq "attach ($tr): what the app got on stdin comes back on stdout" "$got" "typed over $tr"
done
eq "the log has both lines once" "$(grep -c 'stdout F typed over' "$T/logs/app.log")" 2

# stdin_once: the first attach's stdin ends the app's stdin; a later one gets none.
CID2=$(ctr once true)
call "StartContainer (stdin_once)" StartContainer "{\"container_id\":\"$CID2\"}"
call "Attach (stdin_once)" Attach "{\"container_id\":\"$CID2\",\"stdin\":true,\"stdout\":true}"
client attach "$(url)" --stdin "first\n" --no-stderr --until first >/dev/null 2>&1
call "Attach again" Attach "{\"container_id\":\"$CID2\",\"stdin\":true,\"stdout\":true}"
client attach "$(url)" --stdin "second\n" --no-stderr --until second --timeout 2000 >/dev/null 2>&1
eq "a stdin_once stdin took the first attach's input only" "$(grep -c 'stdout F \(first\|second\)' "$T/logs/once.log")" 1

# Attach ends, with success, when the container stops.
call "Attach (to be stopped)" Attach "{\"container_id\":\"$CID2\",\"stdout\":true,\"stderr\":true}"
client attach "$(url)" >"$T/out" 2>"$T/err" &
CL=$!
sleep 0.5
call "StopContainer" StopContainer "{\"container_id\":\"$CID2\",\"timeout\":1}"
for _ in $(seq 50); do kill -0 $CL 2>/dev/null || break; sleep 0.1; done
if kill -0 $CL 2>/dev/null; then bad "attach ends when the container stops" "still attached"; kill $CL; else ok "attach ends when the container stops"; fi
wait $CL 2>/dev/null
eq "... with status success" "$(tail -1 "$T/err")" "status: success"

# Exec's plumbing against the test backend's fake commands.
for tr in spdy ws; do
	call "Exec echo ($tr)" Exec "{\"container_id\":\"$CID\",\"cmd\":[\"echo\",\"hi\",\"there\"],\"stdout\":true,\"stderr\":true}"
	eq "exec ($tr): stdout" "$(client --transport $tr exec "$(url)" 2>"$T/err")" "hi there"
	eq "exec ($tr): success" "$(tail -1 "$T/err")" "status: success"
	call "Exec exit 3 ($tr)" Exec "{\"container_id\":\"$CID\",\"cmd\":[\"exit\",\"3\"],\"stdout\":true,\"stderr\":true}"
	client --transport $tr exec "$(url)" >/dev/null 2>"$T/err"
	eq "exec ($tr): the exit code reaches the client" "$?/$(tail -1 "$T/err")" "3/status: exit 3"
	call "Exec cat ($tr)" Exec "{\"container_id\":\"$CID\",\"cmd\":[\"cat\"],\"stdin\":true,\"stdout\":true}"
	eq "exec ($tr): stdin through cat" "$(client --transport $tr exec "$(url)" --stdin "round trip\n" --no-stderr 2>/dev/null)" "round trip"
done
call "ExecSync exit 4" ExecSync "{\"container_id\":\"$CID\",\"cmd\":[\"exit\",\"4\"],\"timeout\":5}"
eq "ExecSync's exit code" "$(jq -r .exit_code <<<"$OUT")" 4
t0=$(date +%s%N)
code "ExecSync past its timeout" DeadlineExceeded ExecSync "{\"container_id\":\"$CID\",\"cmd\":[\"sleep\",\"20000\"],\"timeout\":1}"
says "it says it timed out" "timed out after 1000 ms"
eq "ExecSync's timeout ends it within 3 s" "$(( ($(date +%s%N) - t0) / 1000000000 < 3 ))" 1

# Errors.
B=$(grep -o 'http://127.0.0.1:[0-9]*' "$T/kumod.log" | head -1)
eq "a bad token" "$(client attach "$B/attach/not-a-token")" "http 404: unknown streaming token \`not-a-token\`: this kumod never issued it (or it restarted since)"
call "Attach (used twice)" Attach "{\"container_id\":\"$CID\",\"stdout\":true}"
U=$(url)
client attach "$U" --until never --timeout 500 >/dev/null 2>&1
got=$(client attach "$U")
case $got in "http 410: streaming token"*"was already used"*) ok "a used token";; *) bad "a used token" "$got";; esac
call "PortForward (left to expire)" PortForward "{\"pod_sandbox_id\":\"$POD\"}"
U=$(url)
sleep 2
got=$(client portforward "$U" --port 80)
case $got in "http 410: streaming token"*"expired: a URL must be used within 1500 ms"*) ok "an expired token";; *) bad "an expired token" "$got";; esac
got=$(client --transport ws attach "${U/portforward/attach}")
case $got in "http 410: "*) ok "a token on another endpoint is no use either";; *) bad "a token on another endpoint" "$got";; esac
code "Attach to an unknown container" NotFound Attach '{"container_id":"0000dead","stdout":true}'
says "it names the container" "container \`0000dead\` not found"
code "Exec in a stopped container" FailedPrecondition Exec "{\"container_id\":\"$CID2\",\"cmd\":[\"echo\"],\"stdout\":true}"
says "it says it exited" "is not running: it exited with code 143"
code "Attach to a stopped container" FailedPrecondition Attach "{\"container_id\":\"$CID2\",\"stdout\":true}"
code "PortForward to an unknown pod" NotFound PortForward '{"pod_sandbox_id":"0000dead"}'
code "Attach with tty and stderr" InvalidArgument Attach "{\"container_id\":\"$CID\",\"tty\":true,\"stdout\":true,\"stderr\":true}"

# crictl (client-go's clients) against the same server.
if [ -n "$REAL_CRICTL" ]; then
	for tr in spdy websocket; do
		got=$(real_crictl exec --transport $tr "$CID" echo via crictl $tr)
		eq "crictl exec ($tr)" "$got" "via crictl $tr"
		real_crictl exec --transport $tr "$CID" exit 5 >/dev/null 2>"$T/err"
		grep -q "command terminated with exit code 5" "$T/err" && ok "crictl exec ($tr): exit code 5" || bad "crictl exec ($tr) exit code" "$(cat "$T/err")"
		# crictl attach outlives its stdin and ignores a first SIGTERM: killed after 4 s.
		( (printf 'crictl stdin %s\n' $tr; sleep 2) | timeout -s KILL 4 "$REAL_CRICTL" --runtime-endpoint "unix://$SOCK" attach -i --transport $tr "$CID" >"$T/out" ) 2>/dev/null
		grep -q "^crictl stdin $tr$" "$T/out" && ok "crictl attach -i ($tr): stdin echoed back" || bad "crictl attach ($tr)" "$(cat "$T/out")"
	done
	real_crictl exec -s --timeout 1 "$CID" sleep 20000 >/dev/null 2>"$T/err"
	grep -q "timed out" "$T/err" && ok "crictl exec -s --timeout: timed out" || bad "crictl exec -s timeout" "$(cat "$T/err")"
fi
settled "part 1" "$FDS0"
call "StopPodSandbox" StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
stop_kumod
rm -rf "$T/root"
fi
[ "${STREAM_PART:-}" = 1 ] && finish

# === Part 2: real VMs ======================================================================
if [ ! -f "$HTTPD" ] || [ ! -f "$PODTOOL" ]; then
	bad "part 2" "$HTTPD or $PODTOOL is not built (make test-prereqs)"
	finish
fi
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
mkdir -p "$T/img/www"
cp "$HTTPD" "$T/img/app.wasm"
head -c 65536 /dev/urandom >"$T/img/www/f64k.bin"
head -c 1048576 /dev/urandom >"$T/img/www/f1m.bin"
oci_wasm_image "$T/img" /app.wasm /www "$T/oci" && oci_wasm_push "$T/oci" "$REG/web:v1" 2>"$T/push.log" ||
	bad "push the web image" "$(cat "$T/push.log")"
"$BIN/kumo" push "$PODTOOL" "$REG/podtool:v1" >"$T/push.log" 2>&1 || bad "push podtool" "$(cat "$T/push.log")"
start_kumod --vm-backend "$VM_BACKEND" --cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --pod-cidr "$CIDR"
call "PullImage web" PullImage "{\"image\":{\"image\":\"$REG/web:v1\"}}"
call "PullImage podtool" PullImage "{\"image\":{\"image\":\"$REG/podtool:v1\"}}"
call "RunPodSandbox web" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"web\",\"uid\":\"u2\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs\",\"port_mappings\":[{\"protocol\":\"TCP\",\"container_port\":8080}]}}"
WPOD=$(jq -r .pod_sandbox_id <<<"$OUT")
IP=$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$WPOD\"}" | jq -r .status.network.ip)
call "CreateContainer web" CreateContainer "{\"pod_sandbox_id\":\"$WPOD\",\"config\":{\"metadata\":{\"name\":\"srv\"},\"image\":{\"image\":\"$REG/web:v1\"},\"args\":[\"--root\",\"/www\"],\"log_path\":\"srv.log\",\"stdin\":true}}"
WCID=$(jq -r .container_id <<<"$OUT")
call "StartContainer web" StartContainer "{\"container_id\":\"$WCID\"}"
for _ in $(seq 600); do curl -s -o /dev/null --max-time 2 "http://$IP:8080/f64k.bin" && break; sleep 0.2; done
echo "     $(curl -s --max-time 5 "http://$IP:8080/f64k.bin" | wc -c) bytes by curl from the pod IP"
call "PortForward (a first session)" PortForward "{\"pod_sandbox_id\":\"$WPOD\"}"
client portforward "$(url)" --port 8080 --request 'GET /f64k.bin HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n' >/dev/null 2>&1
sleep 0.3
FDS0=$(fds)
REQ64='GET /f64k.bin HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n'
REQ1M='GET /f1m.bin HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n'

call "PortForward" PortForward "{\"pod_sandbox_id\":\"$WPOD\"}"
t0=$(date +%s%N)
got=$(client portforward "$(url)" --port 8080 -n 200 --request "$REQ64" --expect "$T/img/www/f64k.bin" 2>"$T/err")
t1=$(date +%s%N)
eq "port-forward (SPDY): 200 connections at once, byte-identical" "$got" "portforward: 200/200 byte-identical"
echo "     200 x 64 KiB through the VM under $(grep -o 'tcg\|kvm' "$T/kumod.log" | head -1): $(( (t1 - t0) / 1000000 )) ms"
call "PortForward (1 MiB)" PortForward "{\"pod_sandbox_id\":\"$WPOD\"}"
eq "port-forward (SPDY): 1 MiB, byte-identical" "$(client portforward "$(url)" --port 8080 --request "$REQ1M" --expect "$T/img/www/f1m.bin" 2>&1)" "portforward: 1/1 byte-identical"
call "PortForward (tunnel)" PortForward "{\"pod_sandbox_id\":\"$WPOD\"}"
eq "port-forward (WebSocket tunnel): 50 connections, byte-identical" "$(client --transport ws-tunnel portforward "$(url)" --port 8080 -n 50 --request "$REQ64" --expect "$T/img/www/f64k.bin" 2>&1)" "portforward: 50/50 byte-identical"
call "PortForward (no listener)" PortForward "{\"pod_sandbox_id\":\"$WPOD\"}"
t0=$(date +%s%N)
client portforward "$(url)" --port 8081 --request "$REQ64" >/dev/null 2>"$T/err"
case $(cat "$T/err") in *"error[0]: error forwarding port 8081 to pod $WPOD: connect to $IP:8081: Connection refused"*) ok "a port nothing listens on: the error on its stream";; *) bad "a port nothing listens on" "$(cat "$T/err")";; esac
eq "... at once, not a hang" "$(( ($(date +%s%N) - t0) / 1000000000 < 5 ))" 1
call "PortForward (channels)" PortForward "{\"pod_sandbox_id\":\"$WPOD\",\"port\":[8080,8081]}"
client --transport ws portforward "$(url)" -n 2 --request "$REQ64" >"$T/out" 2>"$T/err"
body() { python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.stdout.buffer.write(d[d.find(b"\r\n\r\n") + 4:])' "$1"; }
cmp -s <(body "$T/out") "$T/img/www/f64k.bin" && ok "port-forward (WebSocket channels): the file on port 8080" || bad "port-forward (channels)" "$(head -c 300 "$T/out")"
grep -q "error\[1\]: error forwarding port 8081" "$T/err" && ok "... and port 8081's error on its channel" || bad "port-forward (channels) 8081" "$(cat "$T/err")"
if [ -n "$REAL_CRICTL" ]; then
	for tr in spdy websocket; do
		"$REAL_CRICTL" --runtime-endpoint "unix://$SOCK" port-forward --transport $tr "$WPOD" 18080:8080 >"$T/pf.log" 2>&1 &
		PF=$!
		for _ in $(seq 100); do grep -q "Forwarding from 127.0.0.1:18080" "$T/pf.log" && break; sleep 0.1; done
		curl -s --max-time 30 -o "$T/got" http://127.0.0.1:18080/f1m.bin
		cmp -s "$T/got" "$T/img/www/f1m.bin" && ok "crictl port-forward ($tr): 1 MiB byte-identical" || bad "crictl port-forward ($tr)" "$(tail -3 "$T/pf.log")"
		n=0
		curls=()
		for i in $(seq 20); do
			curl -s --max-time 60 -o "$T/got$i" http://127.0.0.1:18080/f64k.bin &
			curls+=($!)
		done
		wait "${curls[@]}"
		for i in $(seq 20); do cmp -s "$T/got$i" "$T/img/www/f64k.bin" && n=$((n + 1)); done
		eq "crictl port-forward ($tr): 20 curls at once" "$n/20" "20/20"
		kill $PF; wait $PF 2>/dev/null
	done
fi
settled "port-forward to a VM" "$FDS0"
call "StopPodSandbox web" StopPodSandbox "{\"pod_sandbox_id\":\"$WPOD\"}"

# Attach to a VM: its stdout and stderr as it writes them, then success at its exit.
call "RunPodSandbox tool" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"tool\",\"uid\":\"u3\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs\"}}"
TPOD=$(jq -r .pod_sandbox_id <<<"$OUT")
tool() { # name -> a container that waits 4 s, then writes three lines and exits
	crictl CreateContainer "{\"pod_sandbox_id\":\"$TPOD\",\"config\":{\"metadata\":{\"name\":\"$1\"},\"image\":{\"image\":\"$REG/podtool:v1\"},\"args\":[\"sleep\",\"4000\",\"print\",\"alpha\",\"eprint\",\"beta\",\"sleep\",\"300\",\"print\",\"gamma\",\"exit\",\"0\"],\"log_path\":\"$1.log\"}}" | jq -r .container_id
}
TCID=$(tool t1)
call "StartContainer tool" StartContainer "{\"container_id\":\"$TCID\"}"
call "Attach to the VM" Attach "{\"container_id\":\"$TCID\",\"stdout\":true,\"stderr\":true}"
client attach "$(url)" >"$T/out" 2>"$T/err"
eq "attach: the VM's stdout" "$(cat "$T/out")" "$(printf 'alpha\ngamma')"
eq "attach: its stderr, then success at its exit" "$(cat "$T/err")" "$(printf 'beta\nstatus: success')"
if [ -n "$REAL_CRICTL" ]; then
	wait_state "$TCID" CONTAINER_EXITED
	for tr in spdy websocket; do
		TCID=$(tool "t-$tr")
		call "StartContainer tool ($tr)" StartContainer "{\"container_id\":\"$TCID\"}"
		real_crictl attach --transport $tr "$TCID" >"$T/out" 2>"$T/err"
		eq "crictl attach ($tr) to the VM: stdout" "$(cat "$T/out")" "$(printf 'alpha\ngamma')"
		grep -q "^beta$" "$T/err" && ok "crictl attach ($tr) to the VM: stderr" || bad "crictl attach ($tr) stderr" "$(cat "$T/err")"
		wait_state "$TCID" CONTAINER_EXITED
	done
fi
for _ in $(seq 100); do [ "$(stream_threads)" = 0 ] && break; sleep 0.05; done
eq "no streaming thread left after the attaches" "$(stream_threads)" 0
call "StopPodSandbox tool" StopPodSandbox "{\"pod_sandbox_id\":\"$TPOD\"}"

# === Exec and stdin in a pod VM =============================================================
# An image carrying tools: /app.wasm (podtool: the app), /bin/podtool.wasm, a Linux
# program and a script (what exec cannot run).
mkdir -p "$T/timg/bin"
cp "$PODTOOL" "$T/timg/app.wasm"
cp "$PODTOOL" "$T/timg/bin/podtool.wasm"
cp /bin/true "$T/timg/bin/true"
printf '#!/bin/sh\necho hi\n' >"$T/timg/bin/script"
oci_wasm_image "$T/timg" /app.wasm / "$T/toci" && oci_wasm_push "$T/toci" "$REG/tools:v1" 2>"$T/push.log" ||
	bad "push the tools image" "$(cat "$T/push.log")"
call "PullImage tools" PullImage "{\"image\":{\"image\":\"$REG/tools:v1\"}}"
call "RunPodSandbox ex" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"ex\",\"uid\":\"u4\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs\"}}"
XPOD=$(jq -r .pod_sandbox_id <<<"$OUT")
XDIR=$T/root/vms/kumopod-${XPOD:0:24}
copier() { # name stdin_once -> a container copying its stdin to its stdout, PATH=/bin
	crictl CreateContainer "{\"pod_sandbox_id\":\"$XPOD\",\"config\":{\"metadata\":{\"name\":\"$1\"},\"image\":{\"image\":\"$REG/tools:v1\"},\"args\":[\"copy\"],\"envs\":[{\"key\":\"PATH\",\"value\":\"/bin\"}],\"log_path\":\"$1.log\",\"stdin\":true,\"stdin_once\":$2}}" | jq -r .container_id
}
ECID=$(copier echo false)
call "StartContainer echo" StartContainer "{\"container_id\":\"$ECID\"}"
wait_state "$ECID" CONTAINER_RUNNING
exec_json() { # cmd-json [stdin] -> an Exec request for the echo container
	echo "{\"container_id\":\"$ECID\",\"cmd\":$1,\"stdout\":true,\"stderr\":true${2:+,\"stdin\":true}}"
}
call "Exec (a first one: compiles the tool)" Exec "$(exec_json '["/bin/podtool.wasm","exit","0"]')"
client exec "$(url)" >/dev/null 2>&1
sleep 0.3
FDS0=$(fds)
for tr in spdy ws; do
	call "Exec a tool module ($tr)" Exec "$(exec_json '["/bin/podtool.wasm","print","tool says hi","eprint","to stderr","exit","3"]')"
	client --transport $tr exec "$(url)" >"$T/out" 2>"$T/err"
	rc=$?
	eq "exec ($tr): the tool's stdout" "$(cat "$T/out")" "tool says hi"
	eq "exec ($tr): its stderr, then its exit code 3" "$rc/$(cat "$T/err")" "3/$(printf 'to stderr\nstatus: exit 3')"
	call "Exec a name on PATH ($tr)" Exec "$(exec_json '["podtool","print","found on PATH"]')"
	eq "exec ($tr): \`podtool\` is /bin/podtool.wasm" "$(client --transport $tr exec "$(url)" 2>"$T/err")/$(tail -1 "$T/err")" "found on PATH/status: success"
	call "Exec with stdin ($tr)" Exec "$(exec_json '["podtool","copy"]' in)"
	eq "exec ($tr): stdin through a copying command" "$(client --transport $tr exec "$(url)" --stdin "round trip over $tr\nsecond line\n" 2>/dev/null)" "$(printf 'round trip over %s\nsecond line' $tr)"
done
call "ExecSync: a probe that passes" ExecSync "{\"container_id\":\"$ECID\",\"cmd\":[\"podtool\",\"exit\",\"0\"],\"timeout\":30}"
eq "... exit code 0" "$(jq -r .exit_code <<<"$OUT")" 0
call "ExecSync: a probe that fails" ExecSync "{\"container_id\":\"$ECID\",\"cmd\":[\"podtool\",\"print\",\"not ready\",\"exit\",\"1\"],\"timeout\":30}"
eq "... exit code 1 and its output" "$(jq -r .exit_code <<<"$OUT")/$(jq -r .stdout <<<"$OUT" | base64 -d)" "1/not ready"
t0=$(date +%s%N)
code "ExecSync past its timeout" DeadlineExceeded ExecSync "{\"container_id\":\"$ECID\",\"cmd\":[\"podtool\",\"print\",\"sleeping\",\"sleep\",\"60000\"],\"timeout\":2}"
says "it says it timed out" "timed out after 2000 ms"
eq "... within 8 s" "$(( ($(date +%s%N) - t0) / 1000000000 < 8 ))" 1
for _ in $(seq 50); do grep -q "/bin/podtool.wasm.*ended: killed 137\|ended: killed 137" "$XDIR/exit.raw" && break; sleep 0.1; done
grep -q "ended: killed 137 (killed by the host)" "$XDIR/exit.raw" && ok "the timed-out command's instance was killed in the VM" ||
	bad "the timed-out instance was killed" "$(grep 'pod: container' "$XDIR/exit.raw" | tail -3)"
code "Exec of a shell" NotFound ExecSync "{\"container_id\":\"$ECID\",\"cmd\":[\"sh\",\"-c\",\"true\"],\"timeout\":10}"
says "it says what exec runs on kumo" "exec on kumo runs WebAssembly modules"
code "Exec of a Linux program" InvalidArgument ExecSync "{\"container_id\":\"$ECID\",\"cmd\":[\"/bin/true\"],\"timeout\":10}"
says "it says it is a Linux program" "is a Linux program (ELF), not a WebAssembly module"
code "Exec of a Linux program found on PATH" InvalidArgument ExecSync "{\"container_id\":\"$ECID\",\"cmd\":[\"true\"],\"timeout\":10}"
says "(\`true\` on PATH is /bin/true)" "\`/bin/true\`"
code "Exec of a script" InvalidArgument ExecSync "{\"container_id\":\"$ECID\",\"cmd\":[\"/bin/script\"],\"timeout\":10}"
says "it says it is a script" "is a script"
call "Exec of a missing path" Exec "$(exec_json '["/bin/nothing.wasm"]')"
client exec "$(url)" >/dev/null 2>"$T/err"
grep -q "status: failure: .*/bin/nothing.wasm.*is not a file of container" "$T/err" && ok "... fails on the stream, naming the path" || bad "exec of a missing path" "$(cat "$T/err")"
code "Exec in an unknown container" NotFound Exec '{"container_id":"0000dead","cmd":["podtool"],"stdout":true}'

# Attach: stdin reaches the app's fd 0; the copy comes back through its log.
for tr in spdy ws; do
	call "Attach with stdin ($tr)" Attach "{\"container_id\":\"$ECID\",\"stdin\":true,\"stdout\":true,\"stderr\":true}"
	eq "attach ($tr): the app echoes what it reads on stdin" "$(client --transport $tr attach "$(url)" --stdin "typed into the pod VM over $tr\n" --keep-stdin --until "typed into the pod VM over $tr" 2>/dev/null)" "typed into the pod VM over $tr"
done
eq "attach: the container's log has both lines once" "$(grep -c 'stdout F typed into the pod VM' "$T/logs/echo.log")" 2
OCID=$(copier once true)
call "StartContainer once" StartContainer "{\"container_id\":\"$OCID\"}"
wait_state "$OCID" CONTAINER_RUNNING
call "Attach (stdin_once)" Attach "{\"container_id\":\"$OCID\",\"stdin\":true,\"stdout\":true}"
client attach "$(url)" --stdin "only once\n" --no-stderr --until "only once" >/dev/null 2>&1
wait_state "$OCID" CONTAINER_EXITED && ok "stdin_once: the attach's end is the app's end-of-file (it exits)" || bad "stdin_once ends the app's stdin" "$(crictl ContainerStatus "{\"container_id\":\"$OCID\"}" | jq -c .status)"
eq "... exit code 0, its log the one line" "$(crictl ContainerStatus "{\"container_id\":\"$OCID\"}" | jq -r .status.exit_code)/$(grep -c 'stdout F only once' "$T/logs/once.log")" "0/1"
code "Exec in a stopped container" FailedPrecondition Exec "{\"container_id\":\"$OCID\",\"cmd\":[\"podtool\"],\"stdout\":true}"
says "it says it is not running" "is not running"

if [ -n "$REAL_CRICTL" ]; then
	for tr in spdy websocket; do
		eq "crictl exec ($tr) in the pod VM" "$(real_crictl exec --transport $tr "$ECID" podtool print "via crictl $tr")" "via crictl $tr"
		real_crictl exec --transport $tr "$ECID" /bin/podtool.wasm exit 5 >/dev/null 2>"$T/err"
		grep -q "command terminated with exit code 5" "$T/err" && ok "crictl exec ($tr): exit code 5" || bad "crictl exec ($tr) exit code" "$(cat "$T/err")"
		eq "crictl exec -i ($tr): stdin" "$(printf 'piped %s\n' $tr | real_crictl exec -i --transport $tr "$ECID" podtool copy)" "piped $tr"
		( (printf 'crictl stdin %s\n' $tr; sleep 3) | timeout -s KILL 6 "$REAL_CRICTL" --runtime-endpoint "unix://$SOCK" attach -i --transport $tr "$ECID" >"$T/out" ) 2>/dev/null
		grep -q "^crictl stdin $tr$" "$T/out" && ok "crictl attach -i ($tr): stdin echoed by the app" || bad "crictl attach -i ($tr)" "$(cat "$T/out")"
	done
	eq "crictl exec -s" "$(real_crictl exec -s "$ECID" podtool print synced 2>&1)" "synced"
	real_crictl exec -s --timeout 2 "$ECID" podtool sleep 60000 >/dev/null 2>"$T/err"
	grep -q "timed out" "$T/err" && ok "crictl exec -s --timeout: timed out" || bad "crictl exec -s --timeout" "$(cat "$T/err")"
fi

# Nothing left behind: threads, fds, transient containers (pod.json; the kernel's log:
# every command's container created was removed).
call "RemoveContainer once" RemoveContainer "{\"container_id\":\"$OCID\"}"
settled "exec and attach in a pod VM" "$FDS0"
transients() { grep -o '"id":"exec-[^"]*"' "$XDIR/pod.json" | wc -l; }
eq "no transient container left in pod.json" "$(transients)" 0
removed_all() { # every `/bin/podtool.wasm` container the kernel created was removed
	[ "$(grep -c 'container [0-9]* `/bin/podtool.wasm` created' "$XDIR/exit.raw")" = "$(grep -c 'container [0-9]* `/bin/podtool.wasm` removed' "$XDIR/exit.raw")" ]
}
for _ in $(seq 50); do removed_all && break; sleep 0.1; done
removed_all && ok "every command's container was removed in the VM ($(grep -c '`/bin/podtool.wasm` removed' "$XDIR/exit.raw") of them)" ||
	bad "every command's container was removed" "$(grep -c '`/bin/podtool.wasm` created' "$XDIR/exit.raw") created, $(grep -c '`/bin/podtool.wasm` removed' "$XDIR/exit.raw") removed"

# kill -9 of kumod during an exec: the restart ends the command and removes it.
call "Exec (to be cut by kill -9)" Exec "$(exec_json '["podtool","print","started","sleep","600000"]')"
client exec "$(url)" >/dev/null 2>&1 &
CL=$!
for _ in $(seq 200); do [ "$(transients)" = 1 ] && grep -q "sleep" "$XDIR/exit.raw" && break; sleep 0.05; done
sleep 1
eq "the running command is a transient container in pod.json" "$(transients)" 1
kill -9 "$KPID"; wait "$KPID" 2>/dev/null; KPID=
kill "$CL" 2>/dev/null; wait "$CL" 2>/dev/null
start_kumod --vm-backend "$VM_BACKEND" --cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --pod-cidr "$CIDR"
for _ in $(seq 100); do grep -q "a command exec ran when kumod stopped" "$T/kumod.log" && break; sleep 0.1; done
grep -q "a command exec ran when kumod stopped (cid [0-9]*) was killed and removed" "$T/kumod.log" &&
	ok "after the restart the orphaned command was killed and removed" || bad "the restart ends the command" "$(grep -i 'exec\|pod VM' "$T/kumod.log" | tail -3)"
eq "... no transient container left" "$(transients)" 0
for _ in $(seq 50); do removed_all && break; sleep 0.1; done
removed_all && ok "... and the kernel removed it" || bad "the kernel removed it" "$(grep 'pod: container' "$XDIR/exit.raw" | tail -3)"
eq "the app still runs" "$(crictl ContainerStatus "{\"container_id\":\"$ECID\"}" | jq -r .status.state)" CONTAINER_RUNNING
call "Exec after the restart" ExecSync "{\"container_id\":\"$ECID\",\"cmd\":[\"podtool\",\"print\",\"again\"],\"timeout\":30}"
eq "... works" "$(jq -r .stdout <<<"$OUT" | base64 -d)" again
call "StopPodSandbox ex" StopPodSandbox "{\"pod_sandbox_id\":\"$XPOD\"}"
stop_kumod
finish
