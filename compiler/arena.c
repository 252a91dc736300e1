/* compiler/arena.c - the one bump arena per compile; freed at once, so error paths
 * never leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/module.h"
#include "compiler/wat.h"

struct wasm_arena_block {
	struct wasm_arena_block *next; /* older block */
	size_t used;                   /* bytes handed out from data */
	size_t cap;                    /* bytes in data */
	_Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK_BYTES (64u * 1024u)

void *arena_alloc(struct wasm_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct wasm_arena_block *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK_BYTES ? n : ARENA_BLOCK_BYTES;
		b = malloc(sizeof(*b) + cap);
		if (!b) {
			fputs("kumo: out of memory\n", stderr);
			abort();
		}
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

void *arena_array(struct wasm_arena *a, size_t count, size_t size)
{
	if (size && count > (SIZE_MAX / 2) / size) {
		fputs("kumo: arena request overflows\n", stderr);
		abort();
	}
	return arena_alloc(a, count * size);
}

void arena_free(struct wasm_arena *a)
{
	struct wasm_arena_block *b = a->head;
	while (b) {
		struct wasm_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}

void arena_adopt(struct wasm_arena *dst, struct wasm_arena *src)
{
	struct wasm_arena_block **tail = &dst->head;
	while (*tail)
		tail = &(*tail)->next;
	*tail = src->head;
	src->head = NULL;
}
