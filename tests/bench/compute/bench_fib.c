/* tests/bench/compute/bench_fib.c - call-heavy benchmark: naive recursive Fibonacci, Ackermann and Tak. */
#include <stdio.h>

#include "bench_common.h"

__attribute__((noinline)) static uint32_t fib(uint32_t n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static uint32_t ack(uint32_t m, uint32_t n)
{
	if (m == 0)
		return n + 1;
	if (n == 0)
		return ack(m - 1, 1);
	return ack(m - 1, ack(m, n - 1));
}

__attribute__((noinline)) static int32_t tak(int32_t x, int32_t y, int32_t z)
{
	if (y >= x)
		return z;
	return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

int main(int argc, char **argv)
{
	uint32_t reps = bench_scale(argc, argv, 40);
	uint64_t sum = 0;
	for (uint32_t r = 0; r < reps; r++) {
		sum += fib(30 + (r & 1));
		sum += ack(2, 2000 + r);
		sum += (uint32_t)tak(18 + (int32_t)(r & 1), 12, 6);
	}
	printf("fib/ack/tak reps=%u checksum %llu\n", reps, (unsigned long long)sum);
	return 0;
}
