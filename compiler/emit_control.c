/* compiler/emit_control.c - structured control flow (block, loop, if/else, br, br_if,
 * br_table, return, unreachable), drop, select, and skipping dead code. */
#include <stdlib.h>
#include <string.h>

#include "compiler/emit.h"
#include "compiler/opcodes.h"

static const wasm_valtype *single_type(wasm_valtype t)
{
	static const wasm_valtype types[] = {KUMO_T_I32, KUMO_T_I64, KUMO_T_F32, KUMO_T_F64,
					     KUMO_T_FUNCREF, KUMO_T_EXTERNREF, KUMO_T_V128};
	for (size_t i = 0; i < sizeof(types); i++)
		if (types[i] == t)
			return &types[i];
	return &types[0];
}

/* Reads a block type (empty, one value type, or a type index). */
static void read_blocktype(struct emit_fn *f, struct ctrl *c)
{
	int64_t v = read_sleb(&f->r, 33);
	c->nparams = c->nresults = 0;
	c->params = c->results = NULL;
	if (v == -64)
		return;
	if (v < 0) {
		c->nresults = 1;
		c->results = single_type((wasm_valtype)(v & 0x7f));
		return;
	}
	if ((uint64_t)v < f->em->m->ntypes) {
		const struct wasm_functype *ft = &f->em->m->types[v];
		c->nparams = ft->nparams;
		c->params = ft->params;
		c->nresults = ft->nresults;
		c->results = ft->results;
	}
}

static LLVMValueRef *make_phis(struct emit_fn *f, LLVMBasicBlockRef bb, uint32_t n,
			       const wasm_valtype *types)
{
	struct emit_module *em = f->em;
	LLVMValueRef *phis = arena_array(f->arena, n ? n : 1, sizeof(LLVMValueRef));
	if (!n)
		return phis;
	LLVMBasicBlockRef saved = LLVMGetInsertBlock(em->b);
	LLVMPositionBuilderAtEnd(em->b, bb);
	for (uint32_t i = 0; i < n; i++)
		phis[i] = LLVMBuildPhi(em->b, emit_valtype(em, types[i]), "");
	LLVMPositionBuilderAtEnd(em->b, saved);
	return phis;
}

static struct ctrl *push_ctrl(struct emit_fn *f)
{
	if (f->nctrl == f->ctrl_cap) {
		f->ctrl_cap *= 2;
		f->ctrls = xrealloc(f->ctrls, f->ctrl_cap * sizeof(*f->ctrls));
	}
	struct ctrl *c = &f->ctrls[f->nctrl++];
	memset(c, 0, sizeof(*c));
	return c;
}

/* Adds the current block as a predecessor of label phis, taking the top `n` values. */
static void add_incoming(struct emit_fn *f, LLVMValueRef *phis, uint32_t n)
{
	LLVMBasicBlockRef from = LLVMGetInsertBlock(f->em->b);
	for (uint32_t i = 0; i < n; i++) {
		LLVMValueRef v = fn_peek(f, n - 1 - i);
		LLVMAddIncoming(phis[i], &v, &from, 1);
	}
}

/* Branch (without emitting the terminator) bookkeeping for a branch to depth d. */
static struct ctrl *branch_target(struct emit_fn *f, uint32_t depth)
{
	struct ctrl *t = &f->ctrls[f->nctrl - 1 - depth];
	add_incoming(f, t->label_phis, t->label_arity);
	if (t->kind != CTRL_LOOP)
		t->end_preds++;
	return t;
}

static void do_br(struct emit_fn *f, uint32_t depth)
{
	struct ctrl *t = branch_target(f, depth);
	LLVMBuildBr(f->em->b, t->label);
	f->unreachable = true;
}

