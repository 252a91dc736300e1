/* cri/downstream.c - the CRI client for the downstream runtime of a mixed node (see
 * cri/downstream.h) on gRPC core's C client API. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "cri/downstream.h"

/* What kubelet sends in VersionRequest.version. */
#define KUBE_RUNTIME_API_VERSION "0.1.0"

/* Completion-queue tags (addresses only). */
static char tag_call, tag_ready, tag_open, tag_status, tag_msg, tag_watch;

struct cri_downstream {
	char *endpoint;      /* as given, for messages */
	char *target;        /* gRPC target string */
	char *unix_path;     /* socket path of a unix endpoint, NULL otherwise */
	grpc_channel *channel;
	grpc_completion_queue *watch_cq; /* the watcher's queue */
	pthread_t watcher;   /* keeps the channel polled between calls */
	bool watching;       /* the watcher thread runs */
	pthread_mutex_t lock;/* guards stop */
	bool stop;           /* the watcher must leave */
};

int cri_downstream_grpc_code(int status)
{
	if (status >= CRI_E_DOWNSTREAM(GRPC_STATUS_OK) &&
	    status <= CRI_E_DOWNSTREAM(GRPC_STATUS_UNAUTHENTICATED))
		return status - CRI_E_DOWNSTREAM_BASE;
	return -1;
}

char *cri_downstream_unix_path(const char *endpoint)
{
	if (endpoint[0] == '/')
		return xstrdup(endpoint);
	if (strncmp(endpoint, "unix://", 7) == 0)
		return xstrdup(endpoint + 7);
	if (strncmp(endpoint, "unix:", 5) == 0)
		return xstrdup(endpoint + 5);
	return NULL;
}

/* gRPC core reads a connection only while some thread polls: without one, a downstream
 * that restarted between two calls is noticed only when the next call writes to the dead
 * connection and fails. The watcher sits on the channel's connectivity state so the
 * transport sees the close at once and the next call reconnects. */
static void *watcher_main(void *arg)
{
	struct cri_downstream *ds = arg;
	for (;;) {
		pthread_mutex_lock(&ds->lock);
		if (ds->stop) {
			pthread_mutex_unlock(&ds->lock);
			break;
		}
		grpc_connectivity_state st = grpc_channel_check_connectivity_state(ds->channel, 0);
		grpc_channel_watch_connectivity_state(
			ds->channel, st,
			gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(1, GPR_TIMESPAN)),
			ds->watch_cq, &tag_watch);
		pthread_mutex_unlock(&ds->lock);
		grpc_completion_queue_next(ds->watch_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	}
	return NULL;
}

int cri_downstream_new(const char *endpoint, struct cri_downstream **out, kumo_error_t *err)
{
	if (!endpoint || !*endpoint)
		endpoint = CRI_DOWNSTREAM_DEFAULT_ENDPOINT;
	autofree char *path = cri_downstream_unix_path(endpoint);
	if (path && (!*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)))
		return kumo_error(err, KUMO_E_INVALID, "downstream endpoint `%s`: bad socket path",
				  endpoint);
	struct cri_downstream *ds = xzalloc(sizeof(*ds));
	ds->endpoint = xstrdup(endpoint);
	ds->target = path ? xasprintf("unix:%s", path) : xstrdup(endpoint);
	ds->unix_path = path;
	path = NULL;

	grpc_init();
	/* A local socket: reconnect quickly after the downstream restarts. */
	grpc_arg args[] = {
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
		 .value.integer = 100},
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
		 .value.integer = 100},
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
		 .value.integer = CRI_DOWNSTREAM_MAX_BACKOFF_MS},
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		 .value.integer = CRI_DOWNSTREAM_MAX_MESSAGE},
		/* A forwarded call is sent once: gRPC's own retries stay off. */
		{.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0},
	};
	grpc_channel_args cargs = {.num_args = sizeof(args) / sizeof(args[0]), .args = args};
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	ds->channel = grpc_channel_create(ds->target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (!ds->channel) {
		grpc_shutdown();
		cri_downstream_free(ds);
		return kumo_error(err, KUMO_E_INVALID, "downstream endpoint `%s`: cannot create a channel",
				  endpoint);
	}
	pthread_mutex_init(&ds->lock, NULL);
	ds->watch_cq = grpc_completion_queue_create_for_next(NULL);
	int e = pthread_create(&ds->watcher, NULL, watcher_main, ds);
	if (e) {
		cri_downstream_free(ds);
		return kumo_error_errno(err, e, "downstream endpoint `%s`: start the watcher thread",
					endpoint);
	}
	ds->watching = true;
	*out = ds;
	return 0;
}

