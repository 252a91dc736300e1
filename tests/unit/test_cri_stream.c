/* tests/unit/test_cri_stream.c - kumod's streaming server in-process: the SPDY and
 * WebSocket codecs, the token store, and whole sessions (port-forward, attach, exec)
 * against fake kumod callbacks, a local HTTP server as "the pod", and a CRI log file
 * the test writes; threads and fds are counted before and after. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "cri/cri.h"
#include "cri/spdy.h"
#include "cri/stream_impl.h"
#include "cri/websocket.h"
#include "tests/e2e/stream_clientlib.h"

/* ---- codecs ---------------------------------------------------------------------------- */

static void test_spdy_dictionary(void **state)
{
	size_t n;
	const uint8_t *d = spdy_dictionary(&n);
	assert_int_equal(n, 1423);
	/* The zlib dictionary id every SPDY/3 peer checks. */
	assert_int_equal(adler32(adler32(0, NULL, 0), d, (uInt)n), 0xe3c6a7c2u);
}

static void test_spdy_roundtrip(void **state)
{
	struct spdy_codec *tx = spdy_codec_new(), *rx = spdy_codec_new();
	struct sbuf b = {0};
	const char *names[] = {"streamtype", "port", "requestid"};
	const char *values[] = {"data", "8080", "7"};
	spdy_put_syn_stream(tx, &b, 1, SPDY_FLAG_FIN, names, values, 3);
	spdy_put_syn_stream(tx, &b, 3, 0, names, values, 1); /* one shared zlib stream */
	spdy_put_data(&b, 3, SPDY_FLAG_FIN, "hello", 5);
	spdy_put_rst_stream(&b, 3, SPDY_RST_CANCEL);
	spdy_put_ping(&b, 5);
	spdy_put_goaway(&b, 3, 0);
	spdy_put_syn_reply(tx, &b, 1, 0, NULL, NULL, 0);
	struct spdy_frame f;
	size_t used;
	kumo_error_t err = NULL;
	/* A frame cut short is "need more", not an error. */
	assert_int_equal(spdy_parse(rx, sbuf_head(&b), 9, &f, &used, &err), 0);
	assert_int_equal(spdy_parse(rx, sbuf_head(&b), sbuf_size(&b), &f, &used, &err), 1);
	assert_int_equal(f.type, SPDY_SYN_STREAM);
	assert_int_equal(f.stream_id, 1);
	assert_int_equal(f.flags, SPDY_FLAG_FIN);
	assert_string_equal(spdy_header_get(&f, "port"), "8080");
	assert_string_equal(spdy_header_get(&f, "requestid"), "7");
	spdy_frame_clear(&f);
	sbuf_consume(&b, used);
	assert_int_equal(spdy_parse(rx, sbuf_head(&b), sbuf_size(&b), &f, &used, &err), 1);
	assert_int_equal(f.stream_id, 3);
	assert_string_equal(spdy_header_get(&f, "streamtype"), "data");
	assert_null(spdy_header_get(&f, "port"));
	spdy_frame_clear(&f);
	sbuf_consume(&b, used);
	assert_int_equal(spdy_parse(rx, sbuf_head(&b), sbuf_size(&b), &f, &used, &err), 1);
	assert_int_equal(f.type, SPDY_DATA);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.data, "hello", 5);
	sbuf_consume(&b, used);
	int want[] = {SPDY_RST_STREAM, SPDY_PING, SPDY_GOAWAY, SPDY_SYN_REPLY};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(spdy_parse(rx, sbuf_head(&b), sbuf_size(&b), &f, &used, &err), 1);
		assert_int_equal(f.type, want[i]);
		if (f.type == SPDY_PING)
			assert_int_equal(f.ping_id, 5);
		spdy_frame_clear(&f);
		sbuf_consume(&b, used);
	}
	assert_int_equal(sbuf_size(&b), 0);
	/* Version 2 and a corrupt header block are refused with a message. */
	uint8_t v2[] = {0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1};
	assert_int_equal(spdy_parse(rx, v2, sizeof(v2), &f, &used, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "version 2"));
	kumo_error_free(&err);
	struct spdy_codec *fresh = spdy_codec_new();
	uint8_t junk[] = {0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 1, 2, 3, 4};
	assert_int_equal(spdy_parse(fresh, junk, sizeof(junk), &f, &used, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "header block"));
	kumo_error_free(&err);
	spdy_codec_free(fresh);
	sbuf_free(&b);
	spdy_codec_free(tx);
	spdy_codec_free(rx);
}

