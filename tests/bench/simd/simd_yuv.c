/* tests/bench/simd/simd_yuv.c - image benchmark: RGB to YUV (BT.601, 8-bit fixed point)
 * over planar frames, then YUV back to RGB. */
#include <stdio.h>
#include <stdint.h>

#include "../compute/bench_common.h"

#define PIXELS (1280 * 720)

static uint8_t r[PIXELS], g[PIXELS], b[PIXELS];
static uint8_t yp[PIXELS], up[PIXELS], vp[PIXELS];

static uint8_t clamp255(int32_t v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void rgb_to_yuv(void)
{
	for (int i = 0; i < PIXELS; i++) {
		int32_t R = r[i], G = g[i], B = b[i];
		yp[i] = (uint8_t)(((66 * R + 129 * G + 25 * B + 128) >> 8) + 16);
		up[i] = (uint8_t)(((-38 * R - 74 * G + 112 * B + 128) >> 8) + 128);
		vp[i] = (uint8_t)(((112 * R - 94 * G - 18 * B + 128) >> 8) + 128);
	}
}

static void yuv_to_rgb(void)
{
	for (int i = 0; i < PIXELS; i++) {
		int32_t C = yp[i] - 16, D = up[i] - 128, E = vp[i] - 128;
		r[i] = clamp255((298 * C + 409 * E + 128) >> 8);
		g[i] = clamp255((298 * C - 100 * D - 208 * E + 128) >> 8);
		b[i] = clamp255((298 * C + 516 * D + 128) >> 8);
	}
}

int main(int argc, char **argv)
{
	uint32_t frames = bench_scale(argc, argv, 500);
	uint32_t seed = 777;
	for (int i = 0; i < PIXELS; i++) {
		r[i] = (uint8_t)bench_rand(&seed);
		g[i] = (uint8_t)bench_rand(&seed);
		b[i] = (uint8_t)bench_rand(&seed);
	}
	uint32_t sum = 0;
	for (uint32_t f = 0; f < frames; f++) {
		rgb_to_yuv();
		yuv_to_rgb();
		r[f % PIXELS] ^= (uint8_t)f;
		sum = sum * 31 + yp[(f * 997) % PIXELS] + up[f % PIXELS] + vp[(f * 13) % PIXELS];
	}
	uint64_t total = 0;
	for (int i = 0; i < PIXELS; i++)
		total += (uint64_t)(r[i] + 3 * g[i] + 7 * b[i]) * (uint64_t)(i % 251 + 1);
	printf("yuv %d pixels frames=%u checksum %u %llu\n", PIXELS, frames, sum,
	       (unsigned long long)total);
	return 0;
}
