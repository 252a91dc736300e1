/* cri/stream_session.c - one upgraded streaming connection: its thread and event loop,
 * and the three transports (SPDY, SPDY tunnelled in WebSocket, WebSocket channels)
 * that carry the handlers' logical streams. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "cri/stream_impl.h"
#include "cri/websocket.h"

/* Largest WebSocket message (and SPDY frame) accepted from a client. */
#define MAX_MESSAGE (16u * 1024 * 1024)
/* Bytes read from the client per wake-up before other fds get their turn. */
#define READ_BUDGET (1024 * 1024)

/* ---- output ----------------------------------------------------------------------- */

/* Where SPDY frames are written: the socket's buffer, or a scratch buffer that
 * spdy_out_done() wraps into one WebSocket message. */
static struct sbuf *spdy_out(struct sess *s, struct sbuf *scratch)
{
	return s->transport == TR_SPDY ? &s->out : scratch;
}

static void spdy_out_done(struct sess *s, struct sbuf *scratch)
{
	if (s->transport == TR_WS_SPDY && sbuf_size(scratch))
		ws_put_frame(&s->out, WS_BINARY, true, sbuf_head(scratch), sbuf_size(scratch),
			     NULL);
	sbuf_free(scratch);
}

static void channel_message(struct sess *s, uint32_t channel, const void *data, size_t len)
{
	struct sbuf m = {0};
	if (s->ws_base64) {
		sbuf_put8(&m, (uint8_t)('0' + channel));
		ws_base64_encode(&m, data, len);
		ws_put_frame(&s->out, WS_TEXT, true, sbuf_head(&m), sbuf_size(&m), NULL);
	} else {
		sbuf_put8(&m, (uint8_t)channel);
		sbuf_put(&m, data, len);
		ws_put_frame(&s->out, WS_BINARY, true, sbuf_head(&m), sbuf_size(&m), NULL);
	}
	sbuf_free(&m);
}

void sess_send(struct sess *s, struct lstream *ls, const void *data, size_t len)
{
	if (!ls || ls->reset || ls->fin_sent || s->done)
		return;
	const uint8_t *p = data;
	if (s->transport == TR_WS_CHANNELS) {
		/* An empty write is a message too: kubelet's "ready" signal is one. */
		do {
			size_t n = len > SESS_CHUNK ? SESS_CHUNK : len;
			channel_message(s, ls->id, p, n);
			p += n;
			len -= n;
		} while (len > 0);
		return;
	}
	struct sbuf scratch = {0};
	struct sbuf *o = spdy_out(s, &scratch);
	while (len > 0) {
		size_t n = len > SESS_CHUNK ? SESS_CHUNK : len;
		spdy_put_data(o, ls->id, 0, p, n);
		p += n;
		len -= n;
	}
	spdy_out_done(s, &scratch);
}

void sess_fin(struct sess *s, struct lstream *ls)
{
	if (!ls || ls->reset || ls->fin_sent)
		return;
	ls->fin_sent = true;
	if (s->transport == TR_WS_CHANNELS || s->done)
		return;
	struct sbuf scratch = {0};
	spdy_put_data(spdy_out(s, &scratch), ls->id, SPDY_FLAG_FIN, NULL, 0);
	spdy_out_done(s, &scratch);
}

void sess_reset(struct sess *s, struct lstream *ls, uint32_t status)
{
	if (!ls || ls->reset)
		return;
	ls->reset = true;
	if (s->transport == TR_WS_CHANNELS || s->done)
		return;
	struct sbuf scratch = {0};
	spdy_put_rst_stream(spdy_out(s, &scratch), ls->id, status);
	spdy_out_done(s, &scratch);
}

void sess_end(struct sess *s, uint16_t close_code)
{
	if (s->ending)
		return;
	s->ending = true;
	s->end_deadline_ns = kumo_now_ns() + (uint64_t)SESS_LINGER_MS * 1000000ull;
	if (s->transport == TR_WS_CHANNELS || s->transport == TR_WS_SPDY) {
		if (s->transport == TR_WS_SPDY) {
			struct sbuf scratch = {0};
			spdy_put_goaway(&scratch, s->last_stream_id, 0);
			spdy_out_done(s, &scratch);
		}
		ws_put_close(&s->out, close_code, NULL, NULL);
	} else {
		spdy_put_goaway(&s->out, s->last_stream_id, 0);
	}
}

