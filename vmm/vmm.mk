# vmm/vmm.mk - vmm/: the VM interface (vmm.h) with its QEMU-direct and libvirt backends,
# the console pump and CRI log writer, per-pod networking (its tests: tests/tests.mk).
VMM_SRCS := $(wildcard vmm/*.c)
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/host/%.o)
LIB_VMM := $(BUILD)/lib/libkumo-vmm.a
$(LIB_VMM): $(VMM_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

CFLAGS_vmm = $(shell pkg-config --cflags libvirt libvirt-qemu libnl-route-3.0)
VMM_LDLIBS := $(shell pkg-config --libs libvirt libvirt-qemu libnl-route-3.0) -ljansson -larchive -lcrypto -lpthread
KUMO_CLI_LDLIBS += $(VMM_LDLIBS)

