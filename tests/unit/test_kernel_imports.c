/* tests/unit/test_kernel_imports.c - the WASI import list kernel/kernel.h gives the builder and kernel/wasi's resolver: complete preview1 plus the WasmEdge socket extension, named as the compiler names imports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/wasi/wasi.h"

struct imp {
	int len;
	const char *field;
	const char *sig;
};
#define ENTRY(len, field, sig) { len, #field, #sig },
static const struct imp kernel_imports[] = { KUMO_KERNEL_WASI_IMPORTS(ENTRY) };
#define NIMPORTS (sizeof(kernel_imports) / sizeof(kernel_imports[0]))

/* kernel/wasi's resolver and the builder's import check share KUMO_KERNEL_WASI_IMPORTS;
 * what can still go wrong is the list itself: every preview1 function of the witx and
 * the WasmEdge socket extension (24 entries: some names twice, told apart by signature),
 * each name+signature once, each with code behind it. */
static void the_list_is_preview1(void **state)
{
	(void)state;
	assert_int_equal(NIMPORTS, 46 + 24);
	size_t n = 0;
	for (const struct kumo_wasi_func *f = kumo_wasi_funcs; f->name; f++, n++) {
		assert_non_null(f->code);
		for (const struct kumo_wasi_func *g = f + 1; g->name; g++)
			if (strcmp(f->name, g->name) == 0 && strcmp(f->sig, g->sig) == 0)
				fail_msg("`%s` %s is listed twice", f->name, f->sig);
	}
	assert_int_equal(n, NIMPORTS);
}

static void symbol_names_follow_the_abi(void **state)
{
	(void)state;
	/* KUMO_WASI_SYM builds the same names the compiler emits. */
	char want[128];
	snprintf(want, sizeof(want), "%s%d%s%d%s_%s", KUMO_SYM_IMPORT_PREFIX,
		 (int)strlen(KUMO_WASI_MODULE), KUMO_WASI_MODULE, 8, "fd_write", "iiii_i");
#define STR2(x) #x
#define STR(x) STR2(x)
	assert_string_equal(want, STR(KUMO_WASI_SYM(8, fd_write, iiii_i)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_list_is_preview1),
		cmocka_unit_test(symbol_names_follow_the_abi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
