# tests/bench/bench.mk - benchmarks: `make bench-compute` (tests/bench/compute/).
