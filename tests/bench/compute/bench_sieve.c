/* tests/bench/compute/bench_sieve.c - integer benchmark: sieve of Eratosthenes plus Collatz chain lengths. */
#include <stdio.h>
#include <string.h>

#include "bench_common.h"

#define LIMIT (1u << 22)

static uint8_t composite[LIMIT];

int main(int argc, char **argv)
{
	uint32_t reps = bench_scale(argc, argv, 40);
	uint32_t primes = 0;
	uint64_t psum = 0;
	for (uint32_t r = 0; r < reps; r++) {
		memset(composite, 0, sizeof(composite));
		uint32_t limit = LIMIT - (r & 1023);
		primes = 0;
		psum = 0;
		for (uint32_t i = 2; i < limit; i++) {
			if (composite[i])
				continue;
			primes++;
			psum += i;
			for (uint64_t j = (uint64_t)i * i; j < limit; j += i)
				composite[j] = 1;
		}
	}
	/* Collatz: integer division-free but branchy. */
	uint32_t best = 0, best_n = 0;
	uint32_t top = bench_scale(argc, argv, 1000000);
	for (uint32_t n = 1; n < top; n++) {
		uint64_t x = n;
		uint32_t len = 0;
		while (x != 1) {
			x = (x & 1) ? 3 * x + 1 : x >> 1;
			len++;
		}
		if (len > best) {
			best = len;
			best_n = n;
		}
	}
	printf("sieve reps=%u primes=%u sum=%llu collatz best n=%u len=%u\n", reps, primes,
	       (unsigned long long)psum, best_n, best);
	return 0;
}
