/* tests/unit/test_cri_downstream.c - cri/downstream.h without a runtime behind it: the
 * status encoding, endpoint parsing, and the transport failures (no socket, a refusing
 * socket, a socket that never answers, a stream on a dead endpoint). The calls against a
 * real containerd are tests/e2e/cri-downstream.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <grpc/status.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "cri/downstream.h"

static double now_ms(void)
{
	return (double)kumo_now_ns() / 1e6;
}

/* A Version call's raw request (the empty message). */
static int version(struct cri_downstream *ds, int timeout_ms, kumo_error_t *err)
{
	uint8_t *resp = NULL;
	size_t len = 0;
	int rc = cri_downstream_call(ds, "/runtime.v1.RuntimeService/Version", (const uint8_t *)"", 0,
				     timeout_ms, &resp, &len, err);
	free(resp);
	return rc;
}

static void status_codes_round_trip(void **state)
{
	(void)state;
	for (int c = GRPC_STATUS_OK; c <= GRPC_STATUS_UNAUTHENTICATED; c++)
		assert_int_equal(cri_downstream_grpc_code(CRI_E_DOWNSTREAM(c)), c);
	assert_int_equal(cri_downstream_grpc_code(CRI_E_DOWNSTREAM(17)), -1);
	assert_int_equal(cri_downstream_grpc_code(KUMO_E_NOT_FOUND), -1);
	assert_int_equal(cri_downstream_grpc_code(KUMO_E_UNAVAILABLE), -1);
	assert_int_equal(cri_downstream_grpc_code(0), -1);
}

static void endpoints(void **state)
{
	(void)state;
	struct cri_downstream *ds = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cri_downstream_new(NULL, &ds, &err), 0);
	assert_string_equal(cri_downstream_endpoint(ds), CRI_DOWNSTREAM_DEFAULT_ENDPOINT);
	cri_downstream_free(ds);
	assert_int_equal(cri_downstream_new("/run/x/y.sock", &ds, &err), 0);
	assert_string_equal(cri_downstream_endpoint(ds), "/run/x/y.sock");
	cri_downstream_free(ds);

	assert_int_equal(cri_downstream_new("unix://", &ds, &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	assert_non_null(strstr(kumo_error_msg(err), "`unix://`"));
	kumo_error_free(&err);
	char longpath[300];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	assert_int_equal(cri_downstream_new(longpath, &ds, &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	cri_downstream_free(NULL);
}

static void no_socket_is_unavailable_at_once(void **state)
{
	(void)state;
	struct cri_downstream *ds = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cri_downstream_new("unix:///nonexistent-kumo-dir/c.sock", &ds, &err), 0);
	double t0 = now_ms();
	assert_int_equal(version(ds, 10000, &err), -1);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(cri_downstream_grpc_code(err->status), GRPC_STATUS_UNAVAILABLE);
	assert_string_equal(kumo_error_msg(err),
			    "downstream runtime `unix:///nonexistent-kumo-dir/c.sock` is unavailable: "
			    "connect to `/nonexistent-kumo-dir/c.sock`: No such file or directory");
	kumo_error_free(&err);
	/* Typed helpers fail the same way and leave *out alone. */
	Runtime__V1__ListPodSandboxResponse *l = NULL;
	assert_int_equal(cri_downstream_list_pod_sandbox(ds, NULL, 1000, &l, &err), -1);
	assert_null(l);
	assert_int_equal(cri_downstream_grpc_code(err->status), GRPC_STATUS_UNAVAILABLE);
	kumo_error_free(&err);
	cri_downstream_free(ds);
}

/* A unix socket bound at `path`, listening or not; returns its fd. */
static int bound_socket(const char *path, bool listening)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static void refusing_socket_is_unavailable(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/kumo-ds-refuse-%d.sock", (int)getpid());
	int fd = bound_socket(path, false);
	struct cri_downstream *ds = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cri_downstream_new(path, &ds, &err), 0);
	assert_int_equal(version(ds, 5000, &err), -1);
	assert_int_equal(cri_downstream_grpc_code(err->status), GRPC_STATUS_UNAVAILABLE);
	assert_non_null(strstr(kumo_error_msg(err), "Connection refused"));
	kumo_error_free(&err);
	cri_downstream_free(ds);
	close(fd);
	unlink(path);
}

static void silent_server_hits_the_deadline(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/kumo-ds-silent-%d.sock", (int)getpid());
	/* The kernel completes connections into the backlog; nobody ever answers. */
	int fd = bound_socket(path, true);
	struct cri_downstream *ds = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cri_downstream_new(path, &ds, &err), 0);
	double t0 = now_ms();
	assert_int_equal(version(ds, 300, &err), -1);
	double took = now_ms() - t0;
	assert_true(took >= 290 && took < 1500);
	assert_int_equal(cri_downstream_grpc_code(err->status), GRPC_STATUS_DEADLINE_EXCEEDED);
	assert_non_null(strstr(kumo_error_msg(err), "did not answer `/runtime.v1.RuntimeService/Version` within 300 ms"));
	kumo_error_free(&err);
	cri_downstream_free(ds);
	close(fd);
	unlink(path);
}

