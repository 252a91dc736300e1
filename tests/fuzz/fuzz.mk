# tests/fuzz/fuzz.mk - the fuzz tier's programs (registered in tests/tests.mk). The Wasm
# front end (binary and text: kumo_validate() takes both, so the one target covers the
# WAT parser; `make fuzz-wat` seeds it with text), the image store's parsers, the kernel
# linker.
#   make fuzz [FUZZ_SECONDS=600]   libFuzzer (clang-19, ASan+UBSan) over decode+validate+compile,
#                                  seeded with SIMD modules and tests/fuzz/wasm.dict (every 0xfd op)
#   make test                      replays tests/fuzz/corpus/wasm through a gcc build
FUZZ_SECONDS ?= 600
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_FRONT_SRCS := $(wildcard compiler/*.c) \
	$(wildcard common/*.c)
FUZZ_FLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -Icommon -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all $(shell $(LLVM_CONFIG) --cflags)

$(FUZZ_DIR)/fuzz_wasm: tests/fuzz/fuzz_wasm.c $(FUZZ_FRONT_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_wasm.c $(FUZZ_FRONT_SRCS) $(LIBS_LLVM) -lpthread -lm

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
		-Wl,--dynamic-list=kernel/hosted/exports.list -ldl -lpthread -lm
.PHONY: fuzz-kload
fuzz-kload: $(BUILD)/fuzz/fuzz_kload $(POD_OBJS)
	@mkdir -p $(BUILD)/fuzz/corpus-kload
	cp $(POD_OBJS) $(BUILD)/fuzz/corpus-kload/
	$(BUILD)/fuzz/fuzz_kload -max_total_time=$(FUZZ_KLOAD_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=262144 $(BUILD)/fuzz/corpus-kload
