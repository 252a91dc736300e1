#!/usr/bin/env bash
# tests/e2e/cri-net.sh - pod networking of kumod's REAL backend through the CRI socket, on
# CNI with Debian's plugins (/usr/lib/cni), in network and mount namespaces of the
# script's own (host-local's store /var/lib/cni is a tmpfs here; the host is untouched):
#   - a fresh node: kumod writes the default network list into the empty conf dir, and
#     UpdateRuntimeConfig's pod CIDR rewrites it; NetworkReady with no list, with a plugin
#     missing; RunPodSandbox's clear errors for those, a plugin that fails (its own
#     message), a malformed result, a bad bandwidth annotation — nothing left behind;
#   - on the bridge list: the pod IP in PodSandboxStatus and in host-local's store, the
#     pod's namespace, the container VM's boot config (address, gateway, MTU, the CNI
#     interface's MAC, DNS and searches from the DNSConfig, hostname, ports as listening
#     sockets), one VM at a time on the pod's NIC (init container, then the server);
#     host -> pod IP, an outside host -> hostPort (portmap), pod -> pod by pod IP (the
#     client app in a second kumo pod), pod -> an outside host through the bridge's
#     masquerade; the pod keeps its network across SIGTERM and kill -9 of kumod;
#   - kill -9 of kumod between ADD and the VM's start, then restart and StopPodSandbox,
#     and kill -9 in the middle of ADD, then restart (recovery): no address in
#     host-local's store, no tap, no namespace, no rule, no record;
#   - a second network list with ptp (MTU 1400, the bandwidth plugin fed by the pod's
#     bandwidth annotations): host -> pod, pod -> pod, the guest on /32 with MTU 1400;
#   - containerd (tests/e2e/containerd-lib.sh) on the same conf dir, so on the same list
#     and address pool: a busybox pod and kumo pods reach each other by pod IP.
# POD_VM (default true, kumod's default): the pod is one VM booted at RunPodSandbox (the
# boot config's network is the pod VM's, a container's listening sockets and mounts are
# in its CREATE config, and a second container runs beside the first); false: each
# container its own VM taking the pod's NIC in turn.
# Boots VMs (TCG when KVM cannot run kumo's guests). Prints `cri-net: N passed, N failed`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
BUILD=${BUILD:-build}
BIN=$BUILD/bin
APPS=$BUILD/apps
VM_BACKEND=${VM_BACKEND:-qemu}
POD_VM=${POD_VM:-true}
HTTPD=${HTTPD:-$APPS/net_httpd.wasm}
CLIENT=${CLIENT:-$APPS/net_client.wasm}
PLUGINS=${CNI_PLUGIN_DIR:-/usr/lib/cni}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/kumo-cri-net.XXXXXX)
SOCK=$T/kumo.sock
KPID=
SUITE=cri-net
CRICTL_TIMEOUT=120
NETD=$T/net.d
NETNS=$T/netns
STORE=/var/lib/cni/networks
CIDR=10.78.0.0/24
CTRD=0
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
# shellcheck source=../lib/oci-wasm-image.sh
. "$HERE/../lib/oci-wasm-image.sh"
# shellcheck source=../lib/containerd.sh
. "$HERE/../lib/containerd.sh"

