/* kernel/os/plat_net.c - the platform's socket calls (kernel/rt/rt_platform.h) in the unikernel, over lwIP's raw API: TCP and UDP sockets as kumo_plat_files, blocking by polling the NIC and sleeping in hlt, and the resolver over lwIP's DNS client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/os/kos.h"
#include "kernel/os/ramfs.h"
#include "kernel/rt/rt_platform.h"
#include "lwip/dns.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#ifndef WASI_RIFLAG_RECV_PEEK
#define WASI_RIFLAG_RECV_PEEK 0x1
#endif
#ifndef WASI_RIFLAG_RECV_WAITALL
#define WASI_RIFLAG_RECV_WAITALL 0x2
#endif

/* WasmEdge's sock_opt_level / sock_opt_so values. */
#define OPT_LEVEL_SOCKET 0
enum {
	SO_REUSEADDR_ = 0, SO_TYPE_ = 1, SO_ERROR_ = 2, SO_DONTROUTE_ = 3, SO_BROADCAST_ = 4,
	SO_SNDBUF_ = 5, SO_RCVBUF_ = 6, SO_KEEPALIVE_ = 7, SO_OOBINLINE_ = 8, SO_LINGER_ = 9,
	SO_RCVLOWAT_ = 10, SO_RCVTIMEO_ = 11, SO_SNDTIMEO_ = 12, SO_ACCEPTCONN_ = 13,
};

#define DGRAM_QUEUE_MAX 128

struct dgram {
	struct dgram *next;
	struct pbuf *p;
	ip_addr_t addr;
	u16_t port;
};

struct ksock {
	uint8_t type;              /* KUMO_PLAT_SOCK_* */
	struct tcp_pcb *tcp;       /* NULL once lwIP freed it (error) or we closed */
	struct udp_pcb *udp;
	int listening, connecting, connected;
	int err;                   /* pending WASI errno from lwIP's error callback */
	int rx_eof, shut_rd, shut_wr;
	struct pbuf *rx;           /* stream: received, not yet read */
	struct ksock *aq_head, *aq_tail, *aq_next; /* listening: accepted connections */
	int aq_len, backlog;
	struct dgram *dq_head, *dq_tail;
	int dq_len;
	int reuseaddr, broadcast, keepalive;
	uint64_t rcvtimeo_us, sndtimeo_us;
};

static int from_lwip_err(err_t e)
{
	switch (e) {
	case ERR_OK: return 0;
	case ERR_MEM: case ERR_BUF: return WASI_ENOBUFS;
	case ERR_TIMEOUT: return WASI_ETIMEDOUT;
	case ERR_RTE: return WASI_EHOSTUNREACH;
	case ERR_INPROGRESS: return WASI_EINPROGRESS;
	case ERR_VAL: case ERR_ARG: return WASI_EINVAL;
	case ERR_WOULDBLOCK: return WASI_EAGAIN;
	case ERR_USE: return WASI_EADDRINUSE;
	case ERR_ALREADY: return WASI_EALREADY;
	case ERR_ISCONN: return WASI_EISCONN;
	case ERR_CONN: return WASI_ENOTCONN;
	case ERR_IF: return WASI_ENETDOWN;
	case ERR_ABRT: return WASI_ECONNABORTED;
	case ERR_RST: return WASI_ECONNRESET;
	case ERR_CLSD: return WASI_ENOTCONN;
	default: return WASI_EIO;
	}
}

static int nonblocking(struct kumo_plat_file *f)
{
	uint32_t fl = 0;
	kumo_plat_get_flags(f, &fl);
	return (fl & WASI_FDFLAG_NONBLOCK) != 0;
}

static uint64_t deadline_of(uint64_t timeo_us)
{
	return timeo_us ? clock_monotonic_ns() + timeo_us * 1000u : UINT64_MAX;
}

static void to_ip(const struct kumo_plat_sockaddr *a, ip_addr_t *ip)
{
	IP_ADDR4(ip, a->addr[0], a->addr[1], a->addr[2], a->addr[3]);
}

static void from_ip(const ip_addr_t *ip, u16_t port, struct kumo_plat_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = KUMO_PLAT_AF_INET;
	a->port = port;
	uint32_t v = ip4_addr_get_u32(ip_2_ip4(ip));
	memcpy(a->addr, &v, 4);
}

/* ---- lwIP callbacks ---- */

static err_t on_tcp_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct ksock *s = arg;
	(void)err;
	if (!s) {
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		s->rx_eof = 1;
		return ERR_OK;
	}
	if (s->shut_rd) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	if (s->rx)
		pbuf_cat(s->rx, p);
	else
		s->rx = p;
	sched_kick(); /* a reader may wait on another thread */
	return ERR_OK;
}

