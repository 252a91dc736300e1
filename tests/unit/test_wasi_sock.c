/* tests/unit/test_wasi_sock.c - kernel/wasi sockets over the POSIX platform: address marshalling, argument checks (bad fds, pointers, lengths, families), a loopback TCP and UDP exchange through the WasmEdge calls, and the runner's --listen parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kernel/hosted/embed.h"
#include "kernel/wasi/wasi_funcs.h"
#include "kernel/wasi/wasi_internal.h"

extern const struct kumo_module kumo_module;

struct fx {
	struct kumo_rt_store *store;
	struct kumo_wasi *wasi;
	struct kumo_vmctx *vm;
	uint8_t *mem;  /* guest memory base */
	uint32_t size; /* guest memory bytes */
};

/* The port of the host's TCP listener in setup_listen (the app's fd 3). */
static uint16_t host_port;

static int setup_with(void **state, struct kumo_plat_file *const *socks, size_t nsocks)
{
	struct fx *f = xzalloc(sizeof(*f));
	static const char *argv[] = {"app"};
	struct kumo_wasi_config cfg = {.argc = 1, .argv = argv, .nsockets = nsocks,
				       .sockets = socks};
	f->wasi = kumo_wasi_new(&cfg);
	assert_non_null(f->wasi);
	f->store = kumo_rt_store_new();
	kumo_rt_store_set_wasi(f->store, f->wasi);
	struct kumo_rt_instance *inst;
	struct kumo_rt_outcome out;
	assert_int_equal(kumo_rt_instantiate(f->store, &kumo_module, kumo_wasi_resolve, f->store,
					     &inst, &out),
			 0);
	f->vm = kumo_rt_instance_vmctx(inst);
	f->mem = f->vm->mem_base;
	f->size = (uint32_t)f->vm->memory->bytes;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, NULL, 0);
}

/* Like setup, with the host's sockets as `kumo run --listen` makes them: TCP on
 * 127.0.0.1 (fd 3, its port in host_port) and UDP (fd 4). */
static int setup_listen(void **state)
{
	struct kumo_plat_file *socks[2];
	kumo_error_t err = NULL;
	/* --listen wants a port: find free ones the way the kernel picks them. */
	unsigned ports[2];
	for (int i = 0; i < 2; i++) {
		int fd = socket(AF_INET, i ? SOCK_DGRAM : SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sa);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
			return -1;
		ports[i] = ntohs(sa.sin_port);
		close(fd);
	}
	char *tcp = xasprintf("tcp:127.0.0.1:%u", ports[0]);
	char *udp = xasprintf("udp:127.0.0.1:%u", ports[1]);
	int rc = kumo_hosted_listen_open(tcp, &socks[0], &err) < 0 ||
		 kumo_hosted_listen_open(udp, &socks[1], &err) < 0;
	free(tcp);
	free(udp);
	if (rc)
		return -1;
	host_port = (uint16_t)ports[0];
	return setup_with(state, socks, 2);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	kumo_rt_store_free(f->store);
	kumo_wasi_free(f->wasi);
	free(f);
	return 0;
}

static uint32_t u32_at(struct fx *f, uint32_t at)
{
	uint32_t v;
	memcpy(&v, f->mem + at, 4);
	return v;
}

static void put32(struct fx *f, uint32_t at, uint32_t v)
{
	memcpy(f->mem + at, &v, 4);
}

/* Guest scratch layout. */
#define FD_AT 100u
#define ADDR_AT 200u    /* __wasi_address_t */
#define ABUF_AT 300u    /* its 128-byte buffer */
#define IOV_AT 500u
#define LEN_AT 600u
#define FLAGS_AT 610u
#define PORT_AT 620u
#define TYPE_AT 630u
#define DATA_AT 1024u
#define AI_AT 4096u     /* addrinfo chain */

/* ---- pure marshalling ---- */