cleanup() {
	[ -n "$KPID" ] && kill -9 "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	for f in "$T"/root/vms/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
	[ $CTRD = 1 ] && containerd_stop
	[ -n "${OUTPID:-}" ] && kill "$OUTPID" 2>/dev/null
	[ -s "$T/hang.pid" ] && kill -9 "$(cat "$T/hang.pid")" 2>/dev/null
	registry_stop
	umount -l "$NETNS" 2>/dev/null
	# What kumod left bound under $T (pods' staged mounts) goes before the files.
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

for f in "$PLUGINS/bridge" "$PLUGINS/ptp" "$PLUGINS/host-local" "$PLUGINS/portmap" "$PLUGINS/bandwidth"; do
	[ -e "$f" ] || { bad "prerequisite" "$f is missing (containernetworking-plugins)"; finish; }
done
# host-local's default store, and `ip netns`'s pins, private to this script.
mkdir -p /var/lib/cni /run/netns && mount -t tmpfs tmpfs /var/lib/cni && mount -t tmpfs tmpfs /run/netns

# The node's uplink to an "outside" host (its own namespace, 192.168.77.2) with a web
# server: the outside knows no pod network, so only masqueraded traffic returns.
ip netns add outside
ip link add uplink0 type veth peer name wan0 netns outside
ip addr add 192.168.77.1/24 dev uplink0 && ip link set uplink0 up
ip -n outside addr add 192.168.77.2/24 dev wan0 && ip -n outside link set wan0 up && ip -n outside link set lo up
mkdir -p "$T/outside" && echo "hello from outside" >"$T/outside/egress.txt"
ip netns exec outside python3 -m http.server --bind 192.168.77.2 --directory "$T/outside" 8000 \
	>"$T/outside.log" 2>&1 &
OUTPID=$!

# Plugins of our own for the bad cases (kumod's plugin path has them after Debian's).
# shellcheck source=../lib/cni.sh
. "$HERE/../lib/cni.sh"
cni_fake_plugins "$T/fake" "$T/hang.pid"

start_kumod() {
	"$BIN/kumod" --socket "$SOCK" --root "$T/root" --vm-backend "$VM_BACKEND" --pod-vm "$POD_VM" \
		--cni-conf-dir "$NETD" --cni-bin-dirs "$PLUGINS:$T/fake" --netns-dir "$NETNS" \
		--pod-cidr 10.77.0.0/24 --log-level debug "$@" 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
stop_kumod() { kill -TERM "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; KPID=; }
kill_kumod() { kill -9 "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; KPID=; }

addresses() { find "$STORE" -type f -name '[0-9]*.[0-9]*.[0-9]*.[0-9]*' 2>/dev/null | wc -l; }
# iptables-save prints the plugins' comments as "name: \"NET\" id: \"ID\""
rules_of() { iptables-save | grep -cF -- "id: \\\"$1\\\""; }
pins() { find "$NETNS" -mindepth 1 2>/dev/null | wc -l; }
records() { find "$T/root/cni" -name '*.json' 2>/dev/null | wc -l; }
# taps: kumo's taps here and in every pod namespace
taps() {
	local n p
	n=$(ip -o link show | grep -c ': kc')
	for p in "$NETNS"/*; do [ -e "$p" ] && n=$((n + $(nsenter --net="$p" ip -o link show | grep -c ': kc'))); done
	echo "$n"
}
# nothing_left NAME ID: what every teardown and recovery must leave
nothing_left() {
	eq "$1: no address in host-local's store" "$(addresses)" 0
	eq "$1: no rule for the pod" "$(rules_of "$2")" 0
	eq "$1: no hostPort chain" "$(iptables-save -t nat | grep -c '^:CNI-DN-')" 0
	eq "$1: no tap" "$(taps)" 0
	eq "$1: no namespace" "$(pins)" 0
	eq "$1: no record" "$(records)" 0
}
# in_cidr IP CIDR
in_cidr() { python3 -c 'import ipaddress,sys; sys.exit(0 if ipaddress.ip_address(sys.argv[1]) in ipaddress.ip_network(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }
# initrd_config FILE: the JSON config of an initrd
initrd_config() {
	python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
off, size = struct.unpack_from('<QQ', b, 16)
sys.stdout.write(b[off:off + size].decode())
PY
}
# pod_of CID: the container's pod sandbox id (ContainerStatus verbose)
pod_of() { crictl ContainerStatus "{\"container_id\":\"$1\",\"verbose\":true}" | jq -r '.info.info' | jq -r .sandboxID; }
# boot_config CID: the JSON config the container's VM booted with. Pod VM: the pod VM's
# boot config, whose "net" is the pod's, with the container's own part from its CREATE
# config (kumod's debug log) in the per-container VM's places: net.listen its listening
# sockets, "mounts" its share preopens ({path, share, readonly, entry}).
boot_config() {
	if [ "$POD_VM" != true ]; then
		initrd_config "$T/root/vms/kumo-${1:0:40}/initrd.img"
		return
	fi
	local pod ctr
	pod=$(pod_of "$1") || return 1
	ctr=$(grep -o "container ${1:0:12}: config .*" "$T/kumod.log" | tail -1 | sed 's/^[^{]*//')
	initrd_config "$T/root/vms/kumopod-${pod:0:24}/initrd.img" |
		jq -c --argjson c "${ctr:-{\}}" '.net.listen = $c.listen |
			.mounts = [$c.preopens[]? | select(.share != null and .guest != "/") |
				   {path: .guest, share, readonly, entry: .path}]'
}
# rootfs_file CID NAME: prints file NAME of the image's files as the container's VM has
# them: its initrd rootfs, or (pod VM) the image's rootfs staged read-only at "/"
rootfs_file() {
	if [ "$POD_VM" = true ]; then
		cat "$T/root/mounts/$(pod_of "$1")/ro/${1:0:40}-root/$2"
		return
	fi
	python3 - "$T/root/vms/kumo-${1:0:40}/initrd.img" "$2" <<'PY'
import io, struct, sys, tarfile
b = open(sys.argv[1], 'rb').read()
off, size = struct.unpack_from('<QQ', b, 32)
t = tarfile.open(fileobj=io.BytesIO(b[off:off + size]))
sys.stdout.write(t.extractfile(sys.argv[2]).read().decode())
PY
}
# pod NAME UID [EXTRA_CONFIG_JSON]: RunPodSandbox; $POD and $IP
pod() {
	local extra=${3:-}
	call "RunPodSandbox $1" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"$1\",\"uid\":\"$2\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/$1\"$extra}}"
	POD=$(jq -r .pod_sandbox_id <<<"$OUT")
	IP=$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}" 2>/dev/null | jq -r '.status.network.ip // ""')
}
# ctr POD NAME IMAGE ARGS_JSON: CreateContainer + StartContainer; $CID
ctr() {
	call "CreateContainer $2" CreateContainer "{\"pod_sandbox_id\":\"$1\",\"config\":{\"metadata\":{\"name\":\"$2\"},\"image\":{\"image\":\"$3\"},\"args\":$4,\"log_path\":\"$2.log\"}}"
	CID=$(jq -r .container_id <<<"$OUT")
	call "StartContainer $2" StartContainer "{\"container_id\":\"$CID\"}"
}
state_of() { crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null | jq -r .status.state; }
# wait_exited CID: up to 240 s; then $EXIT is its exit code
wait_exited() {
	for _ in $(seq 2400); do [ "$(state_of "$1")" = CONTAINER_EXITED ] && break; sleep 0.1; done
	EXIT=$(crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null | jq -r '.status.exit_code // 0')
}
# log_of POD_NAME CTR_NAME: the container's output lines
log_of() { sed 's/^[^ ]* std[a-z]* [FP] //' "$T/logs/$1/$2.log" 2>/dev/null; }
# fetch NAME URL WANT_FILE [curl opts]: the served file comes back (retrying while the VM boots)
fetch() {
	local name=$1 url=$2 want=$3 body= deadline=$((SECONDS + 90)); shift 3
	while [ $SECONDS -lt $deadline ]; do
		body=$(curl -s --max-time 3 "$@" "$url") && [ -n "$body" ] && break
		body=; sleep 0.3
	done
	eq "$name" "$body" "$(cat "$want")"
}
# client NAME POD HOST PORT PATH WANT: the client app in POD fetches and prints WANT
client() {
	local name=$1 pod=$2 podname=$3 host=$4 port=$5 path=$6 want=$7 cname
	cname=c$RANDOM
	ctr "$pod" "$cname" "$REG/client:v1" "[\"$host\",\"$port\",\"$path\"]"
	wait_exited "$CID"
	if [ "$EXIT" = 0 ] && log_of "$podname" "$cname" | grep -qF -- "$want"; then ok "$name"
	else bad "$name" "exit $EXIT; $(log_of "$podname" "$cname" | tail -3 | tr '\n' ' ')"; fi
}
# A network list file in the conf dir: netlist FILE NAME PLUGIN_JSON...
netlist() {
	local f=$1 name=$2; shift 2
	local plugins; plugins=$(IFS=,; echo "$*")
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$name\",\"plugins\":[$plugins]}" >"$f"
}
net_cond() { crictl Status '{}' | jq -r ".status.conditions[] | select(.type==\"NetworkReady\") | .$1"; }

# --- images ------------------------------------------------------------------------------
for f in "$HTTPD" "$CLIENT"; do [ -f "$f" ] || { bad "prerequisite" "$f is not built (make net-apps)"; finish; }; done
printf '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))' >"$T/spin.wat"
wat2wasm "$T/spin.wat" -o "$T/spin.wasm" || { bad "wat2wasm" "failed"; finish; }
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
"$BIN/kumo" push "$T/spin.wasm" "$REG/spin:v1" >"$T/push.log" 2>&1 || bad "kumo push spin" "$(cat "$T/push.log")"
"$BIN/kumo" push "$CLIENT" "$REG/client:v1" >"$T/push.log" 2>&1 || bad "kumo push client" "$(cat "$T/push.log")"
mkdir -p "$T/img/www" "$T/data"
cp "$HTTPD" "$T/img/app.wasm"
head -c 3000 /dev/urandom | base64 >"$T/img/www/index.html"
echo "mounted $RANDOM" >"$T/data/note.txt"
oci_wasm_image "$T/img" /app.wasm /www "$T/oci" && oci_wasm_push "$T/oci" "$REG/web:v1" 2>"$T/push.log" ||
	bad "push the web image" "$(cat "$T/push.log")"
WEB=$T/img/www/index.html

# --- a fresh node: the default list, kubelet's CIDR ---------------------------------------
start_kumod
eq "an empty conf dir gets kumo's default list" \
	"$(jq -r '[.name, .plugins[0].type, .plugins[0].bridge, .plugins[0].ipam.ranges[0][0].subnet] | join(" ")' "$NETD/99-kumo.conflist" 2>&1)" \
	"kumo bridge cni0 10.77.0.0/24"
eq "NetworkReady is true" "$(net_cond status)" true
call "UpdateRuntimeConfig" UpdateRuntimeConfig "{\"runtime_config\":{\"network_config\":{\"pod_cidr\":\"$CIDR\"}}}"
eq "kubelet's pod CIDR rewrites the default list" "$(jq -r '.plugins[0].ipam.ranges[0][0].subnet' "$NETD/99-kumo.conflist")" "$CIDR"
for a in spin client web; do call "PullImage $a" PullImage "{\"image\":{\"image\":\"$REG/$a:v1\"}}"; done

# --- bad configurations: NetworkReady and RunPodSandbox say why, nothing is left ----------
mv "$NETD/99-kumo.conflist" "$T/default.conflist"
eq "no network list: NetworkReady is false" "$(net_cond status)" false
eq "no network list: the reason" "$(net_cond reason)" NetworkPluginNotReady
ERR=$(net_cond message)
says "no network list: the message says where kumod looked" "no network configuration in \`$NETD\`"
code "no network list: RunPodSandbox" Unavailable RunPodSandbox '{"config":{"metadata":{"name":"x","uid":"ux","namespace":"n"}}}'
says "no network list: RunPodSandbox says why" "no network configuration in"
mv "$T/default.conflist" "$NETD/99-kumo.conflist"
BRIDGE_PLUGIN=$(jq -c '.plugins[0]' "$NETD/99-kumo.conflist")
PORTMAP='{"type":"portmap","capabilities":{"portMappings":true}}'
netlist "$NETD/00-bad.conflist" kumo-bad '{"type":"kumo-nothere"}'
eq "a plugin missing: NetworkReady is false" "$(net_cond status)" false
ERR=$(net_cond message)
says "a plugin missing: NetworkReady names it" "plugin \`kumo-nothere\` is not in the plugin path"
code "a plugin missing: RunPodSandbox" Unavailable RunPodSandbox '{"config":{"metadata":{"name":"x","uid":"ux","namespace":"n"}}}'
says "a plugin missing: RunPodSandbox names it" "kumo-nothere"
netlist "$NETD/00-bad.conflist" kumo "$BRIDGE_PLUGIN" '{"type":"kumo-fail"}' "$PORTMAP"
eq "a list whose plugins are all there is ready" "$(net_cond status)" true
code "a plugin that fails: RunPodSandbox" Internal RunPodSandbox '{"config":{"metadata":{"name":"x","uid":"ux","namespace":"n"},"port_mappings":[{"container_port":80,"host_port":18099}]}}'
says "a plugin that fails: its own message is passed on" "kumo-fail refuses: as told (code 105)"
nothing_left "a plugin that fails: DEL undid the bridge's ADD" x
netlist "$NETD/00-bad.conflist" kumo "$BRIDGE_PLUGIN" '{"type":"kumo-garbage"}'
code "a malformed result: RunPodSandbox" Internal RunPodSandbox '{"config":{"metadata":{"name":"x","uid":"ux","namespace":"n"}}}'
says "a malformed result: said so" "plugin \`kumo-garbage\` ADD: malformed result"
nothing_left "a malformed result: DEL undid the bridge's ADD" x
rm "$NETD/00-bad.conflist"
code "a bad bandwidth annotation" InvalidArgument RunPodSandbox '{"config":{"metadata":{"name":"x","uid":"ux","namespace":"n"},"annotations":{"kubernetes.io/ingress-bandwidth":"10"}}}'
says "a bad bandwidth annotation: says why" "is unreasonably small (< 1kbit)"
eq "failed RunPodSandboxes leave no pod" "$(crictl ListPodSandbox '{}' | jq '.items | length')" 0

# --- the bridge list: host -> pod, hostPort, pod -> pod, pod -> egress ---------------------
t0=$(date +%s%N)
pod web u1 ",\"hostname\":\"web-1\",\"dns_config\":{\"servers\":[\"10.96.0.10\"],\"searches\":[\"n.svc.cluster.local\"]},\"port_mappings\":[{\"protocol\":\"TCP\",\"container_port\":8080,\"host_port\":18080}]"
t1=$(date +%s%N)
echo "     RunPodSandbox -> pod IP: $(( (t1 - t0) / 1000000 )) ms (crictl calls included)"
PA=$POD IPA=$IP
if in_cidr "$IPA" "$CIDR" && [ "$IPA" != 10.78.0.1 ]; then ok "the pod IP $IPA is in kubelet's CIDR"; else bad "the pod IP" "got \`$IPA\`"; fi
eq "host-local's store holds the address for the pod" "$(head -1 "$STORE/kumo/$IPA" 2>&1 | tr -d '\r')" "$PA"
eq "the pod has a network namespace with eth0 in it" \
	"$(nsenter --net="$NETNS/$PA" ip -o -4 addr show dev eth0 2>&1 | awk '{print $4}')" "$IPA/24"
eq "portmap made the hostPort rule for the pod" "$([ "$(rules_of "$PA")" -gt 0 ] && echo yes)" yes
call "CreateContainer init" CreateContainer "{\"pod_sandbox_id\":\"$PA\",\"config\":{\"metadata\":{\"name\":\"init\"},\"image\":{\"image\":\"$REG/web:v1\"},\"args\":[\"--port\",\"bad\"],\"log_path\":\"init.log\"}}"
ICID=$(jq -r .container_id <<<"$OUT")
eq "the init container has the pod's address" "$(boot_config "$ICID" 2>/dev/null | jq -r .net.address)" "$IPA/24"
call "StartContainer init" StartContainer "{\"container_id\":\"$ICID\"}"
wait_exited "$ICID"
eq "the init container ran and exited" "$(state_of "$ICID")" CONTAINER_EXITED
call "CreateContainer srv" CreateContainer "{\"pod_sandbox_id\":\"$PA\",\"config\":{\"metadata\":{\"name\":\"srv\"},\"image\":{\"image\":\"$REG/web:v1\"},\"args\":[\"--root\",\"/www\"],\"log_path\":\"srv.log\",\"mounts\":[{\"container_path\":\"/data\",\"host_path\":\"$T/data\",\"readonly\":true}]}}"
CA=$(jq -r .container_id <<<"$OUT")
CFG=$(boot_config "$CA" 2>/dev/null) || CFG='{}'
eq "the image's files are in the VM's rootfs" "$(rootfs_file "$CA" www/index.html 2>&1)" "$(cat "$WEB")"
eq "a mount is the pod's staged entry, shared live at its container path" \
	"$(jq -c '.mounts[]? | select(.path == "/data")' <<<"$CFG")/$(cat "$T/root/mounts/$PA/ro/${CA:0:40}-0/note.txt" 2>&1)" \
	"{\"path\":\"/data\",\"share\":\"pod-ro\",\"readonly\":true,\"entry\":\"${CA:0:40}-0\"}/$(cat "$T/data/note.txt")"
eq "boot config: address on the bridge's subnet" "$(jq -r .net.address <<<"$CFG")" "$IPA/24"
eq "boot config: gateway" "$(jq -r .net.gateway <<<"$CFG")" "10.78.0.1"
eq "boot config: the CNI interface's MTU" "$(jq -r .net.mtu <<<"$CFG")" 1500
eq "boot config: the CNI interface's MAC" "$(jq -r .net.mac <<<"$CFG")" \
	"$(nsenter --net="$NETNS/$PA" ip -o link show eth0 2>&1 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
eq "boot config: dns from the pod's DNSConfig" "$(jq -c .net.dns <<<"$CFG")" '["10.96.0.10"]'
eq "boot config: search domains" "$(jq -c .net.search <<<"$CFG")" '["n.svc.cluster.local"]'
eq "boot config: hostname" "$(jq -r .net.hostname <<<"$CFG")" "web-1"
eq "boot config: the pod's port as a listening socket" "$(jq -c .net.listen <<<"$CFG")" '["tcp:0.0.0.0:8080"]'
call "StartContainer srv" StartContainer "{\"container_id\":\"$CA\"}"
if [ "$POD_VM" = true ]; then
	# The containers of a pod VM share its NIC: a second one runs beside the server.
	call "a second container of a networked pod" CreateContainer "{\"pod_sandbox_id\":\"$PA\",\"config\":{\"metadata\":{\"name\":\"side\"},\"image\":{\"image\":\"$REG/spin:v1\"},\"log_path\":\"side.log\"}}"
	SIDE=$(jq -r .container_id <<<"$OUT")
	call "StartContainer side" StartContainer "{\"container_id\":\"$SIDE\"}"
	eq "it runs beside the server" "$(state_of "$SIDE")/$(state_of "$CA")" CONTAINER_RUNNING/CONTAINER_RUNNING
	call "StopContainer side" StopContainer "{\"container_id\":\"$SIDE\",\"timeout\":0}"
	call "RemoveContainer side" RemoveContainer "{\"container_id\":\"$SIDE\"}"
else
	code "a second container of a networked pod" FailedPrecondition CreateContainer "{\"pod_sandbox_id\":\"$PA\",\"config\":{\"metadata\":{\"name\":\"side\"},\"image\":{\"image\":\"$REG/spin:v1\"},\"log_path\":\"side.log\"}}"
	says "it says the pod's NIC is held by the first container" "holds it"
fi
tapa=$(nsenter --net="$NETNS/$PA" ip -o link show | grep -o ' kc[0-9a-f]*' | tr -d ' ')
if nsenter --net="$NETNS/$PA" tc filter show dev eth0 ingress | grep -q "Egress Redirect to device $tapa"; then
	ok "eth0's traffic is redirected to the VM's tap"; else bad "the redirect" "no filter on eth0 to \`$tapa\`"; fi
fetch "host -> pod IP: the VM serves the file" "http://$IPA:8080/index.html" "$WEB"
out=$(ip netns exec outside curl -s --max-time 20 --retry 3 "http://192.168.77.1:18080/index.html")
eq "outside host -> hostPort 18080 (portmap) -> the VM" "$out" "$(cat "$WEB")"

pod client u2
PB=$POD IPB=$IP
eq "pod B has another address of the pool" "$([ "$IPB" != "$IPA" ] && in_cidr "$IPB" "$CIDR" && echo yes)" yes
client "pod B's VM -> pod A's VM by pod IP" "$PB" client "$IPA" 8080 /index.html "$(head -1 "$WEB")"
CFG=$(boot_config "$CID" 2>/dev/null) || CFG='{}'
eq "a pod without DNSConfig: the node's resolvers" "$(jq -c '.net.dns | length > 0' <<<"$CFG")" true
client "pod B's VM -> the outside host (egress)" "$PB" client 192.168.77.2 8000 /egress.txt "hello from outside"
from=$(grep -o '^[0-9.]* - - .*GET /egress.txt' "$T/outside.log" | tail -1 | cut -d' ' -f1)
eq "egress is masqueraded to the node's address" "$from" 192.168.77.1

pod hn u3 ',"linux":{"security_context":{"namespace_options":{"network":"NODE"}}}'
eq "a hostNetwork pod has no pod IP" "$IP" ""
eq "a hostNetwork pod has no namespace" "$([ -e "$NETNS/$POD" ] && echo yes || echo no)" no
call "RemovePodSandbox hostNetwork" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"

# SIGTERM while the VM runs: kumod ends (VMs keep running); then kill -9 of the next
# kumod. Both times the pod keeps its address, namespace and the VM its traffic.
stop_kumod
start_kumod
eq "after SIGTERM, the pod keeps its IP" "$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$PA\"}" | jq -r .status.network.ip)" "$IPA"
kill_kumod
start_kumod
eq "after kill -9, the pod keeps its IP" "$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$PA\"}" | jq -r .status.network.ip)" "$IPA"
eq "after kill -9, the addresses and namespaces are still there" "$(addresses)/$(pins)" 2/2
fetch "after kill -9, the VM still answers on its pod IP" "http://$IPA:8080/index.html" "$WEB"
call "StopPodSandbox web" StopPodSandbox "{\"pod_sandbox_id\":\"$PA\"}"
call "StopPodSandbox client" StopPodSandbox "{\"pod_sandbox_id\":\"$PB\"}"
nothing_left "StopPodSandbox" "$PA"
call "StopPodSandbox again (idempotent)" StopPodSandbox "{\"pod_sandbox_id\":\"$PA\"}"
for p in "$PA" "$PB"; do call "RemovePodSandbox ${p:0:8}" RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}"; done