bool sess_out_full(struct sess *s)
{
	return sbuf_size(&s->out) > SESS_OUT_HIGH;
}

/* ---- watches ------------------------------------------------------------------------ */

static uint32_t effective(struct sess *s, struct watch *w)
{
	uint32_t ev = w->events;
	if (w->source && s->sources_paused)
		ev &= ~(uint32_t)EPOLLIN;
	return ev;
}

static void apply(struct sess *s, struct watch *w)
{
	struct epoll_event e = {.events = effective(s, w), .data.ptr = w};
	if (!w->added) {
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->fd, &e) < 0) {
			log_warn("stream: epoll add fd %d: %s", w->fd, strerror(errno));
			return;
		}
		w->added = true;
	} else if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, w->fd, &e) < 0) {
		log_warn("stream: epoll mod fd %d: %s", w->fd, strerror(errno));
	}
}

void sess_watch(struct sess *s, struct watch *w)
{
	bool listed = false;
	for (struct watch *x = s->watches; x; x = x->next)
		listed |= x == w;
	if (!listed && w != &s->w_sock && w != &s->w_stop && w != &s->w_timer) {
		w->next = s->watches;
		s->watches = w;
	}
	apply(s, w);
}

void sess_unwatch(struct sess *s, struct watch *w)
{
	if (w->added)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->added = false;
	for (struct watch **pp = &s->watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	w->next = NULL;
}

void sess_hold_input(struct sess *s, int delta)
{
	s->holds += delta;
	if (s->holds < 0)
		s->holds = 0;
}

/* ---- streams ------------------------------------------------------------------------ */

static struct lstream *find_stream(struct sess *s, uint32_t id)
{
	for (struct lstream *ls = s->streams; ls; ls = ls->next)
		if (ls->id == id)
			return ls;
	return NULL;
}

struct lstream *sess_find_channel(struct sess *s, uint32_t channel)
{
	return find_stream(s, channel);
}

struct lstream *sess_channel(struct sess *s, uint32_t channel, int type)
{
	struct lstream *ls = xzalloc(sizeof(*ls));
	ls->id = channel;
	ls->type = type;
	ls->next = s->streams;
	s->streams = ls;
	return ls;
}

static void stream_free(struct lstream *ls)
{
	free(ls->port);
	free(ls->request_id);
	free(ls);
}

/* Frees SPDY streams that are closed both ways or reset (after the handler let go). */
static void reap_streams(struct sess *s)
{
	if (s->transport == TR_WS_CHANNELS)
		return;
	for (struct lstream **pp = &s->streams; *pp;) {
		struct lstream *ls = *pp;
		if (ls->reset || (ls->fin_sent && ls->fin_recv)) {
			if (s->app->on_gone)
				s->app->on_gone(s, ls);
			*pp = ls->next;
			stream_free(ls);
		} else {
			pp = &ls->next;
		}
	}
}

static int stream_type(const char *t)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {{"error", LS_ERROR},   {"stdin", LS_STDIN},   {"stdout", LS_STDOUT},
		     {"stderr", LS_STDERR}, {"resize", LS_RESIZE}, {"data", LS_DATA}};
	for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i].name) == 0)
			return types[i].type;
	return 0;
}

/* ---- input: SPDY ---------------------------------------------------------------------- */

