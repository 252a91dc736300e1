#!/usr/bin/env bash
# tests/e2e/cni-podnet.sh - pod networks from Debian's CNI plugins (/usr/lib/cni), taken
# over by kumo VMs, step by step through tests/support/podnet_tool.c (what kumod will do per
# pod), in network and mount namespaces of the script's own (the host is untouched):
#   - NetworkReady's answer with no configuration, a plugin missing, and the default
#     network list written for a fresh node;
#   - on the default list (bridge + host-local + portmap + loopback): a kumo VM serving
#     files (tests/apps/net_httpd.c) answers the node on its pod IP and on a hostPort
#     (portmap) from an outside host; a VM in a second pod fetches from the first by pod
#     IP, and from the outside host through the bridge's masquerade (net_client.c);
#   - the same with a ptp network list (the VM does not depend on the bridge);
#   - libvirt (when libvirtd runs or can be started): the tap made in the pod's namespace
#     (as kumod does) goes to libvirtd's for the create and back, for the pod's first and
#     second VM; one made in libvirtd's namespace moves into the pod; the VMs answer;
#   - kill -9 of the process after ADD, and in the middle of ADD, then recovery: no
#     address left in host-local's store, no tap, no namespace, no rule;
#   - bad configurations: no configuration, a plugin missing from the path, a plugin
#     that fails (its message passed on), a malformed result — nothing left behind.
# Boots VMs: run it under /work/ext/nokvm on PVM machines. Prints `cni-podnet: N passed, N failed`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TOOL=${PODNET_TOOL:-$ROOT/$BUILD/tests/support/podnet-tool}
HTTPD=$ROOT/$BUILD/tests/guest/net_httpd.elf
CLIENT=$ROOT/$BUILD/tests/guest/net_client.elf
PLUGINS=${CNI_PLUGIN_DIR:-/usr/lib/cni}
T=$(mktemp -d /tmp/kumo-cni-podnet.XXXXXX)
SUITE=cni-podnet
# cri-lib.sh's crictl() is not used here; its counters and checks are.
BIN=$ROOT/$BUILD/bin SOCK=$T/none CRICTL_TIMEOUT=1
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
PIDS=()
LIBVIRT_STARTED=0

cleanup() {
	# TERM first: a tool that boots a VM stops it; what does not end in 5 s is killed.
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		local alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ $LIBVIRT_STARTED = 1 ]; then bash "$ROOT/deploy/start-libvirtd.sh" --stop >/dev/null 2>&1; fi
	# The pins' directory is a mount point of its own (a shared one, as /run/netns).
	umount -l "$T/netns" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

for f in "$TOOL" "$HTTPD" "$CLIENT" "$PLUGINS/bridge" "$PLUGINS/ptp" "$PLUGINS/host-local" "$PLUGINS/portmap"; do
	[ -e "$f" ] || { bad "prerequisite" "$f is missing (make test-prereqs; containernetworking-plugins)"; finish; }
done

# The node has an uplink to an "outside" host (its own namespace, 192.168.77.2) with a
# web server; the outside knows no pod network, so only masqueraded traffic returns.
mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns
ip netns add outside
ip link add uplink0 type veth peer name wan0 netns outside
ip addr add 192.168.77.1/24 dev uplink0 && ip link set uplink0 up
ip -n outside addr add 192.168.77.2/24 dev wan0 && ip -n outside link set wan0 up && ip -n outside link set lo up
mkdir -p "$T/outside" && echo "hello from outside" >"$T/outside/egress.txt"
ip netns exec outside python3 -m http.server --bind 192.168.77.2 --directory "$T/outside" 8000 \
	>"$T/outside.log" 2>&1 &
PIDS+=($!)

# What the VMs serve.
mkdir -p "$T/root/www"
head -c 48000 /dev/urandom | base64 >"$T/root/www/index.html"
tar --format=ustar -C "$T/root" -cf "$T/rootfs.tar" www

