/* compiler/emit_function.c - lowers one function body: prologue (locals, stack check),
 * the opcode dispatch loop, and the helpers every opcode family shares. */
#include <stdlib.h>
#include <string.h>

#include "compiler/emit.h"

LLVMTypeRef emit_valtype(struct emit_module *em, wasm_valtype t)
{
	switch (t) {
	case KUMO_T_I32: return em->t_i32;
	case KUMO_T_I64: return em->t_i64;
	case KUMO_T_F32: return em->t_f32;
	case KUMO_T_F64: return em->t_f64;
	case KUMO_T_V128: return em->t_v128;
	default: return em->t_ptr; /* funcref, externref */
	}
}

LLVMTypeRef emit_fn_type(struct emit_module *em, const struct wasm_functype *ft)
{
	uint32_t n = ft->nparams + 1 + (ft->nresults >= 2);
	LLVMTypeRef stackbuf[16];
	LLVMTypeRef *params = n <= 16 ? stackbuf : xmalloc(n * sizeof(*params));
	uint32_t k = 0;
	params[k++] = em->t_ptr;
	if (ft->nresults >= 2)
		params[k++] = em->t_ptr;
	for (uint32_t i = 0; i < ft->nparams; i++)
		params[k++] = emit_valtype(em, ft->params[i]);
	LLVMTypeRef ret = ft->nresults == 1 ? emit_valtype(em, ft->results[0]) : em->t_void;
	LLVMTypeRef t = LLVMFunctionType(ret, params, k, 0);
	if (params != stackbuf)
		free(params);
	return t;
}

void emit_fn_attrs(struct emit_module *em, LLVMValueRef fn)
{
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, em->attr_noredzone);
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, em->attr_nounwind);
	if (em->attr_tune)
		LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, em->attr_tune);
}

/* ------------------------------------------------------------------------- */

void fn_push(struct emit_fn *f, LLVMValueRef v)
{
	if (f->sp == f->stack_cap) {
		f->stack_cap = f->stack_cap ? f->stack_cap * 2 : 64;
		f->stack = xrealloc(f->stack, f->stack_cap * sizeof(*f->stack));
	}
	f->stack[f->sp++] = v;
}

LLVMValueRef fn_pop(struct emit_fn *f)
{
	/* Validation guarantees operands; never underflow below the current frame. */
	if (f->sp == 0)
		abort();
	return f->stack[--f->sp];
}

LLVMValueRef fn_peek(struct emit_fn *f, size_t depth)
{
	if (depth >= f->sp)
		abort();
	return f->stack[f->sp - 1 - depth];
}

LLVMValueRef emit_i32(struct emit_fn *f, uint32_t v)
{
	return LLVMConstInt(f->em->t_i32, v, 0);
}

LLVMValueRef emit_i64(struct emit_fn *f, uint64_t v)
{
	return LLVMConstInt(f->em->t_i64, v, 0);
}

LLVMValueRef emit_bool_to_i32(struct emit_fn *f, LLVMValueRef i1)
{
	return LLVMBuildZExt(f->em->b, i1, f->em->t_i32, "");
}

LLVMValueRef emit_intrinsic(struct emit_fn *f, const char *name, LLVMTypeRef *overload,
			    unsigned noverload, LLVMValueRef *args, unsigned nargs)
{
	struct emit_module *em = f->em;
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	LLVMValueRef decl = LLVMGetIntrinsicDeclaration(em->mod, id, overload, noverload);
	LLVMTypeRef ty = LLVMIntrinsicGetType(em->ctx, id, overload, noverload);
	return LLVMBuildCall2(em->b, ty, decl, args, nargs, "");
}

void emit_tbaa(struct emit_module *em, LLVMValueRef inst, enum emit_tbaa cls)
{
	LLVMSetMetadata(inst, em->md_tbaa, em->tbaa_tags[cls]);
}

