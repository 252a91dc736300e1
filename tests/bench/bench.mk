# tests/bench/bench.mk - benchmarks. `make bench-compute`: the programs in
# tests/bench/compute/ built natively (gcc -O2, the reference; clang-19 -O2 as a peer),
# to wasm32-wasi (clang-19 -O2) and through wasm2c + gcc -O2, then run side by side by
# tests/bench/run-bench-compute.py.
#   BENCH_SCALE=N   work in percent of the full size (default 100; use 5 to try it out)
#   BENCH_RUNS=N    runs per program and runner, the median is shown (default 3)
BENCH_DIR := $(BUILD)/bench
BENCH_COMPUTE_SRCS := $(wildcard tests/bench/compute/bench_*.c)
BENCH_NAMES := $(notdir $(BENCH_COMPUTE_SRCS:.c=))
BENCH_NATIVE := $(BENCH_NAMES:%=$(BENCH_DIR)/native/%)
BENCH_CLANG := $(BENCH_NAMES:%=$(BENCH_DIR)/clang/%)
BENCH_WASM := $(BENCH_NAMES:%=$(BENCH_DIR)/wasm/%.wasm)
BENCH_W2C := $(BENCH_NAMES:%=$(BENCH_DIR)/w2c/%)
BENCH_CFLAGS := -O2 -Wall -Wextra -Werror
# Debian's wabt ships the wasm2c runtime sources here.
W2C_RT_DIR := /usr/src/wasm2c

$(BENCH_DIR)/native/%: tests/bench/compute/%.c tests/bench/compute/bench_common.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ -lm

# clang-19 -O2 natively: the same compiler family as kumo and the wasm build, as a peer.
$(BENCH_DIR)/clang/%: tests/bench/compute/%.c tests/bench/compute/bench_common.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BENCH_CFLAGS) $< -o $@ -lm

$(BENCH_DIR)/wasm/%.wasm: tests/bench/compute/%.c tests/bench/compute/bench_common.h
	@mkdir -p $(dir $@)
	$(WASI_CC) $(BENCH_CFLAGS) $< -o $@

# wasm2c: one module name (`bench`) for all, so one shim fits every program.
$(BENCH_DIR)/w2c/%.c: $(BENCH_DIR)/wasm/%.wasm
	@mkdir -p $(dir $@)
	wasm2c -n bench $< -o $@

$(BENCH_DIR)/w2c/%.o: $(BENCH_DIR)/w2c/%.c
	$(CC) -O2 -w -I$(W2C_RT_DIR) -c $< -o $@

$(BENCH_DIR)/w2c/shim-%.o: tests/bench/w2c_wasi.c $(BENCH_DIR)/w2c/%.c
	$(CC) $(BENCH_CFLAGS) -Wno-unused-parameter -I$(W2C_RT_DIR) -I$(BENCH_DIR)/w2c \
		-DW2C_HEADER='"$*.h"' -c $< -o $@

$(BENCH_DIR)/w2c/wasm-rt-impl.o: $(W2C_RT_DIR)/wasm-rt-impl.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -w -I$(W2C_RT_DIR) -c $< -o $@

$(BENCH_DIR)/w2c/%: $(BENCH_DIR)/w2c/%.o $(BENCH_DIR)/w2c/shim-%.o $(BENCH_DIR)/w2c/wasm-rt-impl.o
	$(CC) -o $@ $^ -lm

.PHONY: bench-compute bench-compute-build
.SECONDARY: $(BENCH_W2C:%=%.c) $(BENCH_W2C:%=%.o) $(BENCH_NAMES:%=$(BENCH_DIR)/w2c/shim-%.o)
bench-compute-build: $(BENCH_NATIVE) $(BENCH_CLANG) $(BENCH_WASM) $(BENCH_W2C)

bench-compute: all bench-compute-build
	python3 tests/bench/run-bench-compute.py $(BENCH_DIR) $(BENCH_NAMES)

# `make bench-boot` (issues 3, 20): boot of a cached hello as a VM vs native and hosted,
# with the breakdown of a cache-hit `kumo run` (process, cache, QEMU, guest, app).
#   BOOT_RUNS=N   interleaved rounds (default 20), medians shown
.PHONY: bench-boot
bench-boot: deps
	$(MAKE) all apps
	bash tests/bench/bench-boot.sh