void cri_downstream_free(struct cri_downstream *ds)
{
	if (!ds)
		return;
	if (ds->channel) {
		pthread_mutex_lock(&ds->lock);
		ds->stop = true;
		pthread_mutex_unlock(&ds->lock);
		/* Ends the watcher's pending watch (the channel is shut down). */
		grpc_channel_destroy(ds->channel);
		if (ds->watching)
			pthread_join(ds->watcher, NULL);
		if (ds->watch_cq) {
			grpc_completion_queue_shutdown(ds->watch_cq);
			while (grpc_completion_queue_next(ds->watch_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							  NULL).type != GRPC_QUEUE_SHUTDOWN)
				;
			grpc_completion_queue_destroy(ds->watch_cq);
		}
		pthread_mutex_destroy(&ds->lock);
		grpc_shutdown();
	}
	free(ds->endpoint);
	free(ds->target);
	free(ds->unix_path);
	free(ds);
}

const char *cri_downstream_endpoint(const struct cri_downstream *ds)
{
	return ds->endpoint;
}

static gpr_timespec deadline_in(int ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static gpr_timespec earlier(gpr_timespec a, gpr_timespec b)
{
	return gpr_time_cmp(a, b) < 0 ? a : b;
}

/* Tries to connect to the unix socket; 0 when it accepts, else an errno. */
static int probe_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	autoclose int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
}

static int unavailable(struct cri_downstream *ds, kumo_error_t *err, int errnum)
{
	if (ds->unix_path && errnum)
		return kumo_error(err, CRI_E_DOWNSTREAM(GRPC_STATUS_UNAVAILABLE),
				  "downstream runtime `%s` is unavailable: connect to `%s`: %s",
				  ds->endpoint, ds->unix_path, strerror(errnum));
	return kumo_error(err, CRI_E_DOWNSTREAM(GRPC_STATUS_UNAVAILABLE),
			  "downstream runtime `%s` is unavailable: no connection", ds->endpoint);
}

/* Waits (on `cq`, until `until`) for the channel to be READY. A channel backing off after
 * a failure while its unix socket already accepts again is told to reconnect now; one
 * whose socket refuses fails at once. Returns 0 when READY, -1 (err set) when the
 * endpoint is unavailable, -2 (err not set) when it was still connecting at `until`. */
static int wait_ready(struct cri_downstream *ds, grpc_completion_queue *cq, gpr_timespec until,
		      kumo_error_t *err)
{
	grpc_connectivity_state st = grpc_channel_check_connectivity_state(ds->channel, 1);
	bool reset = false;
	while (st != GRPC_CHANNEL_READY) {
		if (st == GRPC_CHANNEL_TRANSIENT_FAILURE && !reset) {
			int e = ds->unix_path ? probe_unix(ds->unix_path) : 0;
			if (e)
				return unavailable(ds, err, e);
			grpc_channel_reset_connect_backoff(ds->channel);
			reset = true;
		} else if (st == GRPC_CHANNEL_SHUTDOWN) {
			return unavailable(ds, err, 0);
		}
		if (gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), until) >= 0)
			break;
		grpc_channel_watch_connectivity_state(ds->channel, st, until, cq, &tag_ready);
		grpc_completion_queue_pluck(cq, &tag_ready, gpr_inf_future(GPR_CLOCK_MONOTONIC),
					    NULL);
		st = grpc_channel_check_connectivity_state(ds->channel, 1);
	}
	if (st == GRPC_CHANNEL_READY)
		return 0;
	int e = ds->unix_path ? probe_unix(ds->unix_path) : 0;
	if (e)
		return unavailable(ds, err, e);
	return -2; /* still connecting at `until`: the caller words it */
}

