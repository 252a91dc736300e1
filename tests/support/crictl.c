/* tests/support/crictl.c - kumo-crictl: a small CRI v1 client on gRPC core for tests and
 * debugging. Requests are JSON (see cri/pbjson.h), responses are printed as JSON.
 *
 *   kumo-crictl [--socket PATH] [--timeout SECONDS] METHOD [JSON]
 *   kumo-crictl [--socket PATH] [--timeout SECONDS] events N
 *
 * METHOD is "RuntimeService/Version", "ImageService/PullImage", or just the method
 * name ("Version", "PullImage"). On a gRPC error it prints
 *   rpc error: code = NotFound desc = <message>
 * on stderr (crictl's wording) and exits 1; `events N` prints N events (one JSON
 * object per line) from GetContainerEvents and exits 0, or exits 1 on timeout.
 */
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "cri/api.pb-c.h"
#include "cri/cri.h"
#include "cri/pbjson.h"

static const char *code_name(int code)
{
	static const char *const names[] = {
		"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
		"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
		"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
		"Unauthenticated"};
	return code >= 0 && code <= 16 ? names[code] : "Unknown";
}

/* Finds METHOD in both services; fills the path and the message types. */
static bool find_method(const char *name, char **path, const ProtobufCMessageDescriptor **in,
			const ProtobufCMessageDescriptor **out)
{
	const ProtobufCServiceDescriptor *svcs[] = {&runtime__v1__runtime_service__descriptor,
						    &runtime__v1__image_service__descriptor};
	for (size_t s = 0; s < 2; s++) {
		const ProtobufCServiceDescriptor *d = svcs[s];
		const char *m = name;
		size_t sl = strlen(d->short_name);
		if (strncmp(name, d->short_name, sl) == 0 && name[sl] == '/')
			m = name + sl + 1;
		else if (strchr(name, '/'))
			continue;
		for (unsigned i = 0; i < d->n_methods; i++)
			if (strcmp(d->methods[i].name, m) == 0) {
				*path = xasprintf("/%s/%s", d->name, m);
				*in = d->methods[i].input;
				*out = d->methods[i].output;
				return true;
			}
	}
	return false;
}

