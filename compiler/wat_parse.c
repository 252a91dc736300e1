/* compiler/wat_parse.c - the text format's grammar: modules, fields, instructions and
 * their abbreviations, resolved to indices and encoded as a Wasm binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/abi.h"
#include "compiler/opcodes.h"
#include "compiler/wat.h"

enum space_kind { SP_TYPE, SP_FUNC, SP_TABLE, SP_MEM, SP_GLOBAL, SP_ELEM, SP_DATA, SP_LOCAL,
		  SP_LABEL, SP_COUNT };
static const char *const space_name[SP_COUNT] = {
	"type", "function", "table", "memory", "global", "elem segment", "data segment",
	"local", "label",
};

/* One index space: the identifier (or NULL) of each index, in index order. */
struct space {
	const struct wat_tok **ids; /* n entries */
	uint32_t n, cap;
};

struct buf {
	uint8_t *p;         /* arena memory */
	size_t len, cap;
};

/* A function type: params then results in v. */
struct ftype {
	uint32_t np, nr;
	uint8_t *v;
};

struct wat {
	jmp_buf unwind;             /* wat_fail() jumps back to wat_assemble() */
	struct wat_error *e;
	struct wasm_arena *arena;
	struct wat_tok *toks;       /* from the lexer, ending with WAT_EOF */
	uint32_t pos;               /* current token */
	uint32_t ntoks;
	struct space sp[SP_COUNT];
	struct ftype *types;        /* explicit types, then the ones typeuses add */
	uint32_t ntypes, types_cap;
	struct buf sec[WASM_SEC_DATA_COUNT + 1]; /* section contents without the count */
	uint32_t count[WASM_SEC_DATA_COUNT + 1];   /* entries per section */
	bool has_start;
	bool uses_data_count;       /* memory.init or data.drop seen: emit section 12 */
	bool seen_definition;       /* a func/table/memory/global defined: no more imports */
	uint32_t cur[SP_COUNT];     /* pass 2: next index per space */
	uint32_t depth;             /* nesting of blocks and folded instructions */
};

/* Blocks and folded instructions are parsed recursively: bound the nesting so that
 * hostile text cannot exhaust the stack (a few hundred bytes per level). */
#define WAT_MAX_DEPTH 5000

void *wat_alloc(struct wat *w, size_t n)
{
	return arena_alloc(w->arena, n ? n : 1);
}

static void vfail(struct wat *w, uint32_t line, uint32_t col, const char *fmt, va_list ap)
{
	vsnprintf(w->e->msg, sizeof(w->e->msg), fmt, ap);
	w->e->line = line;
	w->e->col = col;
	longjmp(w->unwind, 1);
}

_Noreturn void wat_fail_at(struct wat *w, uint32_t line, uint32_t col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(w, line, col, fmt, ap);
	va_end(ap);
	abort(); /* not reached */
}

_Noreturn void wat_fail(struct wat *w, const struct wat_tok *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(w, t ? t->line : 0, t ? t->col : 0, fmt, ap);
	va_end(ap);
	abort(); /* not reached */
}

/* --- output buffers --- */

static void put(struct wat *w, struct buf *b, const void *d, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		while (cap - b->len < n)
			cap *= 2;
		uint8_t *p = wat_alloc(w, cap);
		if (b->len)
			memcpy(p, b->p, b->len);
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put8(struct wat *w, struct buf *b, uint8_t v)
{
	put(w, b, &v, 1);
}

static void put_u32(struct wat *w, struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		tmp[n++] = byte | (v ? 0x80 : 0);
	} while (v);
	put(w, b, tmp, n);
}

static void put_s64(struct wat *w, struct buf *b, int64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	for (;;) {
		uint8_t byte = v & 0x7f;
		v >>= 7; /* arithmetic on gcc/clang */
		bool done = (v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40));
		tmp[n++] = byte | (done ? 0 : 0x80);
		if (done)
			break;
	}
	put(w, b, tmp, n);
}

static void put_vec(struct wat *w, struct buf *b, const void *d, size_t n)
{
	put_u32(w, b, n);
	put(w, b, d, n);
}

/* --- tokens --- */

static struct wat_tok *peek(struct wat *w)
{
	return &w->toks[w->pos];
}

static struct wat_tok *peek2(struct wat *w)
{
	return w->pos + 1 < w->ntoks ? &w->toks[w->pos + 1] : &w->toks[w->ntoks - 1];
}

static struct wat_tok *next(struct wat *w)
{
	struct wat_tok *t = &w->toks[w->pos];
	if (t->kind != WAT_EOF)
		w->pos++;
	return t;
}

static bool tok_is(const struct wat_tok *t, const char *kw)
{
	size_t n = strlen(kw);
	return t->kind == WAT_KEYWORD && t->len == n && !memcmp(t->p, kw, n);
}

static _Noreturn void unexpected(struct wat *w, const struct wat_tok *t, const char *what)
{
	if (t->kind == WAT_EOF)
		wat_fail(w, t, "expected %s, found end of input", what);
	wat_fail(w, t, "expected %s, found `%.*s`", what, (int)(t->len > 40 ? 40 : t->len), t->p);
}

/* True (and consumes both) when the next tokens are `(` kw. */
static bool open_kw(struct wat *w, const char *kw)
{
	if (peek(w)->kind == WAT_LPAR && tok_is(peek2(w), kw)) {
		w->pos += 2;
		return true;
	}
	return false;
}

static bool at_open_kw(struct wat *w, const char *kw)
{
	return peek(w)->kind == WAT_LPAR && tok_is(peek2(w), kw);
}

static void expect_lpar(struct wat *w)
{
	if (peek(w)->kind != WAT_LPAR)
		unexpected(w, peek(w), "`(`");
	next(w);
}

static void expect_rpar(struct wat *w)
{
	if (peek(w)->kind != WAT_RPAR)
		unexpected(w, peek(w), "`)`");
	next(w);
}

static void expect_kw(struct wat *w, const char *kw)
{
	if (!tok_is(peek(w), kw)) {
		char what[48];
		snprintf(what, sizeof(what), "`%s`", kw);
		unexpected(w, peek(w), what);
	}
	next(w);
}

/* Skips a balanced form; the `(` is already consumed. */
static void skip_form(struct wat *w)
{
	int depth = 1;
	while (depth) {
		struct wat_tok *t = next(w);
		if (t->kind == WAT_EOF)
			unexpected(w, t, "`)`");
		if (t->kind == WAT_LPAR)
			depth++;
		else if (t->kind == WAT_RPAR)
			depth--;
	}
}

static bool same_id(const struct wat_tok *a, const struct wat_tok *b)
{
	return a && b && a->len == b->len && !memcmp(a->p, b->p, a->len);
}

/* --- index spaces --- */

