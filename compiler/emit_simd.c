/* compiler/emit_simd.c - the 0xFD (fixed-width SIMD) instructions through LLVM vector
 * types, with Wasm's semantics where x86 differs: saturating float-to-int conversions,
 * min/max NaN and -0 rules, shift counts mod the lane width, swizzle indices >= 16. */
#include <string.h>

#include "compiler/emit.h"
#include "compiler/opcodes.h"

/* Lane shapes. A v128 on the operand stack is always the canonical <2 x i64>
 * (em->t_v128); each instruction bitcasts to its shape and back, which costs nothing. */
enum shape { I8X16, I16X8, I32X4, I64X2, F32X4, F64X2 };

static const unsigned shape_lanes[] = {16, 8, 4, 2, 4, 2};
static const unsigned shape_bits[] = {8, 16, 32, 64, 32, 64};

static LLVMTypeRef lane_type(struct emit_module *em, enum shape s)
{
	switch (s) {
	case I8X16: return em->t_i8;
	case I16X8: return em->t_i16;
	case I32X4: return em->t_i32;
	case I64X2: return em->t_i64;
	case F32X4: return em->t_f32;
	default: return em->t_f64;
	}
}

static LLVMTypeRef vec_type(struct emit_module *em, enum shape s)
{
	return LLVMVectorType(lane_type(em, s), shape_lanes[s]);
}

/* Pops a v128 as shape s. */
static LLVMValueRef pop_as(struct emit_fn *f, enum shape s)
{
	return LLVMBuildBitCast(f->em->b, fn_pop(f), vec_type(f->em, s), "");
}

/* Pushes any 128-bit vector as the canonical v128. */
static void push_v(struct emit_fn *f, LLVMValueRef v)
{
	fn_push(f, LLVMBuildBitCast(f->em->b, v, f->em->t_v128, ""));
}

static LLVMValueRef splat(struct emit_fn *f, LLVMValueRef scalar, unsigned n)
{
	LLVMBuilderRef b = f->em->b;
	LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(scalar), n);
	LLVMValueRef v = LLVMBuildInsertElement(b, LLVMGetPoison(vt), scalar, emit_i32(f, 0), "");
	LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(f->em->t_i32, n));
	return LLVMBuildShuffleVector(b, v, LLVMGetPoison(vt), zeros, "");
}

/* A constant vector of n lanes of type t, all `v`. */
static LLVMValueRef const_splat_int(LLVMTypeRef t, unsigned n, uint64_t v)
{
	LLVMValueRef lanes[16];
	for (unsigned i = 0; i < n; i++)
		lanes[i] = LLVMConstInt(t, v, 0);
	return LLVMConstVector(lanes, n);
}

static LLVMValueRef const_splat_real(LLVMTypeRef t, unsigned n, double v)
{
	LLVMValueRef lanes[16];
	for (unsigned i = 0; i < n; i++)
		lanes[i] = LLVMConstReal(t, v);
	return LLVMConstVector(lanes, n);
}

/* shufflevector with a constant mask of n indices. */
static LLVMValueRef shuffle(struct emit_fn *f, LLVMValueRef a, LLVMValueRef b, const unsigned *idx,
			    unsigned n)
{
	LLVMValueRef m[32];
	for (unsigned i = 0; i < n; i++)
		m[i] = emit_i32(f, idx[i]);
	return LLVMBuildShuffleVector(f->em->b, a, b, LLVMConstVector(m, n), "");
}

/* Lanes [first, first + n) of a, as an n-lane vector. */
static LLVMValueRef half(struct emit_fn *f, LLVMValueRef a, unsigned first, unsigned n)
{
	unsigned idx[16] = {0};
	for (unsigned i = 0; i < n; i++)
		idx[i] = first + i;
	return shuffle(f, a, LLVMGetPoison(LLVMTypeOf(a)), idx, n);
}

/* Lanes first, first + 2, ... (n of them) of a: the even or odd lanes. */
static LLVMValueRef strided(struct emit_fn *f, LLVMValueRef a, unsigned first, unsigned n)
{
	unsigned idx[16] = {0};
	for (unsigned i = 0; i < n; i++)
		idx[i] = first + 2 * i;
	return shuffle(f, a, LLVMGetPoison(LLVMTypeOf(a)), idx, n);
}

static LLVMValueRef ext(struct emit_fn *f, LLVMValueRef v, LLVMTypeRef to, bool sign)
{
	return sign ? LLVMBuildSExt(f->em->b, v, to, "") : LLVMBuildZExt(f->em->b, v, to, "");
}

static LLVMValueRef call1(struct emit_fn *f, const char *name, LLVMValueRef a)
{
	LLVMTypeRef t = LLVMTypeOf(a);
	return emit_intrinsic(f, name, &t, 1, &a, 1);
}

static LLVMValueRef call2(struct emit_fn *f, const char *name, LLVMValueRef a, LLVMValueRef b)
{
	LLVMTypeRef t = LLVMTypeOf(a);
	LLVMValueRef args[2] = {a, b};
	return emit_intrinsic(f, name, &t, 1, args, 2);
}

/* A target intrinsic with a fixed signature (no overloads). */
static LLVMValueRef x86(struct emit_fn *f, const char *name, LLVMValueRef a, LLVMValueRef b)
{
	LLVMValueRef args[2] = {a, b};
	return emit_intrinsic(f, name, NULL, 0, args, b ? 2 : 1);
}

/* --- memory --------------------------------------------------------------------- */

static LLVMValueRef mem_ptr(struct emit_fn *f, LLVMValueRef idx, unsigned size)
{
	read_u32(&f->r); /* alignment: a hint; every access is emitted with align 1 */
	uint32_t offset = read_u32(&f->r);
	return emit_mem_address(f, idx, offset, size);
}

static LLVMValueRef load(struct emit_fn *f, LLVMTypeRef t, LLVMValueRef p)
{
	LLVMValueRef v = LLVMBuildLoad2(f->em->b, t, p, "");
	LLVMSetAlignment(v, 1);
	emit_tbaa(f->em, v, TBAA_MEM);
	return v;
}

static void store(struct emit_fn *f, LLVMValueRef v, LLVMValueRef p)
{
	LLVMValueRef st = LLVMBuildStore(f->em->b, v, p);
	LLVMSetAlignment(st, 1);
	emit_tbaa(f->em, st, TBAA_MEM);
}

