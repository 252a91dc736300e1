#!/usr/bin/env bash
# tests/e2e/deploy-install.sh - deploy/install.sh into temporary roots (DESTDIR):
# every file it lays down, idempotence, --uninstall leaving nothing and restoring what
# was there (kubelet's config and flags, crictl.yaml, qemu.conf), the installed kumo
# finding the installed kernel library (a VM boots with it), the no-systemd start path.
set -uo pipefail
SUITE=deploy
# shellcheck source=../lib/testlib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/testlib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
T=$(mktemp -d /tmp/kumo-deploy-test-XXXXXX)
kpid=
cleanup() {
	[ -z "$kpid" ] || kill -TERM "$kpid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
yes_() { # name command...
	local n=$1; shift
	if "$@" >"$T/yes.out" 2>&1; then ok "$n"; else bad "$n" "$(head -c 400 "$T/yes.out")"; fi
}
mode() { stat -c %a "$1" 2>/dev/null; }
snap() { # dir -> a listing of every entry: path, type, mode, link target, content hash
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}
install_sh() { DESTDIR=$D bash deploy/install.sh "$@"; }

P=/usr/local
programs=(kumo kumod kumo-crictl kumo-compile)

# --- 1. a fresh root --------------------------------------------------------------------
D=$T/fresh
yes_ "install into an empty DESTDIR (--crictl --libvirt)" install_sh --crictl --libvirt
expected=$(printf '%s\n' \
	./etc ./etc/crictl.yaml ./etc/init.d ./etc/init.d/kumod ./etc/kumo ./etc/kumo/kumo.json \
	./etc/libvirt ./etc/libvirt/qemu.conf ./etc/modules-load.d ./etc/modules-load.d/kumo.conf \
	./etc/systemd ./etc/systemd/system ./etc/systemd/system/kumod.service \
	./usr ./usr/local ./usr/local/bin ./usr/local/bin/kumo ./usr/local/bin/kumo-compile \
	./usr/local/bin/kumo-crictl \
	./usr/local/bin/kumod ./usr/local/lib ./usr/local/lib/kumo ./usr/local/lib/kumo/bin \
	./usr/local/lib/kumo/bin/kumo ./usr/local/lib/kumo/bin/kumo-compile \
	./usr/local/lib/kumo/bin/kumo-crictl \
	./usr/local/lib/kumo/bin/kumod ./usr/local/lib/kumo/install.sh \
	./usr/local/lib/kumo/kernel ./usr/local/lib/kumo/kernel/kernel.ld \
	./usr/local/lib/kumo/kernel/libkumo-kernel.a ./usr/local/lib/kumo/start-libvirtd.sh \
	./var ./var/lib ./var/lib/kumo-install ./var/lib/kumo-install/record | LC_ALL=C sort)
eq "exactly the expected files and directories" "$(cd "$D" && find . -mindepth 1 | LC_ALL=C sort)" "$expected"

for f in "${programs[@]}"; do
	eq "$f: installed 0755" "$(mode "$D$P/lib/kumo/bin/$f")" 755
	yes_ "$f: identical to build/bin/$f" cmp "$D$P/lib/kumo/bin/$f" "build/bin/$f"
	eq "$f: $P/bin/$f links to it" "$(readlink "$D$P/bin/$f")" "../lib/kumo/bin/$f"
done
yes_ "the installed kumod runs (--version)" "$D$P/bin/kumod" --version
for f in libkumo-kernel.a kernel.ld; do
	eq "kernel/$f: 0644" "$(mode "$D$P/lib/kumo/kernel/$f")" 644
	yes_ "kernel/$f: identical to build/kernel/$f" cmp "$D$P/lib/kumo/kernel/$f" "build/kernel/$f"
done
for f in install.sh start-libvirtd.sh; do
	eq "lib/kumo/$f: 0755" "$(mode "$D$P/lib/kumo/$f")" 755
	yes_ "lib/kumo/$f: identical to deploy/$f" cmp "$D$P/lib/kumo/$f" "deploy/$f"
done

unit=$D/etc/systemd/system/kumod.service
eq "kumod.service: 0644" "$(mode "$unit")" 644
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
eq "kumod.service: ExecStart runs the installed kumod with kumo.json" "$exec_start" "$P/bin/kumod --config /etc/kumo/kumo.json"
yes_ "kumod.service: ExecStart's program exists in the install" test -x "$D${exec_start%% *}"
eq "kumod.service: no placeholder left" "$(grep -c '@PREFIX@' "$unit")" 0
eq "kumod.service: SIGTERM to kumod only, VMs survive (KillMode=process)" "$(sed -n 's/^KillMode=//p' "$unit")" process
eq "kumod.service: [Unit] [Service] [Install] sections" "$(grep -E '^\[' "$unit" | tr -d '\n')" "[Unit][Service][Install]"
if command -v systemd-analyze >/dev/null && [ -d /run/systemd/system ]; then
	yes_ "kumod.service: systemd-analyze verify" systemd-analyze verify "$unit"
fi

init=$D/etc/init.d/kumod
eq "init.d/kumod: 0755" "$(mode "$init")" 755
yes_ "init.d/kumod: sh -n" sh -n "$init"
eq "init.d/kumod: runs the installed kumod" "$(sed -n 's/^KUMOD=\${KUMOD:-\(.*\)}$/\1/p' "$init")" "$P/bin/kumod"

json=$D/etc/kumo/kumo.json
eq "kumo.json: 0644" "$(mode "$json")" 644
yes_ "kumo.json: parses (jq)" jq -e 'type == "object"' "$json"
yes_ "kumo.json: kumod accepts it" "$D$P/bin/kumod" --config "$json" --version
eq "kumo.json: socket is kumod's default" "$(jq -r .socket "$json")" "$(sed -n 's/^#define CRI_DEFAULT_SOCKET "\(.*\)"/\1/p' cri/cri.h)"
eq "kumo.json: root is kumod's default" "$(jq -r .root "$json")" "$(sed -n 's/^#define CRI_DEFAULT_ROOT "\(.*\)"/\1/p' cri/cri.h)"
eq "kumo.json: --libvirt chose the libvirt VM backend" "$(jq -r .vm_backend "$json")" libvirt
eq "deploy/kumo.json: vm_backend is kumod's default" "$(jq -r .vm_backend deploy/kumo.json)" "$(sed -n 's/^#define CRI_DEFAULT_VM_BACKEND "\(.*\)"/\1/p' cri/cri.h)"

eq "crictl.yaml: 0644" "$(mode "$D/etc/crictl.yaml")" 644
eq "crictl.yaml: runtime and image endpoint are kumod's socket" \
	"$(python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(d["runtime-endpoint"], d["image-endpoint"])' "$D/etc/crictl.yaml")" \
	"unix:///run/kumo/kumo.sock unix:///run/kumo/kumo.sock"
mods=$D/etc/modules-load.d/kumo.conf
eq "modules-load.d/kumo.conf: the networking modules" "$(grep -cxE 'tun|bridge|br_netfilter|nf_nat' "$mods")" 4
eq "modules-load.d/kumo.conf: the redirect's and the bandwidth plugin's modules" \
	"$(grep -cxE 'veth|sch_ingress|cls_u32|act_mirred|ifb|sch_tbf' "$mods")" 6
eq "deploy/kumo.json: cni_conf_dir, cni_bin_dirs, netns_dir, pod_cidr are kumod's defaults" \
	"$(jq -r '[.cni_conf_dir, .cni_bin_dirs, .netns_dir, .pod_cidr] | join(" ")' deploy/kumo.json)" \
	"/etc/cni/net.d /opt/cni/bin:/usr/lib/cni /run/kumo/netns $(sed -n 's/^#define VMM_PODNET_DEFAULT_CIDR "\(.*\)".*/\1/p' vmm/vmm.h)"
# The tuning start-libvirtd.sh writes (its `lines` array with KUMO_LIBVIRT_TUNING=on).
want_conf=$( { echo '# written by kumo deploy/start-libvirtd.sh (KUMO_LIBVIRT_TUNING=on)'
	echo 'user = "kumo-qemu"'; echo 'group = "kumo-qemu"'
	sed -n '/local lines=(/,/^\t\t)/p' deploy/start-libvirtd.sh | sed -n "s/^[[:space:]]*'\([^']*\)'.*/\1/p"; } )
eq "qemu.conf: byte for byte what deploy/start-libvirtd.sh writes (it leaves it in place)" "$(cat "$D/etc/libvirt/qemu.conf")" "$want_conf"
yes_ "qemu.conf: start-libvirtd.sh's tuning was found (6 settings)" test "$(echo "$want_conf" | wc -l)" -eq 9
yes_ "qemu.conf: start-libvirtd.sh still writes that header" grep -qF 'echo "# written by kumo deploy/start-libvirtd.sh (KUMO_LIBVIRT_TUNING=$TUNING)"' deploy/start-libvirtd.sh

rec=$D/var/lib/kumo-install/record
missing=$(awk '{ print $2 }' "$rec" | while read -r p; do [ -e "$D$p" ] || [ -L "$D$p" ] || echo "$p"; done)
eq "record: every recorded path exists" "$missing" ""
unrecorded=$(cd "$D" && find . -mindepth 1 | sed 's/^\.//' | while read -r p; do
	[ "$p" = /var/lib/kumo-install/record ] || grep -q " $p\( \|$\)" "$rec" || echo "$p"; done)
eq "record: every path laid down is recorded" "$unrecorded" ""

# --- 2. the installed kumo finds the installed kernel library ---------------------------
wat2wasm - -o "$T/exit7.wasm" <<'EOF' || bad "wat2wasm the test app"
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 7))))
EOF
export KUMO_ROOT=$T/store
unset KUMO_KERNEL_DIR
yes_ "installed kumo build links with the installed kernel library" "$D$P/bin/kumo" build "$T/exit7.wasm" -o "$T/img"
yes_ "the image it built exists" test -s "$T/img/kernel.elf"
"$D$P/bin/kumo" run "$T/exit7.wasm" >"$T/run.out" 2>&1
eq "installed kumo run boots it as a VM (exit code 7)" "$?" 7
mv "$D$P/lib/kumo/kernel" "$D$P/lib/kumo/kernel.away"
"$D$P/bin/kumo" build "$T/exit7.wasm" -o "$T/img2" >"$T/out" 2>&1
rc=$?
if [ -e /usr/lib/kumo/kernel/libkumo-kernel.a ]; then
	eq "without it, kumo falls back to /usr/lib/kumo/kernel (installed on this machine)" "$rc" 0