static void space_add(struct wat *w, enum space_kind k, const struct wat_tok *id)
{
	struct space *s = &w->sp[k];
	if (id && k != SP_LABEL) {
		for (uint32_t i = 0; i < s->n; i++)
			if (same_id(s->ids[i], id))
				wat_fail(w, id, "duplicate %s `%.*s`", space_name[k], (int)id->len,
					 id->p);
	}
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		const struct wat_tok **ids = wat_alloc(w, (size_t)cap * sizeof(*ids));
		if (s->n)
			memcpy(ids, s->ids, (size_t)s->n * sizeof(*ids));
		s->ids = ids;
		s->cap = cap;
	}
	s->ids[s->n++] = id;
}

static const struct wat_tok *opt_id(struct wat *w)
{
	return peek(w)->kind == WAT_ID ? next(w) : NULL;
}

static bool at_index(struct wat *w)
{
	struct wat_tok *t = peek(w);
	return t->kind == WAT_ID || wat_is_u32(t);
}

/* An index: a number, or an identifier of space k. */
static uint32_t index_of(struct wat *w, enum space_kind k)
{
	struct wat_tok *t = next(w);
	if (t->kind == WAT_ID) {
		struct space *s = &w->sp[k];
		if (k == SP_LABEL) {
			for (uint32_t i = s->n; i-- > 0;)
				if (same_id(s->ids[i], t))
					return s->n - 1 - i;
		} else {
			for (uint32_t i = 0; i < s->n; i++)
				if (same_id(s->ids[i], t))
					return i;
		}
		wat_fail(w, t, "unknown %s `%.*s`", space_name[k], (int)t->len, t->p);
	}
	if (!wat_is_u32(t)) {
		char what[48];
		snprintf(what, sizeof(what), "a %s index", space_name[k]);
		unexpected(w, t, what);
	}
	return wat_u32(w, t);
}

/* --- types --- */

static int valtype_of(const struct wat_tok *t)
{
	if (tok_is(t, "i32")) return KUMO_T_I32;
	if (tok_is(t, "i64")) return KUMO_T_I64;
	if (tok_is(t, "f32")) return KUMO_T_F32;
	if (tok_is(t, "f64")) return KUMO_T_F64;
	if (tok_is(t, "v128")) return KUMO_T_V128;
	if (tok_is(t, "funcref")) return KUMO_T_FUNCREF;
	if (tok_is(t, "externref")) return KUMO_T_EXTERNREF;
	return -1;
}

static uint8_t valtype(struct wat *w)
{
	struct wat_tok *t = next(w);
	int v = valtype_of(t);
	if (v < 0)
		unexpected(w, t, "a value type");
	return (uint8_t)v;
}

static uint8_t reftype(struct wat *w)
{
	struct wat_tok *t = next(w);
	if (tok_is(t, "funcref")) return KUMO_T_FUNCREF;
	if (tok_is(t, "externref")) return KUMO_T_EXTERNREF;
	unexpected(w, t, "`funcref` or `externref`");
}

/* Growable value list for params/results. */
struct vlist {
	uint8_t *v;
	uint32_t n, cap;
};

static void vl_push(struct wat *w, struct vlist *l, uint8_t t)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 8;
		uint8_t *v = wat_alloc(w, cap);
		if (l->n)
			memcpy(v, l->v, l->n);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = t;
}

enum param_ids { IDS_FORBID, IDS_IGNORE, IDS_LOCALS };

/* (param ...)* (result ...)* into *ft; param identifiers per `ids`. */
static void params_results(struct wat *w, struct ftype *ft, enum param_ids ids)
{
	struct vlist p = { 0 }, r = { 0 };
	while (at_open_kw(w, "param")) {
		struct wat_tok *at = peek(w);
		w->pos += 2;
		if (peek(w)->kind == WAT_ID) {
			if (ids == IDS_FORBID)
				wat_fail(w, peek(w), "unexpected identifier `%.*s` in a type use",
					 (int)peek(w)->len, peek(w)->p);
			const struct wat_tok *id = next(w);
			vl_push(w, &p, valtype(w));
			if (ids == IDS_LOCALS)
				space_add(w, SP_LOCAL, id);
			expect_rpar(w);
			continue;
		}
		(void)at;
		while (peek(w)->kind != WAT_RPAR) {
			vl_push(w, &p, valtype(w));
			if (ids == IDS_LOCALS)
				space_add(w, SP_LOCAL, NULL);
		}
		next(w);
	}
	while (open_kw(w, "result")) {
		while (peek(w)->kind != WAT_RPAR)
			vl_push(w, &r, valtype(w));
		next(w);
	}
	if (at_open_kw(w, "param"))
		wat_fail(w, peek2(w), "unexpected `param` after `result`");
	ft->np = p.n;
	ft->nr = r.n;
	ft->v = wat_alloc(w, p.n + r.n);
	if (p.n)
		memcpy(ft->v, p.v, p.n);
	if (r.n)
		memcpy(ft->v + p.n, r.v, r.n);
}

static bool ftype_eq(const struct ftype *a, const struct ftype *b)
{
	return a->np == b->np && a->nr == b->nr && !memcmp(a->v, b->v, a->np + a->nr);
}

static uint32_t add_type(struct wat *w, const struct ftype *ft)
{
	if (w->ntypes == w->types_cap) {
		uint32_t cap = w->types_cap ? w->types_cap * 2 : 16;
		struct ftype *t = wat_alloc(w, (size_t)cap * sizeof(*t));
		if (w->ntypes)
			memcpy(t, w->types, (size_t)w->ntypes * sizeof(*t));
		w->types = t;
		w->types_cap = cap;
	}
	w->types[w->ntypes] = *ft;
	return w->ntypes++;
}

/* A type use: (type x)? params results. Returns the type index (adding a type when the
 * inline signature matches none); *ft gets the signature when known. */
struct typeuse {
	bool has_idx;
	uint32_t idx;
	bool has_inline;
	struct ftype ft;
	const struct wat_tok *at;
};

static void parse_typeuse(struct wat *w, struct typeuse *tu, enum param_ids ids)
{
	memset(tu, 0, sizeof(*tu));
	tu->at = peek(w);
	if (open_kw(w, "type")) {
		tu->has_idx = true;
		tu->idx = index_of(w, SP_TYPE);
		expect_rpar(w);
	}
	uint32_t pos = w->pos;
	params_results(w, &tu->ft, ids);
	tu->has_inline = w->pos != pos;
}

static uint32_t resolve_typeuse(struct wat *w, struct typeuse *tu)
{
	if (tu->has_idx) {
		if (tu->idx >= w->ntypes) {
			if (!tu->has_inline)
				return tu->idx; /* the validator reports it */
			wat_fail(w, tu->at, "unknown type %u", tu->idx);
		}
		if (tu->has_inline && !ftype_eq(&tu->ft, &w->types[tu->idx]))
			wat_fail(w, tu->at, "inconsistent type: the inline signature differs from type %u",
				 tu->idx);
		tu->ft = w->types[tu->idx];
		return tu->idx;
	}
	for (uint32_t i = 0; i < w->ntypes; i++)
		if (ftype_eq(&w->types[i], &tu->ft))
			return i;
	uint32_t idx = add_type(w, &tu->ft);
	w->count[WASM_SEC_TYPE]++;
	return idx;
}

