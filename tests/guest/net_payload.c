/* tests/guest/net_payload.c - a C payload (in place of a Wasm app) that drives the kernel's socket layer directly, for tests/guest/run-net-tests.sh: TCP and UDP echo on the boot config's listening sockets, a TCP client, name resolution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/kernel.h"
#include "kernel/os/kos.h"
#include "kernel/os/ramfs.h"
#include "kernel/rt/rt_platform.h"

static void out(const char *s) { kcons_write(KCONS_STDOUT, s, strlen(s)); }

static int send_all(struct kumo_plat_file *f, const void *buf, size_t len)
{
	struct kumo_plat_iov iov = { (void *)buf, len };
	size_t done;
	int rc = kumo_plat_sock_send(f, &iov, 1, NULL, &done);
	return rc < 0 ? rc : done == len ? 0 : -WASI_EIO;
}

/* Echo: serves every TCP connection (one at a time, until the peer closes) and every
 * UDP datagram on the listening sockets; "QUIT" on TCP ends the app. */
static int cmd_echo(void)
{
	struct kumo_plat_file **ls;
	size_t n;
	char err[200];
	if (net_open_listeners(&ls, &n, err, sizeof(err)) < 0) {
		kprintf(KCONS_STDOUT, "listen: %s\n", err);
		return 1;
	}
	klog("net-payload: %zu listeners at %llu us after kernel entry", n,
	     (unsigned long long)(clock_tsc_to_ns(rdtsc() - kumo_boot_tsc) / 1000));
	out("listening\n");
	static uint8_t buf[65536];
	int conns = 0, stats = 0;
	for (;;) {
		struct kumo_plat_pollfd pf[8];
		size_t np = n < 8 ? n : 8;
		for (size_t i = 0; i < np; i++)
			pf[i] = (struct kumo_plat_pollfd){ .f = ls[i] };
		int rc = kumo_plat_poll(pf, np, -1);
		if (rc < 0)
			return 2;
		for (size_t i = 0; i < np; i++) {
			if (!pf[i].ready)
				continue;
			struct kumo_plat_stat st;
			kumo_plat_fstat(ls[i], &st);
			struct kumo_plat_iov iov = { buf, sizeof(buf) };
			size_t got;
			if (st.filetype == WASI_FILETYPE_SOCKET_DGRAM) {
				struct kumo_plat_sockaddr from;
				bool trunc;
				if (kumo_plat_sock_recv(ls[i], &iov, 1, 0, &got, &trunc, &from) < 0)
					continue;
				struct kumo_plat_iov o = { buf, got };
				size_t sent;
				kumo_plat_sock_send(ls[i], &o, 1, &from, &sent);
				continue;
			}
			struct kumo_plat_file *c;
			if (kumo_plat_sock_accept(ls[i], 0, &c) < 0)
				continue;
			conns++;
			int quit = 0;
			for (;;) {
				if (kumo_plat_readv(c, &iov, 1, &got) < 0 || got == 0)
					break;
				if (got >= 4 && memcmp(buf, "QUIT", 4) == 0) {
					quit = 1;
					break;
				}
				if (got >= 4 && memcmp(buf, "STAT", 4) == 0) {
					char line[300];
					int len = net_usage(line, sizeof(line) - 1);
					line[len++] = '\n';
					send_all(c, line, (size_t)len);
					stats = stats + 1;
					continue;
				}
				if (send_all(c, buf, got) < 0)
					break;
			}
			kumo_plat_close(c);
			if (quit) {
				kprintf(KCONS_STDOUT, "served %d connections\n", conns - 1 - stats);
				for (size_t k = 0; k < n; k++)
					kumo_plat_close(ls[k]);
				return 0;
			}
		}
	}
}

/* A minimal HTTP/1.1 keep-alive server answering every request with a body of
 * `size` bytes, for throughput measurements (not a test: no parsing beyond the end
 * of the request head). */
