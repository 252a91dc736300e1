# tests/tests.mk - test tiers. Unit tests are tests/unit/test_<name>.c (cmocka), linked
# with TEST_LIBS_test_<name> (set in the folder's own .mk next to the code it tests).
# Other tiers append a script to TEST_SCRIPTS; each script prints `N passed, N failed`.
# `make test` runs the unit tests twice (plain and under ASan+UBSan), then the scripts,
# and tests/run-tests.sh prints the closing `N passed, N failed` over all of them.
.SECONDEXPANSION:

TEST_LIBS_test_common := $(LIB_COMMON)
TEST_LDLIBS_test_common := -lcrypto

UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(UNIT_TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: $(BUILD)/host/tests/unit/%.o $$(TEST_LIBS_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(TEST_LIBS_$*) $(TEST_LDLIBS_$*) -lcmocka -lpthread -lm

.PHONY: unit-tests test-prereqs
unit-tests: $(UNIT_TESTS)

# tests/support: the test daemon (kumod's main on the fake stages) and kumo-crictl, the
# small CRI client the end-to-end tests, deploy/ and `make demo` drive kumod with.
SUPPORT_OBJS := $(patsubst %.c,$(BUILD)/host/%.o,$(wildcard tests/support/*.c))
$(SUPPORT_OBJS): | $(CRI_PB_H)
$(BUILD)/tests/kumod-fake: $(BUILD)/host/tests/support/kumod_fake.o \
		$(BUILD)/host/tests/support/fake_backend.o $(LIB_CRI) $(CRI_BACKEND_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB_CRI) $(CRI_BACKEND_LIBS) $(CRI_LDLIBS) $(CRI_BACKEND_LDLIBS) -lpthread -lm
$(BUILD)/bin/kumo-crictl: $(BUILD)/host/tests/support/crictl.o $(LIB_CRI) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LIB_CRI) $(LIB_COMMON) $(CRI_LDLIBS) -lpthread -lm
PROGRAMS += $(BUILD)/bin/kumo-crictl
test-prereqs: $(BUILD)/tests/kumod-fake

# Guest test apps: tests/apps/app_<name>.c (or .wat, for what C cannot express) ->
# $(BUILD)/apps/app_<name>.wasm, run by
# tests/apps/run-apps.sh under every runner present (node, kumo run --host, kumo run).
WASI_CC := $(CLANG) --target=wasm32-wasi --sysroot=/usr
WASI_CFLAGS := -O2 -Wall -Wextra -Werror
APP_SRCS := $(wildcard tests/apps/app_*.c)
APP_WATS := $(wildcard tests/apps/app_*.wat)
APPS := $(APP_SRCS:tests/apps/%.c=$(BUILD)/apps/%.wasm) $(APP_WATS:tests/apps/%.wat=$(BUILD)/apps/%.wasm)
# memory.grow is tested against a declared maximum of 64 pages.
WASI_LDFLAGS_app_memgrow := -Wl,--max-memory=4194304

$(BUILD)/apps/%.wasm: tests/apps/%.c $(wildcard tests/apps/*.h)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) $(WASI_LDFLAGS_$*) $< -o $@

$(BUILD)/apps/%.wasm: tests/apps/%.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@

.PHONY: apps
apps: $(APPS)
TEST_SCRIPTS += tests/apps/run-apps.sh

include tests/bench/bench.mk
include tests/pod/pod.mk
include tests/linux/linux.mk

# Everything the non-unit tiers need built (folders append to it).
test-prereqs: all unit-tests apps

test: deps
	$(MAKE) test-prereqs
	$(MAKE) BUILD=build/asan SANITIZER=address,undefined unit-tests
	bash tests/run-tests.sh "build/tests build/asan/tests" $(TEST_SCRIPTS)

# Tiers owned by the compiler front end.
include tests/spectest/spectest.mk
-include tests/fuzz/fuzz.mk