# `make bench-net` (issue 4): wrk against net_httpd natively, under `kumo run --host`
# and in a VM (`kumo run --net --listen`); closes with `net-ratio R`.
#   BENCH_NET_SECS=N   seconds per cell (default 5)
.PHONY: bench-net
bench-net: deps
	$(MAKE) all net-apps
	bash tests/bench/bench-net.sh

# `make bench-vs-linux` (issue 20): net_httpd in three VMs on the same QEMU line, tap and
# wrk load: kumo, Debian's kernel + kumo-hostrun on the same object, Debian's kernel + the
# native build; closes with `vs-linux-ratio R` and `vs-native-linux-ratio R`.
#   BENCH_VS_SECS=N  seconds per cell (default 10)   BENCH_VS_RUNS=N  boots per system (3)
.PHONY: bench-vs-linux
bench-vs-linux: deps
	$(MAKE) all net-apps
	bash tests/bench/bench-vs-linux.sh

# `make bench-simd` (issue 19): the programs in tests/bench/simd/, vectorised by clang,
# native (clang-19 -O2 -msse4.2, the reference: same compiler family and vector width),
# to wasm32-wasi with -msimd128 and run by kumo hosted (kumo-hostrun on the object),
# node and wasm2c (+ gcc -O2 -msse4.2, SIMD through Debian's libsimde-dev); side by side
# by the same runner as bench-compute, closing with `simd-geomean R`.
SIMD_BENCH_DIR := $(BUILD)/bench-simd
SIMD_BENCH_SRCS := $(wildcard tests/bench/simd/simd_*.c)
SIMD_BENCH_NAMES := $(notdir $(SIMD_BENCH_SRCS:.c=))
SIMD_BENCH_CFLAGS := -O2 -ffp-contract=off -Wall -Wextra -Werror
SIMD_W2C := $(SIMD_BENCH_NAMES:%=$(SIMD_BENCH_DIR)/w2c/%.stamp)

$(SIMD_BENCH_DIR)/native/%: tests/bench/simd/%.c tests/bench/compute/bench_common.h
	@mkdir -p $(dir $@)
	$(CLANG) $(SIMD_BENCH_CFLAGS) -msse4.2 $< -o $@

$(SIMD_BENCH_DIR)/wasm/%.wasm: tests/bench/simd/%.c tests/bench/compute/bench_common.h
	@mkdir -p $(dir $@)
	$(WASI_CC) $(SIMD_BENCH_CFLAGS) -msimd128 $< -o $@

# wasm2c + gcc -O2 -msse4.2 (wasm2c's SIMD goes through libsimde-dev) when this wabt's
# wasm2c can translate the module; Debian 12's (1.0.32) aborts on any v128 code, and
# then the program has no wasm2c binary, only DIR/w2c/NAME.err saying why.
$(SIMD_BENCH_DIR)/w2c/%.stamp: $(SIMD_BENCH_DIR)/wasm/%.wasm tests/bench/w2c_wasi.c
	@mkdir -p $(dir $@)
	@rm -f $(@:.stamp=) $(@:.stamp=.err)
	@d=$(dir $@); if ! wasm2c -n bench $< -o $${d}$*.c >$${d}$*.err 2>&1; then \
		echo "wasm2c $$(wasm2c --version) cannot translate $*.wasm" >>$${d}$*.err; \
	elif ! { $(CC) -O2 -msse4.2 -w -I$(W2C_RT_DIR) -c $${d}$*.c -o $${d}$*.o && \
		$(CC) $(BENCH_CFLAGS) -Wno-unused-parameter -I$(W2C_RT_DIR) -I$${d} \
			-DW2C_HEADER='"$*.h"' -c tests/bench/w2c_wasi.c -o $${d}shim-$*.o && \
		$(CC) -O2 -w -I$(W2C_RT_DIR) -c $(W2C_RT_DIR)/wasm-rt-impl.c -o $${d}rt-$*.o && \
		$(CC) -o $${d}$* $${d}$*.o $${d}shim-$*.o $${d}rt-$*.o -lm; } >>$${d}$*.err 2>&1; then \
		echo "gcc could not build wasm2c's output for $*" >>$${d}$*.err; \
	fi; touch $@

