/* tests/apps/net_httpd.c - a static-file HTTP/1.1 server with keep-alive (GET and HEAD),
 * one thread polling the listener and every connection, nonblocking.
 * usage: net_httpd [--port N] [--root DIR] [--quiet]
 *   --port N   listen on 0.0.0.0:N itself (WasmEdge sock_open/bind/listen); without it
 *              the first preopened listening socket (kumo run --listen) is used
 *   --root DIR the files served (default /www when preopened, else the first preopened
 *              directory; natively: the current directory) */
#include <ctype.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "net_compat.h"

#define MAX_CONNS 1024
#define IN_CAP 8192
#define CHUNK (64 * 1024)

struct conn {
	int fd;            /* -1: free */
	char in[IN_CAP];   /* request bytes not yet handled */
	size_t in_len;
	char head[512];    /* the response header being sent */
	size_t head_len, head_off;
	int file;          /* the body's file, -1 when none */
	uint64_t body_off, body_len;
	int close_after;   /* close once this response is sent */
};

static struct conn *conns[MAX_CONNS];
static struct pollfd pfds[MAX_CONNS + 1];
static char root[1024];
static char scratch[CHUNK];
static int quiet;

static void conn_close(int i)
{
	struct conn *c = conns[i];
	close(c->fd);
	if (c->file >= 0)
		close(c->file);
	free(c);
	conns[i] = NULL;
}

static const char *content_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".html") || !strcmp(dot, ".htm"))
		return "text/html";
	if (!strcmp(dot, ".txt"))
		return "text/plain";
	if (!strcmp(dot, ".css"))
		return "text/css";
	if (!strcmp(dot, ".js"))
		return "application/javascript";
	if (!strcmp(dot, ".json"))
		return "application/json";
	if (!strcmp(dot, ".png"))
		return "image/png";
	return "application/octet-stream";
}

static void respond_status(struct conn *c, int code, const char *reason, int close_after)
{
	char body[128];
	int bl = snprintf(body, sizeof(body), "%d %s\n", code, reason);
	c->close_after = close_after;
	c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
				       "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
				       "Content-Length: %d\r\nConnection: %s\r\n\r\n%s",
				       code, reason, bl, close_after ? "close" : "keep-alive", body);
	c->head_off = 0;
	c->file = -1;
	c->body_off = c->body_len = 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* The request target -> a path under root; -1 for a target that is not a clean path. */
static int target_path(const char *t, size_t tl, char *out, size_t cap)
{
	char dec[1024];
	size_t n = 0;
	if (tl == 0 || t[0] != '/')
		return -1;
	for (size_t i = 0; i < tl && t[i] != '?' && t[i] != '#'; i++) {
		int ch = (unsigned char)t[i];
		if (ch == '%') {
			if (i + 2 >= tl + 0 || hexval(t[i + 1]) < 0 || hexval(t[i + 2]) < 0)
				return -1;
			ch = hexval(t[i + 1]) * 16 + hexval(t[i + 2]);
			i += 2;
		}
		if (ch == 0 || n + 1 >= sizeof(dec))
			return -1;
		dec[n++] = (char)ch;
	}
	dec[n] = 0;
	/* No ".." segment may climb out of the root. */
	for (const char *p = dec; (p = strstr(p, "..")); p += 2)
		if ((p == dec || p[-1] == '/') && (p[2] == '/' || p[2] == 0))
			return -1;
	if (dec[n - 1] == '/') {
		if (n + 10 >= sizeof(dec))
			return -1;
		strcpy(dec + n, "index.html");
	}
	if ((size_t)snprintf(out, cap, "%s%s", root, dec) >= cap)
		return -1;
	return 0;
}

static int header_has(const char *h, size_t hl, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	for (size_t i = 0; i + nl < hl; i++) {
		if ((i == 0 || h[i - 1] == '\n') && strncasecmp(h + i, name, nl) == 0 &&
		    h[i + nl] == ':') {
			size_t j = i + nl + 1;
			while (j < hl && (h[j] == ' ' || h[j] == '\t'))
				j++;
			if (vl == 0)
				return 1;
			size_t e = j;
			while (e < hl && h[e] != '\r' && h[e] != '\n')
				e++;
			for (size_t k = j; k + vl <= e; k++)
				if (strncasecmp(h + k, value, vl) == 0)
					return 1;
		}
	}
	return 0;
}

