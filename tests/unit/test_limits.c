/* tests/unit/test_limits.c - the limits against hostile modules (compiler.h, struct
 * kumo_compile_limits): a module one over each structural limit is refused with a
 * message naming the limit's key, one at the limit passes; keys parse; the compile
 * budget stops a small module that makes LLVM work (CPU) or swell (memory), and a
 * normal module compiles under it to the same object as in-process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "compiler/compiler.h"

/* ---- a growing text buffer for generated modules ---- */
struct txt {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void put(struct txt *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->p = xrealloc(t->p, t->cap);
	}
}

/* The module of one shape with n of the counted thing, as WAT. */
enum shape { FUNCS, LOCALS, NESTING, TABLES, TABLE_SIZE, ELEMS, ELEM_ENTRIES, DATAS, GLOBALS,
	     TYPES, IMPORTS, EXPORTS, BODY_BYTES };

static char *module(enum shape s, unsigned n, size_t *len)
{
	struct txt t = {0};
	put(&t, "(module\n");
	switch (s) {
	case FUNCS:
		for (unsigned i = 0; i < n; i++)
			put(&t, "(func)\n");
		break;
	case LOCALS:
		put(&t, "(func (local");
		for (unsigned i = 0; i < n; i++)
			put(&t, " i32");
		put(&t, "))\n");
		break;
	case NESTING:
		put(&t, "(func\n");
		for (unsigned i = 0; i < n; i++)
			put(&t, i % 3 == 0 ? "block\n" : i % 3 == 1 ? "loop\n" : "i32.const 1 if\n");
		for (unsigned i = 0; i < n; i++)
			put(&t, "end\n");
		put(&t, ")\n");
		break;
	case TABLES:
		for (unsigned i = 0; i < n; i++)
			put(&t, "(table 1 funcref)\n");
		break;
	case TABLE_SIZE:
		put(&t, "(table %u funcref)\n", n);
		break;
	case ELEMS:
		put(&t, "(func $f)\n");
		for (unsigned i = 0; i < n; i++)
			put(&t, "(elem func $f)\n");
		break;
	case ELEM_ENTRIES:
		put(&t, "(func $f)\n(elem func");
		for (unsigned i = 0; i < n; i++)
			put(&t, " $f");
		put(&t, ")\n");
		break;
	case DATAS:
		for (unsigned i = 0; i < n; i++)
			put(&t, "(data \"x\")\n");
		break;
	case GLOBALS:
		for (unsigned i = 0; i < n; i++)
			put(&t, "(global i32 (i32.const 0))\n");
		break;
	case TYPES:
		for (unsigned i = 0; i < n; i++)
			put(&t, "(type (func))\n");
		break;
	case IMPORTS:
		for (unsigned i = 0; i < n; i++)
			put(&t, "(import \"m\" \"f%u\" (func))\n", i);
		break;
	case EXPORTS:
		put(&t, "(func $f)\n");
		for (unsigned i = 0; i < n; i++)
			put(&t, "(export \"e%u\" (func $f))\n", i);
		break;
	case BODY_BYTES:
		/* The body is n bytes: the local count, n - 2 nops, end. */
		put(&t, "(func\n");
		for (unsigned i = 0; i < n - 2; i++)
			put(&t, "nop\n");
		put(&t, ")\n");
		break;
	}
	put(&t, ")\n");
	*len = t.len;
	return t.p;
}

struct case_ {
	enum shape shape;
	const char *key;
	unsigned limit;
};

static const struct case_ cases[] = {
	{FUNCS, "max_functions", 50},
	{LOCALS, "max_locals", 40},
	{NESTING, "max_nesting", 30},
	{TABLES, "max_tables", 5},
	{TABLE_SIZE, "max_table_entries", 1000},
	{ELEMS, "max_element_segments", 7},
	{ELEM_ENTRIES, "max_table_entries", 20},
	{DATAS, "max_data_segments", 9},
	{GLOBALS, "max_globals", 11},
	{TYPES, "max_types", 13},
	{IMPORTS, "max_imports", 6},
	{EXPORTS, "max_exports", 8},
	{BODY_BYTES, "max_function_bytes", 100},
};

static struct kumo_compile_limits saved;

static int setup(void **state)
{
	saved = *kumo_compile_limits();
	return 0;
}

static int teardown(void **state)
{
	kumo_compile_set_limits(&saved);
	return 0;
}

