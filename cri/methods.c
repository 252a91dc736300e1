/* cri/methods.c - the CRI method table: path -> request type -> handler, and
 * cri_dispatch(), which decodes one unary call, runs it (kumo's handler, or where
 * cri/route.c sends it on a mixed node) and encodes the answer. */
#include <string.h>

#include "cri/runtime.h"

struct cri_method {
	const char *path;                          /* "/runtime.v1.RuntimeService/Version" */
	const ProtobufCMessageDescriptor *request; /* request type */
	cri_handler_fn handler;                    /* NULL: not implemented, see `why` */
	const char *why;                           /* message for unimplemented methods */
};

#define RS "/runtime.v1.RuntimeService/"
#define IS "/runtime.v1.ImageService/"
#define M(svc, name, req, fn) {svc name, &runtime__v1__##req##__descriptor, fn, NULL}
#define NOPE(svc, name, req, why) {svc name, &runtime__v1__##req##__descriptor, NULL, why}

static const struct cri_method methods[] = {
	M(RS, "Version", version_request, cri_version),
	M(RS, "Status", status_request, cri_status),
	M(RS, "RuntimeConfig", runtime_config_request, cri_runtime_config),
	M(RS, "UpdateRuntimeConfig", update_runtime_config_request, cri_update_runtime_config),
	M(RS, "RunPodSandbox", run_pod_sandbox_request, cri_run_pod_sandbox),
	M(RS, "StopPodSandbox", stop_pod_sandbox_request, cri_stop_pod_sandbox),
	M(RS, "RemovePodSandbox", remove_pod_sandbox_request, cri_remove_pod_sandbox),
	M(RS, "PodSandboxStatus", pod_sandbox_status_request, cri_pod_sandbox_status),
	M(RS, "ListPodSandbox", list_pod_sandbox_request, cri_list_pod_sandbox),
	M(RS, "CreateContainer", create_container_request, cri_create_container),
	M(RS, "StartContainer", start_container_request, cri_start_container),
	M(RS, "StopContainer", stop_container_request, cri_stop_container),
	M(RS, "RemoveContainer", remove_container_request, cri_remove_container),
	M(RS, "ListContainers", list_containers_request, cri_list_containers),
	M(RS, "ContainerStatus", container_status_request, cri_container_status),
	M(RS, "UpdateContainerResources", update_container_resources_request,
	  cri_update_container_resources),
	M(RS, "ReopenContainerLog", reopen_container_log_request, cri_reopen_container_log),
	M(RS, "ContainerStats", container_stats_request, cri_container_stats),
	M(RS, "ListContainerStats", list_container_stats_request, cri_list_container_stats),
	M(RS, "PodSandboxStats", pod_sandbox_stats_request, cri_pod_sandbox_stats),
	M(RS, "ListPodSandboxStats", list_pod_sandbox_stats_request, cri_list_pod_sandbox_stats),
	M(RS, "ListMetricDescriptors", list_metric_descriptors_request,
	  cri_list_metric_descriptors),
	M(RS, "ListPodSandboxMetrics", list_pod_sandbox_metrics_request,
	  cri_list_pod_sandbox_metrics),
	M(RS, "ExecSync", exec_sync_request, cri_exec_sync),
	M(RS, "Exec", exec_request, cri_exec),
	M(RS, "Attach", attach_request, cri_attach),
	M(RS, "PortForward", port_forward_request, cri_port_forward),
	M(RS, "CheckpointContainer", checkpoint_container_request, cri_checkpoint_container),
	M(RS, "CheckpointPod", checkpoint_pod_request, cri_checkpoint_pod),
	M(RS, "RestorePod", restore_pod_request, cri_restore_pod),
	NOPE(RS, "UpdatePodSandboxResources", update_pod_sandbox_resources_request,
	     "kumo does not resize pods in place: a VM's size is fixed when it is created"),
	NOPE(RS, "StreamPodSandboxes", stream_pod_sandboxes_request,
	     "kumo does not support the streaming list calls; use ListPodSandbox"),
	NOPE(RS, "StreamContainers", stream_containers_request,
	     "kumo does not support the streaming list calls; use ListContainers"),
	NOPE(RS, "StreamContainerStats", stream_container_stats_request,
	     "kumo does not support the streaming list calls; use ListContainerStats"),
	NOPE(RS, "StreamPodSandboxStats", stream_pod_sandbox_stats_request,
	     "kumo does not support the streaming list calls; use ListPodSandboxStats"),
	NOPE(RS, "StreamPodSandboxMetrics", stream_pod_sandbox_metrics_request,
	     "kumo does not support the streaming list calls; use ListPodSandboxMetrics"),
	M(IS, "ListImages", list_images_request, cri_list_images),
	M(IS, "ImageStatus", image_status_request, cri_image_status),
	M(IS, "PullImage", pull_image_request, cri_pull_image),
	M(IS, "RemoveImage", remove_image_request, cri_remove_image),
	M(IS, "ImageFsInfo", image_fs_info_request, cri_image_fs_info),
	NOPE(IS, "StreamImages", stream_images_request,
	     "kumo does not support the streaming list calls; use ListImages"),
};

