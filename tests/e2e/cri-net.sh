#!/usr/bin/env bash
# tests/e2e/cri-net.sh - pod networking of kumod's REAL backend through the CRI socket,
# in a network namespace of its own: NetworkReady (true with a bridge, false with the
# real reason when the bridge cannot be made), RunPodSandbox -> a pod IP from the pod
# CIDR in PodSandboxStatus, its tap on the bridge and its hostPort DNAT rule, the
# container VM's boot config carrying the "net" object (address, gateway, DNS and
# searches from the pod's DNSConfig, hostname, the pod's ports as listen sockets), one
# VM per pod NIC at a time (a second one gets a clear error), a hostNetwork pod without
# a NIC, UpdateRuntimeConfig's CIDR taking over, and teardown leaving no tap, rule or
# address behind.
# Guest traffic: the pod serves the image's files with tests/apps/net_httpd.c on the
# kernel's virtio-net + lwIP; curl fetches one over the pod IP and through the hostPort
# DNAT on the node address.
# Prints `cri-net: N passed, N failed`.
set -u
# kumod's bridge, taps and iptables rules stay in this script's own network namespace.
# kumod binds the pods' mounts (its staging directory): in a mount namespace of the
# test's own, nothing outlives it.
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
# shellcheck source=../lib/oci-wasm-image.sh
. "$HERE/../lib/oci-wasm-image.sh"
cri_suite cri-net 120
VM_BACKEND=${VM_BACKEND:-qemu}
HTTPD=${HTTPD:-$APPS/net_httpd.wasm}
# How the server app is told what to serve: the directory /www (a pod mount).
HTTPD_ARGS=${HTTPD_ARGS:-'["--root","/www"]'}
BR=kumoe2e0
CIDR=10.77.0.0/24

