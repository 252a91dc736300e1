/* cri/stream_portforward.c - port-forward over a session: every client connection is a
 * pair of streams (SPDY: `data` and `error` with the same `requestid`; WebSocket
 * channels: channels 2i and 2i+1 for the i-th port) joined to one TCP connection to the
 * pod. A connection that fails says why on its error stream and ends; the others go on. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "cri/stream_impl.h"

/* Client bytes buffered for a slow pod beyond this hold the client's input. */
#define TO_POD_HOLD (256 * 1024)
#define CONNECT_TIMEOUT_MS 20000
/* How often a session asks whether its pod still runs (a stopped VM sends no FIN or
 * reset: its connections would hang). */
#define POD_CHECK_MS 1000

struct pfconn {
	struct pf *pf;
	char *request_id;          /* SPDY: the pair's key */
	uint16_t port;
	struct lstream *data, *error;
	int fd;                    /* the connection to the pod, -1 before/after */
	struct watch w;
	bool connecting;           /* connect() in progress */
	bool connected;
	bool client_eof;           /* the client half-closed the data stream */
	bool shut_wr;              /* the pod got our end-of-file */
	bool finished;             /* done: streams closed, fd closed */
	bool holding;
	struct sbuf to_pod;        /* client bytes the pod has not taken yet */
	uint64_t created_ns, connect_deadline_ns;
	struct pfconn *next;
};

struct pf {
	char *ip;                  /* the pod's address */
	char *netns;               /* its network namespace, or NULL */
	char *target_err;          /* why the pod cannot be reached, or NULL */
	struct pfconn *conns;
	bool channels;             /* WebSocket channel form */
	uint64_t checked_ns;       /* when the pod was last seen ready */
	bool pod_gone;             /* it stopped: the session is ending */
};

