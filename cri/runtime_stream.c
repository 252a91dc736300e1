/* cri/runtime_stream.c - the CRI calls that stream (Exec, Attach, PortForward: a URL on
 * the streaming server) and ExecSync, checked against kumod's state, and what the
 * streaming server asks kumod when a client connects (struct cri_stream_ops). */
#include <string.h>

#include "cri/runtime.h"
#include "cri/stream.h"

/* ExecSync keeps at most this much of each output stream (the rest is dropped), so a
 * response stays under kubelet's 16 MiB message limit. */
#define EXEC_SYNC_MAX_OUTPUT (8u * 1024 * 1024)

static const char no_exec[] =
	"exec needs pod VMs: this kumod runs each container as a VM of its own (--pod-vm "
	"false, or the libvirt backend), where no Wasm command can run beside the app; attach "
	"and port-forward work";
static const char no_stdin[] =
	"attach with stdin: container `%s` asked for stdin, but it runs as a VM of its own "
	"(kumod --pod-vm false, or the libvirt backend), whose app has no stdin channel (a "
	"pod VM's has); attach without stdin to follow its output";

static const char *state_name(int state)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&runtime__v1__container_state__descriptor, state);
	return v ? v->name : "UNKNOWN";
}

/* Finds a running container (lock held); its full id goes to id. */
static int running_ctr(struct cri_runtime *rt, const char *want, struct cri_ctr **out,
		       kumo_error_t *err)
{
	if (rt_find_ctr(rt, want, out, err) < 0)
		return -1;
	struct cri_ctr *c = *out;
	if (c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING)
		return 0;
	if (c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "container `%s` is not running: it exited with code %d (%s)",
				  c->id, c->exit_code, c->reason ? c->reason : "");
	return kumo_error(err, KUMO_E_PRECONDITION, "container `%s` is not running (state %s)",
			  c->id, state_name(c->state));
}

