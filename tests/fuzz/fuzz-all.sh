#!/usr/bin/env bash
# tests/fuzz/fuzz-all.sh [TARGET...] - runs libFuzzer targets one after another
# (FUZZ_SECONDS each, default 60, under nice -n 19), each on its working corpus
# $FUZZ_DIR/corpus-<target> seeded from tests/fuzz/corpus/<target> (kload: from the pod
# tier's objects, $FUZZ_KLOAD_SEEDS, which fuzz.mk copies in), and prints a table:
# target, seconds, runs, coverage (edges) and features at start and end, corpus size, and
# crashes (libFuzzer stops at the first one and leaves its input as
# $FUZZ_DIR/crash-<target>-*). Logs: $FUZZ_DIR/log-<target>.txt. Exit status 1 if any
# target crashed. Default targets: all of them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=${FUZZ_DIR:-build/fuzz}
secs=${FUZZ_SECONDS:-60}
targets=${*:-wasm wat reference manifest cri tar registry config bootcfg cni p9 snapshot kload}

# Per target: program and its options (max input length, dictionary, timeouts).
opts() {
	case $1 in
	wasm) echo "fuzz_wasm -max_len=65536 -timeout=10 -dict=$here/wasm.dict" ;;
	wat) echo "fuzz_wasm -max_len=16384 -timeout=10 -only_ascii=1 -dict=$here/wat.dict" ;;
	reference) echo "fuzz_reference -max_len=512" ;;
	manifest) echo "fuzz_manifest -max_len=16384 -dict=$here/json.dict" ;;
	cri) echo "fuzz_cri -max_len=16384 -timeout=20" ;;
	tar) echo "fuzz_tar -max_len=65536 -timeout=20" ;;
	registry) echo "fuzz_registry -max_len=8192 -dict=$here/json.dict" ;;
	config) echo "fuzz_config -max_len=8192 -dict=$here/json.dict" ;;
	bootcfg) echo "fuzz_bootcfg -max_len=8192 -dict=$here/json.dict" ;;
	cni) echo "fuzz_cni -max_len=16384 -dict=$here/json.dict" ;;
	p9) echo "fuzz_p9 -max_len=16384" ;;
	snapshot) echo "fuzz_snapshot -max_len=32768 -timeout=20 -dict=$here/json.dict" ;;
	kload) echo "fuzz_kload -max_len=262144 -timeout=10" ;;
	*) return 1 ;;
	esac
}

rows=()
bad=0
for t in $targets; do
	if ! o=$(opts "$t"); then
		echo "fuzz-all: unknown target \`$t\`" >&2
		exit 2
	fi
	set -- $o
	prog=$dir/$1
	shift
	corpus=$dir/corpus-$t
	mkdir -p "$corpus"
	seeds=$here/corpus/$t
	if [ "$t" = kload ]; then
		for o in ${FUZZ_KLOAD_SEEDS:-}; do cp -n "$o" "$corpus/" 2>/dev/null; done
		seeds=
	fi
	log=$dir/log-$t.txt
	echo "fuzz-all: $t for ${secs}s (log $log)" >&2
	start=$(date +%s)
	nice -n 19 "$prog" "$@" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/crash-$t-" "$corpus" $seeds >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	init=$(grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log")
	last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
	field() { echo "$1" | sed -n "s/.* $2: \([0-9]*\).*/\1/p"; }
	cov0=$(field "$init" cov) ft0=$(field "$init" ft)
	cov1=$(field "$last" cov) ft1=$(field "$last" ft) corp=$(field "$last" corp)
	crashes=0
	if [ $rc -ne 0 ]; then
		crashes=1
		bad=1
		art=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
		echo "fuzz-all: $t stopped (exit $rc): ${art:-see $log}" >&2
	fi
	rows+=("$(printf '%-10s %6s %12s %7s -> %-7s %8s -> %-8s %6s %7s' "$t" "$took" "${runs:-?}" \
		"${cov0:-?}" "${cov1:-?}" "${ft0:-?}" "${ft1:-?}" "${corp:-?}" "$crashes")")
done
printf '%-10s %6s %12s %18s %20s %6s %7s\n' target secs runs "coverage (edges)" features corpus crashes
for r in "${rows[@]}"; do echo "$r"; done
exit $bad