static void conn_unlink_free(struct pf *pf, struct pfconn *c)
{
	for (struct pfconn **pp = &pf->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	sbuf_free(&c->to_pod);
	free(c->request_id);
	free(c);
}

/* Ends a connection: closes the pod side, says `why` (if any) on the error stream, and
 * half-closes both streams. The record stays until its streams are gone. */
static void conn_finish(struct sess *s, struct pfconn *c, const char *why)
{
	if (c->finished)
		return;
	c->finished = true;
	log_debug("stream: port-forward to %u ends%s%s", c->port, why ? ": " : "", why ? why : "");
	if (c->fd >= 0) {
		sess_unwatch(s, &c->w);
		close(c->fd);
		c->fd = -1;
	}
	if (c->holding) {
		c->holding = false;
		sess_hold_input(s, -1);
	}
	if (why) {
		autofree char *m = xasprintf("error forwarding port %u to pod %s: %s", c->port,
					     s->req->id, why);
		log_info("stream: %s", m);
		sess_send(s, c->error, m, strlen(m));
	}
	sess_fin(s, c->data);
	sess_fin(s, c->error);
	if (c->pf->channels) {
		/* kubelet's channel form ends the connection when every port is done. */
		bool all = true;
		for (struct pfconn *x = c->pf->conns; x; x = x->next)
			all &= x->finished;
		if (all)
			sess_end(s, 1000);
	}
}

static void conn_update_watch(struct sess *s, struct pfconn *c)
{
	if (c->fd < 0)
		return;
	uint32_t ev = 0;
	if (c->connecting || sbuf_size(&c->to_pod))
		ev |= EPOLLOUT;
	if (c->connected)
		ev |= EPOLLIN;
	if (ev != c->w.events || !c->w.added) {
		c->w.events = ev;
		sess_watch(s, &c->w);
	}
}

/* Writes what the client sent; half-closes the pod side once the client did. */
static void conn_flush(struct sess *s, struct pfconn *c)
{
	while (c->connected && sbuf_size(&c->to_pod)) {
		ssize_t n = send(c->fd, sbuf_head(&c->to_pod), sbuf_size(&c->to_pod),
				 MSG_NOSIGNAL);
		if (n > 0) {
			sbuf_consume(&c->to_pod, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* The pod closed its side: what it sent is still delivered by reading. */
		c->to_pod.off = c->to_pod.len = 0;
		break;
	}
	if (c->connected && c->client_eof && !sbuf_size(&c->to_pod) && !c->shut_wr) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = true;
	}
	bool hold = sbuf_size(&c->to_pod) > TO_POD_HOLD;
	if (hold != c->holding) {
		c->holding = hold;
		sess_hold_input(s, hold ? 1 : -1);
	}
	conn_update_watch(s, c);
}

static void on_pod(struct sess *s, struct watch *w, uint32_t events)
{
	struct pfconn *c = w->arg;
	if (c->connecting) {
		int e = 0;
		socklen_t l = sizeof(e);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		if (e != 0 || (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT))) {
			autofree char *m = xasprintf("connect to %s:%u: %s", c->pf->ip, c->port,
						     strerror(e ? e : ECONNREFUSED));
			conn_finish(s, c, m);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		c->connecting = false;
		c->connected = true;
		conn_flush(s, c);
		return;
	}
	if (events & EPOLLOUT)
		conn_flush(s, c);
	if (c->finished || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	uint8_t buf[SESS_CHUNK];
	for (int i = 0; i < 4 && !sess_out_full(s); i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			sess_send(s, c->data, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* End of file or a reset: the pod is done with this connection. */
		conn_finish(s, c, NULL);
		return;
	}
}

static void conn_connect(struct sess *s, struct pfconn *c)
{
	c->created_ns = kumo_now_ns();
	if (c->port == 0) {
		conn_finish(s, c, "the port must be 1-65535");
		return;
	}
	if (c->pf->target_err) {
		conn_finish(s, c, c->pf->target_err);
		return;
	}
	kumo_error_t err = NULL;
	if (stream_connect_start(c->pf->ip, c->port, c->pf->netns, &c->fd, &err) < 0) {
		conn_finish(s, c, kumo_error_msg(err));
		kumo_error_free(&err);
		return;
	}
	/* A pod that vanishes without a word is noticed within a minute even between
	 * checks (keepalive), not never. */
	int one = 1, idle = 30, intvl = 5, cnt = 3;
	setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	c->connecting = true;
	c->connect_deadline_ns = kumo_now_ns() + (uint64_t)CONNECT_TIMEOUT_MS * 1000000ull;
	c->w = (struct watch){.fd = c->fd, .source = true, .on_event = on_pod, .arg = c};
	conn_update_watch(s, c);
}

static struct pfconn *conn_new(struct pf *pf, uint16_t port)
{
	struct pfconn *c = xzalloc(sizeof(*c));
	c->pf = pf;
	c->port = port;
	c->fd = -1;
	c->created_ns = kumo_now_ns();
	c->next = pf->conns;
	pf->conns = c;
	return c;
}

/* ---- the session handler ------------------------------------------------------------------- */

static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < 1 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static int pf_start(struct sess *s)
{
	struct pf *pf = xzalloc(sizeof(*pf));
	s->app_data = pf;
	kumo_error_t err = NULL;
	if (s->ops->pod_target(s->ops_ctx, s->req->id, &pf->ip, &pf->netns, &err) < 0)
		pf->target_err = xstrdup(kumo_error_msg(err));
	pf->checked_ns = kumo_now_ns();
	kumo_error_free(&err);
	if (s->transport != TR_WS_CHANNELS)
		return 0; /* the client opens a stream pair per connection */
	pf->channels = true;
	for (size_t i = 0; i < s->req->n_ports; i++) {
		struct pfconn *c = conn_new(pf, (uint16_t)s->req->ports[i]);
		c->data = sess_channel(s, (uint32_t)(2 * i), LS_DATA);
		c->error = sess_channel(s, (uint32_t)(2 * i + 1), LS_ERROR);
		c->data->app = c->error->app = c;
		/* Each channel first carries its port, little-endian, as kubelet's. */
		uint8_t le[2] = {(uint8_t)c->port, (uint8_t)(c->port >> 8)};
		sess_send(s, c->data, le, 2);
		sess_send(s, c->error, le, 2);
	}
	for (struct pfconn *c = pf->conns; c; c = c->next)
		conn_connect(s, c);
	return 0;
}

static int pf_on_stream(struct sess *s, struct lstream *ls, kumo_error_t *err)
{
	uint16_t port;
	if (!parse_port(ls->port, &port))
		return kumo_error(err, KUMO_E_INVALID, "`port` header `%s` is not a port 1-65535",
				  ls->port ? ls->port : "");
	if (ls->type != LS_DATA && ls->type != LS_ERROR)
		return kumo_error(err, KUMO_E_INVALID, "port-forward streams are `data` or `error`");
	return 0;
}

/* The pair key: the requestid header, else (old clients) derived from the stream id as
 * kubelet does: the error stream's id, the data stream's id - 2. */
static char *pair_key(struct lstream *ls)
{
	if (ls->request_id && *ls->request_id)
		return xstrdup(ls->request_id);
	return xasprintf("%u", ls->type == LS_ERROR ? ls->id : ls->id - 2);
}

static void pf_on_ready(struct sess *s, struct lstream *ls)
{
	struct pf *pf = s->app_data;
	autofree char *key = pair_key(ls);
	struct pfconn *c = NULL;
	for (struct pfconn *x = pf->conns; x; x = x->next)
		if (x->request_id && strcmp(x->request_id, key) == 0 && !x->finished)
			c = x;
	uint16_t port = 0;
	parse_port(ls->port, &port);
	if (!c) {
		c = conn_new(pf, port);
		c->request_id = xstrdup(key);
	}
	struct lstream **slot = ls->type == LS_DATA ? &c->data : &c->error;
	if (*slot || c->port != port) {
		log_info("stream: port-forward request %s: a second %s stream or another port",
			 key, ls->type == LS_DATA ? "data" : "error");
		sess_reset(s, ls, SPDY_RST_PROTOCOL_ERROR);
		return;
	}
	*slot = ls;
	ls->app = c;
	if (c->data && c->error)
		conn_connect(s, c);
}

static void pf_on_data(struct sess *s, struct lstream *ls, const uint8_t *data, size_t len)
{
	struct pfconn *c = ls->app;
	if (!c || ls != c->data || c->finished || c->client_eof)
		return; /* the client writes nothing useful on its error stream */
	sbuf_put(&c->to_pod, data, len);
	conn_flush(s, c);
}

static void pf_on_fin(struct sess *s, struct lstream *ls)
{
	struct pfconn *c = ls->app;
	if (!c || ls != c->data || c->finished)
		return; /* the client half-closes its error stream at once: expected */
	c->client_eof = true;
	conn_flush(s, c);
}

static void pf_on_reset(struct sess *s, struct lstream *ls)
{
	struct pfconn *c = ls->app;
	if (c && ls == c->data)
		conn_finish(s, c, NULL); /* the client dropped the connection */
}

static void pf_on_gone(struct sess *s, struct lstream *ls)
{
	struct pfconn *c = ls->app;
	if (!c)
		return;
	if (ls == c->data)
		c->data = NULL;
	if (ls == c->error)
		c->error = NULL;
	if (!c->data && !c->error) {
		conn_finish(s, c, NULL);
		conn_unlink_free(c->pf, c);
	}
}

/* Ends every connection and the session once the pod stopped or went. */
static void check_pod(struct sess *s, struct pf *pf, uint64_t now)
{
	if (pf->pod_gone || pf->target_err || now - pf->checked_ns < POD_CHECK_MS * 1000000ull)
		return;
	pf->checked_ns = now;
	char *ip = NULL, *netns = NULL;
	kumo_error_t err = NULL;
	if (s->ops->pod_target(s->ops_ctx, s->req->id, &ip, &netns, &err) == 0) {
		free(ip);
		free(netns);
		return;
	}
	pf->pod_gone = true;
	log_info("stream: port-forward to pod %.12s ends: %s", s->req->id, kumo_error_msg(err));
	for (struct pfconn *c = pf->conns; c; c = c->next)
		conn_finish(s, c, kumo_error_msg(err));
	kumo_error_free(&err);
	sess_end(s, 1000);
}

static void pf_on_tick(struct sess *s, uint64_t now)
{
	struct pf *pf = s->app_data;
	check_pod(s, pf, now);
	for (struct pfconn *c = pf->conns; c; c = c->next) {
		if (c->finished)
			continue;
		if ((!c->data || !c->error) &&
		    now - c->created_ns > (uint64_t)s->creation_timeout_ms * 1000000ull) {
			conn_finish(s, c, "timed out waiting for the client's data and error "
					  "streams");
		} else if (c->connecting && now > c->connect_deadline_ns) {
			autofree char *m = xasprintf("connect to %s:%u: no answer within %d ms",
						     pf->ip, c->port, CONNECT_TIMEOUT_MS);
			conn_finish(s, c, m);
		}
	}
}

static void pf_on_close(struct sess *s)
{
	struct pf *pf = s->app_data;
	if (!pf)
		return;
	while (pf->conns) {
		struct pfconn *c = pf->conns;
		if (c->fd >= 0) {
			sess_unwatch(s, &c->w);
			close(c->fd);
		}
		if (c->data)
			c->data->app = NULL;
		if (c->error)
			c->error->app = NULL;
		pf->conns = c->next;
		sbuf_free(&c->to_pod);
		free(c->request_id);
		free(c);
	}
	free(pf->ip);
	free(pf->netns);
	free(pf->target_err);
	free(pf);
	s->app_data = NULL;
}

const struct sess_app stream_portforward_app = {
	.start = pf_start,
	.on_stream = pf_on_stream,
	.on_ready = pf_on_ready,
	.on_data = pf_on_data,
	.on_fin = pf_on_fin,
	.on_reset = pf_on_reset,
	.on_gone = pf_on_gone,
	.on_tick = pf_on_tick,
	.on_close = pf_on_close,
};
