# tests/spectest/spectest.mk - the spec-test tier's programs: the runner (`make spectest
# SPEC=DIR`, and our own .wast suite in `make test`) and kumo-wat2wasm. Registered in
# tests/tests.mk.

# The runner. With the hosted runtime (kernel/rt) in the tree it also executes: modules
# are compiled by kumo, linked with `ld -shared` and dlopen()ed, so the runner exports
# the runtime's libcalls (-rdynamic, whole archive).
SPECTEST_BIN := $(BUILD)/spectest/kumo-spectest
ifneq ($(wildcard kernel/rt/rt.h),)
SPECTEST_OBJS := $(BUILD)/spectest/spectest-exec.o $(BUILD)/host/tests/spectest/spectest_exec.o
SPECTEST_RT := -Wl,--whole-archive $(LIB_HOSTED) -Wl,--no-whole-archive
SPECTEST_DEPS := $(LIB_HOSTED)
$(BUILD)/spectest/spectest-exec.o: tests/spectest/spectest.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -DSPECTEST_EXEC -c $< -o $@
else
SPECTEST_OBJS := $(BUILD)/host/tests/spectest/spectest.o
SPECTEST_RT :=
SPECTEST_DEPS :=
endif
$(SPECTEST_BIN): $(SPECTEST_OBJS) $(LIB_COMPILER) $(LIB_COMMON) $(SPECTEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -rdynamic -o $@ $(SPECTEST_OBJS) $(SPECTEST_RT) $(LIB_COMPILER) $(LIB_COMMON) \
		$(LIBS_LLVM) -ljansson -ldl -lpthread -lm

# make spectest SPEC=DIR: every *.json (wast2json output) in DIR and its subdirectories.
# SPECTEST_FLAGS: -v lists each failure on stderr; --timeout S bounds each file (a
# loaded machine compiles slowly; a hang in generated code costs only that file).
SPECTEST_FLAGS ?= --timeout 900
.PHONY: spectest
spectest: $(SPECTEST_BIN)
	@test -n "$(SPEC)" || { echo "usage: make spectest SPEC=DIR" >&2; exit 2; }
	$(SPECTEST_BIN) $(SPECTEST_FLAGS) $(SPEC)


# kumo-wat2wasm: kumo's text front end as a command, for the comparison with wabt.
WAT2BIN_BIN := $(BUILD)/spectest/kumo-wat2wasm
$(WAT2BIN_BIN): $(BUILD)/host/tests/spectest/wat2bin.o $(LIB_COMPILER) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LIB_COMPILER) $(LIB_COMMON) $(LIBS_LLVM) -lpthread -lm
all: $(WAT2BIN_BIN)