static void address_forms_decode(void **state)
{
	(void)state;
	struct kumo_plat_sockaddr a;
	uint8_t v4[4] = {10, 1, 2, 3};
	assert_int_equal(wasi_sockaddr_decode(v4, 4, 8080, &a), 0);
	assert_int_equal(a.family, KUMO_PLAT_AF_INET);
	assert_int_equal(a.port, 8080);
	assert_memory_equal(a.addr, v4, 4);

	uint8_t v6[16] = {0xfe, 0x80, [15] = 1};
	assert_int_equal(wasi_sockaddr_decode(v6, 16, 1, &a), 0);
	assert_int_equal(a.family, KUMO_PLAT_AF_INET6);
	assert_memory_equal(a.addr, v6, 16);

	uint8_t st[128] = {WE_AF_INET4, 0, 192, 168, 0, 7};
	assert_int_equal(wasi_sockaddr_decode(st, 128, 443, &a), 0);
	assert_int_equal(a.family, KUMO_PLAT_AF_INET);
	assert_int_equal(a.addr[0], 192);
	assert_int_equal(a.addr[3], 7);
	uint8_t st6[128] = {WE_AF_INET6, 0, 0x20, 0x01};
	assert_int_equal(wasi_sockaddr_decode(st6, 128, 443, &a), 0);
	assert_int_equal(a.family, KUMO_PLAT_AF_INET6);
	assert_int_equal(a.addr[1], 0x01);

	/* Everything else is refused. */
	uint8_t unix_[128] = {WE_AF_UNIX};
	assert_int_equal(wasi_sockaddr_decode(unix_, 128, 1, &a), WASI_EAFNOSUPPORT);
	uint8_t junk[128] = {9};
	assert_int_equal(wasi_sockaddr_decode(junk, 128, 1, &a), WASI_EINVAL);
	assert_int_equal(wasi_sockaddr_decode(v4, 5, 1, &a), WASI_EINVAL);
	assert_int_equal(wasi_sockaddr_decode(v4, 0, 1, &a), WASI_EINVAL);
	assert_int_equal(wasi_sockaddr_decode(v4, 4, 65536, &a), WASI_EINVAL);
}

static void address_forms_encode(void **state)
{
	(void)state;
	struct kumo_plat_sockaddr a = {.family = KUMO_PLAT_AF_INET, .port = 80,
				       .addr = {127, 0, 0, 1}};
	uint8_t buf[128];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(wasi_sockaddr_encode(&a, buf, 128), 0);
	assert_int_equal(buf[0] | buf[1] << 8, WE_AF_INET4);
	assert_int_equal(buf[2], 127);
	assert_int_equal(buf[5], 1);
	assert_int_equal(buf[6], 0);
	assert_int_equal(wasi_sockaddr_encode(&a, buf, 4), 0);
	assert_int_equal(buf[0], 127);
	assert_int_equal(wasi_sockaddr_encode(&a, buf, 16), 0);
	assert_int_equal(buf[4], 0);
	assert_int_equal(wasi_sockaddr_encode(&a, buf, 7), WASI_EINVAL);

	struct kumo_plat_sockaddr b = {.family = KUMO_PLAT_AF_INET6, .addr = {0xfe, 0x80}};
	assert_int_equal(wasi_sockaddr_encode(&b, buf, 4), WASI_EINVAL); /* does not fit */
	assert_int_equal(wasi_sockaddr_encode(&b, buf, 128), 0);
	assert_int_equal(buf[0], WE_AF_INET6);
	assert_int_equal(buf[2], 0xfe);
	struct kumo_plat_sockaddr c = {.family = 99};
	assert_int_equal(wasi_sockaddr_encode(&c, buf, 128), WASI_EAFNOSUPPORT);

	/* getaddrinfo's sa_data: big-endian port, then the address as in sockaddr_in(6). */
	uint32_t len = 0;
	a.port = 0x1f90;
	assert_int_equal(wasi_sa_data_encode(&a, buf, 26, &len), 0);
	assert_int_equal(len, 14);
	assert_int_equal(buf[0], 0x1f);
	assert_int_equal(buf[1], 0x90);
	assert_int_equal(buf[2], 127);
	assert_int_equal(wasi_sa_data_encode(&a, buf, 13, &len), WE_EAI_MEMORY);
	b.port = 1;
	assert_int_equal(wasi_sa_data_encode(&b, buf, 26, &len), 0);
	assert_int_equal(len, 26);
	assert_int_equal(buf[6], 0xfe); /* after the 4-byte flowinfo */
}