static void set_limit(const char *key, unsigned v)
{
	struct kumo_compile_limits l = *kumo_compile_limits();
	char num[16];
	snprintf(num, sizeof(num), "%u", v);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_compile_limit_set(&l, key, num, &err), 0);
	kumo_compile_set_limits(&l);
}

/* Each structural limit: at it, accepted; one over, refused naming the key. */
static void structural_limits(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		kumo_compile_set_limits(&saved);
		set_limit(c->key, c->limit);
		size_t len;
		char *at = module(c->shape, c->limit, &len);
		kumo_error_t err = NULL;
		if (kumo_validate((const uint8_t *)at, len, &err) != 0)
			fail_msg("%s: a module at the limit %u was refused: %s", c->key, c->limit,
				 kumo_error_msg(err));
		free(at);
		char *over = module(c->shape, c->limit + 1, &len);
		assert_int_equal(kumo_validate((const uint8_t *)over, len, &err), -1);
		char want[64];
		snprintf(want, sizeof(want), "(key `%s`)", c->key);
		if (!strstr(kumo_error_msg(err), want) || !strstr(kumo_error_msg(err), "over the limit"))
			fail_msg("%s: message does not name the limit: %s", c->key, kumo_error_msg(err));
		assert_int_equal(err->status, KUMO_E_INVALID);
		kumo_error_free(&err);
		/* 0 is no limit. */
		set_limit(c->key, 0);
		if (kumo_validate((const uint8_t *)over, len, &err) != 0)
			fail_msg("%s = 0 still refuses: %s", c->key, kumo_error_msg(err));
		free(over);
	}
}

static void module_bytes(void **state)
{
	set_limit("max_module_bytes", 100);
	size_t len;
	char *m = module(FUNCS, 20, &len);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_validate((const uint8_t *)m, len, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "(key `max_module_bytes`)"));
	kumo_error_free(&err);
	struct kumo_compile_info info;
	assert_int_equal(kumo_module_imports((const uint8_t *)m, len, &info, &err), -1);
	kumo_error_free(&err);
	free(m);
}

