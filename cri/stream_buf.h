/* cri/stream_buf.h - a growable byte buffer for the streaming server's codecs and
 * sessions (private to cri/): bytes are appended at the end and consumed from the
 * front. Allocation failure aborts (xrealloc), so appends cannot fail.
 */
#ifndef KUMO_CRI_STREAM_BUF_H
#define KUMO_CRI_STREAM_BUF_H

#include <stdint.h>
#include <string.h>

#include "common.h"

struct sbuf {
	uint8_t *data; /* malloc'd, NULL while empty and never grown */
	size_t off;    /* first unconsumed byte */
	size_t len;    /* end of the valid bytes (len - off are pending) */
	size_t cap;    /* allocated bytes */
};

/* Pending bytes and their count. */
static inline uint8_t *sbuf_head(struct sbuf *b) { return b->data + b->off; }
static inline size_t sbuf_size(const struct sbuf *b) { return b->len - b->off; }

/* Makes room for n more bytes at the end and returns where they go (the caller then
 * calls sbuf_commit). Consumed space at the front is reclaimed first. */
static inline uint8_t *sbuf_reserve(struct sbuf *b, size_t n)
{
	if (b->off > 0 && (b->off == b->len || b->cap - b->len < n)) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}
static inline void sbuf_commit(struct sbuf *b, size_t n) { b->len += n; }

static inline void sbuf_put(struct sbuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(sbuf_reserve(b, n), p, n);
	b->len += n;
}
static inline void sbuf_put8(struct sbuf *b, uint8_t v) { sbuf_put(b, &v, 1); }
static inline void sbuf_put16be(struct sbuf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	sbuf_put(b, x, 2);
}
static inline void sbuf_put32be(struct sbuf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	sbuf_put(b, x, 4);
}

/* Drops n pending bytes from the front. */
static inline void sbuf_consume(struct sbuf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

static inline void sbuf_free(struct sbuf *b)
{
	free(b->data);
	*b = (struct sbuf){0};
}

static inline uint32_t get32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif /* KUMO_CRI_STREAM_BUF_H */
