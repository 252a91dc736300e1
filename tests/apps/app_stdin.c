/* tests/apps/app_stdin.c - guest test app: stdin is empty (fd_read on fd 0 returns 0 bytes). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char buf[256];
	ssize_t total = 0, n;
	while ((n = read(0, buf, sizeof(buf))) > 0)
		total += n;
	printf("read returned %zd, total %zd bytes\n", n, total);
	int c = getchar();
	printf("getchar %s\n", c == EOF ? "EOF" : "data");
	return 0;
}
