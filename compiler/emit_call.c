/* compiler/emit_call.c - call (direct, or through vmctx->funcrefs for imports) and
 * call_indirect (bounds, null and signature checks, then the funcref's code). */
#include "compiler/emit.h"
#include "compiler/opcodes.h"

void emit_call_native(struct emit_fn *f, const struct wasm_functype *ft, LLVMTypeRef fty,
		      LLVMValueRef callee, LLVMValueRef callee_vmctx)
{
	struct emit_module *em = f->em;
	uint32_t extra = ft->nresults >= 2 ? 2 : 1;
	uint32_t nargs = ft->nparams + extra;
	LLVMValueRef stackbuf[16];
	LLVMValueRef *args = nargs <= 16 ? stackbuf : arena_array(f->arena, nargs, sizeof(*args));
	args[0] = callee_vmctx;
	if (ft->nresults >= 2) {
		if (f->call_results_n < ft->nresults) {
			/* One scratch array per function, sized for the widest call. */
			LLVMTypeRef at = LLVMArrayType2(em->t_v128, ft->nresults);
			LLVMValueRef a = fn_alloca(f, at, "call.results");
			f->call_results = a;
			f->call_results_n = ft->nresults;
		}
		args[1] = f->call_results;
	}
	for (uint32_t i = ft->nparams; i > 0; i--)
		args[extra + i - 1] = fn_pop(f);
	LLVMValueRef r = LLVMBuildCall2(em->b, fty, callee, args, nargs, "");
	/* Keeps tail-recursion elimination from turning unbounded recursion (which must trap
	 * with "call stack exhausted") into an endless loop. */
	LLVMSetTailCallKind(r, LLVMTailCallKindNoTail);
	if (ft->nresults == 1) {
		fn_push(f, r);
	} else if (ft->nresults >= 2) {
		for (uint32_t i = 0; i < ft->nresults; i++) {
			LLVMValueRef cell = emit_cell_at(em, em->b, args[1], i);
			fn_push(f, emit_load_cell(em, em->b, cell, ft->results[i]));
		}
	}
}

static void call_funcref(struct emit_fn *f, const struct wasm_functype *ft, LLVMTypeRef fty,
			 LLVMValueRef ref)
{
	struct emit_module *em = f->em;
	LLVMValueRef code = emit_load_rt(f, em->t_ptr, ref, offsetof(struct kumo_funcref, code), false);
	LLVMValueRef ctx = emit_load_rt(f, em->t_ptr, ref, offsetof(struct kumo_funcref, vmctx), false);
	emit_call_native(f, ft, fty, code, ctx);
}

int emit_call(struct emit_fn *f, uint32_t op)
{
	struct emit_module *em = f->em;
	const struct wasm_module *m = em->m;
	if (op == WASM_OP_CALL) {
		uint32_t idx = read_u32(&f->r);
		if (f->r.failed || idx >= m->nfuncs) {
			reader_fail(&f->r, "unknown function");
			return 1;
		}
		const struct wasm_functype *ft = wasm_func_type(m, idx);
		LLVMTypeRef fty = em->fn_types[m->funcs[idx].type_idx];
		if (idx >= m->nimported_funcs) {
			emit_call_native(f, ft, fty, em->funcs[idx], f->vmctx);
		} else {
			/* Imports go through their funcref slot (invariant for the instance). */
			LLVMValueRef off = emit_i64(f, (uint64_t)idx * sizeof(struct kumo_funcref));
			LLVMValueRef ref = LLVMBuildInBoundsGEP2(em->b, em->t_i8, fn_funcrefs(f), &off, 1, "");
			LLVMValueRef code = emit_load_rt(f, em->t_ptr, ref,
							 offsetof(struct kumo_funcref, code), true);
			LLVMValueRef ctx = emit_load_rt(f, em->t_ptr, ref,
							offsetof(struct kumo_funcref, vmctx), true);
			emit_call_native(f, ft, fty, code, ctx);
		}
		return 1;
	}
	if (op == WASM_OP_CALL_INDIRECT) {
		uint32_t typeidx = read_u32(&f->r);
		uint32_t tableidx = read_u32(&f->r);
		if (f->r.failed || typeidx >= m->ntypes || tableidx >= m->ntables) {
			reader_fail(&f->r, "unknown type or table");
			return 1;
		}
		LLVMBuilderRef b = em->b;
		const struct wasm_functype *ft = &m->types[typeidx];
		LLVMValueRef idx = fn_pop(f);
		LLVMValueRef table = emit_load_rt(f, em->t_ptr, fn_tables(f),
						  (uint64_t)tableidx * sizeof(void *), true);
		LLVMValueRef size = emit_load_rt(f, em->t_i32, table, offsetof(struct kumo_table, size),
						 false);
		emit_trap_if(f, LLVMBuildICmp(b, LLVMIntUGE, idx, size, ""), KUMO_TRAP_UNDEFINED_ELEMENT);
		LLVMValueRef elems = emit_load_rt(f, em->t_ptr, table, offsetof(struct kumo_table, elems),
						  false);
		LLVMValueRef i64 = LLVMBuildZExt(b, idx, em->t_i64, "");
		LLVMValueRef slot = LLVMBuildInBoundsGEP2(b, em->t_ptr, elems, &i64, 1, "");
		LLVMValueRef ref = LLVMBuildLoad2(b, em->t_ptr, slot, "");
		emit_tbaa(em, ref, TBAA_TABLE);
		emit_trap_if(f, LLVMBuildIsNull(b, ref, ""), KUMO_TRAP_UNINITIALIZED_ELEMENT);
		LLVMValueRef want = emit_load_rt(f, em->t_i32, fn_type_ids(f),
						 (uint64_t)typeidx * sizeof(uint32_t), true);
		LLVMValueRef have = emit_load_rt(f, em->t_i32, ref, offsetof(struct kumo_funcref, type_id),
						 false);
		emit_trap_if(f, LLVMBuildICmp(b, LLVMIntNE, want, have, ""),
			     KUMO_TRAP_INDIRECT_CALL_MISMATCH);
		call_funcref(f, ft, em->fn_types[typeidx], ref);
		return 1;
	}
	return 0;
}
