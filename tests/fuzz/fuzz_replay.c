/* tests/fuzz/fuzz_replay.c - runs a libFuzzer target over files and directories without
 * libFuzzer (gcc builds, `make test`); prints `fuzz-replay: N passed, N failed`. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned passed, failed;

static void run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "fuzz-replay: cannot stat %s\n", path);
		failed++;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char sub[4096];
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			run_path(sub);
		}
		if (d)
			closedir(d);
		return;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 64u << 20, &buf, &len, &err) < 0) {
		fprintf(stderr, "fuzz-replay: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		failed++;
		return;
	}
	LLVMFuzzerTestOneInput(buf, len); /* a crash or sanitizer report ends the run */
	free(buf);
	passed++;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("fuzz-replay: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
