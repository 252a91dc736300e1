/* compiler/emit_numeric.c - constants, comparisons and arithmetic (with the spec's
 * division traps, shift/rotate counts mod the width, IEEE min/max/nearest/copysign). */
#include <math.h>
#include "compiler/emit.h"
#include "compiler/opcodes.h"

static LLVMValueRef const_bits(struct emit_fn *f, LLVMTypeRef ft, LLVMTypeRef it, uint64_t bits)
{
	/* The builder folds the bitcast into a constant with the exact bit pattern
	 * (NaN payloads included). */
	return LLVMBuildBitCast(f->em->b, LLVMConstInt(it, bits, 0), ft, "");
}

static void icmp(struct emit_fn *f, LLVMIntPredicate p)
{
	LLVMValueRef b = fn_pop(f), a = fn_pop(f);
	fn_push(f, emit_bool_to_i32(f, LLVMBuildICmp(f->em->b, p, a, b, "")));
}

static void fcmp(struct emit_fn *f, LLVMRealPredicate p)
{
	LLVMValueRef b = fn_pop(f), a = fn_pop(f);
	fn_push(f, emit_bool_to_i32(f, LLVMBuildFCmp(f->em->b, p, a, b, "")));
}

static void unary_intrinsic(struct emit_fn *f, const char *name, bool flag)
{
	LLVMValueRef a = fn_pop(f);
	LLVMTypeRef t = LLVMTypeOf(a);
	LLVMValueRef args[2] = {a, LLVMConstInt(f->em->t_i1, 0, 0)};
	fn_push(f, emit_intrinsic(f, name, &t, 1, args, flag ? 2 : 1));
}

static void binary_intrinsic(struct emit_fn *f, const char *name)
{
	LLVMValueRef b = fn_pop(f), a = fn_pop(f);
	LLVMTypeRef t = LLVMTypeOf(a);
	LLVMValueRef args[2] = {a, b};
	fn_push(f, emit_intrinsic(f, name, &t, 1, args, 2));
}

static void rotate(struct emit_fn *f, const char *name)
{
	LLVMValueRef b = fn_pop(f), a = fn_pop(f);
	LLVMTypeRef t = LLVMTypeOf(a);
	LLVMValueRef args[3] = {a, a, b}; /* funnel shifts take the count mod the width */
	fn_push(f, emit_intrinsic(f, name, &t, 1, args, 3));
}

/* op index within a family: 0 clz 1 ctz 2 popcnt 3 add 4 sub 5 mul 6 div_s 7 div_u
 * 8 rem_s 9 rem_u 10 and 11 or 12 xor 13 shl 14 shr_s 15 shr_u 16 rotl 17 rotr */
static void int_arith(struct emit_fn *f, unsigned k, LLVMTypeRef t, unsigned bits)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	if (k <= 2) {
		static const char *const names[] = {"llvm.ctlz", "llvm.cttz", "llvm.ctpop"};
		unary_intrinsic(f, names[k], k < 2);
		return;
	}
	if (k == 16 || k == 17) {
		rotate(f, k == 16 ? "llvm.fshl" : "llvm.fshr");
		return;
	}
	LLVMValueRef rhs = fn_pop(f), lhs = fn_pop(f), r = NULL;
	LLVMValueRef zero = LLVMConstInt(t, 0, 0), minus1 = LLVMConstAllOnes(t);
	switch (k) {
	case 3: r = LLVMBuildAdd(b, lhs, rhs, ""); break;
	case 4: r = LLVMBuildSub(b, lhs, rhs, ""); break;
	case 5: r = LLVMBuildMul(b, lhs, rhs, ""); break;
	case 6: case 7: case 8: case 9:
		emit_trap_if(f, LLVMBuildICmp(b, LLVMIntEQ, rhs, zero, ""), KUMO_TRAP_INT_DIV_ZERO);
		if (k == 6) {
			LLVMValueRef min = LLVMConstInt(t, 1ull << (bits - 1), 0);
			LLVMValueRef ovf = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, lhs, min, ""),
							LLVMBuildICmp(b, LLVMIntEQ, rhs, minus1, ""), "");
			emit_trap_if(f, ovf, KUMO_TRAP_INT_OVERFLOW);
			r = LLVMBuildSDiv(b, lhs, rhs, "");
		} else if (k == 7) {
			r = LLVMBuildUDiv(b, lhs, rhs, "");
		} else if (k == 8) {
			/* INT_MIN % -1 is 0 in Wasm; x % 1 == x % -1, without the x86 fault. */
			LLVMValueRef safe = LLVMBuildSelect(
				b, LLVMBuildICmp(b, LLVMIntEQ, rhs, minus1, ""), LLVMConstInt(t, 1, 0),
				rhs, "");
			r = LLVMBuildSRem(b, lhs, safe, "");
		} else {
			r = LLVMBuildURem(b, lhs, rhs, "");
		}
		break;
	case 10: r = LLVMBuildAnd(b, lhs, rhs, ""); break;
	case 11: r = LLVMBuildOr(b, lhs, rhs, ""); break;
	case 12: r = LLVMBuildXor(b, lhs, rhs, ""); break;
	case 13: case 14: case 15: {
		LLVMValueRef cnt = LLVMBuildAnd(b, rhs, LLVMConstInt(t, bits - 1, 0), "");
		if (k == 13)
			r = LLVMBuildShl(b, lhs, cnt, "");
		else if (k == 14)
			r = LLVMBuildAShr(b, lhs, cnt, "");
		else
			r = LLVMBuildLShr(b, lhs, cnt, "");
		break;
	}
	}
	fn_push(f, r);
}

