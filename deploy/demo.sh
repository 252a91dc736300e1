#!/usr/bin/env bash
# deploy/demo.sh - `make demo`: kumo's main job as far as it works today.
#   1. a Wasm app (our own C, built with clang --target=wasm32-wasi) is pushed as a
#      wasi/wasm OCI image to a local registry (Debian's docker-registry on 127.0.0.1),
#   2. pulled into a kumo store (digests verified, module identified),
#   3. compiled ahead of time and linked with the kumo unikernel (cached),
#   4. booted as its own VM (QEMU started directly; KVM when kumo's probe shows it runs
#      kumo guests, else TCG: `kumo info` says which and why)
#      with its args, its stdout streamed back and its exit code kept,
#   5. the same app as a Linux process on the hosted runtime, for comparison,
#   6. the same pushed image run as a pod through kumod's CRI socket (kumod started on
#      a temporary socket and root, stopped at the end): pull, runp, create, start,
#      wait, the container's CRI log file and exit code,
#   7. a Wasm web server (tests/apps/net_httpd.c) packaged with files to serve as one
#      wasi/wasm image, run as a pod with port 8080 through kumod, reached from the host
#      over its pod IP: `curl http://<pod IP>:8080/` prints what it served.
# kumod takes pod networks from CNI: the demo gives it a conf dir of its own, which kumod
# fills with its default network list (Debian's bridge plugin on cni0, 10.88.0.0/16,
# host-local addresses, portmap); the plugins make the bridge and their iptables rules
# on this machine, removed again by each pod's CNI DEL, and the demo removes the bridge
# at the end when it was not there before.
# When a step fails, the demo says which step and why (with the VM's or kumod's own
# words), and exits non-zero.
# DEMO_KUMOD_ARGS: more kumod flags for the demo's kumod (e.g. `--pod-vm false` for a VM per
# container).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kumo=$top/build/bin/kumo
work=$(mktemp -d /tmp/kumo-demo-XXXXXX)
source tests/lib/registry.sh
source tests/lib/oci-wasm-image.sh
kpid=
# The node network of a kumod from before pods took their network from CNI (its bridge
# kumo0 on the same 10.88.0.0/16 and its KUMO-* chains) would take the pods' route: it is
# removed, saying so, unless such a kumod still runs.
if ip link show kumo0 >/dev/null 2>&1 && ! pgrep -x kumod >/dev/null; then
	echo "demo: removing the old node bridge kumo0 and its KUMO-* iptables chains (a kumod from before CNI made them)"
	ip link del kumo0 2>/dev/null || true
	iptables -w -t nat -D POSTROUTING -j KUMO-POSTROUTING 2>/dev/null || true
	iptables -w -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j KUMO-HOSTPORTS 2>/dev/null || true
	iptables -w -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j KUMO-HOSTPORTS 2>/dev/null || true
	iptables -w -t filter -D FORWARD -j KUMO-FORWARD 2>/dev/null || true
	for c in nat:KUMO-POSTROUTING nat:KUMO-HOSTPORTS filter:KUMO-FORWARD; do
		iptables -w -t "${c%%:*}" -F "${c#*:}" 2>/dev/null || true
		iptables -w -t "${c%%:*}" -X "${c#*:}" 2>/dev/null || true
	done
