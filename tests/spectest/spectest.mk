# tests/spectest/spectest.mk - the compiler front end's tests: unit-test link lines,
# the spec-test runner (`make spectest SPEC=DIR`) and our own .wast suite in `make test`.
TEST_LIBS_test_decode := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LIBS_test_validate := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_decode := $(LIBS_LLVM)
TEST_LDLIBS_test_validate := $(LIBS_LLVM)

# The runner. Phase B (execution) links the hosted runtime as well.
SPECTEST_BIN := $(BUILD)/spectest/kumo-spectest
SPECTEST_OBJS := $(BUILD)/host/tests/spectest/spectest.o
$(SPECTEST_BIN): $(SPECTEST_OBJS) $(LIB_COMPILER) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $(SPECTEST_OBJS) $(LIB_COMPILER) $(LIB_COMMON) $(LIBS_LLVM) -ljansson -lpthread -lm

# make spectest SPEC=DIR: every *.json (wast2json output) in DIR and its subdirectories.
.PHONY: spectest
spectest: $(SPECTEST_BIN)
	@test -n "$(SPEC)" || { echo "usage: make spectest SPEC=DIR" >&2; exit 2; }
	$(SPECTEST_BIN) $(SPECTEST_FLAGS) $(SPEC)

# Our own .wast suite (tests/spectest/wast/), converted at test time, in `make test`.
test-prereqs: $(SPECTEST_BIN)
TEST_SCRIPTS += tests/spectest/run-own.sh