else
	yes_ "without it, kumo build fails naming the installed kernel directory" \
		grep -qF "$D$P/lib/kumo/bin/../kernel" "$T/out"
fi
mv "$D$P/lib/kumo/kernel.away" "$D$P/lib/kumo/kernel"

# --- 3. idempotence -----------------------------------------------------------------------
snap "$D" >"$T/snap1"
yes_ "install again" install_sh --crictl --libvirt
snap "$D" >"$T/snap2"
yes_ "running twice gives the identical tree (paths, modes, links, contents, record)" cmp "$T/snap1" "$T/snap2"

# --- 4. uninstall -------------------------------------------------------------------------
yes_ "--uninstall" install_sh --uninstall
eq "--uninstall leaves nothing" "$(cd "$D" && find . -mindepth 1)" ""
yes_ "--uninstall again is a no-op" install_sh --uninstall

# --- 5. a node with files of its own: backed up, restored ---------------------------------
D=$T/node
mkdir -p "$D/etc/kumo" "$D/etc/libvirt" "$D/var/lib/kubelet" "$D/usr/local/bin"
printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\n' >"$D/etc/crictl.yaml"
chmod 0600 "$D/etc/crictl.yaml"
printf '{"socket": "/run/kumo/other.sock", "log_level": "debug"}\n' >"$D/etc/kumo/kumo.json"
printf '# the node own qemu.conf\nsecurity_driver = "apparmor"\n' >"$D/etc/libvirt/qemu.conf"
cat >"$D/var/lib/kubelet/config.yaml" <<'EOF'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
clusterDNS:
- 10.96.0.10
EOF
printf 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9"\n' \
	>"$D/var/lib/kubelet/kubeadm-flags.env"
