/* cri/downstream.h - kumod's CRI client for the downstream runtime of a mixed node
 * (containerd at unix:///run/containerd/containerd.sock by default; any CRI v1 endpoint):
 * the pods that are not kumo's are forwarded to it call by call (issue 22).
 *
 * Built on gRPC core's C client API, with the request and response bytes left as they
 * are (a forwarded call is never decoded, so fields kumo's schema lacks survive), plus
 * typed helpers (protobuf-c, cri/api.proto) for the calls whose answers kumod merges.
 *
 * Threads: every function may be called from any thread at once (kumod's workers);
 * one channel is shared, each call has its own completion queue.
 *
 * Errors follow common.h. When the downstream answered a call with a non-OK status,
 * err->status is CRI_E_DOWNSTREAM(code) with the downstream's exact gRPC code and
 * err->msg its exact message, so a forwarded error reaches kubelet unchanged (the one
 * mapping to gRPC codes, cri_grpc_code(), must turn CRI_E_DOWNSTREAM(c) back into c;
 * cri_downstream_grpc_code() does it). Failures of the transport keep a gRPC code too,
 * with a message of kumo's naming the endpoint:
 *   - the endpoint cannot be reached: UNAVAILABLE, "downstream runtime `unix:///x.sock`
 *     is unavailable: connect to `/x.sock`: No such file or directory";
 *   - the deadline passed before the answer: DEADLINE_EXCEEDED, "downstream runtime
 *     `...` did not answer `/runtime.v1.RuntimeService/Version` within 200 ms".
 *
 * Reconnection: the channel reconnects by itself after the downstream restarts (reconnect
 * back-off at most CRI_DOWNSTREAM_MAX_BACKOFF_MS); a call made while the socket accepts
 * connections again but the channel is still backing off resets the back-off and waits
 * for the connection (within its deadline), so the first call after a restart works.
 * A call never re-sends a request: one that was cut by the restart fails with the status
 * gRPC gives it (UNAVAILABLE), and the caller decides.
 */
#ifndef KUMO_CRI_DOWNSTREAM_H
#define KUMO_CRI_DOWNSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "cri/api.pb-c.h"
#include "cri/cri.h"

#define CRI_DOWNSTREAM_DEFAULT_ENDPOINT CRI_DEFAULT_DOWNSTREAM
/* Deadline of a call made with timeout_ms <= 0: kubelet's runtime-request-timeout. */
#define CRI_DOWNSTREAM_DEFAULT_TIMEOUT_MS 120000
/* How long a call waits for a connection that is being made (within its deadline). */
#define CRI_DOWNSTREAM_CONNECT_WAIT_MS 2000
/* The longest pause between two reconnection attempts of the channel. */
#define CRI_DOWNSTREAM_MAX_BACKOFF_MS 1000
/* The largest response accepted: kubelet's own limit on CRI messages (16 MiB). */
#define CRI_DOWNSTREAM_MAX_MESSAGE (16 << 20)

/* kumo error status carrying the downstream's gRPC status code `code` (0..16). */
#define CRI_E_DOWNSTREAM_BASE 0x1000
#define CRI_E_DOWNSTREAM(code) (CRI_E_DOWNSTREAM_BASE + (code))
/* The gRPC code in a CRI_E_DOWNSTREAM status, or -1 when `status` is not one. */
int cri_downstream_grpc_code(int status);

/* The socket path of "unix:///p", "unix:/p", "unix:p" or "/p" (malloc'd); NULL for other
 * gRPC targets. */
char *cri_downstream_unix_path(const char *endpoint);

struct cri_downstream;

/* Opens a client for `endpoint` ("unix:///path", "unix:/path", a bare "/path", or any
 * gRPC target such as "dns:host:port"; NULL means CRI_DOWNSTREAM_DEFAULT_ENDPOINT).
 * Does not connect yet: an endpoint that is down is not an error here. */
int cri_downstream_new(const char *endpoint, struct cri_downstream **out, kumo_error_t *err);
/* Closes the channel. Every call must have returned and every stream been cancelled.
 * Accepts NULL. */
void cri_downstream_free(struct cri_downstream *ds);
/* The endpoint as given (or the default), for messages. */
const char *cri_downstream_endpoint(const struct cri_downstream *ds);

