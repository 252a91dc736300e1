#!/usr/bin/env bash
# tests/e2e/deploy-daemonset-sim.sh - `make deploy-image-test`: what the kumo-deploy
# DaemonSet pod does on a node, without Kubernetes. Builds the installer image, then in
# private mount and PID namespaces (the "node": /etc, /usr/local, /var, /opt and /run
# behind overlays on a tmpfs, so the real machine is never written; PID 1 of the new
# namespace stands for the node's init) runs the image's entrypoint the way the
# DaemonSet's container does: chrooted into the image's rootfs with the node's /opt/kumo
# at /host/opt/kumo. Checks kumod answering on /run/kumo/kumo.sock (started through
# /etc/init.d/kumod: systemd is not PID 1 here), kubelet's config rewritten and kubelet
# "restarted" (KUBELET_RESTART_CMD), the installed kumo building with the installed
# kernel library; the label watch against a stand-in API server (python3 over TLS with
# the service account token): label true keeps kumo, a 401 changes nothing, the label
# removed uninstalls; then a second install removed by the preStop hook (--purge).
# Needs root (mount, unshare). Not part of `make test` (it builds the image).
set -uo pipefail
SUITE=deploy-sim
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { bad "root" "needs root"; finish; }
T=$(mktemp -d /tmp/kumo-ds-sim-XXXXXX)
trap 'rm -rf "$T"' EXIT
if ! bash "$top/deploy/image/build.sh" "$T/img" sim >"$T/build.log" 2>&1; then
	bad "the installer image builds" "$(tail -20 "$T/build.log")"; finish
fi
umoci unpack --rootless --image "$T/img/oci:sim" "$T/bundle" >/dev/null || { bad "umoci unpack"; finish; }
wat2wasm - -o "$T/exit7.wasm" <<'EOF'
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 7))))
EOF

# A stand-in for the API server: GET /api/v1/nodes/sim with the service account's token
# answers the Node object from $T/api/node.json (the test rewrites its labels).
mkdir -p "$T/api"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/api/key.pem" -out "$T/api/ca.crt" >/dev/null 2>&1 || { bad "openssl"; finish; }
echo "sim-token-$RANDOM" >"$T/api/token"
cat >"$T/api/server.py" <<'EOF'
import http.server, json, ssl, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(d + "/requests", "a").write(self.path + "\n")
        tok = open(d + "/token").read().strip()
        if self.headers.get("Authorization") != "Bearer " + tok:
            self.send_response(401); self.end_headers(); return
        if self.path != "/api/v1/nodes/sim":
            self.send_response(404); self.end_headers(); return
        body = open(d + "/node.json", "rb").read()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/ca.crt", d + "/key.pem")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(d + "/port", "w").write(str(srv.server_address[1]))
srv.serve_forever()
EOF

cat >"$T/node.sh" <<'NODE'
set -uo pipefail
T=$1

# The node's file system: writes land in a tmpfs, never on the machine.
mount --make-rprivate / || { bad "private mounts"; finish; }
mkdir -p "$T/tmpfs" && mount -t tmpfs tmpfs "$T/tmpfs" || { bad "tmpfs"; finish; }
for d in /etc /usr/local /var /opt /run; do
	mkdir -p "$T/tmpfs/up$d" "$T/tmpfs/work$d"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/tmpfs/up$d,workdir=$T/tmpfs/work$d" "$d" ||
		{ bad "overlay on $d"; finish; }
done
mount -t proc proc /proc || { bad "proc"; finish; }
ok "the node: overlays on /etc /usr/local /var /opt /run, PID $$ is its init"
# A clean node: no kumo yet, kubelet on containerd.
rm -rf /usr/local/lib/kumo /usr/local/bin/kumo* /etc/kumo /var/lib/kumo /var/lib/kumo-install /run/kumo /opt/kumo /etc/crictl.yaml
mkdir -p /var/lib/kubelet
printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncontainerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n' >/var/lib/kubelet/config.yaml
cp -a /var/lib/kubelet/config.yaml "$T/kubelet.orig"

