#!/usr/bin/env bash
# deploy/install.sh - installs kumo onto a node (what the kumo DaemonSet runs on the host),
# idempotently, and removes it again with --uninstall.
#
# usage: deploy/install.sh [options]
#   --prefix P     programs in P/bin, the rest in P/lib/kumo (default /usr/local)
#   --from DIR     where bin/ and kernel/ come from (default: next to this script when it
#                  sits in an installer payload, else the repository's build/)
#   --crictl       also write /etc/crictl.yaml pointing crictl at kumod's socket
#   --kubelet      point kubelet at kumod (containerRuntimeEndpoint in the kubelet config
#                  file, or --container-runtime-endpoint in kubeadm's flags file) and
#                  restart kubelet. The runtime kubelet talked to until then (containerd)
#                  becomes kumod's downstream: kumo.json's downstream_endpoint, when this
#                  run creates kumo.json. kumod runs the pods of kumo's runtime class as
#                  VMs and forwards every other pod to it, and lists the pods it already
#                  ran, so kubelet sees none disappear (a mixed node)
#   --downstream EP  the downstream CRI endpoint to write into kumo.json instead of the
#                  one found in kubelet's configuration; `none`: a kumo-only node, every
#                  pod runs as a VM (kumod's own default is containerd's socket)
#   --libvirt      install kumo's libvirt tuning (/etc/libvirt/qemu.conf) and, when
#                  kumo.json is created now, choose "vm_backend": "libvirt"
#   --deps         install the Debian packages kumod needs at run time (apt-get)
#   --no-start     do not (re)start kumod after installing
#   --uninstall    stop kumod, restore every file this script replaced (kubelet's
#                  included, then restart kubelet: it talks to containerd again, whose
#                  pods kept running throughout), remove every file it created;
#                  kumod's state (/var/lib/kumo: images, pods), its log (/var/log/kumo)
#                  and VMs still running stay: drain kumo's pods first (it warns when
#                  some are left)
#   --purge        with --uninstall: also remove kumod's state, log and socket dirs,
#                  and the default network list kumod wrote (/etc/cni/net.d/99-kumo.conflist)
#   --status       print what is installed (the install record) and exit
# env:
#   DESTDIR        install under this root (nothing is started or restarted then)
#   KUBELET_CONFIG       kubelet's config file   (default /var/lib/kubelet/config.yaml)
#   KUBELET_FLAGS_ENV    kubeadm's kubelet flags (default /var/lib/kubelet/kubeadm-flags.env)
#   KUBELET_RESTART_CMD  how to restart kubelet where systemd is not PID 1
#                        (default: none; the script says kubelet must be restarted)
#
# What it lays down (P = prefix):
#   P/lib/kumo/bin/{kumo,kumod,kumo-crictl,kumo-compile}  the programs (kumo-compile: the
#                                             compile worker kumo and kumod start)
#   P/bin/{kumo,kumod,kumo-crictl,kumo-compile}  symlinks to them: kumo finds its kernel
#                                             library at <real exe>/../kernel, and
#                                             kumo-compile beside <real exe>
#   P/lib/kumo/kernel/{libkumo-kernel.a,kernel.ld}  what `kumo build` and kumod link with
#   P/lib/kumo/{install.sh,start-libvirtd.sh} this script (for --uninstall) and the
#                                             libvirtd starter for nodes without systemd
#   /etc/systemd/system/kumod.service         the unit (ExecStart = P/bin/kumod)
#   /etc/init.d/kumod                         the same service where systemd is not PID 1
#   /etc/kumo/kumo.json                       only when absent (kumod's defaults)
#   /etc/modules-load.d/kumo.conf             kernel modules pod networking needs
#   /etc/crictl.yaml                          with --crictl
#   /etc/libvirt/qemu.conf                    with --libvirt
#   /var/lib/kumo-install/                    the install record and backups
# A file that existed before is backed up once (the first run) under
# /var/lib/kumo-install/backup/ and restored by --uninstall; a file it created is removed
# by --uninstall unless it was edited since (then it stays, with a warning).
set -euo pipefail

