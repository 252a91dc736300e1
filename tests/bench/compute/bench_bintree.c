/* tests/bench/compute/bench_bintree.c - allocation-heavy benchmark: binary trees built and freed with malloc/free. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

struct node {
	struct node *left, *right;
	uint32_t value;
};

static struct node *build(uint32_t depth, uint32_t value)
{
	struct node *n = malloc(sizeof(*n));
	if (!n) {
		printf("bintree: out of memory\n");
		exit(1);
	}
	n->value = value;
	if (depth == 0) {
		n->left = n->right = NULL;
	} else {
		n->left = build(depth - 1, value * 2);
		n->right = build(depth - 1, value * 2 + 1);
	}
	return n;
}

static uint32_t check(const struct node *n)
{
	if (!n->left)
		return n->value & 0xff;
	return 1 + check(n->left) + check(n->right) + (n->value & 7);
}

static void release(struct node *n)
{
	if (n->left) {
		release(n->left);
		release(n->right);
	}
	free(n);
}

int main(int argc, char **argv)
{
	uint32_t work = bench_scale(argc, argv, 200);
	uint32_t max_depth = 16;
	struct node *long_lived = build(max_depth, 1);
	uint64_t total = 0;
	for (uint32_t depth = 4; depth <= max_depth; depth += 2) {
		/* As many nodes per depth as the full-size run builds, scaled. */
		uint32_t iters = (uint32_t)(((uint64_t)1 << (max_depth - depth + 4)) * work / 100);
		if (!iters)
			iters = 1;
		uint64_t sum = 0;
		for (uint32_t i = 0; i < iters; i++) {
			struct node *t = build(depth, i);
			sum += check(t);
			release(t);
		}
		printf("depth %u: %u trees, check %llu\n", depth, iters, (unsigned long long)sum);
		total += sum;
	}
	printf("long lived check %u, total %llu\n", check(long_lived), (unsigned long long)total);
	release(long_lived);
	return 0;
}
