/* cri/server.c - the gRPC transport of kumod on gRPC core's C API: a unix socket, one
 * completion-queue poller, a pool of workers for unary calls, server streaming for
 * GetContainerEvents, and graceful shutdown on SIGTERM (VMs keep running). */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "cri/cri.h"

enum tag_kind {
	TAG_NEW_CALL,  /* a call arrived */
	TAG_RECV,      /* its request message was read */
	TAG_DONE,      /* its response and status were sent */
	TAG_S_INIT,    /* stream: initial metadata sent, request read */
	TAG_S_SEND,    /* stream: one event sent */
	TAG_S_CLOSED,  /* stream: the call ended (client left or server cancelled) */
	TAG_SHUTDOWN,  /* server shutdown finished */
};

struct tag {
	enum tag_kind kind;
	void *obj; /* struct call or struct stream */
};

struct srv;

struct call {
	struct srv *s;
	struct tag t_new, t_recv, t_done;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	grpc_byte_buffer *recv_buf;
	grpc_byte_buffer *send_buf;
	grpc_slice status_details;
	bool has_details;
	int cancelled;
	char *method;
	uint64_t t0;
	struct call *next_job;
};

struct qitem {
	grpc_byte_buffer *buf;
	struct qitem *next;
};

struct stream {
	struct call *c;
	struct tag t_init, t_send, t_closed;
	pthread_mutex_t lock;
	struct qitem *head, *tail;
	grpc_byte_buffer *sending_buf;
	bool ready, sending, closed;
	int pending; /* batches in flight */
	int sub;     /* events subscription */
	int cancelled;
	struct stream *next;
};

struct srv {
	grpc_server *server;
	grpc_completion_queue *cq;
	struct cri_runtime *rt;
	struct tag t_shutdown;
	pthread_mutex_t lock;      /* guards the fields below */
	pthread_cond_t cond;
	struct call *jobs_head, *jobs_tail;
	bool quitting;             /* workers leave */
	bool shutting_down;        /* no new calls requested */
	bool shutdown_done;
	int inflight;              /* unary calls accepted and not yet finished */
	struct stream *streams;
};

static char *slice_dup(grpc_slice s)
{
	return xstrndup((const char *)GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
}

static void call_free(struct call *c)
{
	if (c->call)
		grpc_call_unref(c->call);
	grpc_call_details_destroy(&c->details);
	grpc_metadata_array_destroy(&c->md);
	if (c->recv_buf)
		grpc_byte_buffer_destroy(c->recv_buf);
	if (c->send_buf)
		grpc_byte_buffer_destroy(c->send_buf);
	if (c->has_details)
		grpc_slice_unref(c->status_details);
	free(c->method);
	free(c);
}

static void request_call(struct srv *s)
{
	struct call *c = xzalloc(sizeof(*c));
	c->s = s;
	c->t_new = (struct tag){TAG_NEW_CALL, c};
	c->t_recv = (struct tag){TAG_RECV, c};
	c->t_done = (struct tag){TAG_DONE, c};
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->md);
	grpc_call_error e = grpc_server_request_call(s->server, &c->call, &c->details, &c->md, s->cq,
						     s->cq, &c->t_new);
	if (e != GRPC_CALL_OK) {
		log_error("grpc: cannot request a call (error %d)", (int)e);
		call_free(c);
	}
}

