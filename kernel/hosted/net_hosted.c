/* kernel/hosted/net_hosted.c - the socket half of the POSIX platform (kumo_plat_sock_*,
 * kumo_plat_resolve over BSD sockets and getaddrinfo) and the runner's --listen
 * sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kernel/hosted/embed.h"
#include "kernel/rt/rt_platform.h"

static int fail(void)
{
	return -kumo_hosted_errno(errno);
}

static socklen_t to_sys(const struct kumo_plat_sockaddr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == KUMO_PLAT_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->addr, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(a->port);
	memcpy(&in6->sin6_addr, a->addr, 16);
	return sizeof(*in6);
}

static int from_sys(const struct sockaddr *sa, struct kumo_plat_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		a->family = KUMO_PLAT_AF_INET;
		a->port = ntohs(in->sin_port);
		memcpy(a->addr, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		a->family = KUMO_PLAT_AF_INET6;
		a->port = ntohs(in6->sin6_port);
		memcpy(a->addr, &in6->sin6_addr, 16);
		return 0;
	}
	return -WASI_EAFNOSUPPORT;
}

static int wrap(int fd, struct kumo_plat_file **out)
{
	*out = kumo_hosted_file(fd, false);
	if (!*out) {
		close(fd);
		return -WASI_ENOMEM;
	}
	return 0;
}

int kumo_plat_sock_open(uint8_t family, uint8_t type, struct kumo_plat_file **out)
{
	int dom = family == KUMO_PLAT_AF_INET ? AF_INET : family == KUMO_PLAT_AF_INET6 ? AF_INET6 : -1;
	int ty = type == KUMO_PLAT_SOCK_STREAM ? SOCK_STREAM : type == KUMO_PLAT_SOCK_DGRAM ? SOCK_DGRAM : -1;
	if (dom < 0)
		return -WASI_EAFNOSUPPORT;
	if (ty < 0)
		return -WASI_ENOTSUP;
	int fd = socket(dom, ty | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail();
	return wrap(fd, out);
}

int kumo_plat_sock_bind(struct kumo_plat_file *s, const struct kumo_plat_sockaddr *a)
{
	struct sockaddr_storage ss;
	socklen_t l = to_sys(a, &ss);
	if (bind(kumo_hosted_fd(s), (struct sockaddr *)&ss, l) < 0)
		return fail();
	return 0;
}

int kumo_plat_sock_listen(struct kumo_plat_file *s, int backlog)
{
	if (listen(kumo_hosted_fd(s), backlog) < 0)
		return fail();
	return 0;
}

int kumo_plat_sock_accept(struct kumo_plat_file *s, uint32_t fdflags, struct kumo_plat_file **out)
{
	int fl = SOCK_CLOEXEC | ((fdflags & WASI_FDFLAG_NONBLOCK) ? SOCK_NONBLOCK : 0);
	int fd = accept4(kumo_hosted_fd(s), NULL, NULL, fl);
	if (fd < 0)
		return fail();
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return wrap(fd, out);
}

int kumo_plat_sock_connect(struct kumo_plat_file *s, const struct kumo_plat_sockaddr *a)
{
	struct sockaddr_storage ss;
	socklen_t l = to_sys(a, &ss);
	int r;
	do {
		r = connect(kumo_hosted_fd(s), (struct sockaddr *)&ss, l);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return fail();
	return 0;
}

int kumo_plat_sock_recv(struct kumo_plat_file *s, const struct kumo_plat_iov *iov, size_t n,
			uint32_t flags, size_t *done, bool *truncated,
			struct kumo_plat_sockaddr *from)
{
	struct sockaddr_storage ss;
	struct msghdr mh = {0};
	mh.msg_iov = (struct iovec *)iov; /* same layout: {void *, size_t} */
	mh.msg_iovlen = n;
	if (from) {
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof(ss);
	}
	int fl = ((flags & WASI_RIFLAG_RECV_PEEK) ? MSG_PEEK : 0) |
		 ((flags & WASI_RIFLAG_RECV_WAITALL) ? MSG_WAITALL : 0);
	ssize_t r = recvmsg(kumo_hosted_fd(s), &mh, fl);
	if (r < 0)
		return fail();
	*done = (size_t)r;
	*truncated = (mh.msg_flags & MSG_TRUNC) != 0;
	if (from) {
		memset(from, 0, sizeof(*from));
		if (mh.msg_namelen > 0)
			from_sys((struct sockaddr *)&ss, from);
	}
	return 0;
}

_Static_assert(sizeof(struct kumo_plat_iov) == sizeof(struct iovec), "iov layout");

