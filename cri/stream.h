/* cri/stream.h - kumod's streaming server: the one-time URLs that the CRI calls Exec,
 * Attach and PortForward return, and the HTTP server kubelet (or crictl) connects to
 * with them. The contract between kumod's CRI handlers (cri/runtime_stream.c) and the
 * server (cri/stream_*.c).
 *
 * Flow: a handler checks the request against kumod's state, then cri_stream_url()
 * stores it under a fresh random token and returns
 * `http://<stream address>/<exec|attach|portforward>/<token>`. The client connects
 * within the token's lifetime (one use only), upgrades the connection and speaks one of:
 *   - SPDY/3.1 (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version`): exec/attach with
 *     `v4.channel.k8s.io`, `v3.channel.k8s.io`, `v2.channel.k8s.io`, `channel.k8s.io`;
 *     port-forward with `portforward.k8s.io` (a data and an error stream per connection);
 *   - WebSocket (`Sec-WebSocket-Protocol`): exec/attach with `v5.channel.k8s.io`,
 *     `v4.channel.k8s.io`, `v4.base64.channel.k8s.io`, `channel.k8s.io`,
 *     `base64.channel.k8s.io`; port-forward with `SPDY/3.1+portforward.k8s.io` (SPDY
 *     tunnelled in binary messages: crictl --transport websocket) or kubelet's channel
 *     form (`v4.channel.k8s.io`: a data and an error channel per requested port).
 * Exec and attach end with a status on the error stream (v4/v5: metav1.Status JSON;
 * a non-zero exit is reason NonZeroExitCode with the code as an ExitCode cause).
 * Errors before the upgrade (unknown, used or expired token, no upgrade, no common
 * protocol) are HTTP errors whose body is a metav1.Status with a message.
 *
 * Threads: one per upgraded connection (an epoll loop over the client socket and
 * everything the session reads: pod sockets, the followed log, exec pipes) plus one per
 * running exec command (the backend's call). cri_stream_server_stop() ends every
 * session and joins them; nothing is left behind.
 */
#ifndef KUMO_CRI_STREAM_H
#define KUMO_CRI_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

/* Defaults. The address: loopback and an ephemeral port, as containerd's. */
#define CRI_STREAM_DEFAULT_ADDRESS "127.0.0.1:0"
#define CRI_STREAM_DEFAULT_TOKEN_TTL_MS 60000          /* kubelet's cache TTL: 1 min */
#define CRI_STREAM_DEFAULT_IDLE_TIMEOUT_MS (4 * 3600 * 1000) /* kubelet's default: 4 h */
#define CRI_STREAM_DEFAULT_CREATION_TIMEOUT_MS 30000   /* streams opened within 30 s */
#define CRI_STREAM_MAX_PENDING 1000                    /* URLs issued and not yet used */

enum cri_stream_kind {
	CRI_STREAM_EXEC = 1,
	CRI_STREAM_ATTACH,
	CRI_STREAM_PORTFORWARD,
};

/* What one CRI call asked for; kept under its token until the client connects. */
struct cri_stream_request {
	int kind;         /* enum cri_stream_kind */
	char *id;         /* full container id (exec, attach) or pod sandbox id */
	char **cmd;       /* exec: the command, NULL-terminated */
	bool tty;         /* exec/attach: one raw output stream, resize accepted */
	bool in, out, err; /* exec/attach: stdin, stdout, stderr wanted (err false with tty) */
	int32_t *ports;   /* port-forward: the request's ports (the WebSocket channel form) */
	size_t n_ports;
};
void cri_stream_request_free(struct cri_stream_request *r); /* accepts NULL */

/* A command run in a running container (Exec, ExecSync): argv and the command's stdio
 * as file descriptors the backend reads and writes but never closes. */
