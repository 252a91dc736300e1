// tests/linux/webserver.c - the web server of the test images, a stand-in for the nginx
// images critest asks for: serves the files under a root over HTTP/1.0 GET, one
// connection at a time, writes its pid file, and can retitle itself the way nginx does
// (critest looks for "master process" in the command line of PID 1).
// usage: webserver [-p PORT] [-r ROOT] [-P PIDFILE] [-t TITLE]
// Built static with gcc (tests/linux/linux.mk) so the image needs nothing else.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

// Overwrite the argv area (what /proc/PID/cmdline shows) with TITLE, as nginx does.
static void set_title(int argc, char **argv, const char *title)
{
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]);
	size_t room = (size_t)(end - start);
	char *copy = strdup(title);
	if (!copy)
		return;
	memset(start, 0, room + 1);
	memcpy(start, copy, strlen(copy) < room ? strlen(copy) : room);
	free(copy);
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nServer: kumo-test-webserver\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, type, len);
	if (write(fd, head, (size_t)n) != n)
		return;
	while (len > 0) {
		ssize_t w = write(fd, body, len);
		if (w <= 0)
			return;
		body += w;
		len -= (size_t)w;
	}
}

static void serve(int fd, const char *root)
{
	char req[4096];
	size_t got = 0;
	while (got < sizeof(req) - 1) {
		ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = 0;
	char method[8], path[1024];
	if (sscanf(req, "%7s %1023s", method, path) != 2) {
		reply(fd, "400 Bad Request", "text/plain", "bad request\n", 12);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		reply(fd, "405 Method Not Allowed", "text/plain", "method not allowed\n", 19);
		return;
	}
	char *q = strchr(path, '?');
	if (q)
		*q = 0;
	if (path[0] != '/' || strstr(path, "..")) {
		reply(fd, "404 Not Found", "text/plain", "not found\n", 10);
		return;
	}
	char file[2048];
	snprintf(file, sizeof(file), "%s%s%s", root, path,
		 path[strlen(path) - 1] == '/' ? "index.html" : "");
	int f = open(file, O_RDONLY);
	struct stat st;
	if (f < 0 || fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 24)) {
		if (f >= 0)
			close(f);
		reply(fd, "404 Not Found", "text/plain", "not found\n", 10);
		return;
	}
	char *body = malloc((size_t)st.st_size + 1);
	ssize_t n = body ? read(f, body, (size_t)st.st_size) : -1;
	close(f);
	if (n != st.st_size) {
		free(body);
		reply(fd, "500 Internal Server Error", "text/plain", "read failed\n", 12);
		return;
	}
	const char *dot = strrchr(file, '.');
	const char *type = dot && strcmp(dot, ".html") == 0 ? "text/html" : "application/octet-stream";
	reply(fd, "200 OK", type, body, strcmp(method, "HEAD") == 0 ? 0 : (size_t)n);
	free(body);
}

int main(int argc, char **argv)
{
	// Messages carry the name it runs as (nginx, httpd): critest finds it in the log.
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	char name[64];
	snprintf(name, sizeof(name), "%s", prog);
	int port = 80, opt;
	const char *root = "/usr/share/nginx/html", *pidfile = NULL, *title = NULL;
	while ((opt = getopt(argc, argv, "p:r:P:t:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'r': root = optarg; break;
		case 'P': pidfile = optarg; break;
		case 't': title = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-p PORT] [-r ROOT] [-P PIDFILE] [-t TITLE]\n", name);
			return 2;
		}
	}
	// As PID 1 of a container, default dispositions would ignore SIGTERM.
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	signal(SIGPIPE, SIG_IGN);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 64) != 0) {
		fprintf(stderr, "%s: listen on port %d: %s\n", name, port, strerror(errno));
		return 1;
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stderr, "%s: write pid file `%s`: %s\n", name, pidfile, strerror(errno));
			return 1;
		}
	}
	if (title)
		set_title(argc, argv, title);
	fprintf(stderr, "%s: serving `%s` on port %d\n", name, root, port);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		struct timeval tv = {.tv_sec = 5};
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve(c, root);
		close(c);
	}
}
