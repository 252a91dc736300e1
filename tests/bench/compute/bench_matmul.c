/* tests/bench/compute/bench_matmul.c - numeric benchmark: dense double matrix multiply (blocked i-k-j loops). */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#define N 256

static double a[N][N], b[N][N], c[N][N];

int main(int argc, char **argv)
{
	uint32_t reps = bench_scale(argc, argv, 200);
	uint32_t seed = 12345;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			a[i][j] = (double)(bench_rand(&seed) % 1000) / 500.0 - 1.0;
			b[i][j] = (double)(bench_rand(&seed) % 1000) / 500.0 - 1.0;
		}
	double total = 0;
	for (uint32_t r = 0; r < reps; r++) {
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++)
				c[i][j] = 0;
		for (int i = 0; i < N; i++)
			for (int k = 0; k < N; k++) {
				double aik = a[i][k];
				for (int j = 0; j < N; j++)
					c[i][j] += aik * b[k][j];
			}
		/* Feed the result back so each repetition depends on the last. */
		double trace = 0;
		for (int i = 0; i < N; i++)
			trace += c[i][i];
		total += trace;
		a[r % N][(r * 7) % N] = trace / (N * N);
	}
	printf("matmul n=%d reps=%u checksum %.6f\n", N, reps, total);
	return 0;
}
