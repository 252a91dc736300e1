# tests/net/net.mk - the networking apps (tests/apps/net_*.c: an HTTP server, an echo
# server, an HTTP client) built to wasm32-wasi and natively (the benchmark's peer), and
# the networking test tier. Included from tests/bench/bench.mk.
NET_APP_NAMES := net_httpd net_echo net_client
NET_APPS := $(NET_APP_NAMES:%=$(BUILD)/apps/%.wasm)
NET_NATIVE := $(NET_APP_NAMES:%=$(BUILD)/apps/native/%)
NET_APP_DEPS := tests/apps/net_compat.h

$(BUILD)/apps/net_%.wasm: tests/apps/net_%.c $(NET_APP_DEPS)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) $< -o $@

$(BUILD)/apps/native/net_%: tests/apps/net_%.c $(NET_APP_DEPS)
	@mkdir -p $(dir $@)
	$(CLANG) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE $< -o $@

.PHONY: net-apps
net-apps: $(NET_APPS) $(NET_NATIVE)
test-prereqs: net-apps

# tests/net/run-net.sh (MODE host by default): the apps under `kumo run --host` (and natively); the lead
# runs `tests/net/run-net.sh vm` once the kernel's network and `kumo run --net` are in.
TEST_SCRIPTS += tests/net/run-net.sh
