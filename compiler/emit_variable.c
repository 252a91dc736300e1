/* compiler/emit_variable.c - local.get/set/tee (allocas) and global.get/set (cells). */
#include "compiler/emit.h"
#include "compiler/opcodes.h"

int emit_variable(struct emit_fn *f, uint32_t op)
{
	struct emit_module *em = f->em;
	switch (op) {
	case WASM_OP_LOCAL_GET: { /* local.get */
		uint32_t i = read_u32(&f->r);
		if (i >= f->nlocals)
			return reader_fail(&f->r, "unknown local"), 1;
		fn_push(f, LLVMBuildLoad2(em->b, emit_valtype(em, f->local_types[i]), f->locals[i], ""));
		return 1;
	}
	case WASM_OP_LOCAL_SET: /* local.set */
	case WASM_OP_LOCAL_TEE: { /* local.tee */
		uint32_t i = read_u32(&f->r);
		if (i >= f->nlocals)
			return reader_fail(&f->r, "unknown local"), 1;
		LLVMValueRef v = op == WASM_OP_LOCAL_SET ? fn_pop(f) : fn_peek(f, 0);
		LLVMBuildStore(em->b, v, f->locals[i]);
		return 1;
	}
	case WASM_OP_GLOBAL_GET: { /* global.get */
		uint32_t i = read_u32(&f->r);
		if (i >= em->m->nglobals)
			return reader_fail(&f->r, "unknown global"), 1;
		const struct wasm_globaltype *gt = &em->m->globals[i].type;
		LLVMValueRef v = LLVMBuildLoad2(em->b, emit_valtype(em, gt->type), fn_global_cell(f, i), "");
		if (gt->type == KUMO_T_V128)
			LLVMSetAlignment(v, 8); /* cells are 8-byte aligned (abi.h) */
		emit_tbaa(em, v, TBAA_GLOBAL);
		if (!gt->mutable_)
			LLVMSetMetadata(v, em->md_invariant, em->md_empty);
		fn_push(f, v);
		return 1;
	}
	case WASM_OP_GLOBAL_SET: { /* global.set */
		uint32_t i = read_u32(&f->r);
		if (i >= em->m->nglobals)
			return reader_fail(&f->r, "unknown global"), 1;
		const struct wasm_globaltype *gt = &em->m->globals[i].type;
		LLVMValueRef v = fn_pop(f);
		LLVMValueRef cell = fn_global_cell(f, i);
		/* Same width as global.get so LICM can promote a global kept in a loop. */
		LLVMValueRef st = LLVMBuildStore(em->b, v, cell);
		if (gt->type == KUMO_T_V128)
			LLVMSetAlignment(st, 8);
		emit_tbaa(em, st, TBAA_GLOBAL);
		return 1;
	}
	default:
		return 0;
	}
}