/* Sends the response (or error status) of a unary call. */
static void finish_unary(struct call *c, int code, const char *msg, const uint8_t *resp,
			 size_t len)
{
	grpc_op ops[4];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[n++].data.send_initial_metadata.count = 0;
	if (code == GRPC_STATUS_OK) {
		grpc_slice sl = grpc_slice_from_copied_buffer((const char *)resp, len);
		c->send_buf = grpc_raw_byte_buffer_create(&sl, 1);
		grpc_slice_unref(sl);
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = c->send_buf;
	}
	c->status_details = grpc_slice_from_copied_string(msg ? msg : "");
	c->has_details = true;
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.trailing_metadata_count = 0;
	ops[n].data.send_status_from_server.status = (grpc_status_code)code;
	ops[n++].data.send_status_from_server.status_details = &c->status_details;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
	grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->t_done, NULL);
	if (e != GRPC_CALL_OK) {
		log_error("grpc: %s: cannot send the response (error %d)", c->method, (int)e);
		pthread_mutex_lock(&c->s->lock);
		c->s->inflight--;
		pthread_cond_broadcast(&c->s->cond);
		pthread_mutex_unlock(&c->s->lock);
		call_free(c);
	}
}

/* When the client gives up on the call, on kumo_now_ns()'s clock (0: never); calls
 * forwarded to the downstream runtime keep it. */
static uint64_t deadline_of(const struct call *c)
{
	gpr_timespec d = gpr_convert_clock_type(c->details.deadline, GPR_CLOCK_MONOTONIC);
	gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
	if (gpr_time_cmp(c->details.deadline, gpr_inf_future(c->details.deadline.clock_type)) == 0)
		return 0;
	gpr_timespec left = gpr_time_sub(d, now);
	int64_t ms = gpr_time_to_millis(left);
	if (ms > 24LL * 3600 * 1000)
		return 0; /* as good as none */
	uint64_t t = kumo_now_ns();
	return ms <= 0 ? t : t + (uint64_t)ms * 1000000;
}

/* Runs one unary call on a worker thread. */
static void serve_unary(struct call *c)
{
	if (!c->recv_buf) {
		finish_unary(c, GRPC_STATUS_INVALID_ARGUMENT, "the call carried no request message",
			     NULL, 0);
		return;
	}
	grpc_byte_buffer_reader r;
	if (!grpc_byte_buffer_reader_init(&r, c->recv_buf)) {
		finish_unary(c, GRPC_STATUS_INVALID_ARGUMENT, "unreadable request message", NULL, 0);
		return;
	}
	grpc_slice req = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	uint8_t *resp = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	int rc = cri_dispatch_until(c->s->rt, c->method, GRPC_SLICE_START_PTR(req),
				    GRPC_SLICE_LENGTH(req), deadline_of(c), &resp, &len, &err);
	grpc_slice_unref(req);
	double ms = (double)(kumo_now_ns() - c->t0) / 1e6;
	if (rc < 0) {
		int code = cri_grpc_code(err->status);
		if (code == GRPC_STATUS_NOT_FOUND || code == GRPC_STATUS_UNIMPLEMENTED)
			log_debug("%s: %s (%.1f ms)", c->method, err->msg, ms);
		else
			log_warn("%s: %s (%.1f ms)", c->method, err->msg, ms);
		finish_unary(c, code, err->msg, NULL, 0);
		kumo_error_free(&err);
		return;
	}
	log_debug("%s ok (%.1f ms)", c->method, ms); /* tests/bench/bench-cri.sh reads it */
	finish_unary(c, GRPC_STATUS_OK, NULL, resp, len);
	free(resp);
}

static void *worker_main(void *arg)
{
	struct srv *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->jobs_head && !s->quitting)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->jobs_head) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		struct call *c = s->jobs_head;
		s->jobs_head = c->next_job;
		if (!s->jobs_head)
			s->jobs_tail = NULL;
		pthread_mutex_unlock(&s->lock);
		serve_unary(c);
	}
}

/* --- GetContainerEvents ------------------------------------------------------------ */

static void stream_maybe_send(struct stream *st) /* st->lock held */
{
	if (!st->ready || st->sending || st->closed || !st->head)
		return;
	struct qitem *q = st->head;
	st->head = q->next;
	if (!st->head)
		st->tail = NULL;
	st->sending_buf = q->buf;
	free(q);
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = st->sending_buf;
	if (grpc_call_start_batch(st->c->call, &op, 1, &st->t_send, NULL) == GRPC_CALL_OK) {
		st->sending = true;
		st->pending++;
	} else {
		grpc_byte_buffer_destroy(st->sending_buf);
		st->sending_buf = NULL;
	}
}

