# compiler/compiler.mk - the Wasm -> x86-64 AOT compiler (library libkumo-compiler.a).
COMPILER_SRCS := $(wildcard compiler/*.c)
COMPILER_OBJS := $(COMPILER_SRCS:%.c=$(BUILD)/host/%.o)
LIB_COMPILER := $(BUILD)/lib/libkumo-compiler.a
$(LIB_COMPILER): $(COMPILER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
