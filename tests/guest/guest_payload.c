/* tests/guest/guest_payload.c - a C stand-in for a compiled Wasm app: argv[1] picks the kernel behaviour to exercise (see run-guest-tests.sh). */
#include <stdlib.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/kernel.h"
#include "kernel/os/kos.h"
#include "compiler/abi.h"

static void out(const char *s) { kcons_write(KCONS_STDOUT, s, strlen(s)); }

/* Deep enough to run off any stack the config can ask for (the limit is opaque to
 * the compiler, so it cannot call this infinite). */
static volatile uint64_t recurse_limit = ~0ull;
__attribute__((noinline)) static uint64_t recurse(uint64_t n)
{
	volatile uint8_t frame[512];
	frame[0] = (uint8_t)n;
	if (n >= recurse_limit)
		return 0;
	return recurse(n + 1) + frame[0];
}

static int cmd_sleep(uint64_t ms)
{
	uint64_t ticks0 = kumo_timer_ticks;
	uint64_t t0 = clock_monotonic_ns();
	clock_sleep_ns(ms * 1000000ull);
	uint64_t t1 = clock_monotonic_ns();
	kprintf(KCONS_STDOUT, "slept at least %llu ms: %s\n", (unsigned long long)ms,
		t1 - t0 >= ms * 1000000ull ? "yes" : "no");
	kprintf(KCONS_STDOUT, "woken by the timer: %s\n", kumo_timer_ticks > ticks0 ? "yes" : "no");
	klog("sleep %llu ms took %llu us, %llu timer interrupts", (unsigned long long)ms,
	     (unsigned long long)((t1 - t0) / 1000), (unsigned long long)(kumo_timer_ticks - ticks0));
	return 0;
}

int kumo_app_main(void)
{
	int argc = kumo_bootcfg.argc;
	char **argv = kumo_bootcfg.argv;
	const char *cmd = argc > 1 ? argv[1] : "hello";
	const char *arg = argc > 2 ? argv[2] : "0";

	if (strcmp(cmd, "hello") == 0) {
		out("hello from the kumo kernel\n");
		return 0;
	}
	if (strcmp(cmd, "exit") == 0)
		return (int)strtoll(arg, NULL, 10);
	if (strcmp(cmd, "stderr") == 0) {
		out("to stdout\n");
		kcons_write(KCONS_STDERR, "to stderr\n", 10);
		return 3;
	}
	if (strcmp(cmd, "args") == 0) {
		for (int i = 0; i < argc; i++)
			kprintf(KCONS_STDOUT, "arg %d: %s\n", i, argv[i]);
		for (int i = 0; i < kumo_bootcfg.envc; i++)
			kprintf(KCONS_STDOUT, "env %d: %s\n", i, kumo_bootcfg.envp[i]);
		for (int i = 0; i < kumo_bootcfg.npreopens; i++)
			kprintf(KCONS_STDOUT, "preopen %d: %s -> %s%s\n", i, kumo_bootcfg.preopens[i].guest,
				kumo_bootcfg.preopens[i].path, kumo_bootcfg.preopens[i].readonly ? " (ro)" : "");
		kprintf(KCONS_STDOUT, "stack %llu\n", (unsigned long long)kumo_bootcfg.stack_size);
		kprintf(KCONS_STDOUT, "rootfs %llu bytes\n", (unsigned long long)kumo_bootcfg.rootfs_size);
		return 0;
	}
	if (strcmp(cmd, "memory") == 0) {
		/* One Wasm page committed: its last byte works, the next one traps. */
		if (vm_wasm_commit(KUMO_WASM_PAGE_SIZE) < 0)
			return 1;
		volatile uint8_t *m = vm_wasm_base();
		m[KUMO_WASM_PAGE_SIZE - 1] = 7;
		kprintf(KCONS_STDOUT, "last byte %d\n", m[KUMO_WASM_PAGE_SIZE - 1]);
		return m[KUMO_WASM_PAGE_SIZE + (uint64_t)strtoll(arg, NULL, 0)];
	}
	if (strcmp(cmd, "grow") == 0) {
		/* Grow one Wasm page at a time until RAM runs out; every page is usable. */
		uint64_t pages = 0;
		while (vm_wasm_commit((pages + 1) * KUMO_WASM_PAGE_SIZE) == 0) {
			vm_wasm_base()[pages * KUMO_WASM_PAGE_SIZE + 1] = 1;
			pages++;
		}
		uint64_t ram_mib = page_total_count() * PAGE_SIZE >> 20;
		kprintf(KCONS_STDOUT, "grew to %s of RAM, then refused\n",
			pages * 64 >= ram_mib * 1024 / 2 && pages * 64 <= ram_mib * 1024 ? "most" : "an unexpected part");
		klog("grew to %llu pages with %llu MiB RAM", (unsigned long long)pages, (unsigned long long)ram_mib);
		return 0;
	}
	if (strcmp(cmd, "stack") == 0)
		return (int)recurse(0);
	if (strcmp(cmd, "null") == 0)
		return *(volatile int *)(uintptr_t)strtoll(arg, NULL, 0);
	if (strcmp(cmd, "ud2") == 0)
		__asm__ volatile("ud2");
	if (strcmp(cmd, "trap") == 0)
		ktrap((uint32_t)strtoll(arg, NULL, 10));
	if (strcmp(cmd, "sleep") == 0)
		return cmd_sleep((uint64_t)strtoll(arg, NULL, 10));
	if (strcmp(cmd, "clock") == 0) {
		uint64_t rt = clock_realtime_ns() / 1000000000ull;
		/* 2020-01-01 .. 2100-01-01 */
		kprintf(KCONS_STDOUT, "realtime plausible: %s\n", rt > 1577836800ull && rt < 4102444800ull ? "yes" : "no");
		uint64_t a = clock_monotonic_ns(), b = clock_monotonic_ns();
		kprintf(KCONS_STDOUT, "monotonic: %s\n", b >= a ? "yes" : "no");
		uint8_t r1[32], r2[32];
		random_get(r1, sizeof(r1));
		random_get(r2, sizeof(r2));
		kprintf(KCONS_STDOUT, "random differs: %s\n", memcmp(r1, r2, sizeof(r1)) ? "yes" : "no");
		return 0;
	}
	if (strcmp(cmd, "heap") == 0) {
		/* Allocate and free a spread of sizes twice; usage returns to where it was. */
		uint64_t before = heap_bytes_in_use();
		for (int round = 0; round < 2; round++) {
			void *p[64];
			for (int i = 0; i < 64; i++) {
				p[i] = malloc((size_t)i * 997 + 1);
				if (!p[i])
					return 1;
				memset(p[i], i, (size_t)i * 997 + 1);
			}
			for (int i = 0; i < 64; i++)
				free(p[i]);
		}
		kprintf(KCONS_STDOUT, "heap balanced: %s\n", heap_bytes_in_use() == before ? "yes" : "no");
		return 0;
	}
	kprintf(KCONS_STDERR, "unknown command `%s`\n", cmd);
	return 2;
}
