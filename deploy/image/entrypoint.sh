#!/bin/bash
# deploy/image/entrypoint.sh - the kumo-deploy DaemonSet container (see
# deploy/k8s/kumo-deploy.yaml): `install` copies the payload to the host and runs
# install.sh in the host's namespaces, then waits; `uninstall` undoes it (preStop hook,
# or when the node loses its kumo.io/enabled=true label).
# env: NODE_NAME, KUMO_INSTALL_ARGS, KUMO_UNINSTALL_ARGS (e.g. --purge),
#      KUBELET_RESTART_CMD, KUMO_LABEL_POLL_S (default 30)
set -euo pipefail
PAYLOAD=/kumo-payload
HOST_DIR=/host/opt/kumo          # the host's /opt/kumo (hostPath)
HOST_PAYLOAD=/opt/kumo/payload   # the same directory as the host sees it
SA=/var/run/secrets/kubernetes.io/serviceaccount

say() { echo "kumo-deploy: $*" >&2; }

on_host() { # runs a command in PID 1's namespaces (hostPID + privileged)
	nsenter -t 1 -m -u -i -n -p -- env KUBELET_RESTART_CMD="${KUBELET_RESTART_CMD:-}" "$@"
}

copy_payload() {
	rm -rf "$HOST_DIR/payload.new"
	cp -a "$PAYLOAD" "$HOST_DIR/payload.new"
	rm -rf "$HOST_DIR/payload.old"
	[ ! -d "$HOST_DIR/payload" ] || mv "$HOST_DIR/payload" "$HOST_DIR/payload.old"
	mv "$HOST_DIR/payload.new" "$HOST_DIR/payload"
	rm -rf "$HOST_DIR/payload.old"
}

# Prints the node's kumo.io/enabled label; fails when the API cannot be asked.
node_label() {
	[ -n "${NODE_NAME:-}" ] && [ -r "$SA/token" ] || return 1
	local out
	out=$(curl -sf --max-time 10 --cacert "$SA/ca.crt" -H "Authorization: Bearer $(cat "$SA/token")" \
		"https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}/api/v1/nodes/${NODE_NAME}") || return 1
	jq -r '.metadata.labels["kumo.io/enabled"] // ""' <<<"$out"
}

do_uninstall() {
	# The installed copy of install.sh knows the record; the payload's is the same script.
	local script=$HOST_PAYLOAD/install.sh
	on_host test -x /usr/local/lib/kumo/install.sh && script=/usr/local/lib/kumo/install.sh
	# shellcheck disable=SC2086 # KUMO_UNINSTALL_ARGS is a list of options
	on_host "$script" --uninstall ${KUMO_UNINSTALL_ARGS:-}
	rm -rf "$HOST_DIR/payload"
	say "uninstalled from node ${NODE_NAME:-?}"
}

case "${1:-install}" in
install)
	copy_payload
	# shellcheck disable=SC2086 # KUMO_INSTALL_ARGS is a list of options
	on_host "$HOST_PAYLOAD/install.sh" --from "$HOST_PAYLOAD" ${KUMO_INSTALL_ARGS:-}
	say "installed on node ${NODE_NAME:-?}; watching its kumo.io/enabled label"
	trap 'exit 0' TERM INT
	while :; do
		sleep "${KUMO_LABEL_POLL_S:-30}" & wait $! || true
		label=$(node_label) || continue # API not reachable: ask again later
		if [ "$label" != true ]; then
			say "label kumo.io/enabled is \`$label\`: uninstalling"
			do_uninstall
			while :; do sleep 3600 & wait $! || true; done # until the DaemonSet deletes us
		fi
	done ;;
uninstall) do_uninstall ;;
*) echo "usage: $0 install|uninstall" >&2; exit 2 ;;
esac