static void on_tcp_err(void *arg, err_t err)
{
	struct ksock *s = arg;
	if (!s)
		return;
	s->tcp = NULL; /* lwIP has freed it */
	if (s->connecting)
		s->err = err == ERR_RST ? WASI_ECONNREFUSED : from_lwip_err(err);
	else
		s->err = err == ERR_CLSD ? 0 : from_lwip_err(err);
	s->connecting = 0;
	s->rx_eof = 1;
	sched_kick();
}

static err_t on_tcp_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct ksock *s = arg;
	if (s) {
		s->connecting = 0;
		s->connected = err == ERR_OK;
		if (err != ERR_OK)
			s->err = from_lwip_err(err);
	}
	if (err == ERR_OK)
		net_tcp_tso(pcb);
	sched_kick();
	return ERR_OK;
}

/* Acknowledged data made send room: a writer waiting for it may be another thread. */
static err_t on_tcp_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)arg;
	(void)pcb;
	(void)len;
	sched_kick();
	return ERR_OK;
}

/* Bytes tcp_write can take now: send buffer space, while the segment queue has room
 * for a few more (each write may add segments). */
static size_t tcp_room(struct tcp_pcb *pcb)
{
	if (tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 4)
		return 0;
	return tcp_sndbuf(pcb);
}

static void tcp_attach(struct ksock *s, struct tcp_pcb *pcb)
{
	s->tcp = pcb;
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_tcp_recv);
	tcp_err(pcb, on_tcp_err);
	tcp_sent(pcb, on_tcp_sent);
	tcp_nagle_disable(pcb);
}

static err_t on_tcp_accept(void *arg, struct tcp_pcb *newpcb, err_t err)
{
	struct ksock *l = arg;
	if (err != ERR_OK || !newpcb || !l)
		return ERR_VAL;
	if (l->aq_len >= l->backlog) {
		tcp_abort(newpcb);
		return ERR_ABRT;
	}
	struct ksock *c = calloc(1, sizeof(*c));
	if (!c) {
		tcp_abort(newpcb);
		return ERR_ABRT;
	}
	c->type = KUMO_PLAT_SOCK_STREAM;
	c->connected = 1;
	tcp_attach(c, newpcb);
	net_tcp_tso(newpcb);
	if (l->aq_tail)
		l->aq_tail->aq_next = c;
	else
		l->aq_head = c;
	l->aq_tail = c;
	l->aq_len++;
	sched_kick();
	return ERR_OK;
}

static void on_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
			u16_t port)
{
	struct ksock *s = arg;
	(void)pcb;
	struct dgram *d = s && !s->shut_rd && s->dq_len < DGRAM_QUEUE_MAX ? malloc(sizeof(*d)) : NULL;
	if (!d) {
		pbuf_free(p);
		return;
	}
	d->next = NULL;
	d->p = p;
	ip_addr_copy(d->addr, *addr);
	d->port = port;
	if (s->dq_tail)
		s->dq_tail->next = d;
	else
		s->dq_head = d;
	s->dq_tail = d;
	s->dq_len++;
	sched_kick();
}

/* ---- socket objects ---- */

static struct ksock *sock_of(struct kumo_plat_file *f)
{
	return f ? ramfs_file_socket(f) : NULL;
}