SOCKET=/run/kumo/kumo.sock
ENDPOINT=unix://$SOCKET
PROGRAMS=(kumo kumod kumo-crictl kumo-compile)
KERNEL_FILES=(libkumo-kernel.a kernel.ld)
# Pod networks: the tap (tun), the CNI plugins' bridge, veth, NAT and iptables matches,
# the bandwidth plugin's shaping, and the redirect between the CNI interface and the tap
# (ingress qdisc, u32 classifier, mirred action).
MODULES=(tun bridge br_netfilter nf_nat iptable_nat xt_MASQUERADE xt_addrtype veth
	xt_comment xt_multiport ifb sch_tbf sch_ingress cls_u32 act_mirred)
# Debian 12 packages kumod needs at run time (apt pulls in the rest): the shared
# libraries of the programs, QEMU, `ld` (kernel images are linked on the node), the CNI
# plugins pods get their network from (/usr/lib/cni) and the iptables they run.
# tests/deploy checks this against the programs' NEEDED.
RUNTIME_PACKAGES=(libllvm19 libgrpc29 libprotobuf-c1 libjansson4 libcurl4 libarchive13
	libssl3 libvirt0 libnl-route-3-200 libmicrohttpd12 zlib1g qemu-system-x86 binutils
	containernetworking-plugins iptables tini)
