#!/usr/bin/env bash
# tests/bench/bench-vmm.sh - `make bench-vmm`: VM lifecycle latency through vmm/, the
# libvirt backend with and without kumo's qemu.conf tuning next to plain QEMU started
# directly (the QEMU-direct backend) on the same image, then N VMs at once.
#
# For each setting, over RUNS runs (default 50) of the PVH test fixture (prints a line,
# then hangs): create (paused), resume→first output (StartContainer-equivalent),
# create→first output, stop→gone; median and p95. Then COUNT VMs (default 50) created
# and started together, then stopped: total time, QEMU RSS per VM, leaks (QEMU processes
# and libvirt domains left). Closes with `vmm-start-p50-ms N`: median resume→first
# output on the default backend (libvirt, tuned).
#
# env: RUNS=50 COUNT=50 EACH=0 (EACH=1 also measures each qemu.conf setting alone,
#      RUNS_EACH=10 runs each) BUILD=build
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-50}
COUNT=${COUNT:-50}
EACH=${EACH:-0}
RUNS_EACH=${RUNS_EACH:-10}
tool=$BUILD/tests/support/vmm-tool
fixture=$BUILD/tests/support/pvh-fixture.elf
work=$(mktemp -d /tmp/kumo-bench-vmm.XXXXXX)
started_here=0
bash deploy/start-libvirtd.sh --status 2>/dev/null || started_here=1

source tests/lib/testlib.sh
kumo_accel "$BUILD"
echo "bench-vmm: $accel_why$( [ "$accel" = tcg ] && echo ': the figures are TCG figures')"
echo "bench-vmm: image $fixture, 32 MiB, 1 vCPU, runs $RUNS"

# stats FILE COLUMN -> "median p95"
stats() {
	grep -v '^#' "$1" | awk -v c="$2" '{print $c}' | sort -n | awk '
		{ v[NR] = $1 }
		END { if (NR == 0) { print "- -"; exit }
		      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      i = int(NR * 0.95 + 0.999); if (i > NR) i = NR; if (i < 1) i = 1
		      printf "%.1f %.1f\n", m, v[i] }'
}

declare -A P50_RESUME
run_setting() { # label backend runs [tuning]
	local label=$1 backend=$2 runs=$3 tuning=${4:-}
	if [ -n "$tuning" ]; then
		KUMO_LIBVIRT_TUNING=$tuning bash deploy/start-libvirtd.sh --restart >/dev/null || {
			echo "bench-vmm: cannot (re)start libvirtd"; return 1; }
	fi
	local out=$work/$label.txt
	"$tool" bench --accel "$accel" --backend "$backend" --runs "$runs" --dir "$work/vms" --name "kumo-bench-$label" \
		"$fixture" >"$out" 2>"$work/$label.err" || { echo "bench-vmm: $label failed:"; cat "$work/$label.err"; return 1; }
	read -r c50 c95 <<<"$(stats "$out" 1)"
	read -r r50 r95 <<<"$(stats "$out" 2)"
	read -r f50 f95 <<<"$(stats "$out" 3)"
	read -r s50 s95 <<<"$(stats "$out" 4)"
	printf "%-22s %9s %9s %9s %9s %9s %9s %9s %9s\n" "$label" "$c50" "$c95" "$r50" "$r95" "$f50" "$f95" "$s50" "$s95"
	P50_RESUME[$label]=$r50
}

header() {
	printf "%-22s %9s %9s %9s %9s %9s %9s %9s %9s\n" "setting (ms)" create50 create95 \
		resume50 resume95 first50 first95 stop50 stop95
}