static void tcp_release(struct tcp_pcb *pcb, int abort)
{
	tcp_arg(pcb, NULL);
	if (pcb->state == LISTEN) {
		tcp_accept(pcb, NULL);
		tcp_close(pcb);
		return;
	}
	tcp_recv(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_sent(pcb, NULL);
	if (abort || tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

void ksock_free(struct ksock *s)
{
	if (!s)
		return;
	while (s->aq_head) {
		struct ksock *c = s->aq_head;
		s->aq_head = c->aq_next;
		if (c->tcp)
			tcp_release(c->tcp, 1);
		c->tcp = NULL;
		ksock_free(c);
	}
	if (s->tcp)
		tcp_release(s->tcp, s->rx != NULL); /* unread data: reset, like Linux */
	if (s->rx)
		pbuf_free(s->rx);
	if (s->udp)
		udp_remove(s->udp);
	while (s->dq_head) {
		struct dgram *d = s->dq_head;
		s->dq_head = d->next;
		pbuf_free(d->p);
		free(d);
	}
	free(s);
	net_flush(); /* the FINs and RSTs */
}

uint8_t ksock_filetype(struct ksock *s)
{
	return s->type == KUMO_PLAT_SOCK_STREAM ? WASI_FILETYPE_SOCKET_STREAM : WASI_FILETYPE_SOCKET_DGRAM;
}

void ksock_poll_state(struct ksock *s, struct kumo_plat_pollfd *p)
{
	p->ready = false;
	p->hangup = false;
	p->error = 0;
	p->nbytes = 0;
	if (s->type == KUMO_PLAT_SOCK_DGRAM) {
		if (p->write)
			p->ready = true;
		else if (s->dq_head) {
			p->ready = true;
			p->nbytes = s->dq_head->p->tot_len;
		}
		return;
	}
	if (s->listening) {
		p->ready = !p->write && s->aq_head != NULL;
		return;
	}
	if (s->err) {
		p->ready = true;
		p->error = (uint16_t)s->err;
		p->hangup = true;
		return;
	}
	if (p->write) {
		if (s->connecting)
			return;
		if (!s->tcp || s->shut_wr) {
			p->ready = true;
			p->hangup = true;
			return;
		}
		p->ready = tcp_room(s->tcp) > 0;
		return;
	}
	if (s->rx) {
		p->ready = true;
		p->nbytes = s->rx->tot_len;
	} else if (s->rx_eof || s->shut_rd || (!s->tcp && s->connected)) {
		p->ready = true;
		p->hangup = true;
	}
}

int kumo_plat_sock_open(uint8_t family, uint8_t type, struct kumo_plat_file **out)
{
	if (!net_is_up())
		return -WASI_ENETDOWN;
	if (family == KUMO_PLAT_AF_INET6)
		return -WASI_EAFNOSUPPORT;
	if (family != KUMO_PLAT_AF_INET)
		return -WASI_EAFNOSUPPORT;
	if (type != KUMO_PLAT_SOCK_STREAM && type != KUMO_PLAT_SOCK_DGRAM)
		return -WASI_ENOTSUP;
	struct ksock *s = calloc(1, sizeof(*s));
	if (!s)
		return -WASI_ENOMEM;
	s->type = type;
	if (type == KUMO_PLAT_SOCK_STREAM) {
		struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
		if (!pcb) {
			free(s);
			return -WASI_ENOBUFS;
		}
		tcp_attach(s, pcb);
	} else {
		s->udp = udp_new_ip_type(IPADDR_TYPE_V4);
		if (!s->udp) {
			free(s);
			return -WASI_ENOBUFS;
		}
		udp_recv(s->udp, on_udp_recv, s);
	}
	*out = ramfs_socket_file(s, 0);
	if (!*out) {
		ksock_free(s);
		return -WASI_ENOMEM;
	}
	return 0;
}

int kumo_plat_sock_bind(struct kumo_plat_file *f, const struct kumo_plat_sockaddr *a)
{
	struct ksock *s = sock_of(f);
	if (!s)
		return -WASI_ENOTSOCK;
	if (a->family != KUMO_PLAT_AF_INET)
		return -WASI_EAFNOSUPPORT;
	ip_addr_t ip;
	to_ip(a, &ip);
	err_t e;
	if (s->type == KUMO_PLAT_SOCK_STREAM) {
		if (!s->tcp || s->listening)
			return -WASI_EINVAL;
		if (s->reuseaddr)
			ip_set_option(s->tcp, SOF_REUSEADDR);
		e = tcp_bind(s->tcp, &ip, a->port);
	} else {
		if (s->reuseaddr)
			ip_set_option(s->udp, SOF_REUSEADDR);
		e = udp_bind(s->udp, &ip, a->port);
	}
	if (e == ERR_VAL)
		return -WASI_EINVAL;
	return -from_lwip_err(e);
}

int kumo_plat_sock_listen(struct kumo_plat_file *f, int backlog)
{
	struct ksock *s = sock_of(f);
	if (!s)
		return -WASI_ENOTSOCK;
	if (s->type != KUMO_PLAT_SOCK_STREAM)
		return -WASI_ENOTSUP;
	if (backlog < 1)
		backlog = 1;
	if (backlog > 1024)
		backlog = 1024;
	s->backlog = backlog;
	if (s->listening)
		return 0;
	if (!s->tcp || s->connected || s->connecting)
		return -WASI_EINVAL;
	if (s->tcp->local_port == 0 && tcp_bind(s->tcp, IP4_ADDR_ANY, 0) != ERR_OK)
		return -WASI_EADDRINUSE;
	err_t e = ERR_OK;
	struct tcp_pcb *l = tcp_listen_with_backlog_and_err(s->tcp, (u8_t)(backlog > 255 ? 255 : backlog), &e);
	if (!l)
		return -from_lwip_err(e);
	s->tcp = l; /* the old pcb is freed */
	s->listening = 1;
	tcp_arg(l, s);
	tcp_accept(l, on_tcp_accept);
	return 0;
}

int kumo_plat_sock_accept(struct kumo_plat_file *f, uint32_t fdflags, struct kumo_plat_file **out)
{
	struct ksock *s = sock_of(f);
	if (!s)
		return -WASI_ENOTSOCK;
	if (!s->listening)
		return -WASI_EINVAL;
	uint64_t deadline = deadline_of(s->rcvtimeo_us);
	for (;;) {
		net_poll();
		if (s->aq_head) {
			struct ksock *c = s->aq_head;
			struct kumo_plat_file *cf = ramfs_socket_file(c, fdflags & WASI_FDFLAG_NONBLOCK);
			if (!cf)
				return -WASI_ENOMEM;
			s->aq_head = c->aq_next;
			if (!s->aq_head)
				s->aq_tail = NULL;
			s->aq_len--;
			c->aq_next = NULL;
			*out = cf;
			return 0;
		}
		if (nonblocking(f))
			return -WASI_EAGAIN;
		if (clock_monotonic_ns() >= deadline)
			return -WASI_EAGAIN;
		net_wait(deadline);
	}
}

int kumo_plat_sock_connect(struct kumo_plat_file *f, const struct kumo_plat_sockaddr *a)
{
	struct ksock *s = sock_of(f);
	if (!s)
		return -WASI_ENOTSOCK;
	if (a->family != KUMO_PLAT_AF_INET)
		return -WASI_EAFNOSUPPORT;
	ip_addr_t ip;
	to_ip(a, &ip);
	if (s->type == KUMO_PLAT_SOCK_DGRAM) {
		s->connected = 1;
		return -from_lwip_err(udp_connect(s->udp, &ip, a->port));
	}
	if (s->listening)
		return -WASI_EINVAL;
	if (s->connected)
		return -WASI_EISCONN;
	if (!s->connecting) {
		if (!s->tcp)
			return -(s->err ? s->err : WASI_EINVAL);
		err_t e = tcp_connect(s->tcp, &ip, a->port, on_tcp_connected);
		if (e != ERR_OK)
			return -from_lwip_err(e);
		s->connecting = 1;
		net_flush(); /* the SYN */
		if (nonblocking(f))
			return -WASI_EINPROGRESS;
	} else if (nonblocking(f)) {
		return -WASI_EALREADY;
	}
	for (;;) {
		net_poll();
		if (s->connected)
			return 0;
		if (!s->connecting || s->err) {
			int e = s->err ? s->err : WASI_ECONNREFUSED;
			s->err = 0;
			return -e;
		}
		net_wait(UINT64_MAX);
	}
}

static size_t iov_total(const struct kumo_plat_iov *iov, size_t n)
{
	size_t t = 0;
	for (size_t i = 0; i < n; i++)
		t += iov[i].len;
	return t;
}

/* Copies from a pbuf chain at offset into iov (starting at byte `skip` of iov). */
static size_t copy_out(struct pbuf *p, size_t off, const struct kumo_plat_iov *iov, size_t n,
		       size_t skip, size_t max)
{
	size_t done = 0;
	for (size_t i = 0; i < n && done < max; i++) {
		if (skip >= iov[i].len) {
			skip -= iov[i].len;
			continue;
		}
		size_t want = iov[i].len - skip;
		if (want > max - done)
			want = max - done;
		while (want > 0) {
			u16_t chunk = want > 0xffff ? 0xffff : (u16_t)want;
			u16_t got = pbuf_copy_partial(p, (uint8_t *)iov[i].buf + skip, chunk, (u16_t)(off + done));
			done += got;
			skip += got;
			want -= got;
			if (got < chunk)
				return done;
		}
		skip = 0;
	}
	return done;
}

static void tcp_consume(struct ksock *s, size_t n)
{
	s->rx = n >= s->rx->tot_len ? (pbuf_free(s->rx), NULL) : pbuf_free_header(s->rx, (u16_t)n);
	for (size_t left = n; left > 0 && s->tcp;) {
		u16_t c = left > 0xffff ? 0xffff : (u16_t)left;
		tcp_recved(s->tcp, c);
		left -= c;
	}
}

static int sock_recv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     uint32_t flags, size_t *done, bool *truncated, struct kumo_plat_sockaddr *from);

int kumo_plat_sock_recv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
			uint32_t flags, size_t *done, bool *truncated,
			struct kumo_plat_sockaddr *from)
{
	int rc = sock_recv(f, iov, n, flags, done, truncated, from);
	net_flush(); /* window updates tcp_recved sent */
	return rc;
}

static int sock_recv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     uint32_t flags, size_t *done, bool *truncated, struct kumo_plat_sockaddr *from)
{
	struct ksock *s = sock_of(f);
	*done = 0;
	if (truncated)
		*truncated = false;
	if (!s)
		return -WASI_ENOTSOCK;
	size_t cap = iov_total(iov, n);
	uint64_t deadline = deadline_of(s->rcvtimeo_us);
	bool peek = flags & WASI_RIFLAG_RECV_PEEK, waitall = flags & WASI_RIFLAG_RECV_WAITALL;
	for (;;) {
		net_poll();
		if (s->type == KUMO_PLAT_SOCK_DGRAM) {
			struct dgram *d = s->dq_head;
			if (d) {
				size_t len = d->p->tot_len;
				*done = copy_out(d->p, 0, iov, n, 0, len < cap ? len : cap);
				if (truncated)
					*truncated = len > cap;
				if (from)
					from_ip(&d->addr, d->port, from);
				if (!peek) {
					s->dq_head = d->next;
					if (!s->dq_head)
						s->dq_tail = NULL;
					s->dq_len--;
					pbuf_free(d->p);
					free(d);
				}
				return 0;
			}
			if (s->shut_rd)
				return 0;
		} else {
			if (s->listening)
				return -WASI_ENOTCONN;
			if (s->rx && cap > 0) {
				size_t avail = s->rx->tot_len;
				if (!waitall || peek || avail >= cap - *done || s->rx_eof || !s->tcp) {
					size_t take = avail < cap - *done ? avail : cap - *done;
					uint64_t t0 = prof_begin();
					size_t got = copy_out(s->rx, 0, iov, n, *done, take);
					prof_end(NETPROF_RECV, t0);
					if (!peek)
						tcp_consume(s, got);
					*done += got;
					if (from && s->tcp)
						from_ip(&s->tcp->remote_ip, s->tcp->remote_port, from);
					if (!waitall || peek || *done >= cap || s->rx_eof || !s->tcp)
						return 0;
				}
			}
			if (cap == 0)
				return 0;
			if (*done == 0 && s->err) {
				int e = s->err;
				s->err = 0;
				return -e;
			}
			if (s->rx_eof || s->shut_rd)
				return 0;
			if (!s->tcp)
				return *done ? 0 : -WASI_ENOTCONN;
			if (!s->connected && !s->connecting)
				return -WASI_ENOTCONN;
		}
		if (nonblocking(f))
			return *done ? 0 : -WASI_EAGAIN;
		if (clock_monotonic_ns() >= deadline)
			return *done ? 0 : -WASI_EAGAIN;
		net_wait(deadline);
	}
}

