/* tests/bench/simd/simd_blur.c - image benchmark: 3x3 box blur of an 8-bit grey image
 * (byte rows widened to 16-bit sums, divided by 9 with a multiply), fed back each pass. */
#include <stdio.h>
#include <stdint.h>

#include "../compute/bench_common.h"

#define W 1024
#define H 768

static uint8_t img[H][W], out[H][W];

static void blur(uint8_t dst[H][W], uint8_t src[H][W])
{
	for (int y = 1; y < H - 1; y++) {
		const uint8_t *a = src[y - 1], *b = src[y], *c = src[y + 1];
		uint8_t *d = dst[y];
		for (int x = 1; x < W - 1; x++) {
			uint32_t s = (uint32_t)a[x - 1] + a[x] + a[x + 1] + b[x - 1] + b[x] + b[x + 1] +
				     c[x - 1] + c[x] + c[x + 1];
			d[x] = (uint8_t)((s * 7282u) >> 16); /* s / 9 for s <= 2295 */
		}
	}
}

int main(int argc, char **argv)
{
	uint32_t passes = bench_scale(argc, argv, 600);
	uint32_t seed = 4242;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			img[y][x] = out[y][x] = (uint8_t)bench_rand(&seed);
	uint32_t sum = 0;
	for (uint32_t p = 0; p < passes; p++) {
		blur(out, img);
		blur(img, out);
		img[p % H][(p * 13) % W] ^= 0x5a; /* keep the image from settling */
		sum = sum * 31 + img[H / 2][p % W] + out[(p * 7) % H][W / 3];
	}
	uint64_t total = 0;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			total += (uint64_t)img[y][x] * (uint64_t)(x + 1);
	printf("blur %dx%d passes=%u checksum %u %llu\n", W, H, passes, sum, (unsigned long long)total);
	return 0;
}