/* --- instructions --- */

struct opinfo {
	const char *name;
	uint8_t prefix;     /* 0, 0xfc or 0xfd */
	uint8_t code;
};

static const struct opinfo ops[] = {
#define WAT_OP_(n, c, t, s) { t, 0, c },
	WASM_OPCODES(WAT_OP_)
#undef WAT_OP_
#define WAT_FC_(n, c, t, s) { t, 0xfc, c },
	WASM_FC_OPCODES(WAT_FC_)
#undef WAT_FC_
#define WAT_SIMD_(n, c, t, s, imm, arg) { t, 0xfd, c },
	WASM_SIMD_OPCODES(WAT_SIMD_)
#undef WAT_SIMD_
};

/* Wasm 2.0 opcodes only; the rest of opcodes.h is there for the validator to name. */
static bool op_allowed(uint8_t prefix, uint8_t c)
{
	if (prefix == 0xfc)
		return c <= 17;
	if (prefix == 0xfd)
		return true;
	return c <= 0x05 || (c >= 0x0b && c <= 0x11) || c == 0x1a || c == 0x1b ||
	       (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0xc4) || (c >= 0xd0 && c <= 0xd2);
}

static const struct opinfo *lookup_op(const struct wat_tok *t)
{
	if (t->kind != WAT_KEYWORD)
		return NULL;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const struct opinfo *o = &ops[i];
		if (strlen(o->name) == t->len && !memcmp(o->name, t->p, t->len) &&
		    op_allowed(o->prefix, o->code))
			return o;
	}
	return NULL;
}

static uint32_t natural_align(uint8_t c)
{
	static const uint8_t a[] = {
		[0x28] = 2, [0x29] = 3, [0x2a] = 2, [0x2b] = 3, [0x2c] = 0, [0x2d] = 0,
		[0x2e] = 1, [0x2f] = 1, [0x30] = 0, [0x31] = 0, [0x32] = 1, [0x33] = 1,
		[0x34] = 2, [0x35] = 2, [0x36] = 2, [0x37] = 3, [0x38] = 2, [0x39] = 3,
		[0x3a] = 0, [0x3b] = 1, [0x3c] = 0, [0x3d] = 1, [0x3e] = 2,
	};
	return a[c];
}

static void instrs(struct wat *w, struct buf *b);

/* `offset=N align=N` (both optional, in this order); natural = log2 of the access size. */
static void memarg(struct wat *w, struct buf *b, uint32_t natural)
{
	uint64_t offset = 0;
	uint32_t align = natural;
	struct wat_tok *t = peek(w);
	if (t->kind == WAT_KEYWORD && t->len > 7 && !memcmp(t->p, "offset=", 7)) {
		struct wat_tok num = *t;
		num.p += 7;
		num.len -= 7;
		num.kind = WAT_RESERVED;
		next(w);
		offset = wat_u32(w, &num);
		t = peek(w);
	}
	if (t->kind == WAT_KEYWORD && t->len > 6 && !memcmp(t->p, "align=", 6)) {
		struct wat_tok num = *t;
		num.p += 6;
		num.len -= 6;
		num.kind = WAT_RESERVED;
		next(w);
		uint32_t a = wat_u32(w, &num);
		if (a == 0 || (a & (a - 1)))
			wat_fail(w, t, "alignment must be a power of two, found %u", a);
		align = (uint32_t)__builtin_ctz(a);
	}
	put_u32(w, b, align);
	put_u32(w, b, offset);
}

static void blocktype(struct wat *w, struct buf *b)
{
	struct typeuse tu;
	parse_typeuse(w, &tu, IDS_FORBID);
	if (!tu.has_idx && tu.ft.np == 0 && tu.ft.nr <= 1) {
		put8(w, b, tu.ft.nr ? tu.ft.v[0] : WASM_BLOCKTYPE_EMPTY);
		return;
	}
	put_s64(w, b, resolve_typeuse(w, &tu));
}

static void push_label(struct wat *w, const struct wat_tok *id)
{
	space_add(w, SP_LABEL, id);
}

static void pop_label(struct wat *w)
{
	w->sp[SP_LABEL].n--;
}

/* After `end` or `else`: an optional identifier that must repeat the block's label. */
static void end_label(struct wat *w)
{
	if (peek(w)->kind != WAT_ID)
		return;
	struct wat_tok *t = next(w);
	struct space *s = &w->sp[SP_LABEL];
	if (!same_id(t, s->ids[s->n - 1]))
		wat_fail(w, t, "mismatching label `%.*s`", (int)t->len, t->p);
}

/* The immediates of a plain instruction, encoded with its opcode into b. */
/* A lane index (one byte; the validator checks it against the shape). */
static void lane_index(struct wat *w, struct buf *b)
{
	struct wat_tok *t = next(w);
	if (!wat_is_u32(t))
		unexpected(w, t, "a lane index");
	uint32_t v = wat_u32(w, t);
	if (v > 255)
		wat_fail(w, t, "lane index out of range `%.*s`", (int)t->len, t->p);
	put8(w, b, (uint8_t)v);
}

/* v128.const's shape and lane values, as 16 little-endian bytes. */
static void v128_const(struct wat *w, struct buf *b)
{
	struct wat_tok *shape = next(w);
	int lanes, bits;
	bool fl = false;
	if (tok_is(shape, "i8x16")) {
		lanes = 16, bits = 8;
	} else if (tok_is(shape, "i16x8")) {
		lanes = 8, bits = 16;
	} else if (tok_is(shape, "i32x4")) {
		lanes = 4, bits = 32;
	} else if (tok_is(shape, "i64x2")) {
		lanes = 2, bits = 64;
	} else if (tok_is(shape, "f32x4")) {
		lanes = 4, bits = 32, fl = true;
	} else if (tok_is(shape, "f64x2")) {
		lanes = 2, bits = 64, fl = true;
	} else {
		unexpected(w, shape, "a vector shape (i8x16, i16x8, i32x4, i64x2, f32x4 or f64x2)");
	}
	uint8_t bytes[16];
	for (int i = 0; i < lanes; i++) {
		struct wat_tok *t = next(w);
		if (t->kind != WAT_RESERVED && t->kind != WAT_KEYWORD)
			unexpected(w, t, fl ? "a float lane" : "an integer lane");
		uint64_t v = fl ? wat_float(w, t, bits) : wat_int(w, t, bits);
		for (int k = 0; k < bits / 8; k++)
			bytes[i * (bits / 8) + k] = (uint8_t)(v >> (8 * k));
	}
	put(w, b, bytes, 16);
}

static void simd_immediates(struct wat *w, struct buf *b, const struct opinfo *o)
{
	const struct wasm_simd_info *si = wasm_simd_info(o->code);
	switch (si->imm) {
	case 'm':
		memarg(w, b, si->arg);
		break;
	case 'L':
		memarg(w, b, si->arg);
		lane_index(w, b);
		break;
	case 'l':
		lane_index(w, b);
		break;
	case 's':
		for (int i = 0; i < 16; i++)
			lane_index(w, b);
		break;
	case 'c':
		v128_const(w, b);
		break;
	}
}

