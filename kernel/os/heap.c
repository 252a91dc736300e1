/* kernel/os/heap.c - the kernel heap: power-of-two size classes carved from pages, whole pages for large blocks. */
#include <stdlib.h>
#include <string.h>

#include "kernel/os/kos.h"

#define NCLASSES 8           /* 32 .. 4096 bytes including the header */
#define HDR 16
#define MAGIC 0x6b756d6f68656170ull

struct hdr {
	uint64_t size;  /* usable bytes (class size - HDR, or pages * PAGE_SIZE - HDR) */
	uint64_t magic; /* MAGIC ^ size: catches frees of foreign pointers */
};
struct free_block {
	struct free_block *next;
};

static struct free_block *free_lists[NCLASSES];
static uint64_t in_use;

void heap_init(void) {}
uint64_t heap_bytes_in_use(void) { return in_use; }

static int class_of(size_t total)
{
	int c = 0;
	size_t sz = 32;
	while (sz < total) {
		sz <<= 1;
		c++;
	}
	return c;
}

static void *alloc_block(size_t n, int zero);

void *malloc(size_t n)
{
	return alloc_block(n, 1);
}

void *malloc_uninit(size_t n)
{
	return alloc_block(n, 0);
}

static void *alloc_block(size_t n, int zero)
{
	if (n > (1ull << 40))
		return NULL;
	size_t total = n + HDR;
	struct hdr *h;
	if (total <= (32u << (NCLASSES - 1))) {
		int c = class_of(total);
		size_t sz = 32u << c;
		if (!free_lists[c]) {
			uint8_t *p = page_alloc(1);
			if (!p)
				return NULL;
			for (size_t off = 0; off + sz <= PAGE_SIZE; off += sz) {
				struct free_block *b = (struct free_block *)(p + off);
				b->next = free_lists[c];
				free_lists[c] = b;
			}
		}
		h = (struct hdr *)free_lists[c];
		free_lists[c] = free_lists[c]->next;
		h->size = sz - HDR;
	} else {
		size_t pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
		h = zero ? page_alloc(pages) : page_alloc_uninit(pages);
		if (!h)
			return NULL;
		h->size = pages * PAGE_SIZE - HDR;
	}
	h->magic = MAGIC ^ h->size;
	in_use += h->size + HDR;
	return (uint8_t *)h + HDR;
}

void free(void *p)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)((uint8_t *)p - HDR);
	if (h->magic != (MAGIC ^ h->size))
		panic("free(%p): not a heap block", p);
	h->magic = 0;
	size_t total = h->size + HDR;
	in_use -= total;
	if (total <= (32u << (NCLASSES - 1))) {
		struct free_block *b = (struct free_block *)h;
		int c = class_of(total);
		b->next = free_lists[c];
		free_lists[c] = b;
	} else {
		page_free(h, total / PAGE_SIZE);
	}
}

void *calloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return NULL;
	void *p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	struct hdr *h = (struct hdr *)((uint8_t *)p - HDR);
	if (n <= h->size)
		return p;
	void *q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, h->size);
	free(p);
	return q;
}
