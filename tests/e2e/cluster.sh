#!/usr/bin/env bash
# tests/e2e/cluster.sh - the one-node-cluster tier (issues 22, 12, 15, 17 judged on a real
# cluster): Debian's etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
# kube-proxy (iptables mode) v1.28 on the node's address, kubelet pointed at kumod, and
# Debian's containerd behind kumod as the downstream; kumod's default CNI list (rewritten
# for the node's pod CIDR) shared by containerd. Every check goes through kubectl: the
# node Ready on kumod; the RuntimeClass `kumo` and the demo Deployment + Service of
# deploy/k8s (net_httpd pushed with `kumo push`) reached through its ClusterIP, scaled to 3
# and back, restarted by a rolling restart, its ConfigMap updated under the running
# replicas; `kubectl run` of busybox (forwarded to containerd) → Succeeded; a Wasm Job →
# complete with its logs; `kubectl port-forward` to a Wasm pod serving a file from a
# binary ConfigMap byte-identical; `kubectl exec` into busybox (kumod hands out
# containerd's streaming URL) and from it to the Service; exec into a Wasm pod refused
# with kumod's reason; a privileged hostNetwork DaemonSet; `kubectl logs -f` and `kubectl
# attach` on a Wasm pod; the summary API's stats of a Wasm pod; no unexpected warning
# event or failed runtime call; and the median time from `kubectl run` to Succeeded for
# a Wasm and a busybox echo pod (CLUSTER_RUNS each, default 5).
# Runs when the Kubernetes binaries are there ($KUBE_BIN=dir, else on PATH) and Debian's
# etcd is installed; skipped with a one-line reason otherwise. Everything runs in a
# network and mount namespace of its own (kubelet.sh), so kube-proxy's iptables rules,
# the pods' namespaces and every mount go with it. Prints `cluster: N passed, N failed`.
set -u
SUITE=cluster
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$HERE/../lib/cluster.sh"
if [ -z "${KUMO_E2E_NETNS:-}" ]; then
	if ! why=$(cluster_find_bins); then
		echo "$SUITE: skipped: $why"
		echo "$SUITE: 0 passed, 0 failed"
		exit 0
	fi
	cluster_find_bins
	export KUBE_BIN KUBELET=$KUBE_BIN/kubelet
fi
# shellcheck source=../lib/kubelet.sh
. "$HERE/../lib/kubelet.sh"
kubelet_enter_namespaces "$0" "$@"
# shellcheck source=../lib/containerd.sh
. "$HERE/../lib/containerd.sh"
RUNS=${CLUSTER_RUNS:-5}
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:1.29-2
WASM='{"apiVersion": "v1", "spec": {"runtimeClassName": "kumo"}}'