#define HTTP_CONNS 128
static int cmd_http(size_t size)
{
	struct kumo_plat_file **ls;
	size_t n;
	char err[200];
	if (net_open_listeners(&ls, &n, err, sizeof(err)) < 0 || n == 0) {
		kprintf(KCONS_STDOUT, "listen: %s\n", n == 0 ? "no net.listen" : err);
		return 1;
	}
	klog("net-payload: http listening at %llu us after kernel entry",
	     (unsigned long long)(clock_tsc_to_ns(rdtsc() - kumo_boot_tsc) / 1000));
	out("listening\n");
	char *resp = malloc(size + 128);
	if (!resp)
		return 1;
	int hl = snprintf(resp, 128, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nContent-Type: "
			  "application/octet-stream\r\n\r\n", size);
	for (size_t i = 0; i < size; i++)
		resp[hl + i] = (char)('a' + i % 26);
	kumo_plat_set_flags(ls[0], WASI_FDFLAG_NONBLOCK);
	static struct kumo_plat_file *conns[HTTP_CONNS];
	static char head[HTTP_CONNS][4];
	static struct kumo_plat_pollfd pf[HTTP_CONNS + 1];
	size_t nc = 0;
	static char buf[16384];
	for (;;) {
		pf[0] = (struct kumo_plat_pollfd){ .f = ls[0] };
		for (size_t i = 0; i < nc; i++)
			pf[i + 1] = (struct kumo_plat_pollfd){ .f = conns[i] };
		kumo_plat_poll(pf, nc + 1, -1);
		if (pf[0].ready && nc < HTTP_CONNS) {
			struct kumo_plat_file *c;
			while (nc < HTTP_CONNS && kumo_plat_sock_accept(ls[0], WASI_FDFLAG_NONBLOCK, &c) == 0) {
				memset(head[nc], 0, 4);
				conns[nc++] = c;
			}
		}
		for (size_t i = nc; i-- > 0;) {
			if (!pf[i + 1].ready || i + 1 > nc)
				continue;
			struct kumo_plat_iov iov = { buf, sizeof(buf) };
			size_t got;
			int rc = kumo_plat_readv(conns[i], &iov, 1, &got);
			if (rc == -WASI_EAGAIN)
				continue;
			int closed = rc < 0 || got == 0;
			/* Count request heads ending in this chunk (pipelining allowed). */
			for (size_t k = 0; !closed && k < got; k++) {
				memmove(head[i], head[i] + 1, 3);
				head[i][3] = buf[k];
				if (memcmp(head[i], "\r\n\r\n", 4) == 0) {
					uint32_t fl = 0;
					kumo_plat_set_flags(conns[i], fl); /* blocking while we answer */
					closed = send_all(conns[i], resp, (size_t)hl + size) < 0;
					kumo_plat_set_flags(conns[i], WASI_FDFLAG_NONBLOCK);
				}
			}
			if (closed) {
				kumo_plat_close(conns[i]);
				conns[i] = conns[--nc];
				memcpy(head[i], head[nc], 4);
			}
		}
	}
}

/* Resolves each name and prints the first address. */
static int cmd_resolve(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct kumo_plat_sockaddr a[4];
		size_t n;
		int rc = kumo_plat_resolve(argv[i], "80", 0, 0, a, 4, &n);
		if (rc < 0)
			kprintf(KCONS_STDOUT, "%s: wasi errno %d\n", argv[i], -rc);
		else
			kprintf(KCONS_STDOUT, "%s: %u.%u.%u.%u port %u\n", argv[i], a[0].addr[0], a[0].addr[1],
				a[0].addr[2], a[0].addr[3], a[0].port);
	}
	return 0;
}

/* Connects to HOST PORT, sends MESSAGE and a newline, prints what comes back until EOF. */
static int cmd_client(const char *host, const char *port, const char *msg)
{
	struct kumo_plat_sockaddr a;
	size_t n;
	int rc = kumo_plat_resolve(host, port, 0, 0, &a, 1, &n);
	if (rc < 0 || n == 0) {
		kprintf(KCONS_STDOUT, "resolve %s: wasi errno %d\n", host, -rc);
		return 1;
	}
	struct kumo_plat_file *f;
	if ((rc = kumo_plat_sock_open(KUMO_PLAT_AF_INET, KUMO_PLAT_SOCK_STREAM, &f)) < 0 ||
	    (rc = kumo_plat_sock_connect(f, &a)) < 0) {
		kprintf(KCONS_STDOUT, "connect: wasi errno %d\n", -rc);
		return 1;
	}
	send_all(f, msg, strlen(msg));
	send_all(f, "\n", 1);
	kumo_plat_sock_shutdown(f, WASI_SDFLAG_WR);
	char buf[512];
	struct kumo_plat_iov iov = { buf, sizeof(buf) };
	size_t got;
	while (kumo_plat_readv(f, &iov, 1, &got) == 0 && got > 0)
		kcons_write(KCONS_STDOUT, buf, got);
	kumo_plat_close(f);
	return 0;
}

int kumo_app_main(void)
{
	struct kumo_bootcfg *c = &kumo_bootcfg;
	const char *cmd = c->argc > 1 ? c->argv[1] : "";
	if (strcmp(cmd, "echo") == 0)
		return cmd_echo();
	if (strcmp(cmd, "http") == 0)
		return cmd_http(c->argc > 2 ? (size_t)strtoll(c->argv[2], NULL, 10) : 65536);
	if (strcmp(cmd, "resolve") == 0)
		return cmd_resolve(c->argc - 2, c->argv + 2);
	if (strcmp(cmd, "client") == 0 && c->argc == 5)
		return cmd_client(c->argv[2], c->argv[3], c->argv[4]);
	if (strcmp(cmd, "nosock") == 0) {
		struct kumo_plat_file *f;
		kprintf(KCONS_STDOUT, "sock_open: wasi errno %d\n",
			-kumo_plat_sock_open(KUMO_PLAT_AF_INET, KUMO_PLAT_SOCK_STREAM, &f));
		return 0;
	}
	out("usage: echo | http [SIZE] | resolve NAME... | client HOST PORT MESSAGE | nosock\n");
	return 2;
}