static void stream_on_event(void *ctx, const uint8_t *msg, size_t len)
{
	struct stream *st = ctx;
	pthread_mutex_lock(&st->lock);
	if (!st->closed) {
		struct qitem *q = xzalloc(sizeof(*q));
		grpc_slice sl = grpc_slice_from_copied_buffer((const char *)msg, len);
		q->buf = grpc_raw_byte_buffer_create(&sl, 1);
		grpc_slice_unref(sl);
		if (st->tail)
			st->tail->next = q;
		else
			st->head = q;
		st->tail = q;
		stream_maybe_send(st);
	}
	pthread_mutex_unlock(&st->lock);
}

static void stream_start(struct srv *s, struct call *c)
{
	struct stream *st = xzalloc(sizeof(*st));
	st->c = c;
	st->t_init = (struct tag){TAG_S_INIT, st};
	st->t_send = (struct tag){TAG_S_SEND, st};
	st->t_closed = (struct tag){TAG_S_CLOSED, st};
	pthread_mutex_init(&st->lock, NULL);
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = 0;
	ops[1].op = GRPC_OP_RECV_MESSAGE;
	ops[1].data.recv_message.recv_message = &c->recv_buf;
	grpc_op close_op;
	memset(&close_op, 0, sizeof(close_op));
	close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	close_op.data.recv_close_on_server.cancelled = &st->cancelled;
	pthread_mutex_lock(&st->lock);
	if (grpc_call_start_batch(c->call, ops, 2, &st->t_init, NULL) == GRPC_CALL_OK)
		st->pending++;
	if (grpc_call_start_batch(c->call, &close_op, 1, &st->t_closed, NULL) == GRPC_CALL_OK)
		st->pending++;
	bool dead = st->pending < 2;
	pthread_mutex_unlock(&st->lock);
	if (dead)
		log_error("grpc: cannot start the events stream");
	st->sub = cri_events_subscribe(s->rt, stream_on_event, st);
	pthread_mutex_lock(&s->lock);
	st->next = s->streams;
	s->streams = st;
	pthread_mutex_unlock(&s->lock);
	log_info("events: a client subscribed");
}

