# tests/lib/cluster.sh - a one-node Kubernetes control plane for the cluster tier
# (sourced after kubelet.sh, from inside kubelet_enter_namespaces' network and mount
# namespace): Debian's etcd and the API server, controller manager, scheduler and
# kube-proxy from $KUBE_BIN, with certificates made here by openssl, everything on the
# node address kubelet.sh gives the namespace ($CLUSTER_NODE_IP, 192.0.2.10).
#
#   cluster_find_bins        sets KUBE_BIN from $KUBE_BIN or the PATH; prints why not and
#                            returns 1 when a binary (or Debian's etcd) is missing
#   cluster_certs DIR        a CA, the API server's serving certificate, client
#                            certificates for an admin (system:masters) and the node
#                            (system:node:$NODE), the service-account key pair, and
#                            kubeconfigs DIR/admin.kubeconfig and DIR/node.kubeconfig
# cluster_start and kube_proxy_start must run in the script's own shell (not in $(...)):
# they keep the daemons' pids for cluster_stop.
#   cluster_start DIR        etcd (data on a tmpfs), kube-apiserver (until /readyz),
#                            kube-controller-manager (node CIDRs from $CLUSTER_CIDR),
#                            kube-scheduler; logs in DIR/*.log; returns 1 naming what
#                            did not come up
#   kube_proxy_start DIR     kube-proxy as a host process in iptables mode
#   cluster_stop             stops everything cluster_start and kube_proxy_start began,
#                            in reverse order (the namespace takes the iptables rules)
#   k ARGS...                kubectl as the admin, with a deadline per call
CLUSTER_NODE_IP=192.0.2.10
CLUSTER_CIDR=10.244.0.0/16
CLUSTER_SERVICE_RANGE=10.96.0.0/24
CLUSTER_PIDS=()
CLUSTER_DIR=
CLUSTER_BINS="kube-apiserver kube-controller-manager kube-scheduler kubectl kube-proxy kubelet"

cluster_find_bins() {
	local b dir=${KUBE_BIN:-}
	if [ -z "$dir" ]; then
		b=$(command -v kube-apiserver 2>/dev/null) || { echo "no Kubernetes binaries (set KUBE_BIN=dir holding $CLUSTER_BINS, or put them on PATH)"; return 1; }
		dir=$(dirname "$b")
	fi
	for b in $CLUSTER_BINS; do
		[ -x "$dir/$b" ] || { echo "no \`$b\` in \`$dir\` (KUBE_BIN must hold $CLUSTER_BINS)"; return 1; }
	done
	command -v etcd >/dev/null 2>&1 || { echo "no etcd (Debian's etcd-server; deploy/install-deps.sh installs it)"; return 1; }
	KUBE_BIN=$(cd "$dir" && pwd)
}