static void op_immediates(struct wat *w, struct buf *b, const struct opinfo *o)
{
	if (o->prefix == 0xfd) {
		put8(w, b, o->prefix);
		put_u32(w, b, o->code);
		simd_immediates(w, b, o);
		return;
	}
	if (o->prefix) {
		put8(w, b, o->prefix);
		put_u32(w, b, o->code);
		switch (o->code) {
		case WASM_FC_MEMORY_INIT:
			w->uses_data_count = true;
			put_u32(w, b, index_of(w, SP_DATA));
			put8(w, b, 0);
			break;
		case WASM_FC_DATA_DROP:
			w->uses_data_count = true;
			put_u32(w, b, index_of(w, SP_DATA));
			break;
		case WASM_FC_MEMORY_COPY:
			put8(w, b, 0);
			put8(w, b, 0);
			break;
		case WASM_FC_MEMORY_FILL:
			put8(w, b, 0);
			break;
		case WASM_FC_TABLE_INIT: {
			uint32_t x = 0, y;
			struct wat_tok *second = peek2(w);
			if (second->kind == WAT_ID || wat_is_u32(second))
				x = index_of(w, SP_TABLE); /* two indices: table then segment */
			y = index_of(w, SP_ELEM);
			put_u32(w, b, y);
			put_u32(w, b, x);
			break;
		}
		case WASM_FC_ELEM_DROP:
			put_u32(w, b, index_of(w, SP_ELEM));
			break;
		case WASM_FC_TABLE_COPY: {
			uint32_t x = 0, y = 0;
			if (at_index(w)) {
				x = index_of(w, SP_TABLE);
				y = index_of(w, SP_TABLE);
			}
			put_u32(w, b, x);
			put_u32(w, b, y);
			break;
		}
		case WASM_FC_TABLE_GROW:
		case WASM_FC_TABLE_SIZE:
		case WASM_FC_TABLE_FILL:
			put_u32(w, b, at_index(w) ? index_of(w, SP_TABLE) : 0);
			break;
		default:
			break;
		}
		return;
	}
	uint8_t c = o->code;
	if (c >= 0x28 && c <= 0x3e) {
		put8(w, b, c);
		memarg(w, b, natural_align(c));
		return;
	}
	switch (c) {
	case WASM_OP_BR:
	case WASM_OP_BR_IF:
		put8(w, b, c);
		put_u32(w, b, index_of(w, SP_LABEL));
		return;
	case WASM_OP_BR_TABLE: {
		struct buf l = { 0 };
		uint32_t n = 0;
		while (at_index(w)) {
			put_u32(w, &l, index_of(w, SP_LABEL));
			n++;
		}
		if (n == 0)
			unexpected(w, peek(w), "a label");
		put8(w, b, c);
		put_u32(w, b, n - 1);
		put(w, b, l.p, l.len);
		return;
	}
	case WASM_OP_CALL:
		put8(w, b, c);
		put_u32(w, b, index_of(w, SP_FUNC));
		return;
	case WASM_OP_CALL_INDIRECT: {
		uint32_t table = at_index(w) ? index_of(w, SP_TABLE) : 0;
		struct typeuse tu;
		parse_typeuse(w, &tu, IDS_FORBID);
		put8(w, b, c);
		put_u32(w, b, resolve_typeuse(w, &tu));
		put_u32(w, b, table);
		return;
	}
	case WASM_OP_LOCAL_GET:
	case WASM_OP_LOCAL_SET:
	case WASM_OP_LOCAL_TEE:
		put8(w, b, c);
		put_u32(w, b, index_of(w, SP_LOCAL));
		return;
	case WASM_OP_GLOBAL_GET:
	case WASM_OP_GLOBAL_SET:
		put8(w, b, c);
		put_u32(w, b, index_of(w, SP_GLOBAL));
		return;
	case WASM_OP_TABLE_GET:
	case WASM_OP_TABLE_SET:
		put8(w, b, c);
		put_u32(w, b, at_index(w) ? index_of(w, SP_TABLE) : 0);
		return;
	case WASM_OP_MEMORY_SIZE:
	case WASM_OP_MEMORY_GROW:
		put8(w, b, c);
		put8(w, b, 0);
		return;
	case WASM_OP_I32_CONST:
		put8(w, b, c);
		put_s64(w, b, (int32_t)(uint32_t)wat_int(w, next(w), 32));
		return;
	case WASM_OP_I64_CONST:
		put8(w, b, c);
		put_s64(w, b, (int64_t)wat_int(w, next(w), 64));
		return;
	case WASM_OP_F32_CONST: {
		uint32_t v = (uint32_t)wat_float(w, next(w), 32);
		put8(w, b, c);
		put(w, b, &v, 4);
		return;
	}
	case WASM_OP_F64_CONST: {
		uint64_t v = wat_float(w, next(w), 64);
		put8(w, b, c);
		put(w, b, &v, 8);
		return;
	}
	case WASM_OP_REF_NULL: {
		struct wat_tok *t = next(w);
		put8(w, b, c);
		if (tok_is(t, "func"))
			put8(w, b, KUMO_T_FUNCREF);
		else if (tok_is(t, "extern"))
			put8(w, b, KUMO_T_EXTERNREF);
		else
			unexpected(w, t, "`func` or `extern`");
		return;
	}
	case WASM_OP_REF_FUNC:
		put8(w, b, c);
		put_u32(w, b, index_of(w, SP_FUNC));
		return;
	case WASM_OP_SELECT: {
		if (!at_open_kw(w, "result")) {
			put8(w, b, c);
			return;
		}
		struct vlist r = { 0 };
		while (open_kw(w, "result")) {
			while (peek(w)->kind != WAT_RPAR)
				vl_push(w, &r, valtype(w));
			next(w);
		}
		put8(w, b, WASM_OP_SELECT_T);
		put_vec(w, b, r.v, r.n);
		return;
	}
	default:
		put8(w, b, c);
		return;
	}
}

static const struct opinfo *op_or_fail(struct wat *w, struct wat_tok *t)
{
	const struct opinfo *o = lookup_op(t);
	if (!o) {
		if (t->kind == WAT_KEYWORD)
			wat_fail(w, t, "unknown operator `%.*s`", (int)t->len, t->p);
		unexpected(w, t, "an instruction");
	}
	return o;
}

/* block/loop/if in flat form; the keyword is consumed. */
static void enter(struct wat *w)
{
	if (++w->depth > WAT_MAX_DEPTH)
		wat_fail(w, peek(w), "instructions nested deeper than %u", WAT_MAX_DEPTH);
}

static void plain_block(struct wat *w, struct buf *b, uint8_t code)
{
	enter(w);
	const struct wat_tok *label = opt_id(w);
	put8(w, b, code);
	blocktype(w, b);
	push_label(w, label);
	instrs(w, b);
	if (code == WASM_OP_IF && tok_is(peek(w), "else")) {
		next(w);
		end_label(w);
		put8(w, b, WASM_OP_ELSE);
		instrs(w, b);
	}
	expect_kw(w, "end");
	end_label(w);
	pop_label(w);
	put8(w, b, WASM_OP_END);
	w->depth--;
}