start_kumod() { # extra flags...
	"$BIN/kumod" --socket "$SOCK" --root "$T/root" --vm-backend "$VM_BACKEND" \
		--log-level debug "$@" 2>>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
stop_kumod() { kill -TERM "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null; KPID=; }
taps() { ip -o link show | awk -F': ' '{print $2}' | grep -c '^kt' ; }
dnat_rules() { iptables-save -t nat | grep -c -- '--comment "\?kumo:' ; }
ipam_files() { find "$T/root/net/ipam/ips" -type f 2>/dev/null | wc -l; }
# in_cidr IP: true when IP is in 10.77.0.0/24 (or $2)
in_cidr() { python3 -c 'import ipaddress,sys; sys.exit(0 if ipaddress.ip_address(sys.argv[1]) in ipaddress.ip_network(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }
# boot_config DIR: the JSON config of the container's initrd
boot_config() {
	python3 - "$1/initrd.img" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
off, size = struct.unpack_from('<QQ', b, 16)
sys.stdout.write(b[off:off + size].decode())
PY
}
# rootfs_file DIR NAME: prints file NAME of the container's initrd rootfs
rootfs_file() {
	python3 - "$1/initrd.img" "$2" <<'PY'
import io, struct, sys, tarfile
b = open(sys.argv[1], 'rb').read()
off, size = struct.unpack_from('<QQ', b, 32)
t = tarfile.open(fileobj=io.BytesIO(b[off:off + size]))
sys.stdout.write(t.extractfile(sys.argv[2]).read().decode())
PY
}

# --- a bridge that cannot be made: NetworkReady false, with the reason ------------------
start_kumod --bridge this-name-is-too-long-for-linux --pod-cidr "$CIDR"
call "Status (bad bridge)" Status '{}'
eq "NetworkReady is false when the bridge cannot be made" "$(jq -r '.status.conditions[] | select(.type=="NetworkReady") | .status' <<<"$OUT")" "false"
eq "NetworkReady's reason" "$(jq -r '.status.conditions[] | select(.type=="NetworkReady") | .reason' <<<"$OUT")" "NetworkSetupFailed"
ERR=$(jq -r '.status.conditions[] | select(.type=="NetworkReady") | .message' <<<"$OUT")
says "NetworkReady's message names the bridge" "this-name-is-too-long-for-linux"
code "RunPodSandbox without node networking" Unavailable RunPodSandbox '{"config":{"metadata":{"name":"nonet","uid":"u0","namespace":"n"}}}'
says "the error says why" "could not be set up"
stop_kumod
rm -rf "$T/root"

# --- the real thing ------------------------------------------------------------------
printf '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))' >"$T/spin.wat"
wat2wasm "$T/spin.wat" -o "$T/spin.wasm" || { bad "wat2wasm" "failed"; finish; }
registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
"$BIN/kumo" push "$T/spin.wasm" "$REG/spin:v1" >"$T/push.log" 2>&1 || bad "kumo push spin" "$(cat "$T/push.log")"
# The web image: the server with files to serve in /www (spin when the server app is
# missing, so the other checks still run; the curl checks then fail).
HAVE_HTTPD=
mkdir -p "$T/img/www" "$T/data"
if [ -f "$HTTPD" ]; then HAVE_HTTPD=1; cp "$HTTPD" "$T/img/app.wasm"; else cp "$T/spin.wasm" "$T/img/app.wasm"; fi
head -c 3000 /dev/urandom | base64 >"$T/img/www/index.html"
echo "mounted $RANDOM" >"$T/data/note.txt"
oci_wasm_image "$T/img" /app.wasm /www "$T/oci" && oci_wasm_push "$T/oci" "$REG/web:v1" 2>"$T/push.log" ||
	bad "push the web image" "$(cat "$T/push.log")"

start_kumod --bridge "$BR" --pod-cidr "$CIDR"
call "Status" Status '{}'
eq "NetworkReady is true" "$(jq -r '.status.conditions[] | select(.type=="NetworkReady") | .status' <<<"$OUT")" "true"
eq "the bridge exists with the gateway address" "$(ip -o -4 addr show dev "$BR" 2>/dev/null | awk '{print $4}')" "10.77.0.1/24"
call "PullImage spin" PullImage "{\"image\":{\"image\":\"$REG/spin:v1\"}}"
call "PullImage web" PullImage "{\"image\":{\"image\":\"$REG/web:v1\"}}"

taps0=$(taps); rules0=$(dnat_rules)
t0=$(date +%s%N)
call "RunPodSandbox with a port" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"web\",\"uid\":\"u1\",\"namespace\":\"n\"},\"hostname\":\"web-1\",\"log_directory\":\"$T/logs\",\"dns_config\":{\"servers\":[\"10.96.0.10\"],\"searches\":[\"n.svc.cluster.local\"]},\"port_mappings\":[{\"protocol\":\"TCP\",\"container_port\":8080,\"host_port\":18080}]}}"
t1=$(date +%s%N)
POD=$(jq -r .pod_sandbox_id <<<"$OUT")
echo "     RunPodSandbox -> pod IP: $(( (t1 - t0) / 1000000 )) ms (crictl call included)"
call "PodSandboxStatus" PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}"
IP=$(jq -r .status.network.ip <<<"$OUT")
if in_cidr "$IP" "$CIDR" && [ "$IP" != 10.77.0.1 ]; then ok "the pod IP $IP is in $CIDR"; else bad "the pod IP is in $CIDR" "got \`$IP\`"; fi
eq "one tap more, on the bridge" "$(( $(taps) - taps0 ))/$(ip -o link show master "$BR" | grep -c ' kt')" "1/1"
eq "one hostPort DNAT rule more" "$(( $(dnat_rules) - rules0 ))" "1"
if iptables-save -t nat | grep -- "--dport 18080" | grep -q -- "--to-destination $IP:8080"; then ok "the DNAT rule sends 18080 to $IP:8080"; else bad "DNAT rule" "$(iptables-save -t nat | grep kumo:)"; fi

# An init container first: it gets the pod's NIC and address, exits, and hands both on
# to the app container (one VM of the pod at a time owns the tap).
call "CreateContainer init" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"init\"},\"image\":{\"image\":\"$REG/web:v1\"},\"args\":[\"--port\",\"bad\"],\"log_path\":\"init.log\"}}"
ICID=$(jq -r .container_id <<<"$OUT")
eq "the init container has the pod's address" "$(boot_config "$T/root/vms/kumo-${ICID:0:40}" 2>/dev/null | jq -r .net.address)" "$IP/24"
call "StartContainer init" StartContainer "{\"container_id\":\"$ICID\"}"
for _ in $(seq 600); do
	[ "$(crictl ContainerStatus "{\"container_id\":\"$ICID\"}" | jq -r .status.state)" = CONTAINER_EXITED ] && break
	sleep 0.1
done
eq "the init container ran and exited" "$(crictl ContainerStatus "{\"container_id\":\"$ICID\"}" | jq -r .status.state)" CONTAINER_EXITED

# The container: the web server when it is built, else a VM that just runs.
if [ -n "$HAVE_HTTPD" ]; then ARGS=$HTTPD_ARGS; else ARGS='[]'; fi
call "CreateContainer in the networked pod" CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"srv\"},\"image\":{\"image\":\"$REG/web:v1\"},\"args\":$ARGS,\"log_path\":\"srv.log\",\"mounts\":[{\"container_path\":\"/data\",\"host_path\":\"$T/data\",\"readonly\":true}]}}"
CID=$(jq -r .container_id <<<"$OUT")
CFG=$(boot_config "$T/root/vms/kumo-${CID:0:40}" 2>/dev/null) || CFG='{}'
eq "the image's files are in the VM's rootfs" "$(rootfs_file "$T/root/vms/kumo-${CID:0:40}" www/index.html 2>&1)" "$(cat "$T/img/www/index.html")"
eq "a mount is the pod's staged entry, shared live at its container path" \
	"$(jq -c '.mounts[]? | select(.path == "/data")' <<<"$CFG")/$(cat "$T/root/mounts/$POD/ro/${CID:0:40}-0/note.txt" 2>&1)" \
	"{\"path\":\"/data\",\"share\":\"pod-ro\",\"readonly\":true,\"entry\":\"${CID:0:40}-0\"}/$(cat "$T/data/note.txt")"
eq "preopens: the rootfs, then the mount" "$(jq -c '[.preopens[] | .guest]' <<<"$CFG")" '["/","/data"]'
eq "the image's WorkingDir as PWD" "$(jq -r '.env[] | select(startswith("PWD="))' <<<"$CFG")" "PWD=/www"
eq "boot config: address" "$(jq -r .net.address <<<"$CFG")" "$IP/24"
eq "boot config: gateway" "$(jq -r .net.gateway <<<"$CFG")" "10.77.0.1"
eq "boot config: dns from the pod's DNSConfig" "$(jq -c .net.dns <<<"$CFG")" '["10.96.0.10"]'
eq "boot config: search domains" "$(jq -c .net.search <<<"$CFG")" '["n.svc.cluster.local"]'
eq "boot config: hostname" "$(jq -r .net.hostname <<<"$CFG")" "web-1"
eq "boot config: the pod's port as a listening socket" "$(jq -c .net.listen <<<"$CFG")" '["tcp:0.0.0.0:8080"]'
eq "boot config: the MAC of the pod" "$(jq -r .net.mac <<<"$CFG")" "$(printf '02:6b:%02x:%02x:%02x:%02x' ${IP//./ })"
call "StartContainer" StartContainer "{\"container_id\":\"$CID\"}"
sleep 1
eq "the container runs" "$(crictl ContainerStatus "{\"container_id\":\"$CID\"}" | jq -r .status.state)" CONTAINER_RUNNING

# One NIC per pod: a second VM of the pod while the first exists gets a clear error.
code "a second container of a networked pod" FailedPrecondition CreateContainer "{\"pod_sandbox_id\":\"$POD\",\"config\":{\"metadata\":{\"name\":\"side\"},\"image\":{\"image\":\"$REG/spin:v1\"},\"log_path\":\"side.log\"}}"
says "it says the pod's NIC is held by the first container" "holds it"

if [ -n "$HAVE_HTTPD" ]; then
	body=
	deadline=$((SECONDS + 60))
	while [ $SECONDS -lt $deadline ]; do
		if body=$(curl -s --max-time 2 "http://$IP:8080/index.html") && [ -n "$body" ]; then break; fi
		body=; sleep 0.2
	done
	eq "curl reaches the pod IP and gets the file" "$body" "$(cat "$T/img/www/index.html")"
	eq "curl through the hostPort on the node address" "$(curl -s --max-time 5 "http://10.77.0.1:18080/index.html")" "$(cat "$T/img/www/index.html")"
else
	bad "curl reaches the pod IP" "$HTTPD is not built (make net-apps)"
fi

# hostNetwork: no NIC, no IP.
call "RunPodSandbox hostNetwork" RunPodSandbox '{"config":{"metadata":{"name":"hn","uid":"u2","namespace":"n"},"linux":{"security_context":{"namespace_options":{"network":"NODE"}}}}}'
HPOD=$(jq -r .pod_sandbox_id <<<"$OUT")
eq "a hostNetwork pod has no pod IP" "$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$HPOD\"}" | jq -r '.status.network.ip // ""')" ""
call "RemovePodSandbox hostNetwork" RemovePodSandbox "{\"pod_sandbox_id\":\"$HPOD\"}"

# SIGTERM while the VM runs: kumod ends (VMs keep running); then kill -9 of the next
# kumod. Both times the pod keeps its address, tap and rule.
kill -TERM "$KPID"
for _ in $(seq 600); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$KPID" 2>/dev/null; then bad "kumod ends on SIGTERM while a VM runs" "still running after 60 s"; kill -9 "$KPID"; else ok "kumod ends on SIGTERM while a VM runs"; fi
wait "$KPID" 2>/dev/null; KPID=
start_kumod --bridge "$BR" --pod-cidr "$CIDR"
eq "after SIGTERM, the pod keeps its IP" "$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}" | jq -r .status.network.ip)" "$IP"
kumod_kill
start_kumod --bridge "$BR" --pod-cidr "$CIDR"
eq "after kill -9, the pod keeps its IP" "$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$POD\"}" | jq -r .status.network.ip)" "$IP"
eq "after kill -9, the tap and the rule are still there" "$(( $(taps) - taps0 ))/$(( $(dnat_rules) - rules0 ))" "1/1"

