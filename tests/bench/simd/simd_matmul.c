/* tests/bench/simd/simd_matmul.c - numeric benchmark: single-precision matrix multiply
 * (i-k-j loops, row-wise updates) and 16-bit integer dot products (32-bit sums). */
#include <stdio.h>
#include <stdint.h>

#include "../compute/bench_common.h"

#define N 192
#define DOT_LEN 4096
#define NVEC 64

static float a[N][N], b[N][N], c[N][N];
static int16_t va[NVEC][DOT_LEN], vb[DOT_LEN];

static int32_t dot16(const int16_t *x, const int16_t *y)
{
	int32_t s = 0;
	for (int i = 0; i < DOT_LEN; i++)
		s += (int32_t)x[i] * y[i];
	return s;
}

int main(int argc, char **argv)
{
	uint32_t reps = bench_scale(argc, argv, 480);
	uint32_t seed = 99;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			a[i][j] = (float)(bench_rand(&seed) % 1000) / 500.0f - 1.0f;
			b[i][j] = (float)(bench_rand(&seed) % 1000) / 500.0f - 1.0f;
		}
	for (int v = 0; v < NVEC; v++)
		for (int i = 0; i < DOT_LEN; i++)
			va[v][i] = (int16_t)(bench_rand(&seed) % 2001) - 1000;
	for (int i = 0; i < DOT_LEN; i++)
		vb[i] = (int16_t)(bench_rand(&seed) % 2001) - 1000;
	double total = 0;
	int64_t dots = 0;
	for (uint32_t r = 0; r < reps; r++) {
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++)
				c[i][j] = 0;
		for (int i = 0; i < N; i++)
			for (int k = 0; k < N; k++) {
				float aik = a[i][k];
				for (int j = 0; j < N; j++)
					c[i][j] += aik * b[k][j];
			}
		float trace = 0;
		for (int i = 0; i < N; i++)
			trace += c[i][i];
		total += trace;
		a[r % N][(r * 7) % N] = trace / (N * N);
		for (int k = 0; k < 8; k++)
			for (int v = 0; v < NVEC; v++)
				dots += dot16(va[v], vb);
		vb[r % DOT_LEN] = (int16_t)(dots & 0x3ff);
	}
	printf("matmul n=%d reps=%u checksum %.4f %lld\n", N, reps, total, (long long)dots);
	return 0;
}
