/* compiler/validate.c - WebAssembly 2.0 validation: module rules and every function body. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "compiler/compiler.h"
#include "compiler/module.h"
#include "compiler/opcodes.h"
#include "compiler/reader.h"

/* The bottom type: what pops from an unreachable stack yield. */
#define T_UNKNOWN 0

/* decode.c's reasons for a refused constant expression (wasm_constexpr.kind == 0). */
#define CE_REQUIRED 1
#define CE_ARITY 2

enum frame_kind { F_BLOCK, F_LOOP, F_IF, F_ELSE, F_FUNC };

struct frame {
	enum frame_kind kind;
	uint32_t nparams, nresults;
	const wasm_valtype *params;  /* points into the module or at `single` of a */
	const wasm_valtype *results; /* static table below, never into this array */
	size_t height;               /* operand stack height at entry */
	bool unreachable;
};

struct vctx {
	const struct wasm_module *m;
	struct wasm_error *e;
	bool failed;
	/* function body state */
	struct wasm_reader r;
	const char *op;               /* name of the instruction being checked */
	size_t op_offset;
	uint32_t nparams;
	const wasm_valtype *params;
	uint32_t nlocals;
	const wasm_valtype *local_types;
	wasm_valtype *vals;
	size_t nvals, capvals;
	struct frame *ctrl;
	size_t nctrl, capctrl;
	wasm_valtype *tmp;            /* scratch for br_table */
	size_t captmp;
};

/* One-element type lists for single-value block types. */
static const wasm_valtype single_types[256] = {
	[KUMO_T_I32] = KUMO_T_I32, [KUMO_T_I64] = KUMO_T_I64, [KUMO_T_F32] = KUMO_T_F32,
	[KUMO_T_F64] = KUMO_T_F64, [KUMO_T_V128] = KUMO_T_V128, [KUMO_T_FUNCREF] = KUMO_T_FUNCREF,
	[KUMO_T_EXTERNREF] = KUMO_T_EXTERNREF,
};

static int vfail(struct vctx *c, size_t offset, bool malformed, bool unsupported,
		 const char *fmt, va_list ap)
{
	if (c->failed)
		return -1;
	c->failed = true;
	vsnprintf(c->e->msg, sizeof(c->e->msg), fmt, ap);
	c->e->offset = offset;
	c->e->malformed = malformed;
	c->e->unsupported = unsupported;
	return -1;
}

__attribute__((format(printf, 3, 4)))
static int invalid(struct vctx *c, size_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(c, offset, false, false, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 3, 4)))
static int malformed(struct vctx *c, size_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(c, offset, true, false, fmt, ap);
	va_end(ap);
	return -1;
}

static int unsupported(struct vctx *c, size_t offset, const char *feature)
{
	if (c->failed)
		return -1;
	c->failed = true;
	snprintf(c->e->msg, sizeof(c->e->msg), "unsupported feature `%s`", feature);
	c->e->offset = offset;
	c->e->malformed = false;
	c->e->unsupported = true;
	return -1;
}

static int check_reader(struct vctx *c)
{
	if (c->failed)
		return -1;
	if (!c->r.failed)
		return 0;
	const char *msg = c->r.err ? c->r.err : "unexpected end";
	if (strcmp(msg, "unexpected end") == 0)
		msg = "unexpected end of section or function";
	return malformed(c, c->r.err_offset, "%s", msg);
}

/* Numeric or vector: what the untyped `select` accepts. */
static bool is_num_or_vec(wasm_valtype t)
{
	return t == KUMO_T_I32 || t == KUMO_T_I64 || t == KUMO_T_F32 || t == KUMO_T_F64 ||
	       t == KUMO_T_V128;
}

static bool is_ref(wasm_valtype t)
{
	return t == KUMO_T_FUNCREF || t == KUMO_T_EXTERNREF;
}

/* --- operand and control stacks ---------------------------------------------------- */

static void push(struct vctx *c, wasm_valtype t)
{
	if (c->nvals == c->capvals) {
		c->capvals = c->capvals ? c->capvals * 2 : 64;
		c->vals = xrealloc(c->vals, c->capvals);
	}
	c->vals[c->nvals++] = t;
}

static void push_n(struct vctx *c, const wasm_valtype *ts, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		push(c, ts[i]);
}

static int type_mismatch(struct vctx *c)
{
	return invalid(c, c->op_offset, "type mismatch in %s", c->op);
}

/* Pops one value; *out is T_UNKNOWN when the frame is unreachable and empty. */
static int pop_any(struct vctx *c, wasm_valtype *out)
{
	struct frame *f = &c->ctrl[c->nctrl - 1];
	*out = T_UNKNOWN;
	if (c->nvals == f->height) {
		if (f->unreachable) {
			*out = T_UNKNOWN;
			return 0;
		}
		return type_mismatch(c);
	}
	*out = c->vals[--c->nvals];
	return 0;
}

