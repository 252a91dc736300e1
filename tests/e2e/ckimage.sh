#!/usr/bin/env bash
# tests/e2e/ckimage.sh - restores through CRI from a checkpoint image (issue 18): a
# snapshot archive wrapped as an OCI image (`kumo push --checkpoint`), pulled through
# CRI and used as a container's image, as CRI-O restores from one. Pod VMs (kumod's
# default): a counter pod checkpointed (`kumo checkpoint --stop`), its pod removed, the
# archive pushed to a local registry as a checkpoint image (its manifest, media types and
# CRI-O's annotation checked), pulled (PullImage; ImageStatus and ListImages show it, its
# annotations), a new pod made (RunPodSandbox) and CreateContainer with the image's id
# (as kubelet sends it) under another name: the pod's VM becomes the checkpoint's and the
# counter counts on from where it was; a second container into that pod refused, then,
# once the first ended, its next attempt restored from the checkpoint again; the
# same with the real crictl (pull, runp, create, start) when there is one ($CRICTL or
# crictl on PATH); RemoveImage. Bad ones: an archive altered inside an honest image
# (pulled, refused at CreateContainer naming the member, nothing restored: the pod keeps
# its own VM and takes a normal container after), a layer blob altered in the registry
# (refused at PullImage, nothing stored), a checkpoint image of two layers, one whose
# layer is no tar, one of another kernel build (refused at CreateContainer naming the
# builds). Per-container VMs (--pod-vm false): the same round trip, and each kind's image
# refused by a kumod of the other kind. The tier has a time budget ($CKIMAGE_BUDGET_S,
# default 240 s): past it, it fails and stops. Prints `ckimage: N passed, N failed`.
set -u
# kumod's real backend gives pods their network from CNI and binds mounts: in network and
# mount namespaces of this script's own they never touch the machine's.
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/cri.sh
. "$HERE/../lib/cri.sh"
# shellcheck source=../lib/snaplib.sh
. "$HERE/../lib/snaplib.sh"
cri_suite ckimage 120
at_exit 'umount -l "$T/netns" 2>/dev/null'
# VMs outlive kumod by design: a run that fails half-way must not leave its QEMUs behind.
at_exit 'for f in "$T"/root*/vms/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done'
# The time budget: a watchdog signals this script, which fails and stops (its clean-up
# runs as at any exit).
BUDGET_S=${CKIMAGE_BUDGET_S:-240}
T0=$(date +%s)
(sleep "$BUDGET_S" & echo $! >"$T/watchdog.pid"; wait; kill -USR1 $$ 2>/dev/null) &
WATCHDOG=$!
at_exit 'kill "$(cat "$T/watchdog.pid" 2>/dev/null)" $WATCHDOG 2>/dev/null'
trap 'bad "the tier ends within its time budget" "${BUDGET_S} s passed"; finish' USR1
REAL_CRICTL=${CRICTL:-$(type -P crictl || true)}
for f in "$APPS/app_counter.wasm" "$BIN/kumo" "$BIN/kumod"; do
	[ -f "$f" ] || { bad "prerequisite" "missing $f (make test-prereqs)"; finish; }
done
kumo_accel; ACCEL=$accel

# wait_counts FILE N: until FILE has N counts (60 s at most).
wait_counts() { for _ in $(seq 600); do [ "$(counting "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return; sleep 0.1; done; }
# raw_push REPO:TAG CONFIG_MT CONFIG_FILE LAYER_MT=FILE...: an image pushed as given (what
# `kumo push` refuses to make), with CRI-O's checkpoint annotation.
raw_push() {
	python3 - "$REG" "$@" <<'PY'
import hashlib, json, sys, urllib.request
reg, ref, cfg_mt, cfg_path = sys.argv[1:5]
repo, tag = ref.rsplit(":", 1)
def put_blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = urllib.request.urlopen(urllib.request.Request(f"http://{reg}/v2/{repo}/blobs/uploads/", data=b"", method="POST"))
    loc = r.headers["Location"]
    loc = f"http://{reg}{loc}" if loc.startswith("/") else loc
    loc += ("&" if "?" in loc else "?") + "digest=" + d
    urllib.request.urlopen(urllib.request.Request(loc, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}))
    return {"digest": d, "size": len(data)}
cfg = dict(put_blob(open(cfg_path, "rb").read()), mediaType=cfg_mt)
layers = []
for spec in sys.argv[5:]:
    mt, path = spec.split("=", 1)
    layers.append(dict(put_blob(open(path, "rb").read()), mediaType=mt))
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cfg,
     "layers": layers, "annotations": {"io.kubernetes.cri-o.annotations.checkpoint.name": "counter"}}
