#!/usr/bin/env bash
# tests/lib/snaplib.sh - (sourced, after cri.sh's cri_suite and oci-wasm-image.sh) what the
# snapshot tiers share (snapshot.sh, snapshot-libvirt.sh, migrate.sh, ckimage.sh):
#   counting FILE         the numbers of FILE's counter lines ("count K sum S ok"), in order
#   consecutive FILE      "yes" when they go 1, 2, 3... with no gap or repeat ("empty": none)
#   counts_from FILE K    "yes" when they go K, K+1, ... (at least 5) with no gap or repeat
#   snap_web_image        the web image (net_httpd serving $T/img/www/index.html, 4 KB of
#                         random text) pushed to $REG/web:v1; non-zero after `bad`
#   snap_pod_remove POD   StopPodSandbox + RemovePodSandbox on $SOCK, `bad` when they fail
#   snap_web_restore LABEL NAME UID   on kumod at $SOCK: a pod NAME (uid UID) serving the
#                         web image, a client's keep-alive connection opened, `kumo
#                         checkpoint --stop`, the pod removed, `kumo restore`: the restored
#                         pod at the address it had, serving the same file, the connection
#                         going on (checks named "LABEL: ..."); the pod removed after
counting() { sed -nE 's/.*count ([0-9]+) sum [0-9]+ ok$/\1/p' "$1"; }
consecutive() { counting "$1" | awk 'BEGIN{r="yes"} $1!=NR{r="no"} END{print (NR ? r : "empty")}'; }
counts_from() { counting "$1" | awk -v s="$2" 'BEGIN{r="yes"} $1!=s+NR-1{r="no"} END{print (NR >= 5 ? r : "too few (" NR ")")}'; }

snap_web_image() {
	mkdir -p "$T/img/www"
	cp "$APPS/net_httpd.wasm" "$T/img/app.wasm"
	head -c 3000 /dev/urandom | base64 >"$T/img/www/index.html"
	oci_wasm_image "$T/img" /app.wasm /www "$T/oci" && oci_wasm_push "$T/oci" "$REG/web:v1" 2>"$T/push.log" ||
		{ bad "push the web image" "$(cat "$T/push.log")"; return 1; }
}

snap_pod_remove() {
	crictl StopPodSandbox "{\"pod_sandbox_id\":\"$1\"}" >/dev/null 2>"$T/err" &&
		crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$1\"}" >/dev/null 2>>"$T/err" ||
		bad "pod ${1:0:12} is removed" "$(cat "$T/err")"
}

snap_web_restore() {
	local label=$1 name=$2 uid=$3 pod ip pod2 ka
	call "$label: PullImage web" PullImage "{\"image\":{\"image\":\"$REG/web:v1\"}}"
	call "$label: RunPodSandbox web" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"$name\",\"uid\":\"$uid\",\"namespace\":\"n\"},\"log_directory\":\"$T/logs/$name\",\"port_mappings\":[{\"container_port\":8080}]}}"
	pod=$(jq -r .pod_sandbox_id <<<"$OUT")
	ip=$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$pod\"}" | jq -r '.status.network.ip // ""')
	call "$label: CreateContainer web" CreateContainer "{\"pod_sandbox_id\":\"$pod\",\"config\":{\"metadata\":{\"name\":\"srv\"},\"image\":{\"image\":\"$REG/web:v1\"},\"args\":[\"--root\",\"/www\"],\"log_path\":\"srv.log\"}}"
	call "$label: StartContainer web" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
	for _ in $(seq 100); do curl -s --max-time 2 "http://$ip:8080/index.html" >"$T/$name.got1" && [ -s "$T/$name.got1" ] && break; sleep 0.2; done
	eq "$label: the web pod serves its file at $ip" "$(cmp -s "$T/$name.got1" "$T/img/www/index.html" && echo same)" same
	# The keep-alive client: one connection, a request before, another after (python3).
	rm -f "$T/$name.go"; mkfifo "$T/$name.go"
	python3 - "$ip" "$T/$name.go" >"$T/$name.ka" 2>&1 <<'PY' &
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], 8080, timeout=60)
c.request("GET", "/index.html"); r = c.getresponse(); b1 = r.read()
print("first", r.status, len(b1), flush=True)
open(sys.argv[2]).read()  # until the restore is done
c.request("GET", "/index.html"); r = c.getresponse(); b2 = r.read()
print("second", r.status, len(b2), "same" if b1 == b2 else "differs", flush=True)
PY
	ka=$!
	for _ in $(seq 100); do grep -q first "$T/$name.ka" && break; sleep 0.1; done
	"$BIN/kumo" checkpoint "$pod" -o "$T/$name.kumo" --stop --socket "$SOCK" 2>"$T/ck.err" ||
		bad "$label: checkpoint the web pod" "$(cat "$T/ck.err")"
	snap_pod_remove "$pod"
	pod2=$("$BIN/kumo" restore "$T/$name.kumo" --socket "$SOCK" 2>"$T/r.err" | head -1) ||
		bad "$label: restore the web pod" "$(cat "$T/r.err")"
	eq "$label: the restored web pod has the address it had" \
		"$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$pod2\"}" | jq -r '.status.network.ip // ""')" "$ip"
	curl -s --max-time 10 "http://$ip:8080/index.html" >"$T/$name.got2"
	eq "$label: it serves the same file there (its listening socket came back with its memory)" \
		"$(cmp -s "$T/$name.got2" "$T/img/www/index.html" && echo same)" same
	echo go >"$T/$name.go"
	wait "$ka"
	eq "$label: a keep-alive connection opened before the checkpoint goes on after the restore" \
		"$(grep second "$T/$name.ka")" "second 200 $(stat -c %s "$T/img/www/index.html") same"
	snap_pod_remove "$pod2"
}
