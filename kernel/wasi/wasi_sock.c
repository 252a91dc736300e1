/* kernel/wasi/wasi_sock.c - sockets: WASI preview1's sock_accept/recv/send/shutdown and
 * the WasmEdge socket extension (sock_open, bind, listen, connect, the 2-argument
 * sock_accept, recv_from, send_to, get{local,peer}addr, {get,set}sockopt, getaddrinfo,
 * and WasmEdge's *_v2 variants), over the platform's socket calls. */
#include "kernel/wasi/wasi_funcs.h"
#include "kernel/wasi/wasi_internal.h"

/* ---- address marshalling (pure: unit-tested) ---- */

uint32_t wasi_sockaddr_decode(const uint8_t *buf, uint32_t len, uint32_t port,
			      struct kumo_plat_sockaddr *a)
{
	if (port > 0xffff)
		return WASI_EINVAL;
	w_memset(a, 0, sizeof(*a));
	a->port = (uint16_t)port;
	switch (len) {
	case 4:
		a->family = KUMO_PLAT_AF_INET;
		w_memcpy(a->addr, buf, 4);
		return 0;
	case 16:
		a->family = KUMO_PLAT_AF_INET6;
		w_memcpy(a->addr, buf, 16);
		return 0;
	case WE_ADDR_STORAGE_SIZE:
		switch (get_u16(buf)) {
		case WE_AF_INET4:
			a->family = KUMO_PLAT_AF_INET;
			w_memcpy(a->addr, buf + 2, 4);
			return 0;
		case WE_AF_INET6:
			a->family = KUMO_PLAT_AF_INET6;
			w_memcpy(a->addr, buf + 2, 16);
			return 0;
		case WE_AF_UNIX:
			return WASI_EAFNOSUPPORT;
		default:
			return WASI_EINVAL;
		}
	default:
		return WASI_EINVAL;
	}
}

uint32_t wasi_sockaddr_encode(const struct kumo_plat_sockaddr *a, uint8_t *buf, uint32_t len)
{
	uint32_t alen = a->family == KUMO_PLAT_AF_INET ? 4 : 16;
	if (a->family != KUMO_PLAT_AF_INET && a->family != KUMO_PLAT_AF_INET6)
		return WASI_EAFNOSUPPORT;
	if (len == WE_ADDR_STORAGE_SIZE) {
		w_memset(buf, 0, len);
		put_u16(buf, a->family == KUMO_PLAT_AF_INET ? WE_AF_INET4 : WE_AF_INET6);
		w_memcpy(buf + 2, a->addr, alen);
		return 0;
	}
	if (len != 4 && len != 16)
		return WASI_EINVAL;
	if (len < alen)
		return WASI_EINVAL; /* an IPv6 address does not fit a 4-byte buffer */
	w_memset(buf, 0, len);
	w_memcpy(buf, a->addr, alen);
	return 0;
}

uint32_t wasi_sa_data_encode(const struct kumo_plat_sockaddr *a, uint8_t *out, uint32_t cap,
			     uint32_t *len)
{
	uint32_t need = a->family == KUMO_PLAT_AF_INET ? 14 : 26;
	if (a->family != KUMO_PLAT_AF_INET && a->family != KUMO_PLAT_AF_INET6)
		return WASI_EAFNOSUPPORT;
	if (cap < need)
		return WE_EAI_MEMORY;
	w_memset(out, 0, need);
	out[0] = (uint8_t)(a->port >> 8);
	out[1] = (uint8_t)a->port;
	if (a->family == KUMO_PLAT_AF_INET)
		w_memcpy(out + 2, a->addr, 4);
	else
		w_memcpy(out + 6, a->addr, 16); /* after sin6_flowinfo */
	*len = need;
	return 0;
}

/* ---- fds ---- */