# The DaemonSet container: the image's rootfs, the node's /opt/kumo (hostPath,
# DirectoryOrCreate) at /host/opt/kumo, the node's PID namespace (hostPID).
R=$T/bundle/rootfs
mkdir -p /opt/kumo "$R/host/opt/kumo" "$R/proc" "$R/dev"
mount --bind /opt/kumo "$R/host/opt/kumo" && mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev" ||
	{ bad "container mounts"; finish; }
# The service account volume and the API server.
sa=$R/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$sa" && cp "$T/api/token" "$T/api/ca.crt" "$sa/"
printf '{"kind":"Node","metadata":{"name":"sim","labels":{"kumo.io/enabled":"true"}}}' >"$T/api/node.json"
python3 "$T/api/server.py" "$T/api" &
api=$!
for _ in $(seq 100); do [ -s "$T/api/port" ] && break; sleep 0.1; done
container() { # entrypoint args..., with the DaemonSet's environment
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NODE_NAME=sim KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$(cat "$T/api/port")" KUMO_LABEL_POLL_S=1 KUMO_INSTALL_ARGS="--deps --crictl --kubelet" \
		KUMO_UNINSTALL_ARGS="${UNINSTALL_ARGS:-}" KUBELET_RESTART_CMD="date +%s.%N >>/run/kubelet-restarts" /usr/sbin/chroot "$R" /kumo-payload/entrypoint.sh "$@"
}
container install >"$T/ds.log" 2>&1 &
ds=$!
for _ in $(seq 600); do
	grep -q 'watching its kumo.io/enabled label' "$T/ds.log" 2>/dev/null && break
	kill -0 $ds 2>/dev/null || break
	sleep 0.1
done
if grep -q 'watching its kumo.io/enabled label' "$T/ds.log"; then ok "entrypoint install: payload copied, install.sh ran on the node"
else bad "entrypoint install" "$(tail -20 "$T/ds.log")"; fi
eq "the payload is on the node at /opt/kumo/payload" "$(ls /opt/kumo/payload/bin 2>/dev/null | tr '\n' ' ')" "kumo kumo-compile kumo-crictl kumod "
/usr/local/bin/kumo-crictl --socket /run/kumo/kumo.sock Version >"$T/v" 2>&1
eq "kumod answers on /run/kumo/kumo.sock (started by /etc/init.d/kumod)" "$(jq -r .runtime_name "$T/v" 2>/dev/null)" kumo
eq "/etc/init.d/kumod status" "$(/etc/init.d/kumod status >/dev/null 2>&1; echo $?)" 0
eq "kubelet's config points at kumod" "$(sed -n 's/^containerRuntimeEndpoint: //p' /var/lib/kubelet/config.yaml)" unix:///run/kumo/kumo.sock
eq "kubelet was restarted once" "$(wc -l </run/kubelet-restarts 2>/dev/null)" 1
eq "the runtime kubelet left (containerd) is kumod's downstream" "$(jq -r .downstream_endpoint /etc/kumo/kumo.json)" unix:///run/containerd/containerd.sock
eq "crictl.yaml points at kumod" "$(sed -n 's/^runtime-endpoint: //p' /etc/crictl.yaml)" unix:///run/kumo/kumo.sock
env -u KUMO_KERNEL_DIR KUMO_ROOT="$T/store" /usr/local/bin/kumo build "$T/exit7.wasm" -o "$T/image" >"$T/b" 2>&1
eq "the installed kumo builds with /usr/local/lib/kumo/kernel" "$? $(test -s "$T/image/kernel.elf" && echo image)" "0 image"
sleep 2.5
kill -0 $ds 2>/dev/null
eq "label kumo.io/enabled=true: the container keeps running, kumo stays" "$?$(test -x /usr/local/bin/kumod && echo ' installed')" "0 installed"
eq "... it asked the API server for its Node" "$(grep -m1 -c '^/api/v1/nodes/sim$' "$T/api/requests" 2>/dev/null)" 1
echo "sim-token-wrong" >"$T/api/token"
sleep 2.5
eq "API server refusing it (401): no uninstall" "$(test -x /usr/local/bin/kumod && echo installed)" installed
cp "$sa/token" "$T/api/token"
printf '{"kind":"Node","metadata":{"name":"sim","labels":{}}}' >"$T/api/node.json"
for _ in $(seq 300); do grep -q 'uninstalled from node sim' "$T/ds.log" && break; sleep 0.1; done
eq "label removed: the container uninstalls kumo from the node" "$(grep -c 'uninstalled from node sim' "$T/ds.log")" 1
eq "... kumod's files gone" "$(ls -d /usr/local/lib/kumo /usr/local/bin/kumo* /etc/kumo /etc/init.d/kumod /etc/crictl.yaml /var/lib/kumo-install /opt/kumo/payload 2>/dev/null)" ""
if cmp -s /var/lib/kubelet/config.yaml "$T/kubelet.orig"; then ok "... kubelet's config restored"; else bad "... kubelet's config restored"; fi
eq "... kubelet restarted again" "$(wc -l </run/kubelet-restarts 2>/dev/null)" 2
kill -0 $ds 2>/dev/null
eq "... and the container waits for the DaemonSet to delete it" "$?" 0
kill -TERM "$(pgrep -P $ds)"
wait $ds
eq "SIGTERM ends it (exit 0)" "$?" 0