static int pop(struct vctx *c, wasm_valtype expect)
{
	wasm_valtype t = T_UNKNOWN;
	if (pop_any(c, &t) < 0)
		return -1;
	if (t != expect && t != T_UNKNOWN && expect != T_UNKNOWN)
		return type_mismatch(c);
	return 0;
}

static int pop_n(struct vctx *c, const wasm_valtype *ts, uint32_t n)
{
	for (uint32_t i = n; i-- > 0;)
		if (pop(c, ts[i]) < 0)
			return -1;
	return 0;
}

static int pop_ref(struct vctx *c, wasm_valtype *out)
{
	if (pop_any(c, out) < 0)
		return -1;
	if (*out != T_UNKNOWN && !is_ref(*out))
		return type_mismatch(c);
	return 0;
}

static void push_ctrl(struct vctx *c, enum frame_kind kind, const wasm_valtype *params,
		      uint32_t nparams, const wasm_valtype *results, uint32_t nresults)
{
	if (c->nctrl == c->capctrl) {
		c->capctrl = c->capctrl ? c->capctrl * 2 : 16;
		c->ctrl = xrealloc(c->ctrl, c->capctrl * sizeof(*c->ctrl));
	}
	c->ctrl[c->nctrl++] = (struct frame){
		.kind = kind,
		.params = params,
		.nparams = nparams,
		.results = results,
		.nresults = nresults,
		.height = c->nvals,
	};
	push_n(c, params, nparams);
}

/* Blocks, loops and ifs open around the current instruction (the function's own frame
 * is not one) against max_nesting: each is a basic block or two and a scope for LLVM. */
static int check_nesting(struct vctx *c)
{
	uint64_t limit = kumo_compile_limits()->max_nesting;
	if (!limit || c->nctrl - 1 <= limit || c->failed)
		return c->failed ? -1 : 0;
	c->failed = true;
	wasm_limit_error(c->e, c->op_offset, "nested blocks, loops and ifs", c->nctrl - 1, limit,
			 "max_nesting");
	return -1;
}

static int pop_ctrl(struct vctx *c, struct frame *out)
{
	struct frame *f = &c->ctrl[c->nctrl - 1];
	if (pop_n(c, f->results, f->nresults) < 0)
		return -1;
	if (c->nvals != f->height)
		return type_mismatch(c);
	*out = *f;
	c->nctrl--;
	return 0;
}

static void label_types(const struct frame *f, const wasm_valtype **ts, uint32_t *n)
{
	if (f->kind == F_LOOP) {
		*ts = f->params;
		*n = f->nparams;
	} else {
		*ts = f->results;
		*n = f->nresults;
	}
}

static void set_unreachable(struct vctx *c)
{
	struct frame *f = &c->ctrl[c->nctrl - 1];
	c->nvals = f->height;
	f->unreachable = true;
}

/* --- immediates ------------------------------------------------------------------ */

static int read_idx(struct vctx *c, uint32_t *out)
{
	*out = read_u32(&c->r);
	return check_reader(c);
}

static int read_blocktype(struct vctx *c, const wasm_valtype **params, uint32_t *nparams,
			  const wasm_valtype **results, uint32_t *nresults)
{
	size_t off = reader_offset(&c->r);
	int64_t bt = read_sleb(&c->r, 33);
	if (check_reader(c) < 0)
		return -1;
	*params = NULL;
	*nparams = 0;
	*results = NULL;
	*nresults = 0;
	if (bt >= 0) {
		if ((uint64_t)bt >= c->m->ntypes)
			return invalid(c, off, "unknown type %lld", (long long)bt);
		const struct wasm_functype *ft = &c->m->types[bt];
		*params = ft->params;
		*nparams = ft->nparams;
		*results = ft->results;
		*nresults = ft->nresults;
		return 0;
	}
	if (bt == -64)
		return 0;
	uint8_t code = (uint8_t)(bt & 0x7f);
	if (bt < -64 || !single_types[code])
		return malformed(c, off, "malformed value type");
	*results = &single_types[code];
	*nresults = 1;
	return 0;
}

static int check_memory(struct vctx *c, uint32_t idx)
{
	if (idx >= c->m->nmemories)
		return invalid(c, c->op_offset, "unknown memory %u", idx);
	return 0;
}

/* memarg: alignment exponent and offset; checks the memory exists and the alignment. */
static int read_memarg(struct vctx *c, unsigned natural_log2)
{
	size_t off = reader_offset(&c->r);
	uint32_t align = read_u32(&c->r);
	if (check_reader(c) < 0)
		return -1;
	if (align & 0x40)
		return unsupported(c, off, "multiple memories");
	read_u32(&c->r); /* offset: any u32 */
	if (check_reader(c) < 0 || check_memory(c, 0) < 0)
		return -1;
	if (align > natural_log2)
		return invalid(c, off, "alignment must not be larger than natural");
	return 0;
}

static int read_zero_byte(struct vctx *c)
{
	size_t off = reader_offset(&c->r);
	uint8_t b = read_u8(&c->r);
	if (check_reader(c) < 0)
		return -1;
	if (b != 0)
		return malformed(c, off, "zero byte expected");
	return 0;
}

static int check_table(struct vctx *c, uint32_t idx)
{
	if (idx >= c->m->ntables)
		return invalid(c, c->op_offset, "unknown table %u", idx);
	return 0;
}

static int check_elem(struct vctx *c, uint32_t idx)
{
	if (idx >= c->m->nelems)
		return invalid(c, c->op_offset, "unknown elem segment %u", idx);
	return 0;
}

static int check_data(struct vctx *c, uint32_t idx)
{
	if (!c->m->has_data_count)
		return malformed(c, c->op_offset, "data count section required");
	if (idx >= c->m->data_count)
		return invalid(c, c->op_offset, "unknown data segment %u", idx);
	return 0;
}

static wasm_valtype type_of_letter(char ch)
{
	switch (ch) {
	case 'i': return KUMO_T_I32;
	case 'l': return KUMO_T_I64;
	case 'f': return KUMO_T_F32;
	case 'v': return KUMO_T_V128;
	default: return KUMO_T_F64;
	}
}

/* Numeric instruction with a "params_results" signature from opcodes.h. */
static int check_sig(struct vctx *c, const char *sig)
{
	const char *us = strchr(sig, '_');
	for (const char *p = us; p-- > sig;)
		if (pop(c, type_of_letter(*p)) < 0)
			return -1;
	for (const char *p = us + 1; *p; p++)
		push(c, type_of_letter(*p));
	return 0;
}

static wasm_valtype local_type(struct vctx *c, uint32_t idx)
{
	return idx < c->nparams ? c->params[idx] : c->local_types[idx - c->nparams];
}

static int read_local(struct vctx *c, wasm_valtype *t)
{
	uint32_t idx;
	if (read_idx(c, &idx) < 0)
		return -1;
	if ((uint64_t)idx >= (uint64_t)c->nparams + c->nlocals)
		return invalid(c, c->op_offset, "unknown local %u", idx);
	*t = local_type(c, idx);
	return 0;
}

static int read_global(struct vctx *c, const struct wasm_global **g)
{
	uint32_t idx;
	if (read_idx(c, &idx) < 0)
		return -1;
	if (idx >= c->m->nglobals)
		return invalid(c, c->op_offset, "unknown global %u", idx);
	*g = &c->m->globals[idx];
	return 0;
}

static int read_label(struct vctx *c, struct frame **f)
{
	uint32_t depth;
	if (read_idx(c, &depth) < 0)
		return -1;
	if (depth >= c->nctrl)
		return invalid(c, c->op_offset, "unknown label");
	*f = &c->ctrl[c->nctrl - 1 - depth];
	return 0;
}

static int check_br_table(struct vctx *c)
{
	uint32_t n = read_u32(&c->r);
	if (check_reader(c) < 0)
		return -1;
	if (n > reader_left(&c->r))
		return malformed(c, c->op_offset, "unexpected end of section or function");
	if (pop(c, KUMO_T_I32) < 0)
		return -1;
	struct frame *def;
	size_t mark = reader_offset(&c->r);
	/* The default label comes last; read it first to know the arity. */
	for (uint32_t i = 0; i < n; i++)
		read_u32(&c->r);
	if (check_reader(c) < 0 || read_label(c, &def) < 0)
		return -1;
	const uint8_t *after = c->r.p;
	c->r.p = c->r.base + mark;
	const wasm_valtype *dts;
	uint32_t arity;
	label_types(def, &dts, &arity);
	if (c->captmp < arity) {
		c->captmp = arity;
		c->tmp = xrealloc(c->tmp, arity ? arity : 1);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct frame *f;
		if (read_label(c, &f) < 0)
			return -1;
		const wasm_valtype *ts;
		uint32_t k;
		label_types(f, &ts, &k);
		if (k != arity)
			return type_mismatch(c);
		/* pop the label's types, then push back what was actually there */
		for (uint32_t j = k; j-- > 0;) {
			wasm_valtype t = T_UNKNOWN;
			if (pop_any(c, &t) < 0)
				return -1;
			if (t != ts[j] && t != T_UNKNOWN)
				return type_mismatch(c);
			c->tmp[j] = t;
		}
		push_n(c, c->tmp, k);
	}
	c->r.p = after;
	if (pop_n(c, dts, arity) < 0)
		return -1;
	set_unreachable(c);
	return 0;
}

static int check_call(struct vctx *c, const struct wasm_functype *ft)
{
	if (pop_n(c, ft->params, ft->nparams) < 0)
		return -1;
	push_n(c, ft->results, ft->nresults);
	return 0;
}

static int check_fc(struct vctx *c)
{
	const struct wasm_module *m = c->m;
	uint32_t sub = read_u32(&c->r);
	if (check_reader(c) < 0)
		return -1;
	c->op = wasm_fc_opcode_name(sub);
	if (!c->op)
		return malformed(c, c->op_offset, "illegal opcode");
	const char *sig = wasm_fc_opcode_sig(sub);
	if (sig)
		return check_sig(c, sig);
	uint32_t a, b;
	switch (sub) {
	case WASM_FC_MEMORY_INIT:
		if (read_idx(c, &a) < 0 || read_zero_byte(c) < 0 || check_memory(c, 0) < 0 ||
		    check_data(c, a) < 0)
			return -1;
		return check_sig(c, "iii_");
	case WASM_FC_DATA_DROP:
		if (read_idx(c, &a) < 0 || check_data(c, a) < 0)
			return -1;
		return 0;
	case WASM_FC_MEMORY_COPY:
		if (read_zero_byte(c) < 0 || read_zero_byte(c) < 0 || check_memory(c, 0) < 0)
			return -1;
		return check_sig(c, "iii_");
	case WASM_FC_MEMORY_FILL:
		if (read_zero_byte(c) < 0 || check_memory(c, 0) < 0)
			return -1;
		return check_sig(c, "iii_");
	case WASM_FC_TABLE_INIT:
		if (read_idx(c, &a) < 0 || read_idx(c, &b) < 0 || check_table(c, b) < 0 ||
		    check_elem(c, a) < 0)
			return -1;
		if (m->elems[a].elem_type != m->tables[b].elem_type)
			return type_mismatch(c);
		return check_sig(c, "iii_");
	case WASM_FC_ELEM_DROP:
		if (read_idx(c, &a) < 0 || check_elem(c, a) < 0)
			return -1;
		return 0;
	case WASM_FC_TABLE_COPY:
		if (read_idx(c, &a) < 0 || read_idx(c, &b) < 0 || check_table(c, a) < 0 ||
		    check_table(c, b) < 0)
			return -1;
		if (m->tables[a].elem_type != m->tables[b].elem_type)
			return type_mismatch(c);
		return check_sig(c, "iii_");
	case WASM_FC_TABLE_GROW:
		if (read_idx(c, &a) < 0 || check_table(c, a) < 0)
			return -1;
		if (pop(c, KUMO_T_I32) < 0 || pop(c, m->tables[a].elem_type) < 0)
			return -1;
		push(c, KUMO_T_I32);
		return 0;
	case WASM_FC_TABLE_SIZE:
		if (read_idx(c, &a) < 0 || check_table(c, a) < 0)
			return -1;
		push(c, KUMO_T_I32);
		return 0;
	case WASM_FC_TABLE_FILL:
		if (read_idx(c, &a) < 0 || check_table(c, a) < 0)
			return -1;
		if (pop(c, KUMO_T_I32) < 0 || pop(c, m->tables[a].elem_type) < 0 ||
		    pop(c, KUMO_T_I32) < 0)
			return -1;
		return 0;
	}
	return malformed(c, c->op_offset, "illegal opcode");
}

static int read_lane(struct vctx *c, unsigned nlanes)
{
	size_t off = reader_offset(&c->r);
	uint8_t lane = read_u8(&c->r);
	if (check_reader(c) < 0)
		return -1;
	if (lane >= nlanes)
		return invalid(c, off, "invalid lane index");
	return 0;
}

/* A 0xFD instruction: sub-opcode, immediates (memory, alignment, lane bounds), types. */
static int check_simd(struct vctx *c)
{
	uint32_t sub = read_u32(&c->r);
	if (check_reader(c) < 0)
		return -1;
	const struct wasm_simd_info *si = wasm_simd_info(sub);
	if (!si) {
		if (sub >= 0x100 && sub <= 0x113)
			return unsupported(c, c->op_offset, "relaxed SIMD");
		return malformed(c, c->op_offset, "illegal opcode");
	}
	c->op = si->text;
	switch (si->imm) {
	case 'm':
		if (read_memarg(c, si->arg) < 0)
			return -1;
		break;
	case 'L':
		if (read_memarg(c, si->arg) < 0 || read_lane(c, 16u >> si->arg) < 0)
			return -1;
		break;
	case 'l':
		if (read_lane(c, si->arg) < 0)
			return -1;
		break;
	case 's':
		for (int i = 0; i < 16; i++)
			if (read_lane(c, 32) < 0)
				return -1;
		break;
	case 'c':
		read_bytes(&c->r, 16);
		if (check_reader(c) < 0)
			return -1;
		break;
	}
	return check_sig(c, si->sig);
}

