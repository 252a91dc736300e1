/* tests/support/lazylib_fixture.c - a shared library that test_lazylib links lazily
 * (common/lazylib.h): functions that take their arguments in every register the stubs
 * must keep (integer, vector, a variadic call's al) and on the stack. Built twice: as
 * liblazyfix.so (found at run time) and liblazygone.so (LAZYLIB_GONE: removed before
 * the test runs, the load failure). */
#include <stdarg.h>

#ifdef LAZYLIB_GONE
int lazygone_answer(void);
int lazygone_answer(void)
{
	return 42;
}
#else
long lazyfix_sum6(long a, long b, long c, long d, long e, long f);
double lazyfix_fsum8(double a, double b, double c, double d, double e, double f, double g,
		     double h);
double lazyfix_vsum(int n, ...);
long lazyfix_stack(long a, long b, long c, long d, long e, long f, long g, long h);
long lazyfix_mix(long a, double x, long b, double y);

/* Weights keep a swapped pair of arguments from adding up the same. */
long lazyfix_sum6(long a, long b, long c, long d, long e, long f)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

double lazyfix_fsum8(double a, double b, double c, double d, double e, double f, double g,
		     double h)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

double lazyfix_vsum(int n, ...)
{
	va_list ap;
	va_start(ap, n);
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (i + 1) * va_arg(ap, double);
	va_end(ap);
	return s;
}

long lazyfix_stack(long a, long b, long c, long d, long e, long f, long g, long h)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

long lazyfix_mix(long a, double x, long b, double y)
{
	return a * 1000 + (long)(x * 100) + b * 10 + (long)y;
}
#endif