static void folded_body(struct wat *w, struct buf *b);

/* One folded instruction; at `(`. */
static void folded(struct wat *w, struct buf *b)
{
	enter(w);
	folded_body(w, b);
	w->depth--;
}

static void folded_body(struct wat *w, struct buf *b)
{
	expect_lpar(w);
	struct wat_tok *t = next(w);
	if (tok_is(t, "block") || tok_is(t, "loop")) {
		const struct wat_tok *label = opt_id(w);
		put8(w, b, tok_is(t, "block") ? WASM_OP_BLOCK : WASM_OP_LOOP);
		blocktype(w, b);
		push_label(w, label);
		instrs(w, b);
		pop_label(w);
		put8(w, b, WASM_OP_END);
		expect_rpar(w);
		return;
	}
	if (tok_is(t, "if")) {
		const struct wat_tok *label = opt_id(w);
		struct buf bt = { 0 };
		blocktype(w, &bt);
		while (peek(w)->kind == WAT_LPAR && !tok_is(peek2(w), "then"))
			folded(w, b);
		put8(w, b, WASM_OP_IF);
		put(w, b, bt.p, bt.len);
		push_label(w, label);
		if (!open_kw(w, "then"))
			unexpected(w, peek(w), "`(then`");
		instrs(w, b);
		expect_rpar(w);
		if (open_kw(w, "else")) {
			put8(w, b, WASM_OP_ELSE);
			instrs(w, b);
			expect_rpar(w);
		}
		pop_label(w);
		put8(w, b, WASM_OP_END);
		expect_rpar(w);
		return;
	}
	const struct opinfo *o = op_or_fail(w, t);
	if (o->prefix == 0 && (o->code == WASM_OP_BLOCK || o->code == WASM_OP_LOOP ||
			       o->code == WASM_OP_IF || o->code == WASM_OP_ELSE ||
			       o->code == WASM_OP_END))
		unexpected(w, t, "an instruction");
	struct buf op = { 0 };
	op_immediates(w, &op, o);
	while (peek(w)->kind == WAT_LPAR)
		folded(w, b);
	put(w, b, op.p, op.len);
	expect_rpar(w);
}

/* Instructions up to `)`, `end`, `else` or the end of input (the caller checks which). */
static void instrs(struct wat *w, struct buf *b)
{
	for (;;) {
		struct wat_tok *t = peek(w);
		if (t->kind == WAT_RPAR || t->kind == WAT_EOF || tok_is(t, "end") ||
		    tok_is(t, "else"))
			return;
		if (t->kind == WAT_LPAR) {
			folded(w, b);
			continue;
		}
		next(w);
		const struct opinfo *o = op_or_fail(w, t);
		if (o->prefix == 0 && (o->code == WASM_OP_BLOCK || o->code == WASM_OP_LOOP ||
				       o->code == WASM_OP_IF)) {
			plain_block(w, b, o->code);
			continue;
		}
		op_immediates(w, b, o);
	}
}

/* A constant (or offset) expression up to `)`, with its `end`. */
static void expr(struct wat *w, struct buf *b)
{
	w->sp[SP_LOCAL].n = 0;
	w->sp[SP_LABEL].n = 0;
	instrs(w, b);
	if (peek(w)->kind != WAT_RPAR)
		unexpected(w, peek(w), "`)`");
	put8(w, b, WASM_OP_END);
}

/* --- module fields --- */

static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		uint32_t cp, need;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1f;
			need = 1;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0f;
			need = 2;
		} else if ((c & 0xf8) == 0xf0) {
			cp = c & 0x07;
			need = 3;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (uint32_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return false;
		i += need + 1;
	}
	return true;
}

static void name(struct wat *w, struct buf *b)
{
	struct wat_tok *t = next(w);
	uint8_t *s;
	size_t n = wat_string(w, t, &s);
	if (!utf8_valid(s, n))
		wat_fail(w, t, "malformed UTF-8 encoding in name");
	put_vec(w, b, s, n);
}

static void limits(struct wat *w, struct buf *b)
{
	uint32_t min = wat_u32(w, next(w));
	if (at_index(w) && peek(w)->kind != WAT_ID) {
		uint32_t max = wat_u32(w, next(w));
		put8(w, b, 1);
		put_u32(w, b, min);
		put_u32(w, b, max);
	} else {
		put8(w, b, 0);
		put_u32(w, b, min);
	}
}

static void globaltype(struct wat *w, struct buf *b)
{
	if (open_kw(w, "mut")) {
		put8(w, b, valtype(w));
		put8(w, b, 1);
		expect_rpar(w);
	} else {
		put8(w, b, valtype(w));
		put8(w, b, 0);
	}
}

static void tabletype(struct wat *w, struct buf *b)
{
	struct buf l = { 0 };
	limits(w, &l);
	put8(w, b, reftype(w));
	put(w, b, l.p, l.len);
}

/* Inline (export "name")* of the entity `index` of kind `kind`. */
static void inline_exports(struct wat *w, uint8_t kind, uint32_t index)
{
	struct buf *b = &w->sec[WASM_SEC_EXPORT];
	while (open_kw(w, "export")) {
		name(w, b);
		put8(w, b, kind);
		put_u32(w, b, index);
		w->count[WASM_SEC_EXPORT]++;
		expect_rpar(w);
	}
}

/* Inline (import "m" "n") — writes the import entry's names and kind; the caller adds
 * the description. */
static bool inline_import(struct wat *w, uint8_t kind)
{
	if (!open_kw(w, "import"))
		return false;
	struct buf *b = &w->sec[WASM_SEC_IMPORT];
	name(w, b);
	name(w, b);
	expect_rpar(w);
	put8(w, b, kind);
	w->count[WASM_SEC_IMPORT]++;
	return true;
}

