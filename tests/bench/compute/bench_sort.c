/* tests/bench/compute/bench_sort.c - memory-heavy benchmark: merge sort and radix sort of a large array, with memcpy-heavy merging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define COUNT (1u << 21) /* 2 Mi elements, 8 MiB per array */

static uint32_t data[COUNT], tmp[COUNT], copy[COUNT];

/* Bottom-up merge sort; runs are copied with memcpy where one side is exhausted. */
static void merge_sort(uint32_t *a, uint32_t *t, uint32_t n)
{
	uint32_t *src = a, *dst = t;
	for (uint32_t width = 1; width < n; width *= 2) {
		for (uint32_t lo = 0; lo < n; lo += 2 * width) {
			uint32_t mid = lo + width < n ? lo + width : n;
			uint32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			uint32_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = src[i] <= src[j] ? src[i++] : src[j++];
			memcpy(dst + k, src + i, (mid - i) * sizeof(*src));
			k += mid - i;
			memcpy(dst + k, src + j, (hi - j) * sizeof(*src));
		}
		uint32_t *s = src;
		src = dst;
		dst = s;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

static void radix_sort(uint32_t *a, uint32_t *t, uint32_t n)
{
	for (int shift = 0; shift < 32; shift += 8) {
		uint32_t count[257] = {0};
		for (uint32_t i = 0; i < n; i++)
			count[((a[i] >> shift) & 255) + 1]++;
		for (int b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (uint32_t i = 0; i < n; i++)
			t[count[(a[i] >> shift) & 255]++] = a[i];
		memcpy(a, t, n * sizeof(*a));
	}
}

int main(int argc, char **argv)
{
	uint32_t reps = 2;
	uint32_t n = bench_scale(argc, argv, COUNT);
	if (n > COUNT)
		n = COUNT;
	uint32_t seed = 2463534242u;
	uint64_t check = 0;
	for (uint32_t r = 0; r < reps; r++) {
		for (uint32_t i = 0; i < n; i++)
			data[i] = bench_rand(&seed);
		memcpy(copy, data, n * sizeof(*data));
		merge_sort(data, tmp, n);
		radix_sort(copy, tmp, n);
		if (memcmp(data, copy, n * sizeof(*data)) != 0) {
			printf("sort: merge and radix disagree\n");
			return 1;
		}
		for (uint32_t i = 1; i < n; i++)
			if (data[i - 1] > data[i]) {
				printf("sort: not sorted at %u\n", i);
				return 1;
			}
		for (uint32_t i = 0; i < n; i += 997)
			check = check * 31 + data[i];
	}
	printf("sort n=%u reps=%u checksum %llu\n", n, reps, (unsigned long long)check);
	return 0;
}