cleanup() {
	stop_kubelet
	if [ -n "$KPID" ]; then
		for p in $(crictl ListPodSandbox '{}' 2>/dev/null | jq -r '.items[]?.id'); do
			crictl StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
			crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null 2>&1
		done
	fi
	cluster_stop
	containerd_stop
	kubelet_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for a in app_hello app_podtool net_httpd; do
	[ -f "$APPS/$a.wasm" ] || { bad "test app $a" "missing $APPS/$a.wasm (make apps net-apps)"; finish; }
done
now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ctrd() { "$BIN/kumo-crictl" --socket "$CTRD_SOCK" --timeout 60 "$@"; }

# The control plane comes up once the registry holds the images; then containerd on
# kumod's CNI conf dir, then kumod in front of it and kubelet joining the API server.
kubelet_setup_hook() {
	local t0
	linux_images_push "$REG" pause busybox && ok "push the busybox and pause images" || bad "push the Linux images" "failed"
	"$BIN/kumo" push "$APPS/net_httpd.wasm" "$REG/kumo/net-httpd:v1" >"$T/push.log" 2>&1 &&
		ok "kumo push net_httpd" || bad "kumo push net_httpd" "$(cat "$T/push.log")"
	cluster_certs "$T/pki" && ok "certificates (openssl)" || { bad "certificates (openssl)" "failed"; finish; }
	t0=$(now_ms)
	# Not in $(...): the daemons' pids must stay in this shell for cluster_stop.
	if cluster_start "$T/pki" >"$T/why"; then
		ok "etcd, kube-apiserver, kube-controller-manager, kube-scheduler up ($(($(now_ms) - t0)) ms)"
	else
		bad "control plane up" "$(cat "$T/why")" "$(tail -5 "$T/pki/apiserver.log")"
		finish
	fi
	mkdir -p "$T/net.d"
	CTRD_CNI_CONF_DIR=$T/net.d containerd_start "$T/ctrd" "$REG" && ok "containerd starts" || bad "containerd starts" "see above"
	KUMOD_ARGS=(--downstream-endpoint "$CTRD_ENDPOINT")
	KUBELET_ARGS=(--kubeconfig "$T/pki/node.kubeconfig" --node-ip "$CLUSTER_NODE_IP"
		--node-labels kumo.io/enabled=true)
	T_KUBELET=$(now_ms)
}
# The API server reaches kubelet (logs, exec, attach, port-forward) at the node address.
KUBELET_ADDRESS=0.0.0.0
kubelet_setup hello podtool

# ---- the node: registered, Ready, its pod CIDR given to kumod's network list
ready='{.status.conditions[?(@.type=="Ready")].status}'
for _ in $(seq 300); do [ "$(k get node "$NODE" -o jsonpath="$ready" 2>/dev/null)" = True ] && break; sleep 0.2; done
if [ "$(k get node "$NODE" -o jsonpath="$ready" 2>/dev/null)" = True ]; then
	ok "node $NODE Ready ($(($(now_ms) - T_KUBELET)) ms after kubelet's start)"
else
	bad "node $NODE Ready" "$(k get node "$NODE" -o jsonpath='{.status.conditions}' 2>&1 | tail -3)"
	finish
fi
eq "the node's runtime is kumod" "$(k get node "$NODE" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}' | cut -d: -f1)" kumo
eq "kumod's Status: every condition true" \
	"$(crictl Status '{}' | jq -r '[.status.conditions[] | "\(.type)=\(.status)"] | join(" ")')" "RuntimeReady=true NetworkReady=true"
PODCIDR=$(k get node "$NODE" -o jsonpath='{.spec.podCIDR}')
case $PODCIDR in 10.244.*/24) ok "the controller manager gave the node a pod CIDR ($PODCIDR)" ;; *) bad "node pod CIDR" "got \`$PODCIDR\`" ;; esac
for _ in $(seq 50); do grep -q "$PODCIDR" "$T/net.d/99-kumo.conflist" 2>/dev/null && break; sleep 0.2; done
grep -q "$PODCIDR" "$T/net.d/99-kumo.conflist" 2>/dev/null && ok "kumod's default CNI list follows the node's pod CIDR" ||
	bad "kumod's default CNI list follows the node's pod CIDR" "$(head -20 "$T/net.d/99-kumo.conflist" 2>&1)"
if kube_proxy_start "$T/pki" >"$T/why"; then ok "kube-proxy up (iptables mode)"; else bad "kube-proxy up" "$(cat "$T/why")" "$(tail -5 "$T/pki/kube-proxy.log")"; fi
# in_podcidr IP: the address is in the node's /24 pod CIDR
in_podcidr() { [ "${1%.*}" = "${PODCIDR%.*/*}" ]; }

# ---- RuntimeClass and the demo web server of deploy/k8s
k apply -f "$REPO/deploy/k8s/runtimeclass.yaml" >"$T/k.out" 2>&1 && ok "RuntimeClass kumo applied (deploy/k8s/runtimeclass.yaml)" ||
	bad "RuntimeClass kumo" "$(cat "$T/k.out")"
eq "RuntimeClass kumo names handler kumo" "$(k get runtimeclass kumo -o jsonpath='{.handler}')" kumo
sed "s#image: localhost:5000/kumo/net-httpd:v1#image: $REG/kumo/net-httpd:v1#" "$REPO/deploy/k8s/demo-webserver.yaml" >"$T/demo.yaml"
t0=$(now_ms)
k apply -f "$T/demo.yaml" >"$T/k.out" 2>&1 && ok "demo Deployment + Service applied (deploy/k8s/demo-webserver.yaml)" ||
	bad "demo applied" "$(cat "$T/k.out")"
DEMO=deployment/kumo-demo-web
SEL=app.kubernetes.io/name=kumo-demo-web
if K_TIMEOUT=200 k rollout status "$DEMO" --timeout=180s >"$T/k.out" 2>&1; then
	ok "2 Wasm replicas available ($(($(now_ms) - t0)) ms from apply)"
