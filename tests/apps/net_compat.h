/* tests/apps/net_compat.h - the few socket calls the net test apps need, over the
 * WasmEdge socket extension and WASI preview1 when built for wasm32-wasi, over POSIX
 * when built natively (the benchmark's peer). Every function returns -1 with errno set
 * on failure. */
#ifndef NET_COMPAT_H
#define NET_COMPAT_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef __wasi__
#include <wasi/api.h>

/* ---- the WasmEdge socket extension, as WasmEdge declares it ---- */
#define WE_IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

typedef struct {
	uint8_t *buf;     /* 4: IPv4, 16: IPv6, 128: family u16 + address */
	uint32_t buf_len;
} we_address;

typedef struct {
	uint8_t sa_family;    /* 1 INET4, 2 INET6 */
	uint32_t sa_data_len; /* IN: capacity; OUT: bytes written */
	uint8_t *sa_data;     /* port (big-endian) then address, as in a Linux sockaddr */
} we_sockaddr;

typedef struct we_addrinfo {
	uint16_t ai_flags;
	uint8_t ai_family;
	uint8_t ai_socktype;
	uint8_t ai_protocol;
	uint32_t ai_addrlen;
	we_sockaddr *ai_addr;
	char *ai_canonname;
	uint32_t ai_canonnamelen;
	struct we_addrinfo *ai_next;
} we_addrinfo;

_Static_assert(sizeof(we_addrinfo) == 28, "WasmEdge __wasi_addrinfo_t");
_Static_assert(sizeof(we_sockaddr) == 12, "WasmEdge __wasi_sockaddr_t");

WE_IMPORT(sock_open) uint32_t we_sock_open(uint32_t af, uint32_t type, uint32_t *fd);
WE_IMPORT(sock_bind) uint32_t we_sock_bind(uint32_t fd, we_address *addr, uint32_t port);
WE_IMPORT(sock_listen) uint32_t we_sock_listen(uint32_t fd, uint32_t backlog);
WE_IMPORT(sock_connect) uint32_t we_sock_connect(uint32_t fd, we_address *addr, uint32_t port);
WE_IMPORT(sock_recv_from)
uint32_t we_sock_recv_from(uint32_t fd, __wasi_iovec_t *ri, uint32_t ri_len, we_address *addr,
			   uint32_t flags, uint32_t *port, uint32_t *ro_len, uint16_t *ro_flags);
WE_IMPORT(sock_send_to)
uint32_t we_sock_send_to(uint32_t fd, const __wasi_ciovec_t *si, uint32_t si_len,
			 we_address *addr, uint32_t port, uint32_t flags, uint32_t *so_len);
WE_IMPORT(sock_getaddrinfo)
uint32_t we_sock_getaddrinfo(const char *node, uint32_t node_len, const char *svc,
			     uint32_t svc_len, const we_addrinfo *hints, we_addrinfo **res,
			     uint32_t max, uint32_t *res_len);
WE_IMPORT(sock_getlocaladdr)
uint32_t we_sock_getlocaladdr(uint32_t fd, we_address *addr, uint32_t *type, uint32_t *port);
WE_IMPORT(sock_setsockopt)
uint32_t we_sock_setsockopt(uint32_t fd, uint32_t level, uint32_t name, const int32_t *flag,
			    uint32_t flag_size);

#define WE_AF_INET4 1
#define WE_SOCK_DGRAM 1
#define WE_SOCK_STREAM 2

static inline int we_ret(uint32_t e)
{
	if (e) {
		errno = (int)e;
		return -1;
	}
	return 0;
}

/* The first fd after the preopened directories that is a socket of the given WASI
 * filetype; -1 when there is none. */
static inline int net_preopened_socket(int dgram)
{
	const char *start = getenv("KUMO_LISTEN_FD_START");
	int first = start ? atoi(start) : 3;
	for (int fd = first; fd < first + 64; fd++) {
		__wasi_fdstat_t st;
		if (__wasi_fd_fdstat_get(fd, &st) != 0)
			continue;
		if (st.fs_filetype == (dgram ? __WASI_FILETYPE_SOCKET_DGRAM
					     : __WASI_FILETYPE_SOCKET_STREAM))
			return fd;
	}
	return -1;
}

/* A socket bound to 0.0.0.0:port (and listening, stream); the 128-byte address form. */
static inline int net_bind_any(int dgram, int port)
{
	uint32_t fd;
	uint8_t storage[128] = {0};
	storage[0] = WE_AF_INET4; /* family u16 little-endian, then 0.0.0.0 */
	we_address a = {storage, sizeof(storage)};
	if (we_ret(we_sock_open(WE_AF_INET4, dgram ? WE_SOCK_DGRAM : WE_SOCK_STREAM, &fd)) < 0)
		return -1;
	int32_t one = 1;
	we_sock_setsockopt(fd, 0, 0 /* SO_REUSEADDR */, &one, sizeof(one));
	if (we_ret(we_sock_bind(fd, &a, (uint32_t)port)) < 0 ||
	    (!dgram && we_ret(we_sock_listen(fd, 1024)) < 0)) {
		int e = errno;
		close((int)fd);
		errno = e;
		return -1;
	}
	return (int)fd;
}

