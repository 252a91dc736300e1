#!/usr/bin/env bash
# deploy/qemu-user.sh - creates the system user QEMU runs as under kumod's jail
# (vmm/vmm.h "The jail around QEMU"; kumo.json "jail_user", default kumo-qemu), in the
# `kvm` group for /dev/kvm, idempotently: an existing user is left as it is.
# Called by deploy/install-deps.sh and by the tests' set-up (tests/lib/testlib.sh,
# tests/run-tests.sh); deploy/install.sh does the same.
#
# usage: deploy/qemu-user.sh [USER]
set -euo pipefail
user=${1:-kumo-qemu}
getent group kvm >/dev/null || groupadd --system kvm
getent group "$user" >/dev/null || groupadd --system "$user"
if ! getent passwd "$user" >/dev/null; then
	useradd --system --gid "$user" --groups kvm --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$user"
fi
# Without udev /dev/kvm is root's alone (HOST-NOTES); the group opens it.
if [ -c /dev/kvm ] && [ "$(stat -c %G /dev/kvm)" != kvm ]; then
	chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi
