/* compiler/emit_table.c - reference types: ref.null/is_null/func and the table.* ops
 * (table.size inline, the rest through the runtime's libcalls). */
#include "compiler/emit.h"
#include "compiler/opcodes.h"

int emit_table(struct emit_fn *f, uint32_t op)
{
	struct emit_module *em = f->em;
	switch (op) {
	case WASM_OP_TABLE_GET: { /* table.get */
		uint32_t t = read_u32(&f->r);
		LLVMValueRef args[3] = {f->vmctx, emit_i32(f, t), fn_pop(f)};
		fn_push(f, emit_libcall(f, LC_TABLE_GET, args, 3));
		return 1;
	}
	case WASM_OP_TABLE_SET: { /* table.set */
		uint32_t t = read_u32(&f->r);
		LLVMValueRef ref = fn_pop(f), i = fn_pop(f);
		LLVMValueRef args[4] = {f->vmctx, emit_i32(f, t), i, ref};
		emit_libcall(f, LC_TABLE_SET, args, 4);
		return 1;
	}
	case WASM_OP_REF_NULL: /* ref.null t */
		read_u8(&f->r);
		fn_push(f, LLVMConstPointerNull(em->t_ptr));
		return 1;
	case WASM_OP_REF_IS_NULL: /* ref.is_null */
		fn_push(f, emit_bool_to_i32(f, LLVMBuildIsNull(em->b, fn_pop(f), "")));
		return 1;
	case WASM_OP_REF_FUNC: { /* ref.func x = &vmctx->funcrefs[x] */
		uint32_t x = read_u32(&f->r);
		LLVMValueRef off = emit_i64(f, (uint64_t)x * sizeof(struct kumo_funcref));
		fn_push(f, LLVMBuildInBoundsGEP2(em->b, em->t_i8, fn_funcrefs(f), &off, 1, ""));
		return 1;
	}
	default:
		return 0;
	}
}

int emit_table_fc(struct emit_fn *f, uint32_t sub)
{
	struct emit_module *em = f->em;
	switch (sub) {
	case WASM_FC_TABLE_INIT: { /* table.init elemidx tableidx */
		uint32_t seg = read_u32(&f->r), t = read_u32(&f->r);
		LLVMValueRef n = fn_pop(f), s = fn_pop(f), d = fn_pop(f);
		LLVMValueRef args[6] = {f->vmctx, emit_i32(f, t), emit_i32(f, seg), d, s, n};
		emit_libcall(f, LC_TABLE_INIT, args, 6);
		return 1;
	}
	case WASM_FC_ELEM_DROP: { /* elem.drop */
		LLVMValueRef args[2] = {f->vmctx, emit_i32(f, read_u32(&f->r))};
		emit_libcall(f, LC_ELEM_DROP, args, 2);
		return 1;
	}
	case WASM_FC_TABLE_COPY: { /* table.copy dst src */
		uint32_t dt = read_u32(&f->r), st = read_u32(&f->r);
		LLVMValueRef n = fn_pop(f), s = fn_pop(f), d = fn_pop(f);
		LLVMValueRef args[6] = {f->vmctx, emit_i32(f, dt), emit_i32(f, st), d, s, n};
		emit_libcall(f, LC_TABLE_COPY, args, 6);
		return 1;
	}
	case WASM_FC_TABLE_GROW: { /* table.grow */
		uint32_t t = read_u32(&f->r);
		LLVMValueRef delta = fn_pop(f), init = fn_pop(f);
		LLVMValueRef args[4] = {f->vmctx, emit_i32(f, t), init, delta};
		fn_push(f, emit_libcall(f, LC_TABLE_GROW, args, 4));
		return 1;
	}
	case WASM_FC_TABLE_SIZE: { /* table.size */
		uint32_t t = read_u32(&f->r);
		if (t >= em->m->ntables) {
			reader_fail(&f->r, "unknown table");
			return 1;
		}
		LLVMValueRef table = emit_load_rt(f, em->t_ptr, fn_tables(f), (uint64_t)t * sizeof(void *),
						  true);
		fn_push(f, emit_load_rt(f, em->t_i32, table, offsetof(struct kumo_table, size), false));
		return 1;
	}
	case WASM_FC_TABLE_FILL: { /* table.fill */
		uint32_t t = read_u32(&f->r);
		LLVMValueRef n = fn_pop(f), ref = fn_pop(f), i = fn_pop(f);
		LLVMValueRef args[5] = {f->vmctx, emit_i32(f, t), i, ref, n};
		emit_libcall(f, LC_TABLE_FILL, args, 5);
		return 1;
	}
	default:
		return 0;
	}
}
