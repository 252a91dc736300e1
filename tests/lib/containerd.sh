# tests/lib/containerd.sh - starts and stops Debian's containerd (+ runc) for tests, the
# downstream CRI runtime of a mixed node, and pushes the Linux test images it pulls
# (sourced; needs tests/lib/registry.sh sourced first for wait_port/free_port).
#
#   containerd_start DIR [REG]  starts containerd with a config of its own under DIR
#                               (root, state, sockets, runc root, CNI config and IPAM, all
#                               inside DIR, so runs never collide); REG (host:port of the
#                               local test registry) gets plain-HTTP pulls, and every
#                               upstream registry named in tests/linux/images.list is
#                               mirrored to REG/<upstream>/... Sets CTRD_PID, CTRD_SOCK,
#                               CTRD_ENDPOINT (unix://...), CTRD_LOG. Returns 1 (with the
#                               log on stderr) if it does not come up within 30 s.
#   containerd_restart          restarts the daemon alone (its containers keep running).
#   containerd_stop             kills every task it runs, stops it, reaps its shims and
#                               unmounts what it left under DIR (DIR itself stays).
#   linux_images_push REG [TAG...]  pushes the layout $LINUX_IMAGES (default
#                               $BUILD/linux-images, `make linux-images`) to REG under the
#                               names in tests/linux/images.list (only TAGs if given).
#
# Call containerd_start from a private network namespace (`unshare -n`, like every e2e
# script): containerd's CNI creates a bridge ($CTRD_BRIDGE, default ctrd0, subnet
# $CTRD_SUBNET, default 10.89.0.0/16), veths and iptables rules there. It refuses to run in
# PID 1's network namespace unless CTRD_HOST_NETWORK=1. With CTRD_CNI_CONF_DIR set, containerd
# takes its network lists from that directory instead (e.g. kumod's, so that both
# runtimes' pods share one network list and address pool) and writes none of its own.
# Facts it encodes (HOST-NOTES.md): root lacks CAP_SYS_RESOURCE here, so the CRI config
# sets restrict_oom_score_adj (else runc fails every sandbox); Debian's CNI plugins live in
# /usr/lib/cni.
CTRD_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTRD_IMAGES_LIST=$CTRD_LIB_DIR/../linux/images.list
CTRD_SANDBOX_IMAGE=registry.k8s.io/pause:3.9
CTRD_PID=
CTRD_DIR=

# The upstream registries the test images stand in for (first component of each name).
ctrd_upstreams() {
	grep -v '^#' "$CTRD_IMAGES_LIST" | awk 'NF == 2 { split($2, p, "/"); print p[1] }' | sort -u
}

