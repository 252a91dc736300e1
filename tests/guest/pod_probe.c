/* tests/guest/pod_probe.c - one WASI app, many behaviours, for the pod tests
 * (tests/guest/run-pod-tests.sh): argv[1] picks what a container does.
 *   hello                 print a line, exit 0
 *   write PATH TEXT       write TEXT to PATH (a shared directory), exit 0
 *   watch PATH MS         poll PATH every 20 ms until it exists (print it, exit 0) or MS
 *                         pass (exit 3)
 *   spin                  print one line, then compute for ever (never waits)
 *   sleep MS              sleep MS (poll_oneoff), exit 0
 *   trap                  print one line, then trap (unreachable)
 *   grow PAGES            memory.grow by PAGES: "grow N: ok" or "grow N: refused"
 *   fpspin N              N rounds of double arithmetic (in XMM registers), then the
 *                         result: two of these preempted by each other must print what
 *                         one alone prints (the timer saves and restores SSE state)
 *   copy                  stdin to stdout until end-of-file, then "copy: N bytes, eof" on
 *                         stderr, exit 0
 *   count                 read stdin to its end, then "count: N bytes" on stdout
 *   pollin MS             poll_oneoff on fd 0 for reading with a timeout of MS: "pollin:
 *                         ready" ("ready, eof" with the hangup flag) or "pollin: timeout"
 *   append PATH N MS      open PATH once (created, truncated), then write "line K" to it
 *                         N times, MS apart, printing "appended K" after each (a write
 *                         that fails: "append K: <error>", exit 1); it holds the file
 *                         open across a snapshot's quiesce and resume
 *   exit N                exit N
 * Output goes out with write(2) at once (stdout is not a terminal: stdio would buffer). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void say_on(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void say(const char *s)
{
	say_on(1, s);
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	char line[512];
	if (argc < 2) {
		say("usage: pod_probe hello|write|watch|spin|sleep|trap|exit ...\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "hello")) {
		snprintf(line, sizeof(line), "hello from %s\n", argv[0]);
		say(line);
		return 0;
	}
	if (!strcmp(cmd, "write") && argc == 4) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, argv[3], strlen(argv[3])) < 0 || close(fd) < 0) {
			snprintf(line, sizeof(line), "write %s: %s\n", argv[2], strerror(errno));
			say(line);
			return 1;
		}
		snprintf(line, sizeof(line), "wrote %s\n", argv[2]);
		say(line);
		return 0;
	}
	if (!strcmp(cmd, "watch") && argc == 4) {
		long ms = atol(argv[3]);
		say("watching\n");
		for (long waited = 0; waited <= ms; waited += 20) {
			int fd = open(argv[2], O_RDONLY);
			if (fd >= 0) {
				char buf[256];
				ssize_t n = read(fd, buf, sizeof(buf) - 1);
				close(fd);
				buf[n > 0 ? n : 0] = 0;
				snprintf(line, sizeof(line), "saw: %s\n", buf);
				say(line);
				return 0;
			}
			nap_ms(20);
		}
		say("watch: timed out\n");
		return 3;
	}
	if (!strcmp(cmd, "spin")) {
		say("spinning\n");
		volatile unsigned long x = 1;
		for (;;)
			x = x * 6364136223846793005ul + 1442695040888963407ul;
	}
	if (!strcmp(cmd, "sleep") && argc == 3) {
		say("sleeping\n");
		nap_ms(atol(argv[2]));
		say("slept\n");
		return 0;
	}
	if (!strcmp(cmd, "trap")) {
		say("about to trap\n");
		__builtin_trap();
	}
	if (!strcmp(cmd, "grow") && argc == 3) {
		long pages = atol(argv[2]);
		size_t r = __builtin_wasm_memory_grow(0, (size_t)pages);
		snprintf(line, sizeof(line), "grow %ld: %s\n", pages, r == (size_t)-1 ? "refused" : "ok");
		say(line);
		return 0;
	}
	if (!strcmp(cmd, "fpspin") && argc == 3) {
		long n = atol(argv[2]);
		volatile double seed = 0.5; /* not folded by the compiler */
		double a = 1.0, b = seed;
		for (long i = 0; i < n; i++) {
			a = a * 1.0000001 + b;
			b = b * 0.9999999 + a * 1e-9;
			if (a > 1e6)
				a -= 1e6;
		}
		snprintf(line, sizeof(line), "fpspin %ld: %.17g %.17g\n", n, a, b);
		say(line);
		return 0;
	}
	if (!strcmp(cmd, "copy") || !strcmp(cmd, "count")) {
		static char buf[65536];
		long long total = 0;
		ssize_t n;
		while ((n = read(0, buf, sizeof(buf))) > 0) {
			total += n;
			for (ssize_t off = 0; !strcmp(cmd, "copy") && off < n;) {
				ssize_t w = write(1, buf + off, (size_t)(n - off));
				if (w <= 0)
					return 1;
				off += w;
			}
		}
		snprintf(line, sizeof(line), "%s: %lld bytes%s\n", cmd, total, n < 0 ? ", read error" : !strcmp(cmd, "copy") ? ", eof" : "");
		say_on(!strcmp(cmd, "copy") ? 2 : 1, line);
		return n < 0;
	}
	if (!strcmp(cmd, "pollin") && argc == 3) {
		struct pollfd pfd = {.fd = 0, .events = POLLIN};
		int r = poll(&pfd, 1, atoi(argv[2]));
		if (r > 0 && (pfd.revents & POLLHUP))
			snprintf(line, sizeof(line), "pollin: ready, eof\n");
		else if (r > 0)
			snprintf(line, sizeof(line), "pollin: ready\n");
		else
			snprintf(line, sizeof(line), "pollin: %s\n", r == 0 ? "timeout" : strerror(errno));
		say(line);
		return 0;
	}
	if (!strcmp(cmd, "append") && argc == 5) {
		long n = atol(argv[3]), ms = atol(argv[4]);
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			snprintf(line, sizeof(line), "append %s: %s\n", argv[2], strerror(errno));
			say(line);
			return 1;
		}
		for (long k = 1; k <= n; k++) {
			char text[64];
			int len = snprintf(text, sizeof(text), "line %ld\n", k);
			if (write(fd, text, (size_t)len) != len) {
				snprintf(line, sizeof(line), "append %ld: %s\n", k, strerror(errno));
				say(line);
				return 1;
			}
			snprintf(line, sizeof(line), "appended %ld\n", k);
			say(line);
			nap_ms(ms);
		}
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "exit") && argc == 3)
		return atoi(argv[2]);
	say("pod_probe: unknown command\n");
	return 2;
}