struct cri_exec_spec {
	const char *id;          /* full container id */
	const char *const *argv; /* the command, NULL-terminated, at least one word */
	bool tty;                /* one raw output stream (stdout carries everything) */
	int stdin_fd;            /* read until EOF; -1: the command's stdin is empty */
	int stdout_fd;           /* write end; -1: discard */
	int stderr_fd;           /* write end; -1: discard (always -1 with tty) */
	int cancel_fd;           /* becomes readable when the caller gives up (the client left,
				  * ExecSync's timeout): end the command and return */
};

/* What the container's attach reaches. */
struct cri_attach_target {
	char *log_path; /* the container's CRI log file: attach follows it (malloc'd) */
	bool tty;       /* the container's tty: its output is one raw stream */
	int stdin_fd;   /* write end feeding the app's fd 0 (closing it ends a stdin_once
			 * stdin), or -1: no stdin for this attach */
};

/* What the server asks kumod when a client connects (cri/runtime_stream.c; tests give
 * their own). Called from session threads without kumod's lock held; `ctx` is the one
 * given to cri_stream_server_start. Errors fill err with a message for the client. */
struct cri_stream_ops {
	/* Attach: the container must be running; want_stdin asks for a stdin fd (granted
	 * only when the container was created with stdin). */
	int (*attach_open)(void *ctx, const char *ctr_id, bool want_stdin,
			   struct cri_attach_target *t, kumo_error_t *err);
	/* True while the container runs; once it ended, false with its exit code. */
	bool (*ctr_running)(void *ctx, const char *ctr_id, int32_t *exit_code);
	/* Port-forward: the pod's IPv4 address and, when the pod has its own network
	 * namespace, its path (connections are then made from inside it); both malloc'd,
	 * netns may be NULL. */
	int (*pod_target)(void *ctx, const char *pod_id, char **ip, char **netns,
			  kumo_error_t *err);
	/* Runs a command to its end (blocking, on a thread of its own) and sets its exit
	 * code; <0 when it could not be run. NULL: exec is not available. */
	int (*exec)(void *ctx, const struct cri_exec_spec *spec, int32_t *exit_code,
		    kumo_error_t *err);
};

struct cri_stream_options {
	const char *address;     /* "HOST:PORT"; "" or NULL: CRI_STREAM_DEFAULT_ADDRESS; port 0
				  * picks a free port; an unspecified host (0.0.0.0) listens
				  * everywhere and names the node's first IPv4 address in URLs */
	int token_ttl_ms;        /* 0: the default */
	int idle_timeout_ms;     /* 0: the default */
	int creation_timeout_ms; /* 0: the default */
};

struct cri_stream_server;

/* Binds the address and starts serving. */
int cri_stream_server_start(const struct cri_stream_options *o, const struct cri_stream_ops *ops,
			    void *ctx, struct cri_stream_server **out, kumo_error_t *err);
/* Ends every session (clients see their connection close), stops listening, joins
 * every thread and frees the server. Accepts NULL. */
void cri_stream_server_stop(struct cri_stream_server *s);
/* "http://127.0.0.1:PORT" (borrowed). */
const char *cri_stream_base_url(struct cri_stream_server *s);
/* Stores req (taken over, also on failure) under a new token and returns its URL
 * (malloc'd). Fails with KUMO_E_UNAVAILABLE when CRI_STREAM_MAX_PENDING URLs wait. */
int cri_stream_url(struct cri_stream_server *s, struct cri_stream_request *req, char **url,
		   kumo_error_t *err);
/* Sessions running now (tests count them). */
int cri_stream_sessions(struct cri_stream_server *s);

/* ExecSync: runs the command with empty stdin, collecting at most max_output bytes of
 * each stream (the rest is dropped); timeout_ms 0 waits forever. A command still running
 * at the timeout is cancelled and the call fails with CRI_E_DEADLINE. */
int cri_stream_exec_sync(const struct cri_stream_ops *ops, void *ctx, const char *ctr_id,
		  const char *const *argv, int64_t timeout_ms, size_t max_output,
		  uint8_t **out, size_t *out_len, uint8_t **errout, size_t *err_len,
		  int32_t *exit_code, kumo_error_t *err);

#endif /* KUMO_CRI_STREAM_H */
