/* cri/stream_exec.c - running a command in a container for Exec and ExecSync: the
 * backend's blocking call on a thread of its own, its stdio through pipes, cancellation
 * and timeouts. What runs the command is kumod's (struct cri_stream_ops.exec). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "cri/cri.h"
#include "cri/stream_impl.h"

struct exec_run {
	const struct cri_stream_ops *ops;
	void *ctx;
	char *id;
	char **argv;
	bool tty;
	int in[2], out[2], err[2]; /* pipes: [0] read end, [1] write end; -1 when unused */
	int cancelfd;              /* eventfd the backend watches */
	int donefd;                /* eventfd: the call returned */
	pthread_t thread;
	bool started;
	int result;                /* the call's return */
	int32_t exit_code;
	char *msg;                 /* its error message */
	int status;                /* its error status (enum kumo_status) */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void *exec_main(void *arg)
{
	struct exec_run *r = arg;
	pthread_setname_np(pthread_self(), "kumo-exec");
	struct cri_exec_spec spec = {
		.id = r->id,
		.argv = (const char *const *)r->argv,
		.tty = r->tty,
		.stdin_fd = r->in[0],
		.stdout_fd = r->out[1],
		.stderr_fd = r->err[1],
		.cancel_fd = r->cancelfd,
	};
	kumo_error_t err = NULL;
	r->result = r->ops->exec(r->ctx, &spec, &r->exit_code, &err);
	if (r->result < 0) {
		r->msg = xstrdup(kumo_error_msg(err));
		r->status = err ? err->status : KUMO_E_INTERNAL;
	}
	kumo_error_free(&err);
	/* The backend never closes these: its end of the pipes closes here, so the reader
	 * sees end-of-file after the last byte. */
	close_fd(&r->in[0]);
	close_fd(&r->out[1]);
	close_fd(&r->err[1]);
	uint64_t one = 1;
	if (write(r->donefd, &one, sizeof(one)) < 0)
		log_warn("exec: done eventfd: %s", strerror(errno));
	return NULL;
}

static int make_pipe(int p[2], int nonblock_end, kumo_error_t *err)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return kumo_error_errno(err, errno, "exec: pipe");
	int fl = fcntl(p[nonblock_end], F_GETFL);
	fcntl(p[nonblock_end], F_SETFL, fl | O_NONBLOCK);
	return 0;
}

int exec_run_start(const struct cri_stream_ops *ops, void *ctx, const char *ctr_id,
		   const char *const *argv, bool tty, bool want_stdin, struct exec_run **out,
		   kumo_error_t *err)
{
	if (!ops->exec)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "exec is not available from this runtime: it runs no command "
				  "beside the app (kumod's pod VMs do); attach and port-forward "
				  "work");
	if (!argv || !argv[0])
		return kumo_error(err, KUMO_E_INVALID, "exec: the command is empty");
	struct exec_run *r = xzalloc(sizeof(*r));
	r->ops = ops;
	r->ctx = ctx;
	r->id = xstrdup(ctr_id);
	size_t n = 0;
	while (argv[n])
		n++;
	r->argv = xzalloc(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++)
		r->argv[i] = xstrdup(argv[i]);
	r->tty = tty;
	r->in[0] = r->in[1] = r->out[0] = r->out[1] = r->err[0] = r->err[1] = -1;
	r->cancelfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->donefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->cancelfd < 0 || r->donefd < 0) {
		kumo_error_errno(err, errno, "exec: eventfd");
		goto fail;
	}
	if ((want_stdin && make_pipe(r->in, 1, err) < 0) || make_pipe(r->out, 0, err) < 0 ||
	    (!tty && make_pipe(r->err, 0, err) < 0))
		goto fail;
	int e = pthread_create(&r->thread, NULL, exec_main, r);
	if (e != 0) {
		kumo_error_errno(err, e, "exec: thread");
		goto fail;
	}
	r->started = true;
	*out = r;
	return 0;
fail:
	exec_run_free(r);
	return -1;
}

int exec_run_take_stdin(struct exec_run *r)
{
	int fd = r->in[1];
	r->in[1] = -1;
	return fd;
}
int exec_run_stdout(struct exec_run *r) { return r->out[0]; }
int exec_run_stderr(struct exec_run *r) { return r->err[0]; }
int exec_run_donefd(struct exec_run *r) { return r->donefd; }

