# tests/pod/pod.mk - a pod VM with several containers (kernel/pod_abi.h): the host tool
# that speaks the control channel and reads the record stream (tests/pod/podtest.c), the
# probe app, the objects, and the tier (tests/pod/run-pod-tests.sh).
POD_TEST_TOOL := $(BUILD)/tests/pod/kumo-podtest
$(POD_TEST_TOOL): $(BUILD)/host/tests/pod/podtest.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lz -lm

# Objects the tier links into the running pod kernel (what builder/ will ship).
POD_OBJS := $(BUILD)/tests/pod/pod_probe.o $(BUILD)/tests/pod/net_httpd.o \
	$(BUILD)/tests/pod/net_client.o $(BUILD)/tests/pod/app_hello.o $(BUILD)/tests/pod/badimport.o
$(BUILD)/tests/pod/pod_probe.wasm: tests/pod/pod_probe.c
	@mkdir -p $(dir $@)
	$(CLANG) --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wextra -Werror -o $@ $<
$(BUILD)/tests/pod/badimport.wasm: tests/pod/badimport.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@
$(BUILD)/tests/pod/%.o: $(BUILD)/tests/pod/%.wasm $(BUILD)/bin/kumo
	$(BUILD)/bin/kumo compile $< -o $@
$(BUILD)/tests/pod/%.o: $(BUILD)/apps/%.wasm $(BUILD)/bin/kumo
	@mkdir -p $(dir $@)
	$(BUILD)/bin/kumo compile $< -o $@

test-prereqs: $(POD_TEST_TOOL) $(POD_OBJS) $(KERNEL_POD_IMAGE)
TEST_SCRIPTS += tests/pod/run-pod-tests.sh

# make fuzz-kload [FUZZ_KLOAD_SECONDS=300]: the kernel linker under libFuzzer, seeded with
# these objects (the target and its replay are in kernel/kernel.mk).
.PHONY: fuzz-kload
fuzz-kload: $(BUILD)/fuzz/fuzz_kload $(POD_OBJS)
	@mkdir -p $(BUILD)/fuzz/corpus-kload
	cp $(POD_OBJS) $(BUILD)/fuzz/corpus-kload/
	$(BUILD)/fuzz/fuzz_kload -max_total_time=$(FUZZ_KLOAD_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=262144 $(BUILD)/fuzz/corpus-kload