/* v128.load8x8_s ... load32x2_u: 8 bytes widened to 8, 4 or 2 lanes. */
static void load_extend(struct emit_fn *f, enum shape narrow, bool sign)
{
	struct emit_module *em = f->em;
	unsigned n = shape_lanes[narrow] / 2;
	LLVMValueRef p = mem_ptr(f, fn_pop(f), 8);
	LLVMValueRef v = load(f, LLVMVectorType(lane_type(em, narrow), n), p);
	push_v(f, ext(f, v, vec_type(em, (enum shape)(narrow + 1)), sign));
}

static void load_splat(struct emit_fn *f, enum shape s)
{
	LLVMValueRef p = mem_ptr(f, fn_pop(f), shape_bits[s] / 8);
	push_v(f, splat(f, load(f, lane_type(f->em, s), p), shape_lanes[s]));
}

static void load_zero(struct emit_fn *f, enum shape s)
{
	LLVMValueRef p = mem_ptr(f, fn_pop(f), shape_bits[s] / 8);
	LLVMValueRef v = LLVMBuildInsertElement(f->em->b, LLVMConstNull(vec_type(f->em, s)),
						load(f, lane_type(f->em, s), p), emit_i32(f, 0), "");
	push_v(f, v);
}

static void load_lane(struct emit_fn *f, enum shape s)
{
	LLVMValueRef v = pop_as(f, s);
	LLVMValueRef p = mem_ptr(f, fn_pop(f), shape_bits[s] / 8);
	uint8_t lane = read_u8(&f->r);
	push_v(f, LLVMBuildInsertElement(f->em->b, v, load(f, lane_type(f->em, s), p),
					 emit_i32(f, lane), ""));
}

static void store_lane(struct emit_fn *f, enum shape s)
{
	LLVMValueRef v = pop_as(f, s);
	LLVMValueRef p = mem_ptr(f, fn_pop(f), shape_bits[s] / 8);
	uint8_t lane = read_u8(&f->r);
	store(f, LLVMBuildExtractElement(f->em->b, v, emit_i32(f, lane), ""), p);
}

/* --- lanes, shuffles -------------------------------------------------------------- */

static void v128_const(struct emit_fn *f)
{
	const uint8_t *p = read_bytes(&f->r, 16);
	uint64_t lo = 0, hi = 0;
	if (p) {
		memcpy(&lo, p, 8);
		memcpy(&hi, p + 8, 8);
	}
	LLVMValueRef lanes[2] = {emit_i64(f, lo), emit_i64(f, hi)};
	fn_push(f, LLVMConstVector(lanes, 2));
}

static void shuffle_op(struct emit_fn *f)
{
	const uint8_t *p = read_bytes(&f->r, 16);
	unsigned idx[16] = {0};
	for (int i = 0; i < 16; i++)
		idx[i] = p ? p[i] & 31 : 0;
	LLVMValueRef b = pop_as(f, I8X16), a = pop_as(f, I8X16);
	push_v(f, shuffle(f, a, b, idx, 16));
}

/* i8x16.swizzle: lane i is a[s[i]], or 0 when s[i] >= 16. */
static void swizzle(struct emit_fn *f)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	LLVMValueRef s = pop_as(f, I8X16), a = pop_as(f, I8X16);
	if (em->has_ssse3) {
		/* pshufb zeroes a lane whose index has bit 7 set and uses the low 4 bits
		 * otherwise: an unsigned saturating add of 0x70 maps 0..15 to 0x70..0x7f and
		 * everything from 16 up to >= 0x80. */
		LLVMValueRef k = const_splat_int(em->t_i8, 16, 0x70);
		LLVMValueRef idx = call2(f, "llvm.uadd.sat", s, k);
		push_v(f, x86(f, "llvm.x86.ssse3.pshuf.b.128", a, idx));
		return;
	}
	LLVMValueRef r = LLVMConstNull(vec_type(em, I8X16));
	for (unsigned i = 0; i < 16; i++) {
		LLVMValueRef si = LLVMBuildExtractElement(b, s, emit_i32(f, i), "");
		LLVMValueRef in = LLVMBuildICmp(b, LLVMIntULT, si, LLVMConstInt(em->t_i8, 16, 0), "");
		LLVMValueRef at = LLVMBuildAnd(b, si, LLVMConstInt(em->t_i8, 15, 0), "");
		LLVMValueRef e = LLVMBuildExtractElement(b, a, at, "");
		e = LLVMBuildSelect(b, in, e, LLVMConstInt(em->t_i8, 0, 0), "");
		r = LLVMBuildInsertElement(b, r, e, emit_i32(f, i), "");
	}
	push_v(f, r);
}

static void splat_op(struct emit_fn *f, enum shape s)
{
	LLVMValueRef x = fn_pop(f);
	if (s == I8X16 || s == I16X8)
		x = LLVMBuildTrunc(f->em->b, x, lane_type(f->em, s), "");
	push_v(f, splat(f, x, shape_lanes[s]));
}

/* kind: 0 plain, 1 signed, 2 unsigned (i8/i16 lanes widen to i32). */
static void extract_lane(struct emit_fn *f, enum shape s, int kind)
{
	uint8_t lane = read_u8(&f->r);
	LLVMValueRef v = pop_as(f, s);
	LLVMValueRef x = LLVMBuildExtractElement(f->em->b, v, emit_i32(f, lane), "");
	if (kind)
		x = ext(f, x, f->em->t_i32, kind == 1);
	fn_push(f, x);
}

static void replace_lane(struct emit_fn *f, enum shape s)
{
	uint8_t lane = read_u8(&f->r);
	LLVMValueRef x = fn_pop(f);
	LLVMValueRef v = pop_as(f, s);
	if (s == I8X16 || s == I16X8)
		x = LLVMBuildTrunc(f->em->b, x, lane_type(f->em, s), "");
	push_v(f, LLVMBuildInsertElement(f->em->b, v, x, emit_i32(f, lane), ""));
}

/* --- comparisons, bitwise, reductions -------------------------------------------- */

static void icmp(struct emit_fn *f, enum shape s, LLVMIntPredicate p)
{
	LLVMValueRef b = pop_as(f, s), a = pop_as(f, s);
	LLVMValueRef m = LLVMBuildICmp(f->em->b, p, a, b, "");
	push_v(f, LLVMBuildSExt(f->em->b, m, vec_type(f->em, s), ""));
}

static void fcmp(struct emit_fn *f, enum shape s, LLVMRealPredicate p)
{
	LLVMValueRef b = pop_as(f, s), a = pop_as(f, s);
	LLVMValueRef m = LLVMBuildFCmp(f->em->b, p, a, b, "");
	LLVMTypeRef it = vec_type(f->em, s == F32X4 ? I32X4 : I64X2);
	push_v(f, LLVMBuildSExt(f->em->b, m, it, ""));
}

