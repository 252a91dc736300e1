/* compiler/reader.h - the one checked byte cursor for every read of a Wasm binary.
 * Errors are sticky: after the first failure every read returns 0 and the cursor stops,
 * so a caller may read a whole structure and check `r->failed` once.
 */
#ifndef KUMO_COMPILER_READER_H
#define KUMO_COMPILER_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wasm_reader {
	const uint8_t *base;   /* start of the module (offsets are relative to it) */
	const uint8_t *p;      /* next byte */
	const uint8_t *end;    /* one past the last readable byte */
	bool failed;           /* sticky */
	const char *err;       /* static message of the first failure */
	size_t err_offset;     /* where it happened */
};

static inline void reader_init(struct wasm_reader *r, const uint8_t *base, const uint8_t *p,
			       const uint8_t *end)
{
	r->base = base;
	r->p = p;
	r->end = end;
	r->failed = false;
	r->err = NULL;
	r->err_offset = 0;
}

static inline void reader_fail(struct wasm_reader *r, const char *msg)
{
	if (!r->failed) {
		r->failed = true;
		r->err = msg;
		r->err_offset = (size_t)(r->p - r->base);
		r->p = r->end;
	}
}

static inline size_t reader_offset(const struct wasm_reader *r)
{
	return (size_t)(r->p - r->base);
}

static inline size_t reader_left(const struct wasm_reader *r)
{
	return (size_t)(r->end - r->p);
}

static inline bool reader_eof(const struct wasm_reader *r)
{
	return r->p >= r->end;
}

static inline uint8_t read_u8(struct wasm_reader *r)
{
	if (r->p >= r->end) {
		reader_fail(r, "unexpected end");
		return 0;
	}
	return *r->p++;
}

/* Unsigned LEB128 of at most `bits` bits (32 or 64); spec rules on length and on
 * unused bits of the last byte ("integer representation too long", "integer too large"). */
static inline uint64_t read_uleb(struct wasm_reader *r, unsigned bits)
{
	uint64_t v = 0;
	unsigned shift = 0;
	unsigned max_bytes = (bits + 6) / 7;
	for (unsigned i = 0;; i++) {
		if (i == max_bytes) {
			reader_fail(r, "integer representation too long");
			return 0;
		}
		uint8_t b = read_u8(r);
		if (r->failed)
			return 0;
		if (i == max_bytes - 1) {
			unsigned used = bits - shift; /* bits left for this byte */
			if (used < 7 && (b & 0x7f) >> used) {
				reader_fail(r, "integer too large");
				return 0;
			}
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
}

/* Signed LEB128 of at most `bits` bits (7, 32 or 64), sign-extended to 64 bits. */
static inline int64_t read_sleb(struct wasm_reader *r, unsigned bits)
{
	uint64_t v = 0;
	unsigned shift = 0;
	unsigned max_bytes = (bits + 6) / 7;
	uint8_t b = 0;
	for (unsigned i = 0;; i++) {
		if (i == max_bytes) {
			reader_fail(r, "integer representation too long");
			return 0;
		}
		b = read_u8(r);
		if (r->failed)
			return 0;
		if (i == max_bytes - 1) {
			/* The unused bits must all equal the sign bit of the value; a set
			 * continuation bit here is "too long", found on the next byte. */
			unsigned used = bits - shift;
			if (used < 7) {
				int8_t rest = (int8_t)(b << 1) >> (used + 1); /* bits above `used`, sign-extended */
				int8_t sign = (b >> (used - 1)) & 1 ? -1 : 0;
				if (rest != sign) {
					reader_fail(r, "integer too large");
					return 0;
				}
			}
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

static inline uint32_t read_u32(struct wasm_reader *r)
{
	return (uint32_t)read_uleb(r, 32);
}

static inline const uint8_t *read_bytes(struct wasm_reader *r, size_t n)
{
	if (reader_left(r) < n) {
		reader_fail(r, "unexpected end");
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

static inline uint32_t read_f32_bits(struct wasm_reader *r)
{
	const uint8_t *p = read_bytes(r, 4);
	uint32_t v = 0;
	if (p)
		memcpy(&v, p, 4); /* little-endian host */
	return v;
}

static inline uint64_t read_f64_bits(struct wasm_reader *r)
{
	const uint8_t *p = read_bytes(r, 8);
	uint64_t v = 0;
	if (p)
		memcpy(&v, p, 8);
	return v;
}

#endif /* KUMO_COMPILER_READER_H */
