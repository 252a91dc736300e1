/* tests/apps/app_hello.c - guest test app: the smallest program, one line on stdout. */
#include <stdio.h>

int main(void)
{
	printf("hello, world\n");
	return 0;
}
