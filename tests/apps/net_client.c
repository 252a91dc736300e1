/* tests/apps/net_client.c - resolves a name (WasmEdge sock_getaddrinfo), connects, sends
 * an HTTP/1.1 GET and prints the status line, then the body, on stdout.
 * usage: net_client HOST PORT [PATH]     exit 0 on a 200 answer, 1 otherwise */
#include "net_compat.h"

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: net_client HOST PORT [PATH]\n");
		return 2;
	}
	const char *host = argv[1], *path = argc == 4 ? argv[3] : "/";
	int port = atoi(argv[2]);
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "net_client: bad port `%s`\n", argv[2]);
		return 2;
	}
	uint8_t ip[4];
	if (net_resolve4(host, ip) < 0) {
		fprintf(stderr, "net_client: resolve `%s`: %s\n", host, strerror(errno));
		return 1;
	}
	int fd = net_connect4(ip, port);
	if (fd < 0) {
		fprintf(stderr, "net_client: connect %u.%u.%u.%u:%d: %s\n", ip[0], ip[1], ip[2],
			ip[3], port, strerror(errno));
		return 1;
	}
	char req[1024];
	int rl = snprintf(req, sizeof(req),
			  "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kumo-net_client\r\n"
			  "Connection: close\r\n\r\n",
			  path, host);
	if (rl < 0 || (size_t)rl >= sizeof(req)) {
		fprintf(stderr, "net_client: path too long\n");
		return 2;
	}
	for (int off = 0; off < rl;) {
		ssize_t w = write(fd, req + off, (size_t)(rl - off));
		if (w < 0) {
			perror("net_client: send");
			return 1;
		}
		off += (int)w;
	}
	/* Read the whole answer (Connection: close), then split head and body. */
	size_t cap = 1 << 16, len = 0;
	char *resp = malloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			resp = realloc(resp, cap);
		}
		if (!resp) {
			fprintf(stderr, "net_client: out of memory\n");
			return 1;
		}
		ssize_t r = read(fd, resp + len, cap - len);
		if (r < 0) {
			perror("net_client: recv");
			return 1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	char *eol = memchr(resp, '\n', len);
	char *end = NULL;
	for (size_t i = 0; i + 3 < len; i++)
		if (!memcmp(resp + i, "\r\n\r\n", 4)) {
			end = resp + i + 4;
			break;
		}
	if (!eol || !end) {
		fprintf(stderr, "net_client: not an HTTP answer (%zu bytes)\n", len);
		return 1;
	}
	size_t sl = (size_t)(eol - resp);
	if (sl && resp[sl - 1] == '\r')
		sl--;
	fwrite(resp, 1, sl, stdout);
	fputc('\n', stdout);
	fwrite(end, 1, len - (size_t)(end - resp), stdout);
	fflush(stdout);
	return sl >= 12 && !memcmp(resp + 9, "200", 3) ? 0 : 1;
}
