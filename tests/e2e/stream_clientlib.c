/* tests/e2e/stream_clientlib.c - the test client of kumod's streaming server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <jansson.h>

#include "cri/spdy.h"
#include "cri/websocket.h"
#include "tests/e2e/stream_clientlib.h"

enum { K_EXEC = 1, K_ATTACH, K_PORTFORWARD };
enum { T_ERROR = 1, T_STDIN, T_STDOUT, T_STDERR, T_RESIZE, T_DATA };
static const char *const type_names[] = {"", "error", "stdin", "stdout", "stderr", "resize",
					 "data"};

struct cstream {
	uint32_t id;       /* SPDY stream id, or channel */
	int type;
	int idx;           /* port-forward: the connection's index */
	bool replied, fin_recv, reset;
	int fd;            /* where data goes, or -1 to keep it */
	struct sbuf data;
	struct cstream *next;
};

struct sc_conn {
	int fd;
	int transport;
	int kind;
	char protocol[64];
	struct spdy_codec *spdy;
	struct sbuf in, out, tunnel, msg;
	int msg_op;
	uint32_t next_id;
	bool eof, goaway, ws_closed;
	const char *stop_text;
	struct cstream *streams;
};

static int fail(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (why && !*why)
		*why = m;
	else
		free(m);
	return -1;
}

static int64_t deadline_left(uint64_t deadline)
{
	uint64_t now = kumo_now_ns();
	return now >= deadline ? 0 : (int64_t)((deadline - now) / 1000000ull) + 1;
}

/* ---- output ---------------------------------------------------------------------------- */

static void mask_bytes(uint8_t m[4])
{
	if (getrandom(m, 4, 0) != 4)
		abort();
}

static void ws_out(struct sc_conn *c, int op, const void *data, size_t len)
{
	uint8_t m[4];
	mask_bytes(m);
	ws_put_frame(&c->out, op, true, data, len, m);
}

/* SPDY frames go into `scratch`, then onto the wire (wrapped for the tunnel). */
static void spdy_send(struct sc_conn *c, struct sbuf *scratch)
{
	if (c->transport == SC_WS_TUNNEL)
		ws_out(c, WS_BINARY, sbuf_head(scratch), sbuf_size(scratch));
	else
		sbuf_put(&c->out, sbuf_head(scratch), sbuf_size(scratch));
	sbuf_free(scratch);
}

static struct cstream *open_stream(struct sc_conn *c, int type, const char *port, int idx,
				   int fd)
{
	struct cstream *s = xzalloc(sizeof(*s));
	s->type = type;
	s->idx = idx;
	s->fd = fd;
	s->next = c->streams;
	c->streams = s;
	if (c->transport == SC_WS_CHANNELS)
		return s; /* channels are fixed; the caller sets the id */
	s->id = c->next_id;
	c->next_id += 2;
	char rid[16];
	snprintf(rid, sizeof(rid), "%d", idx);
	const char *names[] = {"streamtype", "port", "requestid"};
	const char *values[] = {type_names[type], port, rid};
	struct sbuf f = {0};
	spdy_put_syn_stream(c->spdy, &f, s->id, 0, names, values, port ? 3 : 1);
	spdy_send(c, &f);
	return s;
}

static void stream_write(struct sc_conn *c, struct cstream *s, const void *data, size_t len,
			 bool fin)
{
	if (c->transport == SC_WS_CHANNELS) {
		const uint8_t *p = data;
		while (len > 0) {
			size_t n = len > 32768 ? 32768 : len;
			struct sbuf m = {0};
			sbuf_put8(&m, (uint8_t)s->id);
			sbuf_put(&m, p, n);
			ws_out(c, WS_BINARY, sbuf_head(&m), sbuf_size(&m));
			sbuf_free(&m);
			p += n;
			len -= n;
		}
		if (fin && strncmp(c->protocol, "v5.", 3) == 0) {
			uint8_t close_sig[2] = {255, (uint8_t)s->id};
			ws_out(c, WS_BINARY, close_sig, 2);
		}
		return;
	}
	struct sbuf f = {0};
	const uint8_t *p = data;
	while (len > 0) {
		size_t n = len > 32768 ? 32768 : len;
		spdy_put_data(&f, s->id, 0, p, n);
		p += n;
		len -= n;
	}
	if (fin)
		spdy_put_data(&f, s->id, SPDY_FLAG_FIN, NULL, 0);
	if (sbuf_size(&f))
		spdy_send(c, &f);
	sbuf_free(&f);
}