static struct wasi_fd *sock_of(struct kumo_vmctx *vm, uint32_t fd, uint64_t rights, uint32_t *e)
{
	struct wasi_fd *f = wasi_fd_get(wasi_of(vm), fd, 0, e);
	if (!f)
		return NULL;
	if (f->filetype != WASI_FILETYPE_SOCKET_STREAM &&
	    f->filetype != WASI_FILETYPE_SOCKET_DGRAM) {
		*e = WASI_ENOTSOCK;
		return NULL;
	}
	if ((f->rights_base & rights) != rights) {
		*e = WASI_ENOTCAPABLE;
		return NULL;
	}
	return f;
}

/* Installs a new platform socket; closes it when the table is full. */
static uint32_t sock_install(struct kumo_vmctx *vm, struct kumo_plat_file *s, uint8_t filetype,
			     uint32_t ro_fd)
{
	uint32_t fd, e = wasi_fd_install(wasi_of(vm), s, filetype, WASI_RIGHTS_SOCK_BASE,
					 WASI_RIGHTS_SOCK_BASE, &fd);
	if (e) {
		kumo_plat_close(s);
		return e;
	}
	return wasi_store_u32(vm, ro_fd, fd);
}

/* The __wasi_address_t {buf, buf_len} at ptr: its buffer, checked. */
static uint32_t guest_address(struct kumo_vmctx *vm, uint32_t ptr, uint8_t **buf, uint32_t *len)
{
	const uint8_t *p = wasi_mem(vm, ptr, WE_ADDRESS_SIZE);
	if (!p)
		return WASI_EFAULT;
	*len = get_u32(p + 4);
	*buf = wasi_mem(vm, get_u32(p), *len);
	return *buf ? 0 : WASI_EFAULT;
}

static uint32_t read_address(struct kumo_vmctx *vm, uint32_t ptr, uint32_t port,
			     struct kumo_plat_sockaddr *a)
{
	uint8_t *buf;
	uint32_t len, e = guest_address(vm, ptr, &buf, &len);
	return e ? e : wasi_sockaddr_decode(buf, len, port, a);
}

/* ---- preview1 and shared bodies ---- */

static uint32_t do_accept(struct kumo_vmctx *vm, uint32_t fd, uint32_t flags, uint32_t ro_fd)
{
	uint32_t e;
	struct wasi_fd *f = sock_of(vm, fd, WASI_RIGHT_SOCK_ACCEPT, &e);
	if (!f)
		return e;
	if (flags & ~(uint32_t)WASI_FDFLAG_NONBLOCK)
		return WASI_EINVAL;
	if (!wasi_mem(vm, ro_fd, 4))
		return WASI_EFAULT;
	struct kumo_plat_file *ns;
	int rc = kumo_plat_sock_accept(f->file, flags, &ns);
	if (rc < 0)
		return wasi_err(rc);
	return sock_install(vm, ns, WASI_FILETYPE_SOCKET_STREAM, ro_fd);
}

static uint32_t do_recv(struct kumo_vmctx *vm, uint32_t fd, uint32_t ri, uint32_t ri_len,
			uint32_t flags, struct kumo_plat_sockaddr *from, uint32_t ro_len,
			uint32_t ro_flags)
{
	uint32_t e;
	struct kumo_plat_iov iov[WASI_MAX_IOV];
	size_t n, done = 0;
	bool truncated = false;
	struct wasi_fd *f = sock_of(vm, fd, WASI_RIGHT_FD_READ, &e);
	if (!f)
		return e;
	if (flags & ~(uint32_t)(WASI_RIFLAG_RECV_PEEK | WASI_RIFLAG_RECV_WAITALL))
		return WASI_EINVAL;
	if (!wasi_mem(vm, ro_len, 4) || !wasi_mem(vm, ro_flags, 2))
		return WASI_EFAULT;
	e = wasi_iovs(vm, ri, ri_len, iov, &n);
	if (e)
		return e;
	int rc = kumo_plat_sock_recv(f->file, iov, n, flags, &done, &truncated, from);
	if (rc < 0)
		return wasi_err(rc);
	wasi_store_u32(vm, ro_len, (uint32_t)done);
	put_u16(wasi_mem(vm, ro_flags, 2), truncated ? WASI_ROFLAG_RECV_DATA_TRUNCATED : 0);
	return 0;
}

