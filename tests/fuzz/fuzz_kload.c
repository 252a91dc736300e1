/* tests/fuzz/fuzz_kload.c - fuzz target for the kernel linker (kernel/os/kload.c, built
 * hosted): any input must link or be refused with a message, never read or write out of
 * bounds (ASan+UBSan) or leave memory mapped. Images go near the exports, as in the
 * kernel, so inputs reach relocation and descriptor checking. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"
#include "kernel/os/kload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int maps;

static void *map_near(void *ctx, size_t len)
{
	(void)ctx;
	uintptr_t anchor = (uintptr_t)&kumo_trap & ~(uintptr_t)0xfff;
	for (uintptr_t d = 64ull << 20; d < (1ull << 30); d += 64ull << 20) {
		void *p = mmap((void *)(anchor - d), len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != MAP_FAILED) {
			maps++;
			return p;
		}
	}
	return NULL;
}

static int protect(void *ctx, void *addr, size_t len, int exec)
{
	(void)ctx;
	return mprotect(addr, len, PROT_READ | (exec ? PROT_EXEC : 0));
}

static void unmap(void *ctx, void *addr, size_t len)
{
	(void)ctx;
	maps--;
	munmap(addr, len);
}

static const char *cpu_missing(void *ctx, const char *cpu)
{
	(void)ctx;
	return strcmp(cpu, "x86-64-v4") == 0 ? "avx512f" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kload_env env = {.map = map_near, .protect = protect, .unmap = unmap,
				.cpu_missing = cpu_missing, .exports = kload_kernel_exports,
				.nexports = kload_kernel_nexports};
	/* The kernel hands the linker an 8-byte aligned buffer; so does this. */
	uint64_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct kload_image *img = NULL;
	char err[256];
	if (kload_link((const uint8_t *)buf, size, &env, &img, err, sizeof(err)) == 0)
		kload_free(&env, img);
	else if (strncmp(err, "object: ", 8) != 0 && strncmp(err, "unsupported import", 18) != 0)
		abort(); /* every refusal says what it is about */
	if (maps != 0)
		abort(); /* nothing stays mapped */
	free(buf);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