# Again, this time removed by the preStop hook (deleting the pod).
printf '{"kind":"Node","metadata":{"name":"sim","labels":{"kumo.io/enabled":"true"}}}' >"$T/api/node.json"
rm -f /run/kubelet-restarts
container install >"$T/ds.log" 2>&1 &
ds=$!
for _ in $(seq 600); do
	grep -q 'watching its kumo.io/enabled label' "$T/ds.log" 2>/dev/null && break
	kill -0 $ds 2>/dev/null || break
	sleep 0.1
done
eq "installed again" "$(/usr/local/bin/kumo-crictl --socket /run/kumo/kumo.sock Version 2>/dev/null | jq -r .runtime_name)" kumo
kill -TERM "$(pgrep -P $ds)"
wait $ds
eq "SIGTERM ends the container at once (exit 0)" "$?" 0
eq "... and leaves kumo installed" "$(test -x /usr/local/bin/kumod && echo yes)" yes

kpid=$(cat /run/kumo/kumod.pid)
UNINSTALL_ARGS=--purge container uninstall >"$T/un.log" 2>&1
eq "entrypoint uninstall --purge (the preStop hook)" "$?" 0 || cat "$T/un.log"
eq "kumod stopped" "$(kill -0 "$kpid" 2>/dev/null && echo runs)" ""
eq "kumod's files gone" "$(ls -d /usr/local/lib/kumo /usr/local/bin/kumo* /etc/kumo /etc/init.d/kumod /etc/systemd/system/kumod.service /etc/crictl.yaml /var/lib/kumo-install /opt/kumo/payload 2>/dev/null)" ""
if cmp -s /var/lib/kubelet/config.yaml "$T/kubelet.orig"; then ok "kubelet's config restored byte for byte"; else bad "kubelet's config restored" "$(cat /var/lib/kubelet/config.yaml)"; fi
eq "kubelet restarted (install, uninstall)" "$(wc -l </run/kubelet-restarts 2>/dev/null)" 2
eq "--purge removed kumod's state, log and socket directories" "$(ls -d /var/lib/kumo /var/log/kumo /run/kumo 2>/dev/null)" ""
left=$(cd "$T/tmpfs/up" && find . -mindepth 1 -not -type d -not -type c | grep -vE '^\./(run/kubelet-restarts|var/lib/kubelet/config\.yaml)$')
eq "nothing else is left on the node" "$left" ""
kill $api 2>/dev/null
finish
NODE

unshare --mount --pid --fork bash "$T/node.sh" "$T"
