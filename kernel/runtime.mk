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