static void test_websocket_codec(void **state)
{
	char acc[29];
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", acc); /* RFC 6455's example */
	assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	struct sbuf b = {0};
	uint8_t mask[4] = {1, 2, 3, 4};
	uint8_t big[70000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	ws_put_frame(&b, WS_BINARY, true, "abc", 3, mask);
	ws_put_frame(&b, WS_BINARY, false, big, 300, mask);          /* 16-bit length */
	ws_put_frame(&b, WS_CONTINUATION, true, big, sizeof(big), mask); /* 64-bit length */
	struct ws_frame f;
	size_t used;
	kumo_error_t err = NULL;
	assert_int_equal(ws_parse(sbuf_head(&b), 3, 1 << 20, true, &f, &used, &err), 0);
	assert_int_equal(ws_parse(sbuf_head(&b), sbuf_size(&b), 1 << 20, true, &f, &used, &err), 1);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.payload, "abc", 3);
	sbuf_consume(&b, used);
	assert_int_equal(ws_parse(sbuf_head(&b), sbuf_size(&b), 1 << 20, true, &f, &used, &err), 1);
	assert_false(f.fin);
	assert_int_equal(f.len, 300);
	sbuf_consume(&b, used);
	assert_int_equal(ws_parse(sbuf_head(&b), sbuf_size(&b), 1 << 20, true, &f, &used, &err), 1);
	assert_int_equal(f.opcode, WS_CONTINUATION);
	assert_memory_equal(f.payload, big, sizeof(big));
	sbuf_consume(&b, used);
	/* From a client: unmasked, oversized, long control frames and RSV bits are errors. */
	ws_put_frame(&b, WS_BINARY, true, "x", 1, NULL);
	assert_int_equal(ws_parse(sbuf_head(&b), sbuf_size(&b), 1 << 20, true, &f, &used, &err), -1);
	kumo_error_free(&err);
	assert_int_equal(ws_parse(sbuf_head(&b), sbuf_size(&b), 1 << 20, false, &f, &used, &err), 1);
	sbuf_consume(&b, used);
	ws_put_frame(&b, WS_BINARY, true, big, 2000, mask);
	assert_int_equal(ws_parse(sbuf_head(&b), sbuf_size(&b), 1000, true, &f, &used, &err), -1);
	kumo_error_free(&err);
	b.off = b.len = 0;
	ws_put_frame(&b, WS_PING, true, big, 200, mask);
	assert_int_equal(ws_parse(sbuf_head(&b), sbuf_size(&b), 1 << 20, true, &f, &used, &err), -1);
	kumo_error_free(&err);
	uint8_t rsv[] = {0xc2, 0x80, 0, 0, 0, 0};
	assert_int_equal(ws_parse(rsv, sizeof(rsv), 1 << 20, true, &f, &used, &err), -1);
	kumo_error_free(&err);
	sbuf_free(&b);
	/* base64 both ways, with and without padding. */
	const char *cases[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		struct sbuf e = {0};
		ws_base64_encode(&e, cases[i], strlen(cases[i]));
		assert_int_equal(sbuf_size(&e), strlen(enc[i]));
		assert_memory_equal(sbuf_head(&e), enc[i], strlen(enc[i]));
		uint8_t out[16];
		assert_int_equal(ws_base64_decode(enc[i], strlen(enc[i]), out), strlen(cases[i]));
		assert_memory_equal(out, cases[i], strlen(cases[i]));
		sbuf_free(&e);
	}
	uint8_t out[16];
	assert_int_equal(ws_base64_decode("Zm9", 3, out), -1);
	assert_int_equal(ws_base64_decode("Zm=v", 4, out), -1);
	assert_int_equal(ws_base64_decode("Zm9*", 4, out), -1);
}

/* ---- tokens -------------------------------------------------------------------------------- */

static _Atomic uint64_t fake_now;
static uint64_t fake_clock(void) { return fake_now; }

static struct cri_stream_request *req_new(int kind, const char *id)
{
	struct cri_stream_request *r = xzalloc(sizeof(*r));
	r->kind = kind;
	r->id = xstrdup(id);
	return r;
}

static void test_tokens(void **state)
{
	struct stream_tokens *t = stream_tokens_new(1000);
	stream_tokens_set_clock(t, fake_clock);
	fake_now = 5000000000ull;
	char *a = NULL, *b = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(stream_tokens_insert(t, req_new(CRI_STREAM_ATTACH, "a"), &a, &err), 0);
	assert_int_equal(stream_tokens_insert(t, req_new(CRI_STREAM_EXEC, "b"), &b, &err), 0);
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);
	for (const char *p = a; *p; p++) /* a path segment: URL-safe */
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-_", *p));
	struct cri_stream_request *r = NULL;
	assert_int_equal(stream_tokens_consume(t, a, &r), TOKEN_OK);
	assert_string_equal(r->id, "a");
	cri_stream_request_free(r);
	assert_int_equal(stream_tokens_consume(t, a, &r), TOKEN_USED);
	assert_null(r);
	assert_int_equal(stream_tokens_consume(t, "nosuchtoken", &r), TOKEN_UNKNOWN);
	fake_now += 1000000001ull; /* b's minute (here: second) passes */
	assert_int_equal(stream_tokens_consume(t, b, &r), TOKEN_EXPIRED);
	assert_null(r);
	/* At most CRI_STREAM_MAX_PENDING wait at once. */
	for (int i = 0; i < CRI_STREAM_MAX_PENDING; i++) {
		char *x = NULL;
		assert_int_equal(stream_tokens_insert(t, req_new(CRI_STREAM_EXEC, "x"), &x, &err), 0);
		free(x);
	}
	char *x = NULL;
	assert_int_equal(stream_tokens_insert(t, req_new(CRI_STREAM_EXEC, "y"), &x, &err), -1);
	assert_int_equal(err->status, KUMO_E_UNAVAILABLE);
	kumo_error_free(&err);
	fake_now += 2000000000ull; /* they expire, and room comes back */
	assert_int_equal(stream_tokens_insert(t, req_new(CRI_STREAM_EXEC, "z"), &x, &err), 0);
	free(x);
	free(a);
	free(b);
	stream_tokens_free(t);
}

/* ---- the fixture: fake kumod callbacks, a "pod" HTTP server, a log file ------------------- */

#define FILE_SIZE (256 * 1024 + 7)

struct fx {
	char dir[64];
	char log[96];
	atomic_bool running;        /* the fake container */
	atomic_int cancelled;       /* exec commands cancelled */
	bool grant_stdin;           /* attach_open hands out a stdin pipe */
	int stdin_read;             /* its read end (the "app's" fd 0) */
	const char *ip;
	char netns[96];
	atomic_bool pod_gone;       /* pod_target says the pod stopped */
	uint8_t *file;              /* what the pod serves */
	int http_fd;                /* the pod's listening socket */
	uint16_t http_port, refused_port;
	pthread_t http_thread;
	struct cri_stream_server *srv;
};
static struct fx F;

