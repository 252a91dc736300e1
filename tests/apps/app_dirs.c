/* tests/apps/app_dirs.c - guest test app: directories under /sandbox (mkdir, readdir, rename, unlink, rmdir). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_errname.h"

/* The preopened guest directory; native builds for cross-checking pass -DSANDBOX=... */
#ifndef SANDBOX
#define SANDBOX "/sandbox"
#endif
#define D SANDBOX

/* The path as the app shows it: relative to the sandbox, so output is runner-independent. */
static const char *rel(const char *path)
{
	return path[sizeof(SANDBOX) - 1] ? path + sizeof(SANDBOX) - 1 : "/";
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the entries of path (without . and ..), sorted: readdir order is unspecified. */
static void list(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		printf("opendir %s: %s\n", rel(path), errname(errno));
		return;
	}
	char *names[256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 256) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t len = strlen(e->d_name) + 3;
		names[n] = malloc(len);
		snprintf(names[n], len, "%s%s", e->d_name, e->d_type == DT_DIR ? "/" : "");
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	printf("%s:", rel(path));
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf(" (%d)\n", n);
}

static void touch(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		printf("create %s: %s\n", rel(path), errname(errno));
		return;
	}
	write(fd, text, strlen(text));
	close(fd);
}

#define TRY(call) do { errno = 0; int r_ = (call); printf("%s: %d %s\n", #call, r_, errname(r_ ? errno : 0)); } while (0)

int main(void)
{
	list(D);
	TRY(mkdir(D "/d", 0755));
	TRY(mkdir(D "/d", 0755));
	TRY(mkdir(D "/nope/x", 0755));
	touch(D "/d/a", "file a");
	touch(D "/d/b", "file b");
	TRY(mkdir(D "/d/sub", 0755));
	list(D "/d");

	struct stat st;
	TRY(stat(D "/d/sub", &st));
	printf("d/sub is a directory: %d\n", S_ISDIR(st.st_mode));

	TRY(rename(D "/d/a", D "/d/c"));
	TRY(rename(D "/d/a", D "/d/e"));
	list(D "/d");
	/* rename onto an existing file replaces it */
	TRY(rename(D "/d/c", D "/d/b"));
	list(D "/d");
	int fd = open(D "/d/b", O_RDONLY);
	char buf[32] = {0};
	read(fd, buf, sizeof(buf) - 1);
	close(fd);
	printf("d/b now holds <%s>\n", buf);
	/* rename a directory, with content */
	touch(D "/d/sub/inner", "x");
	TRY(rename(D "/d/sub", D "/d/sub2"));
	list(D "/d/sub2");

	TRY(rmdir(D "/d"));
	TRY(rmdir(D "/d/b"));
	TRY(unlink(D "/d/missing"));
	TRY(unlink(D "/d/b"));
	TRY(unlink(D "/d/sub2/inner"));
	TRY(rmdir(D "/d/sub2"));
	list(D "/d");
	TRY(rmdir(D "/d"));
	TRY(stat(D "/d", &st));

	/* Many entries: readdir must go through several fd_readdir buffers. */
	TRY(mkdir(D "/many", 0755));
	char path[64];
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), D "/many/entry-with-a-longish-name-%03d", i);
		touch(path, "");
	}
	DIR *d = opendir(D "/many");
	int count = 0, sum = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		int k;
		if (sscanf(e->d_name, "entry-with-a-longish-name-%d", &k) == 1) {
			count++;
			sum += k;
		}
	}
	closedir(d);
	printf("many: %d entries, index sum %d\n", count, sum);
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), D "/many/entry-with-a-longish-name-%03d", i);
		if (unlink(path) != 0)
			printf("unlink %s: %s\n", rel(path), errname(errno));
	}
	TRY(rmdir(D "/many"));
	list(D);
	return 0;
}