static void func_field(struct wat *w)
{
	uint32_t idx = w->cur[SP_FUNC]++;
	opt_id(w);
	inline_exports(w, KUMO_EXTERN_FUNC, idx);
	w->sp[SP_LOCAL].n = 0;
	w->sp[SP_LABEL].n = 0;
	if (inline_import(w, KUMO_EXTERN_FUNC)) {
		struct typeuse tu;
		parse_typeuse(w, &tu, IDS_IGNORE);
		put_u32(w, &w->sec[WASM_SEC_IMPORT], resolve_typeuse(w, &tu));
		expect_rpar(w);
		return;
	}
	struct typeuse tu;
	parse_typeuse(w, &tu, IDS_LOCALS);
	uint32_t type = resolve_typeuse(w, &tu);
	put_u32(w, &w->sec[WASM_SEC_FUNCTION], type);
	w->count[WASM_SEC_FUNCTION]++;
	if (!tu.has_inline && type < w->ntypes) { /* else the validator reports it */
		for (uint32_t i = 0; i < w->types[type].np; i++)
			space_add(w, SP_LOCAL, NULL);
	}
	/* Locals, grouped into runs of one type. */
	struct buf body = { 0 }, groups = { 0 };
	uint32_t ngroups = 0, run = 0;
	uint8_t run_type = 0;
	while (open_kw(w, "local")) {
		if (peek(w)->kind == WAT_ID) {
			const struct wat_tok *id = next(w);
			uint8_t t = valtype(w);
			space_add(w, SP_LOCAL, id);
			if (run && t != run_type) {
				put_u32(w, &groups, run);
				put8(w, &groups, run_type);
				ngroups++;
				run = 0;
			}
			run_type = t;
			run++;
			expect_rpar(w);
			continue;
		}
		while (peek(w)->kind != WAT_RPAR) {
			uint8_t t = valtype(w);
			space_add(w, SP_LOCAL, NULL);
			if (run && t != run_type) {
				put_u32(w, &groups, run);
				put8(w, &groups, run_type);
				ngroups++;
				run = 0;
			}
			run_type = t;
			run++;
		}
		next(w);
	}
	if (run) {
		put_u32(w, &groups, run);
		put8(w, &groups, run_type);
		ngroups++;
	}
	put_u32(w, &body, ngroups);
	put(w, &body, groups.p, groups.len);
	instrs(w, &body);
	expect_rpar(w);
	put8(w, &body, WASM_OP_END);
	struct buf *code = &w->sec[WASM_SEC_CODE];
	put_vec(w, code, body.p, body.len);
	w->count[WASM_SEC_CODE]++;
}

/* Element list: `func x*`, `reftype elemexpr*`, or (active only) bare `x*`.
 * Writes the kind/type byte when the encoding has one (flags bit 0 or 1 set). */
struct elemlist {
	bool exprs;          /* items are expressions (else function indices) */
	uint8_t type;        /* KUMO_T_FUNCREF / KUMO_T_EXTERNREF */
	uint32_t n;
	struct buf items;
};

static void elem_list(struct wat *w, struct elemlist *el, bool allow_bare)
{
	memset(el, 0, sizeof(*el));
	el->type = KUMO_T_FUNCREF;
	if (tok_is(peek(w), "func")) {
		next(w);
	} else if (valtype_of(peek(w)) == KUMO_T_FUNCREF ||
		   valtype_of(peek(w)) == KUMO_T_EXTERNREF) {
		el->type = reftype(w);
		el->exprs = true;
	} else if (!allow_bare) {
		unexpected(w, peek(w), "`func`, `funcref` or `externref`");
	}
	if (!el->exprs) {
		while (at_index(w)) {
			put_u32(w, &el->items, index_of(w, SP_FUNC));
			el->n++;
		}
		return;
	}
	while (peek(w)->kind == WAT_LPAR) {
		if (open_kw(w, "item")) {
			expr(w, &el->items);
			expect_rpar(w);
		} else {
			w->sp[SP_LOCAL].n = 0;
			w->sp[SP_LABEL].n = 0;
			folded(w, &el->items);
			put8(w, &el->items, WASM_OP_END);
		}
		el->n++;
	}
}

/* (offset expr) or a single folded instruction. */
static void offset_expr(struct wat *w, struct buf *b)
{
	if (open_kw(w, "offset")) {
		expr(w, b);
		expect_rpar(w);
		return;
	}
	w->sp[SP_LOCAL].n = 0;
	w->sp[SP_LABEL].n = 0;
	folded(w, b);
	put8(w, b, WASM_OP_END);
}

static void write_elem(struct wat *w, int mode, uint32_t table, bool explicit_table,
		       const struct buf *offset, const struct elemlist *el)
{
	struct buf *b = &w->sec[WASM_SEC_ELEMENT];
	w->count[WASM_SEC_ELEMENT]++;
	uint8_t flags = el->exprs ? 4 : 0;
	if (mode == KUMO_SEG_PASSIVE)
		flags |= 1;
	else if (mode == KUMO_SEG_DECLARATIVE)
		flags |= 3;
	else if (table != 0 || explicit_table || el->type != KUMO_T_FUNCREF)
		flags |= 2;
	(void)explicit_table;
	put8(w, b, flags);
	if ((flags & 3) == 2)
		put_u32(w, b, table);
	if (!(flags & 1))
		put(w, b, offset->p, offset->len);
	if (flags & 3)
		put8(w, b, el->exprs ? el->type : 0x00);
	put_u32(w, b, el->n);
	put(w, b, el->items.p, el->items.len);
}

static void table_field(struct wat *w)
{
	uint32_t idx = w->cur[SP_TABLE]++;
	opt_id(w);
	inline_exports(w, KUMO_EXTERN_TABLE, idx);
	if (inline_import(w, KUMO_EXTERN_TABLE)) {
		tabletype(w, &w->sec[WASM_SEC_IMPORT]);
		expect_rpar(w);
		return;
	}
	struct buf *b = &w->sec[WASM_SEC_TABLE];
	w->count[WASM_SEC_TABLE]++;
	int rt = valtype_of(peek(w));
	if (rt == KUMO_T_FUNCREF || rt == KUMO_T_EXTERNREF) {
		/* table reftype (elem ...): sized to the segment, which fills it from 0. */
		next(w);
		expect_lpar(w);
		expect_kw(w, "elem");
		struct elemlist el;
		if (peek(w)->kind == WAT_LPAR) {
			memset(&el, 0, sizeof(el));
			el.type = (uint8_t)rt;
			el.exprs = true;
			while (peek(w)->kind == WAT_LPAR) {
				if (open_kw(w, "item")) {
					expr(w, &el.items);
					expect_rpar(w);
				} else {
					folded(w, &el.items);
					put8(w, &el.items, WASM_OP_END);
				}
				el.n++;
			}
		} else {
			elem_list(w, &el, true);
			el.type = (uint8_t)rt;
		}
		expect_rpar(w);
		put8(w, b, (uint8_t)rt);
		put8(w, b, 1);
		put_u32(w, b, el.n);
		put_u32(w, b, el.n);
		struct buf off = { 0 };
		put8(w, &off, WASM_OP_I32_CONST);
		put8(w, &off, 0);
		put8(w, &off, WASM_OP_END);
		w->cur[SP_ELEM]++;
		write_elem(w, KUMO_SEG_ACTIVE, idx, idx != 0, &off, &el);
	} else {
		tabletype(w, b);
	}
	expect_rpar(w);
}

static void data_strings(struct wat *w, struct buf *b)
{
	while (peek(w)->kind == WAT_STRING) {
		uint8_t *s;
		size_t n = wat_string(w, next(w), &s);
		put(w, b, s, n);
	}
}