static int fx_attach_open(void *ctx, const char *id, bool want_stdin, struct cri_attach_target *t,
			  kumo_error_t *err)
{
	struct fx *f = ctx;
	if (strcmp(id, "ctr") != 0)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%s` not found", id);
	if (!f->running)
		return kumo_error(err, KUMO_E_PRECONDITION, "container `%s` is not running", id);
	t->log_path = xstrdup(f->log);
	t->tty = false;
	t->stdin_fd = -1;
	if (want_stdin && f->grant_stdin) {
		int p[2];
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		f->stdin_read = p[0];
		t->stdin_fd = p[1];
	}
	return 0;
}

static bool fx_running(void *ctx, const char *id, int32_t *code)
{
	struct fx *f = ctx;
	*code = 0;
	return f->running;
}

static int fx_pod_target(void *ctx, const char *pod, char **ip, char **netns, kumo_error_t *err)
{
	struct fx *f = ctx;
	if (strcmp(pod, "pod") != 0 || f->pod_gone)
		return kumo_error(err, KUMO_E_NOT_FOUND, "pod sandbox `%s` is gone", pod);
	*ip = xstrdup(f->ip);
	*netns = f->netns[0] ? xstrdup(f->netns) : NULL;
	return 0;
}

/* The fake exec: echo WORDS | fail | cat | sleep MS | nope. */
static int fx_exec(void *ctx, const struct cri_exec_spec *spec, int32_t *code, kumo_error_t *err)
{
	struct fx *f = ctx;
	const char *cmd = spec->argv[0];
	*code = 0;
	if (strcmp(cmd, "echo") == 0) {
		for (int i = 1; spec->argv[i]; i++) {
			kumo_write_all(spec->stdout_fd, spec->argv[i], strlen(spec->argv[i]));
			kumo_write_all(spec->stdout_fd, spec->argv[i + 1] ? " " : "\n", 1);
		}
	} else if (strcmp(cmd, "fail") == 0) {
		kumo_write_all(spec->stderr_fd, "bad\n", 4);
		*code = 3;
	} else if (strcmp(cmd, "cat") == 0) {
		char buf[4096];
		ssize_t n;
		while (spec->stdin_fd >= 0 && (n = read(spec->stdin_fd, buf, sizeof(buf))) > 0)
			if (kumo_write_all(spec->stdout_fd, buf, (size_t)n) < 0)
				break;
	} else if (strcmp(cmd, "sleep") == 0) {
		struct pollfd p = {.fd = spec->cancel_fd, .events = POLLIN};
		if (poll(&p, 1, atoi(spec->argv[1])) == 1) {
			f->cancelled++;
			*code = 137;
		}
	} else {
		return kumo_error(err, KUMO_E_UNSUPPORTED, "`%s` is not a Wasm module", cmd);
	}
	return 0;
}

static struct cri_stream_ops fx_ops = {
	.attach_open = fx_attach_open,
	.ctr_running = fx_running,
	.pod_target = fx_pod_target,
	.exec = fx_exec,
};

/* The pod: answers any request with the file, then closes (one thread per client). */
static void *http_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	size_t got = 0;
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = 0;
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	static const char head[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n";
	kumo_write_all(fd, head, sizeof(head) - 1);
	kumo_write_all(fd, F.file, FILE_SIZE);
	close(fd);
	return NULL;
}

static void *http_main(void *arg)
{
	for (;;) {
		int c = accept4(F.http_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* the listening socket was shut down */
		}
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_create(&t, &a, http_conn, (void *)(intptr_t)c);
		pthread_attr_destroy(&a);
	}
}

static uint16_t listen_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &l);
	return ntohs(sa.sin_port);
}

static int tcp_listener(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 512), 0);
	return fd;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Threads and fds of this process once the server settled: polls up to 3 s for the
 * numbers to come back to `threads`/`fds`, returns whether they did. */
static bool settles_to(int threads, int fds)
{
	for (int i = 0; i < 300; i++) {
		/* Fewer is fine: a thread of the test's own pod server may have ended. */
		if (cri_stream_sessions(F.srv) == 0 && count_dir("/proc/self/task") <= threads &&
		    count_dir("/proc/self/fd") <= fds)
			return true;
		usleep(10000);
	}
	print_message("threads %d (want %d), fds %d (want %d), sessions %d\n",
		      count_dir("/proc/self/task"), threads, count_dir("/proc/self/fd"), fds,
		      cri_stream_sessions(F.srv));
	return false;
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(F.dir, sizeof(F.dir), "/tmp/kumo-stream-test.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.log, sizeof(F.log), "%s/ctr.log", F.dir);
	int lf = open(F.log, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(lf);
	F.running = true;
	F.ip = "127.0.0.1";
	F.file = xmalloc(FILE_SIZE);
	for (size_t i = 0; i < FILE_SIZE; i++)
		F.file[i] = (uint8_t)(i * 7 + i / 251);
	F.http_fd = tcp_listener();
	F.http_port = listen_port(F.http_fd);
	int r = tcp_listener(); /* bound, then closed: nothing listens there */
	F.refused_port = listen_port(r);
	close(r);
	pthread_create(&F.http_thread, NULL, http_main, NULL);
	struct cri_stream_options o = {.address = "127.0.0.1:0", .token_ttl_ms = 400,
				       .creation_timeout_ms = 1000};
	kumo_error_t err = NULL;
	assert_int_equal(cri_stream_server_start(&o, &fx_ops, &F, &F.srv, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	cri_stream_server_stop(F.srv);
	shutdown(F.http_fd, SHUT_RDWR);
	pthread_join(F.http_thread, NULL);
	close(F.http_fd);
	free(F.file);
	unlink(F.log);
	rmdir(F.dir);
	return 0;
}

static char *url_for(int kind, const char *id, const int32_t *ports, size_t n, bool tty,
		     bool in, bool out, bool errs, const char *const *cmd)
{
	struct cri_stream_request *r = req_new(kind, id);
	r->tty = tty;
	r->in = in;
	r->out = out;
	r->err = errs;
	if (n) {
		r->ports = xmalloc(sizeof(int32_t) * n);
		memcpy(r->ports, ports, sizeof(int32_t) * n);
		r->n_ports = n;
	}
	if (cmd) {
		size_t k = 0;
		while (cmd[k])
			k++;
		r->cmd = xzalloc(sizeof(char *) * (k + 1));
		for (size_t i = 0; i < k; i++)
			r->cmd[i] = xstrdup(cmd[i]);
	}
	char *url = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cri_stream_url(F.srv, r, &url, &err), 0);
	return url;
}

static struct sc_conn *dial(const char *url, int transport, const char *protocol)
{
	struct sc_conn *c = NULL;
	int status = 0;
	char *why = NULL;
	if (sc_connect(url, transport, protocol, 5000, &c, &status, &why) < 0)
		fail_msg("connect %s: http %d: %s", url, status, why);
	return c;
}

/* Checks n responses are the file, and (when refused_at >= 0) that connection got an
 * error and no data. */
static void check_pf(struct sc_pf_result *res, int n, int refused_at)
{
	for (int i = 0; i < n; i++) {
		if (i == refused_at) {
			assert_non_null(res[i].error);
			assert_non_null(strcasestr(res[i].error, "connection refused"));
			assert_int_equal(sbuf_size(&res[i].data), 0);
			continue;
		}
		if (res[i].error)
			fail_msg("connection %d: %s", i, res[i].error);
		const char *d = (const char *)sbuf_head(&res[i].data);
		size_t dl = sbuf_size(&res[i].data);
		const char *body = memmem(d, dl, "\r\n\r\n", 4);
		assert_non_null(body);
		assert_int_equal(d + dl - (body + 4), FILE_SIZE);
		assert_memory_equal(body + 4, F.file, FILE_SIZE);
	}
}

/* ---- port-forward -------------------------------------------------------------------------- */

static const char http_get[] = "GET / HTTP/1.0\r\nHost: pod\r\n\r\n";

static void pf_over(int transport, int n)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	autofree char *url = url_for(CRI_STREAM_PORTFORWARD, "pod", NULL, 0, 0, 0, 0, 0, NULL);
	struct sc_conn *c = dial(url, transport, NULL);
	struct sc_pf_result *res = xzalloc(sizeof(*res) * (size_t)n);
	char *why = NULL;
	if (sc_port_forward(c, F.http_port, n, http_get, strlen(http_get), 20000, res, &why) < 0)
		fail_msg("port-forward: %s", why);
	check_pf(res, n, -1);
	/* A port nothing listens on: that stream says so, the connection goes on. */
	struct sc_pf_result bad = {0};
	assert_int_equal(sc_port_forward(c, F.refused_port, 1, http_get, strlen(http_get), 5000,
					 &bad, &why), 0);
	check_pf(&bad, 1, 0);
	sc_pf_result_clear(&bad);
	for (int i = 0; i < n; i++)
		sc_pf_result_clear(&res[i]);
	assert_int_equal(sc_port_forward(c, F.http_port, 1, http_get, strlen(http_get), 5000, res,
					 &why), 0);
	check_pf(res, 1, -1);
	for (int i = 0; i < n; i++)
		sc_pf_result_clear(&res[i]);
	free(res);
	sc_close(c);
	assert_true(settles_to(threads, fds));
}

static void test_portforward_spdy(void **state) { pf_over(SC_SPDY, 200); }
static void test_portforward_ws_tunnel(void **state) { pf_over(SC_WS_TUNNEL, 50); }

static void test_portforward_ws_channels(void **state)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	int32_t ports[] = {F.http_port, F.refused_port, F.http_port};
	autofree char *url = url_for(CRI_STREAM_PORTFORWARD, "pod", ports, 3, 0, 0, 0, 0, NULL);
	struct sc_conn *c = dial(url, SC_WS_CHANNELS, "v4.channel.k8s.io");
	struct sc_pf_result res[3];
	char *why = NULL;
	if (sc_port_forward(c, 0, 3, http_get, strlen(http_get), 10000, res, &why) < 0)
		fail_msg("port-forward: %s", why);
	check_pf(res, 3, 1);
	for (int i = 0; i < 3; i++)
		sc_pf_result_clear(&res[i]);
	sc_close(c);
	assert_true(settles_to(threads, fds));
}

/* A pod that stops while a connection waits on it (its VM sends no FIN): the
 * connection ends with the reason, the session too. */
static void *stop_pod_later(void *arg)
{
	usleep(500000);
	F.pod_gone = true;
	return NULL;
}

static void test_portforward_pod_stops(void **state)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	int silent = tcp_listener(); /* the kernel accepts; nobody ever answers */
	autofree char *url = url_for(CRI_STREAM_PORTFORWARD, "pod", NULL, 0, 0, 0, 0, 0, NULL);
	struct sc_conn *c = dial(url, SC_SPDY, NULL);
	pthread_t t;
	pthread_create(&t, NULL, stop_pod_later, NULL);
	struct sc_pf_result res = {0};
	char *why = NULL;
	uint64_t t0 = kumo_now_ns();
	assert_int_equal(sc_port_forward(c, listen_port(silent), 1, http_get, strlen(http_get),
					 10000, &res, &why), 0);
	assert_true(kumo_now_ns() - t0 < 3000000000ull);
	assert_non_null(res.error);
	assert_non_null(strstr(res.error, "pod sandbox `pod` is gone"));
	assert_int_equal(sbuf_size(&res.data), 0);
	sc_pf_result_clear(&res);
	pthread_join(t, NULL);
	sc_close(c);
	close(silent);
	F.pod_gone = false;
	assert_true(settles_to(threads, fds));
}

/* The pod's own network namespace: a listener on 127.0.0.1 there, none on the host's
 * 127.0.0.1 at that port. */
struct nsd {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state;    /* 0 starting, 1 serving, -1 could not */
	int fd;
	uint16_t port;
	pid_t tid;
};

static void *ns_server(void *arg)
{
	struct nsd *n = arg;
	int st = -1;
	if (unshare(CLONE_NEWNET) == 0) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct ifreq ifr = {0};
		strcpy(ifr.ifr_name, "lo");
		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			if (ioctl(s, SIOCSIFFLAGS, &ifr) == 0)
				st = 1;
		}
		close(s);
	}
	if (st == 1) {
		n->fd = tcp_listener();
		n->port = listen_port(n->fd);
		n->tid = (pid_t)syscall(SYS_gettid);
	}
	pthread_mutex_lock(&n->lock);
	n->state = st;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	if (st != 1)
		return NULL;
	int c = accept4(n->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0) {
		static const char m[] = "HTTP/1.0 200 OK\r\n\r\nfrom inside the pod namespace";
		char buf[512];
		if (read(c, buf, sizeof(buf)) > 0)
			kumo_write_all(c, m, sizeof(m) - 1);
		close(c);
	}
	close(n->fd);
	return NULL;
}

static void test_portforward_netns(void **state)
{
	struct nsd n = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	pthread_t t;
	pthread_create(&t, NULL, ns_server, &n);
	pthread_mutex_lock(&n.lock);
	while (n.state == 0)
		pthread_cond_wait(&n.cond, &n.lock);
	pthread_mutex_unlock(&n.lock);
	if (n.state < 0) {
		pthread_join(t, NULL);
		skip(); /* needs CAP_SYS_ADMIN for a network namespace */
	}
	snprintf(F.netns, sizeof(F.netns), "/proc/%d/task/%d/ns/net", getpid(), n.tid);
	autofree char *url = url_for(CRI_STREAM_PORTFORWARD, "pod", NULL, 0, 0, 0, 0, 0, NULL);
	struct sc_conn *c = dial(url, SC_SPDY, NULL);
	struct sc_pf_result res = {0};
	char *why = NULL;
	assert_int_equal(sc_port_forward(c, n.port, 1, http_get, strlen(http_get), 5000, &res,
					 &why), 0);
	assert_null(res.error);
	assert_non_null(memmem(sbuf_head(&res.data), sbuf_size(&res.data),
			       "from inside the pod namespace", 29));
	sc_pf_result_clear(&res);
	sc_close(c);
	pthread_join(t, NULL);
	/* The namespace is gone with its thread: a clean error, not a hang. */
	url = (free(url), url_for(CRI_STREAM_PORTFORWARD, "pod", NULL, 0, 0, 0, 0, 0, NULL));
	c = dial(url, SC_SPDY, NULL);
	assert_int_equal(sc_port_forward(c, n.port, 1, http_get, 4, 5000, &res, &why), 0);
	assert_non_null(res.error);
	assert_non_null(strstr(res.error, "network namespace"));
	sc_pf_result_clear(&res);
	sc_close(c);
	F.netns[0] = 0;
}

/* ---- attach ---------------------------------------------------------------------------- */

static void append_log(const char *text)
{
	int fd = open(F.log, O_WRONLY | O_APPEND | O_CLOEXEC);
	kumo_write_all(fd, text, strlen(text));
	close(fd);
}

struct attach_run {
	const char *url;
	int transport;
	const char *protocol;
	bool in;
	const char *stdin_text;
	struct sc_rc_result res;
	int r;
	char *why;
};

static void *attach_thread(void *arg)
{
	struct attach_run *a = arg;
	struct sc_conn *c = dial(a->url, a->transport, a->protocol);
	const char *t = a->stdin_text ? a->stdin_text : "";
	a->r = sc_remote_command(c, a->in, t, strlen(t), false, true, true, false, -1, -1, 10000,
				 &a->res, &a->why);
	sc_close(c);
	return NULL;
}

struct delayed {
	int ms;
	const char *text;
};

static void *append_later(void *arg)
{
	struct delayed *d = arg;
	usleep((useconds_t)d->ms * 1000);
	append_log(d->text);
	return NULL;
}

static void *stop_ctr_later(void *arg)
{
	usleep(700000);
	F.running = false;
	return NULL;
}

/* Attach follows what is appended to the log (after it connected), splits stdout and
 * stderr, rejoins partial lines, and ends with Success when the container stops. */
static void attach_over(int transport, const char *protocol)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	F.running = true;
	append_log("2026-01-01T00:00:00.000000000Z stdout F written before the attach\n");
	autofree char *url = url_for(CRI_STREAM_ATTACH, "ctr", NULL, 0, 0, 0, 1, 1, NULL);
	struct attach_run a = {.url = url, .transport = transport, .protocol = protocol};
	pthread_t t;
	pthread_create(&t, NULL, attach_thread, &a);
	usleep(300000); /* connected and following */
	append_log("2026-01-01T00:00:01.000000000Z stdout F line one\n"
		   "2026-01-01T00:00:01.000000000Z stderr F an error line\n"
		   "2026-01-01T00:00:01.000000000Z stdout P no newline, \n");
	usleep(150000);
	append_log("2026-01-01T00:00:01.000000000Z stdout F then more\n"
		   "2026-01-01T00:00:01.000000000Z stdout F line two\n");
	usleep(150000);
	F.running = false;
	pthread_join(t, NULL);
	if (a.r < 0)
		fail_msg("attach: %s", a.why);
	assert_true(a.res.success);
	const char want[] = "line one\nno newline, then more\nline two\n";
	assert_int_equal(sbuf_size(&a.res.out), sizeof(want) - 1);
	assert_memory_equal(sbuf_head(&a.res.out), want, sizeof(want) - 1);
	assert_int_equal(sbuf_size(&a.res.err), 14);
	assert_memory_equal(sbuf_head(&a.res.err), "an error line\n", 14);
	sc_rc_result_clear(&a.res);
	assert_true(settles_to(threads, fds));
}

static void test_attach_spdy(void **state) { attach_over(SC_SPDY, "v4.channel.k8s.io"); }
static void test_attach_ws_v5(void **state) { attach_over(SC_WS_CHANNELS, "v5.channel.k8s.io"); }
static void test_attach_ws_base64(void **state)
{
	attach_over(SC_WS_CHANNELS, "v4.base64.channel.k8s.io");
}

/* tty: one raw stream; stderr's lines come on stdout, resize events are dropped. */
static void test_attach_tty(void **state)
{
	F.running = true;
	autofree char *url = url_for(CRI_STREAM_ATTACH, "ctr", NULL, 0, 1, 0, 1, 0, NULL);
	struct sc_conn *c = dial(url, SC_SPDY, "v4.channel.k8s.io");
	struct delayed d = {300, "2026-01-01T00:00:01.000000000Z stdout F out\n"
				 "2026-01-01T00:00:01.000000000Z stderr F err\n"};
	pthread_t t, s;
	pthread_create(&t, NULL, append_later, &d);
	pthread_create(&s, NULL, stop_ctr_later, NULL);
	struct sc_rc_result res;
	char *why = NULL;
	assert_int_equal(sc_remote_command(c, false, NULL, 0, false, true, true, true, -1, -1, 5000,
					   &res, &why),
			 0);
	pthread_join(t, NULL);
	pthread_join(s, NULL);
	assert_true(res.success);
	assert_int_equal(sbuf_size(&res.out), 8);
	assert_memory_equal(sbuf_head(&res.out), "out\nerr\n", 8);
	sc_rc_result_clear(&res);
	sc_close(c);
}

/* Attach follows the log across a rotation (rename, then the pump's new file). */
static void test_attach_rotation(void **state)
{
	F.running = true;
	autofree char *url = url_for(CRI_STREAM_ATTACH, "ctr", NULL, 0, 0, 0, 1, 1, NULL);
	struct attach_run a = {.url = url, .transport = SC_SPDY};
	pthread_t t;
	pthread_create(&t, NULL, attach_thread, &a);
	usleep(300000);
	append_log("2026-01-01T00:00:01.000000000Z stdout F before rotation\n");
	autofree char *old = xasprintf("%s.1", F.log);
	rename(F.log, old);
	append_log("x"); /* fails: no file; the pump still writes to the renamed one */
	int fd = open(old, O_WRONLY | O_APPEND | O_CLOEXEC);
	static const char late[] = "2026-01-01T00:00:01.000000000Z stdout F late in the old file\n";
	kumo_write_all(fd, late, sizeof(late) - 1);
	close(fd);
	fd = open(F.log, O_CREAT | O_WRONLY | O_CLOEXEC, 0644); /* the pump reopens */
	close(fd);
	usleep(250000);
	append_log("2026-01-01T00:00:01.000000000Z stdout F in the new file\n");
	usleep(250000);
	F.running = false;
	pthread_join(t, NULL);
	assert_int_equal(a.r, 0);
	const char want[] = "before rotation\nlate in the old file\nin the new file\n";
	assert_int_equal(sbuf_size(&a.res.out), sizeof(want) - 1);
	assert_memory_equal(sbuf_head(&a.res.out), want, sizeof(want) - 1);
	sc_rc_result_clear(&a.res);
	unlink(old);
}

/* Stdin reaches the fd kumod hands out, and its end closes it. */
static void test_attach_stdin(void **state)
{
	F.running = true;
	F.grant_stdin = true;
	F.stdin_read = -1;
	autofree char *url = url_for(CRI_STREAM_ATTACH, "ctr", NULL, 0, 0, 1, 1, 1, NULL);
	struct attach_run a = {.url = url, .transport = SC_WS_CHANNELS, .protocol =
			       "v5.channel.k8s.io", .in = true, .stdin_text = "typed\ninput\n"};
	pthread_t t;
	pthread_create(&t, NULL, attach_thread, &a);
	for (int i = 0; i < 200 && F.stdin_read < 0; i++)
		usleep(10000);
	assert_true(F.stdin_read >= 0);
	char buf[64];
	size_t got = 0;
	ssize_t n;
	while ((n = read(F.stdin_read, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n; /* ends when the client's stdin ended (v5 close signal) */
	assert_int_equal(got, 12);
	assert_memory_equal(buf, "typed\ninput\n", 12);
	close(F.stdin_read);
	F.running = false;
	pthread_join(t, NULL);
	assert_int_equal(a.r, 0);
	assert_true(a.res.success);
	sc_rc_result_clear(&a.res);
	F.grant_stdin = false;
}

/* A client that leaves in the middle: the session, its fds and thread go. */
static void test_attach_client_leaves(void **state)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	F.running = true;
	autofree char *url = url_for(CRI_STREAM_ATTACH, "ctr", NULL, 0, 0, 0, 1, 0, NULL);
	struct sc_conn *c = dial(url, SC_SPDY, NULL);
	sc_stop_when(c, "marker");
	struct delayed d = {300, "2026-01-01T00:00:01.000000000Z stdout F marker\n"};
	pthread_t t;
	pthread_create(&t, NULL, append_later, &d);
	struct sc_rc_result res;
	char *why = NULL;
	assert_int_equal(sc_remote_command(c, false, NULL, 0, false, true, false, false, -1, -1,
					   5000, &res, &why),
			 0);
	pthread_join(t, NULL);
	assert_memory_equal(sbuf_head(&res.out), "marker\n", 7);
	sc_rc_result_clear(&res);
	sc_close(c); /* gone without a word */
	assert_true(settles_to(threads, fds));
}

/* ---- exec ---------------------------------------------------------------------------------- */

static int run_exec(int transport, const char *protocol, const char *const *cmd, bool in,
		    const char *stdin_text, struct sc_rc_result *res)
{
	autofree char *url = url_for(CRI_STREAM_EXEC, "ctr", NULL, 0, 0, in, 1, 1, cmd);
	struct sc_conn *c = dial(url, transport, protocol);
	char *why = NULL;
	const char *t = stdin_text ? stdin_text : "";
	int r = sc_remote_command(c, in, t, strlen(t), false, true, true, false, -1, -1, 10000,
				  res, &why);
	if (r < 0)
		print_message("exec: %s\n", why);
	free(why);
	sc_close(c);
	return r;
}

static void test_exec(void **state)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	const char *echo[] = {"echo", "hello", "world", NULL};
	const char *failc[] = {"fail", NULL};
	const char *cat[] = {"cat", NULL};
	const char *nope[] = {"nope", NULL};
	struct {
		int transport;
		const char *protocol;
	} ways[] = {{SC_SPDY, "v4.channel.k8s.io"},
		    {SC_SPDY, "v2.channel.k8s.io"},
		    {SC_WS_CHANNELS, "v5.channel.k8s.io"},
		    {SC_WS_CHANNELS, "v4.channel.k8s.io"}};
	for (size_t w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
		bool json = strncmp(ways[w].protocol, "v2", 2) != 0;
		struct sc_rc_result res;
		assert_int_equal(run_exec(ways[w].transport, ways[w].protocol, echo, false, NULL, &res), 0);
		assert_true(res.success);
		assert_int_equal(sbuf_size(&res.out), 12);
		assert_memory_equal(sbuf_head(&res.out), "hello world\n", 12);
		sc_rc_result_clear(&res);
		/* The exit code travels in the status (v4/v5); v2 has only the text. */
		assert_int_equal(run_exec(ways[w].transport, ways[w].protocol, failc, false, NULL, &res), 0);
		assert_false(res.success);
		if (json)
			assert_int_equal(res.exit_code, 3);
		assert_non_null(strstr(res.message, "exit"));
		assert_memory_equal(sbuf_head(&res.err), "bad\n", 4);
		sc_rc_result_clear(&res);
		/* WebSocket v4 has no way to end stdin (v5 added the close signal). */
		bool can_close_stdin = ways[w].transport == SC_SPDY ||
				       strcmp(ways[w].protocol, "v5.channel.k8s.io") == 0;
		if (can_close_stdin) {
			assert_int_equal(run_exec(ways[w].transport, ways[w].protocol, cat, true,
						  "copied through stdin\n", &res), 0);
			assert_true(res.success);
			assert_int_equal(sbuf_size(&res.out), 21);
			assert_memory_equal(sbuf_head(&res.out), "copied through stdin\n", 21);
			sc_rc_result_clear(&res);
		}
		assert_int_equal(run_exec(ways[w].transport, ways[w].protocol, nope, false, NULL, &res), 0);
		assert_false(res.success);
		assert_non_null(strstr(res.message, "not a Wasm module"));
		sc_rc_result_clear(&res);
	}
	assert_true(settles_to(threads, fds));
}

/* A command still running when the client leaves is cancelled and its thread joined. */
static void test_exec_client_leaves(void **state)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	int before = F.cancelled;
	const char *sleep_cmd[] = {"sleep", "20000", NULL};
	autofree char *url = url_for(CRI_STREAM_EXEC, "ctr", NULL, 0, 0, 0, 1, 1, sleep_cmd);
	struct sc_conn *c = dial(url, SC_SPDY, NULL);
	struct sc_rc_result res;
	char *why = NULL;
	assert_int_equal(sc_remote_command(c, false, NULL, 0, false, true, true, false, -1, -1, 300,
					   &res, &why),
			 -1); /* our own timeout: the command sleeps on */
	free(why);
	sc_rc_result_clear(&res);
	sc_close(c);
	assert_true(settles_to(threads, fds));
	assert_int_equal(F.cancelled, before + 1);
}

static void test_exec_sync(void **state)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	const char *echo[] = {"echo", "probe", "ok", NULL};
	uint8_t *o = NULL, *e = NULL;
	size_t ol = 0, el = 0;
	int32_t code = -1;
	kumo_error_t err = NULL;
	assert_int_equal(cri_stream_exec_sync(&fx_ops, &F, "ctr", echo, 1000, 1 << 20, &o, &ol, &e,
					      &el, &code, &err), 0);
	assert_int_equal(code, 0);
	assert_int_equal(ol, 9);
	assert_memory_equal(o, "probe ok\n", 9);
	assert_int_equal(el, 0);
	free(o);
	free(e);
	const char *failc[] = {"fail", NULL};
	assert_int_equal(cri_stream_exec_sync(&fx_ops, &F, "ctr", failc, 0, 2, &o, &ol, &e, &el,
					      &code, &err), 0);
	assert_int_equal(code, 3);
	assert_int_equal(el, 2); /* capped */
	free(o);
	free(e);
	/* The timeout ends the command and says so. */
	int before = F.cancelled;
	const char *sleep_cmd[] = {"sleep", "20000", NULL};
	uint64_t t0 = kumo_now_ns();
	assert_int_equal(cri_stream_exec_sync(&fx_ops, &F, "ctr", sleep_cmd, 200, 1 << 20, &o, &ol,
					      &e, &el, &code, &err), -1);
	assert_true(kumo_now_ns() - t0 < 2000000000ull);
	assert_int_equal(err->status, CRI_E_DEADLINE);
	assert_non_null(strstr(kumo_error_msg(err), "timed out after 200 ms"));
	kumo_error_free(&err);
	assert_int_equal(F.cancelled, before + 1);
	const char *nope[] = {"nope", NULL};
	assert_int_equal(cri_stream_exec_sync(&fx_ops, &F, "ctr", nope, 0, 16, &o, &ol, &e, &el,
					      &code, &err), -1);
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	kumo_error_free(&err);
	/* Without an exec backend: the clear error. */
	struct cri_stream_ops none = fx_ops;
	none.exec = NULL;
	assert_int_equal(cri_stream_exec_sync(&none, &F, "ctr", echo, 0, 16, &o, &ol, &e, &el,
					      &code, &err), -1);
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	assert_non_null(strstr(kumo_error_msg(err), "pod VM"));
	kumo_error_free(&err);
	assert_true(settles_to(threads, fds));
}

/* ---- errors before and at the upgrade ---------------------------------------------------------- */

static void expect_refusal(const char *url, int transport, const char *protocol, int status,
			   const char *text)
{
	struct sc_conn *c = NULL;
	int got = 0;
	char *why = NULL;
	assert_int_equal(sc_connect(url, transport, protocol, 5000, &c, &got, &why), -1);
	if (got != status || !why || !strstr(why, text))
		fail_msg("%s: got %d `%s`, want %d `%s`", url, got, why ? why : "", status, text);
	free(why);
}

static void test_bad_tokens(void **state)
{
	int threads = count_dir("/proc/self/task"), fds = count_dir("/proc/self/fd");
	autofree char *bad = xasprintf("%s/attach/notatoken", cri_stream_base_url(F.srv));
	expect_refusal(bad, SC_SPDY, NULL, 404, "unknown streaming token `notatoken`");
	expect_refusal(bad, SC_WS_CHANNELS, NULL, 404, "unknown streaming token");
	autofree char *url = url_for(CRI_STREAM_ATTACH, "ctr", NULL, 0, 0, 0, 1, 1, NULL);
	F.running = false; /* the container stopped: the stream says so */
	struct sc_conn *c = dial(url, SC_SPDY, NULL);
	struct sc_rc_result res;
	char *why = NULL;
	assert_int_equal(sc_remote_command(c, false, NULL, 0, false, true, true, false, -1, -1,
					   5000, &res, &why), 0);
	assert_false(res.success);
	assert_non_null(strstr(res.message, "is not running"));
	sc_rc_result_clear(&res);
	sc_close(c);
	F.running = true;
	expect_refusal(url, SC_SPDY, NULL, 410, "was already used");
	autofree char *late = url_for(CRI_STREAM_PORTFORWARD, "pod", NULL, 0, 0, 0, 0, 0, NULL);
	usleep(450000); /* the test server's tokens live 400 ms */
	expect_refusal(late, SC_SPDY, NULL, 410, "expired");
	autofree char *wrong = url_for(CRI_STREAM_EXEC, "ctr", NULL, 0, 0, 0, 1, 0,
				       (const char *const[]){"echo", NULL});
	char *p = strstr(wrong, "/exec/");
	autofree char *as_attach = xasprintf("%.*s/attach/%s", (int)(p - wrong), wrong, p + 6);
	expect_refusal(as_attach, SC_SPDY, NULL, 404, "issued for exec, not attach");
	autofree char *u2 = url_for(CRI_STREAM_ATTACH, "ctr", NULL, 0, 0, 0, 1, 1, NULL);
	expect_refusal(u2, SC_SPDY, "v9.channel.k8s.io", 403, "no protocol in common");
	autofree char *u3 = url_for(CRI_STREAM_ATTACH, "gone", NULL, 0, 0, 0, 1, 1, NULL);
	c = dial(u3, SC_SPDY, NULL);
	assert_int_equal(sc_remote_command(c, false, NULL, 0, false, true, true, false, -1, -1,
					   5000, &res, &why), 0);
	assert_non_null(strstr(res.message, "container `gone` not found"));
	sc_rc_result_clear(&res);
	sc_close(c);
	assert_true(settles_to(threads, fds));
}

/* Stopping the server ends live sessions (the client sees its connection close). */
static void test_stop_with_sessions(void **state)
{
	F.running = true;
	autofree char *url = url_for(CRI_STREAM_ATTACH, "ctr", NULL, 0, 0, 0, 1, 1, NULL);
	struct attach_run a = {.url = url, .transport = SC_SPDY};
	pthread_t t;
	pthread_create(&t, NULL, attach_thread, &a);
	for (int i = 0; i < 200 && cri_stream_sessions(F.srv) == 0; i++)
		usleep(10000);
	assert_int_equal(cri_stream_sessions(F.srv), 1);
	int threads = count_dir("/proc/self/task");
	cri_stream_server_stop(F.srv); /* returns once the session is gone */
	pthread_join(t, NULL);
	sc_rc_result_clear(&a.res);
	free(a.why);
	assert_true(count_dir("/proc/self/task") <= threads - 2); /* the session's and MHD's */
	struct cri_stream_options o = {.address = "127.0.0.1:0", .token_ttl_ms = 400,
				       .creation_timeout_ms = 1000};
	kumo_error_t err = NULL;
	assert_int_equal(cri_stream_server_start(&o, &fx_ops, &F, &F.srv, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spdy_dictionary),
		cmocka_unit_test(test_spdy_roundtrip),
		cmocka_unit_test(test_websocket_codec),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_portforward_spdy),
		cmocka_unit_test(test_portforward_ws_tunnel),
		cmocka_unit_test(test_portforward_ws_channels),
		cmocka_unit_test(test_portforward_netns),
		cmocka_unit_test(test_portforward_pod_stops),
		cmocka_unit_test(test_attach_spdy),
		cmocka_unit_test(test_attach_ws_v5),
		cmocka_unit_test(test_attach_ws_base64),
		cmocka_unit_test(test_attach_tty),
		cmocka_unit_test(test_attach_rotation),
		cmocka_unit_test(test_attach_stdin),
		cmocka_unit_test(test_attach_client_leaves),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_exec_client_leaves),
		cmocka_unit_test(test_exec_sync),
		cmocka_unit_test(test_bad_tokens),
		cmocka_unit_test(test_stop_with_sessions),
	};
	if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER='test_exec*' */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