static int udp_send_iov(struct ksock *s, const struct kumo_plat_iov *iov, size_t n,
			const struct kumo_plat_sockaddr *to, size_t *done)
{
	size_t len = iov_total(iov, n);
	if (len > 65507)
		return -WASI_EMSGSIZE;
	if (s->shut_wr)
		return -WASI_EPIPE;
	struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!p)
		return -WASI_ENOBUFS;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		pbuf_take_at(p, iov[i].buf, (u16_t)iov[i].len, (u16_t)off);
		off += iov[i].len;
	}
	err_t e;
	if (to) {
		if (to->family != KUMO_PLAT_AF_INET) {
			pbuf_free(p);
			return -WASI_EAFNOSUPPORT;
		}
		ip_addr_t ip;
		to_ip(to, &ip);
		e = udp_sendto(s->udp, p, &ip, to->port);
	} else if (!s->connected) {
		pbuf_free(p);
		return -WASI_EDESTADDRREQ;
	} else {
		e = udp_send(s->udp, p);
	}
	pbuf_free(p);
	if (e != ERR_OK)
		return -from_lwip_err(e);
	*done = len;
	return 0;
}

static int sock_send(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     const struct kumo_plat_sockaddr *to, size_t *done);

int kumo_plat_sock_send(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
			const struct kumo_plat_sockaddr *to, size_t *done)
{
	int rc = sock_send(f, iov, n, to, done);
	uint64_t t0 = prof_begin();
	net_flush(); /* what tcp_output or udp queued, whichever way it returned */
	prof_end(NETPROF_OUTPUT, t0);
	return rc;
}