static void cq_drain_destroy(grpc_completion_queue *cq)
{
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
}

static grpc_byte_buffer *buffer_of(const uint8_t *data, size_t len)
{
	grpc_slice sl = grpc_slice_from_copied_buffer((const char *)data, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

/* Copies a received message out (with a NUL after it, so it is never NULL). */
static uint8_t *bytes_of(grpc_byte_buffer *bb, size_t *len)
{
	grpc_byte_buffer_reader r;
	if (!grpc_byte_buffer_reader_init(&r, bb))
		return NULL;
	grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	*len = GRPC_SLICE_LENGTH(sl);
	uint8_t *out = xmalloc(*len + 1);
	memcpy(out, GRPC_SLICE_START_PTR(sl), *len);
	out[*len] = 0;
	grpc_slice_unref(sl);
	return out;
}

/* Turns a call's final status into *err (status not OK). */
static int status_error(struct cri_downstream *ds, const char *method, grpc_status_code code,
			grpc_slice details, gpr_timespec deadline, int timeout_ms, kumo_error_t *err)
{
	autofree char *msg = xstrndup((const char *)GRPC_SLICE_START_PTR(details),
				      GRPC_SLICE_LENGTH(details));
	/* Ours: the deadline passed here (the downstream's own timeouts keep their text). */
	if (code == GRPC_STATUS_DEADLINE_EXCEEDED &&
	    gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), deadline) >= 0)
		return kumo_error(err, CRI_E_DOWNSTREAM(code),
				  "downstream runtime `%s` did not answer `%s` within %d ms",
				  ds->endpoint, method, timeout_ms);
	/* Ours: the transport failed before the downstream saw the call. */
	if (code == GRPC_STATUS_UNAVAILABLE && ds->unix_path) {
		int e = probe_unix(ds->unix_path);
		if (e)
			return unavailable(ds, err, e);
	}
	return kumo_error(err, CRI_E_DOWNSTREAM(code), "%s", msg);
}

int cri_downstream_call(struct cri_downstream *ds, const char *method, const uint8_t *req,
			size_t len, int timeout_ms, uint8_t **resp, size_t *resp_len,
			kumo_error_t *err)
{
	if (timeout_ms <= 0)
		timeout_ms = CRI_DOWNSTREAM_DEFAULT_TIMEOUT_MS;
	gpr_timespec deadline = deadline_in(timeout_ms);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	int w = wait_ready(ds, cq, earlier(deadline, deadline_in(CRI_DOWNSTREAM_CONNECT_WAIT_MS)), err);
	if (w == -2 && gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), deadline) >= 0)
		kumo_error(err, CRI_E_DOWNSTREAM(GRPC_STATUS_DEADLINE_EXCEEDED),
			   "downstream runtime `%s` did not answer `%s` within %d ms (no connection yet)",
			   ds->endpoint, method, timeout_ms);
	else if (w == -2)
		kumo_error(err, CRI_E_DOWNSTREAM(GRPC_STATUS_UNAVAILABLE),
			   "downstream runtime `%s` is unavailable: no connection within %d ms",
			   ds->endpoint, CRI_DOWNSTREAM_CONNECT_WAIT_MS);
	if (w < 0) {
		cq_drain_destroy(cq);
		return -1;
	}
	grpc_slice mslice = grpc_slice_from_copied_string(method);
	grpc_call *call = grpc_channel_create_call(ds->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
						   mslice, NULL, deadline, NULL);
	grpc_slice_unref(mslice);

	grpc_byte_buffer *send = buffer_of(req, len), *recv = NULL;
	grpc_metadata_array initial, trailing;
	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailing);
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
	ops[5].data.recv_status_on_client.status = &code;
	ops[5].data.recv_status_on_client.status_details = &details;
	int rc = -1;
	grpc_call_error ce = grpc_call_start_batch(call, ops, 6, &tag_call, NULL);
	if (ce != GRPC_CALL_OK) {
		kumo_error(err, KUMO_E_INTERNAL, "downstream call `%s`: cannot start it (gRPC error %d)",
			   method, (int)ce);
	} else {
		/* The batch always completes: with the status, or at the deadline. */
		grpc_completion_queue_pluck(cq, &tag_call,
					    gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		if (code != GRPC_STATUS_OK) {
			status_error(ds, method, code, details, deadline, timeout_ms, err);
		} else if (!recv || !(*resp = bytes_of(recv, resp_len))) {
			kumo_error(err, CRI_E_DOWNSTREAM(GRPC_STATUS_INTERNAL),
				   "downstream runtime `%s` answered `%s` without a message",
				   ds->endpoint, method);
		} else {
			rc = 0;
		}
	}
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailing);
	grpc_call_unref(call);
	cq_drain_destroy(cq);
	return rc;
}

