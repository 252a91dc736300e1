#!/usr/bin/env bash
# tests/e2e/critest.sh - runs critest (kubernetes-sigs/cri-tools' CRI validation suite,
# built outside the repository) against Debian's containerd started by
# tests/lib/containerd.sh, with the Linux test images (make linux-images) pushed to a
# local registry under the names critest asks for. A manual judge, not part of make test
# (it takes several minutes); the baseline the mixed node (issue 22) must match.
# With KUMOD=1 critest talks to kumod (the real backend) with that containerd behind it
# (--downstream-endpoint): every Linux pod and image critest uses is forwarded, so the
# mixed node must pass at least what containerd passes alone.
# usage: [KUMOD=1] CRITEST=/path/to/critest bash tests/e2e/critest.sh [critest flags...]
#   e.g. ... -ginkgo.focus='PodSandbox'   (flags after the script go to critest)
# Prints critest's summary, the failed specs, and `critest: N passed, N failed, N skipped`.
set -u
[ -n "${KUMO_E2E_NETNS:-}" ] || KUMO_E2E_NETNS=1 exec unshare -n -m --propagation private -- bash "$0" "$@"
ip link set lo up
# Pods take their network from CNI: host-local's store is a tmpfs of this mount namespace.
mkdir -p /var/lib/cni && mount -t tmpfs tmpfs /var/lib/cni
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRITEST=${CRITEST:-$(command -v critest || true)}
[ -x "$CRITEST" ] || { echo "critest: set CRITEST=/path/to/critest (cri-tools v1.36)"; echo "critest: 0 passed, 1 failed"; exit 1; }
T=$(mktemp -d /tmp/kumo-critest.XXXXXX)
KPID=
# shellcheck source=../lib/registry.sh
. "$HERE/../lib/registry.sh"
# shellcheck source=../lib/containerd.sh
. "$HERE/../lib/containerd.sh"
cleanup() {
	[ -n "$KPID" ] && kill "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	containerd_stop
	registry_stop
	awk -v d="$T/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
	if [ -n "${KEEP:-}" ]; then echo "critest: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

registry_start open "$T/reg" || exit 1
REG=127.0.0.1:$REG_PORT
linux_images_push "$REG" || exit 1
containerd_start "$T/ctrd" "$REG" || exit 1
EP=$CTRD_ENDPOINT
against="containerd $(containerd --version | awk '{print $3}')"
if [ "${KUMOD:-0}" = 1 ]; then
	"$BUILD/bin/kumod" --socket "$T/kumo.sock" --root "$T/kumo" --downstream-endpoint "$CTRD_ENDPOINT" \
		--cni-conf-dir "$T/net.d" --netns-dir "$T/netns" --pod-cidr 10.77.0.0/24 --log-level "${KUMOD_LOG_LEVEL:-info}" 2>"$T/kumod.log" &
	KPID=$!
	for _ in $(seq 200); do "$BUILD/bin/kumo-crictl" --socket "$T/kumo.sock" Version >/dev/null 2>&1 && break; sleep 0.05; done
	EP=unix://$T/kumo.sock
	against="kumod with $against behind it"
fi

start=$(date +%s)
"$CRITEST" --runtime-endpoint "$EP" --image-endpoint "$EP" --report-dir "$T" -ginkgo.no-color "$@" >"$T/critest.log" 2>&1
rc=$?
secs=$(($(date +%s) - start))
# Ginkgo's closing lines: "Ran N of M Specs ..." and "FAIL! -- P Passed | F Failed | 0 Pending | S Skipped".
grep -E '^Ran [0-9]+ of [0-9]+ Specs' "$T/critest.log"
sed -n '/^Summarizing [0-9]* Failure/,/^Ran [0-9]/p' "$T/critest.log" | grep -E '^\s*\[FAIL\]' || true
line=$(grep -E '[0-9]+ Passed \| [0-9]+ Failed' "$T/critest.log" | tail -1)
p=$(sed -E 's/.* ([0-9]+) Passed.*/\1/' <<<"$line")
f=$(sed -E 's/.* ([0-9]+) Failed.*/\1/' <<<"$line")
s=$(sed -E 's/.* ([0-9]+) Skipped.*/\1/' <<<"$line")
[ -n "$line" ] || { tail -30 "$T/critest.log"; p=0 f=1 s=0; }
cp "$T/critest.log" "${CRITEST_LOG:-$BUILD/critest.log}" 2>/dev/null && echo "critest: full log in ${CRITEST_LOG:-$BUILD/critest.log}"
[ -n "$KPID" ] && cp "$T/kumod.log" "${KUMOD_LOG:-$BUILD/critest-kumod.log}" 2>/dev/null
echo "critest: exit $rc after ${secs}s against $against"
echo "critest: $p passed, $f failed, $s skipped"