static LLVMValueRef load_field(struct emit_module *em, LLVMBuilderRef b, LLVMTypeRef t,
			       LLVMValueRef base, uint64_t offset, bool invariant)
{
	LLVMValueRef p = base;
	if (offset) {
		LLVMValueRef off = LLVMConstInt(em->t_i64, offset, 0);
		p = LLVMBuildInBoundsGEP2(b, em->t_i8, base, &off, 1, "");
	}
	LLVMValueRef v = LLVMBuildLoad2(b, t, p, "");
	emit_tbaa(em, v, TBAA_RT);
	if (invariant)
		LLVMSetMetadata(v, em->md_invariant, em->md_empty);
	return v;
}

LLVMValueRef emit_load_rt(struct emit_fn *f, LLVMTypeRef t, LLVMValueRef base, uint64_t offset,
			  bool invariant)
{
	return load_field(f->em, f->em->b, t, base, offset, invariant);
}

static LLVMValueRef hoist(struct emit_fn *f, LLVMValueRef *slot, size_t offset)
{
	if (!*slot)
		*slot = load_field(f->em, f->em->eb, f->em->t_ptr, f->vmctx, offset, true);
	return *slot;
}

LLVMValueRef fn_mem_base(struct emit_fn *f)
{
	return hoist(f, &f->mem_base, offsetof(struct kumo_vmctx, mem_base));
}

LLVMValueRef fn_memory(struct emit_fn *f)
{
	return hoist(f, &f->memory, offsetof(struct kumo_vmctx, memory));
}

LLVMValueRef fn_funcrefs(struct emit_fn *f)
{
	return hoist(f, &f->funcrefs, offsetof(struct kumo_vmctx, funcrefs));
}

LLVMValueRef fn_type_ids(struct emit_fn *f)
{
	return hoist(f, &f->type_ids, offsetof(struct kumo_vmctx, type_ids));
}

LLVMValueRef fn_tables(struct emit_fn *f)
{
	return hoist(f, &f->tables, offsetof(struct kumo_vmctx, tables));
}

LLVMValueRef fn_global_cell(struct emit_fn *f, uint32_t idx)
{
	if (!f->global_cells[idx]) {
		LLVMValueRef arr = hoist(f, &f->globals, offsetof(struct kumo_vmctx, globals));
		f->global_cells[idx] = load_field(f->em, f->em->eb, f->em->t_ptr, arr,
						  (uint64_t)idx * sizeof(union kumo_val *), true);
	}
	return f->global_cells[idx];
}

LLVMValueRef fn_alloca(struct emit_fn *f, LLVMTypeRef t, const char *name)
{
	return LLVMBuildAlloca(f->em->eb, t, name);
}

LLVMValueRef emit_cell_at(struct emit_module *em, LLVMBuilderRef b, LLVMValueRef base, uint32_t i)
{
	if (i == 0)
		return base;
	LLVMValueRef off = LLVMConstInt(em->t_i64, (uint64_t)i * sizeof(union kumo_val), 0);
	return LLVMBuildInBoundsGEP2(b, em->t_i8, base, &off, 1, "");
}

void emit_store_cell(struct emit_module *em, LLVMBuilderRef b, LLVMValueRef cell, LLVMValueRef v,
		     wasm_valtype t)
{
	/* Integers are widened so the whole 8-byte cell is defined. */
	switch (t) {
	case KUMO_T_I32:
		v = LLVMBuildZExt(b, v, em->t_i64, "");
		break;
	case KUMO_T_F32:
		v = LLVMBuildZExt(b, LLVMBuildBitCast(b, v, em->t_i32, ""), em->t_i64, "");
		break;
	default:
		break;
	}
	LLVMValueRef st = LLVMBuildStore(b, v, cell);
	if (t == KUMO_T_V128)
		LLVMSetAlignment(st, 8); /* cells are 8-byte aligned */
}

