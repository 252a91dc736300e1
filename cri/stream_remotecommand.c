/* cri/stream_remotecommand.c - exec and attach over a session: the channel protocols
 * (v1-v4 over SPDY, v1/v4/v5 over WebSocket), stdin, resize, and the closing status. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include <jansson.h>

#include "cri/stream_impl.h"

/* Client stdin buffered beyond this holds the client's input. */
#define STDIN_HOLD (256 * 1024)

struct rc {
	int version;               /* 1..5, from the negotiated protocol */
	bool in, out, err, tty;    /* what the request asked for (err false with tty) */
	struct lstream *error, *stdin_, *stdout_, *stderr_, *resize;
	int expected, received;    /* SPDY: streams the protocol needs / has */
	bool running;              /* the driver started */
	bool finished;             /* the status was sent */
	const struct rc_driver *drv;
	void *drv_data;
	const struct cri_stream_request *req;
	int stdin_fd;              /* where client stdin goes (owned), -1 none */
	struct watch w_stdin;      /* EPOLLOUT on stdin_fd while bytes wait */
	struct sbuf stdin_pending; /* client stdin not yet written */
	bool stdin_eof;            /* the client closed stdin */
	bool holding;              /* we hold the client's input */
};

void **rc_driver_data(struct rc *rc)
{
	return &rc->drv_data;
}

const struct cri_stream_request *rc_request(struct rc *rc)
{
	return rc->req;
}