static void cmp_family(struct emit_fn *f, enum shape s, unsigned k)
{
	static const LLVMIntPredicate ip[] = {LLVMIntEQ,  LLVMIntNE,  LLVMIntSLT, LLVMIntULT,
					      LLVMIntSGT, LLVMIntUGT, LLVMIntSLE, LLVMIntULE,
					      LLVMIntSGE, LLVMIntUGE};
	icmp(f, s, ip[k]);
}

static void all_true(struct emit_fn *f, enum shape s)
{
	LLVMBuilderRef b = f->em->b;
	unsigned n = shape_lanes[s];
	LLVMValueRef v = pop_as(f, s);
	LLVMValueRef nz = LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
	LLVMTypeRef in = LLVMIntTypeInContext(f->em->ctx, n);
	LLVMValueRef bits = LLVMBuildBitCast(b, nz, in, "");
	fn_push(f, emit_bool_to_i32(f, LLVMBuildICmp(b, LLVMIntEQ, bits, LLVMConstAllOnes(in), "")));
}

static void bitmask(struct emit_fn *f, enum shape s)
{
	LLVMBuilderRef b = f->em->b;
	unsigned n = shape_lanes[s];
	LLVMValueRef v = pop_as(f, s);
	LLVMValueRef neg = LLVMBuildICmp(b, LLVMIntSLT, v, LLVMConstNull(LLVMTypeOf(v)), "");
	LLVMValueRef bits = LLVMBuildBitCast(b, neg, LLVMIntTypeInContext(f->em->ctx, n), "");
	fn_push(f, LLVMBuildZExt(b, bits, f->em->t_i32, ""));
}

/* --- integer arithmetic --------------------------------------------------------------- */

/* Shifts: the count is taken modulo the lane width. k: 0 shl, 1 shr_s, 2 shr_u. */
static void shift(struct emit_fn *f, enum shape s, int k)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	LLVMValueRef cnt = fn_pop(f);
	LLVMValueRef v = pop_as(f, s);
	cnt = LLVMBuildAnd(b, cnt, emit_i32(f, shape_bits[s] - 1), "");
	LLVMTypeRef lt = lane_type(em, s);
	if (s == I64X2)
		cnt = LLVMBuildZExt(b, cnt, lt, "");
	else if (s != I32X4)
		cnt = LLVMBuildTrunc(b, cnt, lt, "");
	LLVMValueRef c = splat(f, cnt, shape_lanes[s]);
	LLVMValueRef r = k == 0 ? LLVMBuildShl(b, v, c, "")
			 : k == 1 ? LLVMBuildAShr(b, v, c, "")
				  : LLVMBuildLShr(b, v, c, "");
	push_v(f, r);
}

static void binop(struct emit_fn *f, enum shape s, LLVMOpcode op)
{
	LLVMValueRef b = pop_as(f, s), a = pop_as(f, s);
	push_v(f, LLVMBuildBinOp(f->em->b, op, a, b, ""));
}

static void binary_intrinsic(struct emit_fn *f, enum shape s, const char *name)
{
	LLVMValueRef b = pop_as(f, s), a = pop_as(f, s);
	push_v(f, call2(f, name, a, b));
}

static void iabs(struct emit_fn *f, enum shape s)
{
	LLVMValueRef a = pop_as(f, s);
	LLVMTypeRef t = LLVMTypeOf(a);
	LLVMValueRef args[2] = {a, LLVMConstInt(f->em->t_i1, 0, 0)};
	push_v(f, emit_intrinsic(f, "llvm.abs", &t, 1, args, 2));
}

static void ineg(struct emit_fn *f, enum shape s)
{
	LLVMValueRef a = pop_as(f, s);
	push_v(f, LLVMBuildSub(f->em->b, LLVMConstNull(LLVMTypeOf(a)), a, ""));
}

/* avgr_u: (a + b + 1) >> 1 without overflow, in lanes twice as wide (pavgb/pavgw). */
static void avgr_u(struct emit_fn *f, enum shape s)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	LLVMValueRef y = pop_as(f, s), x = pop_as(f, s);
	unsigned n = shape_lanes[s];
	LLVMTypeRef wt = LLVMVectorType(LLVMIntTypeInContext(em->ctx, shape_bits[s] * 2), n);
	LLVMValueRef one = LLVMConstInt(LLVMGetElementType(wt), 1, 0);
	LLVMValueRef sum = LLVMBuildAdd(b, LLVMBuildZExt(b, x, wt, ""), LLVMBuildZExt(b, y, wt, ""), "");
	sum = LLVMBuildAdd(b, sum, splat(f, one, n), "");
	sum = LLVMBuildLShr(b, sum, splat(f, one, n), "");
	push_v(f, LLVMBuildTrunc(b, sum, vec_type(em, s), ""));
}

/* narrow: two vectors of `wide` lanes saturated into one of the next narrower shape. */
static void narrow(struct emit_fn *f, enum shape wide, bool sign)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	LLVMValueRef y = pop_as(f, wide), x = pop_as(f, wide);
	unsigned n = shape_lanes[wide], nb = shape_bits[wide] / 2;
	LLVMTypeRef lt = lane_type(em, wide);
	uint64_t lo = sign ? (uint64_t)-(int64_t)(1ull << (nb - 1)) : 0;
	uint64_t hi = sign ? (1ull << (nb - 1)) - 1 : (1ull << nb) - 1;
	LLVMValueRef vlo = const_splat_int(lt, n, lo), vhi = const_splat_int(lt, n, hi);
	LLVMTypeRef nt = LLVMVectorType(LLVMIntTypeInContext(em->ctx, nb), n);
	unsigned idx[16] = {0};
	for (unsigned i = 0; i < 2 * n; i++)
		idx[i] = i;
	/* Inputs are signed in both forms; clamp then truncate (packss / packus). */
	x = call2(f, "llvm.smin", call2(f, "llvm.smax", x, vlo), vhi);
	y = call2(f, "llvm.smin", call2(f, "llvm.smax", y, vlo), vhi);
	x = LLVMBuildTrunc(b, x, nt, "");
	y = LLVMBuildTrunc(b, y, nt, "");
	push_v(f, shuffle(f, x, y, idx, 2 * n));
}