printf '#!/bin/sh\necho not kumo\n' >"$D/usr/local/bin/kumo"
chmod 0755 "$D/usr/local/bin/kumo"
snap "$D" >"$T/before"
yes_ "install over a node's own files (--crictl --kubelet --libvirt)" install_sh --crictl --kubelet --libvirt
eq "kumo.json: the existing one is kept" "$(jq -c . "$D/etc/kumo/kumo.json")" '{"socket":"/run/kumo/other.sock","log_level":"debug"}'
eq "crictl.yaml: now points at kumod" "$(sed -n 's/^runtime-endpoint: //p' "$D/etc/crictl.yaml")" unix:///run/kumo/kumo.sock
kcfg() { python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(d.get("containerRuntimeEndpoint"), d["cgroupDriver"], d["clusterDNS"])' "$1"; }
eq "kubelet config: containerRuntimeEndpoint is kumod's, the rest kept" "$(kcfg "$D/var/lib/kubelet/config.yaml")" \
	"unix:///run/kumo/kumo.sock systemd ['10.96.0.10']"
eq "kubeadm flags: the endpoint flag is kumod's, other flags kept" "$(cat "$D/var/lib/kubelet/kubeadm-flags.env")" \
	'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/kumo/kumo.sock --pod-infra-container-image=registry.k8s.io/pause:3.9"'
eq "a foreign $P/bin/kumo is replaced by the link" "$(readlink "$D$P/bin/kumo")" ../lib/kumo/bin/kumo
snap "$D" >"$T/n1"
yes_ "install again over it" install_sh --crictl --kubelet --libvirt
snap "$D" >"$T/n2"
yes_ "running twice gives the identical tree (backups not overwritten)" cmp "$T/n1" "$T/n2"
yes_ "--status prints the record" install_sh --status
eq "--status: the kubelet config is recorded as replaced" "$(grep -c '^replaced /var/lib/kubelet/config.yaml$' "$T/yes.out")" 1
yes_ "--uninstall" install_sh --uninstall
snap "$D" >"$T/after"
if cmp -s "$T/before" "$T/after"; then
	ok "--uninstall restores the node exactly (kubelet config and flags, crictl.yaml, qemu.conf, kumo.json, $P/bin/kumo, modes)"
else
	bad "--uninstall restores the node exactly" "$(diff "$T/before" "$T/after" | head -20)"
fi

# --- 5b. a mixed node: the runtime kubelet leaves becomes kumod's downstream --------------------
D=$T/mixed
mkdir -p "$D/var/lib/kubelet"
printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncontainerRuntimeEndpoint: "unix:///run/k3s/containerd/containerd.sock"\n' >"$D/var/lib/kubelet/config.yaml"
snap "$D" >"$T/m0"
install_sh --kubelet >"$T/out" 2>&1
eq "--kubelet on a node whose kubelet talks to containerd" "$?" 0
eq "kumo.json: that containerd is kumod's downstream" "$(jq -r .downstream_endpoint "$D/etc/kumo/kumo.json")" unix:///run/k3s/containerd/containerd.sock
yes_ "... and it says so" grep -q 'it becomes kumod.s downstream runtime' "$T/out"
yes_ "kumod accepts that kumo.json" "$D$P/bin/kumod" --config "$D/etc/kumo/kumo.json" --version
eq "kubelet now talks to kumod" "$(sed -n 's/^containerRuntimeEndpoint: //p' "$D/var/lib/kubelet/config.yaml")" unix:///run/kumo/kumo.sock
snap "$D" >"$T/m1"
yes_ "install again (kubelet already on kumod)" install_sh --kubelet
snap "$D" >"$T/m2"
yes_ "... changes nothing (the downstream stays containerd)" cmp "$T/m1" "$T/m2"
mkdir -p "$D/var/lib/kumo/pods" && touch "$D/var/lib/kumo/pods/$(printf '%064d' 1).json"
install_sh --uninstall >"$T/out" 2>&1
eq "--uninstall hands the node back" "$?" 0
yes_ "... warning about the kumo pod left" grep -q 'still holds 1 kumo pod' "$T/out"
rm -rf "$D/var/lib/kumo"
yes_ "... kubelet talks to containerd again: the node is as before" cmp "$T/m0" <(snap "$D")
D=$T/mixed-flags
mkdir -p "$D/var/lib/kubelet"
printf 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint unix:///var/run/containerd/containerd.sock --node-ip=10.0.0.5"\n' >"$D/var/lib/kubelet/kubeadm-flags.env"
yes_ "--kubelet with kubeadm's flags" install_sh --kubelet
eq "kumo.json: the flag's endpoint is the downstream" "$(jq -r .downstream_endpoint "$D/etc/kumo/kumo.json")" unix:///var/run/containerd/containerd.sock
yes_ "--uninstall" install_sh --uninstall
D=$T/mixed-none
mkdir -p "$D/var/lib/kubelet"
printf 'containerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n' >"$D/var/lib/kubelet/config.yaml"
yes_ "--kubelet --downstream none (a kumo-only node)" install_sh --kubelet --downstream none
eq "kumo.json: no downstream" "$(jq -r .downstream_endpoint "$D/etc/kumo/kumo.json")" none
yes_ "--uninstall" install_sh --uninstall
D=$T/plain
yes_ "install without --kubelet" install_sh
eq "kumo.json: kumod's default downstream" "$(jq -r .downstream_endpoint "$D/etc/kumo/kumo.json")" "$(sed -n 's/^#define CRI_DEFAULT_DOWNSTREAM "\(.*\)"/\1/p' cri/cri.h)"
yes_ "--uninstall" install_sh --uninstall

# --- 6. kubelet wiring variants ---------------------------------------------------------------
D=$T/kcfg
mkdir -p "$D/var/lib/kubelet"
printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nimageServiceEndpoint: unix:///run/crio/crio.sock\nstaticPodPath: /etc/kubernetes/manifests' >"$D/var/lib/kubelet/config.yaml"
yes_ "--kubelet: a config file without the key" install_sh --kubelet
eq "the key is added, imageServiceEndpoint rewritten, the rest kept" \
	"$(python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(d["containerRuntimeEndpoint"], d["imageServiceEndpoint"], d["staticPodPath"])' "$D/var/lib/kubelet/config.yaml")" \
	"unix:///run/kumo/kumo.sock unix:///run/kumo/kumo.sock /etc/kubernetes/manifests"
yes_ "--uninstall" install_sh --uninstall
eq "the config file is back, byte for byte" "$(cat "$D/var/lib/kubelet/config.yaml")" \
	"$(printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nimageServiceEndpoint: unix:///run/crio/crio.sock\nstaticPodPath: /etc/kubernetes/manifests')"
eq "and nothing else is left" "$(cd "$D" && find . -mindepth 1 | LC_ALL=C sort | tr '\n' ' ')" "./var ./var/lib ./var/lib/kubelet ./var/lib/kubelet/config.yaml "

D=$T/kflags
mkdir -p "$D/var/lib/kubelet"
printf 'KUBELET_KUBEADM_ARGS="--node-ip=10.0.0.5"\n' >"$D/var/lib/kubelet/kubeadm-flags.env"
yes_ "--kubelet: a kubeadm flags file without the flag and no config file" install_sh --kubelet
eq "the flag is added" "$(cat "$D/var/lib/kubelet/kubeadm-flags.env")" \
	'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/kumo/kumo.sock --node-ip=10.0.0.5"'
yes_ "--uninstall" install_sh --uninstall
eq "the flags file is back" "$(cat "$D/var/lib/kubelet/kubeadm-flags.env")" 'KUBELET_KUBEADM_ARGS="--node-ip=10.0.0.5"'

D=$T/nokubelet
install_sh --kubelet >"$T/out" 2>&1
rc=$?
yes_ "--kubelet without any kubelet configuration fails" test $rc -ne 0
yes_ "... saying where it looked" grep -q 'no kubelet configuration at' "$T/out"
eq "... before installing anything" "$(find "$D" -mindepth 1 2>/dev/null)" ""

# --- 7. an edited file stays, another prefix, bad options -----------------------------------
D=$T/edit
install_sh >/dev/null 2>&1
jq '.log_level = "debug"' "$D/etc/kumo/kumo.json" >"$T/j" && cat "$T/j" >"$D/etc/kumo/kumo.json"
install_sh --uninstall >"$T/out" 2>&1
yes_ "an edited kumo.json survives --uninstall, with a warning" grep -q 'keeping /etc/kumo/kumo.json' "$T/out"
eq "... and only it (and its directories)" "$(cd "$D" && find . -mindepth 1 | LC_ALL=C sort | tr '\n' ' ')" "./etc ./etc/kumo ./etc/kumo/kumo.json "

D=$T/same
mkdir -p "$D/etc/modules-load.d"
printf '%s\n' "# kernel modules kumo's pod networking needs (deploy/install.sh)" $(sed -n '/^MODULES=(/,/)/p' deploy/install.sh | tr -d '()\t' | sed 's/MODULES=//') >"$D/etc/modules-load.d/kumo.conf"
chmod 0600 "$D/etc/modules-load.d/kumo.conf"
snap "$D" >"$T/same0"
install_sh >/dev/null 2>&1
eq "a pre-existing file with our content but another mode is recorded as replaced" \
	"$(awk '$2 == "/etc/modules-load.d/kumo.conf" { print $1 }' "$D/var/lib/kumo-install/record")" replaced
eq "... and gets the mode (0644)" "$(mode "$D/etc/modules-load.d/kumo.conf")" 644
install_sh --uninstall >/dev/null 2>&1
yes_ "... and --uninstall puts it back as it was (mode 0600)" cmp "$T/same0" <(snap "$D")
chmod 0644 "$D/etc/modules-load.d/kumo.conf"
install_sh >/dev/null 2>&1
eq "an identical pre-existing file is not ours: not recorded" \
	"$(grep -c ' /etc/modules-load.d/kumo.conf' "$D/var/lib/kumo-install/record")" 0
install_sh --uninstall >/dev/null 2>&1
eq "... so --uninstall leaves it" "$(cd "$D" && find . -mindepth 1 | LC_ALL=C sort | tr '\n' ' ')" "./etc ./etc/modules-load.d ./etc/modules-load.d/kumo.conf "

D=$T/purge
install_sh >/dev/null 2>&1
mkdir -p "$D/var/lib/kumo/pods" "$D/var/log/kumo" "$D/run/kumo" "$D/srv/kumo-state"
touch "$D/var/lib/kumo/pods/p1" "$D/var/log/kumo/kumod.log"
jq '.root = "/srv/kumo-state"' "$D/etc/kumo/kumo.json" >"$T/j"
# kumod's default network list, as kumod writes it into an empty conf dir, and a list of
# the cluster's own.
mkdir -p "$D/etc/cni/net.d"
cp deploy/cni/99-kumo.conflist "$D/etc/cni/net.d/"
echo '{"cniVersion":"1.0.0","name":"cluster","plugins":[{"type":"ptp"}]}' >"$D/etc/cni/net.d/10-cluster.conflist"
install_sh --uninstall >/dev/null 2>&1
eq "--uninstall keeps kumod's default network list" "$(ls "$D/etc/cni/net.d" | tr '\n' ' ')" "10-cluster.conflist 99-kumo.conflist "
eq "--uninstall keeps kumod's state and log" "$(cd "$D" && find var/lib/kumo var/log/kumo -type f | LC_ALL=C sort | tr '\n' ' ')" "var/lib/kumo/pods/p1 var/log/kumo/kumod.log "
install_sh >/dev/null 2>&1
cat "$T/j" >"$D/etc/kumo/kumo.json" # a root of its own; created by us, so edited: it stays
yes_ "--uninstall --purge" install_sh --uninstall --purge
eq "--purge removes kumod's default network list, not the cluster's" "$(ls "$D/etc/cni/net.d" | tr '\n' ' ')" "10-cluster.conflist "
rm -rf "$D/etc/cni"
eq "--purge removes the state (kumo.json's root too), log and socket directories" \
	"$(cd "$D" && find . -mindepth 1 | grep -v '^./etc' | LC_ALL=C sort | tr '\n' ' ')" "./run ./srv ./var ./var/lib ./var/log "

D=$T/opt
yes_ "--prefix /opt/kumo" install_sh --prefix /opt/kumo
eq "the unit runs /opt/kumo/bin/kumod" "$(sed -n 's/^ExecStart=//p' "$D/etc/systemd/system/kumod.service")" "/opt/kumo/bin/kumod --config /etc/kumo/kumo.json"
yes_ "kumo under /opt/kumo builds with its kernel library" "$D/opt/kumo/bin/kumo" build "$T/exit7.wasm" -o "$T/img3"
yes_ "--uninstall" install_sh --uninstall
eq "--uninstall leaves nothing" "$(cd "$D" && find . -mindepth 1)" ""

D=$T/bad
install_sh --frobnicate >"$T/out" 2>&1
eq "an unknown option: exit 2" "$?" 2
yes_ "... naming it" grep -q 'unknown option `--frobnicate`' "$T/out"
install_sh --prefix relative/dir >/dev/null 2>&1
eq "a relative --prefix: exit 2" "$?" 2
install_sh --from "$T/nowhere" >"$T/out" 2>&1
yes_ "a missing payload directory fails, naming it" grep -q "$T/nowhere" "$T/out"

# --- 8. the runtime packages cover what the programs link ---------------------------------
pkgs=$(sed -n '/^RUNTIME_PACKAGES=(/,/)/p' deploy/install.sh | tr -d '()\t' | sed 's/RUNTIME_PACKAGES=//' | tr -s ' \n' ' ')
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances $pkgs 2>/dev/null | grep -v '^ ' | sed 's/:amd64$//' | sort -u)
uncovered=
for f in "${programs[@]}"; do
	for lib in $(objdump -p "build/bin/$f" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$(ldd "build/bin/$f" | awk -v l="$lib" '$1 == l && $2 == "=>" { print $3 } $1 ~ "/" l "$" { print $1 }')
		real=$(readlink -f "$path")
		owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || echo "?: ")
		owner=${owner%%:*}
		grep -qx "$owner" <<<"$closure" || uncovered+="$f:$lib($owner) "
	done