tool() { # [opts...] CMD ARGS...: the tool on this script's state, pins and plugins
	"$TOOL" --state-dir "$T/state" --netns-dir "$T/netns" --plugin-path "${PLUGIN_PATH:-$PLUGINS}" \
		--timeout-ms 60000 "$@"
}
# tool_bg OUT ERR [opts...] CMD ARGS...: the same in the background; $BGPID is the tool's
# own pid (not a subshell's), so signals reach it.
tool_bg() {
	local out=$1 err=$2; shift 2
	"$TOOL" --state-dir "$T/state" --netns-dir "$T/netns" --plugin-path "${PLUGIN_PATH:-$PLUGINS}" \
		--timeout-ms 60000 "$@" >"$out" 2>"$err" &
	BGPID=$!
	PIDS+=($BGPID)
}
addresses() { find "$T/ipam" -type f -name '[0-9]*.[0-9]*.[0-9]*.[0-9]*' 2>/dev/null | wc -l; }
# iptables-save prints the plugins' comments as "name: \"NET\" id: \"ID\""
rules_of() { iptables-save | grep -cF -- "id: \\\"$1\\\""; }
taps() { ip -o link show | grep -c ': kc'; }
pins() { find "$T/netns" -mindepth 1 2>/dev/null | wc -l; }
records() { find "$T/state" -name '*.json' 2>/dev/null | wc -l; }
# nothing_left NAME ID: the checks every teardown and recovery must pass
nothing_left() {
	eq "$1: no address in host-local's store" "$(addresses)" 0
	eq "$1: no rule for the pod" "$(rules_of "$2")" 0
	eq "$1: no hostPort chain" "$(iptables-save -t nat | grep -c '^:CNI-DN-')" 0
	eq "$1: no tap" "$(taps)" 0
	eq "$1: no namespace" "$(pins)" 0
	eq "$1: no record" "$(records)" 0
}
# A network list file: netlist FILE NAME MAIN_PLUGIN_JSON [EXTRA_PLUGIN_JSON...]
netlist() {
	local f=$1 name=$2; shift 2
	local plugins; plugins=$(IFS=,; echo "$*")
	mkdir -p "$(dirname "$f")"
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$name\",\"plugins\":[$plugins]}" >"$f"
}
ipam() { echo "{\"type\":\"host-local\",\"dataDir\":\"$T/ipam\",\"ranges\":[[{\"subnet\":\"$1\"}]],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}"; }
PORTMAP='{"type":"portmap","capabilities":{"portMappings":true}}'
LOOPBACK='{"type":"loopback"}'

# initrd POD ARGS_JSON LISTEN_JSON [tool opts]: $T/POD.img, the boot network from the
# pod's setup as kumod will give it (the CNI interface's MAC, the on-link prefix, MTU
# capped at the kernel's 1500).
initrd() {
	local pod=$1 args=$2 listen=$3; shift 3
	local pn net
	pn=$(tool "$@" get "$pod") || { bad "boot $pod" "no network"; return 1; }
	net=$(jq -c --argjson listen "$listen" '{mac, address: "\(.address)/\(.onlink_prefix)",
		gateway, mtu: ([.mtu, 1500] | min), dns: .dns_servers, listen: $listen}' <<<"$pn")
	bash "$ROOT/tests/support/mkinitrd.sh" "$T/$pod.img" \
		"{\"version\": 1, \"args\": $args, \"preopens\": [{\"guest\": \"/www\", \"path\": \"/www\"}], \"net\": $net}" \
		"$T/rootfs.tar"
}
# boot POD ARGS_JSON LISTEN_JSON ELF [tool opts]: a VM on POD's network in the background
# ($VMPID, output $T/vm-POD.out and .log).
boot() {
	local pod=$1 args=$2 listen=$3 elf=$4; shift 4
	initrd "$pod" "$args" "$listen" "$@" || return 1
	tool_bg "$T/vm-$pod.out" "$T/vm-$pod.log" "$@" --run-dir "$T/run" boot "$pod" "$elf" "$T/$pod.img"
	VMPID=$BGPID
}
stop_vm() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# fetch NAME URL [curl opts]: the served file comes back intact (retrying while the VM boots)
fetch() {
	local name=$1 url=$2; shift 2
	local body= deadline=$((SECONDS + ${FETCH_SECS:-90}))
	while [ $SECONDS -lt $deadline ]; do
		body=$(curl -s --max-time 3 "$@" "$url") && [ -n "$body" ] && break
		body=; sleep 0.3
	done
	eq "$name" "$body" "$(cat "$T/root/www/index.html")"
}
# client_run NAME POD HOST PORT PATH WANT: net_client in a VM on POD fetches and prints WANT
client_run() {
	local name=$1 pod=$2 host=$3 port=$4 path=$5 want=$6
	local rc
	initrd "$pod" "[\"net_client.wasm\", \"$host\", \"$port\", \"$path\"]" '[]' || return 1
	# SIGTERM makes the tool stop its VM.
	timeout -s TERM 240 "$TOOL" --state-dir "$T/state" --run-dir "$T/run" boot "$pod" "$CLIENT" \
		"$T/$pod.img" >"$T/vm-$pod.out" 2>"$T/vm-$pod.log"
	rc=$?
	if [ $rc -eq 0 ] && grep -qF -- "$want" "$T/vm-$pod.out"; then ok "$name"
	else bad "$name" "exit $rc; $(tail -2 "$T/vm-$pod.log" | tr '\n' ' ') $(tail -2 "$T/vm-$pod.out" | tr '\n' ' ')"; fi
}

