/* compiler/emit_memory.c - linear memory: loads and stores (guard-page mode without
 * checks, or explicit bounds checks), memory.size/grow and the bulk-memory ops. */
#include "compiler/emit.h"
#include "compiler/opcodes.h"

LLVMValueRef emit_mem_address(struct emit_fn *f, LLVMValueRef idx, uint32_t offset, unsigned size)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	LLVMValueRef ea = LLVMBuildZExt(b, idx, em->t_i64, "");
	if (offset)
		ea = LLVMBuildNUWAdd(b, ea, emit_i64(f, offset), "");
	LLVMValueRef base;
	if (em->bounds_checks) {
		/* The memory may move and grow: read both each time (TBAA lets LLVM reuse them
		 * across accesses that cannot change them). */
		LLVMValueRef mem = fn_memory(f);
		LLVMValueRef end = LLVMBuildNUWAdd(b, ea, emit_i64(f, size), "");
		LLVMValueRef bytes = emit_load_rt(f, em->t_i64, mem,
						  offsetof(struct kumo_memory, bytes), false);
		emit_trap_if(f, LLVMBuildICmp(b, LLVMIntUGT, end, bytes, ""), KUMO_TRAP_MEMORY_OOB);
		base = emit_load_rt(f, em->t_ptr, mem, offsetof(struct kumo_memory, base), false);
	} else {
		base = fn_mem_base(f);
	}
	return LLVMBuildInBoundsGEP2(b, em->t_i8, base, &ea, 1, "");
}

static void read_memarg(struct emit_fn *f, uint32_t *offset)
{
	read_u32(&f->r); /* alignment hint: accesses are emitted with align 1 */
	*offset = read_u32(&f->r);
}

/* kind: 0 plain, 1 sign-extend, 2 zero-extend */
static void load(struct emit_fn *f, LLVMTypeRef result, LLVMTypeRef mem_t, unsigned size, int kind)
{
	struct emit_module *em = f->em;
	uint32_t offset;
	read_memarg(f, &offset);
	LLVMValueRef p = emit_mem_address(f, fn_pop(f), offset, size);
	LLVMValueRef v = LLVMBuildLoad2(em->b, mem_t, p, "");
	LLVMSetAlignment(v, 1);
	emit_tbaa(em, v, TBAA_MEM);
	if (kind == 1)
		v = LLVMBuildSExt(em->b, v, result, "");
	else if (kind == 2)
		v = LLVMBuildZExt(em->b, v, result, "");
	fn_push(f, v);
}

static void store(struct emit_fn *f, LLVMTypeRef mem_t, unsigned size)
{
	struct emit_module *em = f->em;
	uint32_t offset;
	read_memarg(f, &offset);
	LLVMValueRef v = fn_pop(f);
	LLVMValueRef p = emit_mem_address(f, fn_pop(f), offset, size);
	if (LLVMTypeOf(v) != mem_t)
		v = LLVMBuildTrunc(em->b, v, mem_t, "");
	LLVMValueRef st = LLVMBuildStore(em->b, v, p);
	LLVMSetAlignment(st, 1);
	emit_tbaa(em, st, TBAA_MEM);
}