static void sockopt_values(void **state)
{
	(void)state;
	int64_t v;
	uint8_t p[16] = {0};
	p[0] = 5;
	assert_int_equal(wasi_sockopt_decode(WE_SO_REUSEADDR, p, 4, &v), 0);
	assert_int_equal(v, 5);
	/* A struct timeval {i64 sec = 5, i64 usec = 250000}. */
	memset(p, 0, sizeof(p));
	p[0] = 5;
	uint32_t usec = 250000;
	memcpy(p + 8, &usec, 4);
	assert_int_equal(wasi_sockopt_decode(WE_SO_RCVTIMEO, p, 16, &v), 0);
	assert_int_equal(v, 5250000);
	memset(p + 8, 0xff, 8); /* negative usec */
	assert_int_equal(wasi_sockopt_decode(WE_SO_RCVTIMEO, p, 16, &v), WASI_EINVAL);
	assert_int_equal(wasi_sockopt_decode(WE_SO_REUSEADDR, p, 3, &v), WASI_EINVAL);
	assert_int_equal(wasi_sockopt_decode(99, p, 4, &v), WASI_EINVAL);
	/* struct linger {on = 1, secs = 7}; off is -1. */
	uint32_t lg[2] = {1, 7};
	assert_int_equal(wasi_sockopt_decode(WE_SO_LINGER, (uint8_t *)lg, 8, &v), 0);
	assert_int_equal(v, 7);
	lg[0] = 0;
	assert_int_equal(wasi_sockopt_decode(WE_SO_LINGER, (uint8_t *)lg, 8, &v), 0);
	assert_int_equal(v, -1);
}

/* ---- argument checks through the guest ABI ---- */

static void bad_arguments_are_errnos(void **state)
{
	struct fx *f = *state;
	uint32_t big = f->size - 2; /* a pointer whose 4 bytes cross the end */
	/* Not a socket, not open. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, 1, ADDR_AT, 80), WASI_ENOTSOCK);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, 77, ADDR_AT, 80), WASI_EBADF);
	assert_int_equal(KUMO_WASI_SYM(11, sock_listen, ii_i)(f->vm, 0xffffffff, 1), WASI_EBADF);
	assert_int_equal(KUMO_WASI_SYM(11, sock_accept, ii_i)(f->vm, 2, FD_AT), WASI_ENOTSOCK);
	assert_int_equal(KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(f->vm, 0, IOV_AT, 1, 0, LEN_AT,
							       FLAGS_AT),
			 WASI_ENOTSOCK);
	/* Bad family, type, out pointer. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, 7, WE_SOCK_STREAM, FD_AT),
			 WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, 9, FD_AT),
			 WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_STREAM,
							    big),
			 WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_UNIX, WE_SOCK_STREAM,
							    FD_AT),
			 WASI_ENOSYS);

	/* A real socket, then bad addresses. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_STREAM,
							    FD_AT),
			 0);
	uint32_t s = u32_at(f, FD_AT);
	put32(f, ADDR_AT, ABUF_AT);
	put32(f, ADDR_AT + 4, 5); /* no such length */
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, s, ADDR_AT, 0), WASI_EINVAL);
	put32(f, ADDR_AT + 4, 0xffffffff); /* the buffer runs off the memory */
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, s, ADDR_AT, 0), WASI_EFAULT);
	put32(f, ADDR_AT, f->size - 1);
	put32(f, ADDR_AT + 4, 4);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, s, ADDR_AT, 0), WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, s, f->size - 4, 0), WASI_EFAULT);
	put32(f, ADDR_AT, ABUF_AT);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, s, ADDR_AT, 70000), WASI_EINVAL);
	/* Options: bad level, name, sizes, pointers. */
	put32(f, DATA_AT, 1);
	assert_int_equal(KUMO_WASI_SYM(15, sock_setsockopt, iiiii_i)(f->vm, s, 1, 0, DATA_AT, 4),
			 WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(15, sock_setsockopt, iiiii_i)(f->vm, s, 0, 55, DATA_AT, 4),
			 WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(15, sock_setsockopt, iiiii_i)(f->vm, s, 0, 0, big, 4),
			 WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(15, sock_setsockopt, iiiii_i)(f->vm, s, 0, 0, DATA_AT, 4),
			 0);
	put32(f, LEN_AT, 2);
	assert_int_equal(KUMO_WASI_SYM(15, sock_getsockopt, iiiii_i)(f->vm, s, 0, 0, DATA_AT,
								    LEN_AT),
			 WASI_EINVAL);
	put32(f, LEN_AT, 4);
	assert_int_equal(KUMO_WASI_SYM(15, sock_getsockopt, iiiii_i)(f->vm, s, 0, WE_SO_TYPE,
								    DATA_AT, LEN_AT),
			 0);
	assert_int_equal(u32_at(f, DATA_AT), WE_SOCK_STREAM);
	/* recv/send: bad iovecs, bad flags, out pointers. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(f->vm, s, IOV_AT, 1, 0x80, LEN_AT,
							       FLAGS_AT),
			 WASI_EINVAL);
	put32(f, IOV_AT, f->size - 10);
	put32(f, IOV_AT + 4, 100);
	assert_int_equal(KUMO_WASI_SYM(9, sock_send, iiiii_i)(f->vm, s, IOV_AT, 1, 0, LEN_AT),
			 WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(9, sock_send, iiiii_i)(f->vm, s, IOV_AT, 5000, 0, LEN_AT),
			 WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(f->vm, s, IOV_AT, 0, 0, big,
							       FLAGS_AT),
			 WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(13, sock_shutdown, ii_i)(f->vm, s, 0), WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(13, sock_shutdown, ii_i)(f->vm, s, 4), WASI_EINVAL);
	/* Unconnected: the platform's own errno comes back. */
	assert_int_equal(KUMO_WASI_SYM(13, sock_shutdown, ii_i)(f->vm, s, 3), WASI_ENOTCONN);
	assert_int_equal(KUMO_WASI_SYM(11, sock_accept, iii_i)(f->vm, s, 0x10, FD_AT), WASI_EINVAL);
	/* getaddrinfo: bad strings, hints, limits. */
	assert_int_equal(KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(
				 f->vm, big, 100, 0, 0, AI_AT, LEN_AT, 1, FLAGS_AT),
			 WASI_EFAULT);
	memset(f->mem + AI_AT, 0, 28);
	assert_int_equal(KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(
				 f->vm, DATA_AT, 0, DATA_AT, 0, AI_AT, LEN_AT, 1, FLAGS_AT),
			 WE_EAI_NONAME);
	memcpy(f->mem + DATA_AT, "localhost", 9);
	assert_int_equal(KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(
				 f->vm, DATA_AT, 9, 0, 0, AI_AT, LEN_AT, 0, FLAGS_AT),
			 WE_EAI_MEMORY);
	f->mem[AI_AT + 2] = 9; /* family */
	assert_int_equal(KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(
				 f->vm, DATA_AT, 9, 0, 0, AI_AT, LEN_AT, 1, FLAGS_AT),
			 WE_EAI_FAMILY);
	f->mem[AI_AT + 2] = 0;
	f->mem[AI_AT] = 0x80; /* flags */
	assert_int_equal(KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(
				 f->vm, DATA_AT, 9, 0, 0, AI_AT, LEN_AT, 1, FLAGS_AT),
			 WE_EAI_BADFLAGS);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, s), 0);
}