/* Natural alignment (log2 of the access size) of loads and stores 0x28..0x3e. */
static const uint8_t mem_natural[] = {
	2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2, /* loads */
	2, 3, 2, 3, 0, 1, 0, 1, 2,                /* stores */
};
static const char *const mem_sig[] = {
	"i_i", "i_l", "i_f", "i_d", "i_i", "i_i", "i_i", "i_i", "i_l", "i_l", "i_l", "i_l", "i_l", "i_l",
	"ii_", "il_", "if_", "id_", "ii_", "ii_", "il_", "il_", "il_",
};

static int check_instr(struct vctx *c, uint8_t op)
{
	const struct wasm_module *m = c->m;
	const char *sig = wasm_opcode_sig(op);
	if (sig)
		return check_sig(c, sig);
	if (op >= WASM_OP_I32_LOAD && op <= WASM_OP_I64_STORE32) {
		if (read_memarg(c, mem_natural[op - WASM_OP_I32_LOAD]) < 0)
			return -1;
		return check_sig(c, mem_sig[op - WASM_OP_I32_LOAD]);
	}
	const wasm_valtype *ps, *rs;
	uint32_t np, nr, idx;
	wasm_valtype t;
	struct frame *lf;
	struct frame done;
	switch (op) {
	case WASM_OP_UNREACHABLE:
		set_unreachable(c);
		return 0;
	case WASM_OP_NOP:
		return 0;
	case WASM_OP_BLOCK:
	case WASM_OP_LOOP:
		if (read_blocktype(c, &ps, &np, &rs, &nr) < 0 || pop_n(c, ps, np) < 0)
			return -1;
		push_ctrl(c, op == WASM_OP_BLOCK ? F_BLOCK : F_LOOP, ps, np, rs, nr);
		return check_nesting(c);
	case WASM_OP_IF:
		if (read_blocktype(c, &ps, &np, &rs, &nr) < 0 || pop(c, KUMO_T_I32) < 0 ||
		    pop_n(c, ps, np) < 0)
			return -1;
		push_ctrl(c, F_IF, ps, np, rs, nr);
		return check_nesting(c);
	case WASM_OP_ELSE:
		if (c->ctrl[c->nctrl - 1].kind != F_IF)
			return malformed(c, c->op_offset, "else without matching if");
		if (pop_ctrl(c, &done) < 0)
			return -1;
		push_ctrl(c, F_ELSE, done.params, done.nparams, done.results, done.nresults);
		return 0;
	case WASM_OP_END:
		if (pop_ctrl(c, &done) < 0)
			return -1;
		/* An `if` without `else` passes its parameters through the empty else. */
		if (done.kind == F_IF && (done.nparams != done.nresults ||
					  (done.nparams &&
					   memcmp(done.params, done.results, done.nparams) != 0)))
			return type_mismatch(c);
		if (done.kind != F_FUNC)
			push_n(c, done.results, done.nresults);
		return 0;
	case WASM_OP_BR:
		if (read_label(c, &lf) < 0)
			return -1;
		label_types(lf, &ps, &np);
		if (pop_n(c, ps, np) < 0)
			return -1;
		set_unreachable(c);
		return 0;
	case WASM_OP_BR_IF:
		if (read_label(c, &lf) < 0 || pop(c, KUMO_T_I32) < 0)
			return -1;
		label_types(lf, &ps, &np);
		if (pop_n(c, ps, np) < 0)
			return -1;
		push_n(c, ps, np);
		return 0;
	case WASM_OP_BR_TABLE:
		return check_br_table(c);
	case WASM_OP_RETURN:
		if (pop_n(c, c->ctrl[0].results, c->ctrl[0].nresults) < 0)
			return -1;
		set_unreachable(c);
		return 0;
	case WASM_OP_CALL:
		if (read_idx(c, &idx) < 0)
			return -1;
		if (idx >= m->nfuncs)
			return invalid(c, c->op_offset, "unknown function %u", idx);
		if (m->funcs[idx].type_idx >= m->ntypes)
			return invalid(c, c->op_offset, "unknown type %u", m->funcs[idx].type_idx);
		return check_call(c, wasm_func_type(m, idx));
	case WASM_OP_CALL_INDIRECT: {
		uint32_t tab;
		if (read_idx(c, &idx) < 0 || read_idx(c, &tab) < 0 || check_table(c, tab) < 0)
			return -1;
		if (idx >= m->ntypes)
			return invalid(c, c->op_offset, "unknown type %u", idx);
		if (m->tables[tab].elem_type != KUMO_T_FUNCREF)
			return type_mismatch(c);
		if (pop(c, KUMO_T_I32) < 0)
			return -1;
		return check_call(c, &m->types[idx]);
	}
	case WASM_OP_DROP:
		return pop_any(c, &t);
	case WASM_OP_SELECT: {
		wasm_valtype t1, t2;
		if (pop(c, KUMO_T_I32) < 0 || pop_any(c, &t1) < 0 || pop_any(c, &t2) < 0)
			return -1;
		if ((t1 != T_UNKNOWN && !is_num_or_vec(t1)) || (t2 != T_UNKNOWN && !is_num_or_vec(t2)))
			return type_mismatch(c);
		if (t1 != t2 && t1 != T_UNKNOWN && t2 != T_UNKNOWN)
			return type_mismatch(c);
		push(c, t1 == T_UNKNOWN ? t2 : t1);
		return 0;
	}
	case WASM_OP_SELECT_T: {
		uint32_t n = read_u32(&c->r);
		if (check_reader(c) < 0)
			return -1;
		if (n != 1)
			return invalid(c, c->op_offset, "invalid result arity");
		size_t off = reader_offset(&c->r);
		uint8_t ty = read_u8(&c->r);
		if (check_reader(c) < 0)
			return -1;
		if (!single_types[ty])
			return malformed(c, off, "malformed value type");
		if (pop(c, KUMO_T_I32) < 0 || pop(c, ty) < 0 || pop(c, ty) < 0)
			return -1;
		push(c, ty);
		return 0;
	}
	case WASM_OP_LOCAL_GET:
		if (read_local(c, &t) < 0)
			return -1;
		push(c, t);
		return 0;
	case WASM_OP_LOCAL_SET:
		if (read_local(c, &t) < 0)
			return -1;
		return pop(c, t);
	case WASM_OP_LOCAL_TEE:
		if (read_local(c, &t) < 0 || pop(c, t) < 0)
			return -1;
		push(c, t);
		return 0;
	case WASM_OP_GLOBAL_GET: {
		const struct wasm_global *g;
		if (read_global(c, &g) < 0)
			return -1;
		push(c, g->type.type);
		return 0;
	}
	case WASM_OP_GLOBAL_SET: {
		const struct wasm_global *g;
		if (read_global(c, &g) < 0)
			return -1;
		if (!g->type.mutable_)
			return invalid(c, c->op_offset, "global is immutable");
		return pop(c, g->type.type);
	}
	case WASM_OP_TABLE_GET:
		if (read_idx(c, &idx) < 0 || check_table(c, idx) < 0 || pop(c, KUMO_T_I32) < 0)
			return -1;
		push(c, m->tables[idx].elem_type);
		return 0;
	case WASM_OP_TABLE_SET:
		if (read_idx(c, &idx) < 0 || check_table(c, idx) < 0)
			return -1;
		if (pop(c, m->tables[idx].elem_type) < 0 || pop(c, KUMO_T_I32) < 0)
			return -1;
		return 0;
	case WASM_OP_MEMORY_SIZE:
		if (read_zero_byte(c) < 0 || check_memory(c, 0) < 0)
			return -1;
		push(c, KUMO_T_I32);
		return 0;
	case WASM_OP_MEMORY_GROW:
		if (read_zero_byte(c) < 0 || check_memory(c, 0) < 0 || pop(c, KUMO_T_I32) < 0)
			return -1;
		push(c, KUMO_T_I32);
		return 0;
	case WASM_OP_I32_CONST:
		read_sleb(&c->r, 32);
		push(c, KUMO_T_I32);
		return check_reader(c);
	case WASM_OP_I64_CONST:
		read_sleb(&c->r, 64);
		push(c, KUMO_T_I64);
		return check_reader(c);
	case WASM_OP_F32_CONST:
		read_f32_bits(&c->r);
		push(c, KUMO_T_F32);
		return check_reader(c);
	case WASM_OP_F64_CONST:
		read_f64_bits(&c->r);
		push(c, KUMO_T_F64);
		return check_reader(c);
	case WASM_OP_REF_NULL: {
		size_t off = reader_offset(&c->r);
		uint8_t ty = read_u8(&c->r);
		if (check_reader(c) < 0)
			return -1;
		if (!is_ref(ty))
			return malformed(c, off, "malformed reference type");
		push(c, ty);
		return 0;
	}
	case WASM_OP_REF_IS_NULL:
		if (pop_ref(c, &t) < 0)
			return -1;
		push(c, KUMO_T_I32);
		return 0;
	case WASM_OP_REF_FUNC:
		if (read_idx(c, &idx) < 0)
			return -1;
		if (idx >= m->nfuncs)
			return invalid(c, c->op_offset, "unknown function %u", idx);
		if (!m->func_declared[idx])
			return invalid(c, c->op_offset, "undeclared function reference");
		push(c, KUMO_T_FUNCREF);
		return 0;
	case WASM_OP_PREFIX_FC:
		return check_fc(c);
	case WASM_OP_PREFIX_SIMD:
		return check_simd(c);
	case WASM_OP_PREFIX_THREADS:
		return unsupported(c, c->op_offset, "threads");
	case WASM_OP_TRY:
	case WASM_OP_CATCH:
	case WASM_OP_THROW:
	case WASM_OP_RETHROW:
	case WASM_OP_THROW_REF:
	case WASM_OP_DELEGATE:
	case WASM_OP_CATCH_ALL:
	case WASM_OP_TRY_TABLE:
		return unsupported(c, c->op_offset, "exception handling");
	case WASM_OP_RETURN_CALL:
	case WASM_OP_RETURN_CALL_INDIRECT:
		return unsupported(c, c->op_offset, "tail calls");
	case WASM_OP_CALL_REF:
	case WASM_OP_RETURN_CALL_REF:
	case WASM_OP_REF_AS_NON_NULL:
	case WASM_OP_BR_ON_NULL:
	case WASM_OP_BR_ON_NON_NULL:
		return unsupported(c, c->op_offset, "function references");
	case WASM_OP_REF_EQ:
	case WASM_OP_PREFIX_GC:
		return unsupported(c, c->op_offset, "GC");
	}
	return malformed(c, c->op_offset, "illegal opcode %02x", op);
}

