/* tests/guest/share_probe.c - a WASI app (wasm32-wasi) for tests/guest/run-share-tests.sh: host directories shared live with the VM over virtio-9p; argv[1] picks the behaviour, the host checks what it prints and what it leaves in the share. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *err(int ok) { return ok ? "ok" : strerror(errno); }

/* The whole file at path into a malloc'd buffer (NUL-terminated); NULL on error. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap + 1);
	for (;;) {
		if (n == cap)
			b = realloc(b, (cap *= 2) + 1);
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			close(fd);
			free(b);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

static int put(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void show(const char *label, const char *path)
{
	char *s = slurp(path, NULL);
	printf("%s: %s", label, s ? s : strerror(errno));
	if (!s)
		printf("\n");
	free(s);
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

/* The entries of dir, sorted, with their types (d, f, l). */
static void list(const char *dir)
{
	char names[64][80];
	int n = 0;
	DIR *d = opendir(dir);
	if (!d) {
		printf("opendir %s: %s\n", dir, strerror(errno));
		return;
	}
	for (struct dirent *e; (e = readdir(d)) && n < 64;) {
		char t = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
		snprintf(names[n++], sizeof(names[0]), "%s %c", e->d_name, t);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	for (int i = 0; i < n; i++)
		printf("%s: %s\n", dir, names[i]);
}

/* Files and directories of a writable share, each change visible on the host. */
static int ops(void)
{
	show("host file", "/data/hello.txt");
	printf("write: %s\n", err(put("/data/from-guest.txt", "written by the guest\n", "w") == 0));
	printf("append: %s\n", err(put("/data/from-guest.txt", "and appended\n", "a") == 0));
	printf("mkdir: %s\n", err(mkdir("/data/made", 0755) == 0));
	printf("mkdir again: %s\n", err(mkdir("/data/made", 0755) == 0));
	printf("write in it: %s\n", err(put("/data/made/tmp.txt", "moved\n", "w") == 0));
	printf("rename: %s\n", err(rename("/data/made/tmp.txt", "/data/made/final.txt") == 0));
	printf("rename over: %s\n", err(put("/data/made/over.txt", "old\n", "w") == 0 &&
					 rename("/data/made/final.txt", "/data/made/over.txt") == 0));
	show("renamed", "/data/made/over.txt");
	struct stat st;
	printf("stat: %s size %lld dir %d\n", err(stat("/data/made/over.txt", &st) == 0),
	       (long long)st.st_size, S_ISDIR(st.st_mode));
	printf("write to remove: %s\n", err(put("/data/made/gone.txt", "x", "w") == 0));
	printf("unlink: %s\n", err(unlink("/data/made/gone.txt") == 0));
	printf("unlink missing: %s\n", err(unlink("/data/made/gone.txt") == 0));
	printf("rmdir non-empty: %s\n", err(rmdir("/data/made") == 0));
	printf("mkdir doomed: %s\n", err(mkdir("/data/doomed", 0755) == 0));
	printf("rmdir: %s\n", err(rmdir("/data/doomed") == 0));
	printf("open missing: %s\n", err(open("/data/nope", O_RDONLY) >= 0));
	printf("exclusive: %s\n", err(open("/data/hello.txt", O_WRONLY | O_CREAT | O_EXCL, 0644) >= 0));
	printf("unlink dir: %s\n", err(unlink("/data/made") == 0));
	/* Seek, truncate, pread on a share file. */
	int fd = open("/data/made/over.txt", O_RDWR);
	char b[16] = {0};
	printf("seek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	printf("truncate: %s\n", err(ftruncate(fd, 3) == 0));
	printf("pread: %s \"%.*s\"\n", err(pread(fd, b, sizeof(b), 1) == 2), 2, b);
	close(fd);
	printf("symlink: %s\n", err(symlink("made/over.txt", "/data/link") == 0));
	char t[64];
	ssize_t n = readlink("/data/link", t, sizeof(t));
	printf("readlink: %.*s\n", (int)(n > 0 ? n : 0), t);
	show("through the link", "/data/link");
	list("/data");
	list("/data/made");
	return 0;
}

/* A read-only share preopened at /ro and a read-only file mount under the writable
 * root: reading works, every change is refused. */
static int readonly(void)
{
	show("ro file", "/ro/file.txt");
	printf("create: %s\n", err(open("/ro/new.txt", O_WRONLY | O_CREAT, 0644) >= 0));
	/* wasi-libc asks only for the rights the preopen passes on: the fd opens without
	 * the right to write, and writing through it fails. */
	int fd = open("/ro/file.txt", O_WRONLY);
	printf("open for writing: %s\n", err(fd >= 0));
	printf("write through it: %s\n", err(fd >= 0 && write(fd, "x", 1) == 1));
	if (fd >= 0)
		close(fd);
	printf("mkdir: %s\n", err(mkdir("/ro/dir", 0755) == 0));
	printf("unlink: %s\n", err(unlink("/ro/file.txt") == 0));
	printf("rename: %s\n", err(rename("/ro/file.txt", "/ro/moved.txt") == 0));
	printf("symlink: %s\n", err(symlink("file.txt", "/ro/l") == 0));
	show("file mount", "/etc/hosts");
	printf("file mount write: %s\n", err(open("/etc/hosts", O_WRONLY) >= 0));
	printf("file mount truncate: %s\n", err(open("/etc/hosts", O_WRONLY | O_TRUNC) >= 0));
	printf("file mount unlink: %s\n", err(unlink("/etc/hosts") == 0));
	printf("file mount sibling: %s\n", err(open("/etc/hosts/../other", O_RDONLY) >= 0));
	/* The writable file mount (a termination message, as kubelet mounts it). */
	printf("termination log: %s\n",
	       err(put("/dev/termination-log", "done: 42 items\n", "w") == 0));
	list("/etc");
	return 0;
}

/* A ConfigMap volume: kubelet swaps the `..data` symlink on the host while we run. */
static int watch(void)
{
	show("before", "/config/key");
	list("/config");
	if (put("/data/ready", "", "w") != 0)
		return perror("ready"), 1;
	struct stat st;
	for (int i = 0; stat("/data/go", &st) != 0; i++) {
		if (i > 3000)
			return printf("no go from the host\n"), 1;
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	show("after", "/config/key");
	show("other", "/config/other");
	return 0;
}

/* Symlinks in the share may not lead out of the preopen. */
static int escape(void)
{
	show("inside", "/data/inside");
	show("into subdir", "/data/sub-link/file.txt");
	printf("dotdot link: %s\n", err(open("/data/up/etc/passwd", O_RDONLY) >= 0));
	printf("absolute link: %s\n", err(open("/data/abs", O_RDONLY) >= 0));
	printf("deep link: %s\n", err(open("/data/deep/passwd", O_RDONLY) >= 0));
	printf("dotdot path: %s\n", err(open("/data/../etc/passwd", O_RDONLY) >= 0));
	printf("make escaping link: %s\n", err(symlink("../../..", "/data/made-up") == 0));
	printf("follow it: %s\n", err(open("/data/made-up/etc/passwd", O_RDONLY) >= 0));
	printf("loop: %s\n", err(open("/data/loop", O_RDONLY) >= 0));
	return 0;
}

/* Shares mounted inside a share: a read-only ConfigMap and a single file under a
 * writable emptyDir preopened at /data. */
static int nested(void)
{
	show("parent file", "/data/file.txt");
	show("nested share", "/data/config/key");
	show("nested file mount", "/data/hosts");
	show("back up", "/data/config/../file.txt");
	printf("write in nested: %s\n", err(put("/data/config/new", "x", "w") == 0));
	printf("write in parent: %s\n", err(put("/data/new.txt", "ok\n", "w") == 0));
	printf("rmdir mount point: %s\n", err(rmdir("/data/config") == 0));
	printf("rename mount point: %s\n", err(rename("/data/config", "/data/moved") == 0));
	printf("mkdir over it: %s\n", err(mkdir("/data/config", 0755) == 0));
	struct stat st;
	printf("stat mount point: %s dir %d\n", err(stat("/data/config", &st) == 0), S_ISDIR(st.st_mode));
	list("/data/config");
	return 0;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* A file larger than msize read and written back whole (one read, one write call). */
static int big(void)
{
	size_t n;
	char *b = slurp("/data/big.bin", &n);
	if (!b)
		return perror("read big.bin"), 1;
	printf("read %zu bytes, fnv1a %016llx\n", n, (unsigned long long)fnv1a((unsigned char *)b, n));
	int fd = open("/data/big.copy", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t w = write(fd, b, n);
	close(fd);
	printf("wrote %zd bytes\n", w);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median of `runs` reads of path (open, read it all, close), microseconds. */
static uint64_t time_read(const char *path, int runs, size_t *size)
{
	uint64_t t[32];
	for (int i = 0; i < runs && i < 32; i++) {
		uint64_t t0 = now_ns();
		char *b = slurp(path, size);
		t[i] = now_ns() - t0;
		if (!b)
			return 0;
		free(b);
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp_u64);
	return t[runs / 2] / 1000;
}

/* Costs on the guest clock: a 1 MiB read from the share and from the in-memory
 * rootfs (today's copy), a small file's open+read+close, a stat. */
static int bench(void)
{
	size_t sz;
	int runs = 9;
	uint64_t share = time_read("/data/1m.bin", runs, &sz);
	printf("share-read-1m-us %llu (%zu bytes, median of %d)\n", (unsigned long long)share, sz, runs);
	uint64_t copy = time_read("/img/1m.bin", runs, &sz);
	printf("copy-read-1m-us %llu (%zu bytes, median of %d)\n", (unsigned long long)copy, sz, runs);
	uint64_t small = time_read("/data/hello.txt", runs, &sz);
	printf("share-open-read-close-small-us %llu\n", (unsigned long long)small);
	uint64_t t[32];
	struct stat st;
	for (int i = 0; i < runs; i++) {
		uint64_t t0 = now_ns();
		stat("/data/hello.txt", &st);
		t[i] = now_ns() - t0;
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp_u64);
	printf("share-stat-us %llu\n", (unsigned long long)(t[runs / 2] / 1000));
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	if (strcmp(cmd, "ops") == 0)
		return ops();
	if (strcmp(cmd, "readonly") == 0)
		return readonly();
	if (strcmp(cmd, "watch") == 0)
		return watch();
	if (strcmp(cmd, "escape") == 0)
		return escape();
	if (strcmp(cmd, "big") == 0)
		return big();
	if (strcmp(cmd, "nested") == 0)
		return nested();
	if (strcmp(cmd, "bench") == 0)
		return bench();
	printf("usage: share_probe ops|readonly|watch|escape|big|nested|bench\n");
	return 2;
}