/* Writes a one-entry addrinfo chain at AI_AT whose sockaddr's data buffer has cap bytes;
 * *res (at LEN_AT + 16) points at it. */
static void ai_chain(struct fx *f, uint32_t cap)
{
	memset(f->mem + AI_AT, 0, 256);
	f->mem[AI_AT + 2] = WE_AF_INET4;
	f->mem[AI_AT + 3] = WE_SOCK_STREAM;
	put32(f, AI_AT + 12, AI_AT + 64);        /* ai_addr */
	put32(f, AI_AT + 64 + 4, cap);            /* sa_data_len */
	put32(f, AI_AT + 64 + 8, AI_AT + 128);   /* sa_data */
	put32(f, LEN_AT + 16, AI_AT);
}

static void loopback_tcp_and_udp(void **state)
{
	struct fx *f = *state;
	/* Resolve 127.0.0.1 as the WasmEdge crate does. */
	memcpy(f->mem + DATA_AT, "127.0.0.1", 9);
	ai_chain(f, 26);
	assert_int_equal(KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(
				 f->vm, DATA_AT, 9, 0, 0, AI_AT, LEN_AT + 16, 1, LEN_AT),
			 0);
	assert_int_equal(u32_at(f, LEN_AT), 1);
	assert_int_equal(f->mem[AI_AT + 64], WE_AF_INET4);
	assert_int_equal(u32_at(f, AI_AT + 64 + 4), 14);
	assert_memory_equal(f->mem + AI_AT + 128 + 2, "\x7f\0\0\x01", 4);
	ai_chain(f, 8); /* too small a sa_data buffer */
	assert_int_equal(KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(
				 f->vm, DATA_AT, 9, 0, 0, AI_AT, LEN_AT + 16, 1, LEN_AT),
			 WE_EAI_MEMORY);

	/* Listener on 127.0.0.1:0 (the 128-byte form), its port by sock_getlocaladdr. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_STREAM,
							    FD_AT),
			 0);
	uint32_t l = u32_at(f, FD_AT);
	memset(f->mem + ABUF_AT, 0, 128);
	f->mem[ABUF_AT] = WE_AF_INET4;
	memcpy(f->mem + ABUF_AT + 2, "\x7f\0\0\x01", 4);
	put32(f, ADDR_AT, ABUF_AT);
	put32(f, ADDR_AT + 4, 128);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, l, ADDR_AT, 0), 0);
	assert_int_equal(KUMO_WASI_SYM(11, sock_listen, ii_i)(f->vm, l, 16), 0);
	put32(f, ADDR_AT + 4, 4);
	assert_int_equal(KUMO_WASI_SYM(17, sock_getlocaladdr, iiii_i)(f->vm, l, ADDR_AT, TYPE_AT,
								      PORT_AT),
			 0);
	assert_int_equal(u32_at(f, TYPE_AT), 4); /* V1 reports 4 or 6 */
	uint32_t port = u32_at(f, PORT_AT);
	assert_true(port > 0 && port < 65536);
	put32(f, ADDR_AT + 4, 128);
	assert_int_equal(KUMO_WASI_SYM(20, sock_getlocaladdr_v2, iii_i)(f->vm, l, ADDR_AT, PORT_AT),
			 0);
	assert_int_equal(f->mem[ABUF_AT], WE_AF_INET4);
	assert_int_equal(u32_at(f, PORT_AT), port);

	/* Client: connect with the 4-byte form. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_STREAM,
							    FD_AT),
			 0);
	uint32_t c = u32_at(f, FD_AT);
	memcpy(f->mem + ABUF_AT, "\x7f\0\0\x01", 4);
	put32(f, ADDR_AT + 4, 4);
	assert_int_equal(KUMO_WASI_SYM(12, sock_connect, iii_i)(f->vm, c, ADDR_AT, port), 0);
	/* Accept with both forms of sock_accept: WasmEdge's 2-argument one here. */
	assert_int_equal(KUMO_WASI_SYM(11, sock_accept, ii_i)(f->vm, l, FD_AT), 0);
	uint32_t a = u32_at(f, FD_AT);
	/* fd_fdstat_get says it is a stream socket. */
	assert_int_equal(KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(f->vm, a, DATA_AT), 0);
	assert_int_equal(f->mem[DATA_AT], WASI_FILETYPE_SOCKET_STREAM);
	/* send on one end, recv (with PEEK first) on the other. */
	memcpy(f->mem + DATA_AT, "ping", 4);
	put32(f, IOV_AT, DATA_AT);
	put32(f, IOV_AT + 4, 4);
	assert_int_equal(KUMO_WASI_SYM(9, sock_send, iiiii_i)(f->vm, c, IOV_AT, 1, 0, LEN_AT), 0);
	assert_int_equal(u32_at(f, LEN_AT), 4);
	put32(f, IOV_AT, DATA_AT + 100);
	put32(f, IOV_AT + 4, 64);
	assert_int_equal(KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(f->vm, a, IOV_AT, 1,
							       WASI_RIFLAG_RECV_PEEK, LEN_AT,
							       FLAGS_AT),
			 0);
	assert_int_equal(u32_at(f, LEN_AT), 4);
	assert_int_equal(KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(f->vm, a, IOV_AT, 1, 0, LEN_AT,
							       FLAGS_AT),
			 0);
	assert_int_equal(u32_at(f, LEN_AT), 4);
	assert_memory_equal(f->mem + DATA_AT + 100, "ping", 4);
	/* The peer's address. */
	put32(f, ADDR_AT + 4, 4);
	assert_int_equal(KUMO_WASI_SYM(16, sock_getpeeraddr, iiii_i)(f->vm, a, ADDR_AT, TYPE_AT,
								     PORT_AT),
			 0);
	assert_memory_equal(f->mem + ABUF_AT, "\x7f\0\0\x01", 4);
	/* Nonblocking with nothing to read: EAGAIN. */
	assert_int_equal(KUMO_WASI_SYM(19, fd_fdstat_set_flags, ii_i)(f->vm, a,
								      WASI_FDFLAG_NONBLOCK),
			 0);
	assert_int_equal(KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(f->vm, a, IOV_AT, 1, 0, LEN_AT,
							       FLAGS_AT),
			 WASI_EAGAIN);
	/* Shut the client's write side: the server reads end of stream. */
	assert_int_equal(KUMO_WASI_SYM(13, sock_shutdown, ii_i)(f->vm, c, WASI_SDFLAG_WR), 0);
	/* A nonblocking listener with no one waiting: EAGAIN. */
	assert_int_equal(KUMO_WASI_SYM(19, fd_fdstat_set_flags, ii_i)(f->vm, l,
								      WASI_FDFLAG_NONBLOCK),
			 0);
	assert_int_equal(KUMO_WASI_SYM(11, sock_accept, iii_i)(f->vm, l, WASI_FDFLAG_NONBLOCK,
							       FD_AT),
			 WASI_EAGAIN);
	usleep(10000);
	assert_int_equal(KUMO_WASI_SYM(7, fd_read, iiii_i)(f->vm, a, IOV_AT, 1, LEN_AT), 0);
	assert_int_equal(u32_at(f, LEN_AT), 0);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, a), 0);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, c), 0);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, l), 0);

	/* UDP: send_to ourselves, recv_from (V2: with the port) gets it and the sender. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_DGRAM,
							    FD_AT),
			 0);
	uint32_t u = u32_at(f, FD_AT);
	memcpy(f->mem + ABUF_AT, "\x7f\0\0\x01", 4);
	put32(f, ADDR_AT + 4, 4);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, u, ADDR_AT, 0), 0);
	assert_int_equal(KUMO_WASI_SYM(17, sock_getlocaladdr, iiii_i)(f->vm, u, ADDR_AT, TYPE_AT,
								      PORT_AT),
			 0);
	port = u32_at(f, PORT_AT);
	assert_int_equal(KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(f->vm, u, DATA_AT + 200), 0);
	assert_int_equal(f->mem[DATA_AT + 200], WASI_FILETYPE_SOCKET_DGRAM);
	memcpy(f->mem + DATA_AT, "datagram", 8);
	put32(f, IOV_AT, DATA_AT);
	put32(f, IOV_AT + 4, 8);
	assert_int_equal(KUMO_WASI_SYM(12, sock_send_to, iiiiiii_i)(f->vm, u, IOV_AT, 1, ADDR_AT,
								    port, 0, LEN_AT),
			 0);
	assert_int_equal(u32_at(f, LEN_AT), 8);
	memset(f->mem + ABUF_AT, 0, 128);
	put32(f, ADDR_AT + 4, 128);
	put32(f, IOV_AT, DATA_AT + 100);
	put32(f, IOV_AT + 4, 4); /* shorter than the datagram: truncated */
	put32(f, PORT_AT, 0);
	assert_int_equal(KUMO_WASI_SYM(14, sock_recv_from, iiiiiiii_i)(
				 f->vm, u, IOV_AT, 1, ADDR_AT, 0, PORT_AT, LEN_AT, FLAGS_AT),
			 0);
	assert_int_equal(u32_at(f, LEN_AT), 4);
	assert_int_equal(f->mem[FLAGS_AT], WASI_ROFLAG_RECV_DATA_TRUNCATED);
	assert_memory_equal(f->mem + DATA_AT + 100, "data", 4);
	assert_int_equal(f->mem[ABUF_AT], WE_AF_INET4);
	assert_memory_equal(f->mem + ABUF_AT + 2, "\x7f\0\0\x01", 4);
	assert_int_equal(u32_at(f, PORT_AT), port);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, u), 0);
}

