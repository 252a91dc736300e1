/* tests/apps/app_trap.c - guest test app: argv[1] selects which Wasm trap to raise; each must end the app with that trap. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* volatile: keeps the optimiser from seeing the values, so each trap comes from the
 * Wasm instruction that defines it, not from code clang folded into `unreachable`. */
static volatile int32_t zero = 0, minus_one = -1, int_min = INT32_MIN;
static volatile double nan_value = __builtin_nan(""), big_value = 1e300;
static volatile uint32_t far_address = 0xfffffff0u;
static volatile uintptr_t table_index_far = 100000, table_index_null = 0;
static volatile int32_t sink;

static int32_t two_args(int32_t a, int32_t b)
{
	return a + b;
}
typedef int32_t (*two_args_fn)(int32_t, int32_t);
typedef double (*one_double_fn)(double);
static two_args_fn volatile two_args_ptr = two_args;

/* Not a tail call and nothing in linear memory: each level is a native frame only. */
__attribute__((noinline)) static int32_t recurse(int32_t n)
{
	if (n == 0)
		return 0;
	int32_t r = recurse(n - 1);
	return r + sink;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	printf("raising %s\n", what);
	fflush(stdout);
	if (strcmp(what, "unreachable") == 0) {
		__builtin_trap();
	} else if (strcmp(what, "div-zero") == 0) {
		sink = 7 / zero;
	} else if (strcmp(what, "rem-zero") == 0) {
		sink = 7 % zero;
	} else if (strcmp(what, "overflow") == 0) {
		sink = int_min / minus_one;
	} else if (strcmp(what, "conversion-nan") == 0) {
#ifdef __wasm__
		sink = __builtin_wasm_trunc_s_i32_f64(nan_value);
#endif
	} else if (strcmp(what, "conversion-range") == 0) {
#ifdef __wasm__
		sink = __builtin_wasm_trunc_s_i32_f64(big_value);
#endif
	} else if (strcmp(what, "oob") == 0) {
		sink = *(volatile int32_t *)(uintptr_t)far_address;
	} else if (strcmp(what, "indirect-mismatch") == 0) {
		one_double_fn f = (one_double_fn)(void *)two_args_ptr;
		sink = (int32_t)f(1.0);
	} else if (strcmp(what, "undefined-element") == 0) {
		two_args_fn f = (two_args_fn)table_index_far;
		sink = f(1, 2);
	} else if (strcmp(what, "uninitialized-element") == 0) {
		two_args_fn f = (two_args_fn)table_index_null;
		sink = f(1, 2);
	} else if (strcmp(what, "stack-exhausted") == 0) {
		sink = recurse(1000000000);
	} else {
		printf("unknown trap `%s`\n", what);
		return 2;
	}
	printf("still running after %s\n", what);
	return 0;
}