static void stream_maybe_free(struct srv *s, struct stream *st)
{
	pthread_mutex_lock(&st->lock);
	bool done = st->closed && st->pending == 0;
	pthread_mutex_unlock(&st->lock);
	if (!done)
		return;
	pthread_mutex_lock(&s->lock);
	for (struct stream **pp = &s->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	while (st->head) {
		struct qitem *q = st->head;
		st->head = q->next;
		grpc_byte_buffer_destroy(q->buf);
		free(q);
	}
	pthread_mutex_destroy(&st->lock);
	call_free(st->c);
	free(st);
	log_info("events: a client left");
}

static void stream_on_tag(struct srv *s, struct tag *t, bool ok)
{
	struct stream *st = t->obj;
	if (t->kind == TAG_S_CLOSED) {
		/* Unsubscribe first and without st->lock: publishing holds the events lock
		 * and then takes st->lock. */
		cri_events_unsubscribe(s->rt, st->sub);
		pthread_mutex_lock(&st->lock);
		st->closed = true;
		st->pending--;
		pthread_mutex_unlock(&st->lock);
	} else {
		pthread_mutex_lock(&st->lock);
		st->pending--;
		if (t->kind == TAG_S_INIT) {
			st->ready = ok;
			if (st->c->recv_buf) {
				grpc_byte_buffer_destroy(st->c->recv_buf);
				st->c->recv_buf = NULL;
			}
		} else {
			grpc_byte_buffer_destroy(st->sending_buf);
			st->sending_buf = NULL;
			st->sending = false;
		}
		if (ok)
			stream_maybe_send(st);
		pthread_mutex_unlock(&st->lock);
	}
	stream_maybe_free(s, st);
}

/* --- the completion-queue poller ---------------------------------------------------- */

static void on_new_call(struct srv *s, struct call *c, bool ok)
{
	if (!ok) {
		call_free(c); /* the server is shutting down */
		return;
	}
	pthread_mutex_lock(&s->lock);
	bool again = !s->shutting_down;
	pthread_mutex_unlock(&s->lock);
	if (again)
		request_call(s);
	c->method = slice_dup(c->details.method);
	c->t0 = kumo_now_ns();
	kumo_error_t eerr = NULL;
	bool events = strcmp(c->method, CRI_METHOD_EVENTS) == 0;
	if (events && cri_events_available(s->rt, &eerr) == 0) {
		stream_start(s, c);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->inflight++;
	pthread_mutex_unlock(&s->lock);
	if (events) {
		/* A mixed node whose downstream streams no events: its answer, at once. */
		log_debug("%s: %s", c->method, kumo_error_msg(eerr));
		finish_unary(c, cri_grpc_code(eerr->status), eerr->msg, NULL, 0);
		kumo_error_free(&eerr);
		return;
	}
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->recv_buf;
	if (grpc_call_start_batch(c->call, &op, 1, &c->t_recv, NULL) != GRPC_CALL_OK) {
		pthread_mutex_lock(&s->lock);
		s->inflight--;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		call_free(c);
	}
}

static void *poller_main(void *arg)
{
	struct srv *s = arg;
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
							   NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			return NULL;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		struct tag *t = ev.tag;
		struct call *c = t->obj;
		switch (t->kind) {
		case TAG_NEW_CALL:
			on_new_call(s, c, ev.success);
			break;
		case TAG_RECV:
			/* Hand the call to a worker: handlers may be slow (pull, boot). */
			pthread_mutex_lock(&s->lock);
			if (s->jobs_tail)
				s->jobs_tail->next_job = c;
			else
				s->jobs_head = c;
			s->jobs_tail = c;
			pthread_cond_signal(&s->cond);
			pthread_mutex_unlock(&s->lock);
			break;
		case TAG_DONE:
			pthread_mutex_lock(&s->lock);
			s->inflight--;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			call_free(c);
			break;
		case TAG_S_INIT:
		case TAG_S_SEND:
		case TAG_S_CLOSED:
			stream_on_tag(s, t, ev.success);
			break;
		case TAG_SHUTDOWN:
			pthread_mutex_lock(&s->lock);
			s->shutdown_done = true;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			break;
		}
	}
}

/* Removes a stale socket left by a previous kumod (never anything else). */
static int prepare_socket(const char *path, kumo_error_t *err)
{
	autofree char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (kumo_mkdir_p(dir, 0755, err) < 0)
			return kumo_error_wrap(err, "socket directory");
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return kumo_error(err, KUMO_E_EXISTS, "`%s` exists and is not a socket", path);
		if (unlink(path) < 0)
			return kumo_error_errno(err, errno, "remove stale socket `%s`", path);
	}
	return 0;
}