static void on_syn_stream(struct sess *s, struct spdy_frame *f)
{
	struct sbuf scratch = {0};
	if (f->stream_id % 2 == 0 || f->stream_id <= s->last_stream_id) {
		/* As spdystream: a bad id is reset, the connection goes on. */
		spdy_put_rst_stream(spdy_out(s, &scratch), f->stream_id, SPDY_RST_PROTOCOL_ERROR);
		spdy_out_done(s, &scratch);
		return;
	}
	s->last_stream_id = f->stream_id;
	if (s->ending) {
		spdy_put_rst_stream(spdy_out(s, &scratch), f->stream_id, SPDY_RST_REFUSED_STREAM);
		spdy_out_done(s, &scratch);
		return;
	}
	struct lstream *ls = xzalloc(sizeof(*ls));
	ls->id = f->stream_id;
	ls->type = stream_type(spdy_header_get(f, "streamtype"));
	const char *port = spdy_header_get(f, "port");
	const char *rid = spdy_header_get(f, "requestid");
	ls->port = port ? xstrdup(port) : NULL;
	ls->request_id = rid ? xstrdup(rid) : NULL;
	kumo_error_t err = NULL;
	if (!s->app->on_stream || s->app->on_stream(s, ls, &err) < 0) {
		log_info("stream: refused stream %u: %s", ls->id,
			 err ? kumo_error_msg(err) : "unexpected stream");
		kumo_error_free(&err);
		spdy_put_rst_stream(spdy_out(s, &scratch), ls->id, SPDY_RST_CANCEL);
		spdy_out_done(s, &scratch);
		stream_free(ls);
		return;
	}
	ls->next = s->streams;
	s->streams = ls;
	spdy_put_syn_reply(s->spdy, spdy_out(s, &scratch), ls->id, 0, NULL, NULL, 0);
	spdy_out_done(s, &scratch);
	if (s->app->on_ready)
		s->app->on_ready(s, ls);
	if (f->flags & SPDY_FLAG_FIN) {
		ls->fin_recv = true;
		if (s->app->on_fin)
			s->app->on_fin(s, ls);
	}
}

static void on_spdy_frame(struct sess *s, struct spdy_frame *f)
{
	struct lstream *ls;
	struct sbuf scratch = {0};
	switch (f->type) {
	case SPDY_SYN_STREAM:
		on_syn_stream(s, f);
		break;
	case SPDY_DATA:
		ls = find_stream(s, f->stream_id);
		if (!ls || ls->reset || ls->fin_recv)
			break; /* as spdystream: data for a stream we do not know is dropped */
		if (f->len && s->app->on_data)
			s->app->on_data(s, ls, f->data, f->len);
		if (f->flags & SPDY_FLAG_FIN) {
			ls->fin_recv = true;
			if (s->app->on_fin)
				s->app->on_fin(s, ls);
		}
		break;
	case SPDY_RST_STREAM:
		ls = find_stream(s, f->stream_id);
		if (!ls || ls->reset)
			break;
		ls->reset = true;
		if (s->app->on_reset)
			s->app->on_reset(s, ls);
		break;
	case SPDY_PING:
		if (f->ping_id % 2 == 1) { /* the client's: echo it; ours would be even */
			spdy_put_ping(spdy_out(s, &scratch), f->ping_id);
			spdy_out_done(s, &scratch);
		}
		break;
	case SPDY_GOAWAY:
		/* The client is done with the connection. */
		sess_end(s, WS_CLOSE_NORMAL);
		break;
	default:
		/* SETTINGS, WINDOW_UPDATE (no flow control, as spdystream), HEADERS, replies. */
		break;
	}
}

/* Parses SPDY frames from b while no handler holds input. <0: protocol error. */
static int parse_spdy(struct sess *s, struct sbuf *b)
{
	while (s->holds == 0 && !s->done) {
		struct spdy_frame f;
		size_t used = 0;
		kumo_error_t err = NULL;
		int r = spdy_parse(s->spdy, sbuf_head(b), sbuf_size(b), &f, &used, &err);
		if (r == 0) {
			if (sbuf_size(b) >= 8 &&
			    (get32be(sbuf_head(b) + 4) & 0xffffff) > MAX_MESSAGE)
				r = kumo_error(&err, KUMO_E_INVALID, "spdy: frame too large");
			else
				return 0;
		}
		if (r < 0) {
			log_warn("stream: %s; closing the connection", kumo_error_msg(err));
			kumo_error_free(&err);
			return -1;
		}
		on_spdy_frame(s, &f);
		spdy_frame_clear(&f);
		sbuf_consume(b, used);
	}
	return 0;
}

/* ---- input: WebSocket ------------------------------------------------------------------- */