/* ---- input ----------------------------------------------------------------------------- */

static struct cstream *find(struct sc_conn *c, uint32_t id)
{
	for (struct cstream *s = c->streams; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void deliver(struct cstream *s, const uint8_t *p, size_t n)
{
	if (s->fd >= 0)
		kumo_write_all(s->fd, p, n);
	else
		sbuf_put(&s->data, p, n);
}

static int on_spdy(struct sc_conn *c, struct spdy_frame *f, char **why)
{
	struct cstream *s;
	struct sbuf out = {0};
	switch (f->type) {
	case SPDY_SYN_REPLY:
		if ((s = find(c, f->stream_id)))
			s->replied = true;
		if (s && (f->flags & SPDY_FLAG_FIN))
			s->fin_recv = true;
		break;
	case SPDY_DATA:
		s = find(c, f->stream_id);
		if (!s)
			return fail(why, "data for unknown stream %u", f->stream_id);
		if (s->fin_recv)
			return fail(why, "data after FIN on stream %u", f->stream_id);
		deliver(s, f->data, f->len);
		if (f->flags & SPDY_FLAG_FIN)
			s->fin_recv = true;
		break;
	case SPDY_RST_STREAM:
		if ((s = find(c, f->stream_id))) {
			s->reset = s->fin_recv = true;
			s->replied = true;
		}
		break;
	case SPDY_PING:
		spdy_put_ping(&out, f->ping_id);
		spdy_send(c, &out);
		break;
	case SPDY_GOAWAY:
		c->goaway = true;
		break;
	case SPDY_SYN_STREAM:
		return fail(why, "the server opened a stream");
	default:
		break;
	}
	return 0;
}

static int parse_spdy(struct sc_conn *c, struct sbuf *b, char **why)
{
	for (;;) {
		struct spdy_frame f;
		size_t used;
		kumo_error_t err = NULL;
		int r = spdy_parse(c->spdy, sbuf_head(b), sbuf_size(b), &f, &used, &err);
		if (r == 0)
			return 0;
		if (r < 0) {
			fail(why, "%s", kumo_error_msg(err));
			kumo_error_free(&err);
			return -1;
		}
		r = on_spdy(c, &f, why);
		spdy_frame_clear(&f);
		sbuf_consume(b, used);
		if (r < 0)
			return -1;
	}
}

static int on_channel(struct sc_conn *c, int op, uint8_t *m, size_t len, char **why)
{
	if (len == 0)
		return 0;
	bool b64 = strstr(c->protocol, "base64") != NULL;
	uint32_t ch = b64 ? (uint32_t)(m[0] - '0') : m[0];
	uint8_t *data = m + 1;
	size_t n = len - 1;
	if (b64) {
		long d = ws_base64_decode((const char *)data, n, data);
		if (d < 0)
			return fail(why, "a base64 message that is not base64");
		n = (size_t)d;
	}
	struct cstream *s = find(c, ch);
	if (s)
		deliver(s, data, n);
	return 0;
}

static int parse_ws(struct sc_conn *c, char **why)
{
	for (;;) {
		struct ws_frame f;
		size_t used;
		kumo_error_t err = NULL;
		int r = ws_parse(sbuf_head(&c->in), sbuf_size(&c->in), 64u << 20, false, &f, &used,
				 &err);
		if (r == 0)
			return 0;
		if (r < 0) {
			fail(why, "%s", kumo_error_msg(err));
			kumo_error_free(&err);
			return -1;
		}
		int rc = 0;
		if (f.opcode == WS_PING) {
			ws_out(c, WS_PONG, f.payload, f.len);
		} else if (f.opcode == WS_CLOSE) {
			if (!c->ws_closed)
				ws_out(c, WS_CLOSE, f.payload, f.len > 2 ? 2 : f.len);
			c->ws_closed = true;
		} else if (f.opcode == WS_PONG) {
		} else {
			if (f.opcode != WS_CONTINUATION)
				c->msg_op = f.opcode;
			sbuf_put(&c->msg, f.payload, f.len);
			if (f.fin) {
				if (c->transport == SC_WS_TUNNEL) {
					sbuf_put(&c->tunnel, sbuf_head(&c->msg), sbuf_size(&c->msg));
					rc = parse_spdy(c, &c->tunnel, why);
				} else {
					rc = on_channel(c, c->msg_op, sbuf_head(&c->msg),
							sbuf_size(&c->msg), why);
				}
				c->msg.off = c->msg.len = 0;
			}
		}
		sbuf_consume(&c->in, used);
		if (rc < 0)
			return -1;
	}
}

/* One round of I/O: writes what waits, reads what came. 1: the server closed. */
static int io_step(struct sc_conn *c, uint64_t deadline, char **why)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN | (sbuf_size(&c->out) ? POLLOUT : 0)};
	int64_t left = deadline_left(deadline);
	if (left == 0)
		return fail(why, "timeout");
	int n = poll(&p, 1, (int)(left > 200 ? 200 : left));
	if (n < 0 && errno != EINTR)
		return fail(why, "poll: %s", strerror(errno));
	if (p.revents & POLLOUT) {
		ssize_t w = send(c->fd, sbuf_head(&c->out), sbuf_size(&c->out), MSG_NOSIGNAL);
		if (w > 0)
			sbuf_consume(&c->out, (size_t)w);
		else if (w < 0 && errno != EAGAIN)
			return fail(why, "send: %s", strerror(errno));
	}
	if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
		uint8_t *b = sbuf_reserve(&c->in, 65536);
		ssize_t r = recv(c->fd, b, 65536, 0);
		if (r > 0) {
			sbuf_commit(&c->in, (size_t)r);
			int pr = c->transport == SC_SPDY ? parse_spdy(c, &c->in, why) : parse_ws(c, why);
			if (pr < 0)
				return -1;
		} else if (r == 0 || (r < 0 && errno != EAGAIN)) {
			c->eof = true;
			return 1;
		}
	}
	return 0;
}