static int validate_body(struct vctx *c, uint32_t funcidx)
{
	const struct wasm_module *m = c->m;
	const struct wasm_func *f = &m->funcs[funcidx];
	const struct wasm_functype *ft = &m->types[f->type_idx];
	reader_init(&c->r, m->bytes, f->body, f->body_end);
	c->nparams = ft->nparams;
	c->params = ft->params;
	c->nlocals = f->nlocals;
	c->local_types = f->local_types;
	c->nvals = 0;
	c->nctrl = 0;
	c->op = "function";
	push_ctrl(c, F_FUNC, NULL, 0, ft->results, ft->nresults);
	while (c->nctrl > 0) {
		c->op_offset = reader_offset(&c->r);
		if (reader_eof(&c->r))
			return malformed(c, c->op_offset, "unexpected end of section or function");
		uint8_t op = read_u8(&c->r);
		c->op = wasm_opcode_name(op);
		if (!c->op)
			return malformed(c, c->op_offset, "illegal opcode %02x", op);
		if (check_instr(c, op) < 0)
			return -1;
	}
	if (!reader_eof(&c->r))
		return malformed(c, reader_offset(&c->r), "section size mismatch");
	return 0;
}

/* --- module-level rules ------------------------------------------------------------- */

static int check_limits(struct vctx *c, const struct wasm_limits *l, uint64_t bound,
			const char *what, size_t off)
{
	if (l->min > bound)
		return invalid(c, off, "%s", what);
	if (l->has_max && l->max > bound)
		return invalid(c, off, "%s", what);
	if (l->has_max && l->min > l->max)
		return invalid(c, off, "size minimum must not be greater than maximum");
	return 0;
}