static int sock_send(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     const struct kumo_plat_sockaddr *to, size_t *done)
{
	struct ksock *s = sock_of(f);
	*done = 0;
	if (!s)
		return -WASI_ENOTSOCK;
	if (s->type == KUMO_PLAT_SOCK_DGRAM)
		return udp_send_iov(s, iov, n, to, done);
	if (s->listening)
		return -WASI_ENOTCONN;
	uint64_t deadline = deadline_of(s->sndtimeo_us);
	size_t total = iov_total(iov, n);
	size_t i = 0, off = 0;
	while (*done < total) {
		while (i < n && off >= iov[i].len)
			i++, off = 0;
		if (i >= n)
			break;
		if (s->err) {
			int e = s->err;
			s->err = 0;
			return *done ? 0 : -e;
		}
		if (!s->tcp || s->shut_wr)
			return *done ? 0 : -WASI_EPIPE;
		if (!s->connected)
			return -WASI_ENOTCONN;
		size_t room = tcp_room(s->tcp);
		if (room > 0) {
			size_t c = iov[i].len - off;
			if (c > room)
				c = room;
			if (c > 0xffff)
				c = 0xffff;
			u8_t fl = TCP_WRITE_FLAG_COPY | (*done + c < total ? TCP_WRITE_FLAG_MORE : 0);
			uint64_t t0 = prof_begin();
			err_t e = tcp_write(s->tcp, (const uint8_t *)iov[i].buf + off, (u16_t)c, fl);
			prof_end(NETPROF_WRITE, t0);
			if (e == ERR_OK) {
				off += c;
				*done += c;
				continue;
			}
			if (e != ERR_MEM)
				return *done ? 0 : -from_lwip_err(e);
		}
		/* Full: push what is queued and wait for acknowledgements. */
		uint64_t t0 = prof_begin();
		tcp_output(s->tcp);
		prof_end(NETPROF_OUTPUT, t0);
		if (nonblocking(f))
			return *done ? 0 : -WASI_EAGAIN;
		if (clock_monotonic_ns() >= deadline)
			return *done ? 0 : -WASI_EAGAIN;
		net_poll();
		if (s->tcp && tcp_room(s->tcp) == 0)
			net_wait(deadline); /* until acknowledgements (or the deadline) arrive */
		net_poll();
	}
	if (s->tcp) {
		uint64_t t0 = prof_begin();
		tcp_output(s->tcp);
		prof_end(NETPROF_OUTPUT, t0);
	}
	return 0;
}

