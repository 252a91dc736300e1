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
	kernel/os/main.c kernel/os/serial.c kernel/os/exit.c kernel/os/page.c kernel/os/paging.c \
	kernel/os/heap.c kernel/os/clock.c kernel/os/random.c kernel/os/bootcfg.c \
	kernel/os/klibc.c kernel/os/kprintf.c kernel/os/ramfs.c kernel/os/plat_kernel.c \
	kernel/os/app_wasm.c kernel/os/plat_net.c kernel/os/netstack.c kernel/os/virtio.c kernel/os/virtio_net.c \
	kernel/os/virtio_9p.c kernel/os/p9_wire.c kernel/os/p9_client.c kernel/os/p9fs.c \
	kernel/os/pod_snap.c \
	kernel/os/pci.c kernel/os/kload.c kernel/os/sched.c kernel/os/kimage.c kernel/os/podrec.c \
	kernel/os/virtio_console.c kernel/os/container.c kernel/os/pod.c kernel/os/pod_stdin.c \
	kernel/os/app_run.c \
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

