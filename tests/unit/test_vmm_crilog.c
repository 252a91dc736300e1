/* tests/unit/test_vmm_crilog.c - the CRI log writer against golden files
 * (tests/unit/golden/crilog-*.log; KUMO_REGEN_GOLDEN=1 rewrites them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/vmm.h"

static uint64_t fake_now;
/* 2026-01-02T03:04:05Z, then +1.5 ms per record: deterministic timestamps. */
static uint64_t fake_clock(void)
{
	uint64_t t = 1767323045000000000ull + fake_now;
	fake_now += 1500000;
	return t;
}

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/kumo-crilog-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void check_golden(const char *path, const char *golden)
{
	uint8_t *got = NULL, *want = NULL;
	size_t glen, wlen;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_read_file(path, 1 << 24, &got, &glen, &err), 0);
	if (getenv("KUMO_REGEN_GOLDEN")) {
		assert_int_equal(kumo_write_file_atomic(golden, got, glen, 0644, &err), 0);
		fprintf(stderr, "regenerated %s\n", golden);
	}
	assert_int_equal(kumo_read_file(golden, 1 << 24, &want, &wlen, &err), 0);
	if (glen != wlen || memcmp(got, want, glen) != 0) {
		fprintf(stderr, "%s differs from %s\n", path, golden);
		fail();
	}
	free(got);
	free(want);
}

static void lines_partial_long_crlf(void **state)
{
	(void)state;
	fake_now = 0;
	autofree char *dir = tmpdir();
	autofree char *path = xasprintf("%s/0.log", dir);
	struct vmm_crilog *log = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_crilog_open(path, fake_clock, &log, &err), 0);
	/* Two lines in one chunk, a line split over chunks, CRLF, an empty line. */
	assert_int_equal(vmm_crilog_write(log, VMM_STDOUT, "one\ntwo\nthr", 11, &err), 0);
	assert_int_equal(vmm_crilog_write(log, VMM_STDERR, "err A\n", 6, &err), 0);
	assert_int_equal(vmm_crilog_write(log, VMM_STDOUT, "ee\r\n\n", 5, &err), 0);
	/* A line of 2.5 times the maximum: P, P, F. */
	size_t n = VMM_CRILOG_MAX_LINE * 5 / 2;
	char *big = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\n';
	assert_int_equal(vmm_crilog_write(log, VMM_STDOUT, big, n + 1, &err), 0);
	/* A maximum-size line whose newline comes later: P, then an empty F. */
	assert_int_equal(vmm_crilog_write(log, VMM_STDERR, big, VMM_CRILOG_MAX_LINE, &err), 0);
	assert_int_equal(vmm_crilog_write(log, VMM_STDERR, "\n", 1, &err), 0);
	free(big);
	/* An unfinished line flushed as P while the stream goes on, then completed. */
	assert_int_equal(vmm_crilog_write(log, VMM_STDOUT, "prompt> ", 8, &err), 0);
	assert_int_equal(vmm_crilog_flush(log, false, &err), 0);
	assert_int_equal(vmm_crilog_write(log, VMM_STDOUT, "answer\n", 7, &err), 0);
	/* Unfinished at the end: F when the log closes. */
	assert_int_equal(vmm_crilog_write(log, VMM_STDERR, "no newline", 10, &err), 0);
	vmm_crilog_close(log);
	check_golden(path, "tests/unit/golden/crilog-basic.log");
	unlink(path);
	rmdir(dir);
}

static void reopen_after_rotation(void **state)
{
	(void)state;
	fake_now = 0;
	autofree char *dir = tmpdir();
	autofree char *path = xasprintf("%s/0.log", dir);
	autofree char *rotated = xasprintf("%s/0.log.1", dir);
	struct vmm_crilog *log = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_crilog_open(path, fake_clock, &log, &err), 0);
	assert_int_equal(vmm_crilog_write(log, VMM_STDOUT, "before\nhalf", 11, &err), 0);
	assert_int_equal(rename(path, rotated), 0);
	assert_int_equal(vmm_crilog_reopen(log, &err), 0);
	assert_int_equal(vmm_crilog_write(log, VMM_STDOUT, " line\nafter\n", 12, &err), 0);
	vmm_crilog_close(log);
	check_golden(rotated, "tests/unit/golden/crilog-rotated-old.log");
	check_golden(path, "tests/unit/golden/crilog-rotated-new.log");
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}

static void open_error_is_clear(void **state)
{
	(void)state;
	struct vmm_crilog *log = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_crilog_open("/nonexistent/dir/0.log", NULL, &log, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "open cri log `/nonexistent/dir/0.log`"));
	kumo_error_free(&err);
	vmm_crilog_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_partial_long_crlf),
		cmocka_unit_test(reopen_after_rotation),
		cmocka_unit_test(open_error_is_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
