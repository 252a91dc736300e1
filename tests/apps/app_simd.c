/* tests/apps/app_simd.c - guest test: 128-bit SIMD (wasm_simd128.h intrinsics and loops
 * clang vectorises) gives the same bytes under every runner. Functions carry
 * target("simd128") so the app builds with the common flags and still uses v128 code. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasm_simd128.h>

#define SIMD __attribute__((target("simd128"), noinline))

static void dump(const char *what, v128_t v)
{
	uint8_t b[16];
	memcpy(b, &v, 16);
	printf("%-22s", what);
	for (int i = 0; i < 16; i++)
		printf("%02x%s", b[i], i == 15 ? "\n" : i % 4 == 3 ? " " : "");
}

/* NaN payloads and signs are nondeterministic in Wasm: print floats by class. */
static void floats(const char *what, v128_t v)
{
	float f[4];
	memcpy(f, &v, 16);
	printf("%-22s", what);
	for (int i = 0; i < 4; i++) {
		if (f[i] != f[i])
			printf("nan%s", i == 3 ? "\n" : " ");
		else
			printf("%g%s", (double)f[i], i == 3 ? "\n" : " ");
	}
}

SIMD static void integer_ops(void)
{
	v128_t a = wasm_i8x16_make(-128, -1, 0, 1, 2, 3, 100, 127, 5, 6, 7, 8, 9, 10, 11, 12);
	v128_t b = wasm_i8x16_make(-1, -128, 1, 127, 3, 2, 100, 1, 250 - 256, 6, 0, 8, 1, 2, 3, 4);
	dump("i8x16.add_sat", wasm_i8x16_add_sat(a, b));
	dump("u8x16.sub_sat", wasm_u8x16_sub_sat(a, b));
	dump("u8x16.avgr", wasm_u8x16_avgr(a, b));
	dump("i8x16.popcnt", wasm_i8x16_popcnt(a));
	dump("i8x16.shuffle", wasm_i8x16_shuffle(a, b, 0, 17, 2, 19, 4, 21, 6, 23, 31, 30, 29, 28, 3, 3, 3, 3));
	dump("i8x16.swizzle", wasm_i8x16_swizzle(a, wasm_i8x16_make(15, 0, 16, -1, 1, 2, 3, 4, 64, 5, 6, 7, 8, 9, 10, 11)));
	dump("i8x16.shl 9", wasm_i8x16_shl(a, 9));
	dump("i16x8.shr 17", wasm_i16x8_shr(a, 17));
	v128_t w = wasm_i16x8_make(-32768, 32767, 300, -300, 255, 256, -1, 0);
	dump("i8x16.narrow", wasm_i8x16_narrow_i16x8(w, w));
	dump("u8x16.narrow", wasm_u8x16_narrow_i16x8(w, w));
	dump("i16x8.q15mulr", wasm_i16x8_q15mulr_sat(w, wasm_i16x8_make(-32768, 32767, 2, 3, 4, 5, 6, 7)));
	dump("i32x4.dot", wasm_i32x4_dot_i16x8(w, w));
	dump("u32x4.extmul_high", wasm_u32x4_extmul_high_u16x8(w, w));
	dump("i64x2.mul", wasm_i64x2_mul(wasm_i64x2_make(-3, 0x100000001ll), wasm_i64x2_make(7, 0x100000001ll)));
	dump("i64x2.abs", wasm_i64x2_abs(wasm_i64x2_make(INT64_MIN, -9)));
	printf("%-22s%u %u %u %d %d\n", "bitmask any all", wasm_i8x16_bitmask(a),
	       wasm_i16x8_bitmask(w), wasm_i64x2_bitmask(wasm_i64x2_make(-1, 1)),
	       wasm_v128_any_true(wasm_i64x2_make(0, 1)), wasm_i32x4_all_true(wasm_i32x4_make(1, 2, 0, 4)));
	printf("%-22s%d %u %lld\n", "extract lanes", wasm_i8x16_extract_lane(a, 0),
	       wasm_u16x8_extract_lane(w, 3), (long long)wasm_i64x2_extract_lane(wasm_i64x2_splat(-5), 1));
}