fi
bridge_before=0
ip link show cni0 >/dev/null 2>&1 && bridge_before=1
# The bridge the default list's plugin made, when the demo made it.
remove_node_net() {
	[ $bridge_before -eq 1 ] && return 0
	ip link del cni0 2>/dev/null || true
}
cleanup() {
	if [ -n "$kpid" ]; then
		# Pods first: kumod leaves running VMs (and their taps) behind when it stops.
		for p in $("$top/build/bin/kumo-crictl" --socket "$work/kumo.sock" ListPodSandbox '{}' 2>/dev/null | jq -r '.items[]?.id'); do
			"$top/build/bin/kumo-crictl" --socket "$work/kumo.sock" RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1 || true
		done
		kill -TERM "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null || true
	fi
	remove_node_net
	umount -l "$work/netns" 2>/dev/null || true
	registry_stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

app=build/apps/app_args.wasm
step "kumo info: what this node can do"
"$kumo" info

step "local registry on 127.0.0.1"
registry_start open "$work/registry"
ref=127.0.0.1:$REG_PORT/demo/args:v1
echo "registry at 127.0.0.1:$REG_PORT"

step "kumo push $app $ref"
"$kumo" push "$app" "$ref"

step "kumo pull $ref"
export KUMO_ROOT=$work/store
"$kumo" pull "$ref" | tee "$work/pull.txt"
"$kumo" images
module=$(awk '$1 == "module" { print $2 }' "$work/pull.txt")

step "kumo build: compile (LLVM, ahead of time) + link with the kumo unikernel"
"$kumo" build "$module" -o "$work/image" -- demo 2>&1
ls -l "$work/image"

step "kumo run: the app boots as its own VM"
set +e
"$kumo" run -v "$module" -- one "two words" 3
rc=$?
set -e
echo "exit code: $rc"

step "the same app as a Linux process (kumo run --host)"
"$kumo" run --host "$module" -- one "two words" 3
echo "exit code: $?"

step "a trap inside the VM is reported with the spec's wording"
set +e
"$kumo" run build/apps/app_trap.wasm -- div-zero
echo "exit code: $? (134 = trap)"
set -e
step "a pod through kumod's CRI socket (kumo-crictl)"
sock=$work/kumo.sock
crictl() { "$top/build/bin/kumo-crictl" --socket "$sock" --timeout 120 "$@"; }
"$top/build/bin/kumod" --socket "$sock" --root "$work/kumod" --vm-backend qemu ${DEMO_KUMOD_ARGS:-} \
	--cni-conf-dir "$work/net.d" --netns-dir "$work/netns" 2>"$work/kumod.log" &
kpid=$!
for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
echo "kumod on $sock (pid $kpid, log $work/kumod.log)"
echo "pod network: $(jq -r '"CNI list \(.name): " + ([.plugins[].type] | join(" + ")) + ", subnet " + .plugins[0].ipam.ranges[0][0].subnet' "$work/net.d/99-kumo.conflist" 2>/dev/null || echo "no CNI list (see kumod's log)")"
crictl PullImage "{\"image\":{\"image\":\"$ref\"}}"
pod=$(crictl RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"demo\",\"uid\":\"demo-uid\",\"namespace\":\"default\"},\"log_directory\":\"$work/logs\"}}" | jq -r .pod_sandbox_id)
echo "pod $pod"
ctr=$(crictl CreateContainer "{\"pod_sandbox_id\":\"$pod\",\"config\":{\"metadata\":{\"name\":\"args\"},\"image\":{\"image\":\"$ref\"},\"args\":[\"one\",\"two words\",\"3\"],\"log_path\":\"args.log\"}}" | jq -r .container_id)
echo "container $ctr"
crictl StartContainer "{\"container_id\":\"$ctr\"}" >/dev/null
for _ in $(seq 1200); do
	st=$(crictl ContainerStatus "{\"container_id\":\"$ctr\"}")
	[ "$(jq -r .status.state <<<"$st")" = CONTAINER_EXITED ] && break
	sleep 0.1
done
echo "CRI log file $work/logs/args.log:"
cat "$work/logs/args.log"
jq -r '"state \(.status.state), exit code \(.status.exit_code), reason \(.status.reason)"' <<<"$st"
crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null

# failed STEP WHY: says which step failed, then ends the demo with exit 1.
failed() {
	printf '\n\033[1mdemo step failed: %s\033[0m\n%s\n' "$1" "$2"
	exit 1
}
step "a Wasm web server pod, reached from the host over its pod IP"
httpd=build/apps/net_httpd.wasm
[ -f "$httpd" ] || failed "build the web server app" \
	"$httpd is not built: \`make apps\` builds the web server app (tests/apps/net_httpd.c)"
mkdir -p "$work/web/www"
cp "$httpd" "$work/web/httpd.wasm"
printf '<!doctype html>\n<h1>Hello from a Wasm pod</h1>\n<p>served by net_httpd.wasm inside a kumo unikernel VM</p>\n' >"$work/web/www/index.html"
webref=127.0.0.1:$REG_PORT/demo/web:v1
oci_wasm_image "$work/web" /httpd.wasm /www "$work/web-oci"
oci_wasm_push "$work/web-oci" "$webref" || failed "push the web image" "skopeo could not push $webref"
echo "image $webref: /httpd.wasm + /www/index.html"
crictl PullImage "{\"image\":{\"image\":\"$webref\"}}"
t0=$(date +%s%N)
web=$(crictl RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"web\",\"uid\":\"web-uid\",\"namespace\":\"default\"},\"hostname\":\"web\",\"log_directory\":\"$work/logs\",\"port_mappings\":[{\"protocol\":\"TCP\",\"container_port\":8080}]}}" | jq -r .pod_sandbox_id)
ip=$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$web\"}" | jq -r '.status.network.ip // ""')
t1=$(date +%s%N)
[ -n "$ip" ] || failed "RunPodSandbox gives the pod an IP" "no pod IP; kumod log: $(tail -5 "$work/kumod.log")"
echo "pod $web has IP $ip ($(( (t1 - t0) / 1000000 )) ms from RunPodSandbox to its IP)"
wctr=$(crictl CreateContainer "{\"pod_sandbox_id\":\"$web\",\"config\":{\"metadata\":{\"name\":\"httpd\"},\"image\":{\"image\":\"$webref\"},\"args\":[\"--root\",\"/www\"],\"log_path\":\"web.log\"}}" | jq -r .container_id)
crictl StartContainer "{\"container_id\":\"$wctr\"}" >/dev/null
echo "container $wctr started; curl http://$ip:8080/"
body=
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
	if body=$(curl -s --max-time 2 "http://$ip:8080/") && [ -n "$body" ]; then break; fi
	body=
	sleep 0.2
done
if [ -z "$body" ]; then
	echo "container log:"; tail -5 "$work/logs/web.log" 2>/dev/null || true
	st=$(crictl ContainerStatus "{\"container_id\":\"$wctr\"}" 2>/dev/null |
		jq -r '"state \(.status.state), exit code \(.status.exit_code), reason \(.status.reason), message \(.status.message)"' 2>/dev/null)
	crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$web\"}" >/dev/null || true
	failed "curl http://$ip:8080/ from the host" \
		"no answer within 60 s from the web server pod ($st); kumod log: $(tail -3 "$work/kumod.log")"
fi
echo "$body"
crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$web\"}" >/dev/null
kill -TERM "$kpid"; wait "$kpid" || true; kpid=

echo
echo "demo done: pushed, pulled, compiled, linked and booted a Wasm app as a kumo VM,"
echo "directly and as a pod through kumod's CRI socket, and served HTTP from a Wasm pod"
echo "reached over its pod IP."