/* ---- random arguments: errnos, never a crash ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* A guest pointer: mostly inside, sometimes at or past the end. */
static uint32_t rnd_ptr(struct fx *f)
{
	switch (rnd() % 8) {
	case 0: return f->size - (rnd() % 16);
	case 1: return rnd();
	case 2: return 0;
	default: return rnd() % f->size;
	}
}

static uint32_t rnd_len(void)
{
	switch (rnd() % 6) {
	case 0: return rnd();
	case 1: return 0;
	case 2: return 128;
	case 3: return 4;
	default: return rnd() % 64;
	}
}

/* Calls the socket functions that cannot block or reach another host (no connect,
 * send_to, getaddrinfo, open) with random arguments on two nonblocking sockets and
 * random guest memory. Each must return an errno or 0. */
static void random_arguments(void **state)
{
	struct fx *f = *state;
	uint32_t socks[2];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4,
								    i ? WE_SOCK_DGRAM
								      : WE_SOCK_STREAM,
								    FD_AT),
				 0);
		socks[i] = u32_at(f, FD_AT);
		assert_int_equal(KUMO_WASI_SYM(19, fd_fdstat_set_flags, ii_i)(
					 f->vm, socks[i], WASI_FDFLAG_NONBLOCK),
				 0);
	}
	for (int iter = 0; iter < 20000; iter++) {
		if (iter % 64 == 0)
			for (uint32_t k = 0; k < f->size; k += 4)
				put32(f, k, rnd() % 4 ? rnd() % f->size : rnd());
		uint32_t fd;
		switch (rnd() % 4) {
		case 0: fd = socks[0]; break;
		case 1: fd = socks[1]; break;
		case 2: fd = rnd() % 8; break;
		default: fd = rnd(); break;
		}
		uint32_t a = rnd_ptr(f), b = rnd_len(), c = rnd_ptr(f), d = rnd() % 4 ? rnd() % 70000 : rnd();
		uint32_t e = rnd_ptr(f), g = rnd_ptr(f), h = rnd_ptr(f), r = 0;
		switch (rnd() % 13) {
		case 0: r = KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, fd, a, d); break;
		case 1: r = KUMO_WASI_SYM(11, sock_listen, ii_i)(f->vm, fd, rnd()); break;
		case 2: r = KUMO_WASI_SYM(11, sock_accept, ii_i)(f->vm, fd, a); break;
		case 3: r = KUMO_WASI_SYM(11, sock_accept, iii_i)(f->vm, fd, rnd() % 8, a); break;
		case 4: r = KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(f->vm, fd, a, b, rnd() % 4, c, e); break;
		case 5: r = KUMO_WASI_SYM(14, sock_recv_from, iiiiiii_i)(f->vm, fd, a, b, c, rnd() % 4, e, g); break;
		case 6: r = KUMO_WASI_SYM(14, sock_recv_from, iiiiiiii_i)(f->vm, fd, a, b, c, rnd() % 4, e, g, h); break;
		case 7: r = KUMO_WASI_SYM(9, sock_send, iiiii_i)(f->vm, fd, a, b, 0, c); break;
		case 8: r = KUMO_WASI_SYM(13, sock_shutdown, ii_i)(f->vm, fd, rnd() % 5); break;
		case 9: r = KUMO_WASI_SYM(17, sock_getlocaladdr, iiii_i)(f->vm, fd, a, c, e); break;
		case 10: r = KUMO_WASI_SYM(19, sock_getpeeraddr_v2, iii_i)(f->vm, fd, a, c); break;
		case 11: r = KUMO_WASI_SYM(15, sock_setsockopt, iiiii_i)(f->vm, fd, rnd() % 2, rnd() % 16, a, b); break;
		default: r = KUMO_WASI_SYM(15, sock_getsockopt, iiiii_i)(f->vm, fd, rnd() % 2, rnd() % 16, a, c); break;
		}
		assert_true(r <= WE_EAI_SYSTEM);
	}
	/* Clean accepts never happened: nobody connected. The sockets still close. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, socks[i]), 0);
}

/* ---- the runner's --listen values ---- */

