# vmm/vmm.mk - vmm/: the VM interface (vmm.h) with its QEMU-direct and libvirt backends,
# the console pump and CRI log writer, per-pod networking; its tests and benchmark.
VMM_SRCS := $(wildcard vmm/*.c)
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/host/%.o)
LIB_VMM := $(BUILD)/lib/libkumo-vmm.a
$(LIB_VMM): $(VMM_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

CFLAGS_vmm = $(shell pkg-config --cflags libvirt libnl-route-3.0)
VMM_LDLIBS := $(shell pkg-config --libs libvirt libnl-route-3.0) -ljansson -lpthread
KUMO_CLI_LDLIBS += $(VMM_LDLIBS)

# The PVH test fixture (tests/vmm/pvh_fixture.c): a guest that follows its command line.
VMM_FIXTURE := $(BUILD)/tests/vmm/pvh-fixture.elf
$(BUILD)/tests/vmm/pvh_fixture.o: tests/vmm/pvh_fixture.c
	@mkdir -p $(dir $@)
	$(CLANG) --target=i686-unknown-none-elf -ffreestanding -fno-pic -fno-stack-protector -I. \
		-O2 -Wall -Wextra -Werror -mno-sse -mno-mmx -c $< -o $@
$(VMM_FIXTURE): $(BUILD)/tests/vmm/pvh_fixture.o tests/vmm/pvh_fixture.ld
	ld -m elf_i386 -nostdlib -T tests/vmm/pvh_fixture.ld $< -o $@

# The benchmark/driver tool (not a unit test): boots specs from the command line.
VMM_TOOL := $(BUILD)/tests/vmm/vmm-tool
$(VMM_TOOL): $(BUILD)/host/tests/vmm/vmm_tool.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lm

# Pod networking through CNI, step by step (tests/e2e/cni-podnet.sh, the setup-time
# measurement).
PODNET_TOOL := $(BUILD)/tests/vmm/podnet-tool
$(PODNET_TOOL): $(BUILD)/host/tests/vmm/podnet_tool.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lm
test-prereqs: $(PODNET_TOOL) $(BUILD)/tests/guest/net_client.elf
TEST_SCRIPTS += tests/e2e/cni-podnet.sh

VMM_TEST_LIBS := $(LIB_VMM) $(LIB_COMMON)
TEST_LIBS_test_vmm_crilog := $(VMM_TEST_LIBS)
TEST_LIBS_test_vmm_xml := $(VMM_TEST_LIBS)
TEST_LIBS_test_vmm_qemu := $(VMM_TEST_LIBS)
TEST_LDLIBS_test_vmm_qemu := $(VMM_LDLIBS)
TEST_LDLIBS_test_vmm_crilog := $(VMM_LDLIBS)
TEST_LDLIBS_test_vmm_xml := $(VMM_LDLIBS)
TEST_LIBS_test_vmm_accel := $(VMM_TEST_LIBS)
TEST_LDLIBS_test_vmm_accel := $(VMM_LDLIBS)
TEST_LIBS_test_vmm_cni := $(VMM_TEST_LIBS)
TEST_LDLIBS_test_vmm_cni := $(VMM_LDLIBS)
TEST_LIBS_test_vmm_podnet := $(VMM_TEST_LIBS)
TEST_LDLIBS_test_vmm_podnet := $(VMM_LDLIBS)
# Unit tests that boot the fixture find it next to themselves (build/tests/vmm/).
$(BUILD)/tests/test_vmm_qemu: $(VMM_FIXTURE)

test-prereqs: $(VMM_FIXTURE) $(VMM_TOOL)
VMM_LIBVIRT_TEST := $(BUILD)/tests/vmm/vmm-libvirt-test
$(VMM_LIBVIRT_TEST): $(BUILD)/host/tests/vmm/libvirt_lifecycle.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lcmocka -lm
test-prereqs: $(VMM_LIBVIRT_TEST)
TEST_SCRIPTS += tests/vmm/test-vmm-libvirt.sh

.PHONY: bench-vmm
bench-vmm: $(VMM_FIXTURE) $(VMM_TOOL)
	bash tests/vmm/bench-vmm.sh
