/* cri/stream_server.c - the streaming HTTP server (libmicrohttpd): one-time URLs, the
 * upgrade to SPDY/3.1 or WebSocket with protocol negotiation, and the sessions list. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cri/stream_impl.h"
#include "cri/websocket.h"

struct cri_stream_server {
	struct MHD_Daemon *mhd;
	int listen_fd;             /* ours: MHD does not close a socket it is given */
	char *base_url;            /* "http://HOST:PORT" */
	struct stream_tokens *tokens; /* pending requests by token */
	const struct cri_stream_ops *ops; /* kumod's callbacks */
	void *ops_ctx;             /* their context */
	int idle_timeout_ms;       /* sessions idle this long end */
	int creation_timeout_ms;   /* clients open their streams within this */
	int token_ttl_ms;          /* a URL's lifetime */
	pthread_mutex_t lock;      /* guards the fields below */
	pthread_cond_t cond;       /* signalled when a session ends */
	struct sess *sessions;     /* live sessions */
	int n_sessions;
	bool stopping;             /* no new session may start */
};

/* One HTTP request between its headers and its upgrade (MHD's con_cls). */
struct pending {
	struct cri_stream_server *srv;
	struct sess *s; /* prepared session; NULL once the upgrade took it */
};

void cri_stream_request_free(struct cri_stream_request *r)
{
	if (!r)
		return;
	free(r->id);
	for (size_t i = 0; r->cmd && r->cmd[i]; i++)
		free(r->cmd[i]);
	free(r->cmd);
	free(r->ports);
	free(r);
}

const char *cri_stream_base_url(struct cri_stream_server *s)
{
	return s->base_url;
}