static char **copy_argv(char **v, size_t n)
{
	char **out = xzalloc(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

/* ---- what the streaming server asks ------------------------------------------------------ */

static int ops_attach_open(void *ctx, const char *ctr_id, bool want_stdin,
			   struct cri_attach_target *t, kumo_error_t *err)
{
	struct cri_runtime *rt = ctx;
	struct cri_ctr *c;
	pthread_mutex_lock(&rt->lock);
	if (running_ctr(rt, ctr_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	t->log_path = xstrdup(c->log_path ? c->log_path : "");
	t->tty = c->config && c->config->tty;
	bool has_stdin = c->config && c->config->stdin;
	bool once = c->config && c->config->stdin_once;
	pthread_mutex_unlock(&rt->lock);
	t->stdin_fd = -1;
	if (!want_stdin || !has_stdin)
		return 0; /* a container that asked for no stdin: the client's is dropped */
	struct cri_vms *vms = rt->backend->vms;
	if (!vms->ops->attach_stdin) {
		free(t->log_path);
		t->log_path = NULL;
		return kumo_error(err, KUMO_E_UNSUPPORTED, no_stdin, ctr_id);
	}
	if (vms->ops->attach_stdin(vms, ctr_id, once, &t->stdin_fd, err) < 0) {
		free(t->log_path);
		t->log_path = NULL;
		return -1;
	}
	return 0;
}

static bool ops_ctr_running(void *ctx, const char *ctr_id, int32_t *exit_code)
{
	struct cri_runtime *rt = ctx;
	pthread_mutex_lock(&rt->lock);
	struct cri_ctr *c = rt_ctr_by_id(rt, ctr_id);
	bool running = c && c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	*exit_code = c ? c->exit_code : -1;
	pthread_mutex_unlock(&rt->lock);
	return running;
}

static int ops_pod_target(void *ctx, const char *pod_id, char **ip, char **netns,
			  kumo_error_t *err)
{
	struct cri_runtime *rt = ctx;
	pthread_mutex_lock(&rt->lock);
	struct cri_pod *p = rt_pod_by_id(rt, pod_id);
	int r = 0;
	if (!p)
		r = kumo_error(err, KUMO_E_NOT_FOUND, "pod sandbox `%s` is gone", pod_id);
	else if (p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY)
		r = kumo_error(err, KUMO_E_PRECONDITION, "pod sandbox `%s` is not ready", pod_id);
	else if (!p->ip || !*p->ip)
		r = kumo_error(err, KUMO_E_PRECONDITION,
			       "pod sandbox `%s` has no network (a hostNetwork pod runs without "
			       "one)",
			       pod_id);
	if (r == 0) {
		*ip = xstrdup(p->ip);
		/* Pods on kumo's bridge are reached at their address from the host. A pod
		 * with a network namespace of its own (CNI, issue 15) names it here. */
		*netns = NULL;
	}
	pthread_mutex_unlock(&rt->lock);
	return r;
}

static int ops_exec(void *ctx, const struct cri_exec_spec *spec, int32_t *exit_code,
		    kumo_error_t *err)
{
	struct cri_runtime *rt = ctx;
	struct cri_vms *vms = rt->backend->vms;
	if (!vms->ops->exec)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "%s", no_exec);
	return vms->ops->exec(vms, spec, exit_code, err);
}

static struct cri_stream_ops runtime_ops = {
	.attach_open = ops_attach_open,
	.ctr_running = ops_ctr_running,
	.pod_target = ops_pod_target,
	.exec = ops_exec,
};

int cri_runtime_start_streaming(struct cri_runtime *rt, const struct cri_config *cfg,
				kumo_error_t *err)
{
	struct cri_stream_options o = {
		.address = cfg->stream_address,
		.token_ttl_ms = cfg->stream_token_ttl_ms,
	};
	if (cri_stream_server_start(&o, &runtime_ops, rt, &rt->stream, err) < 0)
		return kumo_error_wrap(err, "streaming server");
	return 0;
}

void cri_runtime_stop_streaming(struct cri_runtime *rt)
{
	cri_stream_server_stop(rt->stream);
	rt->stream = NULL;
}

static int need_server(struct cri_runtime *rt, kumo_error_t *err)
{
	if (!rt->stream)
		return kumo_error(err, KUMO_E_UNAVAILABLE, "kumod's streaming server is not running");
	return 0;
}

/* ---- the CRI calls ------------------------------------------------------------------------ */

/* Stream options as kubelet's streaming server checks them. */
static int check_stdio(const char *call, bool tty, bool in, bool out, bool errs,
		       kumo_error_t *err)
{
	if (tty && errs)
		return kumo_error(err, KUMO_E_INVALID, "%s: tty and stderr cannot both be true",
				  call);
	if (!in && !out && !errs)
		return kumo_error(err, KUMO_E_INVALID,
				  "%s: one of stdin, stdout and stderr must be set", call);
	return 0;
}

int
cri_exec_sync(struct cri_runtime *rt, const ProtobufCMessage *req, ProtobufCMessage **resp,
		  kumo_error_t *err)
{
	const Runtime__V1__ExecSyncRequest *r = (const void *)req;
	if (r->n_cmd == 0)
		return kumo_error(err, KUMO_E_INVALID, "ExecSync: the command is empty");
	struct cri_ctr *c;
	char id[CRI_ID_LEN + 1];
	pthread_mutex_lock(&rt->lock);
	if (running_ctr(rt, r->container_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	memcpy(id, c->id, sizeof(id));
	pthread_mutex_unlock(&rt->lock);
	if (!rt->backend->vms->ops->exec)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "%s", no_exec);
	uint8_t *o = NULL, *e = NULL;
	size_t ol = 0, el = 0;
	int32_t code = 0;
	char **argv = copy_argv(r->cmd, r->n_cmd); /* protobuf-c's is not NULL-terminated */
	int rr = cri_stream_exec_sync(&runtime_ops, rt, id, (const char *const *)argv,
				      r->timeout > 0 ? r->timeout * 1000 : 0, EXEC_SYNC_MAX_OUTPUT,
				      &o, &ol, &e, &el, &code, err);
	for (size_t i = 0; i < r->n_cmd; i++)
		free(argv[i]);
	free(argv);
	if (rr < 0)
		return kumo_error_wrap(err, "exec in container `%.12s`", id);
	Runtime__V1__ExecSyncResponse *m = xmalloc(sizeof(*m));
	*m = (Runtime__V1__ExecSyncResponse)RUNTIME__V1__EXEC_SYNC_RESPONSE__INIT;
	m->stdout = (ProtobufCBinaryData){ol, o};
	m->stderr = (ProtobufCBinaryData){el, e};
	m->exit_code = code;
	*resp = &m->base;
	return 0;
}

int
cri_exec(struct cri_runtime *rt, const ProtobufCMessage *req, ProtobufCMessage **resp,
	     kumo_error_t *err)
{
	const Runtime__V1__ExecRequest *r = (const void *)req;
	if (check_stdio("Exec", r->tty, r->stdin, r->stdout, r->stderr, err) < 0)
		return -1;
	if (r->n_cmd == 0)
		return kumo_error(err, KUMO_E_INVALID, "Exec: the command is empty");
	struct cri_ctr *c;
	pthread_mutex_lock(&rt->lock);
	if (running_ctr(rt, r->container_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	struct cri_stream_request *sr = xzalloc(sizeof(*sr));
	sr->kind = CRI_STREAM_EXEC;
	sr->id = xstrdup(c->id);
	pthread_mutex_unlock(&rt->lock);
	sr->cmd = copy_argv(r->cmd, r->n_cmd);
	sr->tty = r->tty;
	sr->in = r->stdin;
	sr->out = r->stdout;
	sr->err = r->stderr;
	if (!rt->backend->vms->ops->exec || need_server(rt, err) < 0) {
		if (!rt->backend->vms->ops->exec)
			kumo_error(err, KUMO_E_UNSUPPORTED, "%s", no_exec);
		cri_stream_request_free(sr);
		return -1;
	}
	char *url = NULL;
	if (cri_stream_url(rt->stream, sr, &url, err) < 0)
		return -1;
	Runtime__V1__ExecResponse *m = xmalloc(sizeof(*m));
	*m = (Runtime__V1__ExecResponse)RUNTIME__V1__EXEC_RESPONSE__INIT;
	m->url = url;
	*resp = &m->base;
	return 0;
}

int
cri_attach(struct cri_runtime *rt, const ProtobufCMessage *req, ProtobufCMessage **resp,
	       kumo_error_t *err)
{
	const Runtime__V1__AttachRequest *r = (const void *)req;
	if (check_stdio("Attach", r->tty, r->stdin, r->stdout, r->stderr, err) < 0)
		return -1;
	struct cri_ctr *c;
	pthread_mutex_lock(&rt->lock);
	if (running_ctr(rt, r->container_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	bool wants_stdin = r->stdin && c->config && c->config->stdin;
	struct cri_stream_request *sr = xzalloc(sizeof(*sr));
	sr->kind = CRI_STREAM_ATTACH;
	sr->id = xstrdup(c->id);
	pthread_mutex_unlock(&rt->lock);
	/* Said now rather than when the client connects: the VM cannot take stdin. */
	if (wants_stdin && !rt->backend->vms->ops->attach_stdin) {
		kumo_error(err, KUMO_E_UNSUPPORTED, no_stdin, sr->id);
		cri_stream_request_free(sr);
		return -1;
	}
	sr->tty = r->tty;
	sr->in = r->stdin;
	sr->out = r->stdout;
	sr->err = r->stderr;
	char *url = NULL;
	if (need_server(rt, err) < 0) {
		cri_stream_request_free(sr);
		return -1;
	}
	if (cri_stream_url(rt->stream, sr, &url, err) < 0)
		return -1;
	Runtime__V1__AttachResponse *m = xmalloc(sizeof(*m));
	*m = (Runtime__V1__AttachResponse)RUNTIME__V1__ATTACH_RESPONSE__INIT;
	m->url = url;
	*resp = &m->base;
	return 0;
}

int
cri_port_forward(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__PortForwardRequest *r = (const void *)req;
	for (size_t i = 0; i < r->n_port; i++)
		if (r->port[i] < 1 || r->port[i] > 65535)
			return kumo_error(err, KUMO_E_INVALID,
					  "PortForward: port %d is not in 1-65535", r->port[i]);
	struct cri_pod *p;
	pthread_mutex_lock(&rt->lock);
	if (rt_find_pod(rt, r->pod_sandbox_id, &p, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	if (p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
		pthread_mutex_unlock(&rt->lock);
		return kumo_error(err, KUMO_E_PRECONDITION, "pod sandbox `%s` is not ready", p->id);
	}
	if (!p->ip || !*p->ip) {
		int rr = kumo_error(err, KUMO_E_PRECONDITION,
				    "pod sandbox `%s` has no network to forward to (a "
				    "hostNetwork pod runs without one)",
				    p->id);
		pthread_mutex_unlock(&rt->lock);
		return rr;
	}
	struct cri_stream_request *sr = xzalloc(sizeof(*sr));
	sr->kind = CRI_STREAM_PORTFORWARD;
	sr->id = xstrdup(p->id);
	pthread_mutex_unlock(&rt->lock);
	sr->n_ports = r->n_port;
	sr->ports = xzalloc(sizeof(int32_t) * (r->n_port ? r->n_port : 1));
	if (r->n_port) /* protobuf-c leaves port NULL when there is none */
		memcpy(sr->ports, r->port, sizeof(int32_t) * r->n_port);
	char *url = NULL;
	if (need_server(rt, err) < 0) {
		cri_stream_request_free(sr);
		return -1;
	}
	if (cri_stream_url(rt->stream, sr, &url, err) < 0)
		return -1;
	Runtime__V1__PortForwardResponse *m = xmalloc(sizeof(*m));
	*m = (Runtime__V1__PortForwardResponse)RUNTIME__V1__PORT_FORWARD_RESPONSE__INIT;
	m->url = url;
	*resp = &m->base;
	return 0;
}
