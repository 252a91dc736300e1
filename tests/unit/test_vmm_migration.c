/* tests/unit/test_vmm_migration.c - the migration stream's QMP side both backends share
 * (vmm/migration.c): query-migrate polled to its end (figures, QEMU's reason, the
 * timeout), the wait for run state `finish-migrate` to pass, the bandwidth cap lifted
 * (or a caller's limit), a migration cancelled until QEMU lets go, against a scripted
 * QMP call instead of a QEMU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/vmm_backend.h"

/* A scripted QEMU: the answers in order (the last one repeats), and what it was asked. */
struct script {
	const char *const *answers; /* whole answer lines; NULL entry: the call fails */
	size_t n;                   /* how many answers */
	size_t calls;               /* calls so far */
	char cmds[512];             /* "cmd args;" of every call */
};

static int scripted(void *ctx, const char *cmd, const char *args, char **answer,
		    kumo_error_t *err)
{
	struct script *s = ctx;
	size_t i = s->calls < s->n ? s->calls : s->n - 1;
	s->calls++;
	size_t len = strlen(s->cmds);
	snprintf(s->cmds + len, sizeof(s->cmds) - len, "%s %s;", cmd, args ? args : "-");
	if (!s->answers[i])
		return kumo_error(err, KUMO_E_UNAVAILABLE, "qmp `%s`: vm `t` is not answering", cmd);
	if (answer)
		*answer = xstrdup(s->answers[i]);
	return 0;
}

static void wait_completed(void **state)
{
	(void)state;
	static const char *const a[] = {
		"{\"return\": {\"status\": \"setup\"}}",
		"{\"return\": {\"status\": \"active\"}}",
		"{\"return\": {\"status\": \"completed\", \"downtime\": 3, \"total-time\": 17, "
		"\"ram\": {\"transferred\": 630927}}, \"id\": \"libvirt-414\"}",
	};
	struct script s = {a, 3, 0, ""};
	struct vmm_qmp q = {scripted, &s};
	struct vmm_migrate_result res = {0};
	kumo_error_t err = NULL;
	assert_int_equal(vmm_migrate_wait(&q, NULL, 10000, &res, &err), 0);
	assert_int_equal(s.calls, 3);
	assert_string_equal(s.cmds, "query-migrate -;query-migrate -;query-migrate -;");
	assert_int_equal(res.downtime_ms, 3);
	assert_int_equal(res.total_ms, 17);
	assert_int_equal(res.transferred, 630927);
}

static void wait_failed(void **state)
{
	(void)state;
	static const char *const a[] = {
		"{\"return\": {\"status\": \"active\"}}",
		"{\"return\": {\"status\": \"failed\", \"error-desc\": \"Unable to write to socket: "
		"Broken pipe\"}}",
	};
	struct script s = {a, 2, 0, ""};
	struct vmm_qmp q = {scripted, &s};
	kumo_error_t err = NULL;
	assert_int_equal(vmm_migrate_wait(&q, NULL, 10000, NULL, &err), -1);
	assert_string_equal(kumo_error_msg(err),
			    "qemu's migration stream failed: Unable to write to socket: Broken pipe");
	kumo_error_free(&err);
	/* Cancelled, without a reason. */
	static const char *const c[] = {"{\"return\": {\"status\": \"cancelled\"}}"};
	struct script s2 = {c, 1, 0, ""};
	q.ctx = &s2;
	assert_int_equal(vmm_migrate_wait(&q, NULL, 10000, NULL, &err), -1);
	assert_string_equal(kumo_error_msg(err), "qemu's migration stream cancelled: no reason given");
	kumo_error_free(&err);
}

static void wait_timeout_and_gone(void **state)
{
	(void)state;
	static const char *const a[] = {"{\"return\": {\"status\": \"active\"}}"};
	struct script s = {a, 1, 0, ""};
	struct vmm_qmp q = {scripted, &s};
	kumo_error_t err = NULL;
	assert_int_equal(vmm_migrate_wait(&q, NULL, 20, NULL, &err), -1);
	assert_int_equal(err->status, KUMO_E_IO);
	assert_string_equal(kumo_error_msg(err), "qemu's migration stream did not finish within 20 "
						 "ms (status `active`)");
	assert_true(s.calls >= 2);
	kumo_error_free(&err);
	/* QEMU gone mid-way (a libvirt domain whose QEMU exited): the call's error. */
	static const char *const g[] = {"{\"return\": {\"status\": \"active\"}}", NULL};
	struct script s2 = {g, 2, 0, ""};
	q.ctx = &s2;
	assert_int_equal(vmm_migrate_wait(&q, "tcp:127.0.0.1:1", 10000, NULL, &err), -1);
	assert_string_equal(kumo_error_msg(err), "qmp `query-migrate`: vm `t` is not answering");
	kumo_error_free(&err);
}

