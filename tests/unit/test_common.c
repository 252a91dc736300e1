/* tests/unit/test_common.c - the shared error object and atomic file writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

static void error_wrap_adds_context(void **state)
{
	(void)state;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_error(&err, KUMO_E_INVALID, "bad magic `%s`", "\\0asm"), -1);
	kumo_error_wrap(&err, "compile `%s`", "a.wasm");
	assert_string_equal(kumo_error_msg(err), "compile `a.wasm`: bad magic `\\0asm`");
	assert_int_equal(err->status, KUMO_E_INVALID);
	/* A second error does not overwrite the first. */
	kumo_error(&err, KUMO_E_IO, "other");
	assert_string_equal(kumo_error_msg(err), "compile `a.wasm`: bad magic `\\0asm`");
	kumo_error_free(&err);
	assert_null(err);
	kumo_error_free(&err);
	kumo_error_free(NULL);
}

static void errno_maps_status(void **state)
{
	(void)state;
	kumo_error_t err = NULL;
	uint8_t *buf;
	size_t len;
	assert_int_equal(kumo_read_file("/nonexistent/kumo", 10, &buf, &len, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	assert_non_null(strstr(err->msg, "No such file"));
	kumo_error_free(&err);
}

static void atomic_write_roundtrip(void **state)
{
	(void)state;
	char dir[] = "/tmp/kumo-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	autofree char *sub = xasprintf("%s/a/b/c", dir);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_mkdir_p(sub, 0755, &err), 0);
	autofree char *path = xasprintf("%s/file", sub);
	assert_int_equal(kumo_write_file_atomic(path, "hello", 5, 0644, &err), 0);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(kumo_read_file(path, 100, &buf, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal((char *)buf, "hello");
	free(buf);
	/* Too large for the limit: refused, not truncated. */
	assert_int_equal(kumo_read_file(path, 4, &buf, &len, &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	autofree char *cmd = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The one sha256: memory, stream (with a reset) and file agree with the known digest. */
static void sha256_forms_agree(void **state)
{
	(void)state;
	static const char abc[] =
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	char d[KUMO_DIGEST_BUF];
	kumo_sha256("abc", 3, d);
	assert_string_equal(d, abc);
	struct kumo_sha256 *h = kumo_sha256_new();
	kumo_sha256_update(h, "zz", 2);
	kumo_sha256_reset(h);
	kumo_sha256_update(h, "a", 1);
	kumo_sha256_update(h, "bc", 2);
	kumo_sha256_final(h, d);
	kumo_sha256_free(h);
	assert_string_equal(d, abc);
	char dir[] = "/tmp/kumo-sha-XXXXXX";
	assert_non_null(mkdtemp(dir));
	autofree char *path = xasprintf("%s/f", dir);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(path, "abc", 3, 0644, &err), 0);
	uint64_t size = 0;
	assert_int_equal(kumo_sha256_file(path, d, &size, &err), 0);
	assert_string_equal(d, abc);
	assert_int_equal(size, 3);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(kumo_sha256_file(path, d, NULL, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	kumo_error_free(&err);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error_wrap_adds_context),
		cmocka_unit_test(errno_maps_status),
		cmocka_unit_test(atomic_write_roundtrip),
		cmocka_unit_test(sha256_forms_agree),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