struct ends {
	pthread_mutex_t lock;
	int ended, reopening, messages, code;
	int odd_messages; /* ends whose message does not say "is unavailable" */
};

static void on_message(void *ctx, const uint8_t *msg, size_t len)
{
	(void)msg;
	(void)len;
	struct ends *e = ctx;
	pthread_mutex_lock(&e->lock);
	e->messages++;
	pthread_mutex_unlock(&e->lock);
}

static void on_ended(void *ctx, int code, const char *message, bool reopening)
{
	struct ends *e = ctx;
	/* Runs on the stream's thread: record, assert on the test's thread. */
	pthread_mutex_lock(&e->lock);
	e->odd_messages += strstr(message, "is unavailable") == NULL;
	e->ended++;
	e->reopening += reopening;
	e->code = code;
	pthread_mutex_unlock(&e->lock);
}

static void stream_on_dead_endpoint_retries_until_cancelled(void **state)
{
	(void)state;
	struct cri_downstream *ds = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cri_downstream_new("unix:///nonexistent-kumo-dir/c.sock", &ds, &err), 0);
	struct ends e = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct cri_downstream_stream_ops ops = {on_message, on_ended};
	struct cri_downstream_stream *s = NULL;
	assert_int_equal(cri_downstream_events(ds, &ops, &e, &s, &err), 0);
	/* 0.1 s, 0.2 s, 0.4 s pauses: at least two attempts in 0.6 s. */
	struct timespec ts = {0, 600000000};
	nanosleep(&ts, NULL);
	double t0 = now_ms();
	cri_downstream_stream_cancel(s);
	assert_true(now_ms() - t0 < 1000);
	pthread_mutex_lock(&e.lock);
	int seen = e.ended;
	assert_true(seen >= 2);
	assert_int_equal(e.reopening, seen);
	assert_int_equal(e.code, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(e.messages, 0);
	assert_int_equal(e.odd_messages, 0);
	pthread_mutex_unlock(&e.lock);
	/* No callback after cancel returned. */
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&e.lock);
	assert_int_equal(e.ended, seen);
	pthread_mutex_unlock(&e.lock);
	cri_downstream_free(ds);
}

static void free_is_prompt(void **state)
{
	(void)state;
	struct cri_downstream *ds = NULL;
	kumo_error_t err = NULL;
	double t0 = now_ms();
	for (int i = 0; i < 5; i++) {
		assert_int_equal(cri_downstream_new("unix:///nonexistent-kumo-dir/c.sock", &ds, &err), 0);
		cri_downstream_free(ds);
	}
	assert_true(now_ms() - t0 < 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_codes_round_trip),
		cmocka_unit_test(endpoints),
		cmocka_unit_test(no_socket_is_unavailable_at_once),
		cmocka_unit_test(refusing_socket_is_unavailable),
		cmocka_unit_test(silent_server_hits_the_deadline),
		cmocka_unit_test(stream_on_dead_endpoint_retries_until_cancelled),
		cmocka_unit_test(free_is_prompt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