/* extend_low/high: half of a `narrow` vector widened. */
static void extend(struct emit_fn *f, enum shape narrow_s, bool high, bool sign)
{
	unsigned n = shape_lanes[narrow_s] / 2;
	LLVMValueRef a = pop_as(f, narrow_s);
	push_v(f, ext(f, half(f, a, high ? n : 0, n), vec_type(f->em, (enum shape)(narrow_s + 1)), sign));
}

static void extmul(struct emit_fn *f, enum shape narrow_s, bool high, bool sign)
{
	unsigned n = shape_lanes[narrow_s] / 2;
	LLVMTypeRef wt = vec_type(f->em, (enum shape)(narrow_s + 1));
	LLVMValueRef y = pop_as(f, narrow_s), x = pop_as(f, narrow_s);
	x = ext(f, half(f, x, high ? n : 0, n), wt, sign);
	y = ext(f, half(f, y, high ? n : 0, n), wt, sign);
	push_v(f, LLVMBuildMul(f->em->b, x, y, ""));
}

static void extadd_pairwise(struct emit_fn *f, enum shape narrow_s, bool sign)
{
	unsigned n = shape_lanes[narrow_s] / 2;
	LLVMTypeRef wt = vec_type(f->em, (enum shape)(narrow_s + 1));
	LLVMValueRef a = pop_as(f, narrow_s);
	LLVMValueRef ev = ext(f, strided(f, a, 0, n), wt, sign);
	LLVMValueRef od = ext(f, strided(f, a, 1, n), wt, sign);
	push_v(f, LLVMBuildAdd(f->em->b, ev, od, ""));
}

/* i32x4.dot_i16x8_s: pmaddwd (SSE2). */
static void dot(struct emit_fn *f)
{
	LLVMValueRef y = pop_as(f, I16X8), x = pop_as(f, I16X8);
	push_v(f, x86(f, "llvm.x86.sse2.pmadd.wd", x, y));
}

/* i16x8.q15mulr_sat_s: (x * y + 0x4000) >> 15, saturated. pmulhrsw computes it exactly
 * except -32768 * -32768, which it gives as 0x8000: flip that lane to 0x7fff. */
static void q15mulr(struct emit_fn *f)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	LLVMValueRef y = pop_as(f, I16X8), x = pop_as(f, I16X8);
	LLVMValueRef min = const_splat_int(em->t_i16, 8, 0x8000);
	if (em->has_ssse3) {
		LLVMValueRef r = x86(f, "llvm.x86.ssse3.pmul.hr.sw.128", x, y);
		LLVMValueRef ovf = LLVMBuildSExt(b, LLVMBuildICmp(b, LLVMIntEQ, r, min, ""),
						 vec_type(em, I16X8), "");
		push_v(f, LLVMBuildXor(b, r, ovf, ""));
		return;
	}
	LLVMTypeRef wt = LLVMVectorType(em->t_i32, 8);
	LLVMValueRef p = LLVMBuildMul(b, LLVMBuildSExt(b, x, wt, ""), LLVMBuildSExt(b, y, wt, ""), "");
	p = LLVMBuildAdd(b, p, const_splat_int(em->t_i32, 8, 0x4000), "");
	p = LLVMBuildAShr(b, p, const_splat_int(em->t_i32, 8, 15), "");
	p = call2(f, "llvm.smin", p, const_splat_int(em->t_i32, 8, 0x7fff));
	push_v(f, LLVMBuildTrunc(b, p, vec_type(em, I16X8), ""));
}

/* --- floating point ----------------------------------------------------------------- */

static void funary(struct emit_fn *f, enum shape s, const char *name)
{
	LLVMValueRef a = pop_as(f, s);
	push_v(f, name ? call1(f, name, a) : LLVMBuildFNeg(f->em->b, a, ""));
}

/* The 16 bytes of a constant v128 (through the bitcasts the shapes add), or -1 when v
 * is not such a constant. */
static int const_bytes(LLVMValueRef v, uint8_t out[16])
{
	while (LLVMIsAConstantExpr(v) && LLVMGetConstOpcode(v) == LLVMBitCast)
		v = LLVMGetOperand(v, 0);
	LLVMTypeRef t = LLVMTypeOf(v);
	if (!LLVMIsConstant(v) || LLVMGetTypeKind(t) != LLVMVectorTypeKind)
		return -1;
	LLVMTypeRef et = LLVMGetElementType(t);
	unsigned n = LLVMGetVectorSize(t);
	if (LLVMGetTypeKind(et) != LLVMIntegerTypeKind || LLVMGetIntTypeWidth(et) * n != 128)
		return -1;
	unsigned w = LLVMGetIntTypeWidth(et) / 8;
	for (unsigned i = 0; i < n; i++) {
		LLVMValueRef e = LLVMGetAggregateElement(v, i);
		if (!e || !LLVMIsAConstantInt(e))
			return -1;
		uint64_t x = LLVMConstIntGetZExtValue(e);
		memcpy(out + i * w, &x, w);
	}
	return 0;
}

/* Could LLVM fold a float op with this operand to the other operand? True when v is a
 * constant with a lane equal to +-mag (mag 0: a zero of the given sign), or a constant
 * whose lanes cannot be read (conservative); false for any non-constant. */
static bool const_lane_is(LLVMValueRef v, enum shape s, double mag, bool negative)
{
	if (!LLVMIsConstant(v))
		return false;
	uint8_t b[16];
	if (const_bytes(v, b) < 0)
		return true;
	for (unsigned i = 0; i < shape_lanes[s]; i++) {
		double d;
		if (s == F32X4) {
			float x;
			memcpy(&x, b + 4 * i, 4);
			d = x;
		} else {
			memcpy(&d, b + 8 * i, 8);
		}
		if (mag != 0.0 ? (d == mag || d == -mag)
			       : (d == 0.0 && !!__builtin_signbit(d) == negative))
			return true;
	}
	return false;
}

static void fbinop(struct emit_fn *f, enum shape s, LLVMOpcode op)
{
	LLVMValueRef b = pop_as(f, s), a = pop_as(f, s);
	LLVMValueRef r = LLVMBuildBinOp(f->em->b, op, a, b, "");
	/* As for the scalar ops (emit_numeric.c): where a constant lets LLVM fold the
	 * operation to its other operand (x + -0, x - 0, -0 - x, x * +-1, x / +-1), a
	 * signalling NaN would pass through unquieted, so such results are quieted. Other
	 * constants (x * 0.5) keep the plain instruction. */
	bool folds = op == LLVMFAdd ? const_lane_is(a, s, 0, true) || const_lane_is(b, s, 0, true)
		   : op == LLVMFSub ? const_lane_is(b, s, 0, false) || const_lane_is(a, s, 0, true)
		   : op == LLVMFMul ? const_lane_is(a, s, 1.0, false) || const_lane_is(b, s, 1.0, false)
				    : const_lane_is(b, s, 1.0, false);
	if (folds)
		r = emit_quiet_nan(f, r);
	push_v(f, r);
}