int cri_downstream_call_msg(struct cri_downstream *ds, const char *method,
			    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_type,
			    int timeout_ms, ProtobufCMessage **resp, kumo_error_t *err)
{
	size_t len = protobuf_c_message_get_packed_size(req);
	autofree uint8_t *buf = xmalloc(len + 1);
	protobuf_c_message_pack(req, buf);
	autofree uint8_t *out = NULL;
	size_t out_len = 0;
	if (cri_downstream_call(ds, method, buf, len, timeout_ms, &out, &out_len, err) < 0)
		return -1;
	ProtobufCMessage *m = protobuf_c_message_unpack(resp_type, NULL, out_len, out);
	if (!m)
		return kumo_error(err, CRI_E_DOWNSTREAM(GRPC_STATUS_INTERNAL),
				  "downstream runtime `%s` answered `%s` with a malformed `%s`",
				  ds->endpoint, method, resp_type->name);
	*resp = m;
	return 0;
}

#define RS "/runtime.v1.RuntimeService/"
#define IS "/runtime.v1.ImageService/"

int cri_downstream_version(struct cri_downstream *ds, int timeout_ms,
			   Runtime__V1__VersionResponse **out, kumo_error_t *err)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = (char *)KUBE_RUNTIME_API_VERSION;
	return cri_downstream_call_msg(ds, RS "Version", &req.base,
				       &runtime__v1__version_response__descriptor, timeout_ms,
				       (ProtobufCMessage **)out, err);
}

int cri_downstream_status(struct cri_downstream *ds, bool verbose, int timeout_ms,
			  Runtime__V1__StatusResponse **out, kumo_error_t *err)
{
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	req.verbose = verbose;
	return cri_downstream_call_msg(ds, RS "Status", &req.base,
				       &runtime__v1__status_response__descriptor, timeout_ms,
				       (ProtobufCMessage **)out, err);
}

int cri_downstream_list_pod_sandbox(struct cri_downstream *ds,
				    const Runtime__V1__ListPodSandboxRequest *req, int timeout_ms,
				    Runtime__V1__ListPodSandboxResponse **out, kumo_error_t *err)
{
	Runtime__V1__ListPodSandboxRequest empty = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	return cri_downstream_call_msg(ds, RS "ListPodSandbox", req ? &req->base : &empty.base,
				       &runtime__v1__list_pod_sandbox_response__descriptor,
				       timeout_ms, (ProtobufCMessage **)out, err);
}

