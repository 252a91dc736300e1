# builder/builder.mk - the build stage: module + container config -> bootable artifact
# (compile cache, kernel images, boot config, initrd).
BUILDER_SRCS := $(wildcard builder/*.c)
BUILDER_OBJS := $(BUILDER_SRCS:%.c=$(BUILD)/host/%.o)
LIB_BUILDER := $(BUILD)/lib/libkumo-builder.a
$(LIB_BUILDER): $(BUILDER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
KUMO_CLI_LDLIBS += -lcrypto -ljansson -larchive

TEST_LIBS_test_builder := $(LIB_BUILDER) $(LIB_COMPILER) $(LIB_COMMON)
TEST_LDLIBS_test_builder := $(LIBS_LLVM) -lcrypto -ljansson -larchive