qemu_procs() { pgrep -c -f '^/usr/bin/qemu-system-x86_64 -name guest=kumo-bench|^qemu-system-x86_64 -name kumo-bench' 2>/dev/null || true; }
domains() { virsh -q -c qemu:///system list --all --name 2>/dev/null | grep -c '^kumo-bench' || true; }

# Machine types for plain QEMU: start → first serial byte of the same PVH image.
machine_once() { # extra qemu args...
	local out=$work/m.out
	rm -f "$out"; : >"$out"
	local t0 t1
	t0=$(date +%s%N)
	qemu-system-x86_64 "$@" -accel "$accel" -m 32 -nodefaults -no-user-config -display none \
		-kernel "$fixture" -append "out=ready hang" -serial "file:$out" >/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 20000); do [ -s "$out" ] && break; sleep 0.001; done
	t1=$(date +%s%N)
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	echo "$(( (t1 - t0) / 1000 ))" | awk '{printf "%.1f\n", $1 / 1000}'
}
machine_row() { # label runs args...
	local label=$1 runs=$2; shift 2
	local f; f=$work/machine-$(tr -c 'A-Za-z0-9\n' _ <<<"$label").txt; : >"$f"
	for _ in $(seq "$runs"); do machine_once "$@" >>"$f"; done
	read -r m50 m95 <<<"$(stats "$f" 1)"
	printf "%-34s %9s %9s\n" "$label" "$m50" "$m95"
}
MRUNS=${MRUNS:-10}
echo
echo "== machine type, plain QEMU, process start -> first serial byte (ms, median/p95 of $MRUNS)"
printf "%-34s %9s %9s\n" "machine" p50 p95
machine_row "microvm (kumo's choice)" "$MRUNS" -M microvm,x-option-roms=off,acpi=on
machine_row "microvm, no pit/pic/rtc" "$MRUNS" -M microvm,x-option-roms=off,acpi=on,pit=off,pic=off,rtc=off
machine_row "q35 + qboot" "$MRUNS" -M q35 -bios /usr/share/qemu/qboot.rom
machine_row "pc + qboot" "$MRUNS" -M pc -bios /usr/share/qemu/qboot.rom
machine_row "q35 + SeaBIOS (default firmware)" "$MRUNS" -M q35

echo
echo "== lifecycle: median/p95 over $RUNS runs (create = paused; resume = resume->first output;"
echo "   first = create->first output; stop = stop->gone)"
header
run_setting qemu-direct qemu "$RUNS"
run_setting libvirt-tuned libvirt "$RUNS" on
run_setting libvirt-default libvirt "$RUNS" off

if [ "$EACH" = 1 ]; then
	echo
	echo "== each qemu.conf setting alone on top of libvirt's defaults ($RUNS_EACH runs each)"
	header
	for s in security_driver dynamic_ownership namespaces cgroup_controllers stdio_handler; do
		KUMO_LIBVIRT_TUNING=only:$s run_setting "only-$s" libvirt "$RUNS_EACH" "only:$s"
	done
fi

echo
echo "== $COUNT VMs created and started together, then stopped"
bash deploy/start-libvirtd.sh --restart >/dev/null
for backend in qemu libvirt; do
	before_q=$(qemu_procs); before_d=$(domains)
	"$tool" many --accel "$accel" --backend "$backend" --count "$COUNT" --dir "$work/many" --name "kumo-bench-many-$backend" \
		"$fixture" 2>"$work/many-$backend.err" || { echo "bench-vmm: many $backend failed:"; cat "$work/many-$backend.err"; }
	sleep 1
	after_q=$(qemu_procs); after_d=$(domains)
	echo "leaks: backend $backend qemu-processes $((after_q - before_q)) libvirt-domains $((after_d - before_d))"
done

rm -rf "$work"
# Leave libvirtd as we found it (tuned config, running only if it ran before).
if [ $started_here -eq 1 ]; then bash deploy/start-libvirtd.sh --stop; else bash deploy/start-libvirtd.sh --restart >/dev/null; fi
echo
echo "StartContainer-equivalent (resume->first output) p50: libvirt-tuned ${P50_RESUME[libvirt-tuned]:-?} ms, qemu-direct ${P50_RESUME[qemu-direct]:-?} ms ($accel)"
echo "vmm-start-p50-ms ${P50_RESUME[libvirt-tuned]:-0}"