static void do_block(struct emit_fn *f, enum ctrl_kind kind)
{
	struct emit_module *em = f->em;
	struct ctrl tmp;
	read_blocktype(f, &tmp);
	LLVMValueRef cond = NULL;
	if (kind == CTRL_IF)
		cond = fn_pop(f);
	struct ctrl *c = push_ctrl(f);
	c->kind = kind;
	c->nparams = tmp.nparams;
	c->params = tmp.params;
	c->nresults = tmp.nresults;
	c->results = tmp.results;
	c->height = f->sp - c->nparams;
	c->end = LLVMAppendBasicBlockInContext(em->ctx, f->fn, kind == CTRL_LOOP ? "loop.end"
								 : kind == CTRL_IF ? "if.end" : "block.end");
	c->end_phis = make_phis(f, c->end, c->nresults, c->results);
	if (kind == CTRL_LOOP) {
		c->label = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "loop");
		c->label_phis = make_phis(f, c->label, c->nparams, c->params);
		c->label_arity = c->nparams;
		add_incoming(f, c->label_phis, c->nparams);
		LLVMBuildBr(em->b, c->label);
		LLVMPositionBuilderAtEnd(em->b, c->label);
		for (uint32_t i = 0; i < c->nparams; i++)
			f->stack[c->height + i] = c->label_phis[i];
		return;
	}
	c->label = c->end;
	c->label_phis = c->end_phis;
	c->label_arity = c->nresults;
	if (kind == CTRL_IF) {
		c->if_params = arena_array(f->arena, c->nparams ? c->nparams : 1, sizeof(LLVMValueRef));
		memcpy(c->if_params, &f->stack[c->height], c->nparams * sizeof(LLVMValueRef));
		LLVMBasicBlockRef then_bb = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "then");
		c->else_bb = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "else");
		LLVMValueRef b = LLVMBuildICmp(em->b, LLVMIntNE, cond, emit_i32(f, 0), "");
		LLVMBuildCondBr(em->b, b, then_bb, c->else_bb);
		LLVMPositionBuilderAtEnd(em->b, then_bb);
	}
}

static void do_else(struct emit_fn *f)
{
	struct emit_module *em = f->em;
	struct ctrl *c = &f->ctrls[f->nctrl - 1];
	if (!f->unreachable) {
		add_incoming(f, c->end_phis, c->nresults);
		c->end_preds++;
		LLVMBuildBr(em->b, c->end);
	}
	f->sp = c->height;
	for (uint32_t i = 0; i < c->nparams; i++)
		fn_push(f, c->if_params[i]);
	LLVMPositionBuilderAtEnd(em->b, c->else_bb);
	c->else_bb = NULL;
	c->kind = CTRL_ELSE;
	f->unreachable = false;
	f->skip_depth = 0;
}

static void do_return_from(struct emit_fn *f, struct ctrl *c)
{
	struct emit_module *em = f->em;
	const struct wasm_functype *ft = f->type;
	if (ft->nresults == 0) {
		LLVMBuildRetVoid(em->b);
	} else if (ft->nresults == 1) {
		LLVMBuildRet(em->b, c->end_phis[0]);
	} else {
		for (uint32_t i = 0; i < ft->nresults; i++) {
			LLVMValueRef cell = emit_cell_at(em, em->b, f->results_ptr, i);
			emit_store_cell(em, em->b, cell, c->end_phis[i], ft->results[i]);
		}
		LLVMBuildRetVoid(em->b);
	}
}

static void do_end(struct emit_fn *f)
{
	struct emit_module *em = f->em;
	struct ctrl *c = &f->ctrls[f->nctrl - 1];
	if (!f->unreachable) {
		add_incoming(f, c->end_phis, c->nresults);
		c->end_preds++;
		LLVMBuildBr(em->b, c->end);
	}
	if (c->kind == CTRL_IF) {
		/* No else: the params flow to the end unchanged (validation: params == results). */
		LLVMPositionBuilderAtEnd(em->b, c->else_bb);
		LLVMBasicBlockRef from = c->else_bb;
		for (uint32_t i = 0; i < c->nresults; i++)
			LLVMAddIncoming(c->end_phis[i], &c->if_params[i], &from, 1);
		c->end_preds++;
		LLVMBuildBr(em->b, c->end);
	}
	f->sp = c->height;
	f->skip_depth = 0;
	struct ctrl done = *c;
	f->nctrl--;
	if (done.end_preds == 0) {
		LLVMDeleteBasicBlock(done.end);
		f->unreachable = true;
		return;
	}
	LLVMMoveBasicBlockAfter(done.end, LLVMGetInsertBlock(em->b));
	LLVMPositionBuilderAtEnd(em->b, done.end);
	f->unreachable = false;
	for (uint32_t i = 0; i < done.nresults; i++)
		fn_push(f, done.end_phis[i]);
	if (done.kind == CTRL_FUNC) {
		do_return_from(f, &done);
		f->unreachable = true;
	}
}