else
	bad "2 Wasm replicas available" "$(tail -3 "$T/k.out")" "$(k get pods -l "$SEL" -o wide 2>&1)"
fi
PAGE=$(k get configmap kumo-demo-www -o jsonpath='{.data.index\.html}')
eq "each replica is a kumo VM (handler kumo in kumod)" \
	"$(crictl ListPodSandbox '{"filter":{"state":{"state":"SANDBOX_READY"},"label_selector":{"app.kubernetes.io/name":"kumo-demo-web"}}}' | jq -r '[.items[].runtime_handler] | join(",")')" "kumo,kumo"
# endpoints_ok N: the Service has N ready addresses, each answering the page at its pod IP
endpoints_ok() {
	local ips ip i
	for ((i = 0; i < 150; i++)); do
		ips=$(k get endpoints kumo-demo-web -o json 2>/dev/null | jq -r '[.subsets[]?.addresses[]?.ip] | .[]')
		[ "$(wc -w <<<"$ips")" = "$1" ] && break
		sleep 0.2
	done
	[ "$(wc -w <<<"$ips")" = "$1" ] || { echo "endpoints: $(tr '\n' ' ' <<<"$ips")"; return 1; }
	for ip in $ips; do
		in_podcidr "$ip" || { echo "$ip is outside $PODCIDR"; return 1; }
		[ "$(curl -sf --max-time 10 "http://$ip:8080/index.html")" = "$PAGE" ] || { echo "no page from $ip:8080"; return 1; }
	done
}
if why=$(endpoints_ok 2); then ok "the Service has 2 endpoints in the pod CIDR, each serving the page"; else bad "2 endpoints" "$why"; fi
CIP=$(k get service kumo-demo-web -o jsonpath='{.spec.clusterIP}')
# via_clusterip N: N requests through the ClusterIP (kube-proxy's DNAT) all get the page
via_clusterip() {
	local i got=0
	for ((i = 0; i < $1; i++)); do
		[ "$(curl -sf --max-time 10 "http://$CIP/index.html")" = "$PAGE" ] && got=$((got + 1))
	done
	echo "$got"
}
eq "the page through ClusterIP $CIP:80 (10 requests)" "$(via_clusterip 10)" 10

# ---- scaling to 3 and back to 2
t0=$(now_ms)
k scale "$DEMO" --replicas=3 >/dev/null 2>&1
if K_TIMEOUT=200 k rollout status "$DEMO" --timeout=180s >"$T/k.out" 2>&1 && why=$(endpoints_ok 3); then
	ok "scaled to 3: 3 endpoints serving ($(($(now_ms) - t0)) ms)"
else
	bad "scaled to 3" "${why:-$(tail -3 "$T/k.out")}"
fi
k scale "$DEMO" --replicas=2 >/dev/null 2>&1
kumo_demo_pods() { crictl ListPodSandbox '{"filter":{"state":{"state":"SANDBOX_READY"},"label_selector":{"app.kubernetes.io/name":"kumo-demo-web"}}}' | jq '.items | length'; }
for _ in $(seq 300); do
	[ "$(k get pods -l "$SEL" --no-headers 2>/dev/null | wc -l)" = 2 ] && [ "$(kumo_demo_pods)" = 2 ] && break
	sleep 0.2
done
eq "scaled back to 2: 2 pods in the API, 2 ready sandboxes in kumod" "$(k get pods -l "$SEL" --no-headers 2>/dev/null | wc -l) $(kumo_demo_pods)" "2 2"
if why=$(endpoints_ok 2); then ok "2 endpoints after scaling down"; else bad "2 endpoints after scaling down" "$why"; fi

# ---- a rolling restart: every pod replaced, the Service answering
before=$(k get pods -l "$SEL" -o jsonpath='{.items[*].metadata.name}')
t0=$(now_ms)
k rollout restart "$DEMO" >/dev/null 2>&1
if K_TIMEOUT=250 k rollout status "$DEMO" --timeout=240s >"$T/k.out" 2>&1; then
	ok "rolling restart done ($(($(now_ms) - t0)) ms)"
else
	bad "rolling restart" "$(tail -3 "$T/k.out")"
fi
for _ in $(seq 300); do [ "$(k get pods -l "$SEL" --no-headers 2>/dev/null | wc -l)" = 2 ] && break; sleep 0.2; done
after=$(k get pods -l "$SEL" -o jsonpath='{.items[*].metadata.name}')
eq "every replica replaced" "$(comm -12 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$after" | sort) | wc -l) $(wc -w <<<"$after")" "0 2"
if why=$(endpoints_ok 2); then ok "2 endpoints after the restart"; else bad "2 endpoints after the restart" "$why"; fi
eq "the page through the ClusterIP after the restart (10 requests)" "$(via_clusterip 10)" 10

