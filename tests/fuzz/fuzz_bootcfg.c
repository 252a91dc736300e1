/* tests/fuzz/fuzz_bootcfg.c - fuzz target for the boot config as the kernel reads it:
 * kernel/os/bootcfg.c built hosted with Debian's cJSON (the same sources the kernel
 * links), fed an initrd through a PVH start_info as QEMU would hand it. The kernel
 * panics on a config it cannot use (the host wrote it: that is its contract); here a
 * panic returns to the harness, which checks it carried a message. Whatever the parse
 * allocated goes through a tracking allocator and is freed after each input.
 *
 * Input: first byte even -> the rest is the config JSON inside a valid initrd header;
 * odd -> the rest is the whole initrd (header included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/os/kos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- tracking allocator: every live block is on one list ---- */
struct blk {
	struct blk *prev, *next;
};
static struct blk live = {&live, &live};

void *fz_malloc(size_t n);
void *fz_calloc(size_t n, size_t size);
void fz_free(void *p);

void *fz_malloc(size_t n)
{
	struct blk *b = malloc(sizeof(*b) + n);
	if (!b)
		return NULL;
	b->next = live.next;
	b->prev = &live;
	live.next->prev = b;
	live.next = b;
	return b + 1;
}

void *fz_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = fz_malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void fz_free(void *p)
{
	if (!p)
		return;
	struct blk *b = (struct blk *)p - 1;
	b->prev->next = b->next;
	b->next->prev = b->prev;
	free(b);
}

static void free_all(void)
{
	while (live.next != &live)
		fz_free(live.next + 1);
}

/* ---- what bootcfg.c needs from the rest of the kernel ---- */
static jmp_buf panicked;
static char panic_msg[256];

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	longjmp(panicked, 1);
}

static size_t seeded;
void random_init(const void *seed, size_t n)
{
	if (n > 64)
		abort();
	seeded = n;
}

/* bootcfg_init on si: true when it returned, false when it panicked (with a message). */
static bool parse(const struct kumo_hvm_start_info *si)
{
	memset(&kumo_bootcfg, 0, sizeof(kumo_bootcfg));
	panic_msg[0] = 0;
	if (setjmp(panicked) == 0) {
		bootcfg_init(si);
		return true;
	}
	if (!panic_msg[0])
		abort();
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;
	size_t len;
	if (size && (data[0] & 1)) {
		len = size - 1;
		img = malloc(len ? len : 1);
		memcpy(img, data + 1, len);
	} else {
		size_t json = size ? size - 1 : 0;
		struct kumo_initrd_header h = {.version = KUMO_BOOT_ABI_VERSION,
					       .header_size = sizeof(h),
					       .config_offset = sizeof(h),
					       .config_size = json};
		memcpy(h.magic, KUMO_INITRD_MAGIC, 8);
		len = sizeof(h) + json;
		img = malloc(len);
		memcpy(img, &h, sizeof(h));
		if (json)
			memcpy(img + sizeof(h), data + 1, json);
	}
	struct kumo_hvm_modlist_entry mod = {.paddr = (uintptr_t)img, .size = len};
	struct kumo_hvm_start_info si = {.magic = KUMO_HVM_START_MAGIC, .nr_modules = 1,
					 .modlist_paddr = (uintptr_t)&mod};
	if (parse(&si)) {
		struct kumo_bootcfg *c = &kumo_bootcfg;
		/* What the rest of the kernel relies on after a parse. */
		if (!c->argv || !c->envp || c->argc < 0 || c->envc < 0)
			abort();
		for (int i = 0; i < c->argc; i++)
			if (!c->argv[i])
				abort();
		if (c->argv[c->argc] || c->envp[c->envc])
			abort();
		for (int i = 0; i < c->npreopens; i++)
			if (!c->preopens[i].guest || !c->preopens[i].path)
				abort();
		for (int i = 0; i < c->nmounts; i++)
			if (!c->mounts[i].path || c->mounts[i].path[0] != '/' || !c->mounts[i].share)
				abort();
		if (c->stack_size < 65536 || c->stack_size > (256ull << 20))
			abort();
		if (c->net.present && (c->net.prefix < 0 || c->net.prefix > 32 || c->net.ndns > 2))
			abort();
		if (c->rootfs && (c->rootfs < img || c->rootfs + c->rootfs_size > img + len))
			abort();
	}
	free_all();
	free(img);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "common.h"
#include "tests/fuzz/fuzz_replay_main.h"
#endif
