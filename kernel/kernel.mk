# kernel/kernel.mk - the unikernel (freestanding, kernel/arch + kernel/os ->
# $(BUILD)/kernel/libkumo-kernel.a + kernel.ld, see kernel/kernel.h) and, through
# kernel/runtime.mk, the runtime shared with the hosted runner (kernel/rt, kernel/wasi,
# kernel/hosted -> libkumo-hosted.a).
include kernel/runtime.mk

# Freestanding flag set: no libc, no red zone (interrupt frames land on the current
# stack), no stack protector, static non-PIC code linked at 1 MiB; SSE stays allowed
# (the kernel enables it before any C runs, and generated code needs it anyway).
KERNEL_CC := gcc
KERNEL_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector -mno-red-zone \
	-fno-pic -fno-pie -mcmodel=small -fno-omit-frame-pointer \
	-fno-tree-loop-distribute-patterns -fno-asynchronous-unwind-tables \
	-Wall -Wextra -Werror -Wno-unused-parameter \
	-nostdinc -isystem $(shell $(KERNEL_CC) -print-file-name=include) \
	-Ikernel/os/include -I. -I$(BUILD)/third_party/cjson \
	-Ikernel/os/lwip -I$(BUILD)/third_party/lwip/src/include -MMD -MP
KERNEL_LD := ld
KERNEL_LDFLAGS := -nostdlib -static -z noexecstack -z max-page-size=4096 --no-warn-rwx-segments

KERNEL_SRCS := kernel/arch/x86_64/boot.S kernel/arch/x86_64/isr.S kernel/arch/x86_64/switch.S \
	kernel/arch/x86_64/cpu.c kernel/arch/x86_64/trap.c kernel/arch/x86_64/lapic.c \
	kernel/arch/x86_64/power.c kernel/arch/x86_64/ioapic.c \
	kernel/os/main.c kernel/os/console.c kernel/os/exit.c kernel/os/page.c kernel/os/vm.c \
	kernel/os/heap.c kernel/os/clock.c kernel/os/random.c kernel/os/bootcfg.c \
	kernel/os/klibc.c kernel/os/kprintf.c kernel/os/ramfs.c kernel/os/plat_kernel.c \
	kernel/os/app_wasm.c kernel/os/plat_net.c kernel/os/net.c kernel/os/virtio.c kernel/os/virtio_net.c \
	kernel/os/virtio_9p.c kernel/os/p9_wire.c kernel/os/p9_client.c kernel/os/p9fs.c \
	kernel/os/pci.c kernel/os/kload.c kernel/os/sched.c kernel/os/kimage.c kernel/os/podrec.c \
	kernel/os/virtio_console.c kernel/os/container.c kernel/os/pod.c kernel/os/app_run.c \
	$(RT_SRCS) $(WASI_SRCS)
KERNEL_OBJS := $(patsubst %,$(BUILD)/freestanding/%.o,$(basename $(KERNEL_SRCS))) \
	$(BUILD)/freestanding/gen/kexports.o
KERNEL_LIB := $(BUILD)/kernel/libkumo-kernel.a
KERNEL_LDS := $(BUILD)/kernel/kernel.ld

# The kernel linker's export table (kernel/os/kload.h), generated from the two lists
# that name what objects may leave undefined: compiler/abi.h's libcalls and
# kernel/kernel.h's WASI imports (kernel/gen-exports.sh). Built freestanding for the
# kernel and hosted for the linker's unit tests.
KEXPORTS_C := $(BUILD)/gen/kernel/kexports.c
$(KEXPORTS_C): kernel/gen-exports.sh compiler/abi.h kernel/kernel.h
	@mkdir -p $(dir $@)
	bash kernel/gen-exports.sh compiler/abi.h kernel/kernel.h $@
$(BUILD)/freestanding/gen/kexports.o: $(KEXPORTS_C) | $(CJSON_SRC) $(LWIP_DONE)
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/host/gen/kexports.o: $(KEXPORTS_C)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

# The kernel linker, hosted, against objects compiled in the test (tests/unit/test_kload.c).
TEST_LIBS_test_kload := $(BUILD)/host/kernel/os/kload.o $(BUILD)/host/gen/kexports.o \
	$(LIB_HOSTED) $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_kload := $(KUMO_HOSTED_LDFLAGS) $(LIBS_LLVM)