urllib.request.urlopen(urllib.request.Request(f"http://{reg}/v2/{repo}/manifests/{tag}", data=json.dumps(m).encode(),
                       method="PUT", headers={"Content-Type": m["mediaType"]}))
PY
}
# registry_manifest REPO:TAG: the manifest the registry has.
registry_manifest() {
	curl -s -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$REG/v2/${1%:*}/manifests/${1##*:}"
}
# rewrite ARCHIVE OUT JQ: ARCHIVE with its manifest.json changed by the jq filter, members
# rewritten as they are (the digests still match theirs).
rewrite() {
	python3 - "$1" "$2" "$3" <<'PY'
import io, json, subprocess, sys, tarfile
src, dst = tarfile.open(sys.argv[1]), tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT)
for m in src.getmembers():
    data = src.extractfile(m).read()
    if m.name == "manifest.json":
        data = subprocess.run(["jq", "-c", sys.argv[3]], input=data, capture_output=True, check=True).stdout
        m.size = len(data)
    dst.addfile(m, io.BytesIO(data))
dst.close()
PY
}
ctr_state() { crictl ContainerStatus "{\"container_id\":\"$1\"}" 2>/dev/null | jq -r .status.state; }

registry_start open "$T/reg" || { bad "registry starts" "no"; finish; }
REG=127.0.0.1:$REG_PORT
"$BIN/kumo" push "$APPS/app_counter.wasm" "$REG/counter:v1" >"$T/push.log" 2>&1 ||
	bad "kumo push counter" "$(cat "$T/push.log")"
start_kumod() { # ROOT [kumod flags...]
	local root=$1
	shift
	"$BIN/kumod" --socket "$SOCK" --root "$root" --accel "$ACCEL" --cni-conf-dir "$T/net.d" \
		--netns-dir "$T/netns" --log-level debug "$@" 2>>"$root.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
}
runp() { # NAME UID LOGDIR -> $P
	call "RunPodSandbox $1" RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"$1\",\"uid\":\"$2\",\"namespace\":\"n\"},\"log_directory\":\"$3\"}}"
	P=$(jq -r .pod_sandbox_id <<<"$OUT")
}
rmp() { crictl StopPodSandbox "{\"pod_sandbox_id\":\"$1\"}" >/dev/null && crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$1\"}" >/dev/null; }
# checkpointed NAME UID -> $T/NAME.kumo: a counter pod run, checkpointed with --stop and
# removed; $LAST its last count.
checkpointed() {
	runp "$1" "$2" "$T/logs/$1"
	local pod=$P
	call "CreateContainer counter ($1)" CreateContainer "{\"pod_sandbox_id\":\"$pod\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"0\",\"30\"],\"log_path\":\"counter.log\"}}"
	call "StartContainer counter ($1)" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
	wait_counts "$T/logs/$1/counter.log" 5
	if "$BIN/kumo" checkpoint "$pod" -o "$T/$1.kumo" --stop --socket "$SOCK" 2>"$T/ck.err"; then
		ok "kumo checkpoint --stop ($1)"
	else
		bad "kumo checkpoint --stop ($1)" "$(cat "$T/ck.err")"
	fi
	LAST=$(counting "$T/logs/$1/counter.log" | tail -1)
	rmp "$pod"
}

# ==== pod VMs (kumod's default) ===========================================================
start_kumod "$T/rootp"
call "PullImage counter" PullImage "{\"image\":{\"image\":\"$REG/counter:v1\"}}"
checkpointed pv p1
LASTP=$LAST
if "$BIN/kumo" push --checkpoint "$T/pv.kumo" "$REG/ck:v1" >"$T/push.log" 2>&1; then
	ok "kumo push --checkpoint ARCHIVE REF"
else
	bad "kumo push --checkpoint" "$(cat "$T/push.log")"
fi
M=$(registry_manifest ck:v1)
eq "the image: one layer, the archive, of kumo's media type" \
	"$(jq -r '[.layers[].mediaType] | join(" ")' <<<"$M")" "application/vnd.kumo.checkpoint.v1.tar"
eq "its layer is the archive byte for byte" "$(jq -r '.layers[0].digest + " " + (.layers[0].size|tostring)' <<<"$M")" \
	"sha256:$(sha256sum "$T/pv.kumo" | cut -d' ' -f1) $(stat -c %s "$T/pv.kumo")"