int kumo_plat_sock_send(struct kumo_plat_file *s, const struct kumo_plat_iov *iov, size_t n,
			const struct kumo_plat_sockaddr *to, size_t *done)
{
	struct sockaddr_storage ss;
	struct msghdr mh = {0};
	mh.msg_iov = (struct iovec *)iov;
	mh.msg_iovlen = n;
	if (to) {
		mh.msg_name = &ss;
		mh.msg_namelen = to_sys(to, &ss);
	}
	ssize_t r = sendmsg(kumo_hosted_fd(s), &mh, MSG_NOSIGNAL);
	if (r < 0)
		return fail();
	*done = (size_t)r;
	return 0;
}

int kumo_plat_sock_shutdown(struct kumo_plat_file *s, uint32_t how)
{
	int h = (how & WASI_SDFLAG_RD) && (how & WASI_SDFLAG_WR) ? SHUT_RDWR
		: (how & WASI_SDFLAG_RD)                         ? SHUT_RD
								 : SHUT_WR;
	if (shutdown(kumo_hosted_fd(s), h) < 0)
		return fail();
	return 0;
}

int kumo_plat_sock_name(struct kumo_plat_file *s, bool peer, struct kumo_plat_sockaddr *a)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	int r = peer ? getpeername(kumo_hosted_fd(s), (struct sockaddr *)&ss, &l)
		     : getsockname(kumo_hosted_fd(s), (struct sockaddr *)&ss, &l);
	if (r < 0)
		return fail();
	return from_sys((struct sockaddr *)&ss, a);
}

/* WasmEdge's SO_* numbering (kernel/wasi/wasi_abi.h WE_SO_*) -> Linux. */
static int so_name(uint32_t name)
{
	static const int map[] = {
		[WE_SO_REUSEADDR] = SO_REUSEADDR, [WE_SO_TYPE] = SO_TYPE,
		[WE_SO_ERROR] = SO_ERROR, [WE_SO_DONTROUTE] = SO_DONTROUTE,
		[WE_SO_BROADCAST] = SO_BROADCAST, [WE_SO_SNDBUF] = SO_SNDBUF,
		[WE_SO_RCVBUF] = SO_RCVBUF, [WE_SO_KEEPALIVE] = SO_KEEPALIVE,
		[WE_SO_OOBINLINE] = SO_OOBINLINE, [WE_SO_LINGER] = SO_LINGER,
		[WE_SO_RCVLOWAT] = SO_RCVLOWAT, [WE_SO_RCVTIMEO] = SO_RCVTIMEO,
		[WE_SO_SNDTIMEO] = SO_SNDTIMEO, [WE_SO_ACCEPTCONN] = SO_ACCEPTCONN,
		[WE_SO_BINDTODEVICE] = -1,
	};
	return name < sizeof(map) / sizeof(map[0]) ? map[name] : -1;
}

int kumo_plat_sock_getopt(struct kumo_plat_file *s, uint32_t level, uint32_t name, int64_t *val)
{
	int so = so_name(name), fd = kumo_hosted_fd(s);
	if (level != WE_SOL_SOCKET || so < 0)
		return -WASI_ENOPROTOOPT;
	if (so == SO_RCVTIMEO || so == SO_SNDTIMEO) {
		struct timeval tv;
		socklen_t l = sizeof(tv);
		if (getsockopt(fd, SOL_SOCKET, so, &tv, &l) < 0)
			return fail();
		*val = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
		return 0;
	}
	if (so == SO_LINGER) {
		struct linger lg;
		socklen_t l = sizeof(lg);
		if (getsockopt(fd, SOL_SOCKET, so, &lg, &l) < 0)
			return fail();
		*val = lg.l_onoff ? lg.l_linger : -1;
		return 0;
	}
	int v = 0;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, so, &v, &l) < 0)
		return fail();
	if (so == SO_TYPE)
		v = v == SOCK_DGRAM ? KUMO_PLAT_SOCK_DGRAM : KUMO_PLAT_SOCK_STREAM;
	else if (so == SO_ERROR)
		v = kumo_hosted_errno(v);
	*val = v;
	return 0;
}

int kumo_plat_sock_setopt(struct kumo_plat_file *s, uint32_t level, uint32_t name, int64_t val)
{
	int so = so_name(name), fd = kumo_hosted_fd(s), r;
	if (level != WE_SOL_SOCKET || so < 0)
		return -WASI_ENOPROTOOPT;
	if (so == SO_TYPE || so == SO_ERROR || so == SO_ACCEPTCONN)
		return -WASI_ENOPROTOOPT; /* read-only */
	if (so == SO_RCVTIMEO || so == SO_SNDTIMEO) {
		if (val < 0)
			return -WASI_EINVAL;
		struct timeval tv = {.tv_sec = val / 1000000, .tv_usec = val % 1000000};
		r = setsockopt(fd, SOL_SOCKET, so, &tv, sizeof(tv));
	} else if (so == SO_LINGER) {
		struct linger lg = {.l_onoff = val >= 0, .l_linger = val >= 0 ? (int)val : 0};
		r = setsockopt(fd, SOL_SOCKET, so, &lg, sizeof(lg));
	} else {
		if (val < INT32_MIN || val > INT32_MAX)
			return -WASI_EINVAL;
		int v = (int)val;
		r = setsockopt(fd, SOL_SOCKET, so, &v, sizeof(v));
	}
	return r < 0 ? fail() : 0;
}

