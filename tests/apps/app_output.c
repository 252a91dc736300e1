/* tests/apps/app_output.c - guest test app: stdout and stderr stay separate, and a large stdout (80 KiB, more than a pipe holds, in odd-sized writes) arrives whole and in order. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	fprintf(stdout, "stdout line 1\n");
	fflush(stdout);
	fprintf(stderr, "stderr line 1 (not part of stdout)\n");
	fprintf(stdout, "stdout line 2\n");
	fflush(stdout);

	/* Raw writes of uneven sizes, bypassing stdio buffering. */
	static char block[4099];
	unsigned total = 0, sum = 2166136261u;
	for (int i = 0; total < 80 * 1024; i++) {
		size_t n = 1 + (size_t)(i * 1237) % sizeof(block);
		for (size_t j = 0; j < n; j++) {
			block[j] = (char)('a' + (total + j) % 26);
			if ((total + j) % 64 == 63)
				block[j] = '\n';
			sum = (sum ^ (unsigned char)block[j]) * 16777619u;
		}
		size_t done = 0;
		while (done < n) {
			ssize_t w = write(1, block + done, n - done);
			if (w <= 0)
				return 1;
			done += (size_t)w;
		}
		total += (unsigned)n;
	}
	printf("\nwrote %u bytes, fnv %08x\n", total, sum);
	return 0;
}