/* Handles one complete request head of hl bytes at c->in. */
static void handle_request(struct conn *c, size_t hl)
{
	const char *r = c->in;
	const char *eol = memchr(r, '\n', hl);
	size_t ll = (size_t)(eol - r);
	if (ll && r[ll - 1] == '\r')
		ll--;
	const char *sp1 = memchr(r, ' ', ll);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - r)) : NULL;
	if (!sp1 || !sp2 || sp2 == sp1 + 1) {
		respond_status(c, 400, "Bad Request", 1);
		return;
	}
	const char *ver = sp2 + 1;
	size_t vl = ll - (size_t)(ver - r);
	int http11;
	if (vl == 8 && !memcmp(ver, "HTTP/1.1", 8))
		http11 = 1;
	else if (vl == 8 && !memcmp(ver, "HTTP/1.0", 8))
		http11 = 0;
	else {
		respond_status(c, 400, "Bad Request", 1);
		return;
	}
	const char *hdrs = eol + 1;
	size_t hdl = hl - (size_t)(hdrs - r);
	/* A request with a body is not something this server accepts. */
	if (header_has(hdrs, hdl, "Transfer-Encoding", "") ||
	    (header_has(hdrs, hdl, "Content-Length", "") &&
	     !header_has(hdrs, hdl, "Content-Length", "0"))) {
		respond_status(c, 400, "Bad Request", 1);
		return;
	}
	int keep = http11 ? !header_has(hdrs, hdl, "Connection", "close")
			  : header_has(hdrs, hdl, "Connection", "keep-alive");
	size_t ml = (size_t)(sp1 - r);
	int head_only = ml == 4 && !memcmp(r, "HEAD", 4);
	if (!head_only && !(ml == 3 && !memcmp(r, "GET", 3))) {
		for (size_t i = 0; i < ml; i++)
			if (!isupper((unsigned char)r[i])) {
				respond_status(c, 400, "Bad Request", 1);
				return;
			}
		respond_status(c, 501, "Not Implemented", !keep);
		return;
	}
	char path[2048];
	if (target_path(sp1 + 1, (size_t)(sp2 - sp1 - 1), path, sizeof(path)) < 0) {
		respond_status(c, 400, "Bad Request", 1);
		return;
	}
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		respond_status(c, 404, "Not Found", !keep);
		return;
	}
	c->close_after = !keep;
	c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
				       "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %llu\r\n"
				       "Connection: %s\r\n\r\n",
				       content_type(path), (unsigned long long)st.st_size,
				       keep ? "keep-alive" : "close");
	c->head_off = 0;
	c->body_off = 0;
	if (head_only || st.st_size == 0) {
		close(fd);
		c->file = -1;
		c->body_len = 0;
	} else {
		c->file = fd;
		c->body_len = (uint64_t)st.st_size;
	}
}

static int sending(const struct conn *c)
{
	return c->head_off < c->head_len || c->body_off < c->body_len;
}

/* Parses whatever complete request is buffered (when not busy sending). 0, or -1 to
 * close the connection now. */
static int parse_more(struct conn *c)
{
	while (!sending(c) && c->in_len) {
		if (c->close_after)
			return -1;
		char *end = NULL;
		for (size_t i = 0; i + 3 < c->in_len; i++)
			if (!memcmp(c->in + i, "\r\n\r\n", 4)) {
				end = c->in + i + 4;
				break;
			}
		if (!end) {
			if (c->in_len == IN_CAP) {
				respond_status(c, 431, "Request Header Fields Too Large", 1);
				c->in_len = 0;
			}
			return 0;
		}
		size_t hl = (size_t)(end - c->in);
		handle_request(c, hl);
		memmove(c->in, end, c->in_len - hl);
		c->in_len -= hl;
	}
	return 0;
}

/* Sends as much of the current response as the socket takes. 0, or -1 to close. */
static int send_more(struct conn *c)
{
	while (sending(c)) {
		struct iovec iov[2];
		int n = 0;
		if (c->head_off < c->head_len) {
			iov[n].iov_base = c->head + c->head_off;
			iov[n].iov_len = c->head_len - c->head_off;
			n++;
		}
		if (c->body_off < c->body_len) {
			uint64_t want = c->body_len - c->body_off;
			if (want > CHUNK)
				want = CHUNK;
			ssize_t r = pread(c->file, scratch, want, (off_t)c->body_off);
			if (r <= 0)
				return -1; /* the file shrank: the length already sent is a lie */
			iov[n].iov_base = scratch;
			iov[n].iov_len = (size_t)r;
			n++;
		}
		ssize_t w = writev(c->fd, iov, n);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		size_t left = (size_t)w;
		if (c->head_off < c->head_len) {
			size_t h = c->head_len - c->head_off;
			size_t t = left < h ? left : h;
			c->head_off += t;
			left -= t;
		}
		c->body_off += left;
	}
	if (c->file >= 0) {
		close(c->file);
		c->file = -1;
	}
	c->head_off = c->head_len = 0;
	c->body_off = c->body_len = 0;
	return c->close_after ? -1 : 0;
}

