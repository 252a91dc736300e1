# tests/fuzz/fuzz.mk - fuzz targets for the Wasm front end (binary and text: kumo_validate()
# takes both, so the one target covers the WAT parser; `make fuzz-wat` seeds it with text).
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

test-prereqs: $(FUZZ_DIR)/replay_wasm
TEST_SCRIPTS += tests/fuzz/run-replay.sh

# The same target seeded with text modules only (WAT parser first, then the front end).
.PHONY: fuzz-wat
fuzz-wat: $(FUZZ_DIR)/fuzz_wasm
	@mkdir -p $(FUZZ_DIR)/corpus-wat
	$(FUZZ_DIR)/fuzz_wasm -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=16384 -only_ascii=1 -dict=tests/fuzz/wat.dict $(FUZZ_DIR)/corpus-wat tests/fuzz/corpus/wat