/* min/max: NaN if either operand is NaN (quieted), and -0 < +0. */
static void fminmax(struct emit_fn *f, enum shape s, bool is_max)
{
	LLVMBuilderRef b = f->em->b;
	LLVMValueRef y = pop_as(f, s), x = pop_as(f, s);
	LLVMValueRef r = call2(f, is_max ? "llvm.maximum" : "llvm.minimum", x, y);
	LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, x, y, "");
	push_v(f, LLVMBuildSelect(b, nan, LLVMBuildFAdd(b, x, y, ""), r, ""));
}

/* pmin: y < x ? y : x; pmax: x < y ? y : x (minps/maxps operand order). */
static void fpminmax(struct emit_fn *f, enum shape s, bool is_max)
{
	LLVMBuilderRef b = f->em->b;
	LLVMValueRef y = pop_as(f, s), x = pop_as(f, s);
	LLVMValueRef lt = is_max ? LLVMBuildFCmp(b, LLVMRealOLT, x, y, "")
				 : LLVMBuildFCmp(b, LLVMRealOLT, y, x, "");
	push_v(f, LLVMBuildSelect(b, lt, y, x, ""));
}

/* Saturating float -> i32 lanes: NaN -> 0, out of range -> the nearest bound. The
 * operand is clamped into the range fptosi/fptoui define before converting. */
static LLVMValueRef trunc_sat(struct emit_fn *f, LLVMValueRef a, bool sign, unsigned n)
{
	struct emit_module *em = f->em;
	LLVMBuilderRef b = em->b;
	LLVMTypeRef ft = LLVMGetElementType(LLVMTypeOf(a));
	bool f32 = ft == em->t_f32;
	/* The largest value below 2^31 (2^32) that the float type holds, and the bounds. */
	double lo = sign ? -2147483648.0 : 0.0;
	double top = sign ? (f32 ? 2147483520.0 : 2147483647.0) : (f32 ? 4294967040.0 : 4294967295.0);
	double over = sign ? 2147483648.0 : 4294967296.0;
	LLVMValueRef vlo = const_splat_real(ft, n, lo), vtop = const_splat_real(ft, n, top);
	LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, a, a, "");
	LLVMValueRef x = LLVMBuildSelect(b, nan, LLVMConstNull(LLVMTypeOf(a)), a, "");
	x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, vlo, ""), vlo, x, "");
	x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, vtop, ""), vtop, x, "");
	LLVMTypeRef it = LLVMVectorType(em->t_i32, n);
	LLVMValueRef r = sign ? LLVMBuildFPToSI(b, x, it, "") : LLVMBuildFPToUI(b, x, it, "");
	if (f32) {
		/* 2^31 (2^32) itself is not representable below the bound: saturate it. */
		LLVMValueRef big = LLVMBuildFCmp(b, LLVMRealOGE, a, const_splat_real(ft, n, over), "");
		r = LLVMBuildSelect(b, big, const_splat_int(em->t_i32, n, sign ? 0x7fffffff : 0xffffffff),
				    r, "");
	}
	return r;
}

static void trunc_sat_f32x4(struct emit_fn *f, bool sign)
{
	LLVMValueRef a = pop_as(f, F32X4);
	push_v(f, trunc_sat(f, a, sign, 4));
}

static void trunc_sat_f64x2_zero(struct emit_fn *f, bool sign)
{
	LLVMValueRef a = pop_as(f, F64X2);
	LLVMValueRef r = trunc_sat(f, a, sign, 2);
	static const unsigned idx[4] = {0, 1, 2, 3};
	push_v(f, shuffle(f, r, LLVMConstNull(LLVMTypeOf(r)), idx, 4));
}

static void convert_i32x4(struct emit_fn *f, bool sign)
{
	LLVMValueRef a = pop_as(f, I32X4);
	LLVMTypeRef t = vec_type(f->em, F32X4);
	push_v(f, sign ? LLVMBuildSIToFP(f->em->b, a, t, "") : LLVMBuildUIToFP(f->em->b, a, t, ""));
}

static void convert_low_i32x4(struct emit_fn *f, bool sign)
{
	LLVMValueRef a = half(f, pop_as(f, I32X4), 0, 2);
	LLVMTypeRef t = vec_type(f->em, F64X2);
	push_v(f, sign ? LLVMBuildSIToFP(f->em->b, a, t, "") : LLVMBuildUIToFP(f->em->b, a, t, ""));
}

static void demote(struct emit_fn *f)
{
	LLVMValueRef a = pop_as(f, F64X2);
	LLVMValueRef r = LLVMBuildFPTrunc(f->em->b, a, LLVMVectorType(f->em->t_f32, 2), "");
	static const unsigned idx[4] = {0, 1, 2, 3};
	push_v(f, shuffle(f, r, LLVMConstNull(LLVMTypeOf(r)), idx, 4));
}

static void promote(struct emit_fn *f)
{
	LLVMValueRef a = half(f, pop_as(f, F32X4), 0, 2);
	push_v(f, LLVMBuildFPExt(f->em->b, a, vec_type(f->em, F64X2), ""));
}

/* --- the dispatch ----------------------------------------------------------------- */

/* Integer ops shared by the i8x16..i64x2 blocks, at their offset within a block. */
static int int_common(struct emit_fn *f, enum shape s, unsigned k)
{
	switch (k) {
	case 0x0: iabs(f, s); return 1;
	case 0x1: ineg(f, s); return 1;
	case 0x3: all_true(f, s); return 1;
	case 0x4: bitmask(f, s); return 1;
	case 0xb: shift(f, s, 0); return 1;
	case 0xc: shift(f, s, 1); return 1;
	case 0xd: shift(f, s, 2); return 1;
	case 0xe: binop(f, s, LLVMAdd); return 1;
	case 0x11: binop(f, s, LLVMSub); return 1;
	default: return 0;
	}
}