int cri_downstream_list_containers(struct cri_downstream *ds,
				   const Runtime__V1__ListContainersRequest *req, int timeout_ms,
				   Runtime__V1__ListContainersResponse **out, kumo_error_t *err)
{
	Runtime__V1__ListContainersRequest empty = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	return cri_downstream_call_msg(ds, RS "ListContainers", req ? &req->base : &empty.base,
				       &runtime__v1__list_containers_response__descriptor,
				       timeout_ms, (ProtobufCMessage **)out, err);
}

int cri_downstream_list_images(struct cri_downstream *ds,
			       const Runtime__V1__ListImagesRequest *req, int timeout_ms,
			       Runtime__V1__ListImagesResponse **out, kumo_error_t *err)
{
	Runtime__V1__ListImagesRequest empty = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	return cri_downstream_call_msg(ds, IS "ListImages", req ? &req->base : &empty.base,
				       &runtime__v1__list_images_response__descriptor, timeout_ms,
				       (ProtobufCMessage **)out, err);
}

/* --- server streaming ------------------------------------------------------------ */

struct cri_downstream_stream {
	struct cri_downstream *ds;
	char *method;
	uint8_t *req;           /* the request, sent again on every reopening */
	size_t req_len;
	struct cri_downstream_stream_ops ops;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t lock;   /* guards call and cancelled */
	pthread_cond_t wake;    /* signalled on cancel (ends a pause between attempts) */
	grpc_call *call;        /* the open call, NULL between attempts */
	bool cancelled;
};

/* One attempt: opens the call, delivers messages until it ends; returns its status. */
static grpc_status_code stream_once(struct cri_downstream_stream *s, grpc_completion_queue *cq,
				    char **message, long *delivered)
{
	kumo_error_t werr = NULL;
	int w = wait_ready(s->ds, cq, deadline_in(CRI_DOWNSTREAM_CONNECT_WAIT_MS), &werr);
	if (w < 0) {
		*message = w == -1 ? xstrdup(kumo_error_msg(werr))
				   : xasprintf("downstream runtime `%s` is unavailable: no connection within %d ms",
					       s->ds->endpoint, CRI_DOWNSTREAM_CONNECT_WAIT_MS);
		kumo_error_free(&werr);
		return GRPC_STATUS_UNAVAILABLE;
	}
	grpc_slice mslice = grpc_slice_from_copied_string(s->method);
	grpc_call *call = grpc_channel_create_call(s->ds->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
						   mslice, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC),
						   NULL);
	grpc_slice_unref(mslice);
	pthread_mutex_lock(&s->lock);
	s->call = call;
	if (s->cancelled)
		grpc_call_cancel(call, NULL);
	pthread_mutex_unlock(&s->lock);

	grpc_byte_buffer *send = buffer_of(s->req, s->req_len);
	grpc_metadata_array initial, trailing;
	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailing);
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[4];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
	grpc_op st;
	memset(&st, 0, sizeof(st));
	st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	st.data.recv_status_on_client.trailing_metadata = &trailing;
	st.data.recv_status_on_client.status = &code;
	st.data.recv_status_on_client.status_details = &details;
	void *t_open = &tag_open, *t_status = &tag_status, *t_msg = &tag_msg;
	bool open = grpc_call_start_batch(call, ops, 4, t_open, NULL) == GRPC_CALL_OK;
	bool status_pending = grpc_call_start_batch(call, &st, 1, t_status, NULL) == GRPC_CALL_OK;
	if (open)
		open = grpc_completion_queue_pluck(cq, t_open, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
			       .success;
	while (open) {
		grpc_byte_buffer *recv = NULL;
		grpc_op r;
		memset(&r, 0, sizeof(r));
		r.op = GRPC_OP_RECV_MESSAGE;
		r.data.recv_message.recv_message = &recv;
		if (grpc_call_start_batch(call, &r, 1, t_msg, NULL) != GRPC_CALL_OK)
			break;
		grpc_event ev = grpc_completion_queue_pluck(cq, t_msg, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							    NULL);
		if (!ev.success || !recv)
			break; /* the stream ended */
		size_t len = 0;
		autofree uint8_t *msg = bytes_of(recv, &len);
		grpc_byte_buffer_destroy(recv);
		if (msg && s->ops.message) {
			s->ops.message(s->ctx, msg, len);
			(*delivered)++;
		}
	}
	if (status_pending) {
		/* Ends once the server closes or the call is cancelled. */
		grpc_call_cancel(call, NULL);
		grpc_completion_queue_pluck(cq, t_status, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	} else {
		code = GRPC_STATUS_INTERNAL;
	}
	pthread_mutex_lock(&s->lock);
	s->call = NULL;
	pthread_mutex_unlock(&s->lock);
	*message = xstrndup((const char *)GRPC_SLICE_START_PTR(details), GRPC_SLICE_LENGTH(details));
	if (code == GRPC_STATUS_UNAVAILABLE && s->ds->unix_path) {
		int e = probe_unix(s->ds->unix_path);
		if (e) {
			free(*message);
			*message = xasprintf("downstream runtime `%s` is unavailable: connect to `%s`: %s",
					     s->ds->endpoint, s->ds->unix_path, strerror(e));
		}
	}
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailing);
	grpc_call_unref(call);
	return code;
}

