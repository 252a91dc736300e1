/* tests/fuzz/fuzz_replay_main.h - a replay main for imagestore's fuzz targets (gcc builds, `make
 * test`): runs LLVMFuzzerTestOneInput over files and directories, then over simple mutations of
 * each (truncations and byte flips), and prints `NAME: N passed, N failed`. */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

static unsigned replay_passed, replay_failed;

static void replay_one(const uint8_t *d, size_t n)
{
	LLVMFuzzerTestOneInput(d, n); /* a crash is the failure */
	/* Cheap deterministic mutations: every prefix length step and a flipped byte. */
	uint8_t *m = xmalloc(n ? n : 1);
	for (size_t cut = 0; cut < n; cut += 1 + n / 16)
		LLVMFuzzerTestOneInput(d, cut);
	for (size_t i = 0; i < n; i += 1 + n / 32) {
		memcpy(m, d, n);
		m[i] ^= 0x5a;
		LLVMFuzzerTestOneInput(m, n);
	}
	free(m);
	replay_passed++;
}

static void replay_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: cannot stat `%s`\n", path);
		replay_failed++;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		struct dirent *e;
		while (dir && (e = readdir(dir))) {
			if (e->d_name[0] == '.')
				continue;
			char *sub = xasprintf("%s/%s", path, e->d_name);
			replay_path(sub);
			free(sub);
		}
		if (dir)
			closedir(dir);
		return;
	}
	uint8_t *buf;
	size_t len;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 1 << 24, &buf, &len, &err) < 0) {
		fprintf(stderr, "replay: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		replay_failed++;
		return;
	}
	replay_one(buf, len);
	free(buf);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	printf("%s: %u passed, %u failed\n", name, replay_passed, replay_failed);
	return replay_failed ? 1 : 0;
}