char *stream_status_json(bool success, int http_code, const char *reason, const char *message,
			 const int32_t *exit_code)
{
	json_t *j = json_pack("{s:s, s:s, s:{}, s:s}", "kind", "Status", "apiVersion", "v1",
			      "metadata", "status", success ? "Success" : "Failure");
	if (message && *message)
		json_object_set_new(j, "message", json_string(message));
	if (reason && *reason)
		json_object_set_new(j, "reason", json_string(reason));
	if (exit_code) {
		/* metav1.StatusCause serializes its Type as "reason". */
		char code[16];
		snprintf(code, sizeof(code), "%d", *exit_code);
		json_object_set_new(j, "details",
				    json_pack("{s:[{s:s, s:s}]}", "causes", "reason", "ExitCode",
					      "message", code));
	} else if (!success && message && *message && http_code == 500) {
		json_object_set_new(j, "details",
				    json_pack("{s:[{s:s}]}", "causes", "message", message));
	}
	if (http_code)
		json_object_set_new(j, "code", json_integer(http_code));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* ---- stdin ---------------------------------------------------------------------------- */

static void stdin_close(struct sess *s, struct rc *rc)
{
	if (rc->stdin_fd < 0)
		return;
	sess_unwatch(s, &rc->w_stdin);
	close(rc->stdin_fd);
	rc->stdin_fd = -1;
	rc->stdin_pending.off = rc->stdin_pending.len = 0;
	if (rc->holding) {
		rc->holding = false;
		sess_hold_input(s, -1);
	}
}

/* Writes what waits for stdin; watches for room when the pipe is full. */
static void stdin_flush(struct sess *s, struct rc *rc)
{
	if (rc->stdin_fd < 0) { /* nothing takes stdin: drop it */
		rc->stdin_pending.off = rc->stdin_pending.len = 0;
		return;
	}
	while (rc->stdin_fd >= 0 && sbuf_size(&rc->stdin_pending)) {
		ssize_t n = write(rc->stdin_fd, sbuf_head(&rc->stdin_pending),
				  sbuf_size(&rc->stdin_pending));
		if (n > 0) {
			sbuf_consume(&rc->stdin_pending, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		/* The reader is gone (the command ended): nobody takes stdin any more. */
		log_debug("stream: stdin: %s", n < 0 ? strerror(errno) : "short write");
		stdin_close(s, rc);
		return;
	}
	if (rc->stdin_fd < 0)
		return;
	bool waiting = sbuf_size(&rc->stdin_pending) > 0;
	rc->w_stdin.events = waiting ? EPOLLOUT : 0;
	if (waiting || rc->w_stdin.added)
		sess_watch(s, &rc->w_stdin);
	bool hold = sbuf_size(&rc->stdin_pending) > STDIN_HOLD;
	if (hold != rc->holding) {
		rc->holding = hold;
		sess_hold_input(s, hold ? 1 : -1);
	}
	if (!waiting && rc->stdin_eof)
		stdin_close(s, rc);
}

static void on_stdin_writable(struct sess *s, struct watch *w, uint32_t events)
{
	stdin_flush(s, w->arg);
}

/* ---- the end -------------------------------------------------------------------------- */

void rc_output(struct sess *s, struct rc *rc, int which, const void *data, size_t len)
{
	if (rc->finished)
		return;
	struct lstream *ls = which == RC_STDERR && !rc->tty ? rc->stderr_ : rc->stdout_;
	sess_send(s, ls, data, len);
}

void rc_done(struct sess *s, struct rc *rc, bool exited, int32_t exit_code, const char *failure)
{
	if (rc->finished)
		return;
	rc->finished = true;
	log_debug("stream: %s %.12s: done (%s)", rc->req->kind == CRI_STREAM_EXEC ? "exec" : "attach",
		  rc->req->id, failure ? failure : exited ? "exited" : "success");
	sess_fin(s, rc->stdout_);
	sess_fin(s, rc->stderr_);
	autofree char *msg = NULL;
	if (failure)
		msg = xstrdup(failure);
	else if (exited && exit_code != 0)
		msg = xasprintf("command terminated with non-zero exit code: exit status %d",
				exit_code);
	if (rc->version >= 4) {
		autofree char *j = NULL;
		if (failure)
			j = stream_status_json(false, 500, "InternalError", msg, NULL);
		else if (msg)
			j = stream_status_json(false, 0, "NonZeroExitCode", msg, &exit_code);
		else
			j = stream_status_json(true, 0, NULL, NULL, NULL);
		sess_send(s, rc->error, j, strlen(j));
	} else if (msg) {
		/* v1-v3 carry only a failure's text; an exit code does not survive them. */
		sess_send(s, rc->error, msg, strlen(msg));
	}
	sess_fin(s, rc->error);
	sess_end(s, 1000);
}

/* ---- streams -------------------------------------------------------------------------- */

static void start_driver(struct sess *s, struct rc *rc)
{
	log_debug("stream: %s %.12s: streams open (%s), starting",
		  rc->req->kind == CRI_STREAM_EXEC ? "exec" : "attach", rc->req->id, s->protocol);
	rc->running = true;
	int fd = -1;
	kumo_error_t err = NULL;
	if (rc->drv->start(s, rc, &fd, &err) < 0) {
		rc_done(s, rc, false, 0, kumo_error_msg(err));
		kumo_error_free(&err);
		return;
	}
	rc->stdin_fd = fd;
	rc->w_stdin = (struct watch){.fd = fd, .on_event = on_stdin_writable, .arg = rc};
	/* Stdin that came (or ended) while the streams were being opened. */
	stdin_flush(s, rc);
}

static int version_of(const char *protocol)
{
	if (strncmp(protocol, "v5.", 3) == 0)
		return 5;
	if (strncmp(protocol, "v4.", 3) == 0)
		return 4;
	if (strncmp(protocol, "v3.", 3) == 0)
		return 3;
	if (strncmp(protocol, "v2.", 3) == 0)
		return 2;
	return 1;
}

static int rc_start(struct sess *s)
{
	struct rc *rc = xzalloc(sizeof(*rc));
	s->app_data = rc;
	rc->req = s->req;
	rc->version = version_of(s->protocol);
	rc->in = s->req->in;
	rc->out = s->req->out;
	rc->tty = s->req->tty;
	rc->err = s->req->err && !rc->tty;
	rc->stdin_fd = -1;
	rc->drv = s->req->kind == CRI_STREAM_EXEC ? &rc_exec_driver : &rc_attach_driver;
	if (s->transport != TR_WS_CHANNELS) {
		rc->expected = 1 + rc->in + rc->out + rc->err + (rc->tty && rc->version >= 3);
		return 0; /* the client opens its streams */
	}
	/* WebSocket: fixed channels 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize. */
	if (rc->in)
		rc->stdin_ = sess_channel(s, 0, LS_STDIN);
	if (rc->out)
		rc->stdout_ = sess_channel(s, 1, LS_STDOUT);
	if (rc->err)
		rc->stderr_ = sess_channel(s, 2, LS_STDERR);
	rc->error = sess_channel(s, 3, LS_ERROR);
	rc->resize = sess_channel(s, 4, LS_RESIZE);
	/* kubelet's "ready" signal: an empty message on the first output channel. */
	sess_send(s, rc->stdout_ ? rc->stdout_ : rc->stderr_ ? rc->stderr_ : rc->error, "", 0);
	start_driver(s, rc);
	return 0;
}

static int rc_on_stream(struct sess *s, struct lstream *ls, kumo_error_t *err)
{
	struct rc *rc = s->app_data;
	struct lstream **slot = NULL;
	bool wanted = false;
	switch (ls->type) {
	case LS_ERROR:
		slot = &rc->error;
		wanted = true;
		break;
	case LS_STDIN:
		slot = &rc->stdin_;
		wanted = rc->in;
		break;
	case LS_STDOUT:
		slot = &rc->stdout_;
		wanted = rc->out;
		break;
	case LS_STDERR:
		slot = &rc->stderr_;
		wanted = rc->err;
		break;
	case LS_RESIZE:
		slot = &rc->resize;
		wanted = rc->tty && rc->version >= 3;
		break;
	default:
		return kumo_error(err, KUMO_E_INVALID, "unknown stream type");
	}
	if (*slot)
		return kumo_error(err, KUMO_E_INVALID, "a second stream of one type");
	if (wanted && rc->running)
		return kumo_error(err, KUMO_E_INVALID, "stream opened after the command started");
	if (wanted) {
		*slot = ls;
		rc->received++;
	}
	/* A stream the request did not ask for is accepted and ignored, as kubelet does. */
	return 0;
}

static void rc_on_ready(struct sess *s, struct lstream *ls)
{
	struct rc *rc = s->app_data;
	if (!rc->running && rc->received == rc->expected)
		start_driver(s, rc);
}

static void rc_on_data(struct sess *s, struct lstream *ls, const uint8_t *data, size_t len)
{
	struct rc *rc = s->app_data;
	if (ls != rc->stdin_ || rc->stdin_eof)
		return; /* resize events: a kumo VM has no terminal to resize */
	sbuf_put(&rc->stdin_pending, data, len);
	if (rc->running)
		stdin_flush(s, rc);
}

static void rc_on_fin(struct sess *s, struct lstream *ls)
{
	struct rc *rc = s->app_data;
	if (ls == rc->stdin_) {
		rc->stdin_eof = true;
		if (rc->running)
			stdin_flush(s, rc);
	}
	/* Our own streams have no more to say; the client half-closing them is expected. */
	if (ls != rc->stdin_ && !ls->fin_sent && ls != rc->stdout_ && ls != rc->stderr_ &&
	    ls != rc->error)
		sess_fin(s, ls);
}

static void rc_on_reset(struct sess *s, struct lstream *ls)
{
	struct rc *rc = s->app_data;
	if (ls == rc->stdin_) {
		rc->stdin_eof = true;
		if (rc->running)
			stdin_flush(s, rc);
	}
}

static void rc_on_gone(struct sess *s, struct lstream *ls)
{
	struct rc *rc = s->app_data;
	struct lstream **slots[] = {&rc->error, &rc->stdin_, &rc->stdout_, &rc->stderr_,
				    &rc->resize};
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (*slots[i] == ls)
			*slots[i] = NULL;
}

static void rc_on_tick(struct sess *s, uint64_t now)
{
	struct rc *rc = s->app_data;
	if (!rc->running && !rc->finished && s->transport != TR_WS_CHANNELS &&
	    now - s->created_ns > (uint64_t)s->creation_timeout_ms * 1000000ull) {
		log_info("stream: the client opened %d of %d streams within %d ms: closing",
			 rc->received, rc->expected, s->creation_timeout_ms);
		rc->finished = true;
		sess_end(s, 1000);
		return;
	}
	if (rc->running && rc->drv->tick)
		rc->drv->tick(s, rc, now);
}

static void rc_on_close(struct sess *s)
{
	struct rc *rc = s->app_data;
	if (!rc)
		return;
	if (rc->running && rc->drv->stop)
		rc->drv->stop(s, rc);
	stdin_close(s, rc);
	sbuf_free(&rc->stdin_pending);
	free(rc);
	s->app_data = NULL;
}

const struct sess_app stream_remotecommand_app = {
	.start = rc_start,
	.on_stream = rc_on_stream,
	.on_ready = rc_on_ready,
	.on_data = rc_on_data,
	.on_fin = rc_on_fin,
	.on_reset = rc_on_reset,
	.on_gone = rc_on_gone,
	.on_tick = rc_on_tick,
	.on_close = rc_on_close,
};
