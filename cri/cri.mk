# cri/cri.mk - the front door: kumod (CRI v1 server) and the kumo CLI. CLI subcommands
# live in cri/cli/cli_*.c and register themselves (see cri/cli/cli.h). The test daemon and the
# kumo-crictl client are tests/support's (tests/tests.mk).

# --- CRI v1 schema: protoc-c generates C into $(BUILD)/gen at build time -------------
CRI_GEN_DIR := $(BUILD)/gen
CRI_PB_C := $(CRI_GEN_DIR)/cri/api.pb-c.c
CRI_PB_H := $(CRI_GEN_DIR)/cri/api.pb-c.h
CRI_PB_O := $(BUILD)/host/gen/cri/api.pb-c.o

$(CRI_PB_H): $(CRI_PB_C)
$(CRI_PB_C): cri/api.proto
	@mkdir -p $(CRI_GEN_DIR)
	protoc-c --c_out=$(CRI_GEN_DIR) cri/api.proto

$(CRI_PB_O): $(CRI_PB_C)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(HOST_CFLAGS)) -Ulinux -I$(CRI_GEN_DIR) -c $< -o $@

CRI_GRPC_CFLAGS := $(shell pkg-config --cflags grpc 2>/dev/null)
CRI_GRPC_LIBS := $(shell pkg-config --libs grpc 2>/dev/null)
# -Ulinux: gnu11 predefines `linux` as 1, and the CRI schema has fields named linux.
CFLAGS_cri = -Ulinux -I$(CRI_GEN_DIR) $(CRI_GRPC_CFLAGS)
CFLAGS_tests += -Ulinux -I$(CRI_GEN_DIR)
# Libraries a program linking LIB_CRI needs.
# The streaming server: libmicrohttpd (HTTP + upgrade), zlib (SPDY headers), SHA-1 and
# OpenSSL for WebSocket's handshake.
CRI_LDLIBS := $(CRI_GRPC_LIBS) -lprotobuf-c -ljansson $(shell pkg-config --libs libmicrohttpd zlib 2>/dev/null) -lcrypto

