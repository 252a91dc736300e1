/* tests/apps/net_echo.c - a TCP or UDP echo server: every byte (TCP) or datagram (UDP)
 * received goes back to its sender.
 * usage: net_echo tcp|udp [PORT]
 *   PORT: bind 0.0.0.0:PORT itself (WasmEdge sock_open/bind[/listen]); without it the
 *   first preopened socket of that kind (kumo run --listen [udp:]ADDR:PORT) is used. */
#include "net_compat.h"

#define MAX_CONNS 256
#define BUF 4096

struct conn {
	int fd;
	char buf[BUF]; /* received, not yet echoed */
	size_t len, off;
};

static struct conn *conns[MAX_CONNS];

static void tcp_echo(int lfd)
{
	struct pollfd pfds[MAX_CONNS + 1];
	int idx[MAX_CONNS + 1];
	if (net_set_nonblock(lfd) < 0) {
		perror("net_echo: nonblocking listener");
		exit(1);
	}
	for (;;) {
		int n = 0;
		pfds[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
		idx[n++] = -1;
		for (int i = 0; i < MAX_CONNS; i++)
			if (conns[i]) {
				struct conn *c = conns[i];
				pfds[n] = (struct pollfd){.fd = c->fd,
							  .events = c->off < c->len ? POLLOUT : POLLIN};
				idx[n++] = i;
			}
		if (poll(pfds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("net_echo: poll");
			exit(1);
		}
		for (int k = 1; k < n; k++) {
			struct conn *c = conns[idx[k]];
			short re = pfds[k].revents;
			int dead = 0;
			if (!re)
				continue;
			if (c->off == c->len && (re & (POLLIN | POLLHUP | POLLERR))) {
				ssize_t r = read(c->fd, c->buf, BUF);
				if (r > 0) {
					c->len = (size_t)r;
					c->off = 0;
				} else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
					dead = 1;
				}
			}
			while (!dead && c->off < c->len) {
				ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
				if (w < 0) {
					dead = errno != EAGAIN && errno != EWOULDBLOCK;
					break;
				}
				c->off += (size_t)w;
			}
			if (!dead && c->off == c->len)
				c->off = c->len = 0;
			if (dead) {
				close(c->fd);
				free(c);
				conns[idx[k]] = NULL;
			}
		}
		if (pfds[0].revents & POLLIN) {
			for (;;) {
				int fd = net_accept_nb(lfd);
				if (fd < 0)
					break;
				int slot = -1;
				for (int i = 0; i < MAX_CONNS && slot < 0; i++)
					if (!conns[i])
						slot = i;
				struct conn *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				conns[slot] = c;
			}
		}
	}
}

static void udp_echo(int fd)
{
	static char buf[65536];
	for (;;) {
		uint8_t ip[4];
		int port;
		long r = net_recvfrom4(fd, buf, sizeof(buf), ip, &port);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("net_echo: recv_from");
			exit(1);
		}
		if (net_sendto4(fd, buf, (size_t)r, ip, port) < 0)
			perror("net_echo: send_to");
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp"))) {
		fprintf(stderr, "usage: net_echo tcp|udp [PORT]\n");
		return 2;
	}
	int udp = !strcmp(argv[1], "udp");
	int port = argc == 3 ? atoi(argv[2]) : 0;
	if (argc == 3 && (port <= 0 || port > 65535)) {
		fprintf(stderr, "net_echo: bad port `%s`\n", argv[2]);
		return 2;
	}
	int fd = port ? net_bind_any(udp, port) : net_preopened_socket(udp);
	if (fd < 0) {
		fprintf(stderr, "net_echo: no %s socket: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (udp)
		udp_echo(fd);
	else
		tcp_echo(fd);
	return 0;
}