eq "its config is kumo's checkpoint config" "$(jq -r .config.mediaType <<<"$M")" "application/vnd.kumo.checkpoint.config.v1+json"
eq "CRI-O's annotation names the container" \
	"$(jq -r '.annotations["io.kubernetes.cri-o.annotations.checkpoint.name"]' <<<"$M")" counter
eq "kumo's says it is a pod VM" "$(jq -r '.annotations["dev.kumo.checkpoint.kind"]' <<<"$M")" pod-vm
CFG=$(curl -s "http://$REG/v2/ck/blobs/$(jq -r .config.digest <<<"$M")")
eq "the config describes the archive (format, kind, pod, container and its image)" \
	"$(jq -r '"\(.format) \(.version) \(.kind) \(.pod.name) \(.containers[0].name) \(.containers[0].image)"' <<<"$CFG")" \
	"kumo-snapshot 1 pod-vm pv counter $REG/counter:v1"
cp "$T/pv.kumo" "$T/pv-bad.kumo"
off=$(python3 -c "import sys,tarfile;t=tarfile.open(sys.argv[1]);m=t.getmember('vm/qemu.state');print(m.offset_data+m.size//2)" "$T/pv-bad.kumo")
printf '\xff' | dd of="$T/pv-bad.kumo" bs=1 seek="$off" conv=notrunc status=none
if "$BIN/kumo" push --checkpoint "$T/pv-bad.kumo" "$REG/ck:bad" >"$T/push.log" 2>&1; then
	bad "kumo push --checkpoint refuses an altered archive" "it pushed it"
else
	ERR=$(cat "$T/push.log")
	says "kumo push --checkpoint refuses an altered archive, naming the member" "member \`vm/qemu.state\` has digest"
fi

call "PullImage the checkpoint image" PullImage "{\"image\":{\"image\":\"$REG/ck:v1\"}}"
CKID=$(jq -r .image_ref <<<"$OUT")
eq "the pull's image ref is the config's digest" "$CKID" "$(jq -r .config.digest <<<"$M")"
grep -q "image $CKID is a checkpoint image .*nothing to compile" "$T/rootp.log" && ok "nothing was compiled" ||
	bad "nothing was compiled" "$(grep -a "$CKID" "$T/rootp.log" | tail -2)"
call "ImageStatus" ImageStatus "{\"image\":{\"image\":\"$REG/ck:v1\"},\"verbose\":true}"
eq "ImageStatus: its id, tag and size (the archive and the config)" \
	"$(jq -r '"\(.image.id) \(.image.repo_tags[0]) \(.image.size | tonumber > '"$(stat -c %s "$T/pv.kumo")"')"' <<<"$OUT")" \
	"$CKID $REG/ck:v1 true"
eq "ImageStatus: the annotation names the container" \
	"$(jq -r '.image.spec.annotations["io.kubernetes.cri-o.annotations.checkpoint.name"]' <<<"$OUT")" counter
ARCHIVE=$(jq -r '.info.info | fromjson | .checkpoint' <<<"$OUT")
eq "its verbose info names the archive in the store, the archive itself" \
	"$(cmp -s "$ARCHIVE" "$T/pv.kumo" && echo same)" same
eq "ListImages has it" "$(crictl ListImages '{}' | jq -r '[.images[] | select(.id == "'"$CKID"'")] | length')" 1

runp restored r1 "$T/logs/restored"
PR=$P
# As kubelet sends it: the image id PullImage returned; the container named otherwise.
call "CreateContainer with the checkpoint image" CreateContainer "{\"pod_sandbox_id\":\"$PR\",\"config\":{\"metadata\":{\"name\":\"resumed\"},\"image\":{\"image\":\"$CKID\"},\"log_path\":\"resumed.log\"}}"
CR=$(jq -r .container_id <<<"$OUT")
eq "the restored container is created, not running yet" "$(ctr_state "$CR")" CONTAINER_CREATED
eq "its image is the checkpointed container's, which this node has" \
	"$(crictl ContainerStatus "{\"container_id\":\"$CR\"}" | jq -r .status.image.image)" "$REG/counter:v1"
