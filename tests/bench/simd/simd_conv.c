/* tests/bench/simd/simd_conv.c - signal benchmark: a 24-tap single-precision FIR filter
 * (tap-major loops, so each tap updates a whole output row) and a 5x5 integer kernel
 * over a 16-bit image. */
#include <stdio.h>
#include <stdint.h>

#include "../compute/bench_common.h"

#define NS 65536
#define TAPS 24
#define IW 512
#define IH 256

static float x[NS + TAPS], y[NS], h[TAPS];
static int16_t im[IH][IW], om[IH][IW];
static const int16_t k5[5][5] = {{1, 4, 6, 4, 1}, {4, 16, 24, 16, 4}, {6, 24, 36, 24, 6},
				 {4, 16, 24, 16, 4}, {1, 4, 6, 4, 1}};

static void fir(void)
{
	for (int i = 0; i < NS; i++)
		y[i] = 0;
	for (int k = 0; k < TAPS; k++) {
		float hk = h[k];
		for (int i = 0; i < NS; i++)
			y[i] += hk * x[i + k];
	}
}

static void conv5(void)
{
	for (int r = 2; r < IH - 2; r++)
		for (int c = 2; c < IW - 2; c++) {
			int32_t s = 0;
			for (int i = 0; i < 5; i++)
				for (int j = 0; j < 5; j++)
					s += k5[i][j] * im[r + i - 2][c + j - 2];
			om[r][c] = (int16_t)(s >> 8);
		}
}

int main(int argc, char **argv)
{
	uint32_t reps = bench_scale(argc, argv, 1200);
	uint32_t seed = 5150;
	for (int i = 0; i < NS + TAPS; i++)
		x[i] = (float)(bench_rand(&seed) % 2000) / 1000.0f - 1.0f;
	for (int k = 0; k < TAPS; k++)
		h[k] = (float)(k + 1) / (TAPS * TAPS);
	for (int r = 0; r < IH; r++)
		for (int c = 0; c < IW; c++)
			im[r][c] = (int16_t)(bench_rand(&seed) % 4096);
	double total = 0;
	int64_t itotal = 0;
	for (uint32_t r = 0; r < reps; r++) {
		fir();
		conv5();
		total += y[r % NS] + y[(r * 31) % NS];
		x[r % NS] = y[(r * 17) % NS];
		itotal += om[r % IH][(r * 3) % IW];
		im[(r * 5) % IH][r % IW] = (int16_t)(itotal & 0xfff);
	}
	printf("conv taps=%d reps=%u checksum %.5f %lld\n", TAPS, reps, total, (long long)itotal);
	return 0;
}
