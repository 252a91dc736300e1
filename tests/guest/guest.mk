# tests/guest/guest.mk - what the guest tier boots: C payloads (in place of a compiled
# Wasm object) and Wasm probe apps compiled by kumo, each linked with the kernel library;
# the objects the pod tier loads into a running pod kernel. Registered in tests/tests.mk.

# The C test payload (tests/guest/run-guest-tests.sh).
GUEST_PAYLOAD_OBJ := $(BUILD)/freestanding/tests/guest/guest_payload.o
GUEST_KERNEL := $(BUILD)/tests/guest/payload.elf
$(GUEST_KERNEL): $(GUEST_PAYLOAD_OBJ) $(KERNEL_LIB) $(KERNEL_LDS)
	@mkdir -p $(dir $@)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $(GUEST_PAYLOAD_OBJ) $(KERNEL_LIB)

# Network: a C payload driving the kernel's sockets, booted on microvm (virtio-mmio) and
# q35 (virtio-pci) with a tap device (tests/guest/run-net-tests.sh), and the Wasm network
# apps (tests/apps/net_*.c) compiled by kumo and linked with the kernel.
NET_PAYLOAD_OBJ := $(BUILD)/freestanding/tests/guest/net_payload.o
NET_KERNEL := $(BUILD)/tests/guest/net_payload.elf
$(NET_KERNEL): $(NET_PAYLOAD_OBJ) $(KERNEL_LIB) $(KERNEL_LDS)
	@mkdir -p $(dir $@)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $(NET_PAYLOAD_OBJ) $(KERNEL_LIB)
GUEST_NET_APPS := $(BUILD)/tests/guest/net_httpd.elf $(BUILD)/tests/guest/net_echo.elf \
	$(BUILD)/tests/guest/net_client.elf
$(BUILD)/tests/guest/net_%.o: $(BUILD)/apps/net_%.wasm $(BUILD)/bin/kumo
	@mkdir -p $(dir $@)
	$(BUILD)/bin/kumo compile $< -o $@
$(BUILD)/tests/guest/net_%.elf: $(BUILD)/tests/guest/net_%.o $(KERNEL_LIB) $(KERNEL_LDS)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $< $(KERNEL_LIB)

# A real WASI app compiled by kumo and linked with the kernel library the way builder/
# does (tests/guest/wasm_probe.c).
GUEST_WASM := $(BUILD)/tests/guest/wasm_probe.wasm
GUEST_WASM_ELF := $(BUILD)/tests/guest/wasm_probe.elf
$(GUEST_WASM): tests/guest/wasm_probe.c
	@mkdir -p $(dir $@)
	$(CLANG) --target=wasm32-wasi --sysroot=/usr -O2 -o $@ $<
$(BUILD)/tests/guest/wasm_probe.o: $(GUEST_WASM) $(BUILD)/bin/kumo
	$(BUILD)/bin/kumo compile $< -o $@
$(GUEST_WASM_ELF): $(BUILD)/tests/guest/wasm_probe.o $(KERNEL_LIB) $(KERNEL_LDS)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $< $(KERNEL_LIB)

# Host shares over virtio-9p (tests/guest/run-share-tests.sh): a WASI app compiled by
# kumo and linked with the kernel.
SHARE_WASM := $(BUILD)/tests/guest/share_probe.wasm
SHARE_ELF := $(BUILD)/tests/guest/share_probe.elf
$(SHARE_WASM): tests/guest/share_probe.c
	@mkdir -p $(dir $@)
	$(CLANG) --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wextra -Werror -o $@ $<
$(BUILD)/tests/guest/share_probe.o: $(SHARE_WASM) $(BUILD)/bin/kumo
	$(BUILD)/bin/kumo compile $< -o $@
$(SHARE_ELF): $(BUILD)/tests/guest/share_probe.o $(KERNEL_LIB) $(KERNEL_LDS)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $< $(KERNEL_LIB)

# A pod VM with several containers (kernel/pod_abi.h, tests/guest/run-pod-tests.sh): the
# objects the tier links into the running pod kernel (what builder/ will ship).
POD_OBJS := $(BUILD)/tests/pod/pod_probe.o $(BUILD)/tests/pod/net_httpd.o \
	$(BUILD)/tests/pod/net_client.o $(BUILD)/tests/pod/app_hello.o $(BUILD)/tests/pod/badimport.o
$(BUILD)/tests/pod/pod_probe.wasm: tests/guest/pod_probe.c
	@mkdir -p $(dir $@)
	$(CLANG) --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wextra -Werror -o $@ $<
$(BUILD)/tests/pod/badimport.wasm: tests/guest/pod_badimport.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@
$(BUILD)/tests/pod/%.o: $(BUILD)/tests/pod/%.wasm $(BUILD)/bin/kumo
	$(BUILD)/bin/kumo compile $< -o $@
$(BUILD)/tests/pod/%.o: $(BUILD)/apps/%.wasm $(BUILD)/bin/kumo
	@mkdir -p $(dir $@)
	$(BUILD)/bin/kumo compile $< -o $@

GUEST_BUILDS := $(GUEST_KERNEL) $(NET_KERNEL) $(GUEST_NET_APPS) $(GUEST_WASM_ELF) $(SHARE_ELF) \
	$(POD_OBJS) $(KERNEL_POD_IMAGE)

# wasi-testsuite in the VM (not part of `make test`: it compiles ~70 modules).
.PHONY: wasi-testsuite-vm
wasi-testsuite-vm: $(BUILD)/bin/kumo $(KERNEL_LIB) $(KERNEL_LDS)
	bash tests/guest/wasi-testsuite-vm.sh $(WASI_TESTSUITE) $(BUILD)
WASI_TESTSUITE ?= /work/fetched/wasi-testsuite
