#!/usr/bin/env bash
# deploy/start-libvirtd.sh - starts virtlogd and libvirtd for kumo on a node without
# systemd (see HOST-NOTES.md), idempotently: a node where both already run costs one
# connection check.
#
# usage: deploy/start-libvirtd.sh [--restart | --stop | --status]
#   (none)     start what is not running, install kumo's qemu.conf, warm capabilities
#   --restart  stop the daemons this script started, then start again (config change)
#   --stop     stop the daemons this script started (pid files under /run/kumo/)
#   --stop-libvirtd  stop only libvirtd (running domains survive; tests use it);
#              exit 3 when libvirtd runs but this script did not start it
#   --status   exit 0 when libvirtd answers on qemu:///system
# env:
#   KUMO_LIBVIRT_TUNING=on|off|only:<setting>  on (default): kumo's qemu.conf (no security driver, no
#       mount namespace, no cgroup controllers, QEMU's stdio to files not virtlogd,
#       QEMU as root); off: libvirt's built-in defaults plus only what QEMU needs to
#       start here (user root, since Debian's libvirt-qemu user is not created without
#       libvirt-daemon-system); only:<setting>: the defaults plus that one line.
#       `make bench-vmm` measures them.
#
# Daemons run in the foreground under `tini -s` (reaps QEMU promptly, so STOPPED events
# arrive ~200 ms after power-off instead of 1–2 s), detached with setsid; logs go to
# /var/log/kumo/{libvirtd,virtlogd}.log.
set -euo pipefail

RUN=/run/kumo
LOG=/var/log/kumo
CONF=/etc/libvirt/qemu.conf
URI=qemu:///system
TUNING=${KUMO_LIBVIRT_TUNING:-on}

mkdir -p "$RUN" "$LOG" /etc/libvirt /run/libvirt /var/lib/libvirt/qemu /var/log/libvirt/qemu

alive() { # pidfile -> 0 when the process it names runs
	[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

answering() {
	timeout 60 virsh -q -c "$URI" version >/dev/null 2>&1
}

stop_one() { # name
	local pf=$RUN/$1.tini.pid
	if alive "$pf"; then
		local pid; pid=$(cat "$pf")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pf"
}

write_conf() {
	local tmp; tmp=$(mktemp "$CONF.XXXXXX")
	{
		echo "# written by kumo deploy/start-libvirtd.sh (KUMO_LIBVIRT_TUNING=$TUNING)"
		# QEMU unprivileged (kumo's jail, vmm/vmm.h): deploy/qemu-user.sh's user.
		echo 'user = "kumo-qemu"'
		echo 'group = "kumo-qemu"'
		# Each line measured by `make bench-vmm` (tests/bench/bench-vmm.sh, EACH=1).
		local lines=(
			'security_driver = "none"'   # no DAC/AppArmor relabelling passes
			'dynamic_ownership = 0'      # no chown of kernel/initrd/log files
			'namespaces = [ ]'           # no private /dev mount namespace per QEMU
			'cgroup_controllers = [ "cpu", "cpuacct" ]' # only what cputune and CPU stats need
			'stdio_handler = "file"'     # QEMU stderr to a file, not through virtlogd
			'remember_owner = 0'         # no xattr bookkeeping of original owners
		)
		local l
		for l in "${lines[@]}"; do
			case "$TUNING" in
				on) echo "$l" ;;
				only:*) if [ "${l%% =*}" = "${TUNING#only:}" ]; then echo "$l"; fi ;;
			esac
		done
	} >"$tmp"
	if [ -f "$CONF" ] && cmp -s "$tmp" "$CONF"; then
		rm -f "$tmp"; return 1
	fi
	mv "$tmp" "$CONF"; return 0
}

start() {
	# libvirt's QEMU driver resolves its compiled-in user before reading qemu.conf, so
	# the account Debian's libvirt-daemon-system would create must exist.
	getent group kvm >/dev/null || groupadd -r kvm
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
	getent passwd libvirt-qemu >/dev/null ||
		useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	# The user QEMU runs as (qemu.conf below), as deploy/qemu-user.sh makes it.
	getent group kumo-qemu >/dev/null || groupadd --system kumo-qemu
	getent passwd kumo-qemu >/dev/null ||
		useradd --system --gid kumo-qemu --groups kvm --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin kumo-qemu
	if [ -e /dev/kvm ]; then
		chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
	fi
	local changed=0
	write_conf && changed=1
	if [ $changed -eq 1 ] && alive "$RUN/libvirtd.tini.pid"; then
		stop_one libvirtd
	fi
	if ! alive "$RUN/virtlogd.tini.pid" && ! pgrep -x virtlogd >/dev/null; then
		setsid tini -s -- virtlogd >>"$LOG/virtlogd.log" 2>&1 </dev/null &
		echo $! >"$RUN/virtlogd.tini.pid"
	fi
	if ! alive "$RUN/libvirtd.tini.pid" && ! pgrep -x libvirtd >/dev/null; then
		rm -f /run/libvirtd.pid
		setsid tini -s -- libvirtd >>"$LOG/libvirtd.log" 2>&1 </dev/null &
		echo $! >"$RUN/libvirtd.tini.pid"
	elif [ $changed -eq 1 ]; then
		echo "start-libvirtd: $CONF changed but libvirtd was not started by this script; restart it yourself" >&2
	fi
	for _ in $(seq 600); do
		[ -S /run/libvirt/libvirt-sock ] && answering && break
		alive "$RUN/libvirtd.tini.pid" || pgrep -x libvirtd >/dev/null || break
		sleep 0.1
	done
	if ! answering; then
		echo "start-libvirtd: libvirtd does not answer on $URI (see $LOG/libvirtd.log)" >&2
		exit 1
	fi
	# The first connection after an install probes QEMU for 10-45 s (KVM and TCG alike,
	# one capabilities cache per QEMU binary); pay it here. Whether kumo's VMs use KVM
	# is kumo's probe's call (`kumo info`), not libvirt's.
	timeout 120 virsh -q -c "$URI" domcapabilities --virttype qemu \
		--machine microvm >/dev/null 2>&1 || true
}

case "${1:-}" in
	"") start ;;
	--restart) stop_one libvirtd; stop_one virtlogd; start ;;
	--stop) stop_one libvirtd; stop_one virtlogd ;;
	--stop-libvirtd)
		if ! alive "$RUN/libvirtd.tini.pid" && pgrep -x libvirtd >/dev/null; then exit 3; fi
		stop_one libvirtd ;;
	--status) answering ;;
	*) echo "usage: $0 [--restart|--stop|--status]" >&2; exit 2 ;;
esac
