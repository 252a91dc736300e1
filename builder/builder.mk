# builder/builder.mk - image + config -> bootable artifact; today: the compile cache.
BUILDER_SRCS := $(wildcard builder/*.c)
BUILDER_OBJS := $(BUILDER_SRCS:%.c=$(BUILD)/host/%.o)
LIB_BUILDER := $(BUILD)/lib/libkumo-builder.a
$(LIB_BUILDER): $(BUILDER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
KUMO_CLI_LDLIBS += -lcrypto

TEST_LIBS_test_builder := $(LIB_BUILDER) $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_builder := $(LIBS_LLVM) -lcrypto
