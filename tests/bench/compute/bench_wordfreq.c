/* tests/bench/compute/bench_wordfreq.c - string benchmark: generate text, split it into words (strcspn/strspn), count them in a chained hash table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define TEXT (4u << 20)
#define BUCKETS 4096

struct entry {
	struct entry *next;
	uint32_t count;
	char word[];
};

static char text[TEXT + 1];
static struct entry *table[BUCKETS];

static const char *syll[] = {"ka", "mo", "ri", "to", "su", "ne", "ha", "yo", "mi", "ku", "n", "shi"};

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

int main(int argc, char **argv)
{
	uint32_t reps = 8;
	uint32_t text_len = bench_scale(argc, argv, TEXT);
	uint32_t seed = 7;
	size_t len = 0;
	while (len + 16 < text_len && len + 16 < TEXT) {
		int syllables = 1 + bench_rand(&seed) % 4;
		for (int s = 0; s < syllables; s++) {
			const char *y = syll[bench_rand(&seed) % 12];
			size_t yl = strlen(y);
			memcpy(text + len, y, yl);
			len += yl;
		}
		text[len++] = (bench_rand(&seed) % 9) ? ' ' : '\n';
	}
	text[len] = 0;

	uint64_t check = 0;
	uint32_t distinct = 0;
	for (uint32_t r = 0; r < reps; r++) {
		distinct = 0;
		for (const char *p = text; *p;) {
			size_t n = strcspn(p, " \n");
			if (n) {
				uint32_t h = hash(p, n) & (BUCKETS - 1);
				struct entry *e = table[h];
				while (e && !(strncmp(e->word, p, n) == 0 && e->word[n] == 0))
					e = e->next;
				if (!e) {
					e = malloc(sizeof(*e) + n + 1);
					memcpy(e->word, p, n);
					e->word[n] = 0;
					e->count = 0;
					e->next = table[h];
					table[h] = e;
					distinct++;
				}
				e->count++;
			}
			p += n;
			p += strspn(p, " \n");
		}
		for (int b = 0; b < BUCKETS; b++) {
			struct entry *e = table[b];
			while (e) {
				struct entry *next = e->next;
				check += (uint64_t)e->count * hash(e->word, strlen(e->word));
				free(e);
				e = next;
			}
			table[b] = NULL;
		}
	}
	printf("wordfreq reps=%u distinct=%u checksum %llu\n", reps, distinct, (unsigned long long)check);
	return 0;
}
