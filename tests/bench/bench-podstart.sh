#!/usr/bin/env bash
# tests/bench/bench-podstart.sh - RunPodSandbox -> ready of a pod VM, booted and started
# from a snapshot (kumod --pod-vm-snapshot-start), through kumod's CRI socket with CNI's
# default network, RUNS pods each (default 10) after one that warms the caches (and makes
# the template): the CRI call as the client sees it and the VM part kumod logs (boot to
# READY, or template restore + REINIT), medians. Run by bench-snapshot.sh, in network and
# mount namespaces of its own. env: RUNS=10 BUILD=build
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-10}
# shellcheck source=../lib/cri.sh
. tests/lib/cri.sh
# shellcheck source=bench-lib.sh
. tests/bench/bench-lib.sh
cri_suite bench-podstart 120
at_exit 'umount -l "$T/netns" 2>/dev/null; umount -l "$T"/root*/pod-templates/netns 2>/dev/null'
at_exit 'for f in "$T"/root*/vms/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done'
kumo_accel; ACCEL=$accel
for mode in boot snapshot; do
	SOCK=$T/kumo-$mode.sock
	"$BIN/kumod" --socket "$SOCK" --root "$T/root-$mode" --accel "$ACCEL" --cni-conf-dir "$T/net.d" \
		--netns-dir "$T/netns" --pod-vm-snapshot-start "$([ $mode = snapshot ] && echo true || echo false)" \
		--log-level info 2>"$T/kumod-$mode.log" &
	KPID=$!
	for _ in $(seq 200); do crictl Version >/dev/null 2>&1 && break; sleep 0.05; done
	: >"$T/$mode.txt"
	for i in $(seq 0 "$RUNS"); do
		t0=$(date +%s%N)
		out=$(crictl RunPodSandbox "{\"config\":{\"metadata\":{\"name\":\"p$i\",\"uid\":\"u$i\",\"namespace\":\"bench\"}}}" 2>"$T/err") ||
			{ echo "bench-podstart: $mode: RunPodSandbox failed: $(tail -1 "$T/err")"; break; }
		t1=$(date +%s%N)
		pod=$(jq -r .pod_sandbox_id <<<"$out")
		vm=$(grep -E "pod ${pod:0:12}: VM .* ready (from snapshot .* )?in [0-9.]+ ms" "$T/kumod-$mode.log" |
			sed -E 's/.* ready (from snapshot [^ ]+ )?in ([0-9.]+) ms.*/\2/')
		[ "$i" -gt 0 ] && echo "$(((t1 - t0) / 1000)) ${vm:-0}" >>"$T/$mode.txt"
		crictl StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
		crictl RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
	done
	kumod_kill
	call_ms=$(awk '{print $1 / 1000}' "$T/$mode.txt" | median)
	vm_ms=$(awk '{print $2}' "$T/$mode.txt" | median)
	n=$(wc -l <"$T/$mode.txt")
	if [ "$mode" = boot ]; then
		printf 'podstart boot     (median of %d): RunPodSandbox -> ready %s ms, of which the VM booting to READY %s ms\n' "$n" "$call_ms" "$vm_ms"
	else
		printf 'podstart snapshot (median of %d): RunPodSandbox -> ready %s ms, of which the VM restored from the template + REINIT %s ms (template made once: %s)\n' \
			"$n" "$call_ms" "$vm_ms" "$(grep -oE 'booted to READY in [0-9.]+ ms, saved in [0-9.]+ ms' "$T/kumod-$mode.log" | head -1)"
	fi
done
echo "podstart: load average $(loadavg)"