/* x + x when x is a NaN, else x: quiets a signalling NaN and keeps any other value. For
 * results LLVM may fold to an operand (x * 1.0 -> x, -0.0 - x -> fneg x, demote of a
 * promote -> x): its default FP model assumes sNaN is unobservable, Wasm says these
 * operations return an arithmetic (quiet) NaN. */
LLVMValueRef emit_quiet_nan(struct emit_fn *f, LLVMValueRef x)
{
	LLVMBuilderRef b = f->em->b;
	LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, x, x, "");
	return LLVMBuildSelect(b, nan, LLVMBuildFAdd(b, x, x, ""), x, "");
}

/* Is v a floating-point constant equal to +-mag? */
static bool const_abs_is(LLVMValueRef v, double mag)
{
	if (!LLVMIsAConstantFP(v))
		return false;
	LLVMBool loses = 0;
	double d = LLVMConstRealGetDouble(v, &loses);
	return d == mag || d == -mag;
}

/* Is v a floating-point zero constant with the given sign? */
static bool const_is_zero(LLVMValueRef v, bool negative)
{
	if (!LLVMIsAConstantFP(v))
		return false;
	LLVMBool loses = 0;
	double d = LLVMConstRealGetDouble(v, &loses);
	return d == 0.0 && !!signbit(d) == negative;
}

/* Would LLVM fold this add/sub/mul/div to an operand or its negation (so a signalling
 * NaN operand would come out unquieted)? Exactly the identities it applies without
 * fast-math flags: x + -0, x - +0, -0 - x (fneg), x * +-1, x / +-1. k as in
 * float_arith. (x + +0 is not one of them: -0 + +0 is +0.) */
static bool folds_to_operand(unsigned k, LLVMValueRef lhs, LLVMValueRef rhs)
{
	switch (k) {
	case 7: return const_is_zero(lhs, true) || const_is_zero(rhs, true);
	case 8: return const_is_zero(rhs, false) || const_is_zero(lhs, true);
	case 9: return const_abs_is(lhs, 1.0) || const_abs_is(rhs, 1.0);
	default: return const_abs_is(rhs, 1.0);
	}
}

/* 0 abs 1 neg 2 ceil 3 floor 4 trunc 5 nearest 6 sqrt 7 add 8 sub 9 mul 10 div 11 min
 * 12 max 13 copysign */