call "StartContainer the restored container" StartContainer "{\"container_id\":\"$CR\"}"
wait_counts "$T/logs/restored/resumed.log" 5
eq "it counts on from the checkpoint ($((LASTP + 1)), ... no gap, no repeat)" "$(counts_from "$T/logs/restored/resumed.log" $((LASTP + 1)))" yes
eq "it runs" "$(ctr_state "$CR")" CONTAINER_RUNNING
IPR=$(crictl PodSandboxStatus "{\"pod_sandbox_id\":\"$PR\"}" | jq -r '.status.network.ip // ""')
eq "the guest took the new pod's address $IPR (RESUME's net)" \
	"$(grep -acE "net: reconfigured: .*, ${IPR//./\\.}/" "$T/rootp/vms/kumopod-${PR:0:24}/exit.raw")" 1
code "a second checkpoint-image container in that pod is refused" FailedPrecondition CreateContainer \
	"{\"pod_sandbox_id\":\"$PR\",\"config\":{\"metadata\":{\"name\":\"again\"},\"image\":{\"image\":\"$CKID\"}}}"
says "it says why" "already has container"
eq "the restored one still runs" "$(ctr_state "$CR")" CONTAINER_RUNNING
# Once it ended, the container created again (as kubelet restarts one: the next attempt)
# is restored again: it starts from the checkpoint once more.
call "StopContainer the restored container" StopContainer "{\"container_id\":\"$CR\",\"timeout\":0}"
call "CreateContainer attempt 1 with the checkpoint image" CreateContainer "{\"pod_sandbox_id\":\"$PR\",\"config\":{\"metadata\":{\"name\":\"resumed\",\"attempt\":1},\"image\":{\"image\":\"$CKID\"},\"log_path\":\"resumed-1.log\"}}"
call "StartContainer attempt 1" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
wait_counts "$T/logs/restored/resumed-1.log" 5
eq "attempt 1 counts on from the checkpoint again" "$(counts_from "$T/logs/restored/resumed-1.log" $((LASTP + 1)))" yes
eq "attempt 0 stays ended" "$(ctr_state "$CR")" CONTAINER_EXITED
call "RemoveContainer attempt 0" RemoveContainer "{\"container_id\":\"$CR\"}"
rmp "$PR"

# The same with the real crictl.
if [ -n "$REAL_CRICTL" ]; then
	echo "     crictl: $("$REAL_CRICTL" --version 2>/dev/null)"
	rcrictl() { "$REAL_CRICTL" --runtime-endpoint "unix://$SOCK" --image-endpoint "unix://$SOCK" --timeout 120s "$@" 2>>"$T/crictl.err"; }
	mkdir -p "$T/logs/viacrictl"
	printf '{"metadata":{"name":"viacrictl","uid":"cc1","namespace":"n"},"log_directory":"%s"}' "$T/logs/viacrictl" >"$T/pod.json"
	printf '{"metadata":{"name":"counter"},"image":{"image":"%s"},"log_path":"counter.log"}' "$REG/ck:v1" >"$T/ctr.json"
	rcrictl pull "$REG/ck:v1" >"$T/crictl.out" && ok "crictl pull the checkpoint image" || bad "crictl pull" "$(tail -3 "$T/crictl.err")"
	eq "crictl inspecti shows CRI-O's annotation" \
		"$(rcrictl inspecti -o json "$REG/ck:v1" | jq -r '.status.spec.annotations["io.kubernetes.cri-o.annotations.checkpoint.name"]')" counter
	CP=$(rcrictl runp "$T/pod.json") && ok "crictl runp" || bad "crictl runp" "$(tail -3 "$T/crictl.err")"
	CC=$(rcrictl create "$CP" "$T/ctr.json" "$T/pod.json") && ok "crictl create with the checkpoint image" ||
		bad "crictl create" "$(tail -3 "$T/crictl.err")"
	rcrictl start "$CC" >/dev/null && ok "crictl start" || bad "crictl start" "$(tail -3 "$T/crictl.err")"
	wait_counts "$T/logs/viacrictl/counter.log" 5
	eq "crictl: it counts on from the checkpoint" "$(counts_from "$T/logs/viacrictl/counter.log" $((LASTP + 1)))" yes
	eq "crictl ps: running" "$(rcrictl ps -o json --id "$CC" | jq -r '.containers[0].state')" CONTAINER_RUNNING
	rcrictl stopp "$CP" >/dev/null && rcrictl rmp "$CP" >/dev/null || bad "crictl stopp, rmp" "$(tail -3 "$T/crictl.err")"
else
	skip "the real crictl" "no crictl (set CRICTL=path or put crictl on PATH)"
fi

call "RemoveImage the checkpoint image" RemoveImage "{\"image\":{\"image\":\"$REG/ck:v1\"}}"
eq "ImageStatus: gone" "$(crictl ImageStatus "{\"image\":{\"image\":\"$CKID\"}}" | jq -r '.image.id // "none"')" none
eq "its archive left the store" "$([ -e "$ARCHIVE" ] && echo there || echo gone)" gone

# ---- bad checkpoint images ----
runp victim v1 "$T/logs/victim"
PV=$P
# An archive altered inside an honest image (its blob's digest is the altered bytes'):
# pulled, then refused by the archive's own digests; nothing restored.
raw_push ck:altered application/vnd.kumo.checkpoint.config.v1+json <(echo '{}') \
	"application/vnd.kumo.checkpoint.v1.tar=$T/pv-bad.kumo" 2>"$T/raw.err" || bad "push the altered image" "$(cat "$T/raw.err")"
call "PullImage an image whose archive was altered (its blobs are what they say)" PullImage "{\"image\":{\"image\":\"$REG/ck:altered\"}}"
code "CreateContainer with it is refused" InvalidArgument CreateContainer \
	"{\"pod_sandbox_id\":\"$PV\",\"config\":{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"$REG/ck:altered\"}}}"
says "it names the altered member" "member \`vm/qemu.state\` has digest"
eq "nothing was restored: the pod has no container" "$(crictl ListContainers "{\"filter\":{\"pod_sandbox_id\":\"$PV\"}}" | jq '.containers | length')" 0
grep -q "kumopod-${PV:0:24}.*restored" "$T/rootp.log" && bad "the pod kept its own VM" "a VM was restored" || ok "the pod kept its own VM"
call "and takes a container of a Wasm image" CreateContainer "{\"pod_sandbox_id\":\"$PV\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/counter:v1\"},\"args\":[\"3\",\"10\"],\"log_path\":\"c.log\"}}"
call "which starts" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
wait_counts "$T/logs/victim/c.log" 3
eq "and counts from 1" "$(counting "$T/logs/victim/c.log" | tr '\n' ' ')" "1 2 3 "
# The same layer blob altered in the registry: kumo's pull refuses it, nothing is stored.
call "RemoveImage the altered image" RemoveImage "{\"image\":{\"image\":\"$REG/ck:altered\"}}"
hex=$(registry_manifest ck:altered | jq -r '.layers[0].digest' | cut -d: -f2)
blob=$T/reg/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
printf 'X' | dd of="$blob" bs=1 seek=700 conv=notrunc status=none
code "a checkpoint image whose layer blob was altered in the registry is refused" InvalidArgument PullImage "{\"image\":{\"image\":\"$REG/ck:altered\"}}"
says "it says the blob does not match its digest" "sha256:$hex\` from \`$REG\` does not match its digest"
eq "nothing was stored" "$(crictl ImageStatus "{\"image\":{\"image\":\"$REG/ck:altered\"}}" | jq -r '.image.id // "none"')" none
# Malformed: two layers; a layer that is no snapshot archive; a config that is no object.
raw_push ck:two application/vnd.kumo.checkpoint.config.v1+json <(echo '{}') \
	"application/vnd.kumo.checkpoint.v1.tar=$T/pv.kumo" "application/vnd.kumo.checkpoint.v1.tar=$T/push.log" 2>"$T/raw.err" ||
	bad "push a two-layer checkpoint image" "$(cat "$T/raw.err")"
code "a checkpoint image of two layers is refused" InvalidArgument PullImage "{\"image\":{\"image\":\"$REG/ck:two\"}}"
says "it says what it wants" "has 2 layers .* want exactly one"
head -c 4096 /dev/urandom >"$T/noise"
raw_push ck:noise application/vnd.kumo.checkpoint.config.v1+json <(echo '{}') \
	"application/vnd.kumo.checkpoint.v1.tar=$T/noise" 2>"$T/raw.err" || bad "push a noise checkpoint image" "$(cat "$T/raw.err")"
code "a checkpoint image whose layer is no tar is refused" InvalidArgument PullImage "{\"image\":{\"image\":\"$REG/ck:noise\"}}"
says "it says so" "not a tar archive"
raw_push ck:cfg application/vnd.kumo.checkpoint.config.v1+json <(echo '[1]') \
	"application/vnd.kumo.checkpoint.v1.tar=$T/pv.kumo" 2>"$T/raw.err" || bad "push a checkpoint image with a list as config" "$(cat "$T/raw.err")"
code "a checkpoint image whose config is no object is refused" InvalidArgument PullImage "{\"image\":{\"image\":\"$REG/ck:cfg\"}}"
says "it says so" "config is not a JSON object"
eq "none of them is stored" "$(crictl ListImages '{}' | jq -r '[.images[] | select(.repo_tags[]? | startswith("'"$REG"'/ck:"))] | length')" 0
# Another kernel build: pushed (kumo push checks digests, not builds), pulled, refused.
rewrite "$T/pv.kumo" "$T/kernel2.kumo" '.kernel_id = "sha256:0000000000000000000000000000000000000000000000000000000000000000"'
"$BIN/kumo" push --checkpoint "$T/kernel2.kumo" "$REG/ck:kernel2" >"$T/push.log" 2>&1 || bad "push another build's archive" "$(cat "$T/push.log")"
call "PullImage another kernel build's checkpoint image" PullImage "{\"image\":{\"image\":\"$REG/ck:kernel2\"}}"
runp other o1 "$T/logs/other"
code "CreateContainer with another kernel build's checkpoint is refused" FailedPrecondition CreateContainer \
	"{\"pod_sandbox_id\":\"$P\",\"config\":{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"$REG/ck:kernel2\"}}}"
says "it names the builds" "was made with kernel build \`sha256:0000"
rmp "$P"
rmp "$PV"
eq "pod VMs: no pod is left" "$(crictl ListPodSandbox '{}' | jq '.items | length')" 0
eq "pod VMs: no restore work directory is left" "$(ls "$T/rootp/restores" 2>/dev/null | wc -l)" 0
kumod_kill

# ==== per-container VMs (--pod-vm false) ===================================================
SOCK=$T/kumoc.sock
start_kumod "$T/rootc" --pod-vm false
call "per-container VMs: PullImage counter" PullImage "{\"image\":{\"image\":\"$REG/counter:v1\"}}"
checkpointed cv c1
LASTC=$LAST
"$BIN/kumo" push --checkpoint "$T/cv.kumo" "$REG/ckc:v1" >"$T/push.log" 2>&1 || bad "push the container VM's checkpoint" "$(cat "$T/push.log")"
eq "its manifest says a container's VM" "$(registry_manifest ckc:v1 | jq -r '.annotations["dev.kumo.checkpoint.kind"]')" container-vm
call "per-container VMs: PullImage the checkpoint image" PullImage "{\"image\":{\"image\":\"$REG/ckc:v1\"}}"
runp restoredc rc1 "$T/logs/restoredc"
call "per-container VMs: CreateContainer with the checkpoint image" CreateContainer "{\"pod_sandbox_id\":\"$P\",\"config\":{\"metadata\":{\"name\":\"counter\"},\"image\":{\"image\":\"$REG/ckc:v1\"},\"log_path\":\"counter.log\"}}"
call "per-container VMs: StartContainer" StartContainer "{\"container_id\":\"$(jq -r .container_id <<<"$OUT")\"}"
wait_counts "$T/logs/restoredc/counter.log" 5
eq "per-container VMs: it counts on from the checkpoint" "$(counts_from "$T/logs/restoredc/counter.log" $((LASTC + 1)))" yes
rmp "$P"
# Each kind refused by a kumod of the other.
"$BIN/kumo" push --checkpoint "$T/pv.kumo" "$REG/ck:v1" >"$T/push.log" 2>&1 || bad "push the pod VM's checkpoint again" "$(cat "$T/push.log")"
call "per-container VMs: PullImage a pod VM's checkpoint image" PullImage "{\"image\":{\"image\":\"$REG/ck:v1\"}}"
runp kinds k1 "$T/logs/kinds"
code "per-container VMs: a pod VM's checkpoint image is refused" FailedPrecondition CreateContainer \
	"{\"pod_sandbox_id\":\"$P\",\"config\":{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"$REG/ck:v1\"}}}"
says "it says which kumod restores it" "restore it on a kumod running pod VMs"
rmp "$P"
kumod_kill
SOCK=$T/kumo.sock
start_kumod "$T/rootp"
call "pod VMs: PullImage a container VM's checkpoint image" PullImage "{\"image\":{\"image\":\"$REG/ckc:v1\"}}"
runp kinds2 k2 "$T/logs/kinds2"
code "pod VMs: a container VM's checkpoint image is refused" FailedPrecondition CreateContainer \
	"{\"pod_sandbox_id\":\"$P\",\"config\":{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"$REG/ckc:v1\"}}}"
says "it says which kumod restores it" "restore it on a kumod running --pod-vm false"
rmp "$P"
kumod_kill
echo "     ckimage: $(($(date +%s) - T0)) s of a ${BUDGET_S} s budget"
finish
