/* cri/stream_impl.h - inside the streaming server (private to cri/stream_*.c): the
 * token store, one upgraded connection (a session: its event loop and transport) and
 * the protocol handlers that run over it.
 *
 * A session owns one thread and one epoll set. The transport (SPDY on the socket, SPDY
 * tunnelled in WebSocket messages, or WebSocket channels) turns bytes into logical
 * streams (struct lstream: a SPDY stream or a WebSocket channel) and calls the
 * session's handler (struct sess_app: remote command or port-forward) with what
 * arrives on them; the handler writes back with sess_send/sess_fin/sess_reset. Every
 * call here happens on the session's thread, so nothing in a session is locked.
 *
 * Back-pressure: output is queued in the session's buffer and written when the socket
 * takes it; while more than SESS_OUT_HIGH bytes wait, watches marked `source` stop
 * reading (pod sockets, the log, exec pipes). Input for a slow destination is held by
 * the handler; while any handler holds (sess_hold_input), the client socket is not read.
 */
#ifndef KUMO_CRI_STREAM_IMPL_H
#define KUMO_CRI_STREAM_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cri/spdy.h"
#include "cri/stream.h"
#include "cri/stream_buf.h"

#define SESS_OUT_HIGH (1024 * 1024) /* stop reading sources above this much queued output */
#define SESS_CHUNK (32 * 1024)      /* largest read from a source / DATA frame we send */
#define SESS_LINGER_MS 5000         /* how long an ended session waits for the client */
#define SESS_TICK_MS 100            /* the session timer's period */

/* ---- tokens (cri/stream_token.c) ---------------------------------------------------- */

struct stream_tokens;
enum token_result { TOKEN_OK, TOKEN_UNKNOWN, TOKEN_USED, TOKEN_EXPIRED };
struct stream_tokens *stream_tokens_new(int ttl_ms);
void stream_tokens_free(struct stream_tokens *t);
/* Stores req under a new token (*token: 43 url-safe base64 characters, malloc'd).
 * Fails when CRI_STREAM_MAX_PENDING tokens wait. */
int stream_tokens_insert(struct stream_tokens *t, struct cri_stream_request *req, char **token,
			 kumo_error_t *err);
/* Takes the request stored under token (once). *req is set only for TOKEN_OK. */
int stream_tokens_consume(struct stream_tokens *t, const char *token,
			  struct cri_stream_request **req);
/* Test hook: the clock tokens are judged by (nanoseconds, monotonic); NULL: the real one. */
void stream_tokens_set_clock(struct stream_tokens *t, uint64_t (*now)(void));

/* ---- sessions (cri/stream_session.c) ------------------------------------------------ */

enum sess_transport {
	TR_SPDY = 1,    /* SPDY/3.1 frames on the socket */
	TR_WS_SPDY,     /* SPDY/3.1 frames inside binary WebSocket messages */
	TR_WS_CHANNELS, /* WebSocket messages: [channel byte][data] (k8s channel protocols) */
};

/* The kinds of logical stream the k8s protocols define (the `streamtype` header). */
enum lstream_type {
	LS_ERROR = 1,
	LS_STDIN,
	LS_STDOUT,
	LS_STDERR,
	LS_RESIZE,
	LS_DATA,
};

struct sess;

/* A SPDY stream the client opened, or a WebSocket channel. */
struct lstream {
	uint32_t id;        /* SPDY stream id or channel number */
	int type;           /* enum lstream_type, 0 when unknown */
	bool fin_sent;      /* we half-closed (DATA with FIN) */
	bool fin_recv;      /* the client half-closed */
	bool reset;         /* reset by either side: nothing more flows */
	char *port;         /* `port` header (port-forward), or NULL */
	char *request_id;   /* `requestid` header (port-forward), or NULL */
	void *app;          /* the handler's per-stream data */
	struct lstream *next;
};

/* An fd in the session's epoll set. */
struct watch {
	int fd;
	uint32_t events; /* EPOLLIN / EPOLLOUT wanted (0: registered but idle) */
	bool source;     /* reads output for the client: paused while output is backed up */
	bool added;      /* registered with epoll */
	void (*on_event)(struct sess *s, struct watch *w, uint32_t events);
	void *arg;
	struct watch *next;
};