# ---- a ConfigMap update reaches the running Wasm replicas (live volumes, issue 12)
PAGE2="<p>updated $RANDOM</p>"
t0=$(now_ms)
k create configmap kumo-demo-www --from-literal=index.html="$PAGE2" --dry-run=client -o yaml | k apply -f - >/dev/null 2>&1
PAGE=$PAGE2
for _ in $(seq 120); do why=$(endpoints_ok 2) && break; sleep 0.5; done
if why=$(endpoints_ok 2); then ok "a ConfigMap update reaches both running replicas ($(($(now_ms) - t0)) ms)"; else bad "a ConfigMap update reaches both running replicas" "$why"; fi

# ---- busybox through kumod to containerd; a Wasm Job
# wait_phase POD PHASE SECONDS
wait_phase() { K_TIMEOUT=$(($3 + 10)) k wait --for=jsonpath='{.status.phase}'="$2" "pod/$1" --timeout="$3s" >/dev/null 2>&1; }
k run bb-echo --image="$BUSYBOX" --restart=Never --command -- echo hello from busybox >/dev/null 2>"$T/k.err"
if wait_phase bb-echo Succeeded 120; then ok "kubectl run busybox → Succeeded"; else bad "kubectl run busybox → Succeeded" "$(k get pod bb-echo -o jsonpath='{.status}' 2>&1 | head -c 600)"; fi
eq "its log (kubectl logs)" "$(k logs bb-echo 2>&1)" "hello from busybox"
BBID=$(k get pod bb-echo -o jsonpath='{.status.containerStatuses[0].containerID}' | sed 's#^[a-z]*://##')
eq "containerd ran it (runc)" "$(ctrd ContainerStatus "{\"container_id\":\"$BBID\"}" 2>/dev/null | jq -r .status.state)" CONTAINER_EXITED
cat >"$T/job.yaml" <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: wasm-hello}
spec:
  backoffLimit: 0
  template:
    spec:
      runtimeClassName: kumo
      restartPolicy: Never
      containers:
      - name: hello
        image: $REG/hello:v1
EOF
k apply -f "$T/job.yaml" >/dev/null 2>&1
if K_TIMEOUT=130 k wait --for=condition=complete job/wasm-hello --timeout=120s >/dev/null 2>&1; then
	ok "Wasm Job complete"
else
	bad "Wasm Job complete" "$(k get pods -l job-name=wasm-hello -o jsonpath='{.items[*].status}' 2>&1 | head -c 600)"
fi
eq "the Job's log (kubectl logs job/...)" "$(k logs job/wasm-hello 2>&1)" "hello, world"
# What kubectl shows of the image a container ran: the digest kumod and containerd report.
eq "imageID of the Wasm Job's container is the pulled digest" \
	"$(k get pods -l job-name=wasm-hello -o jsonpath='{.items[0].status.containerStatuses[0].imageID}' | grep -cE 'sha256:[0-9a-f]{64}$')" 1
eq "imageID of busybox's container is the pulled digest" \
	"$(k get pod bb-echo -o jsonpath='{.status.containerStatuses[0].imageID}' | grep -cE 'sha256:[0-9a-f]{64}$')" 1

# ---- kubectl port-forward to a Wasm pod: a binary file from a ConfigMap, byte-identical
head -c 262144 /dev/urandom >"$T/blob.bin"
printf 'port-forward page %s\n' "$RANDOM" >"$T/index.html"
k create configmap pf-www --from-file="$T/blob.bin" --from-file="$T/index.html" >/dev/null 2>&1
cat >"$T/pf.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: pf}
spec:
  runtimeClassName: kumo
  containers:
  - name: httpd
    image: $REG/kumo/net-httpd:v1
    args: [--root, /www]
    ports: [{containerPort: 8080}]
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 2}
    volumeMounts: [{name: www, mountPath: /www, readOnly: true}]
  volumes: [{name: www, configMap: {name: pf-www}}]