# The kernel linker as a fuzz target (tests/fuzz/fuzz_kload.c): `make fuzz-kload`
# (libFuzzer, ASan+UBSan, seeded with the pod tier's objects: tests/pod/pod.mk); `make
# test` replays those objects with truncations and byte flips through the gcc build.
FUZZ_KLOAD_SECONDS ?= 300
KLOAD_FUZZ_LIBS := $(BUILD)/host/kernel/os/kload.o $(BUILD)/host/gen/kexports.o $(LIB_HOSTED) $(LIB_COMMON)
$(BUILD)/fuzz/replay_kload: $(BUILD)/host/tests/fuzz/fuzz_kload.o $(KLOAD_FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(KLOAD_FUZZ_LIBS) $(KUMO_HOSTED_LDFLAGS) -lpthread -lm
$(BUILD)/fuzz/fuzz_kload: tests/fuzz/fuzz_kload.c kernel/os/kload.c $(KEXPORTS_C) $(RT_SRCS) \
		$(WASI_SRCS) $(filter-out kernel/hosted/run_main.c,$(HOSTED_SRCS)) $(wildcard common/*.c)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -DKUMO_LIBFUZZER -I. -Icommon \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $(filter %.c,$^) \
		-Wl,--dynamic-list=kernel/hosted/exports.list -ldl -lpthread -lm
test-prereqs: $(BUILD)/fuzz/replay_kload
TEST_SCRIPTS += tests/fuzz/replay-kload.sh

# Third-party sources from Debian's source packages, unpacked into the build tree
# (never committed).
THIRD_PARTY := $(BUILD)/third_party
LWIP_DIR := $(THIRD_PARTY)/lwip/src
LWIP_DONE := $(THIRD_PARTY)/lwip/.done
CJSON_SRC := $(THIRD_PARTY)/cjson/cJSON.c
CJSON_OBJ := $(BUILD)/freestanding/third_party/cJSON.o
$(CJSON_SRC):
	bash kernel/fetch-sources.sh cjson $(THIRD_PARTY)
.PHONY: fetch-lwip
fetch-lwip: $(LWIP_DONE)

# lwIP (NO_SYS, raw API, IPv4): the core, IPv4 and Ethernet files; configured by
# kernel/os/lwip/lwipopts.h and arch/cc.h.
LWIP_FILES := core/init.c core/def.c core/dns.c core/inet_chksum.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c \
	core/tcp_out.c core/timeouts.c core/udp.c core/ipv4/etharp.c core/ipv4/icmp.c \
	core/ipv4/ip4.c core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c netif/ethernet.c
LWIP_OBJS := $(patsubst %.c,$(BUILD)/freestanding/third_party/lwip/%.o,$(LWIP_FILES))
$(LWIP_DONE):
	bash kernel/fetch-sources.sh lwip $(THIRD_PARTY)
# lwIP is not ours either: our flags minus the warnings its code trips.
$(LWIP_OBJS): $(BUILD)/freestanding/third_party/lwip/%.o: $(LWIP_DONE) kernel/os/lwip/lwipopts.h kernel/os/lwip/arch/cc.h
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -Wno-sign-compare -Wno-unused-but-set-variable -Wno-address \
		-c $(LWIP_DIR)/$*.c -o $@

# cJSON is not ours: build it with our flags, minus the warnings its code trips.
$(CJSON_OBJ): $(CJSON_SRC)
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -Wno-sign-compare -Wno-float-equal -c $< -o $@

$(BUILD)/freestanding/%.o: %.c | $(CJSON_SRC) $(LWIP_DONE)
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/freestanding/%.o: %.S
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@

$(KERNEL_LIB): $(KERNEL_OBJS) $(CJSON_OBJ) $(LWIP_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^
$(KERNEL_LDS): kernel/arch/x86_64/kernel.ld
	@mkdir -p $(dir $@)
	cp $< $@

# The kernel alone (kernel/kernel.h KUMO_KERNEL_POD_IMAGE_PATH): no app linked in; it
# boots a pod, or links the object its initrd carries (kernel/pod_abi.h).
KERNEL_POD_IMAGE := $(BUILD)/kernel/kernel.elf
POD_MAIN_OBJ := $(BUILD)/freestanding/kernel/os/pod_main.o
$(KERNEL_POD_IMAGE): $(POD_MAIN_OBJ) $(KERNEL_LIB) $(KERNEL_LDS)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $(POD_MAIN_OBJ) $(KERNEL_LIB)

.PHONY: kernel
kernel: $(KERNEL_LIB) $(KERNEL_LDS) $(KERNEL_POD_IMAGE)
all: kernel

# Guest tests: one C payload (in place of a compiled Wasm object) linked with the
# kernel library, booted under QEMU by tests/guest/run-guest-tests.sh.
GUEST_PAYLOAD_OBJ := $(BUILD)/freestanding/tests/guest/guest_payload.o
GUEST_KERNEL := $(BUILD)/tests/guest/payload.elf
$(GUEST_KERNEL): $(GUEST_PAYLOAD_OBJ) $(KERNEL_LIB) $(KERNEL_LDS)
	@mkdir -p $(dir $@)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $(GUEST_PAYLOAD_OBJ) $(KERNEL_LIB)
test-prereqs: $(GUEST_KERNEL)
TEST_SCRIPTS += tests/guest/run-guest-tests.sh

# Network guest tests: a C payload driving the kernel's sockets, booted on microvm
# (virtio-mmio) and q35 (virtio-pci) with a tap device (tests/guest/run-net-tests.sh).
NET_PAYLOAD_OBJ := $(BUILD)/freestanding/tests/guest/net_payload.o
NET_KERNEL := $(BUILD)/tests/guest/net_payload.elf
$(NET_KERNEL): $(NET_PAYLOAD_OBJ) $(KERNEL_LIB) $(KERNEL_LDS)
	@mkdir -p $(dir $@)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $(NET_PAYLOAD_OBJ) $(KERNEL_LIB)
test-prereqs: $(NET_KERNEL)
# The Wasm network apps (tests/net/net.mk) compiled by kumo and linked with the kernel.
GUEST_NET_APPS := $(BUILD)/tests/guest/net_httpd.elf $(BUILD)/tests/guest/net_echo.elf
$(BUILD)/tests/guest/net_%.o: $(BUILD)/apps/net_%.wasm $(BUILD)/bin/kumo
	@mkdir -p $(dir $@)
	$(BUILD)/bin/kumo compile $< -o $@
$(BUILD)/tests/guest/net_%.elf: $(BUILD)/tests/guest/net_%.o $(KERNEL_LIB) $(KERNEL_LDS)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $< $(KERNEL_LIB)
test-prereqs: $(GUEST_NET_APPS)
TEST_SCRIPTS += tests/guest/run-net-tests.sh

# A real WASI app compiled by kumo and linked with the kernel library the way the
# builder will (tests/guest/wasm_probe.c, wasm32-wasi).
GUEST_WASM := $(BUILD)/tests/guest/wasm_probe.wasm
GUEST_WASM_ELF := $(BUILD)/tests/guest/wasm_probe.elf
$(GUEST_WASM): tests/guest/wasm_probe.c
	@mkdir -p $(dir $@)
	$(CLANG) --target=wasm32-wasi --sysroot=/usr -O2 -o $@ $<
$(BUILD)/tests/guest/wasm_probe.o: $(GUEST_WASM) $(BUILD)/bin/kumo
	$(BUILD)/bin/kumo compile $< -o $@
$(GUEST_WASM_ELF): $(BUILD)/tests/guest/wasm_probe.o $(KERNEL_LIB) $(KERNEL_LDS)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $< $(KERNEL_LIB)
test-prereqs: $(GUEST_WASM_ELF)

# Host shares over virtio-9p: a WASI app compiled by kumo and linked with the kernel,
# booted with QEMU -fsdev/virtio-9p on microvm and q35 (tests/guest/run-share-tests.sh).
SHARE_WASM := $(BUILD)/tests/guest/share_probe.wasm
SHARE_ELF := $(BUILD)/tests/guest/share_probe.elf
$(SHARE_WASM): tests/guest/share_probe.c
	@mkdir -p $(dir $@)
	$(CLANG) --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wextra -Werror -o $@ $<
$(BUILD)/tests/guest/share_probe.o: $(SHARE_WASM) $(BUILD)/bin/kumo
	$(BUILD)/bin/kumo compile $< -o $@
$(SHARE_ELF): $(BUILD)/tests/guest/share_probe.o $(KERNEL_LIB) $(KERNEL_LDS)
	$(KERNEL_LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $< $(KERNEL_LIB)
test-prereqs: $(SHARE_ELF)
TEST_SCRIPTS += tests/guest/run-share-tests.sh

# The 9P2000.L codec and client, built hosted against a fake server.
TEST_LIBS_test_p9 := $(BUILD)/host/kernel/os/p9_wire.o $(BUILD)/host/kernel/os/p9_client.o

# kernel.h's import list against kernel/wasi's implementations (host build).
TEST_LIBS_test_kernel_imports := $(LIB_HOSTED) $(LIB_COMMON)
TEST_LDLIBS_test_kernel_imports := $(KUMO_HOSTED_LDFLAGS)

# wasi-testsuite in the VM (not part of `make test`: it compiles ~70 modules).
.PHONY: wasi-testsuite-vm
wasi-testsuite-vm: $(BUILD)/bin/kumo $(KERNEL_LIB) $(KERNEL_LDS)
	bash tests/guest/wasi-testsuite-vm.sh $(WASI_TESTSUITE) $(BUILD)
WASI_TESTSUITE ?= /work/fetched/wasi-testsuite

# The kernel's network path measured without Wasm (boot to listening, wrk 64 KiB).
.PHONY: bench-net-kernel
bench-net-kernel: $(NET_KERNEL)
	bash tests/guest/bench-net-kernel.sh $(BUILD)

# What a host share costs against today's copy (guest clock), and its boot cost.
.PHONY: bench-share
bench-share: $(SHARE_ELF) $(BUILD)/bin/kumo
	bash tests/guest/bench-share.sh $(BUILD)