/* The protocol handler run over a session; every callback may be NULL. */
struct sess_app {
	/* Called once when the session starts (WebSocket channel transports create their
	 * channels here). <0 ends the session. */
	int (*start)(struct sess *s);
	/* A SPDY stream was opened: 0 accepts it (the session replies), <0 refuses it
	 * (the session resets it; err says why, for the log). */
	int (*on_stream)(struct sess *s, struct lstream *ls, kumo_error_t *err);
	/* The accepted stream's reply is queued: the handler may write to it now. */
	void (*on_ready)(struct sess *s, struct lstream *ls);
	void (*on_data)(struct sess *s, struct lstream *ls, const uint8_t *data, size_t len);
	void (*on_fin)(struct sess *s, struct lstream *ls);   /* the client half-closed */
	void (*on_reset)(struct sess *s, struct lstream *ls); /* the client reset it */
	/* The stream is about to be freed (both sides closed, or reset): drop pointers. */
	void (*on_gone)(struct sess *s, struct lstream *ls);
	void (*on_tick)(struct sess *s, uint64_t now_ns); /* every SESS_TICK_MS */
	/* The session ends: release everything (fds, threads). */
	void (*on_close)(struct sess *s);
};

struct cri_stream_server; /* cri/stream_server.c */

struct sess {
	struct cri_stream_server *srv;
	const struct cri_stream_ops *ops; /* kumod's callbacks and their ctx */
	void *ops_ctx;
	struct cri_stream_request *req;   /* what the token stood for (owned) */
	char *query;             /* the request's query string ("" for none), owned */
	int transport;           /* enum sess_transport */
	const char *protocol;    /* the negotiated sub-protocol (static string) */
	bool ws_base64;          /* base64.channel.k8s.io variants: text messages */
	bool ws_close_signal;    /* v5.channel.k8s.io: [255, channel] closes a channel */
	int idle_timeout_ms, creation_timeout_ms;

	int fd;                  /* the upgraded connection */
	void *urh;               /* MHD's handle for it (MHD_upgrade_action CLOSE at the end) */
	int epfd;
	int stopfd;              /* eventfd: the server wants the session to end */
	int timerfd;
	struct watch w_sock, w_stop, w_timer;
	struct watch *watches;   /* every other watch (sources and sinks) */

	struct spdy_codec *spdy; /* TR_SPDY and TR_WS_SPDY */
	uint32_t last_stream_id; /* highest stream id the client opened */
	struct sbuf in;          /* bytes read from the socket, not yet parsed */
	struct sbuf out;         /* bytes waiting for the socket */
	struct sbuf tunnel;      /* TR_WS_SPDY: SPDY bytes from messages, not yet parsed */
	struct sbuf msg;         /* a WebSocket message being reassembled */
	int msg_opcode;          /* its opcode, 0 when none */
	struct lstream *streams;
	int holds;               /* handlers holding input (client socket not read) */
	bool sources_paused;

	const struct sess_app *app;
	void *app_data;

	uint64_t created_ns, active_ns; /* monotonic: start, last traffic */
	bool ending;             /* end requested: flush, then close */
	uint64_t end_deadline_ns; /* when ending: give up on the client after this */
	bool wr_shut;            /* shutdown(SHUT_WR) done */
	bool peer_closed;        /* the client closed its side (EOF, close frame) */
	bool done;               /* the loop exits */
	pthread_t thread;
	struct sess *next;       /* in the server's list */
};

/* Runs the session on a thread of its own (s->fd, s->urh, the request and the handler
 * are set); the session joins the server's list here. The session owns itself from here
 * on, also when this fails: at its end it unlinks itself
 * (cri_stream_server_session_done, which hands the connection back to MHD) and frees. */
int sess_start(struct sess *s, const char *extra, size_t extra_len, kumo_error_t *err);
/* Wakes a session's loop so that it ends at once (the server is stopping); any thread. */
void sess_stop(struct sess *s);

/* Writes to a logical stream. SPDY: DATA frames; WebSocket channels: one message per
 * SESS_CHUNK. Writes to a reset or finished stream are dropped. */
void sess_send(struct sess *s, struct lstream *ls, const void *data, size_t len);
/* Half-closes (SPDY: an empty DATA frame with FIN; channels: nothing to send). */
void sess_fin(struct sess *s, struct lstream *ls);
/* Resets (SPDY: RST_STREAM; channels: nothing to send). */
void sess_reset(struct sess *s, struct lstream *ls, uint32_t status);
/* Ends the session gracefully: what is queued is sent, then GOAWAY (SPDY) or a close
 * frame (WebSocket) with `close_code`, then the connection closes once the client
 * closes or SESS_LINGER_MS pass. */