int kumo_plat_sock_shutdown(struct kumo_plat_file *f, uint32_t how)
{
	struct ksock *s = sock_of(f);
	if (!s)
		return -WASI_ENOTSOCK;
	if (how & ~(uint32_t)(WASI_SDFLAG_RD | WASI_SDFLAG_WR) || !how)
		return -WASI_EINVAL;
	if (s->type == KUMO_PLAT_SOCK_STREAM && !s->connected)
		return -WASI_ENOTCONN;
	if (how & WASI_SDFLAG_RD) {
		s->shut_rd = 1;
		if (s->rx) {
			tcp_consume(s, s->rx->tot_len);
		}
	}
	if ((how & WASI_SDFLAG_WR) && !s->shut_wr) {
		s->shut_wr = 1;
		if (s->tcp) {
			err_t e = tcp_shutdown(s->tcp, 0, 1);
			if (e != ERR_OK) {
				net_flush();
				return -from_lwip_err(e);
			}
			net_poll();
		}
	}
	net_flush(); /* window updates from tcp_consume */
	return 0;
}

int kumo_plat_sock_name(struct kumo_plat_file *f, bool peer, struct kumo_plat_sockaddr *a)
{
	struct ksock *s = sock_of(f);
	if (!s)
		return -WASI_ENOTSOCK;
	if (s->type == KUMO_PLAT_SOCK_DGRAM) {
		if (peer && !s->connected)
			return -WASI_ENOTCONN;
		if (peer)
			from_ip(&s->udp->remote_ip, s->udp->remote_port, a);
		else
			from_ip(&s->udp->local_ip, s->udp->local_port, a);
		return 0;
	}
	if (!s->tcp)
		return -WASI_ENOTCONN;
	if (peer) {
		if (!s->connected)
			return -WASI_ENOTCONN;
		from_ip(&s->tcp->remote_ip, s->tcp->remote_port, a);
	} else {
		from_ip(&s->tcp->local_ip, s->tcp->local_port, a);
	}
	return 0;
}

int kumo_plat_sock_getopt(struct kumo_plat_file *f, uint32_t level, uint32_t name, int64_t *val)
{
	struct ksock *s = sock_of(f);
	if (!s)
		return -WASI_ENOTSOCK;
	if (level != OPT_LEVEL_SOCKET)
		return -WASI_ENOPROTOOPT;
	switch (name) {
	case SO_REUSEADDR_: *val = s->reuseaddr; return 0;
	case SO_TYPE_: *val = s->type; return 0;
	case SO_ERROR_: *val = s->err; s->err = 0; return 0;
	case SO_BROADCAST_: *val = s->broadcast; return 0;
	case SO_KEEPALIVE_: *val = s->keepalive; return 0;
	case SO_SNDBUF_: *val = TCP_SND_BUF; return 0;
	case SO_RCVBUF_: *val = TCP_WND; return 0;
	case SO_RCVTIMEO_: *val = (int64_t)s->rcvtimeo_us; return 0;
	case SO_SNDTIMEO_: *val = (int64_t)s->sndtimeo_us; return 0;
	case SO_ACCEPTCONN_: *val = s->listening; return 0;
	default: return -WASI_ENOPROTOOPT;
	}
}

