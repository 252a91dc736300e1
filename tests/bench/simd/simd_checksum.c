/* tests/bench/simd/simd_checksum.c - checksum benchmark: Adler-32 over a buffer in
 * blocks (the per-block byte sum and weighted sum are independent lanes) and a 32-bit
 * word sum with rotation, as network and archive code compute them. */
#include <stdio.h>
#include <stdint.h>

#include "../compute/bench_common.h"

#define LEN (8u << 20)
#define BLOCK 5552u /* the largest n with 255 n (n + 1) / 2 + (n + 1)(65520) < 2^32 */

static uint8_t buf[LEN];

static uint32_t adler32(const uint8_t *p, uint32_t n)
{
	uint32_t a = 1, b = 0;
	while (n) {
		uint32_t len = n < BLOCK ? n : BLOCK;
		uint32_t s1 = 0, s2 = 0;
		for (uint32_t i = 0; i < len; i++) {
			s1 += p[i];
			s2 += (len - i) * (uint32_t)p[i];
		}
		b = (b + len * a + s2) % 65521u;
		a = (a + s1) % 65521u;
		p += len;
		n -= len;
	}
	return b << 16 | a;
}

static uint32_t wordsum(const uint8_t *p, uint32_t n)
{
	const uint32_t *w = (const uint32_t *)(const void *)p;
	uint32_t s = 0, x = 0;
	for (uint32_t i = 0; i < n / 4; i++) {
		s += w[i];
		x ^= (w[i] << 7) | (w[i] >> 25);
	}
	return s ^ x;
}

int main(int argc, char **argv)
{
	uint32_t reps = bench_scale(argc, argv, 300);
	uint32_t seed = 2024;
	for (uint32_t i = 0; i < LEN; i++)
		buf[i] = (uint8_t)bench_rand(&seed);
	uint32_t acc = 0, ws = 0;
	for (uint32_t r = 0; r < reps; r++) {
		acc = acc * 31 + adler32(buf, LEN);
		ws += wordsum(buf, LEN);
		buf[(r * 104729u) % LEN] ^= (uint8_t)acc;
	}
	printf("checksum %u bytes reps=%u checksum %u %u\n", LEN, reps, acc, ws);
	return 0;
}