static void timespec_after_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int cri_server_run(const struct cri_config *cfg, struct cri_runtime *rt, kumo_error_t *err)
{
	/* Signals are taken by sigwait below; every thread (gRPC's too) inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (prepare_socket(cfg->socket, err) < 0)
		return -1;
	/* Who may connect: root, and the socket's group (mode 0660). */
	gid_t group = 0;
	if (cfg->socket_group && *cfg->socket_group) {
		struct group gr, *grp = NULL;
		char buf[4096];
		if (getgrnam_r(cfg->socket_group, &gr, buf, sizeof(buf), &grp) != 0 || !grp)
			return kumo_error(err, KUMO_E_INVALID, "socket group `%s` does not exist",
					  cfg->socket_group);
		group = gr.gr_gid;
	}
	grpc_init();
	struct srv s = {0};
	s.rt = rt;
	s.t_shutdown = (struct tag){TAG_SHUTDOWN, NULL};
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	s.cq = grpc_completion_queue_create_for_next(NULL);
	s.server = grpc_server_create(NULL, NULL);
	grpc_server_register_completion_queue(s.server, s.cq, NULL);
	autofree char *addr = xasprintf("unix:%s", cfg->socket);
	grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
	int port = grpc_server_add_http2_port(s.server, addr, creds);
	grpc_server_credentials_release(creds);
	if (port == 0) {
		grpc_server_destroy(s.server);
		grpc_completion_queue_shutdown(s.cq);
		while (grpc_completion_queue_next(s.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
		       GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(s.cq);
		grpc_shutdown();
		return kumo_error(err, KUMO_E_IO, "cannot listen on `%s`", cfg->socket);
	}
	grpc_server_start(s.server);
	/* Made with the umask's mode (0755 for root's usual 022: nobody else can connect
	 * meanwhile), then given to its group, then opened to it. */
	if (group && chown(cfg->socket, (uid_t)-1, group) < 0)
		log_error("chown `%s` to group `%s`: %s (only root can connect)", cfg->socket,
			  cfg->socket_group, strerror(errno));
	if (chmod(cfg->socket, 0660) < 0)
		log_warn("chmod 0660 `%s`: %s", cfg->socket, strerror(errno));

	int nw = cfg->workers > 0 ? cfg->workers : 8;
	pthread_t *workers = xzalloc(sizeof(pthread_t) * (size_t)nw);
	for (int i = 0; i < nw; i++)
		if (pthread_create(&workers[i], NULL, worker_main, &s) != 0)
			abort(); /* cannot run without threads */
	pthread_t poller;
	if (pthread_create(&poller, NULL, poller_main, &s) != 0)
		abort();
	/* A few outstanding requests so concurrent calls do not wait for the poller. */
	for (int i = 0; i < nw; i++)
		request_call(&s);
	log_info("kumod %s serving CRI v1 on `%s` (%d workers, backend `%s`)", KUMO_VERSION,
		 cfg->socket, nw, cfg->backend);

	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	log_info("got signal %d: shutting down (calls in flight finish; VMs keep running)", sig);

	pthread_mutex_lock(&s.lock);
	s.shutting_down = true;
	pthread_mutex_unlock(&s.lock);
	grpc_server_shutdown_and_notify(s.server, s.cq, &s.t_shutdown);
	/* Unary calls get the grace period; event streams never end on their own. */
	struct timespec deadline;
	timespec_after_ms(&deadline, cfg->shutdown_grace_ms > 0 ? cfg->shutdown_grace_ms : 10000);
	pthread_mutex_lock(&s.lock);
	while (s.inflight > 0 &&
	       pthread_cond_timedwait(&s.cond, &s.lock, &deadline) != ETIMEDOUT)
		;
	if (s.inflight > 0)
		log_warn("%d calls still running after the grace period: cancelling them", s.inflight);
	pthread_mutex_unlock(&s.lock);
	grpc_server_cancel_all_calls(s.server);
	pthread_mutex_lock(&s.lock);
	while (!s.shutdown_done)
		pthread_cond_wait(&s.cond, &s.lock);
	/* Workers finish what they hold (their sends fail fast on cancelled calls). */
	while (s.inflight > 0)
		pthread_cond_wait(&s.cond, &s.lock);
	s.quitting = true;
	pthread_cond_broadcast(&s.cond);
	pthread_mutex_unlock(&s.lock);
	for (int i = 0; i < nw; i++)
		pthread_join(workers[i], NULL);
	free(workers);
	grpc_server_destroy(s.server);
	grpc_completion_queue_shutdown(s.cq);
	pthread_join(poller, NULL);
	grpc_completion_queue_destroy(s.cq);
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.cond);
	unlink(cfg->socket);
	grpc_shutdown();
	log_info("kumod stopped");
	return 0;
}
