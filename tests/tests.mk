# tests/tests.mk - every test tier, registered here and only here. The tiers, one folder
# each:
#   unit      tests/unit/test_<name>.c (cmocka), linked with TEST_LIBS_test_<name>, run
#             twice by `make test` (plain and under ASan+UBSan); and the script checks
#             that stand beside them (freestanding build, the dependency rules)
#   fuzz      libFuzzer targets (tests/fuzz/fuzz.mk); `make test` replays their corpora
#   spectest  our own .wast suite and the text-format comparison (tests/spectest/)
#   guest     one app or payload per behaviour, booted (or run hosted), exact output and
#             exit code (tests/guest/, built by tests/guest/guest.mk)
#   e2e       kumo, kumod and the CLI end to end: CRI socket, registries, kubelet,
#             containerd, libvirt, the installer
#   bench     `make bench-*` (tests/bench/bench.mk), not part of `make test`
# beside them: tests/apps/ (the Wasm test apps), tests/linux/ (the Linux test images),
# tests/support/ (programs and fixtures the tiers use), tests/lib/ (the one shell
# library). Every script prints `N passed, N failed` last; tests/run-tests.sh adds them.
.SECONDEXPANSION:

# ---- unit -------------------------------------------------------------------------------
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(UNIT_TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: $(BUILD)/host/tests/unit/%.o $$(TEST_LIBS_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(TEST_LIBS_$*) $(TEST_LDLIBS_$*) -lcmocka -lpthread -lm

.PHONY: unit-tests test-prereqs
unit-tests: $(UNIT_TESTS)

TEST_LIBS_test_common := $(LIB_COMMON)
TEST_LDLIBS_test_common := -lcrypto
# compiler/: decoder, validator, code generator (compiles WAT, links with cc -shared,
# dlopens), text front end.
TEST_LIBS_test_decode := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_decode := $(LIBS_LLVM)
TEST_LIBS_test_validate := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_validate := $(LIBS_LLVM)
TEST_LIBS_test_compile := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_compile := $(LIBS_LLVM) -ldl -rdynamic
TEST_LIBS_test_wat := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_wat := $(LIBS_LLVM)
# The limits against hostile modules and the compile budget.
TEST_LIBS_test_limits := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_limits := $(LIBS_LLVM)
# kernel/: the runtime and WASI over a fake module written in C that follows
# compiler/abi.h; the 9P client against a fake server; the import list; the linker.
FAKEMOD_OBJ := $(BUILD)/host/tests/unit/fakemod.o
TEST_LIBS_test_rt := $(FAKEMOD_OBJ) $(LIB_HOSTED) $(LIB_COMMON)
TEST_LDLIBS_test_rt := $(KUMO_HOSTED_LDFLAGS)
TEST_LIBS_test_wasi := $(FAKEMOD_OBJ) $(LIB_HOSTED) $(LIB_COMMON)
TEST_LDLIBS_test_wasi := $(KUMO_HOSTED_LDFLAGS)
TEST_LIBS_test_wasi_sock := $(FAKEMOD_OBJ) $(LIB_HOSTED) $(LIB_COMMON)
TEST_LDLIBS_test_wasi_sock := $(KUMO_HOSTED_LDFLAGS)
TEST_LIBS_test_p9 := $(BUILD)/host/kernel/os/p9_wire.o $(BUILD)/host/kernel/os/p9_client.o
TEST_LIBS_test_kernel_imports := $(LIB_HOSTED) $(LIB_COMMON)
TEST_LDLIBS_test_kernel_imports := $(KUMO_HOSTED_LDFLAGS)
TEST_LIBS_test_kload := $(BUILD)/host/kernel/os/kload.o $(BUILD)/host/gen/kexports.o \
	$(LIB_HOSTED) $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_kload := $(KUMO_HOSTED_LDFLAGS) $(LIBS_LLVM)
# The fake module as a shared object too (test_rt and kumo-run-host.sh load it).
$(BUILD)/tests/fakemod.so: $(FAKEMOD_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -nostdlib -o $@ $<
unit-tests: $(BUILD)/tests/fakemod.so
# builder/, imagestore/
TEST_LIBS_test_builder := $(LIB_BUILDER) $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_builder := $(LIBS_LLVM) -lcrypto -ljansson -larchive
IMAGESTORE_TEST_LIBS := $(LIB_IMAGESTORE) $(LIB_COMMON)
TEST_LIBS_test_imagestore_ref := $(IMAGESTORE_TEST_LIBS)
TEST_LDLIBS_test_imagestore_ref := $(IMAGESTORE_LDLIBS)
TEST_LIBS_test_imagestore_parse := $(IMAGESTORE_TEST_LIBS)
TEST_LDLIBS_test_imagestore_parse := $(IMAGESTORE_LDLIBS)
TEST_LIBS_test_imagestore_unpack := $(IMAGESTORE_TEST_LIBS)
TEST_LDLIBS_test_imagestore_unpack := $(IMAGESTORE_LDLIBS)
TEST_LIBS_test_imagestore_store := $(IMAGESTORE_TEST_LIBS)
TEST_LDLIBS_test_imagestore_store := $(IMAGESTORE_LDLIBS)
# vmm/ (the unit tests that boot the PVH fixture find it beside them:
# $(BUILD)/tests/support/pvh-fixture.elf, below).
VMM_TEST_LIBS := $(LIB_VMM) $(LIB_COMMON)
$(foreach t,crilog xml qemu accel cni podnet stage jail archive snapshot migration,$(eval TEST_LIBS_test_vmm_$(t) := $(VMM_TEST_LIBS)))
$(foreach t,crilog xml qemu accel cni podnet stage jail archive snapshot migration,$(eval TEST_LDLIBS_test_vmm_$(t) := $(VMM_LDLIBS)))
# cri/ (the runtime on the fake stages)
CRI_TEST_LIBS := $(LIB_CRI) $(CRI_BACKEND_LIBS)
TEST_LIBS_test_cri_pbjson := $(CRI_TEST_LIBS)
TEST_LDLIBS_test_cri_pbjson := $(CRI_LDLIBS) $(CRI_BACKEND_LDLIBS)
TEST_LIBS_test_cri_downstream := $(LIB_CRI) $(LIB_COMMON)
TEST_LDLIBS_test_cri_downstream := $(CRI_LDLIBS)
TEST_LIBS_test_cri_runtime := $(BUILD)/host/tests/support/fake_backend.o $(CRI_TEST_LIBS)
TEST_LDLIBS_test_cri_runtime := $(CRI_LDLIBS) $(CRI_BACKEND_LDLIBS)
TEST_LIBS_test_cri_podnet := $(CRI_TEST_LIBS)
TEST_LDLIBS_test_cri_podnet := $(CRI_LDLIBS) $(CRI_BACKEND_LDLIBS)
TEST_LIBS_test_cri_exec := $(LIB_CRI) $(LIB_COMMON)
TEST_LDLIBS_test_cri_exec := $(CRI_LDLIBS)
TEST_LIBS_test_cri_podvm_snap := $(CRI_TEST_LIBS)
TEST_LDLIBS_test_cri_podvm_snap := $(CRI_LDLIBS) $(CRI_BACKEND_LDLIBS)
TEST_LIBS_test_cri_stream := $(BUILD)/host/tests/e2e/stream_clientlib.o $(LIB_CRI) $(LIB_COMMON)
TEST_LDLIBS_test_cri_stream := $(CRI_LDLIBS)
$(BUILD)/host/tests/unit/test_cri%.o: | $(CRI_PB_H)

# common/lazylib: a fixture library linked lazily, and one dlopen cannot find (gone/ is
# on no search path).
LAZYFIX_DIR := $(BUILD)/tests/lazylib
$(LAZYFIX_DIR)/liblazyfix.so: tests/support/lazylib_fixture.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -Wl,-soname,liblazyfix.so -o $@ $<
$(LAZYFIX_DIR)/gone/liblazygone.so: tests/support/lazylib_fixture.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -DLAZYLIB_GONE -Wl,-soname,liblazygone.so -o $@ $<
$(LAZYFIX_DIR)/stamp: $(BUILD)/host/tests/unit/test_lazylib.o $(LAZYFIX_DIR)/liblazyfix.so \
		$(LAZYFIX_DIR)/gone/liblazygone.so common/lazylib-gen.sh
	bash common/lazylib-gen.sh $(LAZYFIX_DIR) $(CC) lazyfix=$(LAZYFIX_DIR)/liblazyfix.so \
		lazygone=$(LAZYFIX_DIR)/gone/liblazygone.so -- $<
	touch $@
$(LAZYFIX_DIR)/%-stubs.o: $(LAZYFIX_DIR)/stamp
	$(CC) $(filter-out -MMD -MP,$(HOST_CFLAGS)) -c $(LAZYFIX_DIR)/$*.S -o $@
$(LAZYFIX_DIR)/%.o: $(LAZYFIX_DIR)/stamp
	$(CC) $(filter-out -MMD -MP,$(HOST_CFLAGS)) -c $(LAZYFIX_DIR)/$*.c -o $@
TEST_LIBS_test_lazylib := $(foreach i,lazyfix lazygone,$(LAZYFIX_DIR)/$(i).o $(LAZYFIX_DIR)/$(i)-stubs.o) \
	$(LIB_COMMON)
# DT_RPATH, not RUNPATH: under ASan the dlopen call comes from its interceptor, whose
# own RUNPATH would be searched; the executable's RPATH is searched for every caller.
TEST_LDLIBS_test_lazylib := -ldl -Wl,--disable-new-dtags -Wl,-rpath,$(abspath $(LAZYFIX_DIR))

UNIT_SCRIPTS := tests/unit/check-freestanding.sh tests/unit/check-deps.sh

# ---- tests/support: programs and fixtures the tiers use ------------------------------------
SUPPORT := $(BUILD)/tests/support
# The test daemon (kumod's main on the fake stages) and kumo-crictl, the small CRI client
# the end-to-end tests, deploy/ and `make demo` drive kumod with.
SUPPORT_CRI_OBJS := $(patsubst %.c,$(BUILD)/host/%.o,$(wildcard tests/support/*.c))
$(SUPPORT_CRI_OBJS): | $(CRI_PB_H)
$(BUILD)/tests/kumod-fake: $(BUILD)/host/tests/support/kumod_fake.o \
		$(BUILD)/host/tests/support/fake_backend.o $(LIB_CRI) $(CRI_BACKEND_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB_CRI) $(CRI_BACKEND_LIBS) $(CRI_LDLIBS) $(CRI_BACKEND_LDLIBS) -lpthread -lm
$(BUILD)/bin/kumo-crictl: $(BUILD)/host/tests/support/crictl.o $(LIB_CRI) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LIB_CRI) $(LIB_COMMON) $(CRI_LDLIBS) -lpthread -lm
PROGRAMS += $(BUILD)/bin/kumo-crictl
# The PVH fixture: a guest that follows its command line (vmm's unit tests and bench).
VMM_FIXTURE := $(SUPPORT)/pvh-fixture.elf
$(SUPPORT)/pvh_fixture.o: tests/support/pvh_fixture.c
	@mkdir -p $(dir $@)
	$(CLANG) --target=i686-unknown-none-elf -ffreestanding -fno-pic -fno-stack-protector -I. \
		-O2 -Wall -Wextra -Werror -mno-sse -mno-mmx -c $< -o $@
$(VMM_FIXTURE): $(SUPPORT)/pvh_fixture.o tests/support/pvh_fixture.ld
	ld -m elf_i386 -nostdlib -T tests/support/pvh_fixture.ld $< -o $@
$(BUILD)/tests/test_vmm_qemu: $(VMM_FIXTURE)
# vmm/ from the command line: boot one VM (testlib.sh's guest_boot), time, start many.
VMM_TOOL := $(SUPPORT)/vmm-tool
$(VMM_TOOL): $(BUILD)/host/tests/support/vmm_tool.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lm
# Pod networking through CNI, step by step (tests/e2e/cni-podnet.sh, bench-podnet).
PODNET_TOOL := $(SUPPORT)/podnet-tool
$(PODNET_TOOL): $(BUILD)/host/tests/support/podnet_tool.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lm
# The host side of a pod VM's control channel (tests/guest/run-pod-tests.sh).
POD_TEST_TOOL := $(SUPPORT)/kumo-podtest
$(POD_TEST_TOOL): $(BUILD)/host/tests/support/podtest.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lz -lm
# Snapshots of a VM through vmm/ (tests/e2e/snapshot.sh, make bench-snapshot).
SNAPSHOT_TOOL := $(SUPPORT)/snapshot-tool
$(SNAPSHOT_TOOL): $(BUILD)/host/tests/support/snapshot_tool.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lm
SUPPORT_PROGRAMS := $(BUILD)/tests/kumod-fake $(VMM_FIXTURE) $(VMM_TOOL) $(PODNET_TOOL) \
	$(POD_TEST_TOOL) \
	$(SNAPSHOT_TOOL)

# ---- apps: tests/apps/app_<name>.c (or .wat) -> $(BUILD)/apps/app_<name>.wasm, and the
# network apps (net_*.c) to wasm32-wasi and natively (the benchmark's peer) ------------------
WASI_CC := $(CLANG) --target=wasm32-wasi --sysroot=/usr
WASI_CFLAGS := -O2 -Wall -Wextra -Werror
APP_SRCS := $(wildcard tests/apps/app_*.c)
APP_WATS := $(wildcard tests/apps/app_*.wat)
APPS := $(APP_SRCS:tests/apps/%.c=$(BUILD)/apps/%.wasm) $(APP_WATS:tests/apps/%.wat=$(BUILD)/apps/%.wasm)
# memory.grow is tested against a declared maximum of 64 pages.
WASI_LDFLAGS_app_memgrow := -Wl,--max-memory=4194304
$(BUILD)/apps/%.wasm: tests/apps/%.c $(wildcard tests/apps/*.h)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) $(WASI_LDFLAGS_$*) $< -o $@
$(BUILD)/apps/%.wasm: tests/apps/%.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@
NET_APP_NAMES := net_httpd net_echo net_client
NET_APPS := $(NET_APP_NAMES:%=$(BUILD)/apps/%.wasm)
NET_NATIVE := $(NET_APP_NAMES:%=$(BUILD)/apps/native/%)
$(BUILD)/apps/native/net_%: tests/apps/net_%.c tests/apps/net_compat.h
	@mkdir -p $(dir $@)
	$(CLANG) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE $< -o $@
.PHONY: apps net-apps
apps: $(APPS)
net-apps: $(NET_APPS) $(NET_NATIVE)

# ---- guest --------------------------------------------------------------------------------
include tests/guest/guest.mk
GUEST_SCRIPTS := tests/guest/run-guest-tests.sh tests/guest/run-net-tests.sh \
	tests/guest/run-share-tests.sh tests/guest/run-pod-tests.sh tests/guest/run-apps.sh \
	tests/guest/run-net-apps.sh

# ---- e2e ----------------------------------------------------------------------------------
# The downstream client (cri/downstream.h) against a real containerd: a check program
# driven by tests/e2e/cri-downstream.sh, also the containerd side of `make bench-cri`.
DOWNSTREAM_CHECK := $(BUILD)/tests/e2e/kumo-downstream-check
$(BUILD)/host/tests/e2e/downstream_check.o: | $(CRI_PB_H)
$(DOWNSTREAM_CHECK): $(BUILD)/host/tests/e2e/downstream_check.o $(LIB_CRI) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LIB_CRI) $(LIB_COMMON) $(CRI_LDLIBS) -lpthread
# vmm/'s libvirt backend against a real libvirtd (cmocka, driven by vmm-libvirt.sh).
VMM_LIBVIRT_TEST := $(BUILD)/tests/e2e/vmm-libvirt-test
$(VMM_LIBVIRT_TEST): $(BUILD)/host/tests/e2e/libvirt_lifecycle.o $(LIB_VMM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(VMM_LDLIBS) -lcmocka -lm
# The streaming server's test client (kumo-stream-client, tests/e2e/stream_client*.c):
# cri-stream.sh drives exec/attach/port-forward with it; test_cri_stream links its
# library part.
STREAM_CLIENT := $(BUILD)/tests/e2e/kumo-stream-client
STREAM_CLIENTLIB_O := $(BUILD)/host/tests/e2e/stream_clientlib.o
$(BUILD)/host/tests/e2e/stream_client%.o: | $(CRI_PB_H)
$(STREAM_CLIENT): $(BUILD)/host/tests/e2e/stream_client.o $(STREAM_CLIENTLIB_O) $(LIB_CRI) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(STREAM_CLIENTLIB_O) $(LIB_CRI) $(LIB_COMMON) $(CRI_LDLIBS) -lpthread
E2E_PROGRAMS := $(DOWNSTREAM_CHECK) $(VMM_LIBVIRT_TEST) $(STREAM_CLIENT)
# The real-kubelet tier (kubelet.sh) runs when $KUBELET (or kubelet on PATH) is there,
# else skips; the one-node-cluster tier (cluster.sh) likewise with $KUBE_BIN (or the
# Kubernetes binaries on PATH) and Debian's etcd; the registry tier needs Debian's
# docker-registry, skopeo, node, python3.
E2E_SCRIPTS := tests/e2e/kumo-run-host.sh tests/e2e/kumo-cli.sh tests/e2e/kumo-start-path.sh tests/e2e/imagestore-registry.sh \
	tests/e2e/vmm-libvirt.sh tests/e2e/cni-podnet.sh tests/e2e/cri-e2e.sh \
	tests/e2e/cri-images.sh tests/e2e/cri-node.sh tests/e2e/cri-vm.sh tests/e2e/cri-net.sh \
	tests/e2e/cri-restart.sh tests/e2e/cri-pod.sh tests/e2e/cri-jail.sh tests/e2e/cri-faults.sh tests/e2e/kumo-run-net.sh tests/e2e/kumo-accel.sh \
	tests/e2e/kubelet.sh tests/e2e/kubelet-volumes.sh tests/e2e/kubelet-mixed.sh tests/e2e/cluster.sh tests/e2e/cri-downstream.sh tests/e2e/cri-mixed.sh tests/e2e/cri-stream.sh tests/e2e/deploy-install.sh \
	tests/e2e/deploy-manifests.sh tests/e2e/snapshot.sh tests/e2e/snapshot-libvirt.sh tests/e2e/migrate.sh \
	tests/e2e/ckimage.sh

# ---- fuzz, spectest -----------------------------------------------------------------------
include tests/fuzz/fuzz.mk
FUZZ_PROGRAMS := $(FUZZ_DIR)/replay_wasm $(BUILD)/fuzz/replay_reference \
	$(BUILD)/fuzz/replay_manifest $(BUILD)/fuzz/replay_kload $(FUZZ_REPLAYS)
FUZZ_SCRIPTS := tests/fuzz/run-replay.sh tests/fuzz/replay-kload.sh \
	tests/fuzz/replay-targets.sh
include tests/spectest/spectest.mk
SPECTEST_SCRIPTS := tests/spectest/run-own.sh tests/spectest/run-wat.sh

# ---- bench, the Linux test images ---------------------------------------------------------
include tests/bench/bench.mk
include tests/linux/linux.mk

# ---- make test ----------------------------------------------------------------------------
TEST_SCRIPTS := $(UNIT_SCRIPTS) $(FUZZ_SCRIPTS) $(SPECTEST_SCRIPTS) $(GUEST_SCRIPTS) $(E2E_SCRIPTS)
test-prereqs: all unit-tests apps net-apps linux-images $(SUPPORT_PROGRAMS) $(GUEST_BUILDS) \
	$(E2E_PROGRAMS) $(FUZZ_PROGRAMS) $(SPECTEST_BIN) $(WAT2BIN_BIN)

# The fault tests at the issue's sizes (tests/e2e/cri-faults.sh, FULL=1: 20 running
# ticker pods and 5 being created, kumod kill -9'd 10 times, 150 lines each; make test
# runs its fast version).
.PHONY: test-faults
test-faults: test-prereqs
	FULL=1 bash tests/run-tests.sh "" tests/e2e/cri-faults.sh

test: deps
	$(MAKE) test-prereqs
	$(MAKE) BUILD=build/asan SANITIZER=address,undefined unit-tests
	bash tests/run-tests.sh "build/tests build/asan/tests" $(TEST_SCRIPTS)