int kumo_plat_sock_setopt(struct kumo_plat_file *f, uint32_t level, uint32_t name, int64_t val)
{
	struct ksock *s = sock_of(f);
	if (!s)
		return -WASI_ENOTSOCK;
	if (level != OPT_LEVEL_SOCKET)
		return -WASI_ENOPROTOOPT;
	switch (name) {
	case SO_REUSEADDR_:
		s->reuseaddr = val != 0;
		if (s->tcp && val)
			ip_set_option(s->tcp, SOF_REUSEADDR);
		if (s->udp && val)
			ip_set_option(s->udp, SOF_REUSEADDR);
		return 0;
	case SO_BROADCAST_:
		s->broadcast = val != 0;
		if (s->udp && val)
			ip_set_option(s->udp, SOF_BROADCAST);
		return 0;
	case SO_KEEPALIVE_:
		s->keepalive = val != 0;
		if (s->tcp && val)
			ip_set_option(s->tcp, SOF_KEEPALIVE);
		else if (s->tcp)
			ip_reset_option(s->tcp, SOF_KEEPALIVE);
		return 0;
	case SO_SNDBUF_:
	case SO_RCVBUF_:
		return 0; /* fixed by lwipopts.h; accepted like Linux clamps */
	case SO_RCVTIMEO_:
		if (val < 0)
			return -WASI_EINVAL;
		s->rcvtimeo_us = (uint64_t)val;
		return 0;
	case SO_SNDTIMEO_:
		if (val < 0)
			return -WASI_EINVAL;
		s->sndtimeo_us = (uint64_t)val;
		return 0;
	default:
		return -WASI_ENOPROTOOPT;
	}
}

/* ---- resolver ---- */

struct dns_wait {
	int done;
	int found;
	ip_addr_t addr;
};

static void on_dns(const char *name, const ip_addr_t *addr, void *arg)
{
	struct dns_wait *w = arg;
	(void)name;
	w->done = 1;
	if (addr) {
		w->found = 1;
		ip_addr_copy(w->addr, *addr);
	}
}

/* One lookup through lwIP's resolver: 0 found, -WASI_ENOENT not found. */
static int dns_lookup(const char *name, ip_addr_t *out)
{
	/* On the heap, not the stack: a stop or kill of the calling container unwinds it
	 * from net_wait while lwIP still holds the request, whose answer then lands in this
	 * (leaked, never reused) block instead of a dead stack. */
	struct dns_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return -WASI_ENOMEM;
	err_t e = dns_gethostbyname(name, out, on_dns, w);
	if (e != ERR_INPROGRESS) {
		free(w);
		if (e == ERR_OK)
			return 0;
		return e == ERR_ARG ? -WASI_EINVAL : -WASI_ENOENT;
	}
	/* lwIP's own timers give up after DNS_MAX_RETRIES; the deadline is a backstop. */
	uint64_t deadline = clock_monotonic_ns() + 30ull * 1000000000u;
	while (!w->done) {
		net_poll();
		if (w->done)
			break;
		if (clock_monotonic_ns() >= deadline)
			return -WASI_ETIMEDOUT; /* w stays with the pending request (leaked) */
		net_wait(deadline);
	}
	int found = w->found;
	if (found)
		ip_addr_copy(*out, w->addr);
	free(w);
	return found ? 0 : -WASI_ENOENT;
}

static int count_dots(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '.';
	return n;
}

int kumo_plat_resolve(const char *node, const char *service, uint8_t family, uint8_t type,
		      struct kumo_plat_sockaddr *out, size_t cap, size_t *n)
{
	*n = 0;
	if (family != 0 && family != KUMO_PLAT_AF_INET && family != KUMO_PLAT_AF_INET6)
		return -WASI_EAFNOSUPPORT;
	if (family == KUMO_PLAT_AF_INET6)
		return -WASI_ENOENT; /* no IPv6 in this kernel */
	uint16_t port = 0;
	if (service && *service) {
		char *end;
		long long p = strtoll(service, &end, 10);
		if (*end || p < 0 || p > 65535)
			return -WASI_EINVAL; /* no services database */
		port = (uint16_t)p;
	}
	(void)type;
	ip_addr_t ip;
	int rc = -WASI_ENOENT;
	if (!node || !*node) {
		ip_addr_set_zero_ip4(&ip);
		rc = 0;
	} else if (ipaddr_aton(node, &ip)) {
		rc = 0;
	} else if (strcmp(node, "localhost") == 0) {
		IP_ADDR4(&ip, 127, 0, 0, 1);
		rc = 0;
	} else if (kumo_bootcfg.net.hostname && strcmp(node, kumo_bootcfg.net.hostname) == 0) {
		const uint8_t *a = kumo_bootcfg.net.addr;
		IP_ADDR4(&ip, a[0], a[1], a[2], a[3]);
		rc = 0;
	} else {
		if (!net_is_up())
			return -WASI_ENETDOWN;
		size_t nl = strlen(node);
		if (nl >= DNS_MAX_NAME_LENGTH)
			return -WASI_EINVAL;
		int absolute = node[nl - 1] == '.';
		/* Like resolv.conf's ndots:1: a name with a dot is tried as is first. */
		if (absolute || count_dots(node) >= 1)
			rc = dns_lookup(node, &ip);
		struct kumo_netcfg *c = &kumo_bootcfg.net;
		for (int i = 0; rc == -WASI_ENOENT && !absolute && i < c->nsearch; i++) {
			char name[DNS_MAX_NAME_LENGTH];
			size_t sl = strlen(c->search[i]);
			if (nl + 1 + sl >= sizeof(name))
				continue;
			memcpy(name, node, nl);
			name[nl] = '.';
			memcpy(name + nl + 1, c->search[i], sl + 1);
			rc = dns_lookup(name, &ip);
		}
		if (rc == -WASI_ENOENT && !absolute && count_dots(node) == 0)
			rc = dns_lookup(node, &ip);
	}
	if (rc < 0)
		return rc;
	if (cap > 0) {
		from_ip(&ip, port, &out[0]);
		*n = 1;
	}
	return 0;
}