static void on_channel_message(struct sess *s, uint8_t *m, size_t len)
{
	if (len == 0)
		return;
	if (s->ws_close_signal && m[0] == 255) {
		if (len != 2) {
			log_warn("stream: a close signal must name one channel");
			return;
		}
		struct lstream *ls = find_stream(s, m[1]);
		if (ls && !ls->fin_recv) {
			ls->fin_recv = true;
			if (s->app->on_fin)
				s->app->on_fin(s, ls);
		}
		return;
	}
	uint32_t channel = m[0];
	uint8_t *data = m + 1;
	size_t n = len - 1;
	if (s->ws_base64) {
		channel = (uint32_t)(uint8_t)(m[0] - '0');
		long d = ws_base64_decode((const char *)data, n, data); /* shrinks in place */
		if (d < 0) {
			log_warn("stream: a base64 channel message is not base64");
			return;
		}
		n = (size_t)d;
	}
	struct lstream *ls = find_stream(s, channel);
	if (!ls || ls->fin_recv || ls->reset)
		return; /* kubelet drops messages for channels it does not read */
	if (n && s->app->on_data)
		s->app->on_data(s, ls, data, n);
}

/* Handles one whole message. <0: protocol error. */
static int on_ws_message(struct sess *s, int opcode, uint8_t *data, size_t len)
{
	if (s->transport == TR_WS_SPDY) {
		if (opcode != WS_BINARY) {
			log_warn("stream: a SPDY tunnel carries binary messages only");
			return -1;
		}
		sbuf_put(&s->tunnel, data, len);
		return parse_spdy(s, &s->tunnel);
	}
	on_channel_message(s, data, len);
	return 0;
}

