/* compiler/emit_convert.c - conversions: wrap/extend, trapping and saturating float to
 * int truncations, int to float, demote/promote, reinterpretations, sign extension. */
#include "compiler/emit.h"
#include "compiler/opcodes.h"

/* Trapping truncation: NaN is "invalid conversion to integer", anything outside
 * (lo, hi) - or [lo, hi) when lo_inclusive - is "integer overflow". */
static void trunc_trap(struct emit_fn *f, LLVMTypeRef to, bool is_signed, double lo,
		       bool lo_inclusive, double hi)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	LLVMValueRef a = fn_pop(f);
	LLVMTypeRef ft = LLVMTypeOf(a);
	emit_trap_if(f, LLVMBuildFCmp(b, LLVMRealUNO, a, a, ""), KUMO_TRAP_INVALID_CONVERSION);
	LLVMValueRef above = LLVMBuildFCmp(b, lo_inclusive ? LLVMRealOGE : LLVMRealOGT, a,
					   LLVMConstReal(ft, lo), "");
	LLVMValueRef below = LLVMBuildFCmp(b, LLVMRealOLT, a, LLVMConstReal(ft, hi), "");
	LLVMValueRef ok = LLVMBuildAnd(b, above, below, "");
	emit_trap_if(f, LLVMBuildNot(b, ok, ""), KUMO_TRAP_INT_OVERFLOW);
	fn_push(f, is_signed ? LLVMBuildFPToSI(b, a, to, "") : LLVMBuildFPToUI(b, a, to, ""));
}

static void trunc_sat(struct emit_fn *f, LLVMTypeRef to, bool is_signed)
{
	LLVMValueRef a = fn_pop(f);
	LLVMTypeRef ov[2] = {to, LLVMTypeOf(a)};
	fn_push(f, emit_intrinsic(f, is_signed ? "llvm.fptosi.sat" : "llvm.fptoui.sat", ov, 2, &a, 1));
}

static void sext_from(struct emit_fn *f, LLVMTypeRef narrow)
{
	LLVMBuilderRef b = f->em->b;
	LLVMValueRef a = fn_pop(f);
	LLVMTypeRef t = LLVMTypeOf(a);
	fn_push(f, LLVMBuildSExt(b, LLVMBuildTrunc(b, a, narrow, ""), t, ""));
}

int emit_convert(struct emit_fn *f, uint32_t op)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	const double two31 = 2147483648.0, two32 = 4294967296.0, two63 = 9223372036854775808.0,
		     two64 = 18446744073709551616.0;
	switch (op) {
	case WASM_OP_I32_WRAP_I64: fn_push(f, LLVMBuildTrunc(b, fn_pop(f), em->t_i32, "")); return 1;
	case WASM_OP_I32_TRUNC_F32_S: trunc_trap(f, em->t_i32, true, -two31, true, two31); return 1;
	case WASM_OP_I32_TRUNC_F32_U: trunc_trap(f, em->t_i32, false, -1.0, false, two32); return 1;
	case WASM_OP_I32_TRUNC_F64_S: trunc_trap(f, em->t_i32, true, -two31 - 1.0, false, two31); return 1;
	case WASM_OP_I32_TRUNC_F64_U: trunc_trap(f, em->t_i32, false, -1.0, false, two32); return 1;
	case WASM_OP_I64_EXTEND_I32_S: fn_push(f, LLVMBuildSExt(b, fn_pop(f), em->t_i64, "")); return 1;
	case WASM_OP_I64_EXTEND_I32_U: fn_push(f, LLVMBuildZExt(b, fn_pop(f), em->t_i64, "")); return 1;
	case WASM_OP_I64_TRUNC_F32_S: trunc_trap(f, em->t_i64, true, -two63, true, two63); return 1;
	case WASM_OP_I64_TRUNC_F32_U: trunc_trap(f, em->t_i64, false, -1.0, false, two64); return 1;
	case WASM_OP_I64_TRUNC_F64_S: trunc_trap(f, em->t_i64, true, -two63, true, two63); return 1;
	case WASM_OP_I64_TRUNC_F64_U: trunc_trap(f, em->t_i64, false, -1.0, false, two64); return 1;
	case WASM_OP_F32_CONVERT_I32_S: case WASM_OP_F32_CONVERT_I64_S: fn_push(f, LLVMBuildSIToFP(b, fn_pop(f), em->t_f32, "")); return 1;
	case WASM_OP_F32_CONVERT_I32_U: case WASM_OP_F32_CONVERT_I64_U: fn_push(f, LLVMBuildUIToFP(b, fn_pop(f), em->t_f32, "")); return 1;
	case WASM_OP_F32_DEMOTE_F64: {
		/* LLVM folds demote(promote x) to x: quiet a signalling NaN (emit_quiet_nan). */
		LLVMValueRef v = fn_pop(f);
		LLVMValueRef r = LLVMBuildFPTrunc(b, v, em->t_f32, "");
		if (LLVMIsAInstruction(v) && LLVMGetInstructionOpcode(v) == LLVMFPExt)
			r = emit_quiet_nan(f, r);
		fn_push(f, r);
		return 1;
	}
	case WASM_OP_F64_CONVERT_I32_S: case WASM_OP_F64_CONVERT_I64_S: fn_push(f, LLVMBuildSIToFP(b, fn_pop(f), em->t_f64, "")); return 1;
	case WASM_OP_F64_CONVERT_I32_U: case WASM_OP_F64_CONVERT_I64_U: fn_push(f, LLVMBuildUIToFP(b, fn_pop(f), em->t_f64, "")); return 1;
	case WASM_OP_F64_PROMOTE_F32: fn_push(f, LLVMBuildFPExt(b, fn_pop(f), em->t_f64, "")); return 1;
	case WASM_OP_I32_REINTERPRET_F32: fn_push(f, LLVMBuildBitCast(b, fn_pop(f), em->t_i32, "")); return 1;
	case WASM_OP_I64_REINTERPRET_F64: fn_push(f, LLVMBuildBitCast(b, fn_pop(f), em->t_i64, "")); return 1;
	case WASM_OP_F32_REINTERPRET_I32: fn_push(f, LLVMBuildBitCast(b, fn_pop(f), em->t_f32, "")); return 1;
	case WASM_OP_F64_REINTERPRET_I64: fn_push(f, LLVMBuildBitCast(b, fn_pop(f), em->t_f64, "")); return 1;
	case WASM_OP_I32_EXTEND8_S: case WASM_OP_I64_EXTEND8_S: sext_from(f, em->t_i8); return 1;
	case WASM_OP_I32_EXTEND16_S: case WASM_OP_I64_EXTEND16_S: sext_from(f, em->t_i16); return 1;
	case WASM_OP_I64_EXTEND32_S: sext_from(f, em->t_i32); return 1;
	default: return 0;
	}
}

int emit_convert_fc(struct emit_fn *f, uint32_t sub)
{
	struct emit_module *em = f->em;
	if (sub > 7)
		return 0;
	trunc_sat(f, sub < 4 ? em->t_i32 : em->t_i64, (sub & 1) == 0);
	return 1;
}