# --- kill -9 between ADD and the VM's start; kill -9 in the middle of ADD ---------------
pod held u4 ',"port_mappings":[{"protocol":"TCP","container_port":8080,"host_port":18082}]'
PK=$POD
call "CreateContainer (the VM made, not started)" CreateContainer "{\"pod_sandbox_id\":\"$PK\",\"config\":{\"metadata\":{\"name\":\"srv\"},\"image\":{\"image\":\"$REG/web:v1\"},\"log_path\":\"srv.log\"}}"
kill_kumod
start_kumod
eq "after kill -9 before the VM's start: the pod's address, namespace, rules are kept" \
	"$(addresses)/$(pins)/$([ "$(rules_of "$PK")" -gt 0 ] && echo rules)" 1/1/rules
call "StopPodSandbox after the restart" StopPodSandbox "{\"pod_sandbox_id\":\"$PK\"}"
nothing_left "kill -9 between ADD and the VM's start, restart, StopPodSandbox" "$PK"
call "RemovePodSandbox held" RemovePodSandbox "{\"pod_sandbox_id\":\"$PK\"}"

netlist "$NETD/00-hang.conflist" kumo "$BRIDGE_PLUGIN" '{"type":"kumo-hang"}' "$PORTMAP"
crictl RunPodSandbox '{"config":{"metadata":{"name":"hang","uid":"u5","namespace":"n"},"port_mappings":[{"container_port":80,"host_port":18083}]}}' >/dev/null 2>&1 &
RPID=$!
for _ in $(seq 300); do [ -s "$T/hang.pid" ] && break; sleep 0.1; done
kill_kumod
kill -9 "$(cat "$T/hang.pid")" 2>/dev/null
wait "$RPID" 2>/dev/null
eq "killed during ADD: the bridge plugin had allocated an address" "$(addresses)" 1
rm "$NETD/00-hang.conflist"
start_kumod
nothing_left "kill -9 during ADD, restart (recovery)" x
PH=$(crictl ListPodSandbox '{}' | jq -r '.items[0].id // ""')
eq "the interrupted pod is listed NOTREADY" "$(crictl ListPodSandbox '{}' | jq -r '.items[0].state')" SANDBOX_NOTREADY
call "RemovePodSandbox of the interrupted pod" RemovePodSandbox "{\"pod_sandbox_id\":\"$PH\"}"