static void do_br_table(struct emit_fn *f)
{
	struct emit_module *em = f->em;
	uint32_t n = read_u32(&f->r);
	if (f->r.failed)
		return;
	/* Validated: n + 1 label indices follow; each needs at least one byte. */
	if ((size_t)n + 1 > reader_left(&f->r)) {
		reader_fail(&f->r, "unexpected end");
		return;
	}
	if (f->br_cap < (size_t)n + 1) {
		f->br_cap = (size_t)n + 1;
		f->br_targets = xrealloc(f->br_targets, f->br_cap * sizeof(uint32_t));
	}
	for (uint32_t i = 0; i <= n; i++)
		f->br_targets[i] = read_u32(&f->r);
	if (f->r.failed)
		return;
	LLVMValueRef idx = fn_pop(f);
	uint32_t arity = f->ctrls[f->nctrl - 1 - f->br_targets[n]].label_arity;
	if (arity == 0) {
		/* No values travel: switch straight to the labels. */
		struct ctrl *def = branch_target(f, f->br_targets[n]);
		LLVMValueRef sw = LLVMBuildSwitch(em->b, idx, def->label, n);
		for (uint32_t i = 0; i < n; i++) {
			struct ctrl *t = branch_target(f, f->br_targets[i]);
			LLVMAddCase(sw, emit_i32(f, i), t->label);
		}
		f->unreachable = true;
		return;
	}
	/* Values travel: one edge block per distinct target, so each label phi gets exactly
	 * one incoming value per predecessor edge. */
	LLVMBasicBlockRef *edge = arena_array(f->arena, f->nctrl, sizeof(LLVMBasicBlockRef));
	LLVMBasicBlockRef cur = LLVMGetInsertBlock(em->b);
	for (uint32_t i = 0; i <= n; i++) {
		uint32_t d = f->br_targets[i];
		if (edge[d])
			continue;
		edge[d] = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "br_table");
		LLVMPositionBuilderAtEnd(em->b, edge[d]);
		struct ctrl *t = branch_target(f, d);
		LLVMBuildBr(em->b, t->label);
	}
	LLVMPositionBuilderAtEnd(em->b, cur);
	LLVMValueRef sw = LLVMBuildSwitch(em->b, idx, edge[f->br_targets[n]], n);
	for (uint32_t i = 0; i < n; i++)
		LLVMAddCase(sw, emit_i32(f, i), edge[f->br_targets[i]]);
	f->unreachable = true;
}

/* A dropped value's memory loads must still trap when out of bounds: LLVM would delete
 * an unused load, so the loads feeding a `drop` become volatile. Others are untouched. */
static void keep_loads(struct emit_module *em, LLVMValueRef v, int depth)
{
	if (depth <= 0 || !LLVMIsAInstruction(v))
		return;
	if (LLVMIsALoadInst(v)) {
		/* Linear-memory loads only: a volatile local would not be promoted. */
		if (LLVMGetMetadata(v, em->md_tbaa) == em->tbaa_tags[TBAA_MEM])
			LLVMSetVolatile(v, 1);
		return;
	}
	int n = LLVMGetNumOperands(v);
	for (int i = 0; i < n && i < 4; i++)
		keep_loads(em, LLVMGetOperand(v, i), depth - 1);
}

static void do_select(struct emit_fn *f)
{
	struct emit_module *em = f->em;
	LLVMValueRef c = fn_pop(f);
	LLVMValueRef v2 = fn_pop(f);
	LLVMValueRef v1 = fn_pop(f);
	LLVMValueRef b = LLVMBuildICmp(em->b, LLVMIntNE, c, emit_i32(f, 0), "");
	fn_push(f, LLVMBuildSelect(em->b, b, v1, v2, ""));
}