/* Parses WebSocket frames from s->in while no handler holds input. */
static int parse_ws(struct sess *s)
{
	/* Tunnelled SPDY left over from a hold goes first. */
	if (s->transport == TR_WS_SPDY && sbuf_size(&s->tunnel) && parse_spdy(s, &s->tunnel) < 0)
		return -1;
	while (s->holds == 0 && !s->done && !s->peer_closed) {
		struct ws_frame f;
		size_t used = 0;
		kumo_error_t err = NULL;
		int r = ws_parse(sbuf_head(&s->in), sbuf_size(&s->in), MAX_MESSAGE, true, &f, &used,
				 &err);
		if (r == 0)
			return 0;
		if (r < 0) {
			log_warn("stream: %s; closing the connection", kumo_error_msg(err));
			kumo_error_free(&err);
			return -1;
		}
		int rc = 0;
		switch (f.opcode) {
		case WS_PING:
			ws_put_frame(&s->out, WS_PONG, true, f.payload, f.len, NULL);
			break;
		case WS_PONG:
			break;
		case WS_CLOSE:
			/* Answer once, then the connection closes when our bytes are out. */
			if (!s->ending) {
				s->ending = true;
				s->end_deadline_ns =
					kumo_now_ns() + (uint64_t)SESS_LINGER_MS * 1000000ull;
				ws_put_close(&s->out, WS_CLOSE_NORMAL, NULL, NULL);
			}
			s->peer_closed = true;
			break;
		case WS_CONTINUATION:
			if (!s->msg_opcode) {
				log_warn("stream: websocket continuation without a message");
				rc = -1;
				break;
			}
			if (sbuf_size(&s->msg) + f.len > MAX_MESSAGE) {
				log_warn("stream: websocket message too large");
				rc = -1;
				break;
			}
			sbuf_put(&s->msg, f.payload, f.len);
			if (f.fin) {
				rc = on_ws_message(s, s->msg_opcode, sbuf_head(&s->msg),
						   sbuf_size(&s->msg));
				s->msg_opcode = 0;
				s->msg.off = s->msg.len = 0;
			}
			break;
		default: /* text or binary */
			if (s->msg_opcode) {
				log_warn("stream: websocket message inside another");
				rc = -1;
				break;
			}
			if (f.fin) {
				rc = on_ws_message(s, f.opcode, f.payload, f.len);
			} else {
				s->msg_opcode = f.opcode;
				sbuf_put(&s->msg, f.payload, f.len);
			}
			break;
		}
		sbuf_consume(&s->in, used);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int parse_input(struct sess *s)
{
	if (s->transport == TR_SPDY)
		return parse_spdy(s, &s->in);
	return parse_ws(s);
}

/* ---- the loop ----------------------------------------------------------------------- */

static void abort_session(struct sess *s, const char *why)
{
	log_debug("stream: session %p ends: %s", (void *)s, why);
	s->done = true;
}

static void on_socket(struct sess *s, struct watch *w, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		size_t budget = READ_BUDGET;
		while (s->holds == 0 && !s->done && budget > 0 && !s->peer_closed) {
			uint8_t *p = sbuf_reserve(&s->in, 65536);
			ssize_t n = recv(s->fd, p, 65536, 0);
			if (n > 0) {
				sbuf_commit(&s->in, (size_t)n);
				s->active_ns = kumo_now_ns();
				budget -= (size_t)n > budget ? budget : (size_t)n;
				if (parse_input(s) < 0) {
					abort_session(s, "protocol error");
					return;
				}
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n < 0 && errno == EINTR)
				continue;
			/* EOF or a reset: the client is gone. */
			s->peer_closed = true;
			if (!s->ending)
				log_debug("stream: client closed the connection");
			break;
		}
	}
	if (events & EPOLLOUT)
		s->active_ns = kumo_now_ns();
}

static void flush_output(struct sess *s)
{
	while (sbuf_size(&s->out) > 0) {
		ssize_t n = send(s->fd, sbuf_head(&s->out), sbuf_size(&s->out), MSG_NOSIGNAL);
		if (n > 0) {
			sbuf_consume(&s->out, (size_t)n);
			s->active_ns = kumo_now_ns();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* The client is gone; what was queued cannot be delivered. */
		s->out.off = s->out.len = 0;
		s->peer_closed = true;
		break;
	}
}

/* Everything that follows a batch of events: output, back-pressure, the end. */
static void after_events(struct sess *s)
{
	reap_streams(s);
	if (s->holds == 0 && !s->done && !s->peer_closed && sbuf_size(&s->in) &&
	    parse_input(s) < 0)
		abort_session(s, "protocol error");
	flush_output(s);
	bool full = sess_out_full(s);
	if (full != s->sources_paused && (!s->sources_paused || sbuf_size(&s->out) < SESS_OUT_HIGH / 2)) {
		s->sources_paused = full;
		for (struct watch *w = s->watches; w; w = w->next)
			if (w->source && w->added)
				apply(s, w);
	}
	uint32_t want = 0;
	if (s->holds == 0 && !s->peer_closed)
		want |= EPOLLIN;
	if (sbuf_size(&s->out))
		want |= EPOLLOUT;
	if (want != s->w_sock.events) {
		s->w_sock.events = want;
		apply(s, &s->w_sock);
	}
	if (s->peer_closed && (!s->ending || sbuf_size(&s->out) == 0 || s->wr_shut))
		s->done = true; /* nothing more can reach the client */
	if (s->ending && sbuf_size(&s->out) == 0 && !s->wr_shut) {
		shutdown(s->fd, SHUT_WR);
		s->wr_shut = true;
	}
}

static void on_stop(struct sess *s, struct watch *w, uint32_t events)
{
	uint64_t v;
	if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("stream: stop eventfd: %s", strerror(errno));
	/* The server is stopping: say goodbye if the socket takes it, do not wait. */
	if (!s->ending)
		sess_end(s, WS_CLOSE_GOING_AWAY);
	flush_output(s);
	abort_session(s, "the streaming server stops");
}

static void on_timer(struct sess *s, struct watch *w, uint32_t events)
{
	uint64_t v;
	if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("stream: timerfd: %s", strerror(errno));
	uint64_t now = kumo_now_ns();
	if (s->ending && now >= s->end_deadline_ns) {
		abort_session(s, "the client did not close in time");
		return;
	}
	if (!s->ending && s->idle_timeout_ms > 0 &&
	    now - s->active_ns > (uint64_t)s->idle_timeout_ms * 1000000ull) {
		log_info("stream: connection idle for %d ms: closing it", s->idle_timeout_ms);
		sess_end(s, WS_CLOSE_GOING_AWAY);
		return;
	}
	if (s->app->on_tick)
		s->app->on_tick(s, now);
}

static void session_free(struct sess *s)
{
	if (s->app && s->app->on_close)
		s->app->on_close(s);
	while (s->streams) {
		struct lstream *ls = s->streams;
		s->streams = ls->next;
		stream_free(ls);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	if (s->timerfd >= 0)
		close(s->timerfd);
	spdy_codec_free(s->spdy);
	sbuf_free(&s->in);
	sbuf_free(&s->out);
	sbuf_free(&s->tunnel);
	sbuf_free(&s->msg);
	cri_stream_request_free(s->req);
	free(s->query);
	free(s);
}

static void *session_main(void *arg)
{
	struct sess *s = arg;
	pthread_setname_np(pthread_self(), "kumo-stream"); /* tests count these */
	if (s->app->start && s->app->start(s) < 0)
		s->done = true;
	after_events(s);
	while (!s->done) {
		struct epoll_event evs[64];
		int n = epoll_wait(s->epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("stream: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !s->done; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w->added) /* removed by an earlier event of this batch */
				w->on_event(s, w, evs[i].events);
		}
		after_events(s);
	}
	/* Handlers release their fds and threads before the connection goes back to MHD. */
	if (s->app && s->app->on_close)
		s->app->on_close(s);
	s->app = NULL;
	cri_stream_server_session_done(s->srv, s);
	session_free(s);
	return NULL;
}

static int sess_setup(struct sess *s, const char *extra, size_t extra_len, kumo_error_t *err)
{
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->epfd < 0 || s->stopfd < 0 || s->timerfd < 0)
		return kumo_error_errno(err, errno, "streaming session: epoll/eventfd/timerfd");
	int fl = fcntl(s->fd, F_GETFL);
	if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return kumo_error_errno(err, errno, "streaming session: non-blocking socket");
	struct itimerspec its = {
		.it_interval = {0, SESS_TICK_MS * 1000000L},
		.it_value = {0, SESS_TICK_MS * 1000000L},
	};
	timerfd_settime(s->timerfd, 0, &its, NULL);
	s->w_sock = (struct watch){.fd = s->fd, .events = EPOLLIN, .on_event = on_socket};
	s->w_stop = (struct watch){.fd = s->stopfd, .events = EPOLLIN, .on_event = on_stop};
	s->w_timer = (struct watch){.fd = s->timerfd, .events = EPOLLIN, .on_event = on_timer};
	apply(s, &s->w_sock);
	apply(s, &s->w_stop);
	apply(s, &s->w_timer);
	if (s->transport != TR_WS_CHANNELS)
		s->spdy = spdy_codec_new();
	s->created_ns = s->active_ns = kumo_now_ns();
	/* Bytes the client sent right after its request belong to the new protocol. */
	sbuf_put(&s->in, extra, extra_len);
	return 0;
}

int sess_start(struct sess *s, const char *extra, size_t extra_len, kumo_error_t *err)
{
	s->epfd = s->stopfd = s->timerfd = -1;
	if (sess_setup(s, extra, extra_len, err) < 0)
		goto fail;
	/* Listed only now that stopfd exists, so a stop that comes later reaches it. */
	if (!cri_stream_server_session_add(s->srv, s)) {
		kumo_error(err, KUMO_E_UNAVAILABLE, "the streaming server is stopping");
		goto fail;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&s->thread, &attr, session_main, s);
	pthread_attr_destroy(&attr);
	if (r == 0)
		return 0;
	kumo_error_errno(err, r, "streaming session: thread");
fail:
	s->app = NULL; /* never started: nothing to release */
	cri_stream_server_session_done(s->srv, s);
	session_free(s);
	return -1;
}

void sess_stop(struct sess *s)
{
	uint64_t one = 1;
	if (write(s->stopfd, &one, sizeof(one)) < 0)
		log_debug("stream: stop eventfd: %s", strerror(errno));
}
