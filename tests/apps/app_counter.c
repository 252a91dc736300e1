/* tests/apps/app_counter.c - snapshot test app: counts from 1 to N (argv[1], default 0:
 * forever), one line "count K" per step, sleeping argv[2] ms (default 50) between steps,
 * and keeps a running sum in linear memory so a restored VM must carry its memory to go
 * on ("sum S" is checked against K*(K+1)/2 on every line). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long long sum; /* lives in linear memory */

int main(int argc, char **argv)
{
	unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
	long ms = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned long long k = 1; n == 0 || k <= n; k++) {
		sum += k;
		int ok = sum == k * (k + 1) / 2;
		printf("count %llu sum %llu %s\n", k, (unsigned long long)sum, ok ? "ok" : "BAD");
		if (!ok)
			return 1;
		if (ms > 0)
			nanosleep(&ts, NULL);
	}
	return 0;
}
