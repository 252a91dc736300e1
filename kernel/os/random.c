/* kernel/os/random.c - random bytes: RDSEED/RDRAND when the CPU has them, mixed with a boot-config seed and the TSC into a ChaCha20 stream otherwise. */
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"

static uint32_t key[8];
static uint64_t counter;
static const char *source_name = "chacha20(tsc)";

static inline uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
#define QR(a, b, c, d) \
	(a += b, d ^= a, d = rotl(d, 16), c += d, b ^= c, b = rotl(b, 12), \
	 a += b, d ^= a, d = rotl(d, 8), c += d, b ^= c, b = rotl(b, 7))

static void chacha_block(uint32_t out[16])
{
	uint32_t s[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	memcpy(s + 4, key, 32);
	s[12] = (uint32_t)counter;
	s[13] = (uint32_t)(counter >> 32);
	counter++;
	uint32_t x[16];
	memcpy(x, s, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		out[i] = x[i] + s[i];
}

static int hw_u64(uint64_t *v)
{
	unsigned char ok = 0;
	for (int tries = 0; tries < 10 && !ok; tries++) {
		if (kumo_cpu.rdseed)
			__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (!ok && kumo_cpu.rdrand)
			__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
	}
	return ok;
}

void random_init(const void *seed, size_t n)
{
	const uint8_t *s = seed;
	for (size_t i = 0; i < n; i++)
		((uint8_t *)key)[i % 32] ^= s[i];
	for (int i = 0; i < 4; i++) {
		uint64_t v;
		if (hw_u64(&v))
			source_name = kumo_cpu.rdseed ? "rdseed" : "rdrand";
		else
			v = rdtsc() * 0x9e3779b97f4a7c15ull;
		key[2 * i] ^= (uint32_t)v;
		key[2 * i + 1] ^= (uint32_t)(v >> 32);
	}
	if (!kumo_cpu.rdseed && !kumo_cpu.rdrand && n)
		source_name = "chacha20(seed+tsc)";
}

const char *random_source(void) { return source_name; }

void random_get(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		uint32_t block[16];
		uint64_t hw;
		/* Fresh hardware entropy into every block when there is some. */
		if (hw_u64(&hw)) {
			key[0] ^= (uint32_t)hw;
			key[1] ^= (uint32_t)(hw >> 32);
		} else {
			key[2] ^= (uint32_t)rdtsc();
		}
		chacha_block(block);
		size_t k = n < sizeof(block) ? n : sizeof(block);
		memcpy(p, block, k);
		p += k;
		n -= k;
	}
}
