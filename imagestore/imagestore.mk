# imagestore/imagestore.mk - OCI distribution client, content store, Wasm image formats, checkpoint images.
IMAGESTORE_SRCS := imagestore/reference.c imagestore/digest.c imagestore/manifest.c \
	imagestore/auth.c imagestore/registry.c imagestore/store.c imagestore/unpack.c \
	imagestore/records.c imagestore/pull.c imagestore/push.c imagestore/probe.c \
	imagestore/checkpoint.c
IMAGESTORE_OBJS := $(IMAGESTORE_SRCS:%.c=$(BUILD)/host/%.o)
LIB_IMAGESTORE := $(BUILD)/lib/libkumo-imagestore.a
IMAGESTORE_LDLIBS := -lcurl -larchive -ljansson -lcrypto -lpthread
$(LIB_IMAGESTORE): $(IMAGESTORE_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
KUMO_CLI_LDLIBS += $(IMAGESTORE_LDLIBS)