/* Forwards one unary call: `method` is the full path ("/runtime.v1.RuntimeService/
 * RunPodSandbox"), `req`/`len` the serialized request, sent as is. On an OK status
 * returns 0 and sets *resp (malloc'd, caller frees; not NULL even for an empty message)
 * and *resp_len. Otherwise returns -1 with *err as described above. The call ends
 * after timeout_ms (CRI_DOWNSTREAM_DEFAULT_TIMEOUT_MS when <= 0). */
int cri_downstream_call(struct cri_downstream *ds, const char *method, const uint8_t *req,
			size_t len, int timeout_ms, uint8_t **resp, size_t *resp_len,
			kumo_error_t *err);

/* The same with messages: packs `req`, unpacks the answer as `resp_type` into *resp
 * (free with protobuf_c_message_free_unpacked(*resp, NULL)). An answer that does not
 * decode is CRI_E_DOWNSTREAM(INTERNAL). */
int cri_downstream_call_msg(struct cri_downstream *ds, const char *method,
			    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_type,
			    int timeout_ms, ProtobufCMessage **resp, kumo_error_t *err);

/* Typed helpers for the views kumod merges (RuntimeService and ImageService of CRI v1);
 * a NULL request sends the empty one. */
int cri_downstream_version(struct cri_downstream *ds, int timeout_ms,
			   Runtime__V1__VersionResponse **out, kumo_error_t *err);
int cri_downstream_status(struct cri_downstream *ds, bool verbose, int timeout_ms,
			  Runtime__V1__StatusResponse **out, kumo_error_t *err);
int cri_downstream_list_pod_sandbox(struct cri_downstream *ds,
				    const Runtime__V1__ListPodSandboxRequest *req, int timeout_ms,
				    Runtime__V1__ListPodSandboxResponse **out, kumo_error_t *err);
int cri_downstream_list_containers(struct cri_downstream *ds,
				   const Runtime__V1__ListContainersRequest *req, int timeout_ms,
				   Runtime__V1__ListContainersResponse **out, kumo_error_t *err);
int cri_downstream_list_images(struct cri_downstream *ds,
			       const Runtime__V1__ListImagesRequest *req, int timeout_ms,
			       Runtime__V1__ListImagesResponse **out, kumo_error_t *err);

/* --- server streaming (GetContainerEvents) ---------------------------------------- */

/* Callbacks of a stream; both run on the stream's own thread, never at once. */
struct cri_downstream_stream_ops {
	/* One message of the stream (serialized, borrowed for the call). */
	void (*message)(void *ctx, const uint8_t *msg, size_t len);
	/* The stream ended by itself with gRPC `code` and `message` (kumo's message, as for
	 * calls, when the endpoint is unreachable); `reopening` is true when it will be
	 * opened again (it ended with UNAVAILABLE: the downstream went away or restarted),
	 * false when it is over (e.g. UNIMPLEMENTED). May be NULL. */
	void (*ended)(void *ctx, int code, const char *message, bool reopening);
};

struct cri_downstream_stream;

/* Opens a server-streaming call of `method` with request `req`/`len` (copied) on a
 * thread of its own and delivers each message to ops->message until cancelled. After the
 * downstream restarts the stream is opened again (same request), after a pause of 0.1 s
 * growing to CRI_DOWNSTREAM_MAX_BACKOFF_MS while it keeps failing; messages sent while
 * it was closed are lost (CRI events carry no cursor to resume from). Returns -1 only
 * if the thread cannot start. */
int cri_downstream_stream_open(struct cri_downstream *ds, const char *method,
			       const uint8_t *req, size_t len,
			       const struct cri_downstream_stream_ops *ops, void *ctx,
			       struct cri_downstream_stream **out, kumo_error_t *err);
/* Cancels the stream and waits for its thread: once this returns no callback runs.
 * Frees the stream; accepts NULL. Never call it from the stream's own callbacks. */
void cri_downstream_stream_cancel(struct cri_downstream_stream *s);

/* GetContainerEvents with the empty request. */
int cri_downstream_events(struct cri_downstream *ds, const struct cri_downstream_stream_ops *ops,
			  void *ctx, struct cri_downstream_stream **out, kumo_error_t *err);

#endif /* KUMO_CRI_DOWNSTREAM_H */