k() { timeout "${K_TIMEOUT:-60}" "$KUBE_BIN/kubectl" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" "$@"; }

# _cluster_cert DIR NAME SUBJECT EXTENSIONS: DIR/NAME.{key,crt}, an ECDSA P-256 key
# signed by DIR/ca.
_cluster_cert() {
	local d=$1 n=$2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/$n.key" -subj "$3" -out "$d/$n.csr" 2>/dev/null &&
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
			-days 2 -out "$d/$n.crt" -extfile <(printf '%b' "$4") 2>/dev/null
}

# _cluster_kubeconfig DIR NAME USER: DIR/NAME.kubeconfig with the client cert DIR/USER.*
_cluster_kubeconfig() {
	cat >"$1/$2.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kumo-test
  cluster: {server: "https://$CLUSTER_NODE_IP:6443", certificate-authority: "$1/ca.crt"}
users:
- name: $3
  user: {client-certificate: "$1/$3.crt", client-key: "$1/$3.key"}
contexts:
- name: kumo-test
  context: {cluster: kumo-test, user: $3}
current-context: kumo-test
EOF
}

cluster_certs() {
	local d=$1 san
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$d/ca.key" -out "$d/ca.crt" -subj /CN=kumo-test-ca 2>/dev/null || return 1
	san="subjectAltName=IP:127.0.0.1,IP:$CLUSTER_NODE_IP,IP:${CLUSTER_SERVICE_RANGE%.0/*}.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	_cluster_cert "$d" apiserver /CN=kube-apiserver "$san\nextendedKeyUsage=serverAuth\n" &&
		_cluster_cert "$d" admin "/O=system:masters/CN=kumo-test-admin" "extendedKeyUsage=clientAuth\n" &&
		_cluster_cert "$d" node "/O=system:nodes/CN=system:node:$NODE" "extendedKeyUsage=clientAuth\n" &&
		openssl ecparam -name prime256v1 -genkey -noout -out "$d/sa.key" 2>/dev/null &&
		openssl ec -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null || return 1
	_cluster_kubeconfig "$d" admin admin
	_cluster_kubeconfig "$d" node node
}

# _cluster_run NAME CMD...: starts CMD in the background, output in DIR/NAME.log
_cluster_run() {
	local n=$1
	shift
	"$@" >"$CLUSTER_DIR/$n.log" 2>&1 &
	CLUSTER_PIDS+=($!)
}

# _cluster_wait WHAT SECONDS CMD...: until CMD succeeds
_cluster_wait() {
	local what=$1 s=$2 i
	shift 2
	for ((i = 0; i < s * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "$what did not come up within $s s"
	return 1
}

cluster_start() {
	local d=$1
	CLUSTER_DIR=$d
	# etcd's fsyncs on a tmpfs: the tier measures kumo, not the disk.
	mkdir -p "$d/etcd" && mount -t tmpfs -o size=512m tmpfs "$d/etcd" || { echo "tmpfs for etcd failed"; return 1; }
	_cluster_run etcd etcd --name kumo-test --data-dir "$d/etcd/data" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster kumo-test=http://127.0.0.1:2380 --log-level warn
	_cluster_wait etcd 30 curl -sf http://127.0.0.1:2379/health || return 1
	_cluster_run apiserver "$KUBE_BIN/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
		--bind-address 0.0.0.0 --secure-port 6443 --advertise-address "$CLUSTER_NODE_IP" \
		--client-ca-file "$d/ca.crt" --tls-cert-file "$d/apiserver.crt" --tls-private-key-file "$d/apiserver.key" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$d/sa.pub" --service-account-signing-key-file "$d/sa.key" \
		--service-cluster-ip-range "$CLUSTER_SERVICE_RANGE" --authorization-mode Node,RBAC \
		--kubelet-preferred-address-types InternalIP \
		--kubelet-client-certificate "$d/admin.crt" --kubelet-client-key "$d/admin.key" \
		--allow-privileged=true --enable-priority-and-fairness=false --profiling=false \
		--cert-dir "$d/apiserver-certs" --v=1
	_cluster_wait kube-apiserver 90 k get --raw /readyz || return 1
	_cluster_run controller-manager "$KUBE_BIN/kube-controller-manager" \
		--kubeconfig "$d/admin.kubeconfig" --authentication-kubeconfig "$d/admin.kubeconfig" \
		--authorization-kubeconfig "$d/admin.kubeconfig" --leader-elect=false \
		--service-account-private-key-file "$d/sa.key" --root-ca-file "$d/ca.crt" \
		--allocate-node-cidrs --cluster-cidr "$CLUSTER_CIDR" --node-cidr-mask-size 24 \
		--service-cluster-ip-range "$CLUSTER_SERVICE_RANGE" --bind-address 127.0.0.1 \
		--cert-dir "$d/cm-certs" --profiling=false --v=1
	_cluster_run scheduler "$KUBE_BIN/kube-scheduler" --kubeconfig "$d/admin.kubeconfig" \
		--authentication-kubeconfig "$d/admin.kubeconfig" --authorization-kubeconfig "$d/admin.kubeconfig" \
		--leader-elect=false --bind-address 127.0.0.1 --cert-dir "$d/scheduler-certs" --profiling=false --v=1
	# The service-account controller makes `default` in every namespace (pods need it).
	_cluster_wait "the default service account" 60 k get serviceaccount default || return 1
}

kube_proxy_start() {
	local d=$1
	cat >"$d/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$d/admin.kubeconfig"}
mode: iptables
clusterCIDR: $CLUSTER_CIDR
hostnameOverride: $NODE
bindAddress: $CLUSTER_NODE_IP
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# Nothing to set in /proc/sys/net/netfilter from a namespace: leave conntrack alone.
conntrack: {maxPerCore: 0, min: 0}
EOF
	_cluster_run kube-proxy "$KUBE_BIN/kube-proxy" --config "$d/kube-proxy.yaml" --v=1
	_cluster_wait kube-proxy 30 curl -sf http://127.0.0.1:10256/healthz
}

cluster_stop() {
	local i j p
	for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
		p=${CLUSTER_PIDS[i]}
		kill "$p" 2>/dev/null
		# The API server drains its requests first; 10 s, then it goes.
		for ((j = 0; j < 100; j++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CLUSTER_PIDS=()
	[ -z "$CLUSTER_DIR" ] || umount -l "$CLUSTER_DIR/etcd" 2>/dev/null
	return 0
}