int cri_stream_sessions(struct cri_stream_server *s)
{
	pthread_mutex_lock(&s->lock);
	int n = s->n_sessions;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static const char *const kind_paths[] = {[CRI_STREAM_EXEC] = "exec",
					  [CRI_STREAM_ATTACH] = "attach",
					  [CRI_STREAM_PORTFORWARD] = "portforward"};

int cri_stream_url(struct cri_stream_server *s, struct cri_stream_request *req, char **url,
		   kumo_error_t *err)
{
	int kind = req->kind;
	autofree char *token = NULL;
	if (stream_tokens_insert(s->tokens, req, &token, err) < 0)
		return -1;
	*url = xasprintf("%s/%s/%s", s->base_url, kind_paths[kind], token);
	return 0;
}

bool cri_stream_server_session_add(struct cri_stream_server *srv, struct sess *s)
{
	pthread_mutex_lock(&srv->lock);
	bool ok = !srv->stopping;
	if (ok) {
		s->next = srv->sessions;
		srv->sessions = s;
		srv->n_sessions++;
	}
	pthread_mutex_unlock(&srv->lock);
	return ok;
}

void cri_stream_server_session_done(struct cri_stream_server *srv, struct sess *s)
{
	MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
	pthread_mutex_lock(&srv->lock);
	for (struct sess **pp = &srv->sessions; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			srv->n_sessions--;
			break;
		}
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static enum MHD_Result reply_status(struct MHD_Connection *c, unsigned code, const char *reason,
				    const char *message, const char *accepted)
{
	autofree char *body = stream_status_json(false, (int)code, reason, message, NULL);
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (accepted) {
		/* As k8s' handshake: every protocol the server takes, one header each. */
		autofree char *list = xstrdup(accepted);
		char *save = NULL;
		for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
			MHD_add_response_header(r, "X-Accepted-Stream-Protocol-Versions", p);
	}
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* Collects every value of a header (repeated or comma-separated) into a list. */
struct header_list {
	const char *name;
	char *items[32];
	size_t n;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct header_list *l = cls;
	if (!value || strcasecmp(key, l->name) != 0)
		return MHD_YES;
	autofree char *copy = xstrdup(value);
	char *save = NULL;
	for (char *p = strtok_r(copy, ",", &save); p && l->n < 32; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strlen(p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			p[--len] = 0;
		if (len)
			l->items[l->n++] = xstrdup(p);
	}
	return MHD_YES;
}

static void header_list_clear(struct header_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	l->n = 0;
}

/* The protocols each endpoint takes, in the server's order of preference (the client's
 * order decides, as in k8s: its first protocol the server knows wins). */
static const char *const spdy_rc_protocols[] = {"v4.channel.k8s.io", "v3.channel.k8s.io",
						"v2.channel.k8s.io", "channel.k8s.io", NULL};
static const char *const spdy_pf_protocols[] = {"portforward.k8s.io", NULL};
static const char *const ws_rc_protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
					      "v4.base64.channel.k8s.io", "channel.k8s.io",
					      "base64.channel.k8s.io", NULL};
static const char *const ws_pf_protocols[] = {"SPDY/3.1+portforward.k8s.io", "v4.channel.k8s.io",
					      "v4.base64.channel.k8s.io", NULL};

static const char *negotiate(const struct header_list *client, const char *const *server)
{
	for (size_t i = 0; i < client->n; i++)
		for (size_t j = 0; server[j]; j++)
			if (strcmp(client->items[i], server[j]) == 0)
				return server[j];
	return NULL;
}

static char *join(const char *const *list)
{
	struct sbuf b = {0};
	for (size_t i = 0; list[i]; i++) {
		if (i)
			sbuf_put8(&b, ',');
		sbuf_put(&b, list[i], strlen(list[i]));
	}
	sbuf_put8(&b, 0);
	return (char *)b.data;
}

static void on_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
			size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct pending *p = cls;
	struct sess *s = p->s;
	p->s = NULL;
	if (!s) { /* cannot happen: one upgrade per request */
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	s->fd = sock;
	s->urh = urh;
	kumo_error_t err = NULL;
	if (sess_start(s, extra_in, extra_in_size, &err) < 0)
		log_warn("stream: %s", kumo_error_msg(err));
	kumo_error_free(&err);
}

static enum MHD_Result query_collect(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct sbuf *b = cls;
	if (sbuf_size(b))
		sbuf_put8(b, '&');
	sbuf_put(b, key, strlen(key));
	if (value) {
		sbuf_put8(b, '=');
		sbuf_put(b, value, strlen(value));
	}
	return MHD_YES;
}

static enum MHD_Result serve(struct cri_stream_server *srv, struct MHD_Connection *c,
			     const char *url, const char *method, struct pending *p)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		return reply_status(c, MHD_HTTP_METHOD_NOT_ALLOWED, "MethodNotAllowed",
				    "the streaming endpoints take GET or POST", NULL);
	int kind = 0;
	const char *token = NULL;
	for (int k = CRI_STREAM_EXEC; k <= CRI_STREAM_PORTFORWARD; k++) {
		size_t l = strlen(kind_paths[k]);
		if (url[0] == '/' && strncmp(url + 1, kind_paths[k], l) == 0 && url[1 + l] == '/') {
			kind = k;
			token = url + 2 + l;
		}
	}
	if (!kind || !*token || strchr(token, '/')) {
		autofree char *m = xasprintf("no streaming endpoint `%s`: the URLs are "
					     "/exec/TOKEN, /attach/TOKEN and /portforward/TOKEN",
					     url);
		return reply_status(c, MHD_HTTP_NOT_FOUND, "NotFound", m, NULL);
	}
	struct cri_stream_request *req = NULL;
	int tr = stream_tokens_consume(srv->tokens, token, &req);
	if (tr != TOKEN_OK) {
		autofree char *m = NULL;
		if (tr == TOKEN_USED)
			m = xasprintf("streaming token `%s` was already used: each URL from Exec, "
				      "Attach or PortForward serves one connection; call again for "
				      "a new one",
				      token);
		else if (tr == TOKEN_EXPIRED)
			m = xasprintf("streaming token `%s` expired: a URL must be used within "
				      "%d ms of the call that returned it",
				      token, srv->token_ttl_ms);
		else
			m = xasprintf("unknown streaming token `%s`: this kumod never issued it "
				      "(or it restarted since)",
				      token);
		return reply_status(c, tr == TOKEN_UNKNOWN ? MHD_HTTP_NOT_FOUND : MHD_HTTP_GONE,
				    tr == TOKEN_UNKNOWN ? "NotFound" : "Gone", m, NULL);
	}
	if (req->kind != kind) {
		autofree char *m = xasprintf("streaming token `%s` was issued for %s, not %s",
					     token, kind_paths[req->kind], kind_paths[kind]);
		cri_stream_request_free(req);
		return reply_status(c, MHD_HTTP_NOT_FOUND, "NotFound", m, NULL);
	}

	const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
	const char *connection = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
	bool is_upgrade = connection && strcasestr(connection, "upgrade");
	bool ws = is_upgrade && upgrade && strcasecmp(upgrade, "websocket") == 0;
	bool spdy = is_upgrade && upgrade && strcasecmp(upgrade, "SPDY/3.1") == 0;
	if (!ws && !spdy) {
		cri_stream_request_free(req);
		return reply_status(c, MHD_HTTP_BAD_REQUEST, "BadRequest",
				    "the streaming endpoints need `Connection: Upgrade` with "
				    "`Upgrade: SPDY/3.1` or `Upgrade: websocket`",
				    NULL);
	}
	struct header_list protos = {.name = ws ? "Sec-WebSocket-Protocol"
						: "X-Stream-Protocol-Version"};
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &protos);
	const char *const *supported =
		kind == CRI_STREAM_PORTFORWARD ? (ws ? ws_pf_protocols : spdy_pf_protocols)
					       : (ws ? ws_rc_protocols : spdy_rc_protocols);
	const char *proto = negotiate(&protos, supported);
	bool asked = protos.n > 0;
	header_list_clear(&protos);
	char accept[29] = "";
	if (ws) {
		const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							      "Sec-WebSocket-Key");
		const char *ver = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							      "Sec-WebSocket-Version");
		if (!key || !ver || strcmp(ver, "13") != 0) {
			cri_stream_request_free(req);
			return reply_status(c, MHD_HTTP_BAD_REQUEST, "BadRequest",
					    "a websocket upgrade needs Sec-WebSocket-Key and "
					    "Sec-WebSocket-Version 13",
					    NULL);
		}
		ws_accept_key(key, accept);
		if (!proto && !asked)
			proto = ""; /* no sub-protocol: channel.k8s.io's binary framing */
	} else if (!asked) {
		cri_stream_request_free(req);
		return reply_status(c, MHD_HTTP_BAD_REQUEST, "BadRequest",
				    "unable to upgrade: the request names no "
				    "X-Stream-Protocol-Version",
				    NULL);
	}
	if (!proto) {
		autofree char *list = join(supported);
		autofree char *m = xasprintf("unable to upgrade: no protocol in common; the %s "
					     "endpoint over %s speaks %s",
					     kind_paths[kind], ws ? "websocket" : "SPDY/3.1", list);
		cri_stream_request_free(req);
		return reply_status(c, ws ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_FORBIDDEN, "Forbidden",
				    m, ws ? NULL : list);
	}

	struct sess *s = xzalloc(sizeof(*s));
	s->srv = srv;
	s->ops = srv->ops;
	s->ops_ctx = srv->ops_ctx;
	s->req = req;
	s->fd = -1;
	s->epfd = s->stopfd = s->timerfd = -1;
	s->idle_timeout_ms = srv->idle_timeout_ms;
	s->creation_timeout_ms = srv->creation_timeout_ms;
	s->protocol = proto;
	s->app = kind == CRI_STREAM_PORTFORWARD ? &stream_portforward_app
						: &stream_remotecommand_app;
	struct sbuf q = {0};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_collect, &q);
	sbuf_put8(&q, 0);
	s->query = (char *)q.data;
	if (!ws) {
		s->transport = TR_SPDY;
	} else if (strncmp(proto, "SPDY/3.1+", 9) == 0) {
		s->transport = TR_WS_SPDY;
	} else {
		s->transport = TR_WS_CHANNELS;
		s->ws_base64 = strstr(proto, "base64") != NULL;
		s->ws_close_signal = strcmp(proto, "v5.channel.k8s.io") == 0;
	}
	p->s = s;
	struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, p);
	/* MHD adds `Connection: Upgrade` to a 101 itself. */
	MHD_add_response_header(r, "Upgrade", ws ? "websocket" : "SPDY/3.1");
	if (ws) {
		MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
		if (*proto)
			MHD_add_response_header(r, "Sec-WebSocket-Protocol", proto);
	} else {
		MHD_add_response_header(r, "X-Stream-Protocol-Version", proto);
	}
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct cri_stream_server *srv = cls;
	if (!*con_cls) {
		struct pending *p = xzalloc(sizeof(*p));
		p->srv = srv;
		*con_cls = p;
		return MHD_YES; /* the headers are in; answer once the (empty) body is too */
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a streaming request has no body worth reading */
		return MHD_YES;
	}
	return serve(srv, c, url, method, *con_cls);
}