static const char *const mem_too_big = "memory size must be at most 65536 pages (4GiB)";
static const char *const table_too_big = "table size must be at most 2^32-1";

/* Type of a constant expression; `nvisible` globals may be referenced. */
static int check_constexpr(struct vctx *c, const struct wasm_constexpr *ce, wasm_valtype want,
			   uint32_t nvisible)
{
	const struct wasm_module *m = c->m;
	wasm_valtype t = T_UNKNOWN;
	switch (ce->kind) {
	case 0:
		if (ce->index == CE_REQUIRED)
			return invalid(c, ce->offset, "constant expression required");
		return invalid(c, ce->offset, "type mismatch");
	case KUMO_CONST_I32: t = KUMO_T_I32; break;
	case KUMO_CONST_I64: t = KUMO_T_I64; break;
	case KUMO_CONST_F32: t = KUMO_T_F32; break;
	case KUMO_CONST_F64: t = KUMO_T_F64; break;
	case KUMO_CONST_V128: t = KUMO_T_V128; break;
	case KUMO_CONST_REF_NULL: t = (wasm_valtype)ce->index; break;
	case KUMO_CONST_REF_FUNC:
		if (ce->index >= m->nfuncs)
			return invalid(c, ce->offset, "unknown function %u", ce->index);
		t = KUMO_T_FUNCREF;
		break;
	case KUMO_CONST_GLOBAL_GET:
		if (ce->index >= nvisible)
			return invalid(c, ce->offset, "unknown global %u", ce->index);
		if (m->globals[ce->index].type.mutable_)
			return invalid(c, ce->offset, "constant expression required");
		t = m->globals[ce->index].type.type;
		break;
	}
	if (t != want)
		return invalid(c, ce->offset, "type mismatch");
	return 0;
}