static void keys_parse(void **state)
{
	struct kumo_compile_limits l = KUMO_COMPILE_LIMITS_DEFAULT;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_compile_limit_set(&l, "max-nesting", "77", &err), 0);
	assert_int_equal(l.max_nesting, 77);
	assert_int_equal(kumo_compile_limit_set(&l, "compile_memory_mb", "0", &err), 0);
	assert_int_equal(l.compile_memory_mb, 0);
	assert_int_equal(kumo_compile_limit_set(&l, "max_nesting", "-1", &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	assert_int_equal(kumo_compile_limit_set(&l, "max_nesting", "12x", &err), -1);
	kumo_error_free(&err);
	assert_int_equal(kumo_compile_limit_set(&l, "max_nothing", "1", &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	kumo_error_free(&err);
	size_t n;
	const struct kumo_limit_key *k = kumo_compile_limit_keys(&n);
	assert_true(n >= 17);
	for (size_t i = 0; i < n; i++)
		assert_true(k[i].offset + sizeof(uint64_t) <= sizeof(struct kumo_compile_limits));
}

/* A small module that makes LLVM's SSA construction quadratic: thousands of locals
 * written in the arms of a br_table dispatch inside a loop, all read after it. Within
 * every structural default; in-process it runs for minutes and takes gigabytes. */
static char *pathological(size_t *len)
{
	enum { LOCALS = 20000, ARMS = 2000 };
	struct txt t = {0};
	put(&t, "(module (func (export \"f\") (param $n i32) (result i64) (local");
	for (int i = 0; i < LOCALS; i++)
		put(&t, " i64");
	put(&t, ")\nloop $top\nblock $out\n");
	for (int a = 0; a < ARMS; a++)
		put(&t, "block\n");
	put(&t, "local.get $n i32.const %d i32.rem_u br_table", ARMS);
	for (int a = 0; a < ARMS; a++)
		put(&t, " %d", a);
	put(&t, " $out\n");
	for (int a = 0; a < ARMS; a++) {
		put(&t, "end\n");
		for (int k = 0; k < 3; k++) {
			int li = 1 + (a * 7 + k * 13) % LOCALS, lj = 1 + (a * 11 + k * 5) % LOCALS;
			put(&t, "local.get %d local.get %d i64.add local.set %d\n", lj, li, li);
		}
		put(&t, "local.get $n i32.const 1 i32.sub local.tee $n br_if $top\n");
	}
	put(&t, "end end\ni64.const 0\n");
	for (int i = 1; i <= LOCALS; i++)
		put(&t, "local.get %d i64.add\n", i);
	put(&t, "))\n");
	*len = t.len;
	return t.p;
}

static void budget_limit(const char *key, unsigned v)
{
	struct kumo_compile_limits l = *kumo_compile_limits();
	l.compile_cpu_seconds = l.compile_cpu_seconds_per_mib = 0;
	l.compile_memory_mb = l.compile_memory_mb_per_mib = 0;
	kumo_compile_set_limits(&l);
	set_limit(key, v);
}

static void budget_cpu(void **state)
{
	size_t len;
	char *m = pathological(&len);
	budget_limit("compile_cpu_seconds", 2);
	char out[] = "/tmp/kumo-test-limits-XXXXXX";
	int fd = mkstemp(out);
	close(fd);
	unlink(out);
	kumo_error_t err = NULL;
	uint64_t t0 = kumo_now_ns();
	assert_int_equal(kumo_compile_file((const uint8_t *)m, len, NULL, out, NULL, &err), -1);
	double s = (double)(kumo_now_ns() - t0) / 1e9;
	print_message("# cpu budget 2 s: stopped after %.1f s: %s\n", s, kumo_error_msg(err));
	assert_non_null(strstr(kumo_error_msg(err), "compile budget exceeded"));
	assert_non_null(strstr(kumo_error_msg(err), "`compile_cpu_seconds`"));
	assert_true(s < 2 * 4 + 10 + 5); /* never past the wall-clock backstop */
	assert_int_equal(access(out, F_OK), -1); /* nothing left */
	kumo_error_free(&err);
	free(m);
}

static void budget_memory(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	skip(); /* sanitizer builds set no RLIMIT_AS (budget.c) */
#endif
	size_t len;
	char *m = pathological(&len);
	budget_limit("compile_memory_mb", 400);
	set_limit("compile_cpu_seconds", 120); /* the memory limit must come first */
	kumo_error_t err = NULL;
	assert_int_equal(kumo_compile_file((const uint8_t *)m, len, NULL, "/tmp/kumo-test-limits-never.o",
					   NULL, &err),
			 -1);
	print_message("# memory budget 400 MiB: %s\n", kumo_error_msg(err));
	assert_non_null(strstr(kumo_error_msg(err), "compile budget exceeded"));
	assert_non_null(strstr(kumo_error_msg(err), "`compile_memory_mb`"));
	kumo_error_free(&err);
	free(m);
}

/* Under the default budget a normal module compiles in the worker to the same bytes as
 * in-process, and a module that does not validate gets the front end's own message. */
static void budget_normal(void **state)
{
	static const char wat[] = "(module (func (export \"add\") (param i32 i32) (result i32)"
				  " local.get 0 local.get 1 i32.add))";
	char a[] = "/tmp/kumo-test-limits-a-XXXXXX", b[] = "/tmp/kumo-test-limits-b-XXXXXX";
	close(mkstemp(a));
	close(mkstemp(b));
	kumo_error_t err = NULL;
	struct kumo_compile_info info;
	assert_int_equal(kumo_compile_file((const uint8_t *)wat, strlen(wat), NULL, a, &info, &err), 0);
	assert_true(info.worker_peak_rss_kb > 0);
	assert_true(info.object_bytes > 0);
	kumo_compile_info_free(&info);
	budget_limit("compile_cpu_seconds", 0); /* no budget: in-process */
	assert_int_equal(kumo_compile_file((const uint8_t *)wat, strlen(wat), NULL, b, &info, &err), 0);
	assert_int_equal(info.worker_peak_rss_kb, 0);
	kumo_compile_info_free(&info);
	uint8_t *x, *y;
	size_t xl, yl;
	assert_int_equal(kumo_read_file(a, 1 << 24, &x, &xl, &err), 0);
	assert_int_equal(kumo_read_file(b, 1 << 24, &y, &yl, &err), 0);
	assert_int_equal(xl, yl);
	assert_memory_equal(x, y, xl);
	free(x);
	free(y);
	unlink(a);
	unlink(b);
	kumo_compile_set_limits(&saved);
	static const char bad[] = "(module (func (result i32)))";
	assert_int_equal(kumo_compile_file((const uint8_t *)bad, strlen(bad), NULL, a, NULL, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "type mismatch"));
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	assert_int_equal(access(a, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(structural_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(module_bytes, setup, teardown),
		cmocka_unit_test(keys_parse),
		cmocka_unit_test_setup_teardown(budget_normal, setup, teardown),
		cmocka_unit_test_setup_teardown(budget_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(budget_memory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
