# imagestore/imagestore.mk - OCI distribution client, content store, Wasm image formats.
IMAGESTORE_SRCS := imagestore/reference.c imagestore/digest.c imagestore/manifest.c \
	imagestore/auth.c imagestore/registry.c imagestore/store.c imagestore/unpack.c \
	imagestore/records.c imagestore/pull.c imagestore/push.c imagestore/probe.c
IMAGESTORE_OBJS := $(IMAGESTORE_SRCS:%.c=$(BUILD)/host/%.o)
LIB_IMAGESTORE := $(BUILD)/lib/libkumo-imagestore.a
IMAGESTORE_LDLIBS := -lcurl -larchive -ljansson -lcrypto -lpthread
$(LIB_IMAGESTORE): $(IMAGESTORE_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
KUMO_CLI_LDLIBS += $(IMAGESTORE_LDLIBS)

# Integration tests against a real registry (docker-registry, skopeo, node, python3).
TEST_SCRIPTS += tests/registry/test-registry.sh

IMAGESTORE_TEST_LIBS := $(LIB_IMAGESTORE) $(LIB_COMMON)
TEST_LIBS_test_imagestore_ref := $(IMAGESTORE_TEST_LIBS)
TEST_LDLIBS_test_imagestore_ref := $(IMAGESTORE_LDLIBS)
TEST_LIBS_test_imagestore_parse := $(IMAGESTORE_TEST_LIBS)
TEST_LDLIBS_test_imagestore_parse := $(IMAGESTORE_LDLIBS)
TEST_LIBS_test_imagestore_unpack := $(IMAGESTORE_TEST_LIBS)
TEST_LDLIBS_test_imagestore_unpack := $(IMAGESTORE_LDLIBS)
TEST_LIBS_test_imagestore_store := $(IMAGESTORE_TEST_LIBS)
TEST_LDLIBS_test_imagestore_store := $(IMAGESTORE_LDLIBS)

# Fuzz targets: reference parsing and manifest/index/config parsing.
#   make fuzz-imagestore [FUZZ_SECONDS=60]   libFuzzer (clang-19, ASan+UBSan)
#   make test                                replays tests/fuzz/corpus/{reference,manifest}
FUZZ_IMAGESTORE_SECONDS ?= 60
IMAGESTORE_FUZZ_SRCS := $(IMAGESTORE_SRCS) common/error.c common/util.c common/sha256.c
$(BUILD)/fuzz/replay_reference: $(BUILD)/host/tests/fuzz/fuzz_reference.o $(IMAGESTORE_TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(IMAGESTORE_TEST_LIBS) $(IMAGESTORE_LDLIBS)
$(BUILD)/fuzz/replay_manifest: $(BUILD)/host/tests/fuzz/fuzz_manifest.o $(IMAGESTORE_TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(IMAGESTORE_TEST_LIBS) $(IMAGESTORE_LDLIBS)
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
test-prereqs: $(BUILD)/fuzz/replay_reference $(BUILD)/fuzz/replay_manifest
TEST_SCRIPTS += tests/fuzz/replay-imagestore.sh

# make bench-pull [RUNS=5] [FORMAT=image|artifact]: kumo pull vs skopeo copy, 20 and 100 MiB.
.PHONY: bench-pull
bench-pull: $(BUILD)/bin/kumo
	KUMO=$(abspath $(BUILD)/bin/kumo) bash tests/registry/bench-pull.sh
