/* tests/apps/app_counter.c - snapshot test app: counts from 1 to N (argv[1], default 0:
 * forever), one line "count K sum S ok" per step, sleeping argv[2] ms (default 50)
 * between steps, and keeps a running sum in linear memory so a restored VM must carry its
 * memory to go on ("sum S" is checked against K*(K+1)/2 on every line). With argv[3], a
 * file opened once (created, truncated) gets every line too through that one fd: a
 * restored pod must give the fd back open at its offset (a write that fails prints
 * "write K: ERROR" and exits 1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long long sum; /* lives in linear memory */

int main(int argc, char **argv)
{
	unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
	long ms = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	setvbuf(stdout, NULL, _IOLBF, 0);
	int fd = -1;
	if (argc > 3 && (fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		printf("open %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	for (unsigned long long k = 1; n == 0 || k <= n; k++) {
		sum += k;
		int ok = sum == k * (k + 1) / 2;
		char line[96];
		int len = snprintf(line, sizeof(line), "count %llu sum %llu %s\n", k,
				   (unsigned long long)sum, ok ? "ok" : "BAD");
		fputs(line, stdout);
		if (fd >= 0 && write(fd, line, (size_t)len) != len) {
			printf("write %llu: %s\n", k, strerror(errno));
			return 1;
		}
		if (!ok)
			return 1;
		if (ms > 0)
			nanosleep(&ts, NULL);
	}
	return 0;
}