static void memory_field(struct wat *w)
{
	uint32_t idx = w->cur[SP_MEM]++;
	opt_id(w);
	inline_exports(w, KUMO_EXTERN_MEMORY, idx);
	if (inline_import(w, KUMO_EXTERN_MEMORY)) {
		limits(w, &w->sec[WASM_SEC_IMPORT]);
		expect_rpar(w);
		return;
	}
	struct buf *b = &w->sec[WASM_SEC_MEMORY];
	w->count[WASM_SEC_MEMORY]++;
	if (open_kw(w, "data")) {
		struct buf bytes = { 0 };
		data_strings(w, &bytes);
		expect_rpar(w);
		uint64_t pages = (bytes.len + 65535) / 65536;
		put8(w, b, 1);
		put_u32(w, b, pages);
		put_u32(w, b, pages);
		struct buf *d = &w->sec[WASM_SEC_DATA];
		w->count[WASM_SEC_DATA]++;
		w->cur[SP_DATA]++;
		if (idx == 0) {
			put8(w, d, 0);
		} else {
			put8(w, d, 2);
			put_u32(w, d, idx);
		}
		put8(w, d, WASM_OP_I32_CONST);
		put8(w, d, 0);
		put8(w, d, WASM_OP_END);
		put_vec(w, d, bytes.p, bytes.len);
	} else {
		if (tok_is(peek(w), "i64"))
			wat_fail(w, peek(w), "unsupported feature `memory64`");
		limits(w, b);
	}
	expect_rpar(w);
}

static void global_field(struct wat *w)
{
	uint32_t idx = w->cur[SP_GLOBAL]++;
	opt_id(w);
	inline_exports(w, KUMO_EXTERN_GLOBAL, idx);
	if (inline_import(w, KUMO_EXTERN_GLOBAL)) {
		globaltype(w, &w->sec[WASM_SEC_IMPORT]);
		expect_rpar(w);
		return;
	}
	struct buf *b = &w->sec[WASM_SEC_GLOBAL];
	w->count[WASM_SEC_GLOBAL]++;
	globaltype(w, b);
	expr(w, b);
	expect_rpar(w);
}

static void import_field(struct wat *w)
{
	struct buf *b = &w->sec[WASM_SEC_IMPORT];
	name(w, b);
	name(w, b);
	w->count[WASM_SEC_IMPORT]++;
	expect_lpar(w);
	struct wat_tok *k = next(w);
	opt_id(w);
	if (tok_is(k, "func")) {
		put8(w, b, KUMO_EXTERN_FUNC);
		w->cur[SP_FUNC]++;
		struct typeuse tu;
		w->sp[SP_LOCAL].n = 0;
		parse_typeuse(w, &tu, IDS_IGNORE);
		put_u32(w, b, resolve_typeuse(w, &tu));
	} else if (tok_is(k, "table")) {
		put8(w, b, KUMO_EXTERN_TABLE);
		w->cur[SP_TABLE]++;
		tabletype(w, b);
	} else if (tok_is(k, "memory")) {
		put8(w, b, KUMO_EXTERN_MEMORY);
		w->cur[SP_MEM]++;
		limits(w, b);
	} else if (tok_is(k, "global")) {
		put8(w, b, KUMO_EXTERN_GLOBAL);
		w->cur[SP_GLOBAL]++;
		globaltype(w, b);
	} else {
		unexpected(w, k, "`func`, `table`, `memory` or `global`");
	}
	expect_rpar(w);
	expect_rpar(w);
}

static void export_field(struct wat *w)
{
	struct buf *b = &w->sec[WASM_SEC_EXPORT];
	name(w, b);
	expect_lpar(w);
	struct wat_tok *k = next(w);
	if (tok_is(k, "func")) {
		put8(w, b, KUMO_EXTERN_FUNC);
		put_u32(w, b, index_of(w, SP_FUNC));
	} else if (tok_is(k, "table")) {
		put8(w, b, KUMO_EXTERN_TABLE);
		put_u32(w, b, index_of(w, SP_TABLE));
	} else if (tok_is(k, "memory")) {
		put8(w, b, KUMO_EXTERN_MEMORY);
		put_u32(w, b, index_of(w, SP_MEM));
	} else if (tok_is(k, "global")) {
		put8(w, b, KUMO_EXTERN_GLOBAL);
		put_u32(w, b, index_of(w, SP_GLOBAL));
	} else {
		unexpected(w, k, "`func`, `table`, `memory` or `global`");
	}
	w->count[WASM_SEC_EXPORT]++;
	expect_rpar(w);
	expect_rpar(w);
}

static void elem_field(struct wat *w)
{
	w->cur[SP_ELEM]++;
	opt_id(w);
	struct elemlist el;
	struct buf off = { 0 };
	if (tok_is(peek(w), "declare")) {
		next(w);
		elem_list(w, &el, false);
		write_elem(w, KUMO_SEG_DECLARATIVE, 0, false, &off, &el);
	} else if (peek(w)->kind == WAT_LPAR) {
		uint32_t table = 0;
		bool explicit_table = false;
		if (open_kw(w, "table")) {
			table = index_of(w, SP_TABLE);
			explicit_table = true;
			expect_rpar(w);
		}
		offset_expr(w, &off);
		elem_list(w, &el, true);
		write_elem(w, KUMO_SEG_ACTIVE, table, explicit_table, &off, &el);
	} else if (at_index(w)) {
		/* (elem x* ...) is not a thing; an index here is a table use without parens. */
		unexpected(w, peek(w), "an element list");
	} else {
		elem_list(w, &el, false);
		write_elem(w, KUMO_SEG_PASSIVE, 0, false, &off, &el);
	}
	expect_rpar(w);
}

static void data_field(struct wat *w)
{
	w->cur[SP_DATA]++;
	opt_id(w);
	struct buf *b = &w->sec[WASM_SEC_DATA];
	w->count[WASM_SEC_DATA]++;
	if (peek(w)->kind == WAT_LPAR) {
		uint32_t mem = 0;
		if (open_kw(w, "memory")) {
			mem = index_of(w, SP_MEM);
			expect_rpar(w);
		}
		if (mem == 0) {
			put8(w, b, 0);
		} else {
			put8(w, b, 2);
			put_u32(w, b, mem);
		}
		offset_expr(w, b);
	} else {
		put8(w, b, 1);
	}
	struct buf bytes = { 0 };
	data_strings(w, &bytes);
	put_vec(w, b, bytes.p, bytes.len);
	expect_rpar(w);
}

/* Pass 1: the identifiers of every index space and the explicit types, so that pass 2
 * can resolve forward references. `w->pos` is at the first field. */