SIMD static void float_ops(void)
{
	float nan = __builtin_nanf("");
	v128_t x = wasm_f32x4_make(-0.0f, nan, 1.5f, -2.5f);
	v128_t y = wasm_f32x4_make(0.0f, 1.0f, nan, 3.0f);
	floats("f32x4.min", wasm_f32x4_min(x, y));
	floats("f32x4.max", wasm_f32x4_max(x, y));
	floats("f32x4.pmin", wasm_f32x4_pmin(x, y));
	dump("f32x4.min -0 bits", wasm_f32x4_min(wasm_f32x4_splat(0.0f), wasm_f32x4_splat(-0.0f)));
	floats("f32x4.nearest", wasm_f32x4_nearest(wasm_f32x4_make(2.5f, 3.5f, -0.5f, 1e9f)));
	floats("f32x4.sqrt", wasm_f32x4_sqrt(wasm_f32x4_make(4, 2, 0, 1e-40f)));
	v128_t big = wasm_f32x4_make(3e9f, -3e9f, nan, 2147483520.0f);
	dump("i32x4.trunc_sat", wasm_i32x4_trunc_sat_f32x4(big));
	dump("u32x4.trunc_sat", wasm_u32x4_trunc_sat_f32x4(big));
	dump("i32x4.trunc_sat_f64", wasm_i32x4_trunc_sat_f64x2_zero(wasm_f64x2_make(-1e300, 1e300)));
	floats("f32x4.convert_u32", wasm_f32x4_convert_u32x4(wasm_u32x4_make(0xffffffffu, 0x80000081u, 7, 0)));
	floats("f32x4.demote", wasm_f32x4_demote_f64x2_zero(wasm_f64x2_make(1e300, 0.1)));
	dump("f32x4.lt", wasm_f32x4_lt(x, y));
}

/* Lane loads and stores at unaligned addresses. */
SIMD static void memory_ops(void)
{
	static uint8_t buf[64];
	for (int i = 0; i < 64; i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	v128_t v = wasm_v128_load(buf + 3);
	dump("v128.load +3", v);
	dump("load16_lane", wasm_v128_load16_lane(buf + 7, v, 5));
	dump("load32_zero", wasm_v128_load32_zero(buf + 9));
	dump("load8x8_s", wasm_i16x8_load8x8(buf + 1));
	wasm_v128_store64_lane(buf + 33, v, 1);
	wasm_v128_store(buf + 45, wasm_i32x4_splat(0x01020304));
	dump("after stores", wasm_v128_load(buf + 32));
	dump("after stores +45", wasm_v128_load(buf + 45));
}

/* Plain C loops that clang vectorises: a small blur and a weighted byte sum. */
SIMD static uint32_t vectorised(void)
{
	static uint8_t img[64][64], out[64][64];
	uint32_t seed = 7;
	for (int y = 0; y < 64; y++)
		for (int x = 0; x < 64; x++) {
			seed = seed * 1103515245u + 12345u;
			img[y][x] = (uint8_t)(seed >> 16);
		}
	for (int pass = 0; pass < 10; pass++)
		for (int y = 1; y < 63; y++)
			for (int x = 1; x < 63; x++)
				out[y][x] = (uint8_t)((img[y - 1][x] + img[y + 1][x] + img[y][x - 1] +
						      img[y][x + 1] + 4 * img[y][x] + 4) >> 3);
	uint32_t s1 = 0, s2 = 0;
	for (int y = 0; y < 64; y++)
		for (int x = 0; x < 64; x++) {
			s1 += out[y][x];
			s2 += (uint32_t)out[y][x] * (uint32_t)(x + 1);
		}
	return s1 * 65599u + s2;
}

int main(void)
{
	integer_ops();
	float_ops();
	memory_ops();
	printf("vectorised checksum   %u\n", vectorised());
	return 0;
}