/* Writes everything queued (best effort, bounded by the deadline). */
static void drain_out(struct sc_conn *c, uint64_t deadline)
{
	while (sbuf_size(&c->out) && deadline_left(deadline) > 0) {
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t w = send(c->fd, sbuf_head(&c->out), sbuf_size(&c->out), MSG_NOSIGNAL);
		if (w <= 0)
			return;
		sbuf_consume(&c->out, (size_t)w);
	}
}

/* ---- connecting ---------------------------------------------------------------------------- */

static char *json_message(const char *body)
{
	json_t *j = json_loads(body, 0, NULL);
	const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
	char *out = xstrdup(m ? m : body);
	json_decref(j);
	return out;
}

int sc_connect(const char *url, int transport, const char *protocol, int timeout_ms,
	       struct sc_conn **out, int *http_status, char **why)
{
	*http_status = 0;
	uint64_t deadline = kumo_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	if (strncmp(url, "http://", 7) != 0)
		return fail(why, "not an http URL: %s", url);
	const char *hp = url + 7, *path = strchr(hp, '/');
	if (!path)
		return fail(why, "no path in %s", url);
	autofree char *hostport = xstrndup(hp, (size_t)(path - hp));
	char *colon = strrchr(hostport, ':');
	if (!colon)
		return fail(why, "no port in %s", url);
	*colon = 0;
	char *host = hostport;
	if (host[0] == '[') {
		host++;
		host[strlen(host) - 1] = 0;
	}
	int kind = strncmp(path, "/exec/", 6) == 0	 ? K_EXEC
		   : strncmp(path, "/attach/", 8) == 0	 ? K_ATTACH
		   : strncmp(path, "/portforward/", 13) == 0 ? K_PORTFORWARD
							     : 0;
	if (!protocol)
		protocol = kind == K_PORTFORWARD ? (transport == SC_SPDY	 ? "portforward.k8s.io"
						    : transport == SC_WS_TUNNEL ? "SPDY/3.1+portforward.k8s.io"
										: "v4.channel.k8s.io")
			   : transport == SC_SPDY    ? "v4.channel.k8s.io"
						     : "v5.channel.k8s.io";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return fail(why, "cannot resolve %s", host);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int e = errno;
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return fail(why, "connect %s: %s", url, strerror(e));
	}
	freeaddrinfo(ai);
	struct sbuf req = {0};
	char key[25] = "";
	autofree char *head = NULL;
	if (transport == SC_SPDY) {
		head = xasprintf("POST %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n"
				 "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: %s\r\n"
				 "Content-Length: 0\r\n\r\n",
				 path, hostport, protocol);
	} else {
		uint8_t raw[16];
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			abort();
		struct sbuf k = {0};
		ws_base64_encode(&k, raw, sizeof(raw));
		memcpy(key, sbuf_head(&k), 24);
		sbuf_free(&k);
		head = xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n"
				 "Upgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
				 "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
				 path, hostport, key, *protocol ? "Sec-WebSocket-Protocol: " : "",
				 protocol, *protocol ? "\r\n" : "");
	}
	sbuf_put(&req, head, strlen(head));
	if (kumo_write_all(fd, sbuf_head(&req), sbuf_size(&req)) < 0) {
		sbuf_free(&req);
		close(fd);
		return fail(why, "send the request: %s", strerror(errno));
	}
	sbuf_free(&req);
	/* The response head, then (for an error) its body. */
	struct sbuf resp = {0};
	char *end = NULL;
	while (!end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)deadline_left(deadline)) <= 0) {
			sbuf_free(&resp);
			close(fd);
			return fail(why, "timeout waiting for the response");
		}
		uint8_t *b = sbuf_reserve(&resp, 4097);
		ssize_t n = recv(fd, b, 4096, 0);
		if (n <= 0) {
			sbuf_free(&resp);
			close(fd);
			return fail(why, "the server closed before answering");
		}
		sbuf_commit(&resp, (size_t)n);
		*sbuf_reserve(&resp, 1) = 0;
		end = strstr((char *)sbuf_head(&resp), "\r\n\r\n");
	}
	size_t head_len = (size_t)(end + 4 - (char *)sbuf_head(&resp));
	char *h = xstrndup((char *)sbuf_head(&resp), head_len);
	int status = 0;
	sscanf(h, "HTTP/1.%*d %d", &status);
	*http_status = status;
	if (status != 101) {
		long clen = -1;
		char *cl = strcasestr(h, "\r\nContent-Length:");
		if (cl)
			clen = strtol(cl + 17, NULL, 10);
		sbuf_consume(&resp, head_len);
		while (clen < 0 || (long)sbuf_size(&resp) < clen) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, (int)deadline_left(deadline)) <= 0)
				break;
			uint8_t *b = sbuf_reserve(&resp, 4097);
			ssize_t n = recv(fd, b, 4096, 0);
			if (n <= 0)
				break;
			sbuf_commit(&resp, (size_t)n);
		}
		*sbuf_reserve(&resp, 1) = 0;
		char *msg = json_message((char *)sbuf_head(&resp));
		fail(why, "%s", msg);
		free(msg);
		free(h);
		sbuf_free(&resp);
		close(fd);
		return -1;
	}
	struct sc_conn *c = xzalloc(sizeof(*c));
	c->fd = fd;
	c->transport = transport;
	c->kind = kind;
	c->next_id = 1;
	const char *ph = transport == SC_SPDY ? "\r\nX-Stream-Protocol-Version:" : "\r\nSec-WebSocket-Protocol:";
	char *pv = strcasestr(h, ph);
	if (pv) {
		pv += strlen(ph);
		while (*pv == ' ')
			pv++;
		size_t l = strcspn(pv, "\r\n");
		snprintf(c->protocol, sizeof(c->protocol), "%.*s", (int)l, pv);
	}
	if (transport != SC_SPDY) {
		char want[29];
		ws_accept_key(key, want);
		char *acc = strcasestr(h, "\r\nSec-WebSocket-Accept:");
		if (!acc || !strstr(acc, want)) {
			free(h);
			sbuf_free(&resp);
			sc_close(c);
			return fail(why, "bad Sec-WebSocket-Accept");
		}
	}
	free(h);
	sbuf_consume(&resp, head_len);
	sbuf_put(&c->in, sbuf_head(&resp), sbuf_size(&resp));
	sbuf_free(&resp);
	if (transport != SC_WS_CHANNELS)
		c->spdy = spdy_codec_new();
	*out = c;
	/* Bytes that came with the response head are parsed once the caller's streams
	 * exist (parse_pending). */
	return 0;
}