static void scan_fields(struct wat *w)
{
	uint32_t start = w->pos;
	while (peek(w)->kind == WAT_LPAR) {
		next(w);
		struct wat_tok *k = next(w);
		if (tok_is(k, "type")) {
			space_add(w, SP_TYPE, opt_id(w));
			expect_lpar(w);
			expect_kw(w, "func");
			struct ftype ft;
			params_results(w, &ft, IDS_IGNORE);
			expect_rpar(w);
			expect_rpar(w);
			add_type(w, &ft);
			w->count[WASM_SEC_TYPE]++;
			continue;
		}
		if (tok_is(k, "import")) {
			if (w->seen_definition)
				wat_fail(w, k, "import after a function, table, memory or global definition");
			next(w);
			next(w);
			expect_lpar(w);
			struct wat_tok *kind = next(w);
			enum space_kind sk = tok_is(kind, "func") ? SP_FUNC :
					     tok_is(kind, "table") ? SP_TABLE :
					     tok_is(kind, "memory") ? SP_MEM :
					     tok_is(kind, "global") ? SP_GLOBAL : SP_COUNT;
			if (sk == SP_COUNT)
				unexpected(w, kind, "`func`, `table`, `memory` or `global`");
			space_add(w, sk, opt_id(w));
			skip_form(w);
			skip_form(w);
			continue;
		}
		enum space_kind sk = tok_is(k, "func") ? SP_FUNC :
				     tok_is(k, "table") ? SP_TABLE :
				     tok_is(k, "memory") ? SP_MEM :
				     tok_is(k, "global") ? SP_GLOBAL :
				     tok_is(k, "elem") ? SP_ELEM :
				     tok_is(k, "data") ? SP_DATA : SP_COUNT;
		if (sk == SP_COUNT) {
			if (!tok_is(k, "export") && !tok_is(k, "start"))
				unexpected(w, k, "a module field");
			skip_form(w);
			continue;
		}
		space_add(w, sk, opt_id(w));
		if (sk == SP_ELEM || sk == SP_DATA) {
			skip_form(w);
			continue;
		}
		while (open_kw(w, "export"))
			skip_form(w);
		if (at_open_kw(w, "import")) {
			if (w->seen_definition)
				wat_fail(w, k, "import after a function, table, memory or global definition");
		} else {
			w->seen_definition = true;
			if (sk == SP_TABLE && valtype_of(peek(w)) >= 0 && peek2(w)->kind == WAT_LPAR)
				space_add(w, SP_ELEM, NULL);
			if (sk == SP_MEM && at_open_kw(w, "data"))
				space_add(w, SP_DATA, NULL);
		}
		skip_form(w);
	}
	w->pos = start;
}

static void emit_fields(struct wat *w)
{
	while (peek(w)->kind == WAT_LPAR) {
		next(w);
		struct wat_tok *k = next(w);
		if (tok_is(k, "type")) {
			skip_form(w);
		} else if (tok_is(k, "import")) {
			import_field(w);
		} else if (tok_is(k, "func")) {
			func_field(w);
		} else if (tok_is(k, "table")) {
			table_field(w);
		} else if (tok_is(k, "memory")) {
			memory_field(w);
		} else if (tok_is(k, "global")) {
			global_field(w);
		} else if (tok_is(k, "export")) {
			export_field(w);
		} else if (tok_is(k, "start")) {
			if (w->has_start)
				wat_fail(w, k, "multiple start sections");
			w->has_start = true;
			put_u32(w, &w->sec[WASM_SEC_START], index_of(w, SP_FUNC));
			expect_rpar(w);
		} else if (tok_is(k, "elem")) {
			elem_field(w);
		} else if (tok_is(k, "data")) {
			data_field(w);
		} else {
			unexpected(w, k, "a module field");
		}
	}
}

static void section(struct wat *w, struct buf *out, uint8_t id, bool counted)
{
	struct buf *s = &w->sec[id];
	if (id == WASM_SEC_START ? !w->has_start : w->count[id] == 0)
		return;
	struct buf body = { 0 };
	if (counted)
		put_u32(w, &body, w->count[id]);
	put(w, &body, s->p, s->len);
	put8(w, out, id);
	put_vec(w, out, body.p, body.len);
}

static void type_section(struct wat *w, struct buf *out)
{
	if (!w->ntypes)
		return;
	struct buf body = { 0 };
	put_u32(w, &body, w->ntypes);
	for (uint32_t i = 0; i < w->ntypes; i++) {
		const struct ftype *t = &w->types[i];
		put8(w, &body, 0x60);
		put_vec(w, &body, t->v, t->np);
		put_vec(w, &body, t->v + t->np, t->nr);
	}
	put8(w, out, WASM_SEC_TYPE);
	put_vec(w, out, body.p, body.len);
}

static void module_body(struct wat *w, struct buf *out)
{
	scan_fields(w);
	emit_fields(w);
	put(w, out, "\0asm\1\0\0\0", 8);
	type_section(w, out);
	section(w, out, WASM_SEC_IMPORT, true);
	section(w, out, WASM_SEC_FUNCTION, true);
	section(w, out, WASM_SEC_TABLE, true);
	section(w, out, WASM_SEC_MEMORY, true);
	section(w, out, WASM_SEC_GLOBAL, true);
	section(w, out, WASM_SEC_EXPORT, true);
	section(w, out, WASM_SEC_START, false);
	section(w, out, WASM_SEC_ELEMENT, true);
	if (w->uses_data_count && w->count[WASM_SEC_DATA]) {
		struct buf c = { 0 };
		put_u32(w, &c, w->count[WASM_SEC_DATA]);
		put8(w, out, WASM_SEC_DATA_COUNT);
		put_vec(w, out, c.p, c.len);
	}
	section(w, out, WASM_SEC_CODE, true);
	section(w, out, WASM_SEC_DATA, true);
}

static void assemble(struct wat *w, const char *text, size_t len, struct buf *out)
{
	struct wat_lexed lx;
	wat_lex(w, text, len, &lx);
	w->toks = lx.toks;
	w->ntoks = lx.ntoks;
	w->pos = 0;
	if (open_kw(w, "module")) {
		opt_id(w);
		if (tok_is(peek(w), "binary") || tok_is(peek(w), "quote")) {
			bool quote = tok_is(next(w), "quote");
			struct buf bytes = { 0 };
			data_strings(w, &bytes);
			expect_rpar(w);
			if (peek(w)->kind != WAT_EOF)
				unexpected(w, peek(w), "end of input");
			if (!quote) {
				*out = bytes;
				return;
			}
			struct wat inner = { .e = w->e, .arena = w->arena };
			memcpy(inner.unwind, w->unwind, sizeof(jmp_buf));
			assemble(&inner, bytes.p ? (const char *)bytes.p : "", bytes.len, out);
			return;
		}
		module_body(w, out);
		expect_rpar(w);
		if (peek(w)->kind != WAT_EOF)
			unexpected(w, peek(w), "end of input");
		return;
	}
	module_body(w, out);
	if (peek(w)->kind != WAT_EOF)
		unexpected(w, peek(w), "a module field");
}

int wat_assemble(const char *text, size_t len, struct wasm_arena *arena, const uint8_t **out,
		 size_t *out_len, struct wat_error *e)
{
	memset(e, 0, sizeof(*e));
	struct wat *w = arena_alloc(arena, sizeof(*w));
	w->e = e;
	w->arena = arena;
	struct buf result = { 0 };
	if (setjmp(w->unwind))
		return -1;
	assemble(w, text, len, &result);
	*out = result.p ? result.p : (const uint8_t *)"";
	*out_len = result.len;
	return 0;
}

bool wat_is_text(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = bytes[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		return c == '(' || (c == ';' && i + 1 < len && bytes[i + 1] == ';');
	}
	return false;
}
