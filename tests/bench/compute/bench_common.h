/* tests/bench/compute/bench_common.h - shared by the compute benchmarks: the size scale from argv. */
#ifndef KUMO_BENCH_COMMON_H
#define KUMO_BENCH_COMMON_H
#include <stdint.h>
#include <stdlib.h>

/* argv[1] scales the work in percent of the full size (default 100), so the harness can
 * run everything quickly (BENCH_SCALE=5) without touching the programs. Every program
 * prints a checksum that depends on all of its work, so runners are checked for equal
 * output and no work can be optimised away. */
static inline uint32_t bench_scale(int argc, char **argv, uint32_t full)
{
	long pct = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
	if (pct < 1)
		pct = 1;
	uint64_t n = (uint64_t)full * (uint64_t)pct / 100;
	return n ? (uint32_t)n : 1;
}

/* xorshift32: the same pseudo-random sequence on every target. */
static inline uint32_t bench_rand(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}
#endif