void sess_end(struct sess *s, uint16_t close_code);
/* A WebSocket channel (TR_WS_CHANNELS); the session frees it at its end. */
struct lstream *sess_channel(struct sess *s, uint32_t channel, int type);
struct lstream *sess_find_channel(struct sess *s, uint32_t channel);
/* True while more than SESS_OUT_HIGH bytes wait for the socket. */
bool sess_out_full(struct sess *s);
/* Adds, changes or removes a watch (removing does not close the fd). */
void sess_watch(struct sess *s, struct watch *w);
void sess_unwatch(struct sess *s, struct watch *w);
/* Holds (+1) or releases (-1) the client's input. */
void sess_hold_input(struct sess *s, int delta);

/* Lists a session with the server; false when the server is stopping. */
bool cri_stream_server_session_add(struct cri_stream_server *srv, struct sess *s);
/* Called by a session as it ends: unlinks it (if listed) and hands its connection back
 * to MHD to close. */
void cri_stream_server_session_done(struct cri_stream_server *srv, struct sess *s);

/* ---- handlers ----------------------------------------------------------------------- */

/* Exec and attach (cri/stream_remotecommand.c). */
extern const struct sess_app stream_remotecommand_app;
/* Port-forward (cri/stream_portforward.c). */
extern const struct sess_app stream_portforward_app;

/* What a remote command (exec or attach) runs against (cri/stream_exec.c,
 * cri/stream_attach.c). A driver produces output with rc_output(), takes stdin through
 * the fd it sets in *stdin_fd, and reports its end once with rc_done(). */
struct rc;
struct rc_driver {
	/* Starts producing; *stdin_fd: the write end stdin goes to (-1: none). */
	int (*start)(struct sess *s, struct rc *rc, int *stdin_fd, kumo_error_t *err);
	void (*tick)(struct sess *s, struct rc *rc, uint64_t now_ns);
	/* Stops and releases everything (joins threads). */
	void (*stop)(struct sess *s, struct rc *rc);
};
extern const struct rc_driver rc_exec_driver;
extern const struct rc_driver rc_attach_driver;

enum rc_out { RC_STDOUT = 1, RC_STDERR = 2 };
/* Output of the command or container for the client. */
void rc_output(struct sess *s, struct rc *rc, int which, const void *data, size_t len);
/* The end: status 0 success; `exited` with a non-zero exit code; or a failure message. */
void rc_done(struct sess *s, struct rc *rc, bool exited, int32_t exit_code, const char *failure);
/* The driver's private data slot. */
void **rc_driver_data(struct rc *rc);
const struct cri_stream_request *rc_request(struct rc *rc);

/* Exec runner shared by Exec and ExecSync (cri/stream_exec.c): the backend call on a
 * thread of its own, with pipes for its stdio. */
struct exec_run;
int exec_run_start(const struct cri_stream_ops *ops, void *ctx, const char *ctr_id,
		   const char *const *argv, bool tty, bool want_stdin, struct exec_run **out,
		   kumo_error_t *err);
/* The session-side ends, non-blocking: stdout, stderr (read; stderr -1 with tty) and
 * an eventfd readable once the call returned, owned by the run; the stdin write end
 * (-1 without stdin) is handed over to the caller, who closes it to end stdin. */
int exec_run_take_stdin(struct exec_run *r);
int exec_run_stdout(struct exec_run *r);
int exec_run_stderr(struct exec_run *r);
int exec_run_donefd(struct exec_run *r);
/* After donefd fired: the call's result (0 and the exit code, or <0 with the
 * backend's message and status). */
int exec_run_result(struct exec_run *r, int32_t *exit_code, const char **msg, int *status);
/* Cancels if still running, joins the thread, closes everything. Accepts NULL. */
void exec_run_free(struct exec_run *r);

/* Connects to addr:port, from inside netns (a path) when given, without blocking: *fd
 * is a non-blocking socket whose connect is in progress or done (cri/stream_connect.c). */
int stream_connect_start(const char *ip, uint16_t port, const char *netns, int *fd,
			 kumo_error_t *err);

/* metav1.Status JSON for the error stream and HTTP errors (cri/stream_remotecommand.c). */
char *stream_status_json(bool success, int http_code, const char *reason, const char *message,
			 const int32_t *exit_code);

#endif /* KUMO_CRI_STREAM_IMPL_H */
