/* tests/bench/simd/simd_strsearch.c - text benchmark: counts the occurrences of 4-byte
 * needles and of line ends in a generated text, comparing every position (no skip
 * tables), the way a vectorised memmem prefilter does. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "../compute/bench_common.h"

#define LEN (4u << 20)

static uint8_t text[LEN + 4];

static uint32_t count4(const uint8_t *t, uint32_t n, const uint8_t *nd)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < n; i++)
		c += (t[i] == nd[0]) & (t[i + 1] == nd[1]) & (t[i + 2] == nd[2]) & (t[i + 3] == nd[3]);
	return c;
}

static uint32_t count_byte(const uint8_t *t, uint32_t n, uint8_t ch)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < n; i++)
		c += t[i] == ch;
	return c;
}

int main(int argc, char **argv)
{
	uint32_t reps = bench_scale(argc, argv, 60);
	static const char words[][8] = {"the ", "and ", "wasm ", "kumo ", "simd ", "lane ",
					"vector ", "of ", "a ", "\n"};
	uint32_t seed = 31337, at = 0;
	while (at < LEN) {
		const char *w = words[bench_rand(&seed) % 10];
		for (size_t k = 0; w[k] && at < LEN; k++)
			text[at++] = (uint8_t)w[k];
	}
	static const uint8_t needles[][4] = {{'s', 'i', 'm', 'd'}, {'k', 'u', 'm', 'o'},
					     {'e', ' ', 'o', 'f'}, {'l', 'a', 'n', 'e'}};
	uint64_t total = 0;
	uint32_t lines = 0;
	for (uint32_t r = 0; r < reps; r++) {
		for (int k = 0; k < 4; k++)
			total += count4(text, LEN, needles[k]) * (uint64_t)(k + 1);
		lines += count_byte(text, LEN, '\n');
		text[(r * 7919u) % LEN] = (uint8_t)('a' + r % 26);
	}
	printf("strsearch %u bytes reps=%u checksum %llu %u\n", LEN, reps,
	       (unsigned long long)total, lines);
	return 0;
}