static grpc_byte_buffer *encode(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	autofree uint8_t *buf = xmalloc(len);
	protobuf_c_message_pack(m, buf);
	grpc_slice sl = grpc_slice_from_copied_buffer((const char *)buf, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

static void print_message(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, bool compact)
{
	grpc_byte_buffer_reader r;
	grpc_byte_buffer_reader_init(&r, bb);
	grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	ProtobufCMessage *m =
		protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
	grpc_slice_unref(sl);
	if (!m) {
		fprintf(stderr, "kumo-crictl: the server sent a malformed `%s`\n", d->name);
		return;
	}
	json_t *j = pbjson_from_message(m);
	char *text = json_dumps(j, compact ? JSON_COMPACT : JSON_INDENT(2));
	puts(text);
	fflush(stdout);
	free(text);
	json_decref(j);
	protobuf_c_message_free_unpacked(m, NULL);
}

static bool run_batch(grpc_call *call, grpc_completion_queue *cq, grpc_op *ops, size_t n,
		      void *tag, gpr_timespec deadline)
{
	if (grpc_call_start_batch(call, ops, n, tag, NULL) != GRPC_CALL_OK)
		return false;
	grpc_event ev = grpc_completion_queue_pluck(cq, tag, deadline, NULL);
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

int main(int argc, char **argv)
{
	const char *socket = CRI_DEFAULT_SOCKET;
	long timeout = 30;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			socket = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = atol(argv[++i]);
		else {
			fprintf(stderr, "kumo-crictl: unknown option `%s`\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		fputs("usage: kumo-crictl [--socket PATH] [--timeout S] METHOD [JSON] | events N\n",
		      stderr);
		return 2;
	}
	bool events = strcmp(argv[i], "events") == 0;
	long want_events = events && i + 1 < argc ? atol(argv[i + 1]) : 0;
	autofree char *path = NULL;
	const ProtobufCMessageDescriptor *in = NULL, *out = NULL;
	if (!find_method(events ? "GetContainerEvents" : argv[i], &path, &in, &out)) {
		fprintf(stderr, "kumo-crictl: unknown method `%s`\n", argv[i]);
		return 2;
	}
	ProtobufCMessage *req = NULL;
	kumo_error_t err = NULL;
	json_error_t je;
	json_t *j = !events && i + 1 < argc ? json_loads(argv[i + 1], 0, &je) : json_object();
	if (!j) {
		fprintf(stderr, "kumo-crictl: request JSON: %s\n", je.text);
		return 2;
	}
	if (pbjson_to_message(in, j, &req, &err) < 0) {
		fprintf(stderr, "kumo-crictl: request: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		json_decref(j);
		return 2;
	}
	json_decref(j);

	grpc_init();
	autofree char *target = xasprintf("unix:%s", socket);
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(target, creds, NULL);
	grpc_channel_credentials_release(creds);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
					     gpr_time_from_seconds(timeout, GPR_TIMESPAN));
	grpc_slice method = grpc_slice_from_copied_string(path);
	grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method,
						   NULL, deadline, NULL);
	grpc_slice_unref(method);

	grpc_byte_buffer *send = encode(req);
	protobuf_c_message_free_unpacked(req, NULL);
	grpc_metadata_array initial, trailing;
	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailing);
	grpc_byte_buffer *recv = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	bool server_ended = false; /* events: the server closed the stream */
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
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	int rc = 1;
	if (!events) {
		if (run_batch(call, cq, ops, 6, (void *)1, deadline)) {
			if (status == GRPC_STATUS_OK && recv) {
				print_message(out, recv, false);
				rc = 0;
			} else {
				char *d = xstrndup((const char *)GRPC_SLICE_START_PTR(details),
						   GRPC_SLICE_LENGTH(details));
				fprintf(stderr, "rpc error: code = %s desc = %s\n", code_name(status), d);
				free(d);
			}
		} else {
			fprintf(stderr, "kumo-crictl: the call failed\n");
		}
	} else {
		/* Headers and request first, then one message at a time. */
		if (run_batch(call, cq, ops, 4, (void *)1, deadline)) {
			long got = 0;
			while (got < want_events) {
				grpc_op r;
				memset(&r, 0, sizeof(r));
				r.op = GRPC_OP_RECV_MESSAGE;
				r.data.recv_message.recv_message = &recv;
				if (!run_batch(call, cq, &r, 1, (void *)2, deadline))
					break;
				if (!recv) {
					server_ended = true; /* its status says why */
					break;
				}
				print_message(out, recv, true);
				grpc_byte_buffer_destroy(recv);
				recv = NULL;
				got++;
			}
			rc = got == want_events ? 0 : 1;
			if (rc)
				fprintf(stderr, "kumo-crictl: got %ld of %ld events\n", got, want_events);
		}
		if (!server_ended)
			grpc_call_cancel(call, NULL);
		grpc_op st;
		memset(&st, 0, sizeof(st));
		st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
		st.data.recv_status_on_client.trailing_metadata = &trailing;
		st.data.recv_status_on_client.status = &status;
		st.data.recv_status_on_client.status_details = &details;
		run_batch(call, cq, &st, 1, (void *)3, gpr_inf_future(GPR_CLOCK_REALTIME));
		/* The server's own answer when it ended the stream (not our cancel). */
		if (rc && status != GRPC_STATUS_OK && status != GRPC_STATUS_CANCELLED) {
			char *d = xstrndup((const char *)GRPC_SLICE_START_PTR(details),
					   GRPC_SLICE_LENGTH(details));
			fprintf(stderr, "rpc error: code = %s desc = %s\n", code_name(status), d);
			free(d);
		}
	}
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailing);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	grpc_channel_destroy(ch);
	grpc_shutdown();
	return rc;
}