# --- a second network list: ptp (the VM does not depend on the bridge) --------------------
# 00- sorts before the default list, so it is the one used; host-local's pool of its own.
netlist "$NETD/00-ptp.conflist" kumo-ptp \
	'{"type":"ptp","ipMasq":true,"mtu":1400,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.98.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}}' \
	'{"type":"bandwidth","capabilities":{"bandwidth":true}}' "$PORTMAP" '{"type":"loopback"}'
pod ptpsrv u6 ',"port_mappings":[{"container_port":8080}],"annotations":{"kubernetes.io/ingress-bandwidth":"200M","kubernetes.io/egress-bandwidth":"100M"}'
PD=$POD IPD=$IP
if in_cidr "$IPD" 10.98.0.0/24; then ok "ptp: the pod IP $IPD is from the ptp list"; else bad "ptp: the pod IP" "got \`$IPD\`"; fi
eq "ptp: the bandwidth annotations reached the bandwidth plugin (tbf both ways)" \
	"$(tc qdisc show | grep -c '^qdisc tbf')" 2
ctr "$PD" srv "$REG/web:v1" '["--root","/www"]'
CFG=$(boot_config "$CID" 2>/dev/null) || CFG='{}'
eq "ptp: the guest routes everything through the gateway (/32)" "$(jq -r .net.address <<<"$CFG")" "$IPD/32"
eq "ptp: the guest's MTU is the CNI interface's" "$(jq -r .net.mtu <<<"$CFG")" 1400
fetch "ptp: host -> pod IP" "http://$IPD:8080/index.html" "$WEB"
pod ptpcli u7
PE=$POD
client "ptp: pod E's VM -> pod D's VM by pod IP" "$PE" ptpcli "$IPD" 8080 /index.html "$(head -1 "$WEB")"
for p in "$PD" "$PE"; do call "StopPodSandbox ptp ${p:0:8}" StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}"; done
nothing_left "ptp: StopPodSandbox" "$PD"
eq "ptp: no shaping device left" "$(ip -o link show | grep -c ': bwp')" 0
for p in "$PD" "$PE"; do call "RemovePodSandbox ptp ${p:0:8}" RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}"; done
rm "$NETD/00-ptp.conflist"

