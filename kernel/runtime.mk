# kernel/runtime.mk - kernel/rt (instances, libcalls, traps), kernel/wasi (WASI preview1)
# and kernel/hosted (POSIX platform). RT_SRCS and WASI_SRCS are portable: the unikernel
# build compiles the same files freestanding over its own platform (kernel/os).
RT_SRCS := $(wildcard kernel/rt/*.c)
WASI_SRCS := $(wildcard kernel/wasi/*.c)
HOSTED_SRCS := $(wildcard kernel/hosted/*.c)
HOSTED_OBJS := $(patsubst %.c,$(BUILD)/host/%.o,$(RT_SRCS) $(WASI_SRCS) $(HOSTED_SRCS))
LIB_HOSTED := $(BUILD)/lib/libkumo-hosted.a
$(LIB_HOSTED): $(HOSTED_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# A program that loads compiled modules exports the runtime's entry points to them.
KUMO_HOSTED_LDFLAGS := -Wl,--dynamic-list=kernel/hosted/exports.list -ldl
KUMO_CLI_LDLIBS += $(KUMO_HOSTED_LDFLAGS)

# Unit tests: a fake module written in C that follows compiler/abi.h.
FAKEMOD_OBJ := $(BUILD)/host/tests/unit/fakemod.o
TEST_LIBS_test_rt := $(FAKEMOD_OBJ) $(LIB_HOSTED) $(LIB_COMMON)
TEST_LDLIBS_test_rt := $(KUMO_HOSTED_LDFLAGS)
TEST_LIBS_test_wasi := $(FAKEMOD_OBJ) $(LIB_HOSTED) $(LIB_COMMON)
TEST_LDLIBS_test_wasi := $(KUMO_HOSTED_LDFLAGS)

# The same fake module as a shared object and as a relocatable object for
# `kumo run --host` (tests/unit/test_rt.c and kernel/hosted/test-run-host.sh load them).
$(BUILD)/tests/fakemod.so: $(FAKEMOD_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -nostdlib -o $@ $<
unit-tests: $(BUILD)/tests/fakemod.so
TEST_SCRIPTS += kernel/hosted/test-run-host.sh

# make wasi-testsuite WASI_TESTSUITE=DIR: the WebAssembly/wasi-testsuite preview1 tests
# (a checkout of its prod/testsuite-base branch, fetched outside the repo) against
# `kumo run --host`.
.PHONY: wasi-testsuite
wasi-testsuite: $(BUILD)/bin/kumo
	@test -n "$(WASI_TESTSUITE)" || { echo "usage: make wasi-testsuite WASI_TESTSUITE=DIR" >&2; exit 2; }
	python3 kernel/hosted/wasi_testsuite.py $(BUILD)/bin/kumo $(WASI_TESTSUITE)
TEST_SCRIPTS += kernel/hosted/test-freestanding.sh
TEST_LIBS_test_wasi_sock := $(FAKEMOD_OBJ) $(LIB_HOSTED) $(LIB_COMMON)
TEST_LDLIBS_test_wasi_sock := $(KUMO_HOSTED_LDFLAGS)