static uint32_t do_send(struct kumo_vmctx *vm, uint32_t fd, uint32_t si, uint32_t si_len,
			const struct kumo_plat_sockaddr *to, uint32_t so_len)
{
	uint32_t e;
	struct kumo_plat_iov iov[WASI_MAX_IOV];
	size_t n, done = 0;
	struct wasi_fd *f = sock_of(vm, fd, WASI_RIGHT_FD_WRITE, &e);
	if (!f)
		return e;
	if (!wasi_mem(vm, so_len, 4))
		return WASI_EFAULT;
	e = wasi_iovs(vm, si, si_len, iov, &n);
	if (e)
		return e;
	int rc = kumo_plat_sock_send(f->file, iov, n, to, &done);
	if (rc < 0)
		return wasi_err(rc);
	return wasi_store_u32(vm, so_len, (uint32_t)done);
}

u32 KUMO_WASI_SYM(11, sock_accept, iii_i)(wvm *vm, u32 fd, u32 flags, u32 fd_out)
{
	return do_accept(vm, fd, flags, fd_out);
}

u32 KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(wvm *vm, u32 fd, u32 ri_data, u32 ri_data_len,
					  u32 ri_flags, u32 ro_datalen, u32 ro_flags)
{
	return do_recv(vm, fd, ri_data, ri_data_len, ri_flags, NULL, ro_datalen, ro_flags);
}

u32 KUMO_WASI_SYM(9, sock_send, iiiii_i)(wvm *vm, u32 fd, u32 si_data, u32 si_data_len,
					 u32 si_flags, u32 so_datalen)
{
	(void)si_flags; /* no flags are defined */
	return do_send(vm, fd, si_data, si_data_len, NULL, so_datalen);
}

u32 KUMO_WASI_SYM(13, sock_shutdown, ii_i)(wvm *vm, u32 fd, u32 how)
{
	uint32_t e;
	struct wasi_fd *f = sock_of(vm, fd, WASI_RIGHT_SOCK_SHUTDOWN, &e);
	if (!f)
		return e;
	if (!how || (how & ~(uint32_t)(WASI_SDFLAG_RD | WASI_SDFLAG_WR)))
		return WASI_EINVAL;
	return wasi_err(kumo_plat_sock_shutdown(f->file, how));
}

/* ---- the WasmEdge extension ---- */

u32 KUMO_WASI_SYM(9, sock_open, iii_i)(wvm *vm, u32 af, u32 type, u32 ro_fd)
{
	uint8_t family, ptype, ft;
	if (!wasi_mem(vm, ro_fd, 4))
		return WASI_EFAULT;
	switch (af) {
	case WE_AF_INET4: family = KUMO_PLAT_AF_INET; break;
	case WE_AF_INET6: family = KUMO_PLAT_AF_INET6; break;
	case WE_AF_UNIX: return WASI_ENOSYS;
	default: return WASI_EINVAL;
	}
	switch (type) {
	case WE_SOCK_DGRAM: ptype = KUMO_PLAT_SOCK_DGRAM; ft = WASI_FILETYPE_SOCKET_DGRAM; break;
	case WE_SOCK_STREAM: ptype = KUMO_PLAT_SOCK_STREAM; ft = WASI_FILETYPE_SOCKET_STREAM; break;
	default: return WASI_EINVAL;
	}
	if (!wasi_of(vm))
		return WASI_ENOSYS;
	struct kumo_plat_file *s;
	int rc = kumo_plat_sock_open(family, ptype, &s);
	if (rc < 0)
		return wasi_err(rc);
	return sock_install(vm, s, ft, ro_fd);
}