# The plugins kumo's default network list runs.
CNI_PLUGINS=(bridge host-local portmap loopback)
CNI_CONF_DIR=/etc/cni/net.d
LIBVIRT_PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=/usr/local
from=
downstream=
crictl=0 kubelet=0 libvirt=0 deps=0 start=1 purge=0 mode=install
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) prefix=${2:?--prefix needs a directory}; shift ;;
	--prefix=*) prefix=${1#*=} ;;
	--from) from=${2:?--from needs a directory}; shift ;;
	--from=*) from=${1#*=} ;;
	--crictl) crictl=1 ;;
	--downstream) downstream=${2:?--downstream needs an endpoint (or none)}; shift ;;
	--downstream=*) downstream=${1#*=} ;;
	--kubelet) kubelet=1 ;;
	--libvirt) libvirt=1 ;;
	--deps) deps=1 ;;
	--no-start) start=0 ;;
	--uninstall) mode=uninstall ;;
	--purge) purge=1 ;;
	--status) mode=status ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown option \`$1\` (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix \`$prefix\` must be absolute" >&2; exit 2 ;; esac
prefix=${prefix%/}
D=${DESTDIR:-}
D=${D%/}
[ -n "$D" ] && start=0
STATE=/var/lib/kumo-install
RECORD=$D$STATE/record
KUBELET_CONFIG=${KUBELET_CONFIG:-/var/lib/kubelet/config.yaml}
KUBELET_FLAGS_ENV=${KUBELET_FLAGS_ENV:-/var/lib/kubelet/kubeadm-flags.env}

say() { echo "install.sh: $*" >&2; }
die() { say "$*"; exit 1; }
systemd_runs() { [ -z "$D" ] && [ -d /run/systemd/system ]; }

# --- the install record ------------------------------------------------------------
# One line per path this script is responsible for, sorted:
#   created PATH SHA256   the file did not exist; SHA256 is what was written
#   replaced PATH         the file existed; its original is in $STATE/backup/PATH
#   dir PATH              a directory this script created
# Paths are as on the node (without DESTDIR).
declare -A REC_KIND=() REC_SUM=()
record_load() {
	local kind path sum
	[ -f "$RECORD" ] || return 0
	while read -r kind path sum; do
		REC_KIND[$path]=$kind
		REC_SUM[$path]=$sum
	done <"$RECORD"
}
record_write() { # the whole record, sorted by path, atomically
	local tmp=$RECORD.new p
	for p in "${!REC_KIND[@]}"; do
		printf '%s %s%s\n' "${REC_KIND[$p]}" "$p" "${REC_SUM[$p]:+ ${REC_SUM[$p]}}"
	done | LC_ALL=C sort -k2,2 >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$RECORD"
}
record_get() { # path -> the record line's kind, or nothing
	echo "${REC_KIND[$1]:-}"
}
record_set() { # kind path [sha]
	REC_KIND[$2]=$1
	REC_SUM[$2]=${3:-}
	record_write
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

mkdirs() { # path (node path): creates it and missing parents, recording each
	local p=$1 todo=()
	while [ -n "$p" ] && [ "$p" != / ] && [ ! -d "$D$p" ]; do
		todo=("$p" "${todo[@]}")
		p=$(dirname "$p")
	done
	for p in "${todo[@]}"; do
		mkdir -m 0755 "$D$p"
		record_set dir "$p"
	done
}

# put SRC PATH MODE: installs SRC's content at PATH (node path) with MODE, atomically.
# The first time a pre-existing, different file is replaced, it is backed up.
put() {
	local src=$1 path=$2 mode=$3 dst=$D$2
	mkdirs "$(dirname "$path")"
	local kind; kind=$(record_get "$path")
	if [ -z "$kind" ] && { [ -e "$dst" ] || [ -L "$dst" ]; }; then
		if [ -f "$dst" ] && [ ! -L "$dst" ] && cmp -s "$src" "$dst" &&
			[ "$(stat -c %a "$dst")" = "${mode#0}" ]; then
			return 0 # already what we want: not ours to remove later
		fi
		mkdir -p "$D$STATE/backup$(dirname "$path")"
		cp -a "$dst" "$D$STATE/backup$path"
		record_set replaced "$path"
		kind=replaced
	fi
	if [ -f "$dst" ] && [ ! -L "$dst" ] && cmp -s "$src" "$dst"; then
		chmod "$mode" "$dst"
	else
		local tmp; tmp=$(mktemp "$dst.kumo-XXXXXX")
		cat "$src" >"$tmp"
		chmod "$mode" "$tmp"
		mv -f "$tmp" "$dst"
	fi
	[ "$kind" = replaced ] || record_set created "$path" "$(sha "$dst")"
}

# put_link TARGET PATH: a symlink, recorded like a file.
put_link() {
	local target=$1 path=$2 dst=$D$2
	mkdirs "$(dirname "$path")"
	local kind; kind=$(record_get "$path")
	if [ -z "$kind" ] && { [ -e "$dst" ] || [ -L "$dst" ]; }; then
		if [ -L "$dst" ] && [ "$(readlink "$dst")" = "$target" ]; then return 0; fi
		mkdir -p "$D$STATE/backup$(dirname "$path")"
		cp -a "$dst" "$D$STATE/backup$path"
		record_set replaced "$path"
		kind=replaced
	fi
	if [ ! -L "$dst" ] || [ "$(readlink "$dst")" != "$target" ]; then
		ln -sfn "$target" "$dst.kumo-new"
		mv -Tf "$dst.kumo-new" "$dst"
	fi
	[ "$kind" = replaced ] || record_set created "$path" link
}

# --- pieces ----------------------------------------------------------------------------
find_payload() {
	if [ -z "$from" ]; then
		if [ -x "$here/bin/kumod" ]; then from=$here; else from=$here/../build; fi
	fi
	local abs
	abs=$(cd "$from" 2>/dev/null && pwd) || die "payload directory \`$from\` does not exist"
	from=$abs
	local f
	for f in "${PROGRAMS[@]/#/bin/}" "${KERNEL_FILES[@]/#/kernel/}"; do
		[ -f "$from/$f" ] || die "\`$from/$f\` is missing (run \`make\` first, or pass --from)"
	done
	for f in kumod.service kumod.init kumo.json start-libvirtd.sh; do
		[ -f "$here/$f" ] || die "\`$here/$f\` is missing"
	done
}

kumo_json() { # -> the kumo.json to create
	local j
	if [ $libvirt -eq 1 ]; then
		j=$(jq '.vm_backend = "libvirt"' "$here/kumo.json")
	else
		j=$(cat "$here/kumo.json")
	fi
	if [ -n "$downstream" ]; then
		jq --arg d "$downstream" '.downstream_endpoint = $d' <<<"$j"
	else
		echo "$j"
	fi
}

# kubelet_endpoint: the CRI endpoint kubelet is configured with now (kubeadm's flags
# win over the config file), or nothing when neither names one.
kubelet_endpoint() {
	local ep=
	if [ -f "$D$KUBELET_FLAGS_ENV" ]; then
		ep=$(grep -oE -- "--container-runtime-endpoint(=|[[:space:]]+)[^[:space:]\"']+" "$D$KUBELET_FLAGS_ENV" |
			head -1 | sed -E 's/^--container-runtime-endpoint(=|[[:space:]]+)//')
	fi
	if [ -z "$ep" ] && [ -f "$D$KUBELET_CONFIG" ]; then
		ep=$(sed -n -E 's/^containerRuntimeEndpoint:[[:space:]]*["'"'"']?([^"'"'"'[:space:]]+).*/\1/p' "$D$KUBELET_CONFIG" | head -1)
	fi
	echo "$ep"
}

# With --kubelet: the runtime kubelet leaves becomes kumod's downstream (unless
# --downstream says otherwise). kubelet already on kumod (a second run) says nothing.
choose_downstream() {
	[ $kubelet -eq 1 ] && [ -z "$downstream" ] || return 0
	local ep; ep=$(kubelet_endpoint)
	case "$ep" in
	"" | "$ENDPOINT" | "$SOCKET" | "unix:$SOCKET") return 0 ;;
	esac
	downstream=$ep
	say "kubelet talked to \`$ep\`: it becomes kumod's downstream runtime (pods not kumo's run there)"
}

# kumo's pods kumod still holds (their records), for the warning at --uninstall.
kumo_pods_left() {
	local root
	root=$(sed -n 's/.*"root" *: *"\([^"]*\)".*/\1/p' "$D/etc/kumo/kumo.json" 2>/dev/null | head -1)
	root=${root:-/var/lib/kumo}
	[ -d "$D$root/pods" ] || { echo 0; return 0; }
	find "$D$root/pods" -maxdepth 1 -name '*.json' | wc -l
}

# The libvirt tuning deploy/start-libvirtd.sh writes (KUMO_LIBVIRT_TUNING=on), byte for
# byte, so that script finds it in place and leaves it; a test checks the two agree.
qemu_conf() {
	cat <<-'EOF'
	# written by kumo deploy/start-libvirtd.sh (KUMO_LIBVIRT_TUNING=on)
	user = "kumo-qemu"
	group = "kumo-qemu"
	security_driver = "none"
	dynamic_ownership = 0
	namespaces = [ ]
	cgroup_controllers = [ "cpu", "cpuacct" ]
	stdio_handler = "file"
	remember_owner = 0
	EOF
}

# kubelet_edit FILE -> FILE's content with kubelet pointed at kumod, on stdout.
# kubeadm's flags file: the --container-runtime-endpoint (and --image-service-endpoint)
# flags are rewritten, or the endpoint flag is added to KUBELET_KUBEADM_ARGS.
# A KubeletConfiguration: the top-level containerRuntimeEndpoint (and
# imageServiceEndpoint) keys are rewritten, or containerRuntimeEndpoint is appended.
kubelet_edit_flags() {
	if grep -q -- '--container-runtime-endpoint' "$1"; then
		sed -E -e "s#--container-runtime-endpoint(=|[[:space:]]+)[^[:space:]\"']+#--container-runtime-endpoint=$ENDPOINT#g" \
			-e "s#--image-service-endpoint(=|[[:space:]]+)[^[:space:]\"']+#--image-service-endpoint=$ENDPOINT#g" "$1"
	elif grep -q '^KUBELET_KUBEADM_ARGS="' "$1"; then
		sed -E "s#^KUBELET_KUBEADM_ARGS=\"#KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=$ENDPOINT #" "$1"
	else
		cat "$1"
		echo "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=$ENDPOINT\""
	fi
}
kubelet_edit_config() {
	if grep -qE '^containerRuntimeEndpoint:' "$1"; then
		sed -E -e "s#^containerRuntimeEndpoint:.*#containerRuntimeEndpoint: $ENDPOINT#" \
			-e "s#^imageServiceEndpoint:.*#imageServiceEndpoint: $ENDPOINT#" "$1"
	else
		sed -E "s#^imageServiceEndpoint:.*#imageServiceEndpoint: $ENDPOINT#" "$1"
		[ -z "$(tail -c1 "$1")" ] || echo
		echo "containerRuntimeEndpoint: $ENDPOINT"
	fi
}

restart_kubelet() {
	if [ -n "$D" ]; then return 0; fi
	if systemd_runs; then
		say "restarting kubelet (systemctl)"
		systemctl daemon-reload
		systemctl restart kubelet
	elif [ -n "${KUBELET_RESTART_CMD:-}" ]; then
		say "restarting kubelet: $KUBELET_RESTART_CMD"
		sh -c "$KUBELET_RESTART_CMD"
	else
		say "systemd is not PID 1 and KUBELET_RESTART_CMD is unset: restart kubelet yourself"
	fi
}

wire_kubelet() {
	local tmp; tmp=$(mktemp)
	local done_one=0
	# kubeadm's flags win over the config file, so rewrite the flags file when it names
	# an endpoint, and the config file when there is one.
	if [ -f "$D$KUBELET_FLAGS_ENV" ] && { grep -q -- '--container-runtime-endpoint' "$D$KUBELET_FLAGS_ENV" || [ ! -f "$D$KUBELET_CONFIG" ]; }; then
		kubelet_edit_flags "$D$KUBELET_FLAGS_ENV" >"$tmp"
		put "$tmp" "$KUBELET_FLAGS_ENV" "$(stat -c %a "$D$KUBELET_FLAGS_ENV")"
		done_one=1
		echo "$KUBELET_FLAGS_ENV" >>"$D$STATE/kubelet-wired"
	fi
	if [ -f "$D$KUBELET_CONFIG" ]; then
		kubelet_edit_config "$D$KUBELET_CONFIG" >"$tmp"
		put "$tmp" "$KUBELET_CONFIG" "$(stat -c %a "$D$KUBELET_CONFIG")"
		done_one=1
		echo "$KUBELET_CONFIG" >>"$D$STATE/kubelet-wired"
	fi
	rm -f "$tmp"
	sort -u -o "$D$STATE/kubelet-wired" "$D$STATE/kubelet-wired" 2>/dev/null || true
	[ $done_one -eq 1 ] || die "no kubelet configuration at \`$D$KUBELET_CONFIG\` or \`$D$KUBELET_FLAGS_ENV\` (set KUBELET_CONFIG or KUBELET_FLAGS_ENV)"
	restart_kubelet
}

install_deps() {
	local pkgs=("${RUNTIME_PACKAGES[@]}")
	[ $libvirt -eq 0 ] || pkgs+=("${LIBVIRT_PACKAGES[@]}")
	local missing=() p
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The user QEMU runs as under kumod's jail (kumo.json "jail_user"), in the kvm group:
# what deploy/qemu-user.sh does, idempotently.
ensure_qemu_user() {
	local user=kumo-qemu
	getent group kvm >/dev/null || groupadd --system kvm
	getent group "$user" >/dev/null || groupadd --system "$user"
	getent passwd "$user" >/dev/null ||
		useradd --system --gid "$user" --groups kvm --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$user"
	if [ -c /dev/kvm ] && [ "$(stat -c %G /dev/kvm)" != kvm ]; then
		chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
	fi
}

check_runtime() { # warns about what the node lacks; DESTDIR installs skip it
	local f miss
	for f in "${PROGRAMS[@]}"; do
		miss=$(ldd "$D$prefix/lib/kumo/bin/$f" 2>/dev/null | awk '/not found/ { print $1 }' | tr '\n' ' ')
		[ -z "$miss" ] || say "warning: $f needs libraries this node lacks: $miss(run with --deps)"
	done
	for f in qemu-system-x86_64 ld iptables; do
		command -v "$f" >/dev/null || say "warning: \`$f\` is not installed (run with --deps)"
	done
	# Pods take their network from CNI: the plugins on kumod's search path, and a list.
	for f in "${CNI_PLUGINS[@]}"; do
		[ -x "/opt/cni/bin/$f" ] || [ -x "/usr/lib/cni/$f" ] ||
			say "warning: CNI plugin \`$f\` is in neither /opt/cni/bin nor /usr/lib/cni (run with --deps)"
	done
	if ! ls "$CNI_CONF_DIR"/*.conflist "$CNI_CONF_DIR"/*.conf "$CNI_CONF_DIR"/*.json >/dev/null 2>&1; then
		say "note: $CNI_CONF_DIR has no network list: kumod writes its default one there at start" \
			"(bridge cni0 on 10.88.0.0/16, or kubelet's pod CIDR once kubelet sends it)"
	fi
	if [ -e /dev/kvm ]; then
		say "note: /dev/kvm is there; kumo probes it at the first VM (\`kumo info\` says whether VMs run accelerated and why)"
	else
		say "warning: no /dev/kvm: VMs will run under QEMU TCG (slow)"
	fi
}

service_start() {
	[ $start -eq 1 ] || return 0
	modprobe -a "${MODULES[@]}" 2>/dev/null || say "warning: could not load every module of ${MODULES[*]}"
	if systemd_runs; then
		systemctl daemon-reload
		# libvirtd reads qemu.conf at start only.
		[ $libvirt -eq 0 ] || systemctl try-restart libvirtd.service || true
		systemctl enable kumod.service
		systemctl restart kumod.service
	else
		# /etc/init.d/kumod starts libvirtd (start-libvirtd.sh) when kumo.json picks it.
		/etc/init.d/kumod restart
	fi
}

service_stop() {
	[ -z "$D" ] || return 0
	if systemd_runs; then
		systemctl disable --now kumod.service 2>/dev/null || true
	elif [ -x /etc/init.d/kumod ]; then
		/etc/init.d/kumod stop || true
	fi
}

# --- install / uninstall ----------------------------------------------------------------
do_install() {
	find_payload
	if [ $kubelet -eq 1 ] && [ ! -f "$D$KUBELET_CONFIG" ] && [ ! -f "$D$KUBELET_FLAGS_ENV" ]; then
		die "--kubelet: no kubelet configuration at \`$D$KUBELET_CONFIG\` or \`$D$KUBELET_FLAGS_ENV\` (set KUBELET_CONFIG or KUBELET_FLAGS_ENV)"
	fi
	# The record's own directory (and any missing parent) is recorded like the rest.
	local p=$STATE todo=()
	while [ "$p" != / ] && [ ! -d "$D$p" ]; do todo+=("$p"); p=$(dirname "$p"); done
	mkdir -p "$D$STATE"
	for p in "${todo[@]}"; do record_set dir "$p"; done
	[ $deps -eq 0 ] || [ -n "$D" ] || install_deps
	[ -n "$D" ] || ensure_qemu_user
	local tmp; tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	local f
	for f in "${PROGRAMS[@]}"; do
		put "$from/bin/$f" "$prefix/lib/kumo/bin/$f" 0755
		put_link "../lib/kumo/bin/$f" "$prefix/bin/$f"
	done
	for f in "${KERNEL_FILES[@]}"; do
		put "$from/kernel/$f" "$prefix/lib/kumo/kernel/$f" 0644
	done
	put "$here/install.sh" "$prefix/lib/kumo/install.sh" 0755
	put "$here/start-libvirtd.sh" "$prefix/lib/kumo/start-libvirtd.sh" 0755
	sed "s#@PREFIX@#$prefix#g" "$here/kumod.service" >"$tmp/kumod.service"
	put "$tmp/kumod.service" /etc/systemd/system/kumod.service 0644
	sed "s#@PREFIX@#$prefix#g" "$here/kumod.init" >"$tmp/kumod.init"
	put "$tmp/kumod.init" /etc/init.d/kumod 0755
	printf '%s\n' "# kernel modules kumo's pod networking needs (deploy/install.sh)" "${MODULES[@]}" >"$tmp/modules"
	put "$tmp/modules" /etc/modules-load.d/kumo.conf 0644
	choose_downstream
	if [ -e "$D/etc/kumo/kumo.json" ]; then
		[ "$(record_get /etc/kumo/kumo.json)" = created ] || say "keeping the existing /etc/kumo/kumo.json"
		if [ -n "$downstream" ] && [ "$(jq -r '.downstream_endpoint // "unix:///run/containerd/containerd.sock"' "$D/etc/kumo/kumo.json" 2>/dev/null)" != "$downstream" ]; then
			say "warning: /etc/kumo/kumo.json is kept, so kumod's downstream is not set to \`$downstream\` (set \"downstream_endpoint\" there)"
		fi
	else
		kumo_json >"$tmp/kumo.json"
		put "$tmp/kumo.json" /etc/kumo/kumo.json 0644
	fi
	if [ $crictl -eq 1 ]; then
		printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 120\n' "$ENDPOINT" "$ENDPOINT" >"$tmp/crictl.yaml"
		put "$tmp/crictl.yaml" /etc/crictl.yaml 0644
	fi
	if [ $libvirt -eq 1 ]; then
		qemu_conf >"$tmp/qemu.conf"
		put "$tmp/qemu.conf" /etc/libvirt/qemu.conf 0644
	fi
	[ -n "$D" ] || check_runtime
	service_start
	[ $kubelet -eq 0 ] || wire_kubelet
	say "installed into ${D:-/} (prefix $prefix); record: $RECORD"
}

do_uninstall() {
	[ -f "$RECORD" ] || { say "nothing to uninstall (no $RECORD)"; return 0; }
	local left; left=$(kumo_pods_left)
	[ "$left" -eq 0 ] || say "warning: kumod still holds $left kumo pod(s): kubelet will no longer see them and their VMs keep running (drain them first)"
	service_stop
	# kumod's state and socket directories, read before kumo.json goes.
	local state_dirs=(/var/lib/kumo /var/log/kumo /run/kumo) v
	for v in root socket; do
		v=$(sed -n "s/.*\"$v\" *: *\"\([^\"]*\)\".*/\1/p" "$D/etc/kumo/kumo.json" 2>/dev/null | head -1)
		[ "${v:0:1}" != / ] || state_dirs+=("$v")
	done
	local kind path sum kubelet_wired=0 dirs
	[ ! -s "$D$STATE/kubelet-wired" ] || kubelet_wired=1
	# Files first (restored or removed), then directories deepest first.
	while read -r kind path sum; do
		case "$kind" in
		replaced)
			if [ -e "$D$STATE/backup$path" ] || [ -L "$D$STATE/backup$path" ]; then
				rm -f "$D$path"
				cp -a "$D$STATE/backup$path" "$D$path"
			else
				say "warning: no backup of $path to restore; leaving it as it is"
			fi ;;
		created)
			if [ "$sum" != link ] && [ -f "$D$path" ] && [ "$(sha "$D$path")" != "$sum" ]; then
				say "keeping $path: it was edited after kumo installed it"
			else
				rm -f "$D$path"
			fi ;;
		esac
	done < <(awk '$1 != "dir"' "$RECORD")
	dirs=$(awk '$1 == "dir" { print $2 }' "$RECORD" | LC_ALL=C sort -r)
	rm -rf "$D$STATE/backup" "$D$STATE/kubelet-wired" "$RECORD"
	while read -r path; do
		[ -n "$path" ] || continue
		rmdir "$D$path" 2>/dev/null || say "keeping $path: not empty"
	done <<<"$dirs"
	if [ $purge -eq 1 ]; then
		# kumod's default network list, when it is still kumo's (a cluster's own stays).
		local list=$D$CNI_CONF_DIR/99-kumo.conflist
		if [ -f "$list" ] && [ "$(jq -r '.name + " " + .plugins[0].bridge' "$list" 2>/dev/null)" = "kumo cni0" ]; then
			say "purging $CNI_CONF_DIR/99-kumo.conflist"
			rm -f "$list"
		fi
		for v in "${state_dirs[@]}"; do
			case "$v" in *.sock) v=$(dirname "$v") ;; esac
			case "$v" in / | /var | /var/lib | /run | /var/log | /etc | /usr) continue ;; esac
			[ ! -e "$D$v" ] || { say "purging $v"; rm -rf "$D$v"; }
		done
	fi
	[ $kubelet_wired -eq 0 ] || restart_kubelet
	say "uninstalled from ${D:-/}"
}

record_load
case $mode in
install) do_install ;;
uninstall) do_uninstall ;;
status) [ -f "$RECORD" ] && cat "$RECORD" || { say "kumo is not installed (no $RECORD)"; exit 1; } ;;
esac