int exec_run_result(struct exec_run *r, int32_t *exit_code, const char **msg, int *status)
{
	*exit_code = r->exit_code;
	*msg = r->msg;
	*status = r->status;
	return r->result;
}

void exec_run_free(struct exec_run *r)
{
	if (!r)
		return;
	if (r->started) {
		uint64_t one = 1;
		if (write(r->cancelfd, &one, sizeof(one)) < 0)
			log_warn("exec: cancel eventfd: %s", strerror(errno));
		/* A backend blocked writing output gets EPIPE once our read ends close. */
		close_fd(&r->out[0]);
		close_fd(&r->err[0]);
		close_fd(&r->in[1]);
		pthread_join(r->thread, NULL);
	}
	for (int i = 0; i < 2; i++) {
		close_fd(&r->in[i]);
		close_fd(&r->out[i]);
		close_fd(&r->err[i]);
	}
	if (r->cancelfd >= 0)
		close(r->cancelfd);
	if (r->donefd >= 0)
		close(r->donefd);
	for (size_t i = 0; r->argv && r->argv[i]; i++)
		free(r->argv[i]);
	free(r->argv);
	free(r->id);
	free(r->msg);
	free(r);
}

/* ---- Exec over a session ------------------------------------------------------------------ */

/* The exec driver's state in a session. */
struct xd {
	struct exec_run *run;              /* the command's thread and pipes */
	struct watch w_out, w_err, w_done; /* its stdout, stderr, and the call's return */
	bool out_eof, err_eof;             /* each pipe read to its end */
	bool returned;                     /* the backend's call returned */
};

static void xd_maybe_done(struct sess *s, struct rc *rc, struct xd *x)
{
	if (!x->returned || !x->out_eof || !x->err_eof)
		return;
	int32_t code = 0;
	const char *msg = NULL;
	int status = 0;
	if (exec_run_result(x->run, &code, &msg, &status) < 0)
		rc_done(s, rc, false, 0, msg ? msg : "exec failed");
	else
		rc_done(s, rc, true, code, NULL);
}

static void xd_read(struct sess *s, struct watch *w, int which)
{
	struct rc *rc = w->arg;
	struct xd *x = *rc_driver_data(rc);
	uint8_t buf[SESS_CHUNK];
	for (int i = 0; i < 8 && !sess_out_full(s); i++) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n > 0) {
			rc_output(s, rc, which, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		sess_unwatch(s, w); /* end of file: the command's side is closed */
		if (which == RC_STDOUT)
			x->out_eof = true;
		else
			x->err_eof = true;
		xd_maybe_done(s, rc, x);
		return;
	}
}

static void xd_on_out(struct sess *s, struct watch *w, uint32_t ev) { xd_read(s, w, RC_STDOUT); }
static void xd_on_err(struct sess *s, struct watch *w, uint32_t ev) { xd_read(s, w, RC_STDERR); }

static void xd_on_done(struct sess *s, struct watch *w, uint32_t ev)
{
	struct rc *rc = w->arg;
	struct xd *x = *rc_driver_data(rc);
	uint64_t v;
	if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("exec: done eventfd: %s", strerror(errno));
	sess_unwatch(s, w);
	x->returned = true;
	xd_maybe_done(s, rc, x);
}

static int xd_start(struct sess *s, struct rc *rc, int *stdin_fd, kumo_error_t *err)
{
	const struct cri_stream_request *req = rc_request(rc);
	struct xd *x = xzalloc(sizeof(*x));
	*rc_driver_data(rc) = x;
	if (exec_run_start(s->ops, s->ops_ctx, req->id, (const char *const *)req->cmd, req->tty,
			   req->in, &x->run, err) < 0)
		return -1;
	x->w_out = (struct watch){.fd = exec_run_stdout(x->run), .events = EPOLLIN,
				  .source = true, .on_event = xd_on_out, .arg = rc};
	sess_watch(s, &x->w_out);
	if (exec_run_stderr(x->run) >= 0) {
		x->w_err = (struct watch){.fd = exec_run_stderr(x->run), .events = EPOLLIN,
					  .source = true, .on_event = xd_on_err, .arg = rc};
		sess_watch(s, &x->w_err);
	} else {
		x->err_eof = true;
	}
	x->w_done = (struct watch){.fd = exec_run_donefd(x->run), .events = EPOLLIN,
				   .on_event = xd_on_done, .arg = rc};
	sess_watch(s, &x->w_done);
	*stdin_fd = exec_run_take_stdin(x->run); /* rc writes and closes it */
	return 0;
}

