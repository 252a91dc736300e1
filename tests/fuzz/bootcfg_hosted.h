/* tests/fuzz/bootcfg_hosted.h - forced in (-include) when kernel/os/bootcfg.c is built
 * hosted for tests/fuzz/fuzz_bootcfg.c: the kernel's allocations go through the
 * harness's tracking allocator, which frees what a panicked parse left behind. */
#include <stdlib.h>
#include <string.h>
void *fz_malloc(size_t n);
void *fz_calloc(size_t n, size_t size);
void fz_free(void *p);
#define malloc fz_malloc
#define calloc fz_calloc
#define free fz_free
