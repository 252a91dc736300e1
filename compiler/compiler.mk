# compiler/compiler.mk - the Wasm -> x86-64 AOT compiler (library libkumo-compiler.a).
COMPILER_SRCS := $(wildcard compiler/*.c)
COMPILER_OBJS := $(COMPILER_SRCS:%.c=$(BUILD)/host/%.o)
LIB_COMPILER := $(BUILD)/lib/libkumo-compiler.a
$(LIB_COMPILER): $(COMPILER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# kumo_compiler_id() carries a hash of the compiler's sources (a build-cache key).
KUMO_COMPILER_SRC_ID := $(shell cat $(sort $(wildcard compiler/*.c compiler/*.h)) | sha256sum | cut -c1-16)
$(BUILD)/host/compiler/compile.o: HOST_CFLAGS += -DKUMO_COMPILER_SRC_ID='"$(KUMO_COMPILER_SRC_ID)"'
$(BUILD)/host/compiler/compile.o: $(wildcard compiler/*.c compiler/*.h)