LLVMValueRef emit_load_cell(struct emit_module *em, LLVMBuilderRef b, LLVMValueRef cell,
			    wasm_valtype t)
{
	LLVMValueRef v = LLVMBuildLoad2(b, emit_valtype(em, t), cell, "");
	if (t == KUMO_T_V128)
		LLVMSetAlignment(v, 8);
	return v;
}

/* ------------------------------------------------------------------------- */

LLVMValueRef emit_libcall(struct emit_fn *f, enum emit_libcall lc, LLVMValueRef *args,
			  unsigned nargs)
{
	struct emit_module *em = f->em;
	static const char *const names[LC_COUNT] = {
		[LC_TRAP] = KUMO_SYM_TRAP,
		[LC_MEMORY_GROW] = KUMO_SYM_MEMORY_GROW,
		[LC_MEMORY_INIT] = KUMO_SYM_MEMORY_INIT,
		[LC_DATA_DROP] = KUMO_SYM_DATA_DROP,
		[LC_MEMORY_COPY] = KUMO_SYM_MEMORY_COPY,
		[LC_MEMORY_FILL] = KUMO_SYM_MEMORY_FILL,
		[LC_TABLE_GET] = KUMO_SYM_TABLE_GET,
		[LC_TABLE_SET] = KUMO_SYM_TABLE_SET,
		[LC_TABLE_GROW] = KUMO_SYM_TABLE_GROW,
		[LC_TABLE_FILL] = KUMO_SYM_TABLE_FILL,
		[LC_TABLE_COPY] = KUMO_SYM_TABLE_COPY,
		[LC_TABLE_INIT] = KUMO_SYM_TABLE_INIT,
		[LC_ELEM_DROP] = KUMO_SYM_ELEM_DROP,
	};
	LLVMTypeRef p = em->t_ptr, i = em->t_i32;
	LLVMTypeRef params[6] = {p};
	LLVMTypeRef ret = em->t_void;
	unsigned n = 1;
	switch (lc) {
	case LC_TRAP: params[n++] = i; break;
	case LC_MEMORY_GROW: ret = i; params[n++] = i; break;
	case LC_MEMORY_INIT: for (int k = 0; k < 4; k++) params[n++] = i; break;
	case LC_DATA_DROP: case LC_ELEM_DROP: params[n++] = i; break;
	case LC_MEMORY_COPY: case LC_MEMORY_FILL: for (int k = 0; k < 3; k++) params[n++] = i; break;
	case LC_TABLE_GET: ret = p; params[n++] = i; params[n++] = i; break;
	case LC_TABLE_SET: params[n++] = i; params[n++] = i; params[n++] = p; break;
	case LC_TABLE_GROW: ret = i; params[n++] = i; params[n++] = p; params[n++] = i; break;
	case LC_TABLE_FILL: params[n++] = i; params[n++] = i; params[n++] = p; params[n++] = i; break;
	case LC_TABLE_COPY: case LC_TABLE_INIT: for (int k = 0; k < 5; k++) params[n++] = i; break;
	case LC_COUNT: abort();
	}
	LLVMTypeRef fty = LLVMFunctionType(ret, params, n, 0);
	if (!em->libcalls[lc]) {
		LLVMValueRef fn = LLVMAddFunction(em->mod, names[lc], fty);
		LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, em->attr_nounwind);
		if (lc == LC_TRAP) {
			const char *attrs[] = {"noreturn", "cold"};
			for (int k = 0; k < 2; k++) {
				unsigned kind = LLVMGetEnumAttributeKindForName(attrs[k], strlen(attrs[k]));
				LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
							LLVMCreateEnumAttribute(em->ctx, kind, 0));
			}
		}
		em->libcalls[lc] = fn;
	}
	return LLVMBuildCall2(em->b, fty, em->libcalls[lc], args, nargs, "");
}

