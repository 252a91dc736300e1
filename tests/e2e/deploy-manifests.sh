#!/usr/bin/env bash
# tests/e2e/deploy-manifests.sh - the Kubernetes manifests in deploy/k8s/ parse and
# refer only to what exists (tests/support/deploy_manifests.py), checked against the files
# deploy/install.sh lays down in a temporary root.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/kumo-manifests-XXXXXX)
trap 'rm -rf "$T"' EXIT
if ! DESTDIR=$T/root bash "$top/deploy/install.sh" --crictl --libvirt >"$T/log" 2>&1; then
	cat "$T/log"
	echo "0 passed, 1 failed"
	exit 1
fi
python3 "$top/tests/support/deploy_manifests.py" "$top" "$T/root/var/lib/kumo-install/record"
