/* tests/unit/test_lazylib.c - common/lazylib: a library linked lazily is not loaded until
 * its first call; that first call (the resolver's path) and the later ones (the filled
 * slot's) get every argument right: six integers, eight doubles, a variadic call (al),
 * arguments on the stack, a mix; first calls from several threads at once load it once;
 * a library that cannot be loaded ends the process with 127, naming it. Every first
 * call runs in a child of its own, so each starts from an unloaded library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>

#include "common.h"

/* tests/support/lazylib_fixture.c, through stubs (liblazyfix.so, liblazygone.so). */
long lazyfix_sum6(long a, long b, long c, long d, long e, long f);
double lazyfix_fsum8(double a, double b, double c, double d, double e, double f, double g,
		     double h);
double lazyfix_vsum(int n, ...);
long lazyfix_stack(long a, long b, long c, long d, long e, long f, long g, long h);
long lazyfix_mix(long a, double x, long b, double y);
int lazygone_answer(void);

static bool loaded(void)
{
	void *h = dlopen("liblazyfix.so", RTLD_NOW | RTLD_NOLOAD);
	if (h)
		dlclose(h);
	return h != NULL;
}

/* Each check returns 0 when the calls came out right (a child's exit status). */
static int sum6(void)
{
	return lazyfix_sum6(1, 2, 3, 4, 5, 6) == 91 && lazyfix_sum6(6, 5, 4, 3, 2, 1) == 56 ? 0 : 1;
}

static int fsum8(void)
{
	return lazyfix_fsum8(1, 2, 3, 4, 5, 6, 7, 8) == 204.0 &&
	       lazyfix_fsum8(0.5, 0, 0, 0, 0, 0, 0, 1) == 8.5 ? 0 : 1;
}

static int vsum(void)
{
	/* Eight doubles in xmm0-7 (al = 8), then ten: two of them on the stack. */
	return lazyfix_vsum(8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0) == 36.0 &&
	       lazyfix_vsum(10, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0) == 65.0 &&
	       lazyfix_vsum(0) == 0.0 ? 0 : 1;
}

static int stack(void)
{
	return lazyfix_stack(1, 1, 1, 1, 1, 1, 1, 2) == 44 &&
	       lazyfix_stack(8, 7, 6, 5, 4, 3, 2, 1) == 120 ? 0 : 1;
}

static int mix(void)
{
	return lazyfix_mix(3, 0.25, 4, 7.0) == 3072 ? 0 : 1;
}

static int (*const checks[])(void) = {sum6, fsum8, vsum, stack, mix};

/* Runs fn in a child that starts with the library unloaded; its status. */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		if (loaded())
			_exit(10);
		int rc = fn();
		_exit(rc ? rc : loaded() ? 0 : 11);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* Each pattern as the very first call (through the resolver), then again. */
static void first_calls_keep_arguments(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		assert_int_equal(in_child(checks[i]), 0);
}

static pthread_barrier_t start;

static void *racer(void *arg)
{
	int (*fn)(void) = checks[(size_t)arg % (sizeof(checks) / sizeof(checks[0]))];
	pthread_barrier_wait(&start);
	return (void *)(intptr_t)fn();
}

/* Eight threads make their first calls at once. */
static int racing_first_calls(void)
{
	enum { N = 8 };
	pthread_t t[N];
	pthread_barrier_init(&start, NULL, N);
	for (size_t i = 0; i < N; i++)
		if (pthread_create(&t[i], NULL, racer, (void *)i) != 0)
			return 20;
	int bad = 0;
	for (size_t i = 0; i < N; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad |= r != NULL;
	}
	return bad;
}

static void threads_load_once(void **state)
{
	(void)state;
	assert_int_equal(in_child(racing_first_calls), 0);
}

/* In this process too: all patterns, twice (the filled slots). */
static void later_calls(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
			assert_int_equal(checks[i](), 0);
	assert_true(loaded());
}

/* liblazygone.so is nowhere dlopen looks: the first call ends the process. */
static void missing_library(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		_exit(lazygone_answer() == 42 ? 0 : 1);
	}
	close(p[1]);
	char buf[512] = {0};
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 127);
	assert_non_null(strstr(buf, "kumo: cannot load `liblazygone.so` for `lazygone_answer`: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_calls_keep_arguments),
		cmocka_unit_test(threads_load_once),
		cmocka_unit_test(later_calls),
		cmocka_unit_test(missing_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
