# tests/bench/bench-lib.sh - helpers the network benchmarks share (source it):
#   parse_wrk            wrk --latency output on stdin -> "req/s MB/s p50ms p99ms errors requests"
#   median               numbers on stdin, one a line -> their median ("n/a" when none)
#   qemu_cpu_ticks PID   CPU clock ticks (utime + stime, all threads) of a QEMU process
#                        -> "vcpu other": its vCPU threads ("CPU n/TCG|KVM", named when
#                        QEMU runs with -name ...,debug-threads=on), and all the rest (the
#                        main loop: virtio and tap; I/O threads, workers)
#   loadavg              the 1-minute load average
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /s$/) return v * 1000
		return v
	}
	function mb(v) {
		if (v ~ /GB$/) return v * 1024
		if (v ~ /MB$/) return v + 0
		if (v ~ /KB$/) return v / 1024
		if (v ~ /B$/) return v / 1048576
		return v
	}
	/Requests\/sec:/ { rps = $2 }
	/Transfer\/sec:/ { mbs = mb($2) }
	/requests in/ { reqs = $1 }
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
	/Non-2xx/ { err += $NF }
	END { printf "%.0f %.1f %.3f %.3f %d %d\n", rps, mbs, p50, p99, err, reqs }'
}

median() {
	sort -g | awk '{ v[NR] = $1 }
	END {
		if (NR == 0) print "n/a"
		else if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}

qemu_cpu_ticks() {
	local t comm vcpu=0 other=0 ticks
	for t in /proc/"$1"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		# stat's fields 14 and 15 (utime, stime) after the parenthesised comm.
		ticks=$(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }') || continue
		[ -n "$ticks" ] || continue
		case $comm in
		CPU\ *) vcpu=$((vcpu + ticks)) ;;
		*) other=$((other + ticks)) ;;
		esac
	done
	echo "$vcpu $other"
}

loadavg() {
	cut -d' ' -f1 /proc/loadavg
}
