/* tests/apps/app_ticker.c - guest test app and fault-test workload: prints COUNT numbered
 * lines ("tick N of COUNT"), one write each, INTERVAL_MS apart, then exits 0. Whoever
 * reads its log can tell a lost line from a doubled one. usage: ticker [COUNT [INTERVAL_MS]]
 * (defaults 150 and 100). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long count = argc > 1 ? strtol(argv[1], NULL, 10) : 150;
	long interval_ms = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
	if (count < 0 || interval_ms < 0) {
		fprintf(stderr, "ticker: COUNT and INTERVAL_MS must not be negative\n");
		return 2;
	}
	for (long i = 1; i <= count; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "tick %ld of %ld\n", i, count);
		if (write(1, line, (size_t)n) != n)
			return 1;
		if (interval_ms && i < count) {
			struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}
