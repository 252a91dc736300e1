# compiler/compiler.mk - the Wasm -> x86-64 AOT compiler (library libkumo-compiler.a).
COMPILER_SRCS := $(wildcard compiler/*.c)
COMPILER_OBJS := $(COMPILER_SRCS:%.c=$(BUILD)/host/%.o)
LIB_COMPILER := $(BUILD)/lib/libkumo-compiler.a
$(LIB_COMPILER): $(COMPILER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# Unit test of the code generator: compiles WAT, links with cc -shared, dlopens.
TEST_LIBS_test_compile := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_compile := $(LIBS_LLVM) -ldl -rdynamic

# kumo_compiler_id() carries a hash of the compiler's sources (a build-cache key).
KUMO_COMPILER_SRC_ID := $(shell cat $(sort $(wildcard compiler/*.c compiler/*.h)) | sha256sum | cut -c1-16)
$(BUILD)/host/compiler/compile.o: HOST_CFLAGS += -DKUMO_COMPILER_SRC_ID='"$(KUMO_COMPILER_SRC_ID)"'
$(BUILD)/host/compiler/compile.o: $(wildcard compiler/*.c compiler/*.h)

# Unit test of the text format front end.
TEST_LIBS_test_wat := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_wat := $(LIBS_LLVM)

# Unit test of the limits against hostile modules and the compile budget.
TEST_LIBS_test_limits := $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_limits := $(LIBS_LLVM)
