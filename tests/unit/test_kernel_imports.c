/* tests/unit/test_kernel_imports.c - the import list kernel/kernel.h gives the builder matches what kernel/wasi implements, name for name and signature for signature. */
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

static void every_kernel_import_is_implemented(void **state)
{
	(void)state;
	for (size_t i = 0; i < NIMPORTS; i++) {
		const struct imp *k = &kernel_imports[i];
		assert_int_equal(k->len, (int)strlen(k->field));
		const struct kumo_wasi_func *f = kumo_wasi_funcs;
		while (f->name && strcmp(f->name, k->field) != 0)
			f++;
		if (!f->name)
			fail_msg("kernel.h lists `%s`, kernel/wasi has no such function", k->field);
		assert_string_equal(f->sig, k->sig);
		assert_non_null(f->code);
	}
}

static void every_implemented_function_is_listed(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct kumo_wasi_func *f = kumo_wasi_funcs; f->name; f++, n++) {
		size_t i = 0;
		while (i < NIMPORTS && strcmp(kernel_imports[i].field, f->name) != 0)
			i++;
		if (i == NIMPORTS)
			fail_msg("kernel/wasi implements `%s`, kernel.h does not list it", f->name);
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
		cmocka_unit_test(every_kernel_import_is_implemented),
		cmocka_unit_test(every_implemented_function_is_listed),
		cmocka_unit_test(symbol_names_follow_the_abi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
