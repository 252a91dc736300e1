# tests/spectest/spectest.mk - the compiler front end's tests: unit-test link lines,
# the spec-test runner (`make spectest SPEC=DIR`) and our own .wast suite in `make test`.
TEST_LIBS_test_decode := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LIBS_test_validate := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_decode := $(LIBS_LLVM)
TEST_LDLIBS_test_validate := $(LIBS_LLVM)
