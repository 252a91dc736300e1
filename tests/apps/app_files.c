/* tests/apps/app_files.c - guest test app: files under the preopened dir /sandbox (open, read, write, seek, pread/pwrite, append, truncate, stat). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_errname.h"

/* The preopened guest directory; native builds for cross-checking pass -DSANDBOX=... */
#ifndef SANDBOX
#define SANDBOX "/sandbox"
#endif
#define DIR SANDBOX

/* The path as the app shows it: relative to the sandbox, so output is runner-independent. */
static const char *rel(const char *path)
{
	return path + sizeof(SANDBOX) - 1;
}

static void show(const char *path)
{
	char buf[128];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("open %s: %s\n", rel(path), errname(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = 0;
	printf("content of %s (%zd bytes): <%s>\n", rel(path), n, buf);
	close(fd);
}

int main(void)
{
	struct stat st;

	/* A file the runner put there. */
	show(DIR "/input.txt");
	if (stat(DIR "/input.txt", &st) == 0)
		printf("input.txt: size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
	if (stat(DIR, &st) == 0)
		printf("sandbox: directory=%d\n", S_ISDIR(st.st_mode));

	/* Write, seek, overwrite. */
	int fd = open(DIR "/out.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		printf("create out.txt: %s\n", errname(errno));
		return 1;
	}
	printf("write: %zd\n", write(fd, "0123456789", 10));
	printf("lseek SET 2: %lld\n", (long long)lseek(fd, 2, SEEK_SET));
	printf("write: %zd\n", write(fd, "AB", 2));
	printf("lseek END 0: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	printf("lseek CUR -3: %lld\n", (long long)lseek(fd, -3, SEEK_CUR));
	printf("write: %zd\n", write(fd, "Z", 1));
	printf("lseek CUR 0: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
	errno = 0;
	long long off = lseek(fd, -1, SEEK_SET);
	printf("lseek SET -1: %lld %s\n", off, errname(errno));
	if (fstat(fd, &st) == 0)
		printf("fstat: size=%lld regular=%d mtime_nonzero=%d\n", (long long)st.st_size,
		       S_ISREG(st.st_mode), st.st_mtim.tv_sec != 0);
	char c;
	printf("read on write-only fd: %s\n", read(fd, &c, 1) < 0 ? "fails" : "SUCCEEDS");
	close(fd);
	show(DIR "/out.txt");

	/* Append mode writes at the end whatever the offset. */
	fd = open(DIR "/out.txt", O_WRONLY | O_APPEND);
	lseek(fd, 0, SEEK_SET);
	printf("append write: %zd\n", write(fd, "++", 2));
	close(fd);
	show(DIR "/out.txt");

	/* Positional I/O leaves the offset alone. */
	fd = open(DIR "/out.txt", O_RDWR);
	char buf[16] = {0};
	printf("pwrite at 0: %zd\n", pwrite(fd, "x", 1, 0));
	printf("pread 3 at 5: %zd <%.3s>\n", pread(fd, buf, 3, 5), buf);
	printf("offset after p-io: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
	memset(buf, 0, sizeof(buf));
	printf("read 4: %zd <%s>\n", read(fd, buf, 4), buf);
	printf("ftruncate 4: %d\n", ftruncate(fd, 4));
	if (fstat(fd, &st) == 0)
		printf("size after truncate: %lld\n", (long long)st.st_size);
	printf("ftruncate 6 (grow): %d\n", ftruncate(fd, 6));
	memset(buf, 0x55, sizeof(buf));
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	printf("pread all: %zd, bytes 4,5 zero=%d\n", n, n == 6 && buf[4] == 0 && buf[5] == 0);
	printf("read at EOF: %zd\n", (lseek(fd, 0, SEEK_END), read(fd, buf, 1)));
	close(fd);

	/* A larger file, written and read in chunks. */
	fd = open(DIR "/big.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
	unsigned char block[4096];
	unsigned sum = 2166136261u;
	for (int i = 0; i < 64; i++) {
		for (int j = 0; j < (int)sizeof(block); j++)
			block[j] = (unsigned char)(i * 7 + j);
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			printf("short write at block %d\n", i);
	}
	lseek(fd, 0, SEEK_SET);
	size_t total = 0;
	while ((n = read(fd, block, 1000)) > 0) {
		for (ssize_t j = 0; j < n; j++)
			sum = (sum ^ block[j]) * 16777619u; /* FNV-1a */
		total += (size_t)n;
	}
	close(fd);
	printf("big.bin: %zu bytes, checksum %08x\n", total, sum);

	/* Errors. */
	errno = 0;
	fd = open(DIR "/missing.txt", O_RDONLY);
	printf("open missing: %d %s\n", fd, errname(errno));
	errno = 0;
	fd = open(DIR "/out.txt", O_CREAT | O_EXCL | O_WRONLY, 0644);
	printf("O_EXCL on existing: %d %s\n", fd, errname(errno));
	errno = 0;
	fd = open(DIR "/out.txt/x", O_RDONLY);
	printf("open file as directory: %d %s\n", fd, errname(errno));
	errno = 0;
	n = read(77, buf, 1);
	printf("read bad fd: %zd %s\n", n, errname(errno));
	printf("escape via ..: %s\n", open(DIR "/../../etc/passwd", O_RDONLY) < 0 ? "refused" : "OPENED");
	printf("outside any preopen: %s\n", open("/etc/passwd", O_RDONLY) < 0 ? "refused" : "OPENED");
	return 0;
}