EOF
k apply -f "$T/pf.yaml" >/dev/null 2>&1
if K_TIMEOUT=130 k wait --for=condition=Ready pod/pf --timeout=120s >/dev/null 2>&1; then ok "port-forward target pod Ready"; else bad "port-forward target pod Ready" "$(k get pod pf -o jsonpath='{.status}' 2>&1 | head -c 600)"; fi
PF_PORT=$(free_port)
timeout 120 "$KUBE_BIN/kubectl" --kubeconfig "$T/pki/admin.kubeconfig" port-forward pod/pf "$PF_PORT:8080" >"$T/pf.log" 2>&1 &
PF_PID=$!
if wait_port "$PF_PORT" 150; then
	curl -sf --max-time 30 -o "$T/got.bin" "http://127.0.0.1:$PF_PORT/blob.bin"
	cmp -s "$T/got.bin" "$T/blob.bin" && ok "kubectl port-forward: 256 KiB file byte-identical" ||
		bad "kubectl port-forward: 256 KiB file byte-identical" "got $(stat -c %s "$T/got.bin" 2>/dev/null || echo no) bytes" "$(tail -3 "$T/pf.log")"
	pids=()
	for i in $(seq 8); do curl -sf --max-time 30 -o "$T/got$i.bin" "http://127.0.0.1:$PF_PORT/blob.bin" & pids+=($!); done
	wait "${pids[@]}"
	same=0
	for i in $(seq 8); do cmp -s "$T/got$i.bin" "$T/blob.bin" && same=$((same + 1)); done
	eq "kubectl port-forward: 8 fetches at once byte-identical" "$same" 8
else
	bad "kubectl port-forward listens" "$(tail -3 "$T/pf.log")"
fi
kill "$PF_PID" 2>/dev/null
wait "$PF_PID" 2>/dev/null

# ---- kubectl exec into busybox (kumod hands out containerd's streaming URL)
k run bb --image="$BUSYBOX" --restart=Never --command -- sleep 3600 >/dev/null 2>&1
if wait_phase bb Running 120; then ok "busybox pod Running"; else bad "busybox pod Running" "$(k get pod bb -o jsonpath='{.status}' 2>&1 | head -c 600)"; fi
eq "kubectl exec busybox -- echo" "$(k exec bb -- echo exec works 2>&1)" "exec works"
k exec bb -- sh -c 'exit 3' >/dev/null 2>&1
eq "kubectl exec's exit code" "$?" 3
eq "kubectl exec -i (stdin)" "$(echo through stdin | k exec -i bb -- cat 2>&1)" "through stdin"
BBIP=$(k get pod bb -o jsonpath='{.status.podIP}')
in_podcidr "$BBIP" && ok "busybox's pod IP $BBIP in the node's pod CIDR (one pool for both runtimes)" || bad "busybox pod IP in $PODCIDR" "got \`$BBIP\`"
# (nc: Debian's busybox-static wget segfaults, on the host as well.)
eq "busybox → the Wasm Service's ClusterIP" \
	"$(k exec bb -- sh -c "printf 'GET /index.html HTTP/1.0\r\n\r\n' | nc -w 10 $CIP 80" 2>&1 | tr -d '\r' | sed '1,/^$/d')" "$PAGE"
# exec into a Wasm pod: a Wasm command of its image runs in the pod VM (the server's own
# module, asked for its usage: exit 2); a shell is refused with what exec runs on kumo.
WPOD=$(k get pods -l "$SEL" -o jsonpath='{.items[0].metadata.name}')
k exec "$WPOD" -- /net_httpd.wasm --help >"$T/wexec.out" 2>&1
WRC=$?
[ "$WRC" = 2 ] && grep -q 'usage: net_httpd' "$T/wexec.out" &&
	ok "kubectl exec into a Wasm pod runs a Wasm command of its image (exit 2, its usage)" || bad "kubectl exec into a Wasm pod" "rc $WRC: $(head -3 "$T/wexec.out")"