/* ---- listening sockets (the boot config's, a pod container's) ---- */

/* "tcp:A.B.C.D:PORT" / "udp:A.B.C.D:PORT" -> type and address; 0 or -1. */
static int parse_listen(const char *l, uint8_t *type, struct kumo_plat_sockaddr *a)
{
	if (strncmp(l, "tcp:", 4) == 0)
		*type = KUMO_PLAT_SOCK_STREAM;
	else if (strncmp(l, "udp:", 4) == 0)
		*type = KUMO_PLAT_SOCK_DGRAM;
	else
		return -1;
	memset(a, 0, sizeof(*a));
	a->family = KUMO_PLAT_AF_INET;
	const char *p = l + 4;
	for (int k = 0; k < 5; k++) {
		if (*p < '0' || *p > '9')
			return -1;
		long v = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 6)
			v = v * 10 + (*p++ - '0'), digits++;
		if (k < 4) {
			if (v > 255 || *p++ != (k < 3 ? '.' : ':'))
				return -1;
			a->addr[k] = (uint8_t)v;
		} else {
			if (v < 1 || v > 65535 || *p)
				return -1;
			a->port = (uint16_t)v;
		}
	}
	return 0;
}

int net_listen_open(const char *l, struct kumo_plat_file **out, char *err, size_t errcap)
{
	uint8_t type;
	struct kumo_plat_sockaddr a;
	if (parse_listen(l, &type, &a) < 0) {
		snprintf(err, errcap, "listen `%s`: not tcp:ADDR:PORT or udp:ADDR:PORT", l);
		return -1;
	}
	struct kumo_plat_file *f = NULL;
	int rc = kumo_plat_sock_open(KUMO_PLAT_AF_INET, type, &f);
	const char *what = "open";
	if (rc == 0) {
		kumo_plat_sock_setopt(f, OPT_LEVEL_SOCKET, SO_REUSEADDR_, 1);
		what = "bind";
		rc = kumo_plat_sock_bind(f, &a);
	}
	if (rc == 0 && type == KUMO_PLAT_SOCK_STREAM) {
		what = "listen";
		rc = kumo_plat_sock_listen(f, 1024); /* accept queue, like somaxconn */
	}
	if (rc < 0) {
		if (rc == -WASI_EADDRINUSE)
			snprintf(err, errcap, "listen `%s`: address in use", l);
		else
			snprintf(err, errcap, "listen `%s`: %s failed (wasi errno %d)", l, what, -rc);
		if (f)
			kumo_plat_close(f);
		return -1;
	}
	*out = f;
	return 0;
}

int net_open_listeners(struct kumo_plat_file ***out, size_t *nout, char *err, size_t errcap)
{
	struct kumo_netcfg *c = &kumo_bootcfg.net;
	*out = NULL;
	*nout = 0;
	if (c->nlisten == 0)
		return 0;
	struct kumo_plat_file **v = calloc((size_t)c->nlisten, sizeof(*v));
	if (!v) {
		snprintf(err, errcap, "out of memory for the listening sockets");
		return -1;
	}
	for (int i = 0; i < c->nlisten; i++) {
		char e[160];
		if (net_listen_open(c->listen[i], &v[i], e, sizeof(e)) < 0) {
			snprintf(err, errcap, "net.listen[%d]: %s", i, e);
			for (int k = 0; k < i; k++)
				kumo_plat_close(v[k]);
			free(v);
			return -1;
		}
	}
	*out = v;
	*nout = (size_t)c->nlisten;
	return 0;
}