/* Frees a request's pending session that never reached its upgrade (the client left
 * first, or an error was answered). */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *con_cls;
	if (!p)
		return;
	if (p->s) {
		cri_stream_request_free(p->s->req);
		free(p->s->query);
		free(p->s);
	}
	free(p);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t l = strlen(msg);
	while (l && msg[l - 1] == '\n')
		msg[--l] = 0;
	log_debug("stream: libmicrohttpd: %s", msg);
}

/* ---- listening ---------------------------------------------------------------------------- */

/* The node's first non-loopback IPv4 address, for URLs when listening everywhere. */
static char *node_address(void)
{
	struct ifaddrs *ifs = NULL;
	char *out = NULL;
	if (getifaddrs(&ifs) == 0) {
		for (struct ifaddrs *i = ifs; i && !out; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			if ((ntohl(a.s_addr) >> 24) == 127)
				continue;
			char buf[INET_ADDRSTRLEN];
			out = xstrdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
		}
		freeifaddrs(ifs);
	}
	return out ? out : xstrdup("127.0.0.1");
}

static int listen_on(const char *address, int *fd_out, char **base_url, kumo_error_t *err)
{
	autofree char *a = xstrdup(address && *address ? address : CRI_STREAM_DEFAULT_ADDRESS);
	char *host = a, *port = NULL;
	if (a[0] == '[') {
		char *close = strchr(a, ']');
		if (!close || close[1] != ':')
			return kumo_error(err, KUMO_E_INVALID,
					  "stream address `%s`: expected [IPv6]:PORT", address);
		*close = 0;
		host = a + 1;
		port = close + 2;
	} else {
		port = strrchr(a, ':');
		if (!port)
			return kumo_error(err, KUMO_E_INVALID,
					  "stream address `%s`: expected HOST:PORT", address);
		*port++ = 0;
	}
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int gr = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	if (gr != 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "stream address `%s`: need a numeric address and port: %s",
				  address, gai_strerror(gr));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return kumo_error_errno(err, e, "stream address `%s`: cannot listen", address);
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	char hbuf[INET6_ADDRSTRLEN];
	int bound_port;
	autofree char *url_host = NULL;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		bound_port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			url_host = node_address();
		else
			url_host = xasprintf("[%s]", inet_ntop(AF_INET6, &s6->sin6_addr, hbuf,
							       sizeof(hbuf)));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		bound_port = ntohs(s4->sin_port);
		if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
			url_host = node_address();
		else
			url_host = xstrdup(inet_ntop(AF_INET, &s4->sin_addr, hbuf, sizeof(hbuf)));
	}
	*base_url = xasprintf("http://%s:%d", url_host, bound_port);
	*fd_out = fd;
	return 0;
}