k exec "$WPOD" -- sh -c true >"$T/wexec.out" 2>&1
WRC=$?
[ "$WRC" != 0 ] && grep -q 'exec on kumo runs WebAssembly modules' "$T/wexec.out" &&
	ok "kubectl exec of a shell in a Wasm pod: refused with kumod's reason" || bad "kubectl exec of a shell: refused with kumod's reason" "rc $WRC: $(head -3 "$T/wexec.out")"

# ---- kill -9 of kumod under the running cluster, then a restart: kubelet sees no pod
# restart, the Service and exec into busybox go on working
restarts() { k get pods -l "$SEL" -o jsonpath='{.items[*].status.containerStatuses[0].restartCount}'; }
stop_kumod KILL
t0=$(now_ms)
start_kumod
eq "kumod back after kill -9 (crictl Version)" "$(crictl Version '{}' 2>/dev/null | jq -r .runtime_name)" kumo
eq "the page through the ClusterIP after kumod's restart (10 requests)" "$(via_clusterip 10)" 10
eq "kubectl exec into busybox after kumod's restart" "$(k exec bb -- echo still here 2>&1)" "still here"
sleep 3
eq "no replica restarted" "$(restarts)" "0 0"
eq "node still Ready ($(($(now_ms) - t0)) ms after the restart)" "$(k get node "$NODE" -o jsonpath="$ready")" True
eq "kumod lists the 2 replicas ready again" "$(kumo_demo_pods)" 2

# A node agent's shape (kube-proxy, CNI agents): a privileged hostNetwork DaemonSet,
# forwarded to containerd, seeing the node's own address.
cat >"$T/ds.yaml" <<EOF
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      hostNetwork: true
      containers:
      - name: agent
        image: $BUSYBOX
        command: [sleep, "3600"]
        securityContext: {privileged: true}
EOF
k apply -f "$T/ds.yaml" >/dev/null 2>&1
if K_TIMEOUT=130 k rollout status daemonset/node-agent --timeout=120s >/dev/null 2>&1; then ok "a privileged hostNetwork DaemonSet (busybox) runs on the node"; else bad "hostNetwork DaemonSet" "$(k get pods -l app=node-agent -o jsonpath='{.items[*].status}' 2>&1 | head -c 600)"; fi
grep -q "inet $CLUSTER_NODE_IP/" <<<"$(k exec daemonset/node-agent -- ip -4 addr 2>&1)" && ok "the DaemonSet pod sees the node's address ($CLUSTER_NODE_IP)" ||
	bad "the DaemonSet pod sees the node's address" "$(k exec daemonset/node-agent -- ip -4 addr 2>&1 | head -5)"

# ---- kubectl logs -f and kubectl attach on a Wasm pod
k run talker --image="$REG/podtool:v1" --restart=Never --overrides="$WASM" -- \
	print first sleep 8000 print second sleep 1000 exit 0 >/dev/null 2>&1
if wait_phase talker Running 120; then ok "Wasm pod Running (for logs -f and attach)"; else bad "Wasm pod Running" "$(k get pod talker -o jsonpath='{.status}' 2>&1 | head -c 600)"; fi
K_TIMEOUT=60 k logs -f talker >"$T/logsf.out" 2>&1 &
LF=$!
K_TIMEOUT=60 k attach talker >"$T/attach.out" 2>&1 &
AT=$!
wait "$LF"
eq "kubectl logs -f follows to the exit" "$(cat "$T/logsf.out")" "first
second"
wait "$AT"
ATRC=$?
grep -qx second "$T/attach.out" && ok "kubectl attach sees the line written after it attached (exit $ATRC)" ||
	bad "kubectl attach" "rc $ATRC" "$(head -5 "$T/attach.out")"
if wait_phase talker Succeeded 60; then ok "the Wasm pod Succeeded"; else bad "the Wasm pod Succeeded" "$(k get pod talker -o jsonpath='{.status.phase}' 2>&1)"; fi