int emit_control(struct emit_fn *f, uint32_t op)
{
	struct emit_module *em = f->em;
	switch (op) {
	case WASM_OP_UNREACHABLE: /* unreachable */
		emit_trap(f, KUMO_TRAP_UNREACHABLE);
		return 1;
	case WASM_OP_NOP: /* nop */
		return 1;
	case WASM_OP_BLOCK:
		do_block(f, CTRL_BLOCK);
		return 1;
	case WASM_OP_LOOP:
		do_block(f, CTRL_LOOP);
		return 1;
	case WASM_OP_IF:
		do_block(f, CTRL_IF);
		return 1;
	case WASM_OP_ELSE:
		do_else(f);
		return 1;
	case WASM_OP_END:
		do_end(f);
		return 1;
	case WASM_OP_BR:
		do_br(f, read_u32(&f->r));
		return 1;
	case WASM_OP_BR_IF: { /* br_if */
		uint32_t depth = read_u32(&f->r);
		LLVMValueRef c = fn_pop(f);
		LLVMValueRef b = LLVMBuildICmp(em->b, LLVMIntNE, c, emit_i32(f, 0), "");
		struct ctrl *t = branch_target(f, depth);
		LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "br_if.cont");
		LLVMBuildCondBr(em->b, b, t->label, cont);
		LLVMPositionBuilderAtEnd(em->b, cont);
		return 1;
	}
	case WASM_OP_BR_TABLE:
		do_br_table(f);
		return 1;
	case WASM_OP_RETURN: /* return */
		do_br(f, (uint32_t)f->nctrl - 1);
		return 1;
	case WASM_OP_DROP: /* drop */
		keep_loads(em, fn_pop(f), 4);
		return 1;
	case WASM_OP_SELECT:
		do_select(f);
		return 1;
	case WASM_OP_SELECT_T: { /* select t* */
		uint32_t n = read_u32(&f->r);
		for (uint32_t i = 0; i < n && !f->r.failed; i++)
			read_u8(&f->r);
		do_select(f);
		return 1;
	}
	default:
		return 0;
	}
}

static void skip_memarg(struct wasm_reader *r)
{
	read_u32(r);
	read_u32(r);
}

/* Dead code: nothing is emitted, but immediates are read and nesting is tracked so the
 * `else`/`end` that closes the current frame is found. */
void emit_skip_dead(struct emit_fn *f, uint32_t op)
{
	struct wasm_reader *r = &f->r;
	switch (op) {
	case WASM_OP_BLOCK: case WASM_OP_LOOP: case WASM_OP_IF:
		read_sleb(r, 33);
		f->skip_depth++;
		return;
	case WASM_OP_ELSE:
		if (f->skip_depth == 0)
			do_else(f);
		return;
	case WASM_OP_END:
		if (f->skip_depth == 0)
			do_end(f);
		else
			f->skip_depth--;
		return;
	case WASM_OP_BR: case WASM_OP_BR_IF: case WASM_OP_CALL: case WASM_OP_LOCAL_GET: case WASM_OP_LOCAL_SET: case WASM_OP_LOCAL_TEE: case WASM_OP_GLOBAL_GET: case WASM_OP_GLOBAL_SET:
	case WASM_OP_TABLE_GET: case WASM_OP_TABLE_SET: case WASM_OP_REF_FUNC:
		read_u32(r);
		return;
	case WASM_OP_BR_TABLE: {
		uint32_t n = read_u32(r);
		for (uint64_t i = 0; i <= n && !r->failed; i++)
			read_u32(r);
		return;
	}
	case WASM_OP_CALL_INDIRECT:
		read_u32(r);
		read_u32(r);
		return;
	case WASM_OP_SELECT_T: {
		uint32_t n = read_u32(r);
		for (uint32_t i = 0; i < n && !r->failed; i++)
			read_u8(r);
		return;
	}
	case WASM_OP_MEMORY_SIZE: case WASM_OP_MEMORY_GROW: case WASM_OP_REF_NULL:
		read_u8(r);
		return;
	case WASM_OP_I32_CONST:
		read_sleb(r, 32);
		return;
	case WASM_OP_I64_CONST:
		read_sleb(r, 64);
		return;
	case WASM_OP_F32_CONST:
		read_bytes(r, 4);
		return;
	case WASM_OP_F64_CONST:
		read_bytes(r, 8);
		return;
	case WASM_OP_PREFIX_SIMD: {
		const struct wasm_simd_info *si = wasm_simd_info(read_u32(r));
		if (!si)
			return; /* validation refused it already */
		if (si->imm == 'm' || si->imm == 'L') {
			read_u32(r);
			read_u32(r);
		}
		if (si->imm == 'L' || si->imm == 'l')
			read_u8(r);
		if (si->imm == 's' || si->imm == 'c')
			read_bytes(r, 16);
		return;
	}
	case WASM_OP_PREFIX_FC: {
		uint32_t sub = read_u32(r);
		switch (sub) {
		case 8: read_u32(r); read_u8(r); break;
		case 9: case 13: case 15: case 16: case 17: read_u32(r); break;
		case 10: read_u8(r); read_u8(r); break;
		case 11: read_u8(r); break;
		case 12: case 14: read_u32(r); read_u32(r); break;
		default: break;
		}
		return;
	}
	default:
		if (op >= WASM_OP_I32_LOAD && op <= WASM_OP_I64_STORE32)
			skip_memarg(r);
		return;
	}
}
