/* tests/unit/test_builder.c - the compile cache: hits, keys, concurrency, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "builder/builder.h"

/* (module (func (export "f") (result i32) i32.const 42)) */
static const uint8_t mod42[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,
	0x03, 0x02, 0x01, 0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04,
	0x00, 0x41, 0x2a, 0x0b,
};

static int setup(void **state)
{
	char *dir = xstrdup("/tmp/kumo-builder-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	autofree char *cmd = xasprintf("rm -rf '%s'", (char *)*state);
	free(*state);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_objects(const char *root)
{
	autofree char *dir = xasprintf("%s/build/objects", root);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".o") && !strstr(e->d_name, ".tmp"))
			n++;
	closedir(d);
	return n;
}

static void miss_then_hit(void **state)
{
	struct kumo_build_options o = {.root = *state};
	struct kumo_build_result a, b, c;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_build_object(&o, mod42, sizeof(mod42), &a, &err), 0);
	assert_false(a.cache_hit);
	assert_int_equal(strncmp(a.module_digest, "sha256:", 7), 0);
	struct stat st;
	assert_int_equal(stat(a.object_path, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(kumo_build_object(&o, mod42, sizeof(mod42), &b, &err), 0);
	assert_true(b.cache_hit);
	assert_string_equal(a.object_path, b.object_path);
	/* Another CPU target is another entry. */
	o.cpu = "x86-64";
	assert_int_equal(kumo_build_object(&o, mod42, sizeof(mod42), &c, &err), 0);
	assert_false(c.cache_hit);
	assert_string_not_equal(a.key, c.key);
	assert_int_equal(count_objects(*state), 2);
	kumo_build_result_free(&a);
	kumo_build_result_free(&b);
	kumo_build_result_free(&c);
}

static void concurrent_builds_compile_once(void **state)
{
	enum { N = 4 };
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct kumo_build_options o = {.root = *state};
			struct kumo_build_result r;
			kumo_error_t err = NULL;
			if (kumo_build_object(&o, mod42, sizeof(mod42), &r, &err) < 0)
				_exit(1);
			_exit(r.cache_hit ? 11 : 10);
		}
	}
	int compiled = 0, hits = 0;
	for (int i = 0; i < N; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		compiled += WEXITSTATUS(status) == 10;
		hits += WEXITSTATUS(status) == 11;
	}
	assert_int_equal(compiled, 1);
	assert_int_equal(hits, N - 1);
	assert_int_equal(count_objects(*state), 1);
}

static void bad_module_leaves_nothing(void **state)
{
	struct kumo_build_options o = {.root = *state};
	struct kumo_build_result r;
	kumo_error_t err = NULL;
	uint8_t bad[sizeof(mod42)];
	memcpy(bad, mod42, sizeof(bad));
	bad[sizeof(bad) - 3] = 0x42; /* i32.const -> i64.const: type mismatch */
	assert_int_equal(kumo_build_object(&o, bad, sizeof(bad), &r, &err), -1);
	assert_non_null(err);
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	assert_int_equal(kumo_build_object(&o, bad, 5, &r, &err), -1);
	kumo_error_free(&err);
	assert_int_equal(count_objects(*state), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(miss_then_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_builds_compile_once, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_module_leaves_nothing, setup, teardown),
	};
	return cmocka_run_group_tests_name("builder", tests, NULL, NULL);
}