int emit_memory(struct emit_fn *f, uint32_t op)
{
	struct emit_module *em = f->em;
	LLVMTypeRef i8 = em->t_i8, i16 = em->t_i16, i32 = em->t_i32, i64 = em->t_i64;
	switch (op) {
	case WASM_OP_I32_LOAD: load(f, i32, i32, 4, 0); return 1;
	case WASM_OP_I64_LOAD: load(f, i64, i64, 8, 0); return 1;
	case WASM_OP_F32_LOAD: load(f, em->t_f32, em->t_f32, 4, 0); return 1;
	case WASM_OP_F64_LOAD: load(f, em->t_f64, em->t_f64, 8, 0); return 1;
	case WASM_OP_I32_LOAD8_S: load(f, i32, i8, 1, 1); return 1;
	case WASM_OP_I32_LOAD8_U: load(f, i32, i8, 1, 2); return 1;
	case WASM_OP_I32_LOAD16_S: load(f, i32, i16, 2, 1); return 1;
	case WASM_OP_I32_LOAD16_U: load(f, i32, i16, 2, 2); return 1;
	case WASM_OP_I64_LOAD8_S: load(f, i64, i8, 1, 1); return 1;
	case WASM_OP_I64_LOAD8_U: load(f, i64, i8, 1, 2); return 1;
	case WASM_OP_I64_LOAD16_S: load(f, i64, i16, 2, 1); return 1;
	case WASM_OP_I64_LOAD16_U: load(f, i64, i16, 2, 2); return 1;
	case WASM_OP_I64_LOAD32_S: load(f, i64, i32, 4, 1); return 1;
	case WASM_OP_I64_LOAD32_U: load(f, i64, i32, 4, 2); return 1;
	case WASM_OP_I32_STORE: store(f, i32, 4); return 1;
	case WASM_OP_I64_STORE: store(f, i64, 8); return 1;
	case WASM_OP_F32_STORE: store(f, em->t_f32, 4); return 1;
	case WASM_OP_F64_STORE: store(f, em->t_f64, 8); return 1;
	case WASM_OP_I32_STORE8: case WASM_OP_I64_STORE8: store(f, i8, 1); return 1;
	case WASM_OP_I32_STORE16: case WASM_OP_I64_STORE16: store(f, i16, 2); return 1;
	case WASM_OP_I64_STORE32: store(f, i32, 4); return 1;
	case WASM_OP_MEMORY_SIZE: { /* memory.size */
		read_u8(&f->r);
		LLVMValueRef bytes = emit_load_rt(f, i64, fn_memory(f),
						  offsetof(struct kumo_memory, bytes), false);
		LLVMValueRef pages = LLVMBuildLShr(em->b, bytes, emit_i64(f, 16), "");
		fn_push(f, LLVMBuildTrunc(em->b, pages, i32, ""));
		return 1;
	}
	case WASM_OP_MEMORY_GROW: { /* memory.grow */
		read_u8(&f->r);
		LLVMValueRef args[2] = {f->vmctx, fn_pop(f)};
		fn_push(f, emit_libcall(f, LC_MEMORY_GROW, args, 2));
		return 1;
	}
	default:
		return 0;
	}
}

int emit_memory_fc(struct emit_fn *f, uint32_t sub)
{
	switch (sub) {
	case WASM_FC_MEMORY_INIT: { /* memory.init dataidx 0x00 */
		uint32_t seg = read_u32(&f->r);
		read_u8(&f->r);
		LLVMValueRef n = fn_pop(f), s = fn_pop(f), d = fn_pop(f);
		LLVMValueRef args[5] = {f->vmctx, emit_i32(f, seg), d, s, n};
		emit_libcall(f, LC_MEMORY_INIT, args, 5);
		return 1;
	}
	case WASM_FC_DATA_DROP: { /* data.drop */
		LLVMValueRef args[2] = {f->vmctx, emit_i32(f, read_u32(&f->r))};
		emit_libcall(f, LC_DATA_DROP, args, 2);
		return 1;
	}
	case WASM_FC_MEMORY_COPY: { /* memory.copy 0x00 0x00 */
		read_u8(&f->r);
		read_u8(&f->r);
		LLVMValueRef n = fn_pop(f), s = fn_pop(f), d = fn_pop(f);
		LLVMValueRef args[4] = {f->vmctx, d, s, n};
		emit_libcall(f, LC_MEMORY_COPY, args, 4);
		return 1;
	}
	case WASM_FC_MEMORY_FILL: { /* memory.fill 0x00 */
		read_u8(&f->r);
		LLVMValueRef n = fn_pop(f), v = fn_pop(f), d = fn_pop(f);
		LLVMValueRef args[4] = {f->vmctx, d, v, n};
		emit_libcall(f, LC_MEMORY_FILL, args, 4);
		return 1;
	}
	default:
		return 0;
	}
}
