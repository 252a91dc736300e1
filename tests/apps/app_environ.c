/* tests/apps/app_environ.c - guest test app: the environment is exactly what the runner passed (environ_sizes_get, environ_get). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	int n = 0;
	while (environ[n])
		n++;
	/* Sorted, so the test does not depend on the order a runner keeps. */
	qsort(environ, n, sizeof(*environ), cmp);
	printf("environ count=%d\n", n);
	for (int i = 0; i < n; i++)
		printf("env <%s>\n", environ[i]);
	const char *v = getenv("KUMO_TEST_A");
	printf("getenv(KUMO_TEST_A)=%s\n", v ? v : "(null)");
	v = getenv("KUMO_TEST_MISSING");
	printf("getenv(KUMO_TEST_MISSING)=%s\n", v ? v : "(null)");
	return 0;
}