static bool addr_any(const struct kumo_plat_sockaddr *a)
{
	size_t n = a->family == KUMO_PLAT_AF_INET ? 4 : 16;
	for (size_t i = 0; i < n; i++)
		if (a->addr[i])
			return false;
	return true;
}

/* The socket the host opened for the app (LISTEN_FDS: a pod's containerPort, `kumo run
 * --listen`) that a bind of `a` on a socket of type filetype asks for: same kind and
 * port, and either address unspecified or both equal. NULL when none. */
static struct wasi_fd *host_socket_for(struct kumo_wasi *w, uint8_t filetype,
				       const struct kumo_plat_sockaddr *a)
{
	if (a->port == 0)
		return NULL;
	for (uint32_t i = 0; i < WASI_MAX_FDS; i++) {
		struct wasi_fd *h = &w->fds[i];
		struct kumo_plat_sockaddr la;
		if (!h->file || !h->host_socket || h->filetype != filetype ||
		    kumo_plat_sock_name(h->file, false, &la) < 0 || la.port != a->port)
			continue;
		if (addr_any(&la) || addr_any(a) ||
		    (la.family == a->family && w_memcmp(la.addr, a->addr, 16) == 0))
			return h;
	}
	return NULL;
}

/* Binding a port the host already opened for the app hands that socket over (it is
 * bound, and listening for TCP, so the app's sock_listen is a no-op): a declared port
 * never makes the app's own bind fail with EADDRINUSE. The app's fd keeps its number
 * and flags; the host socket's own fd is closed (it names the same socket now). */
u32 KUMO_WASI_SYM(9, sock_bind, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port)
{
	uint32_t e;
	struct kumo_plat_sockaddr a;
	struct wasi_fd *f = sock_of(vm, fd, 0, &e);
	if (!f)
		return e;
	e = read_address(vm, addr, port, &a);
	if (e)
		return e;
	struct wasi_fd *h = f->host_socket ? NULL : host_socket_for(wasi_of(vm), f->filetype, &a);
	if (!h)
		return wasi_err(kumo_plat_sock_bind(f->file, &a));
	uint32_t flags = 0;
	kumo_plat_get_flags(f->file, &flags);
	kumo_plat_set_flags(h->file, flags & WASI_FDFLAG_NONBLOCK);
	if (f->owned)
		kumo_plat_close(f->file);
	f->file = h->file;
	f->owned = h->owned;
	w_memset(h, 0, sizeof(*h));
	return 0;
}

u32 KUMO_WASI_SYM(11, sock_listen, ii_i)(wvm *vm, u32 fd, u32 backlog)
{
	uint32_t e;
	struct wasi_fd *f = sock_of(vm, fd, 0, &e);
	if (!f)
		return e;
	int b = (int32_t)backlog;
	if (b < 0 || b > 4096)
		b = 4096;
	return wasi_err(kumo_plat_sock_listen(f->file, b));
}

u32 KUMO_WASI_SYM(11, sock_accept, ii_i)(wvm *vm, u32 fd, u32 ro_fd)
{
	return do_accept(vm, fd, 0, ro_fd);
}

u32 KUMO_WASI_SYM(12, sock_connect, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port)
{
	uint32_t e;
	struct kumo_plat_sockaddr a;
	struct wasi_fd *f = sock_of(vm, fd, 0, &e);
	if (!f)
		return e;
	e = read_address(vm, addr, port, &a);
	if (e)
		return e;
	return wasi_err(kumo_plat_sock_connect(f->file, &a));
}

/* recv_from: the sender's address goes to the guest's address buffer (4, 16 or 128
 * bytes) and, for V2, its port to port_ptr (u16, as WasmEdge writes it). */