# --- NetworkReady, and the default list of a fresh node -------------------------------------
NETD=$T/net.d
out=$(tool --conf-dir "$NETD" ready)
case $out in
"not ready: NetworkPluginNotReady: cni: no network configuration: \`$NETD\` does not exist") ok "no configuration: not ready, saying so" ;;
*) bad "no configuration: not ready" "$out" ;;
esac
eq "a fresh node gets the default list" "$(tool default-conf "$NETD" 10.99.0.0/24)" written
eq "the default list is kept once written" "$(tool default-conf "$NETD" 10.99.0.0/24)" kept
eq "the default list uses kubelet's pod CIDR" \
	"$(jq -r '.plugins[0].ipam.ranges[0][0].subnet' "$NETD/99-kumo.conflist")" 10.99.0.0/24
eq "with it, the network is ready" "$(tool --conf-dir "$NETD" ready)" ready
out=$(PLUGIN_PATH=$T/nowhere tool --conf-dir "$NETD" ready)
case $out in
*"plugins \`bridge\`, \`portmap\`, \`loopback\` are not in the plugin path \`$T/nowhere\`") ok "plugins missing: not ready, naming them" ;;
*) bad "plugins missing: not ready" "$out" ;;
esac
# This script's host-local store instead of /var/lib/cni/networks.
# The network's DNS (the bridge plugin passes its "dns" key into the result).
jq --arg d "$T/ipam" '.plugins[0].ipam.dataDir = $d |
	.plugins[0].dns = {nameservers: ["10.96.0.10"], search: ["default.svc.cluster.local"]}' \
	"$NETD/99-kumo.conflist" >"$T/default.conflist"
BRIDGE=(--conf-file "$T/default.conflist")

# --- The bridge network: host -> pod, hostPort, pod -> pod, pod -> egress -------------------
pa=$(tool "${BRIDGE[@]}" --name web --namespace default --uid uid-a --port tcp:18080:8080 setup poda)
IPA=$(jq -r .address <<<"$pa")
case $IPA in 10.99.0.*) ok "pod A has an address from the pod CIDR ($IPA)" ;; *) bad "pod A's address" "$pa" ;; esac
eq "pod A: the guest gets eth0's MAC" "$(jq -r .mac <<<"$pa")" \
	"$(nsenter --net="$T/netns/poda" ip -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
eq "pod A: gateway, on-link /24 on a bridge" "$(jq -r '"\(.gateway) \(.onlink_prefix) \(.mtu)"' <<<"$pa")" "10.99.0.1 24 1500"
eq "pod A: the result's DNS" "$(jq -c '[.dns_servers, .dns_search]' <<<"$pa")" '[["10.96.0.10"],["default.svc.cluster.local"]]'
tc_out=$(nsenter --net="$T/netns/poda" tc filter show dev eth0 ingress)
if grep -q "Egress Redirect to device $(jq -r .tap <<<"$pa")" <<<"$tc_out"; then ok "pod A: eth0's ingress is redirected to the tap"; else bad "pod A: redirect" "$tc_out"; fi
eq "pod A: one rule set by portmap and bridge for the pod" "$([ "$(rules_of poda)" -gt 0 ] && echo yes)" yes
boot poda '["net_httpd.wasm", "--root", "/www", "--quiet"]' '["tcp:0.0.0.0:8080"]' "$HTTPD"
VMA=$VMPID
fetch "host -> pod IP: the VM serves the file" "http://$IPA:8080/index.html"
out=$(ip netns exec outside curl -s --max-time 20 --retry 3 "http://192.168.77.1:18080/index.html")
eq "outside host -> hostPort 18080 (portmap) -> the VM" "$out" "$(cat "$T/root/www/index.html")"
fetch "node -> its own address:hostPort -> the VM" "http://192.168.77.1:18080/index.html"

