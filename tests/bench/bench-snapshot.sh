#!/usr/bin/env bash
# tests/bench/bench-snapshot.sh - `make bench-snapshot` (issue 18): checkpoint and restore
# of a kumo VM through vmm/ (snapshot-tool bench), for a 16 MiB and a 256 MiB VM, RUNS
# runs each (default 10), medians:
#   checkpoint   the running counter VM paused, its state saved (QEMU migration stream
#                over fd:), resumed: what the app loses; then the archive written
#   restore      the archive verified (digests) and unpacked, a new QEMU started with
#                -incoming, its state loaded; then until its first new output line
#   size         the archive (kernel image + stream + records) and the stream alone
# Each on QEMU-direct, then on libvirt when a libvirtd answers (rows "on libvirt").
# Then live migration over loopback TCP (total, downtime, hand-over), a pod VM's between
# two nodes with a keep-alive client (bench-podmigrate.sh), and Debian's criu
# dump/restore of the same counter built natively, when criu runs on this kernel (else
# the reason it does not); RunPodSandbox -> ready of a pod VM booted and started from a
# snapshot (bench-podstart.sh). Marks: Wanco checkpoint 1-39 ms, restore 0.1-27 ms, Kafu
# migration ~100 ms. Closes with `migrate-downtime-ms N`: the pod VM migration's client
# gap (median). env: RUNS=10 BUILD=build
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-10}
tool=$BUILD/tests/support/snapshot-tool
work=$(mktemp -d /tmp/kumo-bench-snapshot.XXXXXX)
trap 'rm -rf "$work"' EXIT
source tests/lib/testlib.sh
source tests/bench/bench-lib.sh
kumo_accel "$BUILD"
echo "bench-snapshot: $accel_why$( [ "$accel" = tcg ] && echo ': the figures are TCG figures')"
# The counter prints a line every 5 ms, so "resumed" is restore + at most one period.
"$BUILD/bin/kumo" build "$BUILD/apps/app_counter.wasm" -o "$work/counter" -- 0 5 >/dev/null 2>&1 ||
	{ echo "bench-snapshot: kumo build of the counter failed"; exit 1; }

# col FILE N: the median of column N of FILE's data lines.
col() { grep -v '^#' "$1" | awk -v c="$2" '{print $c}' | median; }

# The libvirt backend's column (the same stream through libvirt-qemu's monitor
# passthrough) when a libvirtd answers; the bench starts none.
backends=qemu
if bash deploy/start-libvirtd.sh --status >/dev/null 2>&1; then backends="qemu libvirt"; else
	echo "bench-snapshot: libvirt: no libvirtd answers (deploy/start-libvirtd.sh starts one): its rows are left out"; fi
# on BACKEND: the label of a row ("" for QEMU-direct, the rows kumo has always printed).
on() { [ "$1" = qemu ] || echo " on $1"; }
for backend in $backends; do
	for mem in 16 256; do
		out=$work/bench-$backend-$mem.txt
		if ! "$tool" bench --accel "$accel" --backend "$backend" --mem "$mem" --runs "$RUNS" --lines 3 \
			--dir "$work/run-$backend-$mem" "$work/counter" >"$out" 2>"$work/err-$mem.txt"; then
			echo "bench-snapshot: ${mem} MiB$(on "$backend"): $(tail -1 "$work/err-$mem.txt")"
			continue
		fi
		printf 'snapshot %3s MiB%s (median of %d): checkpoint %s ms (guest paused %s ms) + archive %s ms; restore: verify %s ms + load %s ms, first output after %s ms; archive %s bytes (stream %s)\n' \
			"$mem" "$(on "$backend")" "$RUNS" "$(col "$out" 1)" "$(col "$out" 2)" "$(col "$out" 3)" "$(col "$out" 5)" \
			"$(col "$out" 6)" "$(col "$out" 7)" "$(col "$out" 4)" "$(col "$out" 8)"
	done
done

