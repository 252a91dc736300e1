/* compiler/decode.c - the WebAssembly 2.0 binary decoder: bytes -> struct wasm_module. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compiler/compiler.h"
#include "compiler/module.h"
#include "compiler/opcodes.h"
#include "compiler/reader.h"

struct decoder {
	struct wasm_module *m;
	struct wasm_error *e;
	bool failed;
	uint32_t nfunc_decls; /* entries in the function section */
	bool has_func_section;
	bool has_code_section;
	bool has_data_section;
};

static int vfail(struct decoder *d, size_t offset, bool malformed, bool unsupported,
		 const char *fmt, va_list ap)
{
	if (d->failed)
		return -1;
	d->failed = true;
	vsnprintf(d->e->msg, sizeof(d->e->msg), fmt, ap);
	d->e->offset = offset;
	d->e->malformed = malformed;
	d->e->unsupported = unsupported;
	return -1;
}

__attribute__((format(printf, 3, 4)))
static int malformed(struct decoder *d, size_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(d, offset, true, false, fmt, ap);
	va_end(ap);
	return -1;
}

static int unsupported(struct decoder *d, size_t offset, const char *feature)
{
	if (d->failed)
		return -1;
	d->failed = true;
	snprintf(d->e->msg, sizeof(d->e->msg), "unsupported feature `%s`", feature);
	d->e->offset = offset;
	d->e->malformed = false;
	d->e->unsupported = true;
	return -1;
}

/* Turns a sticky reader failure into the decoder's error. */
static int check(struct decoder *d, struct wasm_reader *r)
{
	if (d->failed)
		return -1;
	if (!r->failed)
		return 0;
	d->failed = true;
	snprintf(d->e->msg, sizeof(d->e->msg), "%s", r->err ? r->err : "unexpected end");
	d->e->offset = r->err_offset;
	d->e->malformed = true;
	d->e->unsupported = false;
	return -1;
}

/* A count or size over one of kumo's limits (compiler.h): refused before anything is
 * allocated for it. limit 0 is no limit. */
static int over(struct decoder *d, size_t offset, const char *what, uint64_t have, uint64_t limit,
		const char *key)
{
	if (!limit || have <= limit)
		return 0;
	if (d->failed)
		return -1;
	d->failed = true;
	wasm_limit_error(d->e, offset, what, have, limit, key);
	return -1;
}

/* Vector lengths: every element takes at least one byte, so a count larger than what
 * is left is truncated input (and must not drive a huge allocation). */
static int read_count(struct decoder *d, struct wasm_reader *r, uint32_t *out)
{
	size_t off = reader_offset(r);
	uint32_t n = read_u32(r);
	if (check(d, r) < 0)
		return -1;
	if (n > reader_left(r))
		return malformed(d, off, "unexpected end of section or function");
	*out = n;
	return 0;
}

static bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t n;
		if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1f;
			n = 1;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0f;
			n = 2;
		} else if ((c & 0xf8) == 0xf0) {
			cp = c & 0x07;
			n = 3;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			uint8_t cc = s[i + k];
			if ((cc & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (cc & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000))
			return false; /* overlong */
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static int read_name(struct decoder *d, struct wasm_reader *r, struct wasm_name *out)
{
	size_t off = reader_offset(r);
	uint32_t len = read_u32(r);
	const uint8_t *p = read_bytes(r, len);
	if (check(d, r) < 0)
		return -1;
	if (!utf8_valid(p, len))
		return malformed(d, off, "malformed UTF-8 encoding");
	out->ptr = (const char *)p;
	out->len = len;
	return 0;
}

static int read_valtype(struct decoder *d, struct wasm_reader *r, wasm_valtype *out)
{
	size_t off = reader_offset(r);
	uint8_t b = read_u8(r);
	if (check(d, r) < 0)
		return -1;
	switch (b) {
	case KUMO_T_I32:
	case KUMO_T_I64:
	case KUMO_T_F32:
	case KUMO_T_F64:
	case KUMO_T_V128:
	case KUMO_T_FUNCREF:
	case KUMO_T_EXTERNREF:
		*out = b;
		return 0;
	case 0x64: /* (ref ht) */
	case 0x63: /* (ref null ht) */
		return unsupported(d, off, "function references");
	case 0x6e: case 0x6d: case 0x6c: case 0x6b: case 0x6a: /* any eq i31 struct array */
	case 0x71: case 0x72: case 0x73:                       /* none noextern nofunc */
		return unsupported(d, off, "GC");
	case 0x69: case 0x74: /* exnref, nullexnref */
		return unsupported(d, off, "exception handling");
	default:
		return malformed(d, off, "malformed value type");
	}
}

static int read_reftype(struct decoder *d, struct wasm_reader *r, wasm_valtype *out)
{
	size_t off = reader_offset(r);
	uint8_t b = r->p < r->end ? *r->p : 0;
	if (b == KUMO_T_FUNCREF || b == KUMO_T_EXTERNREF) {
		*out = read_u8(r);
		return check(d, r);
	}
	if (read_valtype(d, r, out) < 0)
		return -1;
	return malformed(d, off, "malformed reference type");
}

static int read_limits(struct decoder *d, struct wasm_reader *r, struct wasm_limits *l,
		       bool memory)
{
	size_t off = reader_offset(r);
	uint8_t flags = read_u8(r);
	if (check(d, r) < 0)
		return -1;
	if (memory && (flags == 0x02 || flags == 0x03))
		return unsupported(d, off, "threads");
	if (memory && flags >= 0x04 && flags <= 0x07)
		return unsupported(d, off, "memory64");
	if (flags > 1)
		return malformed(d, off, "integer too large");
	l->min = read_u32(r);
	l->has_max = flags & 1;
	if (l->has_max)
		l->max = read_u32(r);
	return check(d, r);
}

static int read_tabletype(struct decoder *d, struct wasm_reader *r, struct wasm_tabletype *t)
{
	if (read_reftype(d, r, &t->elem_type) < 0)
		return -1;
	size_t off = reader_offset(r);
	if (read_limits(d, r, &t->limits, false) < 0)
		return -1;
	return over(d, off, "initial table entries", t->limits.min,
		    kumo_compile_limits()->max_table_entries, "max_table_entries");
}

static int read_globaltype(struct decoder *d, struct wasm_reader *r, struct wasm_globaltype *g)
{
	if (read_valtype(d, r, &g->type) < 0)
		return -1;
	size_t off = reader_offset(r);
	uint8_t mut = read_u8(r);
	if (check(d, r) < 0)
		return -1;
	if (mut > 1)
		return malformed(d, off, "malformed mutability");
	g->mutable_ = mut;
	return 0;
}

/* The immediates of a 0xFD instruction (after the prefix), skipped. */
static int skip_simd_immediates(struct decoder *d, struct wasm_reader *r, size_t off)
{
	uint32_t sub = read_u32(r);
	if (check(d, r) < 0)
		return -1;
	const struct wasm_simd_info *si = wasm_simd_info(sub);
	if (!si)
		return sub >= 0x100 && sub <= 0x113 ? unsupported(d, off, "relaxed SIMD")
						     : malformed(d, off, "illegal opcode");
	switch (si->imm) {
	case 'm':
		read_u32(r);
		read_u32(r);
		break;
	case 'L':
		read_u32(r);
		read_u32(r);
		read_u8(r);
		break;
	case 'l':
		read_u8(r);
		break;
	case 's':
	case 'c':
		read_bytes(r, 16);
		break;
	}
	return check(d, r);
}

/* Skips the immediates of a non-constant instruction inside a constant expression,
 * just far enough to find the expression's `end`; the expression is refused later. */
static int skip_immediates(struct decoder *d, struct wasm_reader *r, uint8_t op, size_t off)
{
	switch (op) {
	case WASM_OP_BLOCK:
	case WASM_OP_LOOP:
	case WASM_OP_IF:
		read_sleb(r, 33);
		break;
	case WASM_OP_BR:
	case WASM_OP_BR_IF:
	case WASM_OP_CALL:
	case WASM_OP_LOCAL_GET:
	case WASM_OP_LOCAL_SET:
	case WASM_OP_LOCAL_TEE:
	case WASM_OP_GLOBAL_SET:
	case WASM_OP_TABLE_GET:
	case WASM_OP_TABLE_SET:
	case WASM_OP_MEMORY_SIZE:
	case WASM_OP_MEMORY_GROW:
		read_u32(r);
		break;
	case WASM_OP_CALL_INDIRECT:
		read_u32(r);
		read_u32(r);
		break;
	case WASM_OP_BR_TABLE: {
		uint32_t n;
		if (read_count(d, r, &n) < 0)
			return -1;
		for (uint32_t i = 0; i <= n && !r->failed; i++)
			read_u32(r);
		break;
	}
	case WASM_OP_SELECT_T: {
		uint32_t n;
		if (read_count(d, r, &n) < 0)
			return -1;
		for (uint32_t i = 0; i < n; i++) {
			wasm_valtype t;
			if (read_valtype(d, r, &t) < 0)
				return -1;
		}
		break;
	}
	case WASM_OP_PREFIX_FC: {
		uint32_t sub = read_u32(r);
		if (check(d, r) < 0)
			return -1;
		switch (sub) {
		case WASM_FC_MEMORY_INIT:
		case WASM_FC_TABLE_INIT:
		case WASM_FC_MEMORY_COPY:
		case WASM_FC_TABLE_COPY:
			read_u32(r);
			read_u32(r);
			break;
		case WASM_FC_DATA_DROP:
		case WASM_FC_MEMORY_FILL:
		case WASM_FC_ELEM_DROP:
		case WASM_FC_TABLE_GROW:
		case WASM_FC_TABLE_SIZE:
		case WASM_FC_TABLE_FILL:
			read_u32(r);
			break;
		default:
			if (sub >= WASM_FC_COUNT)
				return malformed(d, off, "illegal opcode");
		}
		break;
	}
	case WASM_OP_PREFIX_SIMD:
		return skip_simd_immediates(d, r, off);
	case WASM_OP_PREFIX_THREADS:
		return unsupported(d, off, "threads");
	default:
		if (op >= 0x28 && op <= 0x3e) { /* memarg */
			read_u32(r);
			read_u32(r);
		} else if (!wasm_opcode_name(op) || op == WASM_OP_PREFIX_GC) {
			return malformed(d, off, "illegal opcode");
		}
	}
	return check(d, r);
}

/* Reasons stored in wasm_constexpr.index when kind == 0 (the expression is refused by
 * validate.c; decode only records why). */
#define CE_REQUIRED 1       /* a non-constant instruction */
#define CE_ARITY 2          /* zero or several values */

static int read_constexpr(struct decoder *d, struct wasm_reader *r, struct wasm_constexpr *ce)
{
	memset(ce, 0, sizeof(*ce));
	ce->offset = (uint32_t)reader_offset(r);
	uint32_t n = 0;
	bool nonconst = false;
	for (;;) {
		size_t off = reader_offset(r);
		uint8_t op = read_u8(r);
		if (check(d, r) < 0)
			return -1;
		if (op == WASM_OP_END)
			break;
		n++;
		struct wasm_constexpr cur = { .offset = ce->offset };
		switch (op) {
		case WASM_OP_I32_CONST:
			cur.kind = KUMO_CONST_I32;
			cur.bits = (uint32_t)read_sleb(r, 32);
			break;
		case WASM_OP_I64_CONST:
			cur.kind = KUMO_CONST_I64;
			cur.bits = (uint64_t)read_sleb(r, 64);
			break;
		case WASM_OP_F32_CONST:
			cur.kind = KUMO_CONST_F32;
			cur.bits = read_f32_bits(r);
			break;
		case WASM_OP_F64_CONST:
			cur.kind = KUMO_CONST_F64;
			cur.bits = read_f64_bits(r);
			break;
		case WASM_OP_REF_NULL: {
			wasm_valtype t;
			if (read_reftype(d, r, &t) < 0)
				return -1;
			cur.kind = KUMO_CONST_REF_NULL;
			cur.index = t;
			break;
		}
		case WASM_OP_REF_FUNC:
			cur.kind = KUMO_CONST_REF_FUNC;
			cur.index = read_u32(r);
			break;
		case WASM_OP_GLOBAL_GET:
			cur.kind = KUMO_CONST_GLOBAL_GET;
			cur.index = read_u32(r);
			break;
		case WASM_OP_PREFIX_SIMD: {
			const uint8_t *sub_at = r->p;
			if (read_u32(r) == WASM_SIMD_V128_CONST && !r->failed) {
				cur.kind = KUMO_CONST_V128;
				cur.bits = read_f64_bits(r);
				cur.bits_hi = read_f64_bits(r);
				break;
			}
			if (check(d, r) < 0)
				return -1;
			r->p = sub_at;
			nonconst = true;
			if (skip_immediates(d, r, op, off) < 0)
				return -1;
			break;
		}
		default:
			nonconst = true;
			if (skip_immediates(d, r, op, off) < 0)
				return -1;
		}
		if (check(d, r) < 0)
			return -1;
		if (n == 1)
			*ce = cur;
	}
	if (nonconst || n != 1) {
		ce->kind = 0;
		ce->index = nonconst ? CE_REQUIRED : CE_ARITY;
	}
	return 0;
}

/* --- sections ------------------------------------------------------------------- */

static int sec_type(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	size_t off0 = reader_offset(r);
	if (read_count(d, r, &m->ntypes) < 0 ||
	    over(d, off0, "types", m->ntypes, kumo_compile_limits()->max_types, "max_types") < 0)
		return -1;
	m->types = arena_array(&m->arena, m->ntypes, sizeof(*m->types));
	for (uint32_t i = 0; i < m->ntypes; i++) {
		struct wasm_functype *ft = &m->types[i];
		size_t off = reader_offset(r);
		uint8_t form = read_u8(r);
		if (check(d, r) < 0)
			return -1;
		if (form == 0x5e || form == 0x5f || form == 0x4e || form == 0x4f || form == 0x50)
			return unsupported(d, off, "GC");
		if (form != 0x60)
			return malformed(d, off, "integer representation too long");
		if (read_count(d, r, &ft->nparams) < 0)
			return -1;
		ft->params = arena_array(&m->arena, ft->nparams, 1);
		for (uint32_t k = 0; k < ft->nparams; k++)
			if (read_valtype(d, r, &ft->params[k]) < 0)
				return -1;
		if (read_count(d, r, &ft->nresults) < 0)
			return -1;
		ft->results = arena_array(&m->arena, ft->nresults, 1);
		for (uint32_t k = 0; k < ft->nresults; k++)
			if (read_valtype(d, r, &ft->results[k]) < 0)
				return -1;
	}
	return 0;
}

static int sec_import(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	size_t off0 = reader_offset(r);
	if (read_count(d, r, &m->nimports) < 0 ||
	    over(d, off0, "imports", m->nimports, kumo_compile_limits()->max_imports, "max_imports") < 0)
		return -1;
	m->imports = arena_array(&m->arena, m->nimports, sizeof(*m->imports));
	for (uint32_t i = 0; i < m->nimports; i++) {
		struct wasm_import *im = &m->imports[i];
		im->offset = (uint32_t)reader_offset(r);
		if (read_name(d, r, &im->module) < 0 || read_name(d, r, &im->field) < 0)
			return -1;
		size_t off = reader_offset(r);
		uint8_t kind = read_u8(r);
		if (check(d, r) < 0)
			return -1;
		im->kind = kind;
		switch (kind) {
		case KUMO_EXTERN_FUNC:
			im->type_idx = read_u32(r);
			if (check(d, r) < 0)
				return -1;
			m->nimported_funcs++;
			break;
		case KUMO_EXTERN_TABLE:
			if (read_tabletype(d, r, &im->table) < 0)
				return -1;
			m->nimported_tables++;
			if (over(d, off, "tables", m->nimported_tables, kumo_compile_limits()->max_tables,
				 "max_tables") < 0)
				return -1;
			break;
		case KUMO_EXTERN_MEMORY:
			if (read_limits(d, r, &im->memory, true) < 0)
				return -1;
			m->nimported_memories++;
			break;
		case KUMO_EXTERN_GLOBAL:
			if (read_globaltype(d, r, &im->global) < 0)
				return -1;
			m->nimported_globals++;
			break;
		case 4:
			return unsupported(d, off, "exception handling");
		default:
			return malformed(d, off, "malformed import kind");
		}
	}
	return 0;
}

static int sec_function(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	uint32_t n;
	size_t off0 = reader_offset(r);
	if (read_count(d, r, &n) < 0 ||
	    over(d, off0, "functions", n, kumo_compile_limits()->max_functions, "max_functions") < 0)
		return -1;
	d->nfunc_decls = n;
	d->has_func_section = true;
	m->nfuncs = m->nimported_funcs + n;
	m->funcs = arena_array(&m->arena, m->nfuncs, sizeof(*m->funcs));
	for (uint32_t i = 0; i < n; i++)
		m->funcs[m->nimported_funcs + i].type_idx = read_u32(r);
	return check(d, r);
}

static int sec_table(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	uint32_t n;
	size_t off0 = reader_offset(r);
	if (read_count(d, r, &n) < 0 ||
	    over(d, off0, "tables", (uint64_t)m->nimported_tables + n,
		 kumo_compile_limits()->max_tables, "max_tables") < 0)
		return -1;
	m->ntables = m->nimported_tables + n;
	m->tables = arena_array(&m->arena, m->ntables, sizeof(*m->tables));
	for (uint32_t i = 0; i < n; i++) {
		size_t off = reader_offset(r);
		if (r->p < r->end && *r->p == 0x40)
			return unsupported(d, off, "function references"); /* table with init expr */
		if (read_tabletype(d, r, &m->tables[m->nimported_tables + i]) < 0)
			return -1;
	}
	return 0;
}

static int sec_memory(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	uint32_t n;
	if (read_count(d, r, &n) < 0)
		return -1;
	m->nmemories = m->nimported_memories + n;
	m->memories = arena_array(&m->arena, m->nmemories, sizeof(*m->memories));
	for (uint32_t i = 0; i < n; i++)
		if (read_limits(d, r, &m->memories[m->nimported_memories + i], true) < 0)
			return -1;
	return 0;
}

static int sec_global(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	uint32_t n;
	size_t off0 = reader_offset(r);
	if (read_count(d, r, &n) < 0 ||
	    over(d, off0, "globals", n, kumo_compile_limits()->max_globals, "max_globals") < 0)
		return -1;
	m->nglobals = m->nimported_globals + n;
	m->globals = arena_array(&m->arena, m->nglobals, sizeof(*m->globals));
	for (uint32_t i = 0; i < n; i++) {
		struct wasm_global *g = &m->globals[m->nimported_globals + i];
		if (read_globaltype(d, r, &g->type) < 0 || read_constexpr(d, r, &g->init) < 0)
			return -1;
	}
	return 0;
}

static int sec_export(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	size_t off0 = reader_offset(r);
	if (read_count(d, r, &m->nexports) < 0 ||
	    over(d, off0, "exports", m->nexports, kumo_compile_limits()->max_exports, "max_exports") < 0)
		return -1;
	m->exports = arena_array(&m->arena, m->nexports, sizeof(*m->exports));
	for (uint32_t i = 0; i < m->nexports; i++) {
		struct wasm_export *ex = &m->exports[i];
		if (read_name(d, r, &ex->name) < 0)
			return -1;
		size_t off = reader_offset(r);
		ex->kind = read_u8(r);
		ex->index = read_u32(r);
		if (check(d, r) < 0)
			return -1;
		if (ex->kind == 4)
			return unsupported(d, off, "exception handling");
		if (ex->kind > KUMO_EXTERN_GLOBAL)
			return malformed(d, off, "malformed export kind");
	}
	return 0;
}

static int sec_start(struct decoder *d, struct wasm_reader *r)
{
	d->m->has_start = true;
	d->m->start = read_u32(r);
	return check(d, r);
}

static int sec_element(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	size_t off0 = reader_offset(r);
	if (read_count(d, r, &m->nelems) < 0 ||
	    over(d, off0, "element segments", m->nelems, kumo_compile_limits()->max_element_segments,
		 "max_element_segments") < 0)
		return -1;
	m->elems = arena_array(&m->arena, m->nelems, sizeof(*m->elems));
	for (uint32_t i = 0; i < m->nelems; i++) {
		struct wasm_elem *el = &m->elems[i];
		el->section_offset = (uint32_t)reader_offset(r);
		uint32_t flags = read_u32(r);
		if (check(d, r) < 0)
			return -1;
		if (flags > 7)
			return malformed(d, el->section_offset, "malformed elements segment kind");
		bool passive_or_decl = flags & 1;
		bool explicit_table = flags & 2;
		bool exprs = flags & 4;
		el->elem_type = KUMO_T_FUNCREF;
		if (!passive_or_decl) {
			el->mode = KUMO_SEG_ACTIVE;
			if (explicit_table)
				el->table = read_u32(r);
			if (check(d, r) < 0 || read_constexpr(d, r, &el->offset) < 0)
				return -1;
		} else {
			el->mode = explicit_table ? KUMO_SEG_DECLARATIVE : KUMO_SEG_PASSIVE;
		}
		/* Encodings 0 and 4 have neither an element kind nor a reference type. */
		if (flags & 3) {
			if (exprs) {
				if (read_reftype(d, r, &el->elem_type) < 0)
					return -1;
			} else {
				size_t off = reader_offset(r);
				uint8_t kind = read_u8(r);
				if (check(d, r) < 0)
					return -1;
				if (kind != 0)
					return malformed(d, off, "malformed element kind");
			}
		}
		size_t count_off = reader_offset(r);
		if (read_count(d, r, &el->count) < 0 ||
		    over(d, count_off, "entries of one element segment", el->count,
			 kumo_compile_limits()->max_table_entries, "max_table_entries") < 0)
			return -1;
		el->items = arena_array(&m->arena, el->count, sizeof(*el->items));
		for (uint32_t k = 0; k < el->count; k++) {
			if (exprs) {
				if (read_constexpr(d, r, &el->items[k]) < 0)
					return -1;
			} else {
				el->items[k].offset = (uint32_t)reader_offset(r);
				el->items[k].kind = KUMO_CONST_REF_FUNC;
				el->items[k].index = read_u32(r);
				if (check(d, r) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static int sec_data_count(struct decoder *d, struct wasm_reader *r)
{
	d->m->has_data_count = true;
	d->m->data_count = read_u32(r);
	return check(d, r);
}

static int sec_code(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	size_t off = reader_offset(r);
	uint32_t n;
	if (read_count(d, r, &n) < 0)
		return -1;
	d->has_code_section = true;
	if (n != d->nfunc_decls)
		return malformed(d, off, "function and code section have inconsistent lengths");
	for (uint32_t i = 0; i < n; i++) {
		struct wasm_func *f = &m->funcs[m->nimported_funcs + i];
		size_t size_off = reader_offset(r);
		uint32_t size = read_u32(r);
		const uint8_t *body = read_bytes(r, size);
		if (check(d, r) < 0 ||
		    over(d, size_off, "bytes of one function body", size,
			 kumo_compile_limits()->max_function_bytes, "max_function_bytes") < 0)
			return -1;
		struct wasm_reader br;
		reader_init(&br, r->base, body, body + size);
		uint32_t ngroups;
		if (read_count(d, &br, &ngroups) < 0)
			return -1;
		/* First pass: the total, so the expansion is one allocation. */
		const uint8_t *groups = br.p;
		uint64_t total = 0;
		for (uint32_t g = 0; g < ngroups; g++) {
			total += read_u32(&br);
			wasm_valtype t;
			if (check(d, &br) < 0 || read_valtype(d, &br, &t) < 0)
				return -1;
			if (total > UINT32_MAX)
				return malformed(d, size_off, "too many locals");
		}
		if (over(d, size_off, "too many locals in one function", total,
			 kumo_compile_limits()->max_locals, "max_locals") < 0)
			return -1;
		f->nlocals = (uint32_t)total;
		f->local_types = arena_array(&m->arena, total, 1);
		br.p = groups;
		uint32_t at = 0;
		for (uint32_t g = 0; g < ngroups; g++) {
			uint32_t cnt = read_u32(&br);
			uint8_t t = read_u8(&br);
			memset(f->local_types + at, t, cnt);
			at += cnt;
		}
		if (check(d, &br) < 0)
			return -1;
		f->body = br.p;
		f->body_end = body + size;
		f->body_offset = (uint32_t)(br.p - r->base);
	}
	return 0;
}

static int sec_data(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_module *m = d->m;
	size_t off = reader_offset(r);
	if (read_count(d, r, &m->ndatas) < 0 ||
	    over(d, off, "data segments", m->ndatas, kumo_compile_limits()->max_data_segments,
		 "max_data_segments") < 0)
		return -1;
	d->has_data_section = true;
	if (m->has_data_count && m->data_count != m->ndatas)
		return malformed(d, off, "data count and data section have inconsistent lengths");
	m->datas = arena_array(&m->arena, m->ndatas, sizeof(*m->datas));
	for (uint32_t i = 0; i < m->ndatas; i++) {
		struct wasm_data *ds = &m->datas[i];
		ds->section_offset = (uint32_t)reader_offset(r);
		uint32_t flags = read_u32(r);
		if (check(d, r) < 0)
			return -1;
		switch (flags) {
		case 0:
			ds->mode = KUMO_SEG_ACTIVE;
			if (read_constexpr(d, r, &ds->offset) < 0)
				return -1;
			break;
		case 1:
			ds->mode = KUMO_SEG_PASSIVE;
			break;
		case 2:
			ds->mode = KUMO_SEG_ACTIVE;
			ds->memory = read_u32(r);
			if (check(d, r) < 0 || read_constexpr(d, r, &ds->offset) < 0)
				return -1;
			break;
		default:
			return malformed(d, ds->section_offset, "malformed data segment kind");
		}
		ds->len = read_u32(r);
		ds->bytes = read_bytes(r, ds->len);
		if (check(d, r) < 0)
			return -1;
	}
	return 0;
}

static int sec_custom(struct decoder *d, struct wasm_reader *r)
{
	struct wasm_name name;
	if (read_name(d, r, &name) < 0)
		return -1;
	r->p = r->end; /* contents are ignored */
	return 0;
}

/* Position of each section id in the required order (custom sections excepted). */
static int section_rank(uint8_t id)
{
	switch (id) {
	case WASM_SEC_TYPE: return 1;
	case WASM_SEC_IMPORT: return 2;
	case WASM_SEC_FUNCTION: return 3;
	case WASM_SEC_TABLE: return 4;
	case WASM_SEC_MEMORY: return 5;
	case WASM_SEC_TAG: return 6;
	case WASM_SEC_GLOBAL: return 7;
	case WASM_SEC_EXPORT: return 8;
	case WASM_SEC_START: return 9;
	case WASM_SEC_ELEMENT: return 10;
	case WASM_SEC_DATA_COUNT: return 11;
	case WASM_SEC_CODE: return 12;
	case WASM_SEC_DATA: return 13;
	default: return -1;
	}
}

/* C.refs: function indices referenced by ref.func outside function bodies. */
static void mark_declared(struct wasm_module *m, const struct wasm_constexpr *ce)
{
	if (ce->kind == KUMO_CONST_REF_FUNC && ce->index < m->nfuncs)
		m->func_declared[ce->index] = true;
}

static void fill_index_spaces(struct wasm_module *m)
{
	/* Present sections allocated imports + definitions; absent ones still need the
	 * imported prefix. */
	if (!m->funcs) {
		m->nfuncs = m->nimported_funcs;
		m->funcs = arena_array(&m->arena, m->nfuncs, sizeof(*m->funcs));
	}
	if (!m->tables) {
		m->ntables = m->nimported_tables;
		m->tables = arena_array(&m->arena, m->ntables, sizeof(*m->tables));
	}
	if (!m->memories) {
		m->nmemories = m->nimported_memories;
		m->memories = arena_array(&m->arena, m->nmemories, sizeof(*m->memories));
	}
	if (!m->globals) {
		m->nglobals = m->nimported_globals;
		m->globals = arena_array(&m->arena, m->nglobals, sizeof(*m->globals));
	}
	uint32_t fi = 0, ti = 0, mi = 0, gi = 0;
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct wasm_import *im = &m->imports[i];
		switch (im->kind) {
		case KUMO_EXTERN_FUNC: m->funcs[fi++].type_idx = im->type_idx; break;
		case KUMO_EXTERN_TABLE: m->tables[ti++] = im->table; break;
		case KUMO_EXTERN_MEMORY: m->memories[mi++] = im->memory; break;
		case KUMO_EXTERN_GLOBAL: m->globals[gi++].type = im->global; break;
		}
	}
}

int wasm_decode(const uint8_t *bytes, size_t len, struct wasm_module *m, struct wasm_error *e)
{
	memset(m, 0, sizeof(*m));
	memset(e, 0, sizeof(*e));
	m->bytes = bytes;
	m->len = len;
	struct decoder d = { .m = m, .e = e };
	struct wasm_reader r;
	reader_init(&r, bytes, bytes, bytes + len);

	if (len < 4) {
		malformed(&d, len, "unexpected end");
		goto fail;
	}
	const uint8_t *magic = read_bytes(&r, 4);
	if (!magic || memcmp(magic, "\0asm", 4) != 0) {
		malformed(&d, 0, "magic header not detected");
		goto fail;
	}
	if (len < 8) {
		malformed(&d, len, "unexpected end");
		goto fail;
	}
	const uint8_t *version = read_bytes(&r, 4);
	if (!version || memcmp(version, "\1\0\0\0", 4) != 0) {
		if (version && memcmp(version, "\x0d\0\x01\0", 4) == 0)
			unsupported(&d, 4, "component model");
		else
			malformed(&d, 4, "unknown binary version");
		goto fail;
	}

	/* The section order guarantees imports are counted before any section sizes an
	 * index space. */
	int last_rank = 0;
	while (!reader_eof(&r)) {
		size_t sec_off = reader_offset(&r);
		uint8_t id = read_u8(&r);
		uint32_t size = read_u32(&r);
		if (check(&d, &r) < 0)
			goto fail;
		if (size > reader_left(&r)) {
			malformed(&d, sec_off, "unexpected end of section or function");
			goto fail;
		}
		struct wasm_reader sr;
		reader_init(&sr, bytes, r.p, r.p + size);
		r.p += size;
		if (id != WASM_SEC_CUSTOM) {
			int rank = section_rank(id);
			if (rank < 0) {
				malformed(&d, sec_off, "malformed section id");
				goto fail;
			}
			if (rank <= last_rank) {
				malformed(&d, sec_off, "unexpected content after last section");
				goto fail;
			}
			last_rank = rank;
		}
		int rc;
		switch (id) {
		case WASM_SEC_CUSTOM: rc = sec_custom(&d, &sr); break;
		case WASM_SEC_TYPE: rc = sec_type(&d, &sr); break;
		case WASM_SEC_IMPORT: rc = sec_import(&d, &sr); break;
		case WASM_SEC_FUNCTION: rc = sec_function(&d, &sr); break;
		case WASM_SEC_TABLE: rc = sec_table(&d, &sr); break;
		case WASM_SEC_MEMORY: rc = sec_memory(&d, &sr); break;
		case WASM_SEC_GLOBAL: rc = sec_global(&d, &sr); break;
		case WASM_SEC_EXPORT: rc = sec_export(&d, &sr); break;
		case WASM_SEC_START: rc = sec_start(&d, &sr); break;
		case WASM_SEC_ELEMENT: rc = sec_element(&d, &sr); break;
		case WASM_SEC_DATA_COUNT: rc = sec_data_count(&d, &sr); break;
		case WASM_SEC_CODE: rc = sec_code(&d, &sr); break;
		case WASM_SEC_DATA: rc = sec_data(&d, &sr); break;
		case WASM_SEC_TAG: rc = unsupported(&d, sec_off, "exception handling"); break;
		default: rc = malformed(&d, sec_off, "malformed section id"); break;
		}
		if (rc < 0 || check(&d, &sr) < 0)
			goto fail;
		if (sr.p != sr.end) {
			malformed(&d, reader_offset(&sr), "section size mismatch");
			goto fail;
		}
	}
	if (d.nfunc_decls > 0 && !d.has_code_section) {
		malformed(&d, len, "function and code section have inconsistent lengths");
		goto fail;
	}
	if (m->has_data_count && m->data_count != 0 && !d.has_data_section) {
		malformed(&d, len, "data count and data section have inconsistent lengths");
		goto fail;
	}
	fill_index_spaces(m);

	m->func_declared = arena_array(&m->arena, m->nfuncs, sizeof(bool));
	for (uint32_t i = m->nimported_globals; i < m->nglobals; i++)
		mark_declared(m, &m->globals[i].init);
	for (uint32_t i = 0; i < m->nelems; i++)
		for (uint32_t k = 0; k < m->elems[i].count; k++)
			mark_declared(m, &m->elems[i].items[k]);
	for (uint32_t i = 0; i < m->nexports; i++)
		if (m->exports[i].kind == KUMO_EXTERN_FUNC && m->exports[i].index < m->nfuncs)
			m->func_declared[m->exports[i].index] = true;
	return 0;

fail:
	wasm_module_free(m);
	return -1;
}

void wasm_module_free(struct wasm_module *m)
{
	if (!m)
		return;
	arena_free(&m->arena);
	const uint8_t *bytes = m->bytes;
	size_t len = m->len;
	memset(m, 0, sizeof(*m));
	m->bytes = bytes;
	m->len = len;
}