static void xd_stop(struct sess *s, struct rc *rc)
{
	struct xd *x = *rc_driver_data(rc);
	if (!x)
		return;
	if (x->w_out.added)
		sess_unwatch(s, &x->w_out);
	if (x->w_err.added)
		sess_unwatch(s, &x->w_err);
	if (x->w_done.added)
		sess_unwatch(s, &x->w_done);
	exec_run_free(x->run); /* cancels a command still running and joins its thread */
	free(x);
	*rc_driver_data(rc) = NULL;
}

const struct rc_driver rc_exec_driver = {
	.start = xd_start,
	.stop = xd_stop,
};

/* ---- ExecSync ------------------------------------------------------------------------------ */

static void collect(int fd, struct sbuf *b, size_t max, bool *eof)
{
	uint8_t buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		size_t keep = sbuf_size(b) < max ? max - sbuf_size(b) : 0;
		sbuf_put(b, buf, (size_t)n < keep ? (size_t)n : keep);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		*eof = true;
	}
}

int cri_stream_exec_sync(const struct cri_stream_ops *ops, void *ctx, const char *ctr_id,
		  const char *const *argv, int64_t timeout_ms, size_t max_output,
		  uint8_t **out, size_t *out_len, uint8_t **errout, size_t *err_len,
		  int32_t *exit_code, kumo_error_t *err)
{
	struct exec_run *r = NULL;
	if (exec_run_start(ops, ctx, ctr_id, argv, false, false, &r, err) < 0)
		return -1;
	struct sbuf o = {0}, e = {0};
	bool out_eof = false, err_eof = false, returned = false, timed_out = false;
	uint64_t deadline = timeout_ms > 0 ? kumo_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
	while (!(out_eof && err_eof && returned)) {
		struct pollfd p[3] = {{.fd = out_eof ? -1 : exec_run_stdout(r), .events = POLLIN},
				      {.fd = err_eof ? -1 : exec_run_stderr(r), .events = POLLIN},
				      {.fd = returned ? -1 : exec_run_donefd(r), .events = POLLIN}};
		int wait = -1;
		if (deadline) {
			uint64_t now = kumo_now_ns();
			if (now >= deadline) {
				timed_out = true;
				break;
			}
			wait = (int)((deadline - now) / 1000000ull) + 1;
		}
		if (poll(p, 3, wait) < 0 && errno != EINTR) {
			kumo_error_errno(err, errno, "exec: poll");
			break;
		}
		if (p[0].revents)
			collect(p[0].fd, &o, max_output, &out_eof);
		if (p[1].revents)
			collect(p[1].fd, &e, max_output, &err_eof);
		if (p[2].revents)
			returned = true;
	}
	int32_t code = 0;
	const char *msg = NULL;
	int status = 0, rr = -1;
	if (returned && !timed_out && !*err)
		rr = exec_run_result(r, &code, &msg, &status);
	if (timed_out)
		kumo_error(err, CRI_E_DEADLINE,
			   "command `%s` timed out after %lld ms; it was stopped", argv[0],
			   (long long)timeout_ms);
	else if (rr < 0 && !*err)
		kumo_error(err, status ? status : KUMO_E_INTERNAL, "%s", msg ? msg : "exec failed");
	exec_run_free(r); /* cancels (timeout) and joins */
	if (timed_out || rr < 0) {
		sbuf_free(&o);
		sbuf_free(&e);
		return -1;
	}
	*exit_code = code;
	*out_len = sbuf_size(&o);
	*err_len = sbuf_size(&e);
	*out = o.data ? o.data : xzalloc(1);
	*errout = e.data ? e.data : xzalloc(1);
	return 0;
}
