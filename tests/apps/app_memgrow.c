/* tests/apps/app_memgrow.c - guest test app: memory.grow up to the declared maximum (linked with --max-memory=4 MiB) and past it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PAGE 65536u
#define MAX_PAGES 64 /* -Wl,--max-memory=4194304 in tests/tests.mk */

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "limit";
	size_t initial = __builtin_wasm_memory_size(0);
	printf("initial pages within (0, %d): %s\n", MAX_PAGES, initial > 0 && initial < MAX_PAGES ? "ok" : "FAIL");

	/* A first grow returns the old size. */
	size_t r = __builtin_wasm_memory_grow(0, 1);
	printf("grow 1 returned the old size: %s\n", r == initial ? "ok" : "FAIL");
	printf("size is now old+1: %s\n", __builtin_wasm_memory_size(0) == initial + 1 ? "ok" : "FAIL");

	/* Past the maximum in one step fails and changes nothing. */
	size_t before = __builtin_wasm_memory_size(0);
	printf("grow past the maximum at once: %d\n", (int)__builtin_wasm_memory_grow(0, MAX_PAGES));
	printf("grow 65536 pages: %d\n", (int)__builtin_wasm_memory_grow(0, 65536));
	printf("size unchanged: %s\n", __builtin_wasm_memory_size(0) == before ? "ok" : "FAIL");

	/* Page by page to the limit; each new page is zeroed and writable. */
	int grown = 0, bad = 0;
	for (;;) {
		size_t old = __builtin_wasm_memory_grow(0, 1);
		if (old == (size_t)-1)
			break;
		grown++;
		volatile unsigned char *p = (unsigned char *)(old * PAGE);
		for (unsigned i = 0; i < PAGE; i += 4096)
			if (p[i] != 0)
				bad++;
		p[0] = 0xa5;
		p[PAGE - 1] = 0x5a;
		if (p[0] != 0xa5 || p[PAGE - 1] != 0x5a)
			bad++;
	}
	printf("grew page by page to %d pages, %s\n", (int)__builtin_wasm_memory_size(0),
	       bad ? "FAIL: new pages not zero or not writable" : "new pages zeroed and writable");
	printf("every page up to the maximum grew one by one: %s\n", (size_t)grown == MAX_PAGES - initial - 1 ? "ok" : "FAIL");
	printf("grow 1 at the limit: %d\n", (int)__builtin_wasm_memory_grow(0, 1));
	printf("grow 0 at the limit: %d\n", (int)__builtin_wasm_memory_grow(0, 0));
	volatile unsigned char *last = (unsigned char *)(MAX_PAGES * PAGE - 1);
	*last = 42;
	printf("last byte of the last page: %d\n", *last);

	if (strcmp(mode, "past") == 0) {
		printf("touching the first byte past the limit\n");
		fflush(stdout);
		volatile unsigned char *past = (unsigned char *)(MAX_PAGES * PAGE);
		*past = 1;
		printf("FAIL: wrote past the limit\n");
	}
	return 0;
}