/* Answers buffered requests and sends until the socket would block. 0, or -1 to close. */
static int progress(struct conn *c)
{
	for (;;) {
		if (parse_more(c) < 0)
			return -1;
		if (!sending(c))
			return 0;
		if (send_more(c) < 0)
			return -1;
		if (sending(c))
			return 0; /* the socket is full: wait for POLLOUT */
	}
}

static void serve(int lfd)
{
	for (;;) {
		int idx[MAX_CONNS + 1];
		int n = 0;
		pfds[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
		idx[n++] = -1;
		for (int i = 0; i < MAX_CONNS; i++) {
			if (!conns[i])
				continue;
			pfds[n] = (struct pollfd){.fd = conns[i]->fd,
						  .events = sending(conns[i]) ? POLLOUT : POLLIN};
			idx[n++] = i;
		}
		int r = poll(pfds, (nfds_t)n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("net_httpd: poll");
			exit(1);
		}
		for (int k = 1; k < n; k++) {
			int i = idx[k];
			struct conn *c = conns[i];
			short re = pfds[k].revents;
			if (!re)
				continue;
			if (re & POLLIN) {
				ssize_t got = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
				if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
					conn_close(i);
					continue;
				}
				if (got > 0)
					c->in_len += (size_t)got;
			} else if (re & (POLLERR | POLLHUP | POLLNVAL) && !(re & POLLOUT)) {
				conn_close(i);
				continue;
			}
			if (progress(c) < 0)
				conn_close(i);
		}
		if (pfds[0].revents & POLLIN) {
			for (int burst = 0; burst < 64; burst++) {
				int fd = net_accept_nb(lfd);
				if (fd < 0) {
					if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
						perror("net_httpd: accept");
					break;
				}
				int slot = -1;
				for (int i = 0; i < MAX_CONNS; i++)
					if (!conns[i]) {
						slot = i;
						break;
					}
				struct conn *c = slot >= 0 ? malloc(sizeof(*c)) : NULL;
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				c->in_len = 0;
				c->head_len = c->head_off = 0;
				c->file = -1;
				c->body_off = c->body_len = 0;
				c->close_after = 0;
				conns[slot] = c;
			}
		}
	}
}

#ifdef __wasi__
/* The guest name of the preopened directory to serve: /www when there is one, else the
 * first. */
static void default_root(void)
{
	char first[1024] = "";
	for (int fd = 3; fd < 64; fd++) {
		__wasi_prestat_t ps;
		if (__wasi_fd_prestat_get(fd, &ps) != 0)
			continue;
		size_t l = ps.u.dir.pr_name_len;
		char name[1024];
		if (l >= sizeof(name) || __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, l) != 0)
			continue;
		name[l] = 0;
		while (l > 1 && name[l - 1] == '/')
			name[--l] = 0;
		if (!strcmp(name, "/www")) {
			strcpy(root, name);
			return;
		}
		if (!first[0])
			strcpy(first, name);
	}
	strcpy(root, first[0] ? first : "/www");
	if (!strcmp(root, "/") || !strcmp(root, "."))
		root[0] = 0; /* paths are "/x" already */
}
#else
static void default_root(void)
{
	strcpy(root, ".");
}
#endif

int main(int argc, char **argv)
{
	int port = 0;
	root[0] = 1; /* unset */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			port = atoi(argv[++i]);
			if (port <= 0 || port > 65535) {
				fprintf(stderr, "net_httpd: bad --port `%s`\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			snprintf(root, sizeof(root), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "--quiet")) {
			quiet = 1;
		} else {
			fprintf(stderr, "usage: net_httpd [--port N] [--root DIR] [--quiet]\n");
			return 2;
		}
	}
	if (root[0] == 1)
		default_root();
	size_t rl = strlen(root);
	while (rl > 0 && root[rl - 1] == '/')
		root[--rl] = 0;
	int lfd = port ? net_bind_any(0, port) : net_preopened_socket(0);
	if (lfd < 0) {
		if (port)
			fprintf(stderr, "net_httpd: listen on port %d: %s\n", port, strerror(errno));
		else
			fprintf(stderr, "net_httpd: no listening socket: pass --port N or run with "
					"--listen ADDR:PORT\n");
		return 1;
	}
	if (net_set_nonblock(lfd) < 0) {
		perror("net_httpd: nonblocking listener");
		return 1;
	}
	if (!quiet) {
		fprintf(stderr, "net_httpd: serving %s\n", root[0] ? root : "/");
	}
	serve(lfd);
	return 0;
}