int kumo_plat_resolve(const char *node, const char *service, uint8_t family, uint8_t type,
		      struct kumo_plat_sockaddr *out, size_t cap, size_t *n)
{
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = family == KUMO_PLAT_AF_INET ? AF_INET
			  : family == KUMO_PLAT_AF_INET6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = type == KUMO_PLAT_SOCK_DGRAM ? SOCK_DGRAM : SOCK_STREAM;
	if (!node || !*node)
		hints.ai_flags = AI_PASSIVE;
	int r = getaddrinfo(node && *node ? node : NULL, service, &hints, &res);
	switch (r) {
	case 0: break;
	case EAI_NONAME:
	case EAI_NODATA: return -WASI_ENOENT;
	case EAI_AGAIN: return -WASI_EAGAIN;
	case EAI_FAMILY: return -WASI_EAFNOSUPPORT;
	case EAI_SERVICE: return -WASI_EINVAL;
	case EAI_MEMORY: return -WASI_ENOMEM;
	default: return -WASI_EIO;
	}
	size_t k = 0;
	for (struct addrinfo *ai = res; ai && k < cap; ai = ai->ai_next)
		if (from_sys(ai->ai_addr, &out[k]) == 0)
			k++;
	freeaddrinfo(res);
	*n = k;
	return k ? 0 : -WASI_ENOENT;
}

/* ---- --listen ---- */

/* Splits "[tcp:|udp:]ADDR:PORT" into its parts; 0 or -1. */
static int split_listen(const char *spec, bool *udp, char *addr, size_t cap, unsigned *port)
{
	const char *p = spec;
	*udp = false;
	if (strncmp(p, "tcp:", 4) == 0) {
		p += 4;
	} else if (strncmp(p, "udp:", 4) == 0) {
		*udp = true;
		p += 4;
	}
	const char *colon = strrchr(p, ':');
	const char *ps = colon ? colon + 1 : p;
	size_t alen = colon ? (size_t)(colon - p) : 0;
	if (alen >= cap)
		return -1;
	memcpy(addr, p, alen);
	addr[alen] = 0;
	if (!*ps || strspn(ps, "0123456789") != strlen(ps) || strlen(ps) > 5)
		return -1;
	*port = (unsigned)atoi(ps);
	if (*port == 0 || *port > 65535)
		return -1;
	if (!*addr) {
		snprintf(addr, cap, "0.0.0.0");
		return 0;
	}
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return 0;
	size_t l = strlen(addr);
	if (l > 2 && addr[0] == '[' && addr[l - 1] == ']') {
		char in[INET6_ADDRSTRLEN + 1];
		if (l - 2 >= sizeof(in))
			return -1;
		memcpy(in, addr + 1, l - 2);
		in[l - 2] = 0;
		if (inet_pton(AF_INET6, in, &a6) == 1)
			return 0;
	}
	return -1;
}

int kumo_hosted_listen_parse(const char *spec, char **out, kumo_error_t *err)
{
	bool udp;
	char addr[64];
	unsigned port;
	if (split_listen(spec, &udp, addr, sizeof(addr), &port) < 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "bad --listen `%s`: want [tcp:|udp:]ADDR:PORT, e.g. 0.0.0.0:8080",
				  spec);
	*out = xasprintf("%s:%s:%u", udp ? "udp" : "tcp", addr, port);
	return 0;
}

int kumo_hosted_listen_open(const char *spec, struct kumo_plat_file **out, kumo_error_t *err)
{
	bool udp;
	char addr[64];
	unsigned port;
	if (split_listen(spec, &udp, addr, sizeof(addr), &port) < 0)
		return kumo_error(err, KUMO_E_INVALID, "bad listen address `%s`", spec);
	struct kumo_plat_sockaddr a = {.port = (uint16_t)port};
	if (addr[0] == '[') {
		addr[strlen(addr) - 1] = 0;
		a.family = KUMO_PLAT_AF_INET6;
		inet_pton(AF_INET6, addr + 1, a.addr);
	} else {
		a.family = KUMO_PLAT_AF_INET;
		inet_pton(AF_INET, addr, a.addr);
	}
	struct sockaddr_storage ss;
	socklen_t l = to_sys(&a, &ss);
	int fd = socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kumo_error_errno(err, errno, "listen `%s`: socket", spec);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, l) < 0 || (!udp && listen(fd, 1024) < 0)) {
		int e = errno;
		close(fd);
		return kumo_error_errno(err, e, "listen on `%s`", spec);
	}
	if (wrap(fd, out) < 0)
		return kumo_error(err, KUMO_E_INTERNAL, "out of memory");
	return 0;
}