/* proto3 strings are UTF-8 (protobuf-c does not check; Go's gRPC refuses to send
 * anything else). Everything downstream keeps them as JSON, which cannot hold other
 * bytes, so a request carrying one is refused here, naming the field. */
static const char *bad_utf8_field(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	if (depth > 32)
		return "(nested too deep)";
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *base = (const char *)m;
		const void *slot = base + f->offset;
		size_t n = 1;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			slot = *(void *const *)slot;
		}
		for (size_t k = 0; k < n && slot; k++) {
			const void *v = ((void *const *)slot)[k];
			if (!v)
				continue;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const char *bad = bad_utf8_field(v, depth + 1);
				if (bad)
					return bad;
			} else if (!kumo_utf8_valid(v, strlen(v))) {
				return f->name;
			}
		}
	}
	return NULL;
}

int rt_call_local_msg(struct cri_runtime *rt, const struct cri_call *c, ProtobufCMessage **out,
		      kumo_error_t *err)
{
	if (!c->handler)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "%s", c->why);
	return c->handler(rt, c->in, out, err);
}

int rt_call_local(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp,
		  size_t *len, kumo_error_t *err)
{
	ProtobufCMessage *out = NULL;
	if (rt_call_local_msg(rt, c, &out, err) < 0)
		return -1;
	*len = protobuf_c_message_get_packed_size(out);
	*resp = xmalloc(*len + 1); /* never NULL, even for an empty message */
	protobuf_c_message_pack(out, *resp);
	protobuf_c_message_free_unpacked(out, NULL);
	return 0;
}

int cri_dispatch_until(struct cri_runtime *rt, const char *method, const uint8_t *req,
		       size_t len, uint64_t deadline_ns, uint8_t **resp, size_t *resp_len,
		       kumo_error_t *err)
{
	const struct cri_method *m = NULL;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].path, method) == 0)
			m = &methods[i];
	if (!m)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "unknown method `%s`", method);
	/* Without a downstream, what kumo does not implement is refused before decoding. */
	if (!m->handler && !rt->router)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "%s", m->why);
	/* protobuf-c keeps fields it does not know in the message (unknown_fields), so a
	 * newer kubelet's additions survive decoding and re-encoding. */
	ProtobufCMessage *in = protobuf_c_message_unpack(m->request, NULL, len, req);
	if (!in)
		return kumo_error(err, KUMO_E_INVALID, "malformed `%s` in call to `%s`",
				  m->request->name, method);
	const char *bad = bad_utf8_field(in, 0);
	if (bad) {
		protobuf_c_message_free_unpacked(in, NULL);
		return kumo_error(err, KUMO_E_INVALID, "field `%s` in call to `%s` is not valid UTF-8",
				  bad, method);
	}
	struct cri_call call = {
		.method = m->path,
		.handler = m->handler,
		.why = m->why,
		.in = in,
		.raw = req ? req : (const uint8_t *)"",
		.len = len,
		.deadline_ns = deadline_ns,
	};
	int r = rt->router ? rt_route(rt, &call, resp, resp_len, err)
			   : rt_call_local(rt, &call, resp, resp_len, err);
	protobuf_c_message_free_unpacked(in, NULL);
	return r;
}

int cri_dispatch(struct cri_runtime *rt, const char *method, const uint8_t *req, size_t len,
		 uint8_t **resp, size_t *resp_len, kumo_error_t *err)
{
	return cri_dispatch_until(rt, method, req, len, 0, resp, resp_len, err);
}