# Live migration through vmm/ over loopback TCP (pre-copy), RUNS runs per size: QEMU's
# total time and downtime (the source's final pause), the hand-over (source done ->
# destination resumed), and the gap the app's output shows (the client's view: its last
# line from the source -> its first from the destination, the counter writing a line
# every 5 ms).
for backend in $backends; do
	for mem in 16 256; do
		m=$work/mig-$backend-$mem.txt
		: >"$m"
		for i in $(seq "$RUNS"); do
			port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
			line=$("$tool" migrate --accel "$accel" --backend "$backend" --mem "$mem" --port "$port" --lines 3 --more 3 \
				--dir "$work/mig-$backend-$mem-$i" "$work/counter" 2>>"$work/mig-err.txt" | grep '^migrate:') || continue
			sed -E 's/.*total ([0-9.]+) ms, downtime ([0-9.]+) ms.*hand-over ([0-9.]+) ms, ([0-9]+) bytes, output gap ([0-9.-]+) ms/\1 \2 \3 \5 \4/' \
				<<<"$line" >>"$m"
		done
		if [ -s "$m" ]; then
			printf 'migrate  %3s MiB%s (median of %d): total %s ms, downtime %s ms (QEMU), hand-over %s ms, output gap %s ms (one line per 5 ms: the longest silence between the last line of the source and the first of the destination), %s bytes sent\n' \
				"$mem" "$(on "$backend")" "$(wc -l <"$m")" "$(col "$m" 1)" "$(col "$m" 2)" \
				"$(col "$m" 3)" "$(col "$m" 4)" "$(col "$m" 5)"
		else
			echo "migrate ${mem} MiB$(on "$backend"): failed: $(tail -1 "$work/mig-err.txt")"
		fi
	done
done

# criu on the same counter, natively.
native=$work/counter-native
clang-19 -O2 tests/apps/app_counter.c -o "$native" 2>/dev/null || cc -O2 tests/apps/app_counter.c -o "$native"
if ! command -v criu >/dev/null; then
	echo "criu: not installed (apt-get install criu)"
elif ! why=$(criu check 2>&1); then
	echo "criu $(criu --version | sed -n 's/Version: //p'): cannot run on this kernel ($(uname -r)): $(grep -m1 Error <<<"$why")"
else
	: >"$work/criu.txt"
	for i in $(seq "$RUNS"); do
		d=$work/criu-$i
		mkdir -p "$d"
		setsid "$native" 0 5 >"$d.out" 2>&1 </dev/null &
		pid=$!
		sleep 0.2
		t0=$(date +%s%N)
		criu dump -t "$pid" -D "$d" --shell-job --leave-running >/dev/null 2>&1 || { echo "criu dump failed"; break; }
		t1=$(date +%s%N)
		kill -9 "$pid"; wait "$pid" 2>/dev/null
		criu restore -D "$d" --shell-job -d --pidfile "$d/restored.pid" >/dev/null 2>&1 ||
			{ echo "criu restore failed"; break; }
		t2=$(date +%s%N)
		kill -9 "$(cat "$d/restored.pid")" 2>/dev/null
		echo "$(((t1 - t0) / 1000000)) $(((t2 - t1) / 1000000)) $(du -sb "$d" | cut -f1)" >>"$work/criu.txt"
	done
	[ -s "$work/criu.txt" ] &&
		echo "criu (native counter, median of $(wc -l <"$work/criu.txt")): dump $(col "$work/criu.txt" 1) ms, restore $(col "$work/criu.txt" 2) ms, images $(col "$work/criu.txt" 3) bytes"
fi
# RunPodSandbox -> ready of a pod VM, booted and started from a snapshot.
RUNS=$RUNS BUILD=$BUILD bash tests/bench/bench-podstart.sh 2>&1 | grep -E '^podstart|^bench-podstart'
# A pod VM's live migration between two nodes, a keep-alive client fetching throughout.
RUNS=$RUNS BUILD=$BUILD bash tests/bench/bench-podmigrate.sh 2>&1 | tee "$work/podmig.txt" |
	grep -E '^podmigrate [0-9]|^bench-podmigrate: [^c]'
echo "marks: Wanco checkpoint 1-39 ms, restore 0.1-27 ms; Kafu migration ~100 ms"
# The closing figure: the downtime a client sees, its longest gap between two answers
# across a pod VM's migration (median); else the output gap of a 16 MiB VM's.
gap=$(sed -n 's/^bench-podmigrate: client-gap-ms //p' "$work/podmig.txt")
[ -n "$gap" ] && [ "$gap" != n/a ] || gap=$( [ -s "$work/mig-qemu-16.txt" ] && col "$work/mig-qemu-16.txt" 4 || echo n/a)
echo "migrate-downtime-ms $gap"