static LLVMBasicBlockRef trap_block(struct emit_fn *f, uint32_t code)
{
	if (!f->traps[code]) {
		struct emit_module *em = f->em;
		LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "trap");
		LLVMBasicBlockRef saved = LLVMGetInsertBlock(em->b);
		LLVMPositionBuilderAtEnd(em->b, bb);
		LLVMValueRef args[2] = {f->vmctx, emit_i32(f, code)};
		LLVMValueRef call = emit_libcall(f, LC_TRAP, args, 2);
		(void)call;
		LLVMBuildUnreachable(em->b);
		LLVMPositionBuilderAtEnd(em->b, saved);
		f->traps[code] = bb;
	}
	return f->traps[code];
}

void emit_trap_if(struct emit_fn *f, LLVMValueRef cond, uint32_t code)
{
	struct emit_module *em = f->em;
	LLVMBasicBlockRef trap = trap_block(f, code);
	LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "ok");
	LLVMValueRef br = LLVMBuildCondBr(em->b, cond, trap, cont);
	LLVMSetMetadata(br, em->md_prof, em->md_unlikely);
	LLVMPositionBuilderAtEnd(em->b, cont);
}

void emit_trap(struct emit_fn *f, uint32_t code)
{
	LLVMBuildBr(f->em->b, trap_block(f, code));
	f->unreachable = true;
}

/* ------------------------------------------------------------------------- */

static void stack_check(struct emit_fn *f)
{
	struct emit_module *em = f->em;
	LLVMMetadataRef name = LLVMMDStringInContext2(em->ctx, "rsp", 3);
	LLVMValueRef md = LLVMMetadataAsValue(em->ctx, LLVMMDNodeInContext2(em->ctx, &name, 1));
	LLVMTypeRef ov = em->t_i64;
	LLVMValueRef sp = emit_intrinsic(f, "llvm.read_register", &ov, 1, &md, 1);
	LLVMValueRef limit = emit_load_rt(f, em->t_i64, f->vmctx,
					  offsetof(struct kumo_vmctx, stack_limit), false);
	emit_trap_if(f, LLVMBuildICmp(em->b, LLVMIntULT, sp, limit, ""), KUMO_TRAP_STACK_EXHAUSTED);
}

static LLVMValueRef zero_of(struct emit_module *em, wasm_valtype t)
{
	LLVMTypeRef ty = emit_valtype(em, t);
	if (t == KUMO_T_F32 || t == KUMO_T_F64)
		return LLVMConstReal(ty, 0.0);
	if (t == KUMO_T_I32 || t == KUMO_T_I64)
		return LLVMConstInt(ty, 0, 0);
	if (t == KUMO_T_V128)
		return LLVMConstNull(ty);
	return LLVMConstPointerNull(ty);
}

/* Pushes the function's own frame: its label is the return block. */
static void push_func_frame(struct emit_fn *f)
{
	struct emit_module *em = f->em;
	f->ctrl_cap = 16;
	f->ctrls = xmalloc(f->ctrl_cap * sizeof(*f->ctrls));
	f->nctrl = 1;
	struct ctrl *c = &f->ctrls[0];
	memset(c, 0, sizeof(*c));
	c->kind = CTRL_FUNC;
	c->nresults = f->type->nresults;
	c->results = f->type->results;
	c->height = 0;
	c->end = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "return");
	c->label = c->end;
	c->end_phis = arena_array(f->arena, c->nresults ? c->nresults : 1, sizeof(LLVMValueRef));
	LLVMBasicBlockRef saved = LLVMGetInsertBlock(em->b);
	LLVMPositionBuilderAtEnd(em->b, c->end);
	for (uint32_t i = 0; i < c->nresults; i++)
		c->end_phis[i] = LLVMBuildPhi(em->b, emit_valtype(em, c->results[i]), "");
	LLVMPositionBuilderAtEnd(em->b, saved);
	c->label_phis = c->end_phis;
	c->label_arity = c->nresults;
}