static void float_arith(struct emit_fn *f, unsigned k)
{
	LLVMBuilderRef b = f->em->b;
	static const char *const unary[] = {"llvm.fabs", NULL, "llvm.ceil", "llvm.floor",
					    "llvm.trunc", "llvm.roundeven", "llvm.sqrt"};
	if (k == 1) {
		fn_push(f, LLVMBuildFNeg(b, fn_pop(f), ""));
		return;
	}
	if (k <= 6) {
		unary_intrinsic(f, unary[k], false);
		return;
	}
	if (k == 13) {
		binary_intrinsic(f, "llvm.copysign");
		return;
	}
	if (k >= 11) {
		/* llvm.minimum/maximum give Wasm's -0 < +0 order and NaN propagation, but pass a
		 * signalling NaN through unquieted; Wasm wants an arithmetic (quiet) NaN. */
		LLVMValueRef rhs = fn_peek(f, 0), lhs = fn_peek(f, 1);
		binary_intrinsic(f, k == 11 ? "llvm.minimum" : "llvm.maximum");
		LLVMValueRef r = fn_pop(f);
		LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, lhs, rhs, "");
		fn_push(f, LLVMBuildSelect(b, nan, LLVMBuildFAdd(b, lhs, rhs, ""), r, ""));
		return;
	}
	LLVMValueRef rhs = fn_pop(f), lhs = fn_pop(f), r;
	switch (k) {
	case 7: r = LLVMBuildFAdd(b, lhs, rhs, ""); break;
	case 8: r = LLVMBuildFSub(b, lhs, rhs, ""); break;
	case 9: r = LLVMBuildFMul(b, lhs, rhs, ""); break;
	default: r = LLVMBuildFDiv(b, lhs, rhs, ""); break;
	}
	if (folds_to_operand(k, lhs, rhs))
		r = emit_quiet_nan(f, r);
	fn_push(f, r);
}

int emit_numeric(struct emit_fn *f, uint32_t op)
{
	struct emit_module *em = f->em;
	static const LLVMIntPredicate ipred[] = {LLVMIntEQ,  LLVMIntNE,  LLVMIntSLT, LLVMIntULT,
						 LLVMIntSGT, LLVMIntUGT, LLVMIntSLE, LLVMIntULE,
						 LLVMIntSGE, LLVMIntUGE};
	static const LLVMRealPredicate fpred[] = {LLVMRealOEQ, LLVMRealUNE, LLVMRealOLT,
						  LLVMRealOGT, LLVMRealOLE, LLVMRealOGE};
	switch (op) {
	case WASM_OP_I32_CONST:
		fn_push(f, emit_i32(f, (uint32_t)read_sleb(&f->r, 32)));
		return 1;
	case WASM_OP_I64_CONST:
		fn_push(f, emit_i64(f, (uint64_t)read_sleb(&f->r, 64)));
		return 1;
	case WASM_OP_F32_CONST:
		fn_push(f, const_bits(f, em->t_f32, em->t_i32, read_f32_bits(&f->r)));
		return 1;
	case WASM_OP_F64_CONST:
		fn_push(f, const_bits(f, em->t_f64, em->t_i64, read_f64_bits(&f->r)));
		return 1;
	case WASM_OP_I32_EQZ:
	case WASM_OP_I64_EQZ: { /* eqz */
		LLVMValueRef a = fn_pop(f);
		LLVMValueRef z = LLVMConstInt(LLVMTypeOf(a), 0, 0);
		fn_push(f, emit_bool_to_i32(f, LLVMBuildICmp(em->b, LLVMIntEQ, a, z, "")));
		return 1;
	}
	default:
		break;
	}
	if (op >= WASM_OP_I32_EQ && op <= WASM_OP_I32_GE_U) {
		icmp(f, ipred[op - WASM_OP_I32_EQ]);
		return 1;
	}
	if (op >= WASM_OP_I64_EQ && op <= WASM_OP_I64_GE_U) {
		icmp(f, ipred[op - WASM_OP_I64_EQ]);
		return 1;
	}
	if (op >= WASM_OP_F32_EQ && op <= WASM_OP_F32_GE) {
		fcmp(f, fpred[op - WASM_OP_F32_EQ]);
		return 1;
	}
	if (op >= WASM_OP_F64_EQ && op <= WASM_OP_F64_GE) {
		fcmp(f, fpred[op - WASM_OP_F64_EQ]);
		return 1;
	}
	if (op >= WASM_OP_I32_CLZ && op <= WASM_OP_I32_ROTR) {
		int_arith(f, op - WASM_OP_I32_CLZ, em->t_i32, 32);
		return 1;
	}
	if (op >= WASM_OP_I64_CLZ && op <= WASM_OP_I64_ROTR) {
		int_arith(f, op - WASM_OP_I64_CLZ, em->t_i64, 64);
		return 1;
	}
	if (op >= WASM_OP_F32_ABS && op <= WASM_OP_F32_COPYSIGN) {
		float_arith(f, op - WASM_OP_F32_ABS);
		return 1;
	}
	if (op >= WASM_OP_F64_ABS && op <= WASM_OP_F64_COPYSIGN) {
		float_arith(f, op - WASM_OP_F64_ABS);
		return 1;
	}
	return 0;
}