static uint32_t do_recv_from(struct kumo_vmctx *vm, uint32_t fd, uint32_t ri, uint32_t ri_len,
			     uint32_t addr, uint32_t flags, uint32_t port_ptr, bool has_port,
			     uint32_t ro_len, uint32_t ro_flags)
{
	uint8_t *buf;
	uint32_t len, e = guest_address(vm, addr, &buf, &len);
	if (e)
		return e;
	if (len != 4 && len != 16 && len != WE_ADDR_STORAGE_SIZE)
		return WASI_EINVAL;
	if (has_port && !wasi_mem(vm, port_ptr, 2))
		return WASI_EFAULT;
	struct kumo_plat_sockaddr from = {0};
	e = do_recv(vm, fd, ri, ri_len, flags, &from, ro_len, ro_flags);
	if (e)
		return e;
	if (from.family) {
		/* A peer of the other family in a short buffer: its data still arrived. */
		wasi_sockaddr_encode(&from, buf, len);
		if (has_port)
			put_u16(wasi_mem(vm, port_ptr, 2), from.port);
	}
	return 0;
}

u32 KUMO_WASI_SYM(14, sock_recv_from, iiiiiii_i)(wvm *vm, u32 fd, u32 ri, u32 ri_len, u32 addr,
						 u32 flags, u32 ro_len, u32 ro_flags)
{
	return do_recv_from(vm, fd, ri, ri_len, addr, flags, 0, false, ro_len, ro_flags);
}

u32 KUMO_WASI_SYM(14, sock_recv_from, iiiiiiii_i)(wvm *vm, u32 fd, u32 ri, u32 ri_len,
						  u32 addr, u32 flags, u32 port, u32 ro_len,
						  u32 ro_flags)
{
	return do_recv_from(vm, fd, ri, ri_len, addr, flags, port, true, ro_len, ro_flags);
}

u32 KUMO_WASI_SYM(12, sock_send_to, iiiiiii_i)(wvm *vm, u32 fd, u32 si, u32 si_len, u32 addr,
					       u32 port, u32 flags, u32 so_len)
{
	struct kumo_plat_sockaddr to;
	(void)flags;
	uint32_t e = read_address(vm, addr, port, &to);
	if (e)
		return e;
	return do_send(vm, fd, si, si_len, &to, so_len);
}

static uint32_t do_getaddr(struct kumo_vmctx *vm, uint32_t fd, bool peer, uint32_t addr,
			   uint32_t type_ptr, bool has_type, uint32_t port_ptr)
{
	uint32_t e;
	uint8_t *buf;
	uint32_t len;
	struct wasi_fd *f = sock_of(vm, fd, 0, &e);
	if (!f)
		return e;
	e = guest_address(vm, addr, &buf, &len);
	if (e)
		return e;
	if (len != 4 && len != 16 && (has_type || len != WE_ADDR_STORAGE_SIZE))
		return WASI_EINVAL;
	if ((has_type && !wasi_mem(vm, type_ptr, 4)) || !wasi_mem(vm, port_ptr, 4))
		return WASI_EFAULT;
	struct kumo_plat_sockaddr a;
	int rc = kumo_plat_sock_name(f->file, peer, &a);
	if (rc < 0)
		return wasi_err(rc);
	e = wasi_sockaddr_encode(&a, buf, len);
	if (e)
		return e;
	if (has_type)
		wasi_store_u32(vm, type_ptr, a.family == KUMO_PLAT_AF_INET ? WE_ADDR_TYPE_V1_INET4
									 : WE_ADDR_TYPE_V1_INET6);
	return wasi_store_u32(vm, port_ptr, a.port);
}

u32 KUMO_WASI_SYM(17, sock_getlocaladdr, iiii_i)(wvm *vm, u32 fd, u32 addr, u32 type, u32 port)
{
	return do_getaddr(vm, fd, false, addr, type, true, port);
}

u32 KUMO_WASI_SYM(16, sock_getpeeraddr, iiii_i)(wvm *vm, u32 fd, u32 addr, u32 type, u32 port)
{
	return do_getaddr(vm, fd, true, addr, type, true, port);
}

