/* vmm/tsc.c - the host's TSC rate for TCG guests (kernel/boot_abi.h kumo.tsc_khz): QEMU's
 * TCG guest reads the host's TSC, so a rate the host knows spares every guest its PIT
 * calibration (~2 ms of boot). Measured against CLOCK_MONOTONIC_RAW between a
 * connection's open and a moment at least VMM_TSC_WINDOW_MS later, then cached for the
 * host's boot, so one process measures and the later ones read. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "vmm_backend.h"

#define VMM_TSC_WINDOW_MS 20 /* two marks this far apart: ~10 ppm (PIT: ~300 ppm) */
#define PAIR_MAX_NS 2000     /* a mark whose clock read took longer was preempted */

static uint64_t raw_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vmm_tsc_mark(struct vmm_tsc_mark *m)
{
	/* The TSC read on both sides of the clock's, so a pair the scheduler split is seen
	 * and taken again. */
	for (int tries = 0; tries < 16; tries++) {
		uint64_t t0 = __rdtsc();
		uint64_t ns = raw_ns();
		uint64_t t1 = __rdtsc();
		m->tsc = t0 + (t1 - t0) / 2;
		m->ns = ns;
		uint64_t ns1 = raw_ns();
		if (ns1 - ns < PAIR_MAX_NS)
			return;
	}
}

/* The cache file for this host boot (malloc'd), NULL without a boot id. */
static char *cache_path(const char *dir)
{
	char id[64] = {0};
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f)
		return NULL;
	bool ok = fgets(id, sizeof(id), f) != NULL;
	fclose(f);
	id[strcspn(id, "\r\n")] = 0;
	return ok && *id ? xasprintf("%s/tsc-%s", dir, id) : NULL;
}

/* Whether the TSC ticks at one rate whatever the CPU does (constant_tsc, nonstop_tsc). */
static bool tsc_is_constant(void)
{
	autofree uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file("/proc/cpuinfo", 1 << 22, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return false;
	}
	buf[len ? len - 1 : 0] = 0;
	char *flags = strstr((char *)buf, "\nflags");
	char *eol = flags ? strchr(flags + 1, '\n') : NULL;
	if (eol)
		*eol = 0;
	return flags && strstr(flags, " constant_tsc") && strstr(flags, " nonstop_tsc");
}

uint32_t vmm_tsc_khz(const struct vmm_tsc_mark *since, const char *cache_dir)
{
	autofree char *path = cache_path(cache_dir);
	if (!path)
		return 0;
	char text[32] = {0};
	FILE *f = fopen(path, "r");
	if (f) {
		bool ok = fgets(text, sizeof(text), f) != NULL;
		fclose(f);
		unsigned long khz = ok ? strtoul(text, NULL, 10) : 0;
		if (ok)
			return (uint32_t)khz; /* 0: measured once, not usable here */
	}
	if (!since || !since->ns)
		return 0;
	struct vmm_tsc_mark now;
	vmm_tsc_mark(&now);
	if (now.ns < since->ns + VMM_TSC_WINDOW_MS * 1000000ull || now.tsc <= since->tsc)
		return 0; /* too soon: a later call measures */
	uint64_t khz = tsc_is_constant() ? (uint64_t)((unsigned __int128)(now.tsc - since->tsc) *
						       1000000ull / (now.ns - since->ns))
					 : 0;
	if (khz > 20000000)
		khz = 0;
	int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)khz);
	kumo_error_t err = NULL;
	if (kumo_write_file_replace(path, text, (size_t)n, 0644, &err) < 0) {
		log_debug("vmm: tsc rate not cached: %s", kumo_error_msg(err));
		kumo_error_free(&err);
	}
	return (uint32_t)khz;
}