static void *stream_main(void *arg)
{
	struct cri_downstream_stream *s = arg;
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	int pause_ms = 100;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		bool cancelled = s->cancelled;
		pthread_mutex_unlock(&s->lock);
		if (cancelled)
			break;
		long delivered = 0;
		uint64_t t0 = kumo_now_ns();
		autofree char *message = NULL;
		grpc_status_code code = stream_once(s, cq, &message, &delivered);
		pthread_mutex_lock(&s->lock);
		cancelled = s->cancelled;
		pthread_mutex_unlock(&s->lock);
		if (cancelled)
			break;
		bool reopening = code == GRPC_STATUS_UNAVAILABLE;
		if (s->ops.ended)
			s->ops.ended(s->ctx, (int)code, message, reopening);
		if (!reopening)
			break;
		/* A stream that worked for a while starts over with a short pause. */
		if (delivered > 0 || kumo_now_ns() - t0 > 5000000000ull)
			pause_ms = 100;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += pause_ms / 1000;
		until.tv_nsec += (long)(pause_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&s->lock);
		while (!s->cancelled && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&s->lock);
		pause_ms = pause_ms * 2 > CRI_DOWNSTREAM_MAX_BACKOFF_MS ? CRI_DOWNSTREAM_MAX_BACKOFF_MS
									: pause_ms * 2;
	}
	cq_drain_destroy(cq);
	return NULL;
}

int cri_downstream_stream_open(struct cri_downstream *ds, const char *method,
			       const uint8_t *req, size_t len,
			       const struct cri_downstream_stream_ops *ops, void *ctx,
			       struct cri_downstream_stream **out, kumo_error_t *err)
{
	struct cri_downstream_stream *s = xzalloc(sizeof(*s));
	s->ds = ds;
	s->method = xstrdup(method);
	s->req = xmalloc(len + 1);
	memcpy(s->req, req, len);
	s->req_len = len;
	s->ops = *ops;
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	int e = pthread_create(&s->thread, NULL, stream_main, s);
	if (e) {
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		free(s->req);
		free(s->method);
		free(s);
		return kumo_error_errno(err, e, "downstream stream `%s`: start its thread", method);
	}
	*out = s;
	return 0;
}

void cri_downstream_stream_cancel(struct cri_downstream_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->cancelled = true;
	if (s->call)
		grpc_call_cancel(s->call, NULL);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->req);
	free(s->method);
	free(s);
}

int cri_downstream_events(struct cri_downstream *ds, const struct cri_downstream_stream_ops *ops,
			  void *ctx, struct cri_downstream_stream **out, kumo_error_t *err)
{
	Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
	uint8_t buf[16];
	size_t len = protobuf_c_message_pack(&req.base, buf);
	return cri_downstream_stream_open(ds, RS "GetContainerEvents", buf, len, ops, ctx, out, err);
}