int cri_stream_server_start(const struct cri_stream_options *o, const struct cri_stream_ops *ops,
			    void *ctx, struct cri_stream_server **out, kumo_error_t *err)
{
	struct cri_stream_server *s = xzalloc(sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->ops = ops;
	s->ops_ctx = ctx;
	s->idle_timeout_ms = o->idle_timeout_ms > 0 ? o->idle_timeout_ms
						    : CRI_STREAM_DEFAULT_IDLE_TIMEOUT_MS;
	s->creation_timeout_ms = o->creation_timeout_ms > 0
					 ? o->creation_timeout_ms
					 : CRI_STREAM_DEFAULT_CREATION_TIMEOUT_MS;
	s->token_ttl_ms = o->token_ttl_ms > 0 ? o->token_ttl_ms : CRI_STREAM_DEFAULT_TOKEN_TTL_MS;
	s->tokens = stream_tokens_new(s->token_ttl_ms);
	s->listen_fd = -1;
	if (listen_on(o->address, &s->listen_fd, &s->base_url, err) < 0)
		goto fail;
	s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
					  MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
				  0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
				  mhd_log, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
	if (!s->mhd) {
		kumo_error(err, KUMO_E_INTERNAL, "stream: libmicrohttpd did not start on `%s`",
			   s->base_url);
		goto fail;
	}
	log_info("streaming server (exec, attach, port-forward) on %s", s->base_url);
	*out = s;
	return 0;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	stream_tokens_free(s->tokens);
	free(s->base_url);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	return -1;
}

void cri_stream_server_stop(struct cri_stream_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	for (struct sess *x = s->sessions; x; x = x->next)
		sess_stop(x);
	while (s->sessions)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	MHD_stop_daemon(s->mhd);
	close(s->listen_fd); /* MHD does not close a socket it was given */
	stream_tokens_free(s->tokens);
	free(s->base_url);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