call "StopPodSandbox" StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
eq "stop removes the tap" "$(( $(taps) - taps0 ))" "0"
eq "stop removes the DNAT rule" "$(( $(dnat_rules) - rules0 ))" "0"
eq "stop frees the address" "$(ipam_files)" "0"
call "StopPodSandbox again (idempotent)" StopPodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
call "RemovePodSandbox" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"
call "RemovePodSandbox again (idempotent)" RemovePodSandbox "{\"pod_sandbox_id\":\"$POD\"}"

# kubelet's CIDR takes over.
call "UpdateRuntimeConfig" UpdateRuntimeConfig '{"runtime_config":{"network_config":{"pod_cidr":"10.78.0.0/24"}}}'
call "RunPodSandbox after the CIDR changed" RunPodSandbox '{"config":{"metadata":{"name":"p2","uid":"u3","namespace":"n"}}}'
P2=$(jq -r .pod_sandbox_id <<<"$OUT")
IP2=$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$P2\"}" | jq -r .status.network.ip)
if in_cidr "$IP2" 10.78.0.0/24; then ok "the new pod's IP $IP2 is in kubelet's CIDR"; else bad "kubelet's CIDR takes over" "got \`$IP2\`"; fi
eq "the bridge has the new gateway" "$(ip -o -4 addr show dev "$BR" | awk '{print $4}')" "10.78.0.1/24"
call "RemovePodSandbox p2" RemovePodSandbox "{\"pod_sandbox_id\":\"$P2\"}"
eq "nothing left: taps, DNAT rules, addresses" "$(( $(taps) - taps0 ))/$(( $(dnat_rules) - rules0 ))/$(ipam_files)" "0/0/0"
stop_kumod
if [ $fail -ne 0 ]; then echo "--- kumod log"; tail -40 "$T/kumod.log"; fi
finish