.PHONY: bench-simd bench-simd-build
bench-simd-build: $(SIMD_BENCH_NAMES:%=$(SIMD_BENCH_DIR)/native/%) \
	$(SIMD_BENCH_NAMES:%=$(SIMD_BENCH_DIR)/wasm/%.wasm) $(SIMD_W2C)

bench-simd: all bench-simd-build
	BENCH_GEOMEAN=simd-geomean python3 tests/bench/run-bench-compute.py $(SIMD_BENCH_DIR) $(SIMD_BENCH_NAMES)
# `make bench-podnet` (issue 15): a pod network's setup through CNI, median of N, its
# parts, and containerd's RunPodSandbox on the same network list when containerd is there.
.PHONY: bench-podnet
bench-podnet: $(PODNET_TOOL) $(BUILD)/bin/kumo-crictl
	bash tests/bench/bench-podnet.sh

# make bench-pull [RUNS=5] [FORMAT=image|artifact]: kumo pull vs skopeo copy, 20 and 100 MiB.
.PHONY: bench-pull
bench-pull: $(BUILD)/bin/kumo
	KUMO=$(abspath $(BUILD)/bin/kumo) bash tests/bench/bench-pull.sh

# `make bench-vmm`: create->first output and stop->gone through vmm/, both backends.
.PHONY: bench-vmm
bench-vmm: $(VMM_FIXTURE) $(VMM_TOOL)
	bash tests/bench/bench-vmm.sh

# The kernel's network path measured without Wasm (boot to listening, wrk 64 KiB).
.PHONY: bench-net-kernel
bench-net-kernel: $(NET_KERNEL)
	bash tests/bench/bench-net-kernel.sh $(BUILD)

# What a host share costs against today's copy (guest clock), and its boot cost.
.PHONY: bench-share
bench-share: $(SHARE_ELF) $(BUILD)/bin/kumo
	bash tests/bench/bench-share.sh $(BUILD)

# `make bench-cri`: kumod's CRI latencies (BACKEND=test default, or real; IMAGE=...;
# N=20) against containerd + runc; then CreateContainer's own time (real backend, warm
# image) in the tree at BEFORE=ecc7010 (built in a temporary git worktree) and in this one;
# last the pod VM's StartContainer -> first log line and QEMU RSS (bench-cri-pod.sh).
.PHONY: bench-cri
bench-cri: $(BUILD)/bin/kumod $(BUILD)/bin/kumo kernel $(BUILD)/apps/app_hello.wasm $(BUILD)/apps/app_podtool.wasm \
	$(BUILD)/tests/kumod-fake $(BUILD)/bin/kumo-crictl $(DOWNSTREAM_CHECK) linux-images
	bash tests/bench/bench-cri.sh

# `make bench-mounts` (issue 12): a pod's mounts through kumod: CreateContainer and the
# guest's boot with 0, 1, 4 and 16 mounts, and a 1 MiB read from a mount; closes with
# `mounts-read-1m-us N`. BENCH_RUNS=N runs per count (default 7); BENCH_BASELINE=DIR
# another build's tree (e.g. a commit that copied mounts) measured alternately with it.
.PHONY: bench-mounts
bench-mounts: all apps
	bash tests/bench/bench-mounts.sh $(BUILD) $(BENCH_BASELINE)

# `make bench-snapshot` (issue 18): checkpoint/restore time and archive size of a 16 and a
# 256 MiB VM through vmm/, medians of RUNS (10), beside criu on the same app built natively.
.PHONY: bench-snapshot
bench-snapshot: $(BUILD)/bin/kumo $(BUILD)/bin/kumod $(BUILD)/bin/kumo-crictl $(SNAPSHOT_TOOL) $(BUILD)/apps/app_counter.wasm \
		$(BUILD)/apps/net_httpd.wasm
	bash tests/bench/bench-snapshot.sh