pb=$(tool "${BRIDGE[@]}" --name client --namespace default setup podb)
eq "pod B has another address" "$([ "$(jq -r .address <<<"$pb")" != "$IPA" ] && jq -r .address <<<"$pb" | grep -c '^10\.99\.0\.')" 1
client_run "pod B's VM -> pod A's VM by pod IP over the bridge" podb "$IPA" 8080 /index.html \
	"$(head -1 "$T/root/www/index.html")"
client_run "pod B's VM -> the outside host (egress)" podb 192.168.77.2 8000 /egress.txt "hello from outside"
from=$(grep -o '^[0-9.]* - - .*GET /egress.txt' "$T/outside.log" | tail -1 | cut -d' ' -f1)
eq "egress is masqueraded to the node's address" "$from" 192.168.77.1
eq "CNI CHECK of pod B passes" "$(tool "${BRIDGE[@]}" check podb 2>&1 && echo passed)" passed
stop_vm "$VMA"
for p in poda podb; do tool teardown $p || bad "teardown $p" "failed"; done
nothing_left "bridge teardown" poda

# --- Pods set up in parallel: distinct addresses, all torn down ------------------------------
for i in 1 2 3 4 5 6; do tool_bg "$T/par$i.out" "$T/par$i.err" "${BRIDGE[@]}" setup par$i; done
for p in "${PIDS[@]: -6}"; do wait "$p"; done
eq "6 pods set up at once get 6 distinct addresses" \
	"$(cat "$T"/par?.out | jq -r .address | sort -u | grep -c '^10\.99\.0\.')" 6
for i in 1 2 3 4 5 6; do tool_bg /dev/null "$T/par$i.err" teardown par$i; done
for p in "${PIDS[@]: -6}"; do wait "$p"; done
nothing_left "6 pods torn down at once" par1

# --- A ptp network list: the VM does not depend on the bridge ---------------------------------
# ...with a smaller MTU (the guest follows the CNI interface) and the bandwidth plugin.
netlist "$T/ptp.conflist" kumo-ptp "{\"type\":\"ptp\",\"ipMasq\":true,\"mtu\":1400,\"ipam\":$(ipam 10.98.0.0/24)}" \
	'{"type":"bandwidth","capabilities":{"bandwidth":true}}' "$PORTMAP" "$LOOPBACK"
PTP=(--conf-file "$T/ptp.conflist")
pc=$(tool "${PTP[@]}" --port tcp:18081:8080 --bandwidth 200000000,2000000 setup podc)
IPC=$(jq -r .address <<<"$pc")
eq "ptp: the guest routes everything through the gateway (/32)" "$(jq -r '"\(.prefix) \(.onlink_prefix)"' <<<"$pc")" "24 32"
eq "ptp: the guest's MTU is the CNI interface's (1400)" "$(jq -r .mtu <<<"$pc")" 1400
eq "ptp: the tap has that MTU too" \
	"$(nsenter --net="$T/netns/podc" ip -o link show "$(jq -r .tap <<<"$pc")" | grep -o 'mtu [0-9]*')" "mtu 1400"
# The plugin shapes both ways: tbf on the host veth (to the pod) and on its ifb (from it).
eq "ptp: the bandwidth capability reached the bandwidth plugin (tbf both ways)" \
	"$(tc qdisc show | grep -c '^qdisc tbf')" 2
boot podc '["net_httpd.wasm", "--root", "/www", "--quiet"]' '["tcp:0.0.0.0:8080"]' "$HTTPD" "${PTP[@]}"
VMC=$VMPID
fetch "ptp: host -> pod IP ($IPC)" "http://$IPC:8080/index.html"
out=$(ip netns exec outside curl -s --max-time 20 --retry 3 "http://192.168.77.1:18081/index.html")
eq "ptp: outside host -> hostPort -> the VM" "$out" "$(cat "$T/root/www/index.html")"
pd=$(tool "${PTP[@]}" setup podd)
client_run "ptp: pod D's VM -> pod C's VM" podd "$IPC" 8080 /index.html "$(head -1 "$T/root/www/index.html")"
client_run "ptp: pod D's VM -> the outside host (egress)" podd 192.168.77.2 8000 /egress.txt "hello from outside"
stop_vm "$VMC"
for p in podc podd; do tool teardown $p || bad "teardown $p" "failed"; done
nothing_left "ptp teardown" podc
eq "ptp teardown: no shaping device left" "$(ip -o link show | grep -c ': bwp')" 0