static int parse_pending(struct sc_conn *c, char **why)
{
	if (!sbuf_size(&c->in))
		return 0;
	return c->transport == SC_SPDY ? parse_spdy(c, &c->in, why) : parse_ws(c, why);
}

const char *sc_protocol(struct sc_conn *c)
{
	return c->protocol;
}

void sc_stop_when(struct sc_conn *c, const char *text)
{
	c->stop_text = text;
}

void sc_close(struct sc_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	while (c->streams) {
		struct cstream *s = c->streams;
		c->streams = s->next;
		sbuf_free(&s->data);
		free(s);
	}
	spdy_codec_free(c->spdy);
	sbuf_free(&c->in);
	sbuf_free(&c->out);
	sbuf_free(&c->tunnel);
	sbuf_free(&c->msg);
	free(c);
}

/* ---- exec and attach ---------------------------------------------------------------------- */

void sc_rc_result_clear(struct sc_rc_result *r)
{
	free(r->message);
	sbuf_free(&r->out);
	sbuf_free(&r->err);
	*r = (struct sc_rc_result){0};
}

static void parse_status(struct sc_conn *c, const struct sbuf *b, struct sc_rc_result *res)
{
	res->exit_code = 0;
	size_t n = sbuf_size(b);
	if (n == 0) {
		res->success = true;
		return;
	}
	autofree char *text = xstrndup((const char *)b->data + b->off, n);
	bool json = strncmp(c->protocol, "v4.", 3) == 0 || strncmp(c->protocol, "v5.", 3) == 0;
	if (!json) {
		res->message = xstrdup(text);
		return;
	}
	json_t *j = json_loads(text, 0, NULL);
	const char *st = json_string_value(json_object_get(j, "status"));
	const char *reason = json_string_value(json_object_get(j, "reason"));
	const char *msg = json_string_value(json_object_get(j, "message"));
	res->success = st && strcmp(st, "Success") == 0;
	if (!res->success) {
		res->message = xstrdup(msg ? msg : text);
		res->exit_code = -1;
	}
	if (reason && strcmp(reason, "NonZeroExitCode") == 0) {
		json_t *causes = json_object_get(json_object_get(j, "details"), "causes");
		size_t i;
		json_t *cause;
		json_array_foreach(causes, i, cause) {
			const char *r = json_string_value(json_object_get(cause, "reason"));
			const char *m = json_string_value(json_object_get(cause, "message"));
			if (r && m && strcmp(r, "ExitCode") == 0)
				res->exit_code = atoi(m);
		}
	}
	json_decref(j);
}

