/* tests/guest/wasm_probe.c - a WASI app (wasm32-wasi) the guest tests compile with kumo and boot in the unikernel: argv[1] picks the behaviour. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Native-stack recursion: no address-taken locals, so nothing lands on the shadow
 * stack in linear memory; the store after the call keeps it a real recursion. */
static volatile int sink;
__attribute__((noinline)) static int depth(int n)
{
	sink = n;
	int r = n > 1000000000 ? 0 : depth(n + 1);
	sink = r;
	return r + n;
}

static int files(void)
{
	char buf[128] = {0};
	FILE *f = fopen("/data/in.txt", "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		return perror("read /data/in.txt"), 1;
	fclose(f);
	printf("read: %s", buf);
	if (mkdir("/data/sub", 0755) != 0)
		return perror("mkdir"), 1;
	f = fopen("/data/sub/out.txt", "w");
	fprintf(f, "line %d\n", 1);
	fclose(f);
	f = fopen("/data/sub/out.txt", "a");
	fprintf(f, "line %d\n", 2);
	fclose(f);
	if (rename("/data/sub/out.txt", "/data/sub/moved.txt") != 0)
		return perror("rename"), 1;
	struct stat st;
	stat("/data/sub/moved.txt", &st);
	printf("moved size %lld\n", (long long)st.st_size);
	f = fopen("/data/sub/moved.txt", "r");
	while (fgets(buf, sizeof(buf), f))
		printf("moved: %s", buf);
	fclose(f);
	printf("open missing: %s\n", fopen("/data/nope", "r") ? "found" : strerror(errno));
	printf("rmdir non-empty: %s\n", rmdir("/data/sub") == 0 ? "removed" : strerror(errno));
	unlink("/data/sub/moved.txt");
	printf("rmdir empty: %s\n", rmdir("/data/sub") == 0 ? "removed" : strerror(errno));
	printf("escape: %s\n", fopen("/data/../etc/x", "r") ? "opened" : strerror(errno));
	/* Directory listing, sorted so the order is the platform's business. */
	char names[16][64];
	int n = 0;
	DIR *d = opendir("/data");
	for (struct dirent *e; d && (e = readdir(d)) && n < 16;)
		snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char t[64];
				strcpy(t, names[i]);
				strcpy(names[i], names[j]);
				strcpy(names[j], t);
			}
	for (int i = 0; i < n; i++)
		printf("entry %s\n", names[i]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "hello";
	if (!strcmp(cmd, "hello")) {
		printf("hello from wasm\n");
		return 0;
	}
	if (!strcmp(cmd, "args")) {
		for (int i = 0; i < argc; i++)
			printf("argv[%d] %s\n", i, argv[i]);
		extern char **environ;
		for (char **e = environ; *e; e++)
			printf("env %s\n", *e);
		fprintf(stderr, "err line\n");
		return 0;
	}
	if (!strcmp(cmd, "exit"))
		exit(atoi(argv[2]));
	if (!strcmp(cmd, "files"))
		return files();
	if (!strcmp(cmd, "sleep")) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &b);
		long long ns = (b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec);
		printf("slept at least 50 ms: %s\n", ns >= 50000000 ? "yes" : "no");
		time_t now = time(NULL);
		printf("realtime after 2020: %s\n", now > 1577836800 ? "yes" : "no");
		unsigned char r[16] = {0}, z[16] = {0};
		getentropy(r, sizeof(r));
		printf("random nonzero: %s\n", memcmp(r, z, 16) ? "yes" : "no");
		return 0;
	}
	if (!strcmp(cmd, "oob")) {
		volatile int *p = (volatile int *)(uintptr_t)0xfffffff0u;
		return *p;
	}
	if (!strcmp(cmd, "stack"))
		return depth(0);
	if (!strcmp(cmd, "grow")) {
		/* Grow the heap until memory.grow refuses; the app sees NULL, not a crash. */
		size_t total = 0;
		for (;;) {
			volatile char *p = malloc(1 << 20);
			if (!p)
				break;
			p[0] = 1; /* used, so the allocation cannot be optimized away */
			total += 1 << 20;
		}
		printf("grew until refused: %s\n", total >= (8u << 20) ? "yes" : "no");
		return 0;
	}
	if (!strcmp(cmd, "unreachable"))
		__builtin_trap();
	fprintf(stderr, "unknown command %s\n", cmd);
	return 2;
}