# --- libvirt: libvirt opens taps by name in its own namespace -------------------------------
# libvirtd runs in the machine's namespace (or is started here, in this script's): vmm
# brings the pod's tap there for the create, and into the pod once libvirt opened it.
if [ "${CNI_PODNET_LIBVIRT:-1}" = 1 ]; then
	if ! bash "$ROOT/deploy/start-libvirtd.sh" --status >/dev/null 2>&1; then
		LIBVIRT_STARTED=1
		bash "$ROOT/deploy/start-libvirtd.sh" >"$T/libvirtd-start.log" 2>&1 || LIBVIRT_STARTED=2
	fi
	lvpid=$(pidof libvirtd | awk '{print $1}')
	if [ $LIBVIRT_STARTED = 2 ] || [ -z "$lvpid" ]; then
		bad "libvirt" "no libvirtd: $(tail -2 "$T/libvirtd-start.log" 2>/dev/null)"
	else
		LV=(--host-netns "/proc/$lvpid/ns/net")
		in_lv() { nsenter --net="/proc/$lvpid/ns/net" ip -o link show "$1" 2>/dev/null | grep -c "$1"; }
		in_pod() { nsenter --net="$T/netns/$1" ip -o link show "$2" 2>/dev/null | grep -c "$2"; }
		# As kumod does it: the tap made in the pod's namespace; vmm_create brings it to
		# libvirtd for the create and back into the pod.
		pe=$(tool "${BRIDGE[@]}" "${LV[@]}" setup pode)
		tape=$(jq -r .tap <<<"$pe")
		eq "libvirt: the tap starts in the pod's namespace" "$(in_pod pode "$tape")/$(in_lv "$tape")" 1/0
		boot pode '["net_httpd.wasm", "--root", "/www", "--quiet"]' '["tcp:0.0.0.0:8080"]' "$HTTPD" \
			"${BRIDGE[@]}" "${LV[@]}" --backend libvirt
		VME=$VMPID
		fetch "libvirt: host -> pod IP, through the tap libvirt opened in its namespace before it moved" \
			"http://$(jq -r .address <<<"$pe"):8080/index.html"
		eq "libvirt: after the create the tap is back in the pod's namespace" "$(in_pod pode "$tape")/$(in_lv "$tape")" 1/0
		stop_vm "$VME"
		# The pod's next VM: the tap leaves the pod (its redirect removed) and comes back.
		boot pode '["net_httpd.wasm", "--root", "/www", "--quiet"]' '["tcp:0.0.0.0:8080"]' "$HTTPD" \
			"${BRIDGE[@]}" "${LV[@]}" --backend libvirt
		VME=$VMPID
		fetch "libvirt: the pod's second VM answers on the same pod IP" \
			"http://$(jq -r .address <<<"$pe"):8080/index.html"
		stop_vm "$VME"
		tool "${LV[@]}" teardown pode || bad "libvirt teardown" "failed"
		nothing_left "libvirt teardown" pode
		# Made in libvirtd's namespace at setup (the other way round): the same.
		pf=$(tool "${BRIDGE[@]}" "${LV[@]}" --tap-in-host setup podf)
		tapf=$(jq -r .tap <<<"$pf")
		eq "libvirt: a tap made in libvirtd's namespace waits there" "$(in_lv "$tapf")" 1
		boot podf '["net_httpd.wasm", "--root", "/www", "--quiet"]' '["tcp:0.0.0.0:8080"]' "$HTTPD" \
			"${BRIDGE[@]}" "${LV[@]}" --backend libvirt
		VMF=$VMPID
		fetch "libvirt: host -> pod IP, the tap made in libvirtd's namespace" \
			"http://$(jq -r .address <<<"$pf"):8080/index.html"
		eq "libvirt: the tap left libvirtd's namespace" "$(in_lv "$tapf")" 0
		stop_vm "$VMF"
		tool "${LV[@]}" teardown podf || bad "libvirt teardown" "failed"
		nothing_left "libvirt teardown (tap made in libvirtd's namespace)" podf
		eq "libvirt: no tap left in libvirtd's namespace" \
			"$(nsenter --net="/proc/$lvpid/ns/net" ip -o link show 2>/dev/null | grep -c ': kc')" 0
	fi