int sc_remote_command(struct sc_conn *c, bool stdin_, const void *in, size_t in_len,
		      bool keep_stdin, bool out, bool err, bool tty, int out_fd, int err_fd,
		      int timeout_ms, struct sc_rc_result *res, char **why)
{
	*res = (struct sc_rc_result){.exit_code = -1};
	uint64_t deadline = kumo_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct cstream *se, *si = NULL, *so = NULL, *sr = NULL;
	struct cstream *s_err = NULL;
	if (tty)
		err = false;
	se = open_stream(c, T_ERROR, NULL, 0, -1);
	if (stdin_)
		si = open_stream(c, T_STDIN, NULL, 0, -1);
	if (out)
		so = open_stream(c, T_STDOUT, NULL, 0, out_fd);
	if (err)
		s_err = open_stream(c, T_STDERR, NULL, 0, err_fd);
	bool json = strncmp(c->protocol, "v4.", 3) == 0 || strncmp(c->protocol, "v5.", 3) == 0 ||
		    strncmp(c->protocol, "v3.", 3) == 0;
	if (tty && json)
		sr = open_stream(c, T_RESIZE, NULL, 0, -1);
	if (c->transport == SC_WS_CHANNELS) {
		se->id = 3;
		if (si)
			si->id = 0;
		if (so)
			so->id = 1;
		if (s_err)
			s_err->id = 2;
		if (sr)
			sr->id = 4;
		for (struct cstream *s = c->streams; s; s = s->next)
			s->replied = true;
	}
	if (parse_pending(c, why) < 0)
		return -1;
	/* Wait for the replies (as client-go does before writing). */
	for (;;) {
		bool all = true;
		for (struct cstream *s = c->streams; s; s = s->next)
			all &= s->replied;
		if (all)
			break;
		int r = io_step(c, deadline, why);
		if (r != 0)
			return r < 0 ? -1 : fail(why, "the server closed while streams were opened");
	}
	for (struct cstream *s = c->streams; s; s = s->next)
		if (s->reset)
			return fail(why, "the server refused the %s stream", type_names[s->type]);
	if (sr) {
		static const char size[] = "{\"Width\":80,\"Height\":24}";
		stream_write(c, sr, size, sizeof(size) - 1, false);
	}
	if (si)
		stream_write(c, si, in, in_len, !keep_stdin);
	for (;;) {
		bool done = se->fin_recv && (!so || so->fin_recv) && (!s_err || s_err->fin_recv);
		if (c->transport == SC_WS_CHANNELS)
			done = c->ws_closed || c->eof;
		if (done || c->eof || c->goaway)
			break;
		if (c->stop_text && so && so->fd < 0 && sbuf_size(&so->data)) {
			autofree char *t = xstrndup((const char *)sbuf_head(&so->data),
						    sbuf_size(&so->data));
			if (strstr(t, c->stop_text))
				break;
		}
		int r = io_step(c, deadline, why);
		if (r < 0) {
			if (so && so->fd < 0)
				sbuf_put(&res->out, sbuf_head(&so->data), sbuf_size(&so->data));
			return -1;
		}
	}
	/* Frames already read past a GOAWAY are in; take what else is queued. */
	drain_out(c, deadline);
	parse_status(c, &se->data, res);
	if (so && so->fd < 0)
		sbuf_put(&res->out, sbuf_head(&so->data), sbuf_size(&so->data));
	if (s_err && s_err->fd < 0)
		sbuf_put(&res->err, sbuf_head(&s_err->data), sbuf_size(&s_err->data));
	return 0;
}