int emit_simd(struct emit_fn *f, uint32_t sub)
{
	LLVMBuilderRef b = f->em->b;
	switch (sub) {
	case WASM_SIMD_V128_LOAD:
		push_v(f, load(f, f->em->t_v128, mem_ptr(f, fn_pop(f), 16)));
		return 1;
	case WASM_SIMD_V128_LOAD8X8_S: load_extend(f, I8X16, true); return 1;
	case WASM_SIMD_V128_LOAD8X8_U: load_extend(f, I8X16, false); return 1;
	case WASM_SIMD_V128_LOAD16X4_S: load_extend(f, I16X8, true); return 1;
	case WASM_SIMD_V128_LOAD16X4_U: load_extend(f, I16X8, false); return 1;
	case WASM_SIMD_V128_LOAD32X2_S: load_extend(f, I32X4, true); return 1;
	case WASM_SIMD_V128_LOAD32X2_U: load_extend(f, I32X4, false); return 1;
	case WASM_SIMD_V128_LOAD8_SPLAT: load_splat(f, I8X16); return 1;
	case WASM_SIMD_V128_LOAD16_SPLAT: load_splat(f, I16X8); return 1;
	case WASM_SIMD_V128_LOAD32_SPLAT: load_splat(f, I32X4); return 1;
	case WASM_SIMD_V128_LOAD64_SPLAT: load_splat(f, I64X2); return 1;
	case WASM_SIMD_V128_STORE: {
		LLVMValueRef v = fn_pop(f);
		store(f, v, mem_ptr(f, fn_pop(f), 16));
		return 1;
	}
	case WASM_SIMD_V128_CONST: v128_const(f); return 1;
	case WASM_SIMD_I8X16_SHUFFLE: shuffle_op(f); return 1;
	case WASM_SIMD_I8X16_SWIZZLE: swizzle(f); return 1;
	case WASM_SIMD_I8X16_SPLAT: splat_op(f, I8X16); return 1;
	case WASM_SIMD_I16X8_SPLAT: splat_op(f, I16X8); return 1;
	case WASM_SIMD_I32X4_SPLAT: splat_op(f, I32X4); return 1;
	case WASM_SIMD_I64X2_SPLAT: splat_op(f, I64X2); return 1;
	case WASM_SIMD_F32X4_SPLAT: splat_op(f, F32X4); return 1;
	case WASM_SIMD_F64X2_SPLAT: splat_op(f, F64X2); return 1;
	case WASM_SIMD_I8X16_EXTRACT_LANE_S: extract_lane(f, I8X16, 1); return 1;
	case WASM_SIMD_I8X16_EXTRACT_LANE_U: extract_lane(f, I8X16, 2); return 1;
	case WASM_SIMD_I8X16_REPLACE_LANE: replace_lane(f, I8X16); return 1;
	case WASM_SIMD_I16X8_EXTRACT_LANE_S: extract_lane(f, I16X8, 1); return 1;
	case WASM_SIMD_I16X8_EXTRACT_LANE_U: extract_lane(f, I16X8, 2); return 1;
	case WASM_SIMD_I16X8_REPLACE_LANE: replace_lane(f, I16X8); return 1;
	case WASM_SIMD_I32X4_EXTRACT_LANE: extract_lane(f, I32X4, 0); return 1;
	case WASM_SIMD_I32X4_REPLACE_LANE: replace_lane(f, I32X4); return 1;
	case WASM_SIMD_I64X2_EXTRACT_LANE: extract_lane(f, I64X2, 0); return 1;
	case WASM_SIMD_I64X2_REPLACE_LANE: replace_lane(f, I64X2); return 1;
	case WASM_SIMD_F32X4_EXTRACT_LANE: extract_lane(f, F32X4, 0); return 1;
	case WASM_SIMD_F32X4_REPLACE_LANE: replace_lane(f, F32X4); return 1;
	case WASM_SIMD_F64X2_EXTRACT_LANE: extract_lane(f, F64X2, 0); return 1;
	case WASM_SIMD_F64X2_REPLACE_LANE: replace_lane(f, F64X2); return 1;
	case WASM_SIMD_V128_NOT: {
		LLVMValueRef a = fn_pop(f);
		fn_push(f, LLVMBuildNot(b, a, ""));
		return 1;
	}
	case WASM_SIMD_V128_AND: binop(f, I64X2, LLVMAnd); return 1;
	case WASM_SIMD_V128_ANDNOT: {
		LLVMValueRef y = fn_pop(f), x = fn_pop(f);
		fn_push(f, LLVMBuildAnd(b, x, LLVMBuildNot(b, y, ""), ""));
		return 1;
	}
	case WASM_SIMD_V128_OR: binop(f, I64X2, LLVMOr); return 1;
	case WASM_SIMD_V128_XOR: binop(f, I64X2, LLVMXor); return 1;
	case WASM_SIMD_V128_BITSELECT: {
		LLVMValueRef c = fn_pop(f), y = fn_pop(f), x = fn_pop(f);
		LLVMValueRef r = LLVMBuildOr(b, LLVMBuildAnd(b, x, c, ""),
					     LLVMBuildAnd(b, y, LLVMBuildNot(b, c, ""), ""), "");
		fn_push(f, r);
		return 1;
	}
	case WASM_SIMD_V128_ANY_TRUE: {
		LLVMValueRef a = LLVMBuildBitCast(b, fn_pop(f), LLVMInt128TypeInContext(f->em->ctx), "");
		LLVMValueRef nz = LLVMBuildICmp(b, LLVMIntNE, a, LLVMConstNull(LLVMTypeOf(a)), "");
		fn_push(f, emit_bool_to_i32(f, nz));
		return 1;
	}
	case WASM_SIMD_V128_LOAD8_LANE: load_lane(f, I8X16); return 1;
	case WASM_SIMD_V128_LOAD16_LANE: load_lane(f, I16X8); return 1;
	case WASM_SIMD_V128_LOAD32_LANE: load_lane(f, I32X4); return 1;
	case WASM_SIMD_V128_LOAD64_LANE: load_lane(f, I64X2); return 1;
	case WASM_SIMD_V128_STORE8_LANE: store_lane(f, I8X16); return 1;
	case WASM_SIMD_V128_STORE16_LANE: store_lane(f, I16X8); return 1;
	case WASM_SIMD_V128_STORE32_LANE: store_lane(f, I32X4); return 1;
	case WASM_SIMD_V128_STORE64_LANE: store_lane(f, I64X2); return 1;
	case WASM_SIMD_V128_LOAD32_ZERO: load_zero(f, I32X4); return 1;
	case WASM_SIMD_V128_LOAD64_ZERO: load_zero(f, I64X2); return 1;
	case WASM_SIMD_F32X4_DEMOTE_F64X2_ZERO: demote(f); return 1;
	case WASM_SIMD_F64X2_PROMOTE_LOW_F32X4: promote(f); return 1;
	case WASM_SIMD_I8X16_POPCNT: {
		LLVMValueRef a = pop_as(f, I8X16);
		push_v(f, call1(f, "llvm.ctpop", a));
		return 1;
	}
	case WASM_SIMD_I8X16_NARROW_I16X8_S: narrow(f, I16X8, true); return 1;
	case WASM_SIMD_I8X16_NARROW_I16X8_U: narrow(f, I16X8, false); return 1;
	case WASM_SIMD_I16X8_NARROW_I32X4_S: narrow(f, I32X4, true); return 1;
	case WASM_SIMD_I16X8_NARROW_I32X4_U: narrow(f, I32X4, false); return 1;
	case WASM_SIMD_F32X4_CEIL: funary(f, F32X4, "llvm.ceil"); return 1;
	case WASM_SIMD_F32X4_FLOOR: funary(f, F32X4, "llvm.floor"); return 1;
	case WASM_SIMD_F32X4_TRUNC: funary(f, F32X4, "llvm.trunc"); return 1;
	case WASM_SIMD_F32X4_NEAREST: funary(f, F32X4, "llvm.roundeven"); return 1;
	case WASM_SIMD_F64X2_CEIL: funary(f, F64X2, "llvm.ceil"); return 1;
	case WASM_SIMD_F64X2_FLOOR: funary(f, F64X2, "llvm.floor"); return 1;
	case WASM_SIMD_F64X2_TRUNC: funary(f, F64X2, "llvm.trunc"); return 1;
	case WASM_SIMD_F64X2_NEAREST: funary(f, F64X2, "llvm.roundeven"); return 1;
	case WASM_SIMD_I8X16_ADD_SAT_S: binary_intrinsic(f, I8X16, "llvm.sadd.sat"); return 1;
	case WASM_SIMD_I8X16_ADD_SAT_U: binary_intrinsic(f, I8X16, "llvm.uadd.sat"); return 1;
	case WASM_SIMD_I8X16_SUB_SAT_S: binary_intrinsic(f, I8X16, "llvm.ssub.sat"); return 1;
	case WASM_SIMD_I8X16_SUB_SAT_U: binary_intrinsic(f, I8X16, "llvm.usub.sat"); return 1;
	case WASM_SIMD_I16X8_ADD_SAT_S: binary_intrinsic(f, I16X8, "llvm.sadd.sat"); return 1;
	case WASM_SIMD_I16X8_ADD_SAT_U: binary_intrinsic(f, I16X8, "llvm.uadd.sat"); return 1;
	case WASM_SIMD_I16X8_SUB_SAT_S: binary_intrinsic(f, I16X8, "llvm.ssub.sat"); return 1;
	case WASM_SIMD_I16X8_SUB_SAT_U: binary_intrinsic(f, I16X8, "llvm.usub.sat"); return 1;
	case WASM_SIMD_I8X16_MIN_S: binary_intrinsic(f, I8X16, "llvm.smin"); return 1;
	case WASM_SIMD_I8X16_MIN_U: binary_intrinsic(f, I8X16, "llvm.umin"); return 1;
	case WASM_SIMD_I8X16_MAX_S: binary_intrinsic(f, I8X16, "llvm.smax"); return 1;
	case WASM_SIMD_I8X16_MAX_U: binary_intrinsic(f, I8X16, "llvm.umax"); return 1;
	case WASM_SIMD_I16X8_MIN_S: binary_intrinsic(f, I16X8, "llvm.smin"); return 1;
	case WASM_SIMD_I16X8_MIN_U: binary_intrinsic(f, I16X8, "llvm.umin"); return 1;
	case WASM_SIMD_I16X8_MAX_S: binary_intrinsic(f, I16X8, "llvm.smax"); return 1;
	case WASM_SIMD_I16X8_MAX_U: binary_intrinsic(f, I16X8, "llvm.umax"); return 1;
	case WASM_SIMD_I32X4_MIN_S: binary_intrinsic(f, I32X4, "llvm.smin"); return 1;
	case WASM_SIMD_I32X4_MIN_U: binary_intrinsic(f, I32X4, "llvm.umin"); return 1;
	case WASM_SIMD_I32X4_MAX_S: binary_intrinsic(f, I32X4, "llvm.smax"); return 1;
	case WASM_SIMD_I32X4_MAX_U: binary_intrinsic(f, I32X4, "llvm.umax"); return 1;
	case WASM_SIMD_I8X16_AVGR_U: avgr_u(f, I8X16); return 1;
	case WASM_SIMD_I16X8_AVGR_U: avgr_u(f, I16X8); return 1;
	case WASM_SIMD_I16X8_EXTADD_PAIRWISE_I8X16_S: extadd_pairwise(f, I8X16, true); return 1;
	case WASM_SIMD_I16X8_EXTADD_PAIRWISE_I8X16_U: extadd_pairwise(f, I8X16, false); return 1;
	case WASM_SIMD_I32X4_EXTADD_PAIRWISE_I16X8_S: extadd_pairwise(f, I16X8, true); return 1;
	case WASM_SIMD_I32X4_EXTADD_PAIRWISE_I16X8_U: extadd_pairwise(f, I16X8, false); return 1;
	case WASM_SIMD_I16X8_Q15MULR_SAT_S: q15mulr(f); return 1;
	case WASM_SIMD_I16X8_MUL: binop(f, I16X8, LLVMMul); return 1;
	case WASM_SIMD_I32X4_MUL: binop(f, I32X4, LLVMMul); return 1;
	case WASM_SIMD_I64X2_MUL: binop(f, I64X2, LLVMMul); return 1;
	case WASM_SIMD_I32X4_DOT_I16X8_S: dot(f); return 1;
	case WASM_SIMD_I64X2_EQ: icmp(f, I64X2, LLVMIntEQ); return 1;
	case WASM_SIMD_I64X2_NE: icmp(f, I64X2, LLVMIntNE); return 1;
	case WASM_SIMD_I64X2_LT_S: icmp(f, I64X2, LLVMIntSLT); return 1;
	case WASM_SIMD_I64X2_GT_S: icmp(f, I64X2, LLVMIntSGT); return 1;
	case WASM_SIMD_I64X2_LE_S: icmp(f, I64X2, LLVMIntSLE); return 1;
	case WASM_SIMD_I64X2_GE_S: icmp(f, I64X2, LLVMIntSGE); return 1;
	case WASM_SIMD_F32X4_ABS: funary(f, F32X4, "llvm.fabs"); return 1;
	case WASM_SIMD_F32X4_NEG: funary(f, F32X4, NULL); return 1;
	case WASM_SIMD_F32X4_SQRT: funary(f, F32X4, "llvm.sqrt"); return 1;
	case WASM_SIMD_F32X4_ADD: fbinop(f, F32X4, LLVMFAdd); return 1;
	case WASM_SIMD_F32X4_SUB: fbinop(f, F32X4, LLVMFSub); return 1;
	case WASM_SIMD_F32X4_MUL: fbinop(f, F32X4, LLVMFMul); return 1;
	case WASM_SIMD_F32X4_DIV: fbinop(f, F32X4, LLVMFDiv); return 1;
	case WASM_SIMD_F32X4_MIN: fminmax(f, F32X4, false); return 1;
	case WASM_SIMD_F32X4_MAX: fminmax(f, F32X4, true); return 1;
	case WASM_SIMD_F32X4_PMIN: fpminmax(f, F32X4, false); return 1;
	case WASM_SIMD_F32X4_PMAX: fpminmax(f, F32X4, true); return 1;
	case WASM_SIMD_F64X2_ABS: funary(f, F64X2, "llvm.fabs"); return 1;
	case WASM_SIMD_F64X2_NEG: funary(f, F64X2, NULL); return 1;
	case WASM_SIMD_F64X2_SQRT: funary(f, F64X2, "llvm.sqrt"); return 1;
	case WASM_SIMD_F64X2_ADD: fbinop(f, F64X2, LLVMFAdd); return 1;
	case WASM_SIMD_F64X2_SUB: fbinop(f, F64X2, LLVMFSub); return 1;
	case WASM_SIMD_F64X2_MUL: fbinop(f, F64X2, LLVMFMul); return 1;
	case WASM_SIMD_F64X2_DIV: fbinop(f, F64X2, LLVMFDiv); return 1;
	case WASM_SIMD_F64X2_MIN: fminmax(f, F64X2, false); return 1;
	case WASM_SIMD_F64X2_MAX: fminmax(f, F64X2, true); return 1;
	case WASM_SIMD_F64X2_PMIN: fpminmax(f, F64X2, false); return 1;
	case WASM_SIMD_F64X2_PMAX: fpminmax(f, F64X2, true); return 1;
	case WASM_SIMD_I32X4_TRUNC_SAT_F32X4_S: trunc_sat_f32x4(f, true); return 1;
	case WASM_SIMD_I32X4_TRUNC_SAT_F32X4_U: trunc_sat_f32x4(f, false); return 1;
	case WASM_SIMD_F32X4_CONVERT_I32X4_S: convert_i32x4(f, true); return 1;
	case WASM_SIMD_F32X4_CONVERT_I32X4_U: convert_i32x4(f, false); return 1;
	case WASM_SIMD_I32X4_TRUNC_SAT_F64X2_S_ZERO: trunc_sat_f64x2_zero(f, true); return 1;
	case WASM_SIMD_I32X4_TRUNC_SAT_F64X2_U_ZERO: trunc_sat_f64x2_zero(f, false); return 1;
	case WASM_SIMD_F64X2_CONVERT_LOW_I32X4_S: convert_low_i32x4(f, true); return 1;
	case WASM_SIMD_F64X2_CONVERT_LOW_I32X4_U: convert_low_i32x4(f, false); return 1;
	default:
		break;
	}
	/* Comparisons: ten per integer shape (i64x2 has its own six above), six per float. */
	if (sub >= WASM_SIMD_I8X16_EQ && sub <= WASM_SIMD_I8X16_GE_U) {
		cmp_family(f, I8X16, sub - WASM_SIMD_I8X16_EQ);
		return 1;
	}
	if (sub >= WASM_SIMD_I16X8_EQ && sub <= WASM_SIMD_I16X8_GE_U) {
		cmp_family(f, I16X8, sub - WASM_SIMD_I16X8_EQ);
		return 1;
	}
	if (sub >= WASM_SIMD_I32X4_EQ && sub <= WASM_SIMD_I32X4_GE_U) {
		cmp_family(f, I32X4, sub - WASM_SIMD_I32X4_EQ);
		return 1;
	}
	static const LLVMRealPredicate fp[] = {LLVMRealOEQ, LLVMRealUNE, LLVMRealOLT,
					       LLVMRealOGT, LLVMRealOLE, LLVMRealOGE};
	if (sub >= WASM_SIMD_F32X4_EQ && sub <= WASM_SIMD_F32X4_GE) {
		fcmp(f, F32X4, fp[sub - WASM_SIMD_F32X4_EQ]);
		return 1;
	}
	if (sub >= WASM_SIMD_F64X2_EQ && sub <= WASM_SIMD_F64X2_GE) {
		fcmp(f, F64X2, fp[sub - WASM_SIMD_F64X2_EQ]);
		return 1;
	}
	/* extend_low/high and extmul_low/high: s, s, u, u at the same offsets per block. */
	static const struct { uint32_t first; enum shape narrow; } blocks[] = {
		{WASM_SIMD_I16X8_EXTEND_LOW_I8X16_S, I8X16},
		{WASM_SIMD_I32X4_EXTEND_LOW_I16X8_S, I16X8},
		{WASM_SIMD_I64X2_EXTEND_LOW_I32X4_S, I32X4},
	};
	static const struct { uint32_t first; enum shape narrow; } mul_blocks[] = {
		{WASM_SIMD_I16X8_EXTMUL_LOW_I8X16_S, I8X16},
		{WASM_SIMD_I32X4_EXTMUL_LOW_I16X8_S, I16X8},
		{WASM_SIMD_I64X2_EXTMUL_LOW_I32X4_S, I32X4},
	};
	for (int i = 0; i < 3; i++) {
		if (sub >= blocks[i].first && sub < blocks[i].first + 4) {
			unsigned k = sub - blocks[i].first; /* low_s high_s low_u high_u */
			extend(f, blocks[i].narrow, k & 1, k < 2);
			return 1;
		}
		if (sub >= mul_blocks[i].first && sub < mul_blocks[i].first + 4) {
			unsigned k = sub - mul_blocks[i].first;
			extmul(f, mul_blocks[i].narrow, k & 1, k < 2);
			return 1;
		}
	}
	/* abs neg all_true bitmask shl shr_s shr_u add sub, by block (0x60, 0x80, 0xa0, 0xc0). */
	if (sub >= 0x60 && sub <= 0xd1) {
		if (int_common(f, (enum shape)((sub - 0x60) >> 5), (sub - 0x60) & 0x1f))
			return 1;
	}
	return 0;
}
