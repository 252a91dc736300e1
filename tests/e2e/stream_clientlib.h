/* tests/e2e/stream_clientlib.h - a small client of kumod's streaming server for tests:
 * the HTTP upgrade (SPDY/3.1 or WebSocket), then exec/attach's channel protocols and
 * port-forward's stream pairs, written from the protocol descriptions (it shares only
 * the frame codecs, cri/spdy.h and cri/websocket.h, with the server; crictl checks the
 * server against client-go's own implementation).
 *
 * Single-threaded: every call runs its own poll loop until done or its timeout.
 * Functions return 0, or -1 with a message in *why (malloc'd).
 */
#ifndef KUMO_TESTS_STREAM_CLIENTLIB_H
#define KUMO_TESTS_STREAM_CLIENTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cri/stream_buf.h"

enum sc_transport {
	SC_SPDY = 1,      /* Upgrade: SPDY/3.1 */
	SC_WS_TUNNEL,     /* WebSocket, SPDY inside binary messages (port-forward) */
	SC_WS_CHANNELS,   /* WebSocket channel protocols */
};

struct sc_conn;

/* Connects to url and upgrades with `protocol` (NULL: the newest the transport knows
 * for the URL's kind). On an HTTP answer other than 101, *http_status is set and *why
 * holds the body's message. */
int sc_connect(const char *url, int transport, const char *protocol, int timeout_ms,
	       struct sc_conn **out, int *http_status, char **why);
/* The protocol the server chose. */
const char *sc_protocol(struct sc_conn *c);
void sc_close(struct sc_conn *c); /* accepts NULL */

/* Exec or attach: sends `in` (when stdin) and closes stdin unless keep_stdin; output
 * goes to out_fd/err_fd when >= 0, else into the result. Ends when the server sent the
 * status and closed, or at the timeout (-1, "timeout"). */
struct sc_rc_result {
	bool success;     /* status Success */
	int exit_code;    /* from a NonZeroExitCode status, else 0 (-1 unknown) */
	char *message;    /* a failure's message, or NULL */
	struct sbuf out;  /* stdout (when collected) */
	struct sbuf err;  /* stderr (when collected) */
};
int sc_remote_command(struct sc_conn *c, bool stdin_, const void *in, size_t in_len,
		      bool keep_stdin, bool out, bool err, bool tty, int out_fd, int err_fd,
		      int timeout_ms, struct sc_rc_result *res, char **why);
/* Stops a call of sc_remote_command early once stdout holds `text` (for following
 * output that does not end); NULL: never. */
void sc_stop_when(struct sc_conn *c, const char *text);
void sc_rc_result_clear(struct sc_rc_result *r);

/* Port-forward: n connections to `port` at once over the connection (SPDY, tunnel), or
 * the URL's ports (channels: n is the number of ports, port ignored, request i goes to
 * port i). Each sends `request`, then reads until the pod closes. */
struct sc_pf_result {
	struct sbuf data;  /* what the pod sent */
	char *error;       /* the error stream's message, or NULL */
	bool closed;       /* the data stream ended */
};
int sc_port_forward(struct sc_conn *c, uint16_t port, int n, const void *request, size_t len,
		    int timeout_ms, struct sc_pf_result *res, char **why);
void sc_pf_result_clear(struct sc_pf_result *r);

#endif /* KUMO_TESTS_STREAM_CLIENTLIB_H */