/* The opcode dispatch: each family claims its own opcodes. */
static int dispatch(struct emit_fn *f, uint32_t op)
{
	if (op == 0xfc) {
		uint32_t sub = read_u32(&f->r);
		if (f->r.failed)
			return 0;
		return emit_convert_fc(f, sub) || emit_memory_fc(f, sub) || emit_table_fc(f, sub);
	}
	if (op == 0xfd) {
		uint32_t sub = read_u32(&f->r);
		if (f->r.failed)
			return 0;
		return emit_simd(f, sub);
	}
	return emit_control(f, op) || emit_variable(f, op) || emit_numeric(f, op) ||
	       emit_convert(f, op) || emit_memory(f, op) || emit_call(f, op) || emit_table(f, op);
}

int emit_function(struct emit_module *em, uint32_t func_idx, struct wasm_arena *arena,
		  kumo_error_t *err)
{
	const struct wasm_module *m = em->m;
	const struct wasm_func *wf = &m->funcs[func_idx];
	struct emit_fn fs = {0}, *f = &fs;
	int ret = -1;

	f->em = em;
	f->arena = arena;
	f->func_idx = func_idx;
	f->type = &m->types[wf->type_idx];
	f->fn = em->funcs[func_idx];
	f->vmctx = LLVMGetParam(f->fn, 0);
	if (f->type->nresults >= 2)
		f->results_ptr = LLVMGetParam(f->fn, 1);
	f->global_cells = arena_array(arena, m->nglobals ? m->nglobals : 1, sizeof(LLVMValueRef));

	f->entry = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "entry");
	LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(em->ctx, f->fn, "body");
	LLVMPositionBuilderAtEnd(em->eb, f->entry);
	LLVMPositionBuilderAtEnd(em->b, body);

	/* Locals: params then declared locals, each an alloca promoted by mem2reg. */
	f->nlocals = f->type->nparams + wf->nlocals;
	f->local_types = arena_array(arena, f->nlocals ? f->nlocals : 1, sizeof(wasm_valtype));
	f->locals = arena_array(arena, f->nlocals ? f->nlocals : 1, sizeof(LLVMValueRef));
	uint32_t first_param = f->type->nresults >= 2 ? 2 : 1;
	for (uint32_t i = 0; i < f->nlocals; i++) {
		wasm_valtype t = i < f->type->nparams ? f->type->params[i]
						      : wf->local_types[i - f->type->nparams];
		f->local_types[i] = t;
		f->locals[i] = fn_alloca(f, emit_valtype(em, t), "");
		LLVMValueRef init = i < f->type->nparams ? LLVMGetParam(f->fn, first_param + i)
							 : zero_of(em, t);
		LLVMBuildStore(em->eb, init, f->locals[i]);
	}

	stack_check(f);
	push_func_frame(f);

	reader_init(&f->r, m->bytes, wf->body, wf->body_end);
	while (f->nctrl > 0) {
		size_t at = reader_offset(&f->r);
		uint8_t op = read_u8(&f->r);
		if (f->r.failed) {
			kumo_error(err, KUMO_E_INVALID, "function %u: %s at offset %zu", func_idx,
				   f->r.err, f->r.err_offset);
			goto out;
		}
		if (f->unreachable) {
			emit_skip_dead(f, op);
			continue;
		}
		if (!dispatch(f, op)) {
			kumo_error(err, KUMO_E_UNSUPPORTED,
				   "function %u: unsupported instruction 0x%02x at offset %zu",
				   func_idx, op, at);
			goto out;
		}
	}
	if (f->r.failed) {
		kumo_error(err, KUMO_E_INVALID, "function %u: %s at offset %zu", func_idx, f->r.err,
			   f->r.err_offset);
		goto out;
	}
	LLVMPositionBuilderAtEnd(em->eb, f->entry);
	LLVMBuildBr(em->eb, body);
	ret = 0;
out:
	free(f->stack);
	free(f->ctrls);
	free(f->br_targets);
	return ret;
}