# --- libkumo-cri.a: state machine, handlers, stages, daemon, gRPC server -------------
CRI_PROGRAM_SRCS := cri/kumod.c
CRI_LIB_SRCS := $(filter-out $(CRI_PROGRAM_SRCS),$(wildcard cri/*.c))
CRI_LIB_OBJS := $(CRI_LIB_SRCS:%.c=$(BUILD)/host/%.o) $(CRI_PB_O)
LIB_CRI := $(BUILD)/lib/libkumo-cri.a

# Every cri object (and tests that include cri headers) needs the generated header.
$(CRI_LIB_SRCS:%.c=$(BUILD)/host/%.o) $(CRI_PROGRAM_SRCS:%.c=$(BUILD)/host/%.o): | $(CRI_PB_H)
$(BUILD)/host/tests/unit/test_cri%.o: | $(CRI_PB_H)

$(LIB_CRI): $(CRI_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# What the real stages link (cri/images.c, cri/pod_network.c, cri/vms.c): the tests'
# programs with the compiler in-process (LLVM), kumod with the compile worker's client
# (compiler/compiler.mk: it never loads libLLVM, build/bin/kumo-compile compiles).
CRI_BACKEND_LIBS := $(LIB_IMAGESTORE) $(LIB_BUILDER) $(LIB_VMM) $(LIB_COMPILER) $(LIB_COMMON)
CRI_BACKEND_LDLIBS := $(IMAGESTORE_LDLIBS) $(VMM_LDLIBS) $(LIBS_LLVM) -lcrypto
KUMOD_BACKEND_LIBS := $(LIB_IMAGESTORE) $(LIB_BUILDER) $(LIB_VMM) $(LIB_COMPILER_CLIENT) $(LIB_COMMON)
KUMOD_BACKEND_LDLIBS := $(IMAGESTORE_LDLIBS) $(VMM_LDLIBS) -lcrypto

$(BUILD)/bin/kumod: $(BUILD)/host/cri/kumod.o $(LIB_CRI) $(KUMOD_BACKEND_LIBS) | $(BUILD)/bin/kumo-compile
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LIB_CRI) $(KUMOD_BACKEND_LIBS) $(CRI_LDLIBS) $(KUMOD_BACKEND_LDLIBS) -lpthread -lm

PROGRAMS += $(BUILD)/bin/kumod

# --- the kumo CLI: cri/cli/ ----------------------------------------------------------
KUMO_CLI_SRCS := $(filter-out cri/cli/hostrun.c,$(wildcard cri/cli/*.c))
# accel_choice and config are shared with kumod (they live in LIB_CRI too).
KUMO_CLI_OBJS := $(KUMO_CLI_SRCS:%.c=$(BUILD)/host/%.o) $(BUILD)/host/cri/accel_choice.o \
	$(BUILD)/host/cri/config.o
# No LLVM: compiles run in build/bin/kumo-compile (compiler/compiler.mk), so `kumo run`
# of a cached app never loads libLLVM.
KUMO_CLI_LIBS := $(LIB_BUILDER) $(LIB_IMAGESTORE) $(LIB_VMM) $(LIB_HOSTED) $(LIB_COMPILER_CLIENT) $(LIB_COMMON)
# Loaded at their first call, not at start (common/lazylib.h): a cache-hit `kumo run`
# calls none of them, and linking them cost ~9 ms a process. Their stubs are generated
# from what the objects call.
KUMO_LAZY_LIBS := virt virt-qemu curl archive nl-route-3 nl-3
KUMO_LAZY_IDS := $(subst -,_,$(KUMO_LAZY_LIBS))
KUMO_LAZY_GEN := $(BUILD)/gen/lazy
KUMO_LAZY_OBJS := $(foreach i,$(KUMO_LAZY_IDS),$(BUILD)/host/gen/lazy/$(i).o $(BUILD)/host/gen/lazy/$(i)-stubs.o)
$(KUMO_LAZY_GEN)/stamp: $(KUMO_CLI_OBJS) $(KUMO_CLI_LIBS) common/lazylib-gen.sh
	bash common/lazylib-gen.sh $(KUMO_LAZY_GEN) $(CC) $(KUMO_LAZY_LIBS) -- $(KUMO_CLI_OBJS) $(KUMO_CLI_LIBS)
	touch $@
$(foreach i,$(KUMO_LAZY_IDS),$(KUMO_LAZY_GEN)/$(i).c $(KUMO_LAZY_GEN)/$(i).S): $(KUMO_LAZY_GEN)/stamp
$(BUILD)/host/gen/lazy/%-stubs.o: $(KUMO_LAZY_GEN)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(HOST_CFLAGS)) -c $< -o $@
$(BUILD)/host/gen/lazy/%.o: $(KUMO_LAZY_GEN)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(HOST_CFLAGS)) -c $< -o $@
$(BUILD)/bin/kumo: $(KUMO_CLI_OBJS) $(KUMO_CLI_LIBS) $(KUMO_LAZY_OBJS) | $(BUILD)/bin/kumo-compile
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $(KUMO_CLI_OBJS) $(KUMO_LAZY_OBJS) $(KUMO_CLI_LIBS) \
		$(filter-out $(KUMO_LAZY_LIBS:%=-l%),$(KUMO_CLI_LDLIBS)) -ldl -lpthread -lm
PROGRAMS += $(BUILD)/bin/kumo

# kumo-hostrun: `kumo run --host` without the compiler (precompiled .o/.so only).
HOSTRUN := $(BUILD)/bin/kumo-hostrun
$(HOSTRUN): $(BUILD)/host/cri/cli/hostrun.o $(BUILD)/host/cri/cli/cli_run_args.o $(LIB_HOSTED) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(KUMO_HOSTED_LDFLAGS) -lpthread
PROGRAMS += $(HOSTRUN)

