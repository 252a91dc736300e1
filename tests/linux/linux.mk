# tests/linux/linux.mk - the Linux test images for the downstream runtime (containerd):
# kumo's own static `pause`, `webserver` and `nnp` (gcc -static), and the OCI layout
# tests/linux/build-images.sh makes from them and Debian's busybox-static, cached in
# $(BUILD)/linux-images until a source changes. Pushed by linux_images_push
# (tests/lib/containerd.sh).
LINUX_TEST_BINS := $(BUILD)/linux/pause $(BUILD)/linux/webserver $(BUILD)/linux/nnp
LINUX_IMAGES := $(BUILD)/linux-images

$(BUILD)/linux/%: tests/linux/%.c
	@mkdir -p $(dir $@)
	$(CC) -static -s -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

$(LINUX_IMAGES)/index.json: tests/linux/build-images.sh $(LINUX_TEST_BINS) $(wildcard /bin/busybox)
	bash tests/linux/build-images.sh $(LINUX_IMAGES) $(LINUX_TEST_BINS)

.PHONY: linux-images
linux-images: $(LINUX_IMAGES)/index.json
test-prereqs: linux-images
