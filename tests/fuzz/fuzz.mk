# tests/fuzz/fuzz.mk - the fuzz tier's programs (registered in tests/tests.mk). The Wasm
# front end (binary and text: kumo_validate() takes both, so the one target covers the
# WAT parser; `make fuzz-wat` seeds it with text), the image store's parsers, the kernel
# linker.
#   make fuzz [FUZZ_SECONDS=600]   libFuzzer (clang-19, ASan+UBSan) over decode+validate+compile,
#                                  seeded with SIMD modules and tests/fuzz/wasm.dict (every 0xfd op)
#   make test                      replays tests/fuzz/corpus/wasm through a gcc build
FUZZ_SECONDS ?= 600
FUZZ_DIR := $(BUILD)/fuzz
# The compiler with its in-process code generator (compiler/compiler.mk's lists).
FUZZ_FRONT_SRCS := $(COMPILER_FRONT_SRCS) $(COMPILER_CODEGEN_SRCS) \
	$(wildcard common/*.c)
FUZZ_FLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -Icommon -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all $(shell $(LLVM_CONFIG) --cflags)

$(FUZZ_DIR)/fuzz_wasm: tests/fuzz/fuzz_wasm.c $(FUZZ_FRONT_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_wasm.c $(FUZZ_FRONT_SRCS) $(LIBS_LLVM) -lcrypto -lpthread -lm

$(FUZZ_DIR)/replay_wasm: $(BUILD)/host/tests/fuzz/fuzz_wasm.o $(BUILD)/host/tests/fuzz/fuzz_replay.o \
		$(LIB_COMPILER) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB_COMPILER) $(LIB_COMMON) $(LIBS_LLVM) -lpthread -lm

.PHONY: fuzz
fuzz: $(FUZZ_DIR)/fuzz_wasm
	@mkdir -p $(FUZZ_DIR)/corpus-wasm
	$(FUZZ_DIR)/fuzz_wasm -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -dict=tests/fuzz/wasm.dict $(FUZZ_DIR)/corpus-wasm tests/fuzz/corpus/wasm

# The same target seeded with text modules only (WAT parser first, then the front end).
.PHONY: fuzz-wat
fuzz-wat: $(FUZZ_DIR)/fuzz_wasm
	@mkdir -p $(FUZZ_DIR)/corpus-wat
	$(FUZZ_DIR)/fuzz_wasm -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=16384 -only_ascii=1 -dict=tests/fuzz/wat.dict $(FUZZ_DIR)/corpus-wat tests/fuzz/corpus/wat

# The image store's parsers: references and manifest/index/config JSON.
#   make fuzz-imagestore [FUZZ_IMAGESTORE_SECONDS=60]   libFuzzer (clang-19, ASan+UBSan)
#   make test                                replays tests/fuzz/corpus/{reference,manifest}
FUZZ_IMAGESTORE_SECONDS ?= 60
IMAGESTORE_FUZZ_SRCS := $(IMAGESTORE_SRCS) common/error.c common/util.c common/sha256.c
$(BUILD)/fuzz/replay_reference: $(BUILD)/host/tests/fuzz/fuzz_reference.o $(LIB_IMAGESTORE) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LIB_IMAGESTORE) $(LIB_COMMON) $(IMAGESTORE_LDLIBS)
$(BUILD)/fuzz/replay_manifest: $(BUILD)/host/tests/fuzz/fuzz_manifest.o $(LIB_IMAGESTORE) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LIB_IMAGESTORE) $(LIB_COMMON) $(IMAGESTORE_LDLIBS)
$(BUILD)/fuzz/fuzz_reference $(BUILD)/fuzz/fuzz_manifest: $(BUILD)/fuzz/%: tests/fuzz/%.c $(IMAGESTORE_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -DKUMO_LIBFUZZER -I. -Icommon \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $^ $(IMAGESTORE_LDLIBS)
.PHONY: fuzz-imagestore
fuzz-imagestore: $(BUILD)/fuzz/fuzz_reference $(BUILD)/fuzz/fuzz_manifest
	@mkdir -p $(BUILD)/fuzz/corpus-reference $(BUILD)/fuzz/corpus-manifest
	$(BUILD)/fuzz/fuzz_reference -max_total_time=$(FUZZ_IMAGESTORE_SECONDS) -max_len=512 \
		$(BUILD)/fuzz/corpus-reference tests/fuzz/corpus/reference
	$(BUILD)/fuzz/fuzz_manifest -max_total_time=$(FUZZ_IMAGESTORE_SECONDS) -max_len=16384 \
		$(BUILD)/fuzz/corpus-manifest tests/fuzz/corpus/manifest

# The kernel linker (tests/fuzz/fuzz_kload.c): `make fuzz-kload` (libFuzzer, ASan+UBSan,
# seeded with the pod tier's objects, tests/guest/guest.mk); `make test` replays those
# objects with truncations and byte flips through the gcc build.
FUZZ_KLOAD_SECONDS ?= 300
KLOAD_FUZZ_LIBS := $(BUILD)/host/kernel/os/kload.o $(BUILD)/host/gen/kexports.o $(LIB_HOSTED) $(LIB_COMMON)
$(BUILD)/fuzz/replay_kload: $(BUILD)/host/tests/fuzz/fuzz_kload.o $(KLOAD_FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(KLOAD_FUZZ_LIBS) $(KUMO_HOSTED_LDFLAGS) -lpthread -lm
$(BUILD)/fuzz/fuzz_kload: tests/fuzz/fuzz_kload.c kernel/os/kload.c $(KEXPORTS_C) $(RT_SRCS) \
		$(WASI_SRCS) $(HOSTED_SRCS) $(wildcard common/*.c)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -DKUMO_LIBFUZZER -I. -Icommon \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $(filter %.c,$^) \
		-Wl,--dynamic-list=kernel/hosted/exports.list -lcrypto -ldl -lpthread -lm
.PHONY: fuzz-kload
fuzz-kload: $(BUILD)/fuzz/fuzz_kload $(POD_OBJS)
	@mkdir -p $(BUILD)/fuzz/corpus-kload
	cp $(POD_OBJS) $(BUILD)/fuzz/corpus-kload/
	$(BUILD)/fuzz/fuzz_kload -max_total_time=$(FUZZ_KLOAD_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=262144 $(BUILD)/fuzz/corpus-kload

# --- every parser a stranger can reach (issue 21) -------------------------------------
# One libFuzzer program per target (clang-19, ASan+UBSan, our sources instrumented), and
# a replay program per target built by the plain toolchain for `make test`
# (tests/fuzz/replay-targets.sh runs tests/fuzz/corpus/<target> through it).
#   make fuzz-all [FUZZ_SECONDS=60] [FUZZ_TARGETS="cri tar ..."]   each target in turn,
#                                   then a table: target, runs, coverage, crashes
#   make fuzz-<target> [FUZZ_SECONDS=600]                            one of them
# Targets beyond wasm/wat/reference/manifest: cri (CRI requests against the test
# backend), tar (layers), registry (token/error bodies, headers, challenges), config
# (kumo.json), bootcfg (the kernel's boot config, hosted), cni (network configs and
# results), p9 (the kernel's 9P client and reply codec, hosted), snapshot (the snapshot
# archive reader: a file from another node, verified before a restore).
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -DKUMO_LIBFUZZER -I. -Icommon \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_COMMON := $(COMMON_SRCS)
FUZZ_NEW_TARGETS := cri tar registry config bootcfg cni p9 snapshot
FUZZ_ALL_TARGETS := wasm wat reference manifest $(FUZZ_NEW_TARGETS)

# cri: the handlers and state machine with the test backend (tests/support/fake_backend.c),
# instrumented; not the gRPC transport, the daemon or the downstream client. The real
# stages (never called: cri/backend.c constructs them) come from the plain libraries.
FUZZ_CRI_SRCS := $(filter-out cri/server.c cri/daemon.c cri/downstream.c cri/images.c \
	cri/vms.c cri/pod_network.c cri/accel_choice.c,$(CRI_LIB_SRCS)) \
	tests/support/fake_backend.c compiler/limits.c $(FUZZ_COMMON)
$(FUZZ_DIR)/fuzz_cri: tests/fuzz/fuzz_cri.c $(FUZZ_CRI_SRCS) $(CRI_PB_C) tests/fuzz/fuzz_util.h \
		$(LIB_CRI) $(CRI_BACKEND_LIBS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -Ulinux -I$(CRI_GEN_DIR) -o $@ tests/fuzz/fuzz_cri.c $(FUZZ_CRI_SRCS) \
		$(CRI_PB_C) $(LIB_CRI) $(CRI_BACKEND_LIBS) $(CRI_LDLIBS) $(CRI_BACKEND_LDLIBS) -lpthread -lm
$(BUILD)/host/tests/fuzz/fuzz_cri.o: | $(CRI_PB_H)
$(FUZZ_DIR)/replay_cri: $(BUILD)/host/tests/fuzz/fuzz_cri.o $(BUILD)/host/tests/support/fake_backend.o \
		$(CRI_TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(BUILD)/host/tests/support/fake_backend.o $(CRI_TEST_LIBS) \
		$(CRI_LDLIBS) $(CRI_BACKEND_LDLIBS) -lpthread -lm

# tar, registry: imagestore's parsers.
$(FUZZ_DIR)/fuzz_tar $(FUZZ_DIR)/fuzz_registry: $(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c \
		$(IMAGESTORE_SRCS) $(FUZZ_COMMON) tests/fuzz/fuzz_util.h
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(IMAGESTORE_SRCS) $(FUZZ_COMMON) $(IMAGESTORE_LDLIBS)
$(FUZZ_DIR)/replay_tar $(FUZZ_DIR)/replay_registry: $(FUZZ_DIR)/replay_%: \
		$(BUILD)/host/tests/fuzz/fuzz_%.o $(IMAGESTORE_TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(IMAGESTORE_TEST_LIBS) $(IMAGESTORE_LDLIBS)

# config: kumo.json.
$(FUZZ_DIR)/fuzz_config: tests/fuzz/fuzz_config.c cri/config.c compiler/limits.c $(FUZZ_COMMON)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -Ulinux -o $@ $^ -ljansson -lcrypto
$(FUZZ_DIR)/replay_config: $(BUILD)/host/tests/fuzz/fuzz_config.o $(BUILD)/host/cri/config.o \
		$(BUILD)/host/compiler/limits.o $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ -ljansson -lcrypto

# cni: vmm/cni.c's parsers (nothing is executed).
$(FUZZ_DIR)/fuzz_cni: tests/fuzz/fuzz_cni.c vmm/cni.c $(FUZZ_COMMON)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ -ljansson -lcrypto
$(FUZZ_DIR)/replay_cni: $(BUILD)/host/tests/fuzz/fuzz_cni.o $(BUILD)/host/vmm/cni.o $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ -ljansson

# bootcfg: the kernel's bootcfg.c and Debian's cJSON built hosted, allocations tracked
# (tests/fuzz/bootcfg_hosted.h).
FUZZ_BOOTCFG_FLAGS := -include tests/fuzz/bootcfg_hosted.h -I$(THIRD_PARTY)/cjson
$(FUZZ_DIR)/fuzz_bootcfg: tests/fuzz/fuzz_bootcfg.c kernel/os/bootcfg.c tests/fuzz/bootcfg_hosted.h | $(CJSON_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -c -o $@-bootcfg.o $(FUZZ_BOOTCFG_FLAGS) kernel/os/bootcfg.c
	$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_bootcfg.c $@-bootcfg.o $(CJSON_SRC)
$(BUILD)/host/fuzz/bootcfg.o: kernel/os/bootcfg.c tests/fuzz/bootcfg_hosted.h | $(CJSON_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(FUZZ_BOOTCFG_FLAGS) -c $< -o $@
$(BUILD)/host/fuzz/cJSON.o: | $(CJSON_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(HOST_CFLAGS)) -w -c $(CJSON_SRC) -o $@
$(FUZZ_DIR)/replay_bootcfg: $(BUILD)/host/tests/fuzz/fuzz_bootcfg.o $(BUILD)/host/fuzz/bootcfg.o \
		$(BUILD)/host/fuzz/cJSON.o $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ -lm

# p9: the kernel's 9P client and codec, hosted.
FUZZ_P9_SRCS := kernel/os/p9_wire.c kernel/os/p9_client.c
$(FUZZ_DIR)/fuzz_p9: tests/fuzz/fuzz_p9.c $(FUZZ_P9_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^
$(FUZZ_DIR)/replay_p9: $(BUILD)/host/tests/fuzz/fuzz_p9.o $(FUZZ_P9_SRCS:%.c=$(BUILD)/host/%.o) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^

# snapshot: vmm/archive.c (manifest, member names, digests; libarchive reads the tar).
$(FUZZ_DIR)/fuzz_snapshot: tests/fuzz/fuzz_snapshot.c vmm/archive.c $(FUZZ_COMMON)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ -larchive -ljansson -lcrypto
$(FUZZ_DIR)/replay_snapshot: $(BUILD)/host/tests/fuzz/fuzz_snapshot.o $(BUILD)/host/vmm/archive.o \
		$(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ -larchive -ljansson -lcrypto

FUZZ_REPLAYS := $(FUZZ_NEW_TARGETS:%=$(FUZZ_DIR)/replay_%)

FUZZ_BINS := $(FUZZ_DIR)/fuzz_wasm $(FUZZ_DIR)/fuzz_reference $(FUZZ_DIR)/fuzz_manifest \
	$(FUZZ_NEW_TARGETS:%=$(FUZZ_DIR)/fuzz_%) $(FUZZ_DIR)/fuzz_kload
.PHONY: fuzz-all fuzz-bins $(FUZZ_NEW_TARGETS:%=fuzz-%)
fuzz-bins: $(FUZZ_BINS)
fuzz-all: $(FUZZ_BINS) $(POD_OBJS)
	FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_KLOAD_SEEDS="$(POD_OBJS)" \
		bash tests/fuzz/fuzz-all.sh $(FUZZ_TARGETS)
$(FUZZ_NEW_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_DIR)/fuzz_%
	FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/fuzz-all.sh $*