/* ---- port-forward ---------------------------------------------------------------------------- */

void sc_pf_result_clear(struct sc_pf_result *r)
{
	sbuf_free(&r->data);
	free(r->error);
	*r = (struct sc_pf_result){0};
}

int sc_port_forward(struct sc_conn *c, uint16_t port, int n, const void *request, size_t len,
		    int timeout_ms, struct sc_pf_result *res, char **why)
{
	uint64_t deadline = kumo_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct cstream **data = xzalloc(sizeof(*data) * (size_t)n);
	struct cstream **errs = xzalloc(sizeof(*errs) * (size_t)n);
	bool *sent = xzalloc(sizeof(bool) * (size_t)n);
	int rc = 0;
	for (int i = 0; i < n; i++)
		res[i] = (struct sc_pf_result){0};
	char ports[8];
	snprintf(ports, sizeof(ports), "%u", port);
	for (int i = 0; i < n; i++) {
		if (c->transport == SC_WS_CHANNELS) {
			data[i] = open_stream(c, T_DATA, NULL, i, -1);
			data[i]->id = (uint32_t)(2 * i);
			errs[i] = open_stream(c, T_ERROR, NULL, i, -1);
			errs[i]->id = (uint32_t)(2 * i + 1);
			continue;
		}
		/* As client-go: the error stream first, closed at once, then the data one. */
		errs[i] = open_stream(c, T_ERROR, ports, i, -1);
		stream_write(c, errs[i], NULL, 0, true);
		data[i] = open_stream(c, T_DATA, ports, i, -1);
	}
	if (parse_pending(c, why) < 0)
		rc = -1;
	for (; rc == 0;) {
		bool all = true;
		for (int i = 0; i < n; i++) {
			bool ready = c->transport == SC_WS_CHANNELS ? sbuf_size(&data[i]->data) >= 2
								    : data[i]->replied;
			if (!sent[i] && ready) {
				if (c->transport == SC_WS_CHANNELS)
					sbuf_consume(&data[i]->data, 2); /* the port, little-endian */
				stream_write(c, data[i], request, len, false);
				sent[i] = true;
			}
			bool done = c->transport == SC_WS_CHANNELS
					    ? false
					    : data[i]->fin_recv && errs[i]->fin_recv;
			all &= done;
		}
		if (c->transport == SC_WS_CHANNELS)
			all = c->ws_closed || c->eof;
		if (all)
			break;
		int r = io_step(c, deadline, why);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r > 0) {
			rc = fail(why, "the server closed the connection");
			break;
		}
	}
	for (int i = 0; i < n; i++) {
		res[i].data = data[i]->data;
		data[i]->data = (struct sbuf){0};
		res[i].closed = data[i]->fin_recv || c->ws_closed;
		size_t el = sbuf_size(&errs[i]->data);
		const uint8_t *e = sbuf_head(&errs[i]->data);
		if (c->transport == SC_WS_CHANNELS && el >= 2) { /* the port first */
			e += 2;
			el -= 2;
		}
		if (el)
			res[i].error = xstrndup((const char *)e, el);
		if (c->transport != SC_WS_CHANNELS && !data[i]->reset) {
			/* client-go resets the data stream once the pod's side ended. */
			struct sbuf f = {0};
			spdy_put_rst_stream(&f, data[i]->id, SPDY_RST_CANCEL);
			spdy_send(c, &f);
		}
	}
	drain_out(c, kumo_now_ns() + 1000000000ull);
	free(data);
	free(errs);
	free(sent);
	return rc;
}