static bool name_eq(const struct wasm_name *a, const struct wasm_name *b)
{
	return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static int cmp_name(const void *pa, const void *pb)
{
	const struct wasm_name *a = *(const struct wasm_name *const *)pa;
	const struct wasm_name *b = *(const struct wasm_name *const *)pb;
	uint32_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->ptr, b->ptr, n);
	if (r)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int check_exports(struct vctx *c)
{
	const struct wasm_module *m = c->m;
	for (uint32_t i = 0; i < m->nexports; i++) {
		const struct wasm_export *ex = &m->exports[i];
		size_t off = (size_t)((const uint8_t *)ex->name.ptr - m->bytes);
		uint32_t n = 0;
		const char *what = "";
		switch (ex->kind) {
		case KUMO_EXTERN_FUNC: n = m->nfuncs; what = "function"; break;
		case KUMO_EXTERN_TABLE: n = m->ntables; what = "table"; break;
		case KUMO_EXTERN_MEMORY: n = m->nmemories; what = "memory"; break;
		case KUMO_EXTERN_GLOBAL: n = m->nglobals; what = "global"; break;
		}
		if (ex->index >= n)
			return invalid(c, off, "unknown %s %u", what, ex->index);
	}
	if (m->nexports < 2)
		return 0;
	const struct wasm_name **sorted = xmalloc(m->nexports * sizeof(*sorted));
	for (uint32_t i = 0; i < m->nexports; i++)
		sorted[i] = &m->exports[i].name;
	qsort(sorted, m->nexports, sizeof(*sorted), cmp_name);
	int rc = 0;
	for (uint32_t i = 1; i < m->nexports; i++) {
		if (name_eq(sorted[i - 1], sorted[i])) {
			rc = invalid(c, (size_t)((const uint8_t *)sorted[i]->ptr - m->bytes),
				     "duplicate export name");
			break;
		}
	}
	free(sorted);
	return rc;
}

static int check_module(struct vctx *c)
{
	const struct wasm_module *m = c->m;
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct wasm_import *im = &m->imports[i];
		if (im->kind == KUMO_EXTERN_FUNC && im->type_idx >= m->ntypes)
			return invalid(c, im->offset, "unknown type %u", im->type_idx);
		if (im->kind == KUMO_EXTERN_TABLE &&
		    check_limits(c, &im->table.limits, UINT32_MAX, table_too_big, im->offset) < 0)
			return -1;
		if (im->kind == KUMO_EXTERN_MEMORY &&
		    check_limits(c, &im->memory, KUMO_WASM_MAX_PAGES, mem_too_big, im->offset) < 0)
			return -1;
	}
	for (uint32_t i = m->nimported_funcs; i < m->nfuncs; i++)
		if (m->funcs[i].type_idx >= m->ntypes)
			return invalid(c, m->funcs[i].body_offset, "unknown type %u",
				       m->funcs[i].type_idx);
	for (uint32_t i = m->nimported_tables; i < m->ntables; i++)
		if (check_limits(c, &m->tables[i].limits, UINT32_MAX, table_too_big, 0) < 0)
			return -1;
	for (uint32_t i = m->nimported_memories; i < m->nmemories; i++)
		if (check_limits(c, &m->memories[i], KUMO_WASM_MAX_PAGES, mem_too_big, 0) < 0)
			return -1;
	if (m->nmemories > 1) {
		invalid(c, 0, "multiple memories");
		c->e->unsupported = true;
		return -1;
	}
	for (uint32_t i = m->nimported_globals; i < m->nglobals; i++)
		if (check_constexpr(c, &m->globals[i].init, m->globals[i].type.type,
				    m->nimported_globals) < 0)
			return -1;
	if (check_exports(c) < 0)
		return -1;
	if (m->has_start) {
		if (m->start >= m->nfuncs)
			return invalid(c, 0, "unknown function %u", m->start);
		const struct wasm_functype *ft = wasm_func_type(m, m->start);
		if (ft->nparams || ft->nresults)
			return invalid(c, 0, "start function");
	}
	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct wasm_elem *el = &m->elems[i];
		if (el->mode == KUMO_SEG_ACTIVE) {
			if (el->table >= m->ntables)
				return invalid(c, el->section_offset, "unknown table %u", el->table);
			if (check_constexpr(c, &el->offset, KUMO_T_I32, m->nimported_globals) < 0)
				return -1;
			if (m->tables[el->table].elem_type != el->elem_type)
				return invalid(c, el->section_offset, "type mismatch");
		}
		for (uint32_t k = 0; k < el->count; k++)
			if (check_constexpr(c, &el->items[k], el->elem_type, m->nimported_globals) < 0)
				return -1;
	}
	for (uint32_t i = 0; i < m->ndatas; i++) {
		const struct wasm_data *ds = &m->datas[i];
		if (ds->mode != KUMO_SEG_ACTIVE)
			continue;
		if (ds->memory >= m->nmemories)
			return invalid(c, ds->section_offset, "unknown memory %u", ds->memory);
		if (check_constexpr(c, &ds->offset, KUMO_T_I32, m->nimported_globals) < 0)
			return -1;
	}
	return 0;
}

int wasm_validate(const struct wasm_module *m, struct wasm_error *e)
{
	memset(e, 0, sizeof(*e));
	struct vctx c = { .m = m, .e = e };
	int rc = check_module(&c);
	for (uint32_t i = m->nimported_funcs; rc == 0 && i < m->nfuncs; i++)
		rc = validate_body(&c, i);
	free(c.vals);
	free(c.ctrl);
	free(c.tmp);
	return rc;
}
