/* tests/apps/app_podtool.c - guest test app: what a pod's container does, step by step
 * from its arguments, for the kubelet tier (tests/e2e/kubelet.sh) and the app cases:
 *   print TEXT          TEXT and a newline on stdout
 *   eprint TEXT         TEXT and a newline on stderr
 *   repeat N TEXT       N lines "TEXT 1" .. "TEXT N" on stdout
 *   cat PATH            the file's bytes on stdout (an error line when it cannot)
 *   ls DIR              the directory's entries, sorted, one per line ("l NAME -> T"
 *                       for a symlink, "d NAME" for a directory, "f NAME" otherwise)
 *   write PATH TEXT     writes TEXT (no newline) to PATH, truncating it
 *   env PREFIX          the environment variables starting with PREFIX, sorted
 *   sleep MS            sleeps MS milliseconds
 *   watch PATH N MS     reads PATH every MS milliseconds and prints "seen: TEXT" (its
 *                       bytes, newlines as spaces, or the error) whenever that differs
 *                       from the last line printed, until it printed N lines
 *   readbench PATH N    reads the whole file N times (open, read in 64 KiB chunks,
 *                       close) and prints its size and the median, minimum and maximum
 *                       time of one read in microseconds (the app's monotonic clock)
 *   copy                copies stdin to stdout until end-of-file (each read written at
 *                       once)
 *   test PATH           exits 1 when PATH does not exist (an exec probe's check)
 *   exit N              exits with status N
 * Unknown steps exit 2. Paths are what the app sees (a pod's mounts, /sandbox in the app
 * cases). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_errname.h"

extern char **environ;

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cat(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("cat %s: %s\n", path, errname(errno));
		return;
	}
	char buf[4096];
	ssize_t n;
	fflush(stdout);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	if (n < 0)
		printf("read %s: %s\n", path, errname(errno));
	close(fd);
}

static void ls(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		printf("ls %s: %s\n", dir, errname(errno));
		return;
	}
	char *names[256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 256)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp);
	for (int i = 0; i < n; i++) {
		char path[1024], target[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		struct stat st;
		if (lstat(path, &st) < 0) {
			printf("? %s: %s\n", names[i], errname(errno));
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t t = readlink(path, target, sizeof(target) - 1);
			target[t < 0 ? 0 : t] = 0;
			printf("l %s -> %s\n", names[i], target);
		} else {
			printf("%c %s\n", S_ISDIR(st.st_mode) ? 'd' : 'f', names[i]);
		}
		free(names[i]);
	}
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		printf("write %s: %s\n", path, errname(errno));
		return;
	}
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		printf("write %s: %s\n", path, errname(errno));
	close(fd);
}

/* The file's bytes (at most cap - 1, newlines as spaces), or the error. */
static void snapshot(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(out, cap, "%s: %s", path, errname(errno));
		return;
	}
	ssize_t n = read(fd, out, cap - 1);
	if (n < 0) {
		snprintf(out, cap, "read %s: %s", path, errname(errno));
		n = (ssize_t)strlen(out);
	}
	out[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == '\n')
			out[i] = ' ';
	close(fd);
}

static void watch(const char *path, long n, long ms)
{
	char last[512] = "", now[512];
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	for (long printed = 0; printed < n;) {
		snapshot(path, now, sizeof(now));
		if (printed == 0 || strcmp(now, last) != 0) {
			printf("seen: %s\n", now);
			fflush(stdout);
			strcpy(last, now);
			printed++;
		}
		if (printed < n)
			nanosleep(&ts, NULL);
	}
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void readbench(const char *path, long n)
{
	static char buf[65536];
	if (n < 1 || n > 1000)
		n = 1;
	int64_t *t = malloc(sizeof(*t) * (size_t)n);
	long long size = 0;
	for (long i = 0; i < n; i++) {
		int64_t t0 = now_us();
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			printf("readbench %s: %s\n", path, errname(errno));
			free(t);
			return;
		}
		ssize_t r;
		size = 0;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			size += r;
		close(fd);
		t[i] = now_us() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_i64);
	printf("readbench %s: %lld bytes, median %lld us, min %lld us, max %lld us, %ld reads\n",
	       path, size, (long long)t[n / 2], (long long)t[0], (long long)t[n - 1], n);
	free(t);
}

static void env(const char *prefix)
{
	int n = 0;
	while (environ[n])
		n++;
	char **v = malloc(sizeof(char *) * (size_t)(n + 1));
	int k = 0;
	for (int i = 0; i < n; i++)
		if (strncmp(environ[i], prefix, strlen(prefix)) == 0)
			v[k++] = environ[i];
	qsort(v, (size_t)k, sizeof(*v), cmp);
	for (int i = 0; i < k; i++)
		printf("%s\n", v[i]);
	free(v);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *op = argv[i];
		const char *a = i + 1 < argc ? argv[i + 1] : NULL;
		const char *b = i + 2 < argc ? argv[i + 2] : NULL;
		if (strcmp(op, "print") == 0 && a) {
			printf("%s\n", a);
			i++;
		} else if (strcmp(op, "eprint") == 0 && a) {
			fflush(stdout);
			fprintf(stderr, "%s\n", a);
			i++;
		} else if (strcmp(op, "repeat") == 0 && a && b) {
			for (long k = 1; k <= atol(a); k++)
				printf("%s %ld\n", b, k);
			i += 2;
		} else if (strcmp(op, "cat") == 0 && a) {
			cat(a);
			i++;
		} else if (strcmp(op, "ls") == 0 && a) {
			ls(a);
			i++;
		} else if (strcmp(op, "write") == 0 && a && b) {
			write_file(a, b);
			i += 2;
		} else if (strcmp(op, "env") == 0 && a) {
			env(a);
			i++;
		} else if (strcmp(op, "sleep") == 0 && a) {
			fflush(stdout);
			long ms = atol(a);
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
			i++;
		} else if (strcmp(op, "watch") == 0 && a && b && i + 3 < argc) {
			watch(a, atol(b), atol(argv[i + 3]));
			i += 3;
		} else if (strcmp(op, "readbench") == 0 && a && b) {
			readbench(a, atol(b));
			i += 2;
		} else if (strcmp(op, "test") == 0 && a) {
			struct stat st;
			if (stat(a, &st) < 0) {
				printf("test %s: %s\n", a, errname(errno));
				return 1;
			}
			i++;
		} else if (strcmp(op, "copy") == 0) {
			char buf[4096];
			ssize_t n;
			fflush(stdout);
			while ((n = read(0, buf, sizeof(buf))) > 0)
				if (write(1, buf, (size_t)n) != n)
					return 1;
		} else if (strcmp(op, "exit") == 0 && a) {
			fflush(stdout);
			return atoi(a);
		} else {
			printf("podtool: unknown step `%s`\n", op);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