# ---- kubectl run → Succeeded, median of $RUNS, a Wasm and a busybox echo pod alternating
kumo_accel
: >"$T/wasm.ms"
: >"$T/bb.ms"
for i in $(seq "$RUNS"); do
	t0=$(now_ms)
	k run "w-echo-$i" --image="$REG/podtool:v1" --restart=Never --overrides="$WASM" -- print hi >/dev/null 2>&1 &&
		wait_phase "w-echo-$i" Succeeded 120 && echo $(($(now_ms) - t0)) >>"$T/wasm.ms"
	t0=$(now_ms)
	k run "b-echo-$i" --image="$BUSYBOX" --restart=Never --command -- echo hi >/dev/null 2>&1 &&
		wait_phase "b-echo-$i" Succeeded 120 && echo $(($(now_ms) - t0)) >>"$T/bb.ms"
	k delete pod "w-echo-$i" "b-echo-$i" --wait=false >/dev/null 2>&1
done
eq "Wasm echo pods Succeeded" "$(wc -l <"$T/wasm.ms")" "$RUNS"
eq "busybox echo pods Succeeded" "$(wc -l <"$T/bb.ms")" "$RUNS"
echo "cluster: kubectl run → Succeeded, median of $RUNS (VMs under $accel): Wasm echo $(median <"$T/wasm.ms") ms ($(sort -n "$T/wasm.ms" | tr '\n' ' ')), busybox echo $(median <"$T/bb.ms") ms ($(sort -n "$T/bb.ms" | tr '\n' ' '))"

# ---- what the cluster sees of the node: stats for the summary API (metrics-server's
# source) from kumod's ListPodSandboxStats/ListContainerStats, and no warning event but
# the one a cluster without a DNS add-on gives every pod (and kubelet's own transient
# "failed to sync configmap cache" of a pod it saw before its ConfigMap informer synced:
# kubelet and the API server, retried by kubelet, before kumo is asked anything; and the
# endpoints controller's FailedToUpdateEndpoint on an optimistic-lock conflict, "the
# object has been modified": two writers of one Endpoints object, retried by the
# controller, with no node in it)
eq "summary API: a Wasm pod's memory and CPU (from kumod's stats)" \
	"$(k get --raw "/api/v1/nodes/$NODE/proxy/stats/summary" | jq -r '[.pods[] | select(.podRef.name == "pf") | .containers[]? | select(.name == "httpd") | (.memory.workingSetBytes > 0), (.cpu.usageCoreNanoSeconds > 0)] | map(tostring) | join(" ")')" "true true"
eq "no warning event but MissingClusterDNS (no DNS add-on here)" \
	"$(k get events -A --field-selector type=Warning -o json | jq -r '.items[] | select(.reason != "MissingClusterDNS") |
		select(.reason != "FailedMount" or (.message | contains("failed to sync configmap cache") | not)) |
		select(.reason != "FailedToUpdateEndpoint" or (.message | contains("the object has been modified") | not)) |
		"\(.involvedObject.name): \(.reason): \(.message)"')" ""
# A Wasm web server deleted with kubectl: the ACPI power button ends it at its next poll.
t0=$(now_ms)
if K_TIMEOUT=60 k delete pod pf --timeout=50s >/dev/null 2>&1; then ok "kubectl delete of a Wasm pod returns ($(($(now_ms) - t0)) ms; grace period 30 s)"; else bad "kubectl delete of a Wasm pod" "not gone within 50 s"; fi

# ---- kubelet said nothing about a failed runtime call; pods go with their objects
eq "no runtime call of kubelet's failed" "$(runtime_errors)" ""
k delete deployment kumo-demo-web --wait=false >/dev/null 2>&1
k delete daemonset node-agent --wait=false >/dev/null 2>&1
k delete pod bb bb-echo talker --wait=false >/dev/null 2>&1
k delete job wasm-hello >/dev/null 2>&1
for _ in $(seq 300); do
	[ "$(crictl ListPodSandbox '{"filter":{"state":{"state":"SANDBOX_READY"}}}' | jq '.items | length')" = 0 ] && break
	sleep 0.2
done
eq "every pod gone from kumod and containerd (ready sandboxes)" \
	"$(crictl ListPodSandbox '{"filter":{"state":{"state":"SANDBOX_READY"}}}' | jq '.items | length') $(ctrd ListPodSandbox '{"filter":{"state":{"state":"SANDBOX_READY"}}}' | jq '.items | length')" "0 0"
if [ $fail -ne 0 ]; then echo "--- kubelet log (errors)"; grep -E '^E' "$T/kubelet.log" | tail -20; echo "--- kumod log"; grep -E ' (error|warn)' "$T/kumod.log" | tail -20; fi
finish