containerd_start() { # dir [registry host:port]
	local dir reg=${2:-} up i
	dir=$(mkdir -p "$1" && cd "$1" && pwd)
	if [ "${CTRD_HOST_NETWORK:-0}" != 1 ] && [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
		echo "containerd_start: refusing to run in the host's network namespace (use unshare -n, or CTRD_HOST_NETWORK=1)" >&2
		return 1
	fi
	CTRD_DIR=$dir
	CTRD_SOCK=$dir/containerd.sock
	CTRD_ENDPOINT=unix://$CTRD_SOCK
	CTRD_LOG=$dir/containerd.log
	mkdir -p "$dir/cni" "$dir/certs.d" "$dir/runc"
	if [ -n "$reg" ]; then
		mkdir -p "$dir/certs.d/$reg"
		cat >"$dir/certs.d/$reg/hosts.toml" <<EOF
server = "http://$reg"
[host."http://$reg"]
  capabilities = ["pull", "resolve", "push"]
EOF
		# REG/<upstream>/<path>: override_path keeps the upstream's name in the repository.
		for up in $(ctrd_upstreams); do
			mkdir -p "$dir/certs.d/$up"
			cat >"$dir/certs.d/$up/hosts.toml" <<EOF
server = "https://$up"
[host."http://$reg/v2/$up"]
  capabilities = ["pull", "resolve"]
  override_path = true
EOF
		done
	fi
	[ -n "${CTRD_CNI_CONF_DIR:-}" ] || cat >"$dir/cni/10-ctrd.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ctrd-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "${CTRD_BRIDGE:-ctrd0}",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "${CTRD_SUBNET:-10.89.0.0/16}"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$dir/cni-ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
	cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CTRD_SANDBOX_IMAGE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$dir/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${CTRD_CNI_CONF_DIR:-$dir/cni}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
EOF
	: >"$CTRD_LOG"
	ctrd_launch
}

# Starts containerd on the config in $CTRD_DIR (its log appended to $CTRD_LOG) and
# waits up to 30 s for this start's "successfully booted" line.
ctrd_launch() {
	local i from
	from=$(($(wc -l <"$CTRD_LOG" 2>/dev/null || echo 0) + 1))
	containerd --config "$CTRD_DIR/config.toml" --log-level "${CTRD_LOG_LEVEL:-info}" >>"$CTRD_LOG" 2>&1 &
	CTRD_PID=$!
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$CTRD_PID" 2>/dev/null; then
			echo "containerd_start: containerd exited" >&2; tail -n +"$from" "$CTRD_LOG" | tail -20 >&2
			CTRD_PID=; return 1
		fi
		if [ -S "$CTRD_SOCK" ] && tail -n +"$from" "$CTRD_LOG" | grep -q 'containerd successfully booted'; then
			# The CRI plugin answers "server is not initialized yet" until it has
			# recovered its state, which can outlast the boot line under load.
			"${BUILD:-build}/bin/kumo-crictl" --socket "$CTRD_SOCK" Version >/dev/null 2>&1 && return 0
		fi
		sleep 0.1
	done
	echo "containerd_start: containerd did not come up in 30 s" >&2; tail -n +"$from" "$CTRD_LOG" | tail -20 >&2
	containerd_stop
	return 1
}

# Restarts the daemon only (SIGTERM, then the same config), as a node's service manager
# would: its containers keep running under their shims.
containerd_restart() {
	[ -n "$CTRD_PID" ] || return 1
	kill "$CTRD_PID" 2>/dev/null
	wait "$CTRD_PID" 2>/dev/null
	ctrd_launch
}

# The pids of the processes whose command line names this instance's socket (its shims).
ctrd_shim_pids() {
	local p
	for p in /proc/[0-9]*; do
		{ tr "\0" " " <"$p/cmdline"; } 2>/dev/null | grep -q -- "-address $CTRD_SOCK " && echo "${p#/proc/}"
	done
}

containerd_stop() {
	local ctr t i p m
	[ -n "$CTRD_DIR" ] || return 0
	if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
		ctr=(ctr --address "$CTRD_SOCK" --namespace k8s.io)
		for t in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
			"${ctr[@]}" tasks kill --all --signal SIGKILL "$t" >/dev/null 2>&1
		done
		# containerd's CRI plugin deletes a task itself when it sees it exit; delete what
		# is left until none is.
		for ((i = 0; i < 50; i++)); do
			t=$("${ctr[@]}" tasks ls -q 2>/dev/null)
			[ -n "$t" ] || break
			for t in $t; do "${ctr[@]}" tasks delete --force "$t" >/dev/null 2>&1; done
			sleep 0.1
		done
		kill "$CTRD_PID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$CTRD_PID" 2>/dev/null
		wait "$CTRD_PID" 2>/dev/null
	fi
	for p in $(ctrd_shim_pids); do kill -9 "$p" 2>/dev/null; done
	# Rootfs overlays, sandbox shm and netns bind mounts, innermost first.
	awk -v d="$CTRD_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	CTRD_PID=
	return 0
}

linux_images_push() { # registry host:port [layout tag...]
	local reg=$1 tag name layout=${LINUX_IMAGES:-${BUILD:-build}/linux-images}
	shift
	[ -f "$layout/index.json" ] || { echo "linux_images_push: no image layout at \`$layout\` (make linux-images)" >&2; return 1; }
	grep -v '^#' "$CTRD_IMAGES_LIST" | while read -r tag name; do
		[ -n "$tag" ] || continue
		if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$tag"; then continue; fi
		skopeo copy --quiet --dest-tls-verify=false "oci:$layout:$tag" "docker://$reg/$name" ||
			{ echo "linux_images_push: push \`$tag\` as \`$reg/$name\` failed" >&2; return 1; }
	done
}