u32 KUMO_WASI_SYM(20, sock_getlocaladdr_v2, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port)
{
	return do_getaddr(vm, fd, false, addr, 0, false, port);
}

u32 KUMO_WASI_SYM(19, sock_getpeeraddr_v2, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port)
{
	return do_getaddr(vm, fd, true, addr, 0, false, port);
}

/* Option values cross as a 4-byte int, an 8-byte int or struct linger {onoff, secs}, or
 * (timeouts) a 16-byte wasi-libc struct timeval {i64 sec, i64 usec}. */
uint32_t wasi_sockopt_decode(uint32_t name, const uint8_t *p, uint32_t size, int64_t *val)
{
	if (name > WE_SO_BINDTODEVICE)
		return WASI_EINVAL;
	if ((name == WE_SO_RCVTIMEO || name == WE_SO_SNDTIMEO) && size == 16) {
		int64_t sec = (int64_t)get_u64(p), usec = (int64_t)get_u64(p + 8);
		if (sec < 0 || usec < 0 || usec >= 1000000 || sec > INT64_MAX / 1000000 - 1)
			return WASI_EINVAL;
		*val = sec * 1000000 + usec;
		return 0;
	}
	if (name == WE_SO_LINGER && size == 8) {
		*val = get_u32(p) ? (int64_t)(int32_t)get_u32(p + 4) : -1;
		return 0;
	}
	if (size == 4) {
		*val = (int32_t)get_u32(p);
		return 0;
	}
	if (size == 8) {
		*val = (int64_t)get_u64(p);
		return 0;
	}
	return WASI_EINVAL;
}

u32 KUMO_WASI_SYM(15, sock_setsockopt, iiiii_i)(wvm *vm, u32 fd, u32 level, u32 name, u32 flag,
						u32 flag_size)
{
	uint32_t e;
	int64_t v;
	if (level != WE_SOL_SOCKET)
		return WASI_EINVAL;
	struct wasi_fd *f = sock_of(vm, fd, 0, &e);
	if (!f)
		return e;
	const uint8_t *p = wasi_mem(vm, flag, flag_size);
	if (!p)
		return WASI_EFAULT;
	e = wasi_sockopt_decode(name, p, flag_size, &v);
	if (e)
		return e;
	return wasi_err(kumo_plat_sock_setopt(f->file, level, name, v));
}

u32 KUMO_WASI_SYM(15, sock_getsockopt, iiiii_i)(wvm *vm, u32 fd, u32 level, u32 name, u32 flag,
						u32 flag_size_ptr)
{
	uint32_t e;
	int64_t v;
	if (level != WE_SOL_SOCKET || name > WE_SO_BINDTODEVICE)
		return WASI_EINVAL;
	struct wasi_fd *f = sock_of(vm, fd, 0, &e);
	if (!f)
		return e;
	uint8_t *sp = wasi_mem(vm, flag_size_ptr, 4);
	if (!sp)
		return WASI_EFAULT;
	uint32_t size = get_u32(sp);
	uint8_t *p = wasi_mem(vm, flag, size);
	if (!p)
		return WASI_EFAULT;
	if (size < 4)
		return WASI_EINVAL;
	int rc = kumo_plat_sock_getopt(f->file, level, name, &v);
	if (rc < 0)
		return wasi_err(rc);
	if (name == WE_SO_TYPE) /* the platform's type values are kumo's own */
		v = v == KUMO_PLAT_SOCK_DGRAM ? WE_SOCK_DGRAM : WE_SOCK_STREAM;
	if ((name == WE_SO_RCVTIMEO || name == WE_SO_SNDTIMEO) && size >= 16) {
		put_u64(p, (uint64_t)(v / 1000000));
		put_u64(p + 8, (uint64_t)(v % 1000000));
		put_u32(sp, 16);
	} else if (name == WE_SO_LINGER && size >= 8) {
		put_u32(p, v >= 0);
		put_u32(p + 4, v >= 0 ? (uint32_t)v : 0);
		put_u32(sp, 8);
	} else {
		put_u32(p, (uint32_t)(int32_t)v);
		put_u32(sp, 4);
	}
	return 0;
}

