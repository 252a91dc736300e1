/* tests/apps/app_random.c - guest test app: random_get fills buffers with bytes that differ between calls. With argument `hex`: one line "random <32 hex digits>" of 16 fresh bytes, to compare between VMs (pod VMs started from one snapshot must differ). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

static const char *ok(int cond)
{
	return cond ? "ok" : "FAIL";
}

int main(int argc, char **argv)
{
	unsigned char a[32], b[32];
	if (argc > 1 && strcmp(argv[1], "hex") == 0) {
		if (getentropy(a, 16) != 0)
			return 1;
		printf("random ");
		for (int i = 0; i < 16; i++)
			printf("%02x", a[i]);
		printf("\n");
		return 0;
	}
	int ra = getentropy(a, sizeof(a)), rb = getentropy(b, sizeof(b));
	printf("getentropy twice: %d %d, differ: %s\n", ra, rb, ok(memcmp(a, b, sizeof(a)) != 0));

	static unsigned char big[65536];
	unsigned count[256] = {0};
#ifdef __wasi__
	printf("random_get 0 bytes: %d\n", __wasi_random_get(big, 0));
	printf("random_get 64 KiB: %d\n", __wasi_random_get(big, sizeof(big)));
#else
	for (size_t i = 0; i < sizeof(big); i += 256)
		getentropy(big + i, 256);
	printf("random_get 0 bytes: 0\nrandom_get 64 KiB: 0\n");
#endif
	for (size_t i = 0; i < sizeof(big); i++)
		count[big[i]]++;
	/* 256 expected per value; a real generator stays far inside [128, 400]. */
	unsigned lo = ~0u, hi = 0;
	for (int i = 0; i < 256; i++) {
		lo = count[i] < lo ? count[i] : lo;
		hi = count[i] > hi ? count[i] : hi;
	}
	printf("byte histogram within [128, 400]: %s\n", ok(lo >= 128 && hi <= 400));
	uint32_t x = arc4random(), y = arc4random();
	printf("arc4random twice differ: %s\n", ok(x != y));
	return 0;
}
