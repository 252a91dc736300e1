# kumo - top-level Makefile. Each folder contributes <folder>/<folder>.mk with its
# source lists, libraries and programs; every test tier is registered in
# tests/tests.mk; this file holds the flag sets and the top-level targets.
#
#   make               programs into build/bin/ (kumo, kumod)
#   make test          installs what is missing, then every test tier (see tests/tests.mk)
#   make demo          the main job (see README.md)
#   make SANITIZER=address,undefined BUILD=build/asan ...   sanitized host build

BUILD ?= build
SANITIZER ?=
V ?= 0

CC := gcc
AR := ar
CLANG := clang-19
LLVM_CONFIG := llvm-config-19

# Host code: everything but the freestanding kernel.
HOST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fPIC -D_GNU_SOURCE -I. -Icommon -MMD -MP
HOST_LDFLAGS :=
ifneq ($(SANITIZER),)
HOST_CFLAGS += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
HOST_LDFLAGS += -fsanitize=$(SANITIZER)
endif

# Per-folder extra flags: CFLAGS_<top folder> is added when compiling its files.
CFLAGS_compiler = $(shell $(LLVM_CONFIG) --cflags)
LIBS_LLVM = -L$(shell $(LLVM_CONFIG) --libdir) -lLLVM-19 -Wl,-rpath,$(shell $(LLVM_CONFIG) --libdir)

.PHONY: all clean test demo deps
.DEFAULT_GOAL := all

$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(CFLAGS_$(firstword $(subst /, ,$<))) -c $< -o $@

$(BUILD)/host/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

# Every folder's list. Order matters only for variables used by later ones: the tests
# come last.
include common/common.mk
include compiler/compiler.mk
include kernel/kernel.mk
include builder/builder.mk
include imagestore/imagestore.mk
include vmm/vmm.mk
include cri/cri.mk
include deploy/deploy.mk
include tests/tests.mk

all: $(PROGRAMS)

deps:
	@bash deploy/install-deps.sh

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