done
eq "RUNTIME_PACKAGES (and their dependencies) provide every library the programs need" "$uncovered" ""

# --- 9. the no-systemd start path: /etc/init.d/kumod ----------------------------------------
D=$T/svc
install_sh >/dev/null 2>&1
printf '{"socket": "%s", "root": "%s", "backend": "test"}\n' "$T/svc.sock" "$T/svc-root" >"$T/svc.json"
# The daemon the script manages: the test daemon (kumod's own main on fake stages), so
# no bridge, VM or probe touches this machine.
export KUMOD=$(cd "${BUILD:-build}/tests" && pwd)/kumod-fake KUMOD_CONFIG=$T/svc.json KUMOD_PIDFILE=$T/svc-run/kumod.pid KUMOD_LOG=$T/svc-log/kumod.log
yes_ "init.d/kumod start (kumod serves its socket)" sh "$D/etc/init.d/kumod" start
kpid=$(cat "$KUMOD_PIDFILE" 2>/dev/null)
yes_ "kumod answers on the socket (Version)" "$D$P/bin/kumo-crictl" --socket "$T/svc.sock" Version
yes_ "init.d/kumod status: running" sh "$D/etc/init.d/kumod" status
yes_ "init.d/kumod start again: no second kumod" sh "$D/etc/init.d/kumod" start
eq "... same pid" "$(cat "$KUMOD_PIDFILE" 2>/dev/null)" "$kpid"
yes_ "init.d/kumod stop" sh "$D/etc/init.d/kumod" stop
yes_ "kumod is gone" sh -c "! kill -0 $kpid 2>/dev/null"
kpid=
sh "$D/etc/init.d/kumod" status >/dev/null 2>&1
eq "init.d/kumod status: not running (exit 3)" "$?" 3
unset KUMOD KUMOD_CONFIG KUMOD_PIDFILE KUMOD_LOG

finish