static void listen_values(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} good[] = {
		{"8080", "tcp:0.0.0.0:8080"},
		{":8080", "tcp:0.0.0.0:8080"},
		{"0.0.0.0:80", "tcp:0.0.0.0:80"},
		{"tcp:127.0.0.1:1", "tcp:127.0.0.1:1"},
		{"udp:10.0.0.1:5353", "udp:10.0.0.1:5353"},
		{"udp::53", "udp:0.0.0.0:53"},
		{"[::1]:443", "tcp:[::1]:443"},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *out = NULL;
		kumo_error_t err = NULL;
		assert_int_equal(kumo_hosted_listen_parse(good[i].in, &out, &err), 0);
		assert_string_equal(out, good[i].out);
		free(out);
	}
	static const char *const bad[] = {"", "0", "65536", "host:80", "1.2.3:80", "sctp:1.2.3.4:1",
					  "1.2.3.4:", "1.2.3.4:8x", "[::1:80", "tcp:", "-1",
					  "1.2.3.4:123456"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;
		kumo_error_t err = NULL;
		assert_int_equal(kumo_hosted_listen_parse(bad[i], &out, &err), -1);
		assert_non_null(strstr(kumo_error_msg(err), bad[i]));
		assert_null(out);
		kumo_error_free(&err);
	}
	/* A listening socket from a normalized value, handed over as a platform file. */
	struct kumo_plat_file *s = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_hosted_listen_open("udp:127.0.0.1:0", &s, &err), -1);
	kumo_error_free(&err);
	err = NULL;
}

