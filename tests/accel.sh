# tests/accel.sh - the one place a test script learns which accelerator to start QEMU
# with: kumo's own verdict (`kumo info -o json accel`), so scripts boot under KVM only
# when kumo's kernel, probed under KVM, reported back (vmm/accel.c), exactly as
# `kumo run` and kumod decide. Source it, then call kumo_accel.
#
#   kumo_accel [BUILD_DIR]   sets $accel (kvm|tcg) and $accel_why (kumo's one line,
#                            "accel: tcg (kvm unusable: PVM host, guest not PVM-aware)")
#
# KUMO_TEST_ACCEL=kvm|tcg forces a choice (e.g. tcg to compare). When kumo cannot say
# (not built), the answer is tcg, which runs everywhere.
kumo_accel() {
	local build=${1:-build} json
	if [ -n "${KUMO_TEST_ACCEL:-}" ]; then
		accel=$KUMO_TEST_ACCEL
		accel_why="accel: $accel (KUMO_TEST_ACCEL)"
		return 0
	fi
	accel=tcg
	accel_why="accel: tcg (kumo info failed: is $build/bin/kumo built?)"
	json=$("$build/bin/kumo" info -o json accel 2>/dev/null) || return 0
	case $(jq -r '.accel.name' <<<"$json") in
	kvm) accel=kvm ;;
	*) accel=tcg ;;
	esac
	accel_why=$(jq -r '.accel.line' <<<"$json")
}