fi

# --- kill -9 after ADD (before any VM), then recovery ----------------------------------------
tool_bg "$T/hold.out" "$T/hold.err" "${BRIDGE[@]}" --tap-in-host --port tcp:18082:8080 hold podk
hp=$BGPID
for _ in $(seq 300); do [ -s "$T/hold.out" ] && break; sleep 0.1; done
kill -9 $hp; wait $hp 2>/dev/null
eq "after kill -9: the pod's address is still allocated" "$(addresses)" 1
eq "after kill -9: its tap is still there" "$(taps)" 1
eq "after kill -9: its rules are still there" "$([ "$(rules_of podk)" -gt 0 ] && echo yes)" yes
eq "recovery tears the dead pod down" "$(tool recover)" "recovered 1"
nothing_left "kill -9 after ADD, recovery" podk

# --- kill -9 in the middle of ADD (a chained plugin hangs), then recovery --------------------
# shellcheck source=../lib/cni.sh
. "$HERE/../lib/cni.sh"
cni_fake_plugins "$T/fake" "$T/hang.pid"
FAKE_PATH=$PLUGINS:$T/fake
bridge_plus() { # FILE PLUGIN: the default bridge list with PLUGIN chained after bridge
	netlist "$1" kumo "$(jq -c '.plugins[0]' "$T/default.conflist")" "{\"type\":\"$2\"}" "$PORTMAP"
}
bridge_plus "$T/hang.conflist" kumo-hang
PLUGIN_PATH=$FAKE_PATH tool_bg /dev/null "$T/hang.err" --conf-file "$T/hang.conflist" \
	--port tcp:18083:8080 setup podh
sp=$BGPID
for _ in $(seq 300); do [ -s "$T/hang.pid" ] && break; sleep 0.1; done
kill -9 $sp; wait $sp 2>/dev/null
[ -s "$T/hang.pid" ] && kill -9 "$(cat "$T/hang.pid")" 2>/dev/null
eq "killed during ADD: the bridge plugin had allocated an address" "$(addresses)" 1
eq "killed during ADD: recovery DELs it" "$(PLUGIN_PATH=$FAKE_PATH tool recover)" "recovered 1"
nothing_left "kill -9 during ADD, recovery" podh

# --- Bad configurations: clear errors, nothing left ------------------------------------------
err_of() { tool "$@" 2>&1 >/dev/null; }
out=$(err_of --conf-dir "$T/empty.d" setup podx)
case $out in *"no network configuration: \`$T/empty.d\` does not exist"*) ok "no configuration: setup says so" ;; *) bad "no configuration" "$out" ;; esac
out=$(PLUGIN_PATH=$T/nowhere err_of "${BRIDGE[@]}" setup podx)
case $out in *"are not in the plugin path \`$T/nowhere\`"*) ok "plugins missing: setup names them" ;; *) bad "plugins missing" "$out" ;; esac
bridge_plus "$T/fail.conflist" kumo-fail
out=$(PLUGIN_PATH=$FAKE_PATH err_of --conf-file "$T/fail.conflist" setup podx)
case $out in *"plugin \`kumo-fail\` ADD failed: kumo-fail refuses: as told (code 105)"*) ok "a failing plugin: its message passed on" ;; *) bad "a failing plugin" "$out" ;; esac
nothing_left "a failing plugin: DEL undid the bridge's ADD" podx
bridge_plus "$T/garbage.conflist" kumo-garbage
out=$(PLUGIN_PATH=$FAKE_PATH err_of --conf-file "$T/garbage.conflist" setup podx)
case $out in *"plugin \`kumo-garbage\` ADD: malformed result: the result is not valid JSON"*) ok "a malformed result: said so" ;; *) bad "a malformed result" "$out" ;; esac
nothing_left "a malformed result: DEL undid the bridge's ADD" podx
eq "teardown of a pod never set up is fine" "$(tool teardown podnever && echo fine)" fine
finish