/* Resolves name (IPv4) with sock_getaddrinfo. */
static inline int net_resolve4(const char *name, uint8_t ip[4])
{
	we_addrinfo hints = {0}, res[4], *first = res;
	we_sockaddr sa[4];
	uint8_t data[4][26];
	char canon[4][64];
	hints.ai_family = WE_AF_INET4;
	hints.ai_socktype = WE_SOCK_STREAM;
	for (int i = 0; i < 4; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		sa[i] = (we_sockaddr){0, sizeof(data[i]), data[i]};
		res[i].ai_addr = &sa[i];
		res[i].ai_addrlen = sizeof(sa[i]);
		res[i].ai_canonname = canon[i];
		res[i].ai_canonnamelen = sizeof(canon[i]);
		res[i].ai_next = i < 3 ? &res[i + 1] : NULL;
	}
	uint32_t n = 0;
	uint32_t e = we_sock_getaddrinfo(name, (uint32_t)strlen(name), "", 0, &hints, &first, 4, &n);
	if (e)
		return we_ret(e);
	for (uint32_t i = 0; i < n; i++) {
		if (sa[i].sa_family == WE_AF_INET4 && sa[i].sa_data_len >= 6) {
			memcpy(ip, data[i] + 2, 4);
			return 0;
		}
	}
	errno = ENOENT;
	return -1;
}

/* A connected TCP socket to ip:port (the 4-byte address form). */
static inline int net_connect4(const uint8_t ip[4], int port)
{
	uint32_t fd;
	uint8_t a4[4];
	memcpy(a4, ip, 4);
	we_address a = {a4, 4};
	if (we_ret(we_sock_open(WE_AF_INET4, WE_SOCK_STREAM, &fd)) < 0)
		return -1;
	if (we_ret(we_sock_connect(fd, &a, (uint32_t)port)) < 0) {
		int e = errno;
		close((int)fd);
		errno = e;
		return -1;
	}
	return (int)fd;
}

/* One datagram in; ip and port: its sender. */
static inline long net_recvfrom4(int fd, void *buf, size_t len, uint8_t ip[4], int *port)
{
	uint8_t storage[128] = {0};
	we_address a = {storage, sizeof(storage)};
	__wasi_iovec_t iov = {buf, len};
	uint32_t got = 0, p = 0;
	uint16_t fl = 0;
	if (we_ret(we_sock_recv_from((uint32_t)fd, &iov, 1, &a, 0, &p, &got, &fl)) < 0)
		return -1;
	memcpy(ip, storage + 2, 4);
	*port = (int)(p & 0xffff);
	return (long)got;
}

static inline long net_sendto4(int fd, const void *buf, size_t len, const uint8_t ip[4], int port)
{
	uint8_t a4[4];
	memcpy(a4, ip, 4);
	we_address a = {a4, 4};
	__wasi_ciovec_t iov = {buf, len};
	uint32_t sent = 0;
	if (we_ret(we_sock_send_to((uint32_t)fd, &iov, 1, &a, (uint32_t)port, 0, &sent)) < 0)
		return -1;
	return (long)sent;
}

#else /* native */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

static inline int net_preopened_socket(int dgram)
{
	(void)dgram;
	errno = ENOENT;
	return -1;
}

static inline int net_bind_any(int dgram, int port)
{
	int fd = socket(AF_INET, dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 || (!dgram && listen(fd, 1024) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static inline int net_resolve4(const char *name, uint8_t ip[4])
{
	struct addrinfo hints = {0}, *res;
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0) {
		errno = ENOENT;
		return -1;
	}
	memcpy(ip, &((struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
	freeaddrinfo(res);
	return 0;
}

static inline int net_connect4(const uint8_t ip[4], int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	memcpy(&in.sin_addr, ip, 4);
	if (connect(fd, (struct sockaddr *)&in, sizeof(in)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static inline long net_recvfrom4(int fd, void *buf, size_t len, uint8_t ip[4], int *port)
{
	struct sockaddr_in in;
	socklen_t l = sizeof(in);
	ssize_t r = recvfrom(fd, buf, len, 0, (struct sockaddr *)&in, &l);
	if (r < 0)
		return -1;
	memcpy(ip, &in.sin_addr, 4);
	*port = ntohs(in.sin_port);
	return (long)r;
}

static inline long net_sendto4(int fd, const void *buf, size_t len, const uint8_t ip[4], int port)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	memcpy(&in.sin_addr, ip, 4);
	return (long)sendto(fd, buf, len, 0, (struct sockaddr *)&in, sizeof(in));
}
#endif

/* Accepts one connection, nonblocking; -1 with EAGAIN when none is waiting. */
static inline int net_accept_nb(int lfd)
{
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
}

static inline int net_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

#endif /* NET_COMPAT_H */