#define GAI_MAX 16
#define GAI_NAME_MAX 256

/* A guest string of len bytes (it may end early at a NUL) into a C string. */
static uint32_t guest_cstr(struct kumo_vmctx *vm, uint32_t ptr, uint32_t len, char *out,
			   size_t cap)
{
	const uint8_t *p = wasi_mem(vm, ptr, len);
	if (!p)
		return WASI_EFAULT;
	size_t n = 0;
	while (n < len && p[n])
		n++;
	if (n >= cap)
		return WASI_ENAMETOOLONG;
	w_memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

u32 KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(wvm *vm, u32 node, u32 node_len,
						    u32 service, u32 service_len, u32 hints,
						    u32 res, u32 max_res, u32 res_len)
{
	char nbuf[GAI_NAME_MAX], sbuf[32];
	uint32_t e = guest_cstr(vm, node, node_len, nbuf, sizeof(nbuf));
	if (!e)
		e = guest_cstr(vm, service, service_len, sbuf, sizeof(sbuf));
	if (e)
		return e;
	const uint8_t *h = wasi_mem(vm, hints, WE_ADDRINFO_SIZE);
	uint8_t *rp = wasi_mem(vm, res, 4);
	if (!h || !rp || !wasi_mem(vm, res_len, 4))
		return WASI_EFAULT;
	if (!nbuf[0] && !sbuf[0])
		return WE_EAI_NONAME;
	if (max_res < 1)
		return WE_EAI_MEMORY;
	uint16_t flags = get_u16(h);
	uint8_t hfam = h[2], htype = h[3], hproto = h[4];
	if (flags & ~(uint32_t)(WE_AI_PASSIVE | WE_AI_CANONNAME | WE_AI_NUMERICHOST |
				WE_AI_NUMERICSERV | WE_AI_V4MAPPED | WE_AI_ALL | WE_AI_ADDRCONFIG))
		return WE_EAI_BADFLAGS;
	if ((flags & WE_AI_CANONNAME) && !nbuf[0])
		return WE_EAI_BADFLAGS;
	uint8_t family, type;
	switch (hfam) {
	case WE_AF_UNSPEC: family = 0; break;
	case WE_AF_INET4: family = KUMO_PLAT_AF_INET; break;
	case WE_AF_INET6: family = KUMO_PLAT_AF_INET6; break;
	default: return WE_EAI_FAMILY;
	}
	if (hproto > WE_PROTO_UDP)
		return WASI_ENOSYS;
	switch (htype) {
	case WE_SOCK_ANY: type = 0; break;
	case WE_SOCK_DGRAM: type = KUMO_PLAT_SOCK_DGRAM; break;
	case WE_SOCK_STREAM: type = KUMO_PLAT_SOCK_STREAM; break;
	default: return WASI_ENOSYS;
	}
	struct kumo_plat_sockaddr out[GAI_MAX];
	size_t n = 0, cap = max_res < GAI_MAX ? max_res : GAI_MAX;
	int rc = kumo_plat_resolve(nbuf[0] ? nbuf : NULL, sbuf[0] ? sbuf : NULL, family, type,
				   out, cap, &n);
	if (rc == -WASI_ENOENT)
		return WE_EAI_NONAME;
	if (rc == -WASI_EAGAIN)
		return WE_EAI_AGAIN;
	if (rc < 0)
		return wasi_err(rc);
	/* The guest pre-links max_res addrinfo structs, each with its sockaddr and sa_data
	 * buffer; fill the first n. */
	uint32_t ai = get_u32(rp);
	uint32_t i;
	for (i = 0; i < n; i++) {
		uint8_t *p = wasi_mem(vm, ai, WE_ADDRINFO_SIZE);
		if (!p)
			return WASI_EFAULT;
		uint8_t *sa = wasi_mem(vm, get_u32(p + 12), WE_SOCKADDR_SIZE);
		if (!sa)
			return WASI_EFAULT;
		uint32_t cap_data = get_u32(sa + 4), dlen;
		uint8_t *data = wasi_mem(vm, get_u32(sa + 8), cap_data);
		if (!data)
			return WASI_EFAULT;
		e = wasi_sa_data_encode(&out[i], data, cap_data, &dlen);
		if (e)
			return e;
		uint8_t we_type = htype ? htype : WE_SOCK_STREAM;
		put_u16(p, 0);
		p[2] = out[i].family == KUMO_PLAT_AF_INET ? WE_AF_INET4 : WE_AF_INET6;
		p[3] = we_type;
		p[4] = we_type == WE_SOCK_DGRAM ? WE_PROTO_UDP : WE_PROTO_TCP;
		put_u32(p + 20, 0); /* no canonical name */
		sa[0] = p[2];
		put_u32(sa + 4, dlen);
		if (i + 1 < n)
			ai = get_u32(p + 24);
	}
	return wasi_store_u32(vm, res_len, i);
}

/* ---- WasmEdge's *_v2 names (0.12 and later register both) ---- */

u32 KUMO_WASI_SYM(12, sock_open_v2, iii_i)(wvm *vm, u32 af, u32 type, u32 ro_fd)
{
	return KUMO_WASI_SYM(9, sock_open, iii_i)(vm, af, type, ro_fd);
}

u32 KUMO_WASI_SYM(12, sock_bind_v2, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port)
{
	return KUMO_WASI_SYM(9, sock_bind, iii_i)(vm, fd, addr, port);
}

u32 KUMO_WASI_SYM(14, sock_listen_v2, ii_i)(wvm *vm, u32 fd, u32 backlog)
{
	return KUMO_WASI_SYM(11, sock_listen, ii_i)(vm, fd, backlog);
}

u32 KUMO_WASI_SYM(14, sock_accept_v2, iii_i)(wvm *vm, u32 fd, u32 flags, u32 ro_fd)
{
	return do_accept(vm, fd, flags, ro_fd);
}

u32 KUMO_WASI_SYM(15, sock_connect_v2, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port)
{
	return KUMO_WASI_SYM(12, sock_connect, iii_i)(vm, fd, addr, port);
}

u32 KUMO_WASI_SYM(12, sock_recv_v2, iiiiii_i)(wvm *vm, u32 fd, u32 ri, u32 ri_len, u32 flags,
					      u32 ro_len, u32 ro_flags)
{
	return do_recv(vm, fd, ri, ri_len, flags, NULL, ro_len, ro_flags);
}

u32 KUMO_WASI_SYM(17, sock_recv_from_v2, iiiiiiii_i)(wvm *vm, u32 fd, u32 ri, u32 ri_len,
						     u32 addr, u32 flags, u32 port, u32 ro_len,
						     u32 ro_flags)
{
	return do_recv_from(vm, fd, ri, ri_len, addr, flags, port, true, ro_len, ro_flags);
}

u32 KUMO_WASI_SYM(12, sock_send_v2, iiiii_i)(wvm *vm, u32 fd, u32 si, u32 si_len, u32 flags,
					     u32 so_len)
{
	(void)flags;
	return do_send(vm, fd, si, si_len, NULL, so_len);
}

u32 KUMO_WASI_SYM(15, sock_send_to_v2, iiiiiii_i)(wvm *vm, u32 fd, u32 si, u32 si_len,
						  u32 addr, u32 port, u32 flags, u32 so_len)
{
	return KUMO_WASI_SYM(12, sock_send_to, iiiiiii_i)(vm, fd, si, si_len, addr, port, flags,
							  so_len);
}
