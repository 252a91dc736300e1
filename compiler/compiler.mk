# compiler/compiler.mk - the Wasm -> x86-64 AOT compiler, as two libraries that differ
# only in where code is generated (compiler/codegen.h):
#   libkumo-compiler.a         front end + LLVM code generator; link with $(LIBS_LLVM)
#                              (unit tests, fuzz targets, spec tests, kumo-compile)
#   libkumo-compiler-client.a  front end + the client of the compile worker; no LLVM
#                              (kumo, kumod: a run that compiles nothing never loads it)
# and the worker program build/bin/kumo-compile.
COMPILER_PROGRAM_SRCS := compiler/compile_worker.c
COMPILER_CODEGEN_SRCS := compiler/codegen.c compiler/descriptor.c compiler/target.c \
	$(wildcard compiler/emit_*.c)
COMPILER_CLIENT_SRCS := compiler/codegen_client.c
COMPILER_FRONT_SRCS := $(filter-out $(COMPILER_PROGRAM_SRCS) $(COMPILER_CODEGEN_SRCS) \
	$(COMPILER_CLIENT_SRCS),$(wildcard compiler/*.c))
COMPILER_FRONT_OBJS := $(COMPILER_FRONT_SRCS:%.c=$(BUILD)/host/%.o)
COMPILER_OBJS := $(COMPILER_FRONT_OBJS) $(COMPILER_CODEGEN_SRCS:%.c=$(BUILD)/host/%.o)
COMPILER_CLIENT_OBJS := $(COMPILER_FRONT_OBJS) $(COMPILER_CLIENT_SRCS:%.c=$(BUILD)/host/%.o)
LIB_COMPILER := $(BUILD)/lib/libkumo-compiler.a
LIB_COMPILER_CLIENT := $(BUILD)/lib/libkumo-compiler-client.a
$(LIB_COMPILER): $(COMPILER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIB_COMPILER_CLIENT): $(COMPILER_CLIENT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# kumo_compiler_id() carries a hash of the compiler's sources (a build-cache key).
KUMO_COMPILER_SRC_ID := $(shell cat $(sort $(wildcard compiler/*.c compiler/*.h)) | sha256sum | cut -c1-16)
$(BUILD)/host/compiler/compile.o: HOST_CFLAGS += -DKUMO_COMPILER_SRC_ID='"$(KUMO_COMPILER_SRC_ID)"'
$(BUILD)/host/compiler/compile.o: $(wildcard compiler/*.c compiler/*.h)

# The compile worker kumo and kumod start for every compile (found beside them).
$(BUILD)/bin/kumo-compile: $(BUILD)/host/compiler/compile_worker.o $(LIB_COMPILER) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LIB_COMPILER) $(LIB_COMMON) $(LIBS_LLVM) -lpthread -lm
PROGRAMS += $(BUILD)/bin/kumo-compile
