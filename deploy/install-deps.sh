#!/usr/bin/env bash
# deploy/install-deps.sh - installs every Debian package kumo needs to build, test and
# run, idempotently: a machine that has them all costs one dpkg query.
# Also adds a deb-src entry for the same archive so `apt-get source` works (lwIP and
# cJSON are built freestanding from Debian's source packages; see kernel/kernel.mk).
#
# usage: deploy/install-deps.sh [--check]   (--check: exit 1 if something is missing)
set -euo pipefail

PACKAGES=(
	# build
	make gcc binutils pkg-config git ca-certificates
	# compiler/: LLVM 19 C API; test apps: clang-19 + wasi-libc + wasm32 compiler-rt
	llvm-19-dev clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc wabt
	# make fuzz: libFuzzer and the sanitizer runtimes of clang-19
	libclang-rt-19-dev
	# host libraries
	libcmocka-dev libjansson-dev libcurl4-openssl-dev libssl-dev libarchive-dev
	libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libvirt-dev zstd
	# kumod's streaming server (exec/attach/port-forward): HTTP with upgrade; zlib for SPDY
	libmicrohttpd-dev zlib1g-dev
	# VMs: QEMU, libvirt (monolithic libvirtd + virtlogd), tini to reap promptly
	qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	tini iproute2 iptables dnsmasq-base
	# pod networks through CNI: Debian's plugins (/usr/lib/cni), netlink for the tap redirect
	libnl-route-3-dev
	# sources, registry and benchmark peers
	dpkg-dev docker-registry skopeo umoci hyperfine wrk nodejs python3
	# the downstream runtime of a mixed node (and its tests): containerd + runc, Debian's
	# CNI plugins (/usr/lib/cni), busybox-static and procps (pgrep) for the Linux test images
	containerd runc containernetworking-plugins busybox-static procps
	# the one-node-cluster tier (tests/e2e/cluster.sh): the cluster's store
	etcd-server
	# end-to-end test scripts read JSON answers; deploy tests parse the Kubernetes manifests
	jq python3-yaml
)

missing=()
# One query; dpkg-query prints nothing for a package it has never heard of.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for p in "${PACKAGES[@]}"; do
	grep -qx "$p installed" <<<"$installed" || missing+=("$p")
done

need_src=0
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
	need_src=1
fi

if [ "${1:-}" = "--check" ]; then
	[ ${#missing[@]} -eq 0 ] && [ $need_src -eq 0 ] && exit 0
	echo "missing: ${missing[*]}" >&2
	exit 1
fi

if [ $need_src -eq 1 ]; then
	# Same archive and suites as the binary entries, for source packages.
	src=/etc/apt/sources.list.d/kumo-deb-src.sources
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$src"
	else
		sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/kumo-deb-src.list
	fi
	missing+=(__update__)
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	pkgs=()
	for p in "${missing[@]}"; do [ "$p" = __update__ ] || pkgs+=("$p"); done
	[ ${#pkgs[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi

# The user QEMU runs as under kumod's jail.
bash "$(dirname "$0")/qemu-user.sh"