/* An app binding a port the host opened for it (a pod's containerPort) gets that socket
 * instead of EADDRINUSE: the WasmEdge path (sock_open, bind, listen, accept) then serves
 * connections on it, the host's own fd is closed, and only one bind can have it. */
static void bind_takes_host_socket(void **state)
{
	struct fx *f = *state;
	assert_int_equal(KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(f->vm, 3, DATA_AT), 0);
	assert_int_equal(f->mem[DATA_AT], WASI_FILETYPE_SOCKET_STREAM);
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_STREAM,
							    FD_AT),
			 0);
	uint32_t l = u32_at(f, FD_AT);
	/* Nonblocking before the bind: the flag carries over. */
	assert_int_equal(KUMO_WASI_SYM(19, fd_fdstat_set_flags, ii_i)(f->vm, l, WASI_FDFLAG_NONBLOCK), 0);
	memset(f->mem + ABUF_AT, 0, 16);
	put32(f, ADDR_AT, ABUF_AT);
	put32(f, ADDR_AT + 4, 4); /* 0.0.0.0: the host's 127.0.0.1 socket matches */
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, l, ADDR_AT, host_port), 0);
	assert_int_equal(KUMO_WASI_SYM(11, sock_listen, ii_i)(f->vm, l, 8), 0);
	assert_int_equal(KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(f->vm, 3, DATA_AT), WASI_EBADF);
	assert_int_equal(KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(f->vm, l, DATA_AT), 0);
	assert_int_equal(get_u16(f->mem + DATA_AT + 2) & WASI_FDFLAG_NONBLOCK, WASI_FDFLAG_NONBLOCK);
	/* A second socket binding the same port: the port is taken for real now. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_STREAM,
							    FD_AT),
			 0);
	uint32_t l2 = u32_at(f, FD_AT);
	memcpy(f->mem + ABUF_AT, "\x7f\0\0\x01", 4);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, l2, ADDR_AT, host_port),
			 WASI_EADDRINUSE);
	/* A client reaches the app through the handed-over socket. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_STREAM,
							    FD_AT),
			 0);
	uint32_t c = u32_at(f, FD_AT);
	assert_int_equal(KUMO_WASI_SYM(12, sock_connect, iii_i)(f->vm, c, ADDR_AT, host_port), 0);
	int rc = WASI_EAGAIN;
	for (int i = 0; i < 200 && rc == WASI_EAGAIN; i++) {
		rc = KUMO_WASI_SYM(11, sock_accept, ii_i)(f->vm, l, FD_AT);
		if (rc == WASI_EAGAIN)
			usleep(5000);
	}
	assert_int_equal(rc, 0);
	/* UDP: a bind of the host's datagram port takes fd 4's socket. */
	assert_int_equal(KUMO_WASI_SYM(17, sock_getlocaladdr, iiii_i)(f->vm, 4, ADDR_AT, TYPE_AT,
								      PORT_AT),
			 0);
	uint32_t uport = u32_at(f, PORT_AT);
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_DGRAM,
							    FD_AT),
			 0);
	uint32_t u = u32_at(f, FD_AT);
	memcpy(f->mem + ABUF_AT, "\x7f\0\0\x01", 4);
	put32(f, ADDR_AT + 4, 4);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, u, ADDR_AT, uport), 0);
	assert_int_equal(KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(f->vm, 4, DATA_AT), WASI_EBADF);
	/* Another address than the host socket's is an ordinary bind. */
	assert_int_equal(KUMO_WASI_SYM(9, sock_open, iii_i)(f->vm, WE_AF_INET4, WE_SOCK_STREAM,
							    FD_AT),
			 0);
	memcpy(f->mem + ABUF_AT, "\x7f\0\0\x02", 4);
	assert_int_equal(KUMO_WASI_SYM(9, sock_bind, iii_i)(f->vm, u32_at(f, FD_AT), ADDR_AT, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(address_forms_decode),
		cmocka_unit_test(address_forms_encode),
		cmocka_unit_test(sockopt_values),
		cmocka_unit_test_setup_teardown(bad_arguments_are_errnos, setup, teardown),
		cmocka_unit_test_setup_teardown(loopback_tcp_and_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(random_arguments, setup, teardown),
		cmocka_unit_test(listen_values),
		cmocka_unit_test_setup_teardown(bind_takes_host_socket, setup_listen, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
