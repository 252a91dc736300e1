# common/common.mk - host-side shared helpers (never linked into the kernel).
COMMON_SRCS := common/error.c common/util.c common/sha256.c common/lazylib.c
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/host/%.o) $(BUILD)/host/common/lazylib_x86_64.o
LIB_COMMON := $(BUILD)/lib/libkumo-common.a
$(LIB_COMMON): $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