static void settle(void **state)
{
	(void)state;
	static const char *const a[] = {
		"{\"return\": {\"status\": \"finish-migrate\", \"running\": false}}",
		"{\"return\": {\"status\": \"finish-migrate\", \"running\": false}}",
		"{\"return\": {\"status\": \"postmigrate\", \"running\": false}}",
	};
	struct script s = {a, 3, 0, ""};
	struct vmm_qmp q = {scripted, &s};
	kumo_error_t err = NULL;
	assert_int_equal(vmm_migrate_settle(&q, &err), 0);
	assert_int_equal(s.calls, 3);
	assert_string_equal(s.cmds, "query-status -;query-status -;query-status -;");
	/* Already paused: one question. */
	static const char *const p[] = {"{\"return\": {\"status\": \"paused\"}}"};
	struct script s2 = {p, 1, 0, ""};
	q.ctx = &s2;
	assert_int_equal(vmm_migrate_settle(&q, &err), 0);
	assert_int_equal(s2.calls, 1);
}

static void unthrottle(void **state)
{
	(void)state;
	static const char *const a[] = {"{\"return\": {}}"};
	struct script s = {a, 1, 0, ""};
	struct vmm_qmp q = {scripted, &s};
	kumo_error_t err = NULL;
	unsetenv("KUMO_VM_MIGRATE_MAX_BANDWIDTH");
	assert_int_equal(vmm_migrate_unthrottle(&q, 0, &err), 0);
	assert_string_equal(s.cmds, "migrate-set-parameters {\"max-bandwidth\":68719476736};");
	setenv("KUMO_VM_MIGRATE_MAX_BANDWIDTH", "200000", 1);
	s.cmds[0] = 0;
	assert_int_equal(vmm_migrate_unthrottle(&q, 0, &err), 0);
	assert_string_equal(s.cmds, "migrate-set-parameters {\"max-bandwidth\":200000};");
	/* A caller's limit (kumo migrate --max-bandwidth) goes before the environment's. */
	s.cmds[0] = 0;
	assert_int_equal(vmm_migrate_unthrottle(&q, 123456, &err), 0);
	assert_string_equal(s.cmds, "migrate-set-parameters {\"max-bandwidth\":123456};");
	unsetenv("KUMO_VM_MIGRATE_MAX_BANDWIDTH");
}

static void cancel_wait(void **state)
{
	(void)state;
	/* A migration running: cancelled, polled until QEMU has let go. */
	static const char *const a[] = {
		"{\"return\": {}}",
		"{\"return\": {\"status\": \"cancelling\"}}",
		"{\"return\": {\"status\": \"cancelled\"}}",
	};
	struct script s = {a, 3, 0, ""};
	struct vmm_qmp q = {scripted, &s};
	kumo_error_t err = NULL;
	char *st = NULL;
	assert_int_equal(vmm_migrate_cancel_wait(&q, &st, &err), 0);
	assert_string_equal(st, "cancelled");
	assert_string_equal(s.cmds, "migrate_cancel -;query-migrate -;query-migrate -;");
	free(st);
	/* None ran: QEMU's query-migrate has no status. */
	static const char *const b[] = {"{\"return\": {}}", "{\"return\": {}}"};
	struct script s2 = {b, 2, 0, ""};
	q.ctx = &s2;
	assert_int_equal(vmm_migrate_cancel_wait(&q, &st, &err), 0);
	assert_string_equal(st, "none");
	free(st);
	/* QEMU not answering. */
	static const char *const c[] = {NULL};
	struct script s3 = {c, 1, 0, ""};
	q.ctx = &s3;
	assert_int_equal(vmm_migrate_cancel_wait(&q, &st, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "not answering"));
	kumo_error_free(&err);
	assert_null(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wait_completed), cmocka_unit_test(wait_failed),
		cmocka_unit_test(wait_timeout_and_gone), cmocka_unit_test(settle),
		cmocka_unit_test(unthrottle), cmocka_unit_test(cancel_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
