/* tests/e2e/stream_client.c - kumo-stream-client: drives kumod's streaming server from
 * the end-to-end scripts (see tests/e2e/stream_clientlib.h for what it speaks).
 *
 * usage: kumo-stream-client [--transport spdy|ws|ws-tunnel] [--protocol P] [--timeout MS]
 *                           MODE URL [options]
 *   attach|exec URL [--stdin TEXT] [--keep-stdin] [--tty] [--no-stderr] [--until TEXT]
 *       the remote stdout and stderr go to ours; the last stderr line is the status:
 *       `status: success`, `status: exit N` or `status: failure: MESSAGE`.
 *   portforward URL --port P [-n N] [--request TEXT] [--expect FILE]
 *       (TEXT and --stdin's take \n, \r and \\ escapes)
 *       N connections at once, each sending TEXT; with --expect each HTTP response's
 *       body must equal FILE (`portforward: K/N byte-identical`); without, the first
 *       connection's bytes go to stdout; error messages go to stderr as `error[i]: ...`.
 *   http URL     the upgrade only: prints `http STATUS: MESSAGE` for a refusal.
 * Exit: 0 ok (exec: the remote exit code), 1 a failure status or a mismatch, 2 usage,
 * 3 an HTTP refusal, 4 a protocol error or timeout.
 */
#include <fcntl.h>
#include <string.h>

#include "tests/e2e/stream_clientlib.h"

static int usage(void)
{
	fputs("usage: kumo-stream-client [--transport spdy|ws|ws-tunnel] [--protocol P] "
	      "[--timeout MS] attach|exec|portforward|http URL [options]\n",
	      stderr);
	return 2;
}

static char *unescape(const char *s)
{
	char *o = xmalloc(strlen(s) + 1), *p = o;
	for (; *s; s++) {
		if (*s == '\\' && (s[1] == 'n' || s[1] == 'r' || s[1] == '\\')) {
			*p++ = s[1] == 'n' ? '\n' : s[1] == 'r' ? '\r' : '\\';
			s++;
		} else {
			*p++ = *s;
		}
	}
	*p = 0;
	return o;
}

int main(int argc, char **argv)
{
	int transport = SC_SPDY, timeout = 30000, n = 1, port = 0;
	const char *protocol = NULL, *mode = NULL, *url = NULL, *until = NULL, *expect = NULL;
	autofree char *in = NULL, *request = NULL;
	bool keep_stdin = false, tty = false, no_stderr = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--transport") == 0 && v) {
			transport = strcmp(v, "ws") == 0	   ? SC_WS_CHANNELS
				    : strcmp(v, "ws-tunnel") == 0 ? SC_WS_TUNNEL
								   : SC_SPDY;
			i++;
		} else if (strcmp(a, "--protocol") == 0 && v) {
			protocol = v;
			i++;
		} else if (strcmp(a, "--timeout") == 0 && v) {
			timeout = atoi(v);
			i++;
		} else if (strcmp(a, "--stdin") == 0 && v) {
			in = unescape(v);
			i++;
		} else if (strcmp(a, "--keep-stdin") == 0) {
			keep_stdin = true;
		} else if (strcmp(a, "--tty") == 0) {
			tty = true;
		} else if (strcmp(a, "--no-stderr") == 0) {
			no_stderr = true;
		} else if (strcmp(a, "--until") == 0 && v) {
			until = v;
			i++;
		} else if (strcmp(a, "--port") == 0 && v) {
			port = atoi(v);
			i++;
		} else if (strcmp(a, "-n") == 0 && v) {
			n = atoi(v);
			i++;
		} else if (strcmp(a, "--request") == 0 && v) {
			request = unescape(v);
			i++;
		} else if (strcmp(a, "--expect") == 0 && v) {
			expect = v;
			i++;
		} else if (!mode) {
			mode = a;
		} else if (!url) {
			url = a;
		} else {
			return usage();
		}
	}
	if (!mode || !url || n < 1)
		return usage();
	struct sc_conn *c = NULL;
	int status = 0;
	char *why = NULL;
	if (sc_connect(url, transport, protocol, timeout, &c, &status, &why) < 0) {
		printf("http %d: %s\n", status, why ? why : "");
		fflush(stdout);
		free(why);
		return status ? 3 : 4;
	}
	if (strcmp(mode, "http") == 0) {
		printf("http 101: %s\n", sc_protocol(c));
		sc_close(c);
		return 0;
	}
	int rc = 0;
	if (strcmp(mode, "attach") == 0 || strcmp(mode, "exec") == 0) {
		struct sc_rc_result res;
		if (until)
			sc_stop_when(c, until);
		int r = sc_remote_command(c, in != NULL, in, in ? strlen(in) : 0, keep_stdin, true,
					  !no_stderr, tty, until ? -1 : 1, 2, timeout, &res, &why);
		if (until) {
			fwrite(sbuf_head(&res.out), 1, sbuf_size(&res.out), stdout);
			fflush(stdout);
		}
		if (r < 0) {
			fprintf(stderr, "status: error: %s\n", why);
			rc = 4;
		} else if (until) {
			fprintf(stderr, "status: left after `%s`\n", until);
		} else if (res.success) {
			fprintf(stderr, "status: success\n");
		} else if (res.exit_code > 0) {
			fprintf(stderr, "status: exit %d\n", res.exit_code);
			rc = res.exit_code;
		} else {
			fprintf(stderr, "status: failure: %s\n", res.message ? res.message : "");
			rc = 1;
		}
		sc_rc_result_clear(&res);
	} else if (strcmp(mode, "portforward") == 0) {
		struct sc_pf_result *res = xzalloc(sizeof(*res) * (size_t)n);
		const char *rq = request ? request : "";
		int r = sc_port_forward(c, (uint16_t)port, n, rq, strlen(rq), timeout, res, &why);
		uint8_t *want = NULL;
		size_t want_len = 0;
		kumo_error_t err = NULL;
		if (expect && kumo_read_file(expect, 1u << 30, &want, &want_len, &err) < 0) {
			fprintf(stderr, "%s\n", kumo_error_msg(err));
			kumo_error_free(&err);
			rc = 2;
		}
		int same = 0;
		for (int i = 0; i < n; i++) {
			if (res[i].error)
				fprintf(stderr, "error[%d]: %s\n", i, res[i].error);
			if (!expect) {
				if (i == 0)
					fwrite(sbuf_head(&res[i].data), 1, sbuf_size(&res[i].data),
					       stdout);
				continue;
			}
			const char *d = (const char *)sbuf_head(&res[i].data);
			size_t dl = sbuf_size(&res[i].data);
			const char *body = dl ? memmem(d, dl, "\r\n\r\n", 4) : NULL;
			if (body && want && (size_t)(d + dl - (body + 4)) == want_len &&
			    memcmp(body + 4, want, want_len) == 0)
				same++;
			else if (i < 3)
				fprintf(stderr, "connection %d: %zu bytes, not the file\n", i, dl);
		}
		if (expect) {
			printf("portforward: %d/%d byte-identical\n", same, n);
			if (same != n && rc == 0)
				rc = 1;
		}
		if (r < 0) {
			fprintf(stderr, "portforward: %s\n", why);
			rc = 4;
		}
		free(want);
		for (int i = 0; i < n; i++)
			sc_pf_result_clear(&res[i]);
		free(res);
	} else {
		rc = usage();
	}
	free(why);
	sc_close(c);
	return rc;
}