# --- containerd's pods on the same network list and address pool --------------------------
if ! command -v containerd >/dev/null; then
	bad "containerd" "not installed (deploy/install-deps.sh installs it)"
elif ! linux_images_push "$REG" pause busybox 2>"$T/push.log"; then
	bad "containerd" "the Linux test images: $(tail -2 "$T/push.log") (make linux-images)"
elif ! CTRD_CNI_CONF_DIR=$NETD containerd_start "$T/ctrd" "$REG" 2>"$T/ctrd-start.log"; then
	bad "containerd starts on kumod's conf dir" "$(tail -3 "$T/ctrd-start.log")"
else
	CTRD=1
	cc() { "$BIN/kumo-crictl" --socket "$CTRD_SOCK" --timeout 120 "$@"; }
	cc PullImage '{"image":{"image":"docker.io/library/busybox:latest"}}' >/dev/null 2>"$T/err" || bad "containerd pulls busybox" "$(cat "$T/err")"
	out=$(cc RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"bb\",\"uid\":\"u8\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/bb\",\"linux\":{}}}" 2>"$T/err") ||
		bad "containerd: RunPodSandbox busybox" "$(cat "$T/err")"
	PC=$(jq -r .pod_sandbox_id <<<"$out")
	IPC=$(cc PodSandboxStatus "{\"pod_sandbox_id\":\"$PC\"}" | jq -r '.status.network.ip // ""')
	if in_cidr "$IPC" "$CIDR"; then ok "containerd's pod takes its IP ($IPC) from the same list"; else bad "containerd's pod IP" "got \`$IPC\`"; fi
	out=$(cc CreateContainer "{\"pod_sandbox_id\":\"$PC\",\"config\":{\"metadata\":{\"name\":\"httpd\"},\"image\":{\"image\":\"docker.io/library/busybox:latest\"},\"command\":[\"sh\",\"-c\",\"mkdir -p /w && echo hello from busybox >/w/index.html && exec httpd -f -p 8080 -h /w\"],\"log_path\":\"httpd.log\",\"linux\":{}},\"sandbox_config\":{\"metadata\":{\"name\":\"bb\",\"uid\":\"u8\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/bb\",\"linux\":{}}}" 2>"$T/err") ||
		bad "containerd: CreateContainer busybox httpd" "$(cat "$T/err")"
	BBC=$(jq -r .container_id <<<"$out")
	cc StartContainer "{\"container_id\":\"$BBC\"}" >/dev/null 2>"$T/err" || bad "containerd: StartContainer" "$(cat "$T/err")"
	pod shared u9
	PF=$POD IPF=$IP
	eq "kumo's pod and containerd's share host-local's pool" \
		"$([ "$IPF" != "$IPC" ] && in_cidr "$IPF" "$CIDR" && echo "$(addresses) addresses")" "2 addresses"
	client "kumo pod's VM -> containerd's busybox pod by pod IP" "$PF" shared "$IPC" 8080 /index.html "hello from busybox"
	pod shared2 u10 ',"port_mappings":[{"container_port":8080}]'
	PG=$POD IPG=$IP
	ctr "$PG" srv "$REG/web:v1" '["--root","/www"]'
	fetch "host -> the kumo pod (before busybox asks)" "http://$IPG:8080/index.html" "$WEB"
	got=$(cc ExecSync "{\"container_id\":\"$BBC\",\"cmd\":[\"wget\",\"-q\",\"-O\",\"-\",\"http://$IPG:8080/index.html\"],\"timeout\":60}" 2>"$T/err" |
		jq -r '.stdout // "" | @base64d' 2>/dev/null)
	eq "containerd's busybox pod -> the kumo pod's VM by pod IP" "$got" "$(cat "$WEB")"
	cc StopPodSandbox "{\"pod_sandbox_id\":\"$PC\"}" >/dev/null 2>"$T/err" || bad "containerd: StopPodSandbox" "$(cat "$T/err")"
	cc RemovePodSandbox "{\"pod_sandbox_id\":\"$PC\"}" >/dev/null 2>&1
	for p in "$PF" "$PG"; do call "StopPodSandbox ${p:0:8}" StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}"; done
	nothing_left "both runtimes' pods stopped" "$PF"
	for p in "$PF" "$PG"; do call "RemovePodSandbox ${p:0:8}" RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}"; done
fi
stop_kumod
if [ $fail -ne 0 ]; then echo "--- kumod log"; grep -v ' debug ' "$T/kumod.log" | tail -40; fi
finish
