/* cri/runtime_pod.c - pod sandbox handlers: RunPodSandbox, StopPodSandbox,
 * RemovePodSandbox, PodSandboxStatus, ListPodSandbox. */
#include <string.h>

#include "cri/runtime.h"

#define EV(x) RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_##x##_EVENT

static void publish(struct cri_runtime *rt, const char *id, int type)
{
	pthread_mutex_lock(&rt->lock);
	struct cri_pod *p = rt_pod_by_id(rt, id);
	if (p)
		rt_emit(rt, id, type, p);
	pthread_mutex_unlock(&rt->lock);
}

int
cri_run_pod_sandbox(struct cri_runtime *rt, const ProtobufCMessage *req,
		    ProtobufCMessage **resp, kumo_error_t *err)
{
	return rt_run_pod_sandbox(rt, (const void *)req, NULL, resp, err);
}

int rt_run_pod_sandbox(struct cri_runtime *rt, const Runtime__V1__RunPodSandboxRequest *r,
		       const struct cri_pod_restore *restore, ProtobufCMessage **resp,
		       kumo_error_t *err)
{
	const Runtime__V1__PodSandboxConfig *cfg = r->config;
	if (!cfg || !cfg->metadata || !*cfg->metadata->name || !*cfg->metadata->uid ||
	    !*cfg->metadata->namespace_)
		return kumo_error(err, KUMO_E_INVALID,
				  "RunPodSandbox needs config.metadata with name, uid and namespace");
	/* The handlers Status advertises (cri/runtime_info.c): the default and kumo's own
	 * (a mixed node's cri/route.c sends every other handler to the downstream). */
	if (r->runtime_handler && *r->runtime_handler &&
	    !rt_is_kumo_handler(rt, r->runtime_handler))
		return kumo_error(err, KUMO_E_INVALID,
				  "no runtime handler `%s`: kumod runs \"\" and \"%s\" "
				  "(RuntimeClass handler %s)", r->runtime_handler,
				  rt->kumo_handlers[0], rt->kumo_handlers[0]);
	const Runtime__V1__PodSandboxMetadata *md = cfg->metadata;
	char id[CRI_ID_LEN + 1];

	pthread_mutex_lock(&rt->lock);
	for (struct cri_pod *p = rt->pods; p; p = p->next) {
		const Runtime__V1__PodSandboxMetadata *o = p->config->metadata;
		if (strcmp(o->name, md->name) == 0 && strcmp(o->uid, md->uid) == 0 &&
		    strcmp(o->namespace_, md->namespace_) == 0 && o->attempt == md->attempt) {
			pthread_mutex_unlock(&rt->lock);
			return kumo_error(err, KUMO_E_EXISTS,
					  "pod sandbox `%s/%s` attempt %u already exists as `%.12s`",
					  md->namespace_, md->name, md->attempt, p->id);
		}
	}
	rt_new_id(rt, id);
	struct cri_pod *p = xzalloc(sizeof(*p));
	memcpy(p->id, id, sizeof(id));
	p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	p->created_at = rt_now();
	p->ip = xstrdup("");
	p->runtime_handler = pbs(r->runtime_handler);
	p->config = (Runtime__V1__PodSandboxConfig *)pb_dup(&cfg->base);
	p->next = rt->pods;
	rt->pods = p;
	/* Recorded NOTREADY before the slow part: a crash leaves a pod kubelet can remove. */
	if (rt_save_pod(rt, p, err) < 0) {
		rt_delete_pod(rt, p);
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	autofree char *cidr = xstrdup(rt->pod_cidr);
	pthread_mutex_unlock(&rt->lock);

	size_t n_ports = cfg->n_port_mappings;
	autofree struct cri_port *ports = xzalloc(sizeof(*ports) * (n_ports + 1));
	for (size_t i = 0; i < n_ports; i++) {
		ports[i].protocol = cfg->port_mappings[i]->protocol;
		ports[i].container_port = cfg->port_mappings[i]->container_port;
		ports[i].host_port = cfg->port_mappings[i]->host_port;
		ports[i].host_ip = cfg->port_mappings[i]->host_ip;
	}
	/* DNSConfig's lists, NULL-terminated (protobuf-c's are counted). */
	const Runtime__V1__DNSConfig *dc = cfg->dns_config;
	autofree const char **dns = xzalloc(sizeof(char *) * (dc ? dc->n_servers + 1 : 1));
	autofree const char **search = xzalloc(sizeof(char *) * (dc ? dc->n_searches + 1 : 1));
	autofree const char **opts = xzalloc(sizeof(char *) * (dc ? dc->n_options + 1 : 1));
	for (size_t i = 0; dc && i < dc->n_servers; i++)
		dns[i] = dc->servers[i];
	for (size_t i = 0; dc && i < dc->n_searches; i++)
		search[i] = dc->searches[i];
	for (size_t i = 0; dc && i < dc->n_options; i++)
		opts[i] = dc->options[i];
	const char *ingress = NULL, *egress = NULL, *want_ip = NULL;
	for (size_t i = 0; i < cfg->n_annotations; i++) {
		if (strcmp(cfg->annotations[i]->key, "kubernetes.io/ingress-bandwidth") == 0)
			ingress = cfg->annotations[i]->value;
		else if (strcmp(cfg->annotations[i]->key, "kubernetes.io/egress-bandwidth") == 0)
			egress = cfg->annotations[i]->value;
		else if (strcmp(cfg->annotations[i]->key, CRI_ANNOTATION_IP) == 0)
			want_ip = cfg->annotations[i]->value;
	}
	struct cri_pod_spec spec = {
		.id = id,
		.name = md->name,
		.namespace = md->namespace_,
		.uid = md->uid,
		.hostname = cfg->hostname,
		.dns_servers = dns,
		.dns_searches = search,
		.dns_options = opts,
		.ingress_bandwidth = ingress,
		.egress_bandwidth = egress,
		.ip = want_ip,
		.pod_cidr = cidr,
		.ports = ports,
		.n_ports = n_ports,
		.host_network = cfg->linux && cfg->linux->security_context &&
				cfg->linux->security_context->namespace_options &&
				cfg->linux->security_context->namespace_options->network ==
					RUNTIME__V1__NAMESPACE_MODE__NODE,
	};
	autofree char *ip = NULL;
	struct cri_podnet *pn = rt->backend->podnet;
	if (pn->ops->setup(pn, &spec, &ip, err) < 0) {
		pthread_mutex_lock(&rt->lock);
		p = rt_pod_by_id(rt, id);
		if (p)
			rt_delete_pod(rt, p);
		pthread_mutex_unlock(&rt->lock);
		return kumo_error_wrap(err, "pod `%s/%s` network", md->namespace_, md->name);
	}

	/* A pod VM (when the VM stage runs pods as one VM): booted now, on the pod's NIC,
	 * ready for containers when RunPodSandbox returns. */
	struct cri_vms *vms = rt->backend->vms;
	if (vms->ops->pod_run) {
		struct cri_pod_nic nic;
		const Runtime__V1__LinuxContainerResources *res =
			cfg->linux ? cfg->linux->resources : NULL;
		struct cri_pod_vm_spec vs = {
			.id = id, .name = md->name, .hostname = cfg->hostname,
			.dns_servers = dns, .dns_searches = search,
			.memory_limit_bytes = res ? res->memory_limit_in_bytes : 0,
			.restore = restore,
		};
		int vr = 0;
		if (ip && *ip) {
			vr = pn->ops->nic(pn, id, ip, &nic, err);
			vs.nic = &nic;
		}
		if (vr == 0)
			vr = vms->ops->pod_run(vms, &vs, err);
		if (vr < 0) {
			kumo_error_t terr = NULL;
			if (pn->ops->teardown(pn, id, &terr) < 0)
				log_warn("pod %.12s: %s", id, kumo_error_msg(terr));
			kumo_error_free(&terr);
			pthread_mutex_lock(&rt->lock);
			p = rt_pod_by_id(rt, id);
			if (p)
				rt_delete_pod(rt, p);
			pthread_mutex_unlock(&rt->lock);
			return kumo_error_wrap(err, "pod `%s/%s`", md->namespace_, md->name);
		}
	}

	pthread_mutex_lock(&rt->lock);
	p = rt_pod_by_id(rt, id);
	if (!p) {
		pthread_mutex_unlock(&rt->lock);
		return kumo_error(err, KUMO_E_NOT_FOUND, "pod sandbox `%s` was removed while starting",
				  id);
	}
	free(p->ip);
	p->ip = xstrdup(ip ? ip : "");
	p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	int r2 = rt_save_pod(rt, p, err);
	if (r2 < 0)
		p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY; /* as on disk */
	pthread_mutex_unlock(&rt->lock);
	if (r2 < 0) {
		/* The pod stays NOTREADY (its record says so): its VM goes now, nothing else
		 * could ever use it. */
		kumo_error_t verr = NULL;
		if (vms->ops->pod_remove && vms->ops->pod_remove(vms, id, &verr) < 0)
			log_warn("pod %.12s: %s", id, kumo_error_msg(verr));
		kumo_error_free(&verr);
		return -1;
	}
	log_info("pod %.12s (%s/%s) ready, ip `%s`", id, md->namespace_, md->name, ip ? ip : "");
	publish(rt, id, EV(CREATED));
	publish(rt, id, EV(STARTED));
	Runtime__V1__RunPodSandboxResponse *resp_msg =
		CRI_NEW(Runtime__V1__RunPodSandboxResponse, RUNTIME__V1__RUN_POD_SANDBOX_RESPONSE__INIT);
	resp_msg->pod_sandbox_id = xstrdup(id);
	*resp = &resp_msg->base;
	return 0;
}

/* Full ids of the pod's containers (lock held); NULL-terminated, caller frees. */
static char **pod_ctr_ids(struct cri_runtime *rt, const char *pod_id, bool running_only)
{
	size_t n = 0;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		n++;
	char **ids = xzalloc(sizeof(char *) * (n + 1));
	n = 0;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		if (strcmp(c->pod_id, pod_id) == 0 &&
		    (!running_only || c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING))
			ids[n++] = xstrdup(c->id);
	return ids;
}

static void free_ids(char **ids)
{
	for (size_t i = 0; ids && ids[i]; i++)
		free(ids[i]);
	free(ids);
}

/* Stops every container of the pod, tears its network down, marks it NOTREADY. */
static int pod_stop(struct cri_runtime *rt, const char *id, kumo_error_t *err)
{
	pthread_mutex_lock(&rt->lock);
	char **ids = pod_ctr_ids(rt, id, true);
	pthread_mutex_unlock(&rt->lock);
	int r = 0;
	for (size_t i = 0; ids[i] && r == 0; i++)
		r = rt_ctr_stop(rt, ids[i], 0, err);
	free_ids(ids);
	if (r < 0)
		return kumo_error_wrap(err, "stop pod sandbox `%.12s`", id);
	struct cri_vms *vms = rt->backend->vms;
	if (vms->ops->pod_stop && vms->ops->pod_stop(vms, id, err) < 0)
		return kumo_error_wrap(err, "stop pod sandbox `%.12s`", id);
	if (rt->backend->podnet->ops->teardown(rt->backend->podnet, id, err) < 0)
		return kumo_error_wrap(err, "stop pod sandbox `%.12s`", id);
	pthread_mutex_lock(&rt->lock);
	struct cri_pod *p = rt_pod_by_id(rt, id);
	bool changed = p && p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	if (changed) {
		p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
		r = rt_save_pod(rt, p, err);
	}
	pthread_mutex_unlock(&rt->lock);
	if (changed && r == 0) {
		log_info("pod %.12s stopped", id);
		publish(rt, id, EV(STOPPED));
	}
	return r;
}

int
cri_stop_pod_sandbox(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__StopPodSandboxRequest *r = (const void *)req;
	struct cri_pod *p;
	char id[CRI_ID_LEN + 1];
	pthread_mutex_lock(&rt->lock);
	int found = rt_find_pod(rt, r->pod_sandbox_id, &p, err);
	if (found == 0)
		memcpy(id, p->id, sizeof(id));
	pthread_mutex_unlock(&rt->lock);
	if (found < 0)
		return -1;
	if (pod_stop(rt, id, err) < 0)
		return -1;
	*resp = &CRI_NEW(Runtime__V1__StopPodSandboxResponse,
			 RUNTIME__V1__STOP_POD_SANDBOX_RESPONSE__INIT)->base;
	return 0;
}

int
cri_remove_pod_sandbox(struct cri_runtime *rt, const ProtobufCMessage *req,
		       ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__RemovePodSandboxRequest *r = (const void *)req;
	struct cri_pod *p;
	char id[CRI_ID_LEN + 1];
	kumo_error_t ferr = NULL;
	pthread_mutex_lock(&rt->lock);
	int found = rt_find_pod(rt, r->pod_sandbox_id, &p, &ferr);
	if (found == 0)
		memcpy(id, p->id, sizeof(id));
	pthread_mutex_unlock(&rt->lock);
	if (found < 0) {
		/* Removing what is already gone succeeds (kubelet retries removals). */
		int st = ferr->status;
		if (st != KUMO_E_NOT_FOUND) {
			*err = ferr;
			return -1;
		}
		kumo_error_free(&ferr);
		*resp = &CRI_NEW(Runtime__V1__RemovePodSandboxResponse,
				 RUNTIME__V1__REMOVE_POD_SANDBOX_RESPONSE__INIT)->base;
		return 0;
	}
	if (pod_stop(rt, id, err) < 0)
		return -1;
	pthread_mutex_lock(&rt->lock);
	char **ids = pod_ctr_ids(rt, id, false);
	pthread_mutex_unlock(&rt->lock);
	int rr = 0;
	for (size_t i = 0; ids[i] && rr == 0; i++)
		rr = rt_ctr_remove(rt, ids[i], err);
	free_ids(ids);
	struct cri_vms *vms = rt->backend->vms;
	if (rr == 0 && vms->ops->pod_remove)
		rr = vms->ops->pod_remove(vms, id, err);
	if (rr < 0)
		return kumo_error_wrap(err, "remove pod sandbox `%.12s`", id);
	pthread_mutex_lock(&rt->lock);
	p = rt_pod_by_id(rt, id);
	if (p) {
		rt_emit(rt, id, EV(DELETED), p);
		rt_delete_pod(rt, p);
		log_info("pod %.12s removed", id);
	}
	pthread_mutex_unlock(&rt->lock);
	*resp = &CRI_NEW(Runtime__V1__RemovePodSandboxResponse,
			 RUNTIME__V1__REMOVE_POD_SANDBOX_RESPONSE__INIT)->base;
	return 0;
}

int
cri_pod_sandbox_status(struct cri_runtime *rt, const ProtobufCMessage *req,
		       ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__PodSandboxStatusRequest *r = (const void *)req;
	struct cri_pod *p;
	pthread_mutex_lock(&rt->lock);
	if (rt_find_pod(rt, r->pod_sandbox_id, &p, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	Runtime__V1__PodSandboxStatusResponse *m = CRI_NEW(
		Runtime__V1__PodSandboxStatusResponse, RUNTIME__V1__POD_SANDBOX_STATUS_RESPONSE__INIT);
	m->status = rt_pod_status_msg(rt, p);
	size_t n = 0;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		n += strcmp(c->pod_id, p->id) == 0;
	m->containers_statuses = xzalloc(sizeof(*m->containers_statuses) * (n + 1));
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		if (strcmp(c->pod_id, p->id) == 0)
			m->containers_statuses[m->n_containers_statuses++] = rt_ctr_status_msg(c);
	m->timestamp = rt_now();
	if (r->verbose) {
		json_t *info = json_pack("{s:s, s:s, s:o}", "backend", rt->backend->name,
					 "pod_cidr", rt->pod_cidr, "config",
					 pbjson_from_message(&p->config->base));
		rt_set_verbose_info(&m->base, info);
		json_decref(info);
	}
	pthread_mutex_unlock(&rt->lock);
	*resp = &m->base;
	return 0;
}

int
cri_list_pod_sandbox(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ListPodSandboxRequest *r = (const void *)req;
	const Runtime__V1__PodSandboxFilter *f = r->filter;
	json_t *sel = f ? pbjson_get_field(&f->base, "label_selector") : NULL;
	Runtime__V1__ListPodSandboxResponse *m = CRI_NEW(Runtime__V1__ListPodSandboxResponse,
							 RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT);
	pthread_mutex_lock(&rt->lock);
	size_t n = 0;
	for (struct cri_pod *p = rt->pods; p; p = p->next)
		n++;
	m->items = xzalloc(sizeof(*m->items) * (n + 1));
	for (struct cri_pod *p = rt->pods; p; p = p->next) {
		if (f && *f->id && strncmp(p->id, f->id, strlen(f->id)) != 0)
			continue;
		if (f && f->state && (int)f->state->state != p->state)
			continue;
		if (sel && json_object_size(sel)) {
			json_t *labels = pbjson_get_field(&p->config->base, "labels");
			bool ok = rt_labels_match(labels, sel);
			json_decref(labels);
			if (!ok)
				continue;
		}
		Runtime__V1__PodSandbox *it =
			CRI_NEW(Runtime__V1__PodSandbox, RUNTIME__V1__POD_SANDBOX__INIT);
		it->id = pbs(p->id);
		it->metadata =
			(Runtime__V1__PodSandboxMetadata *)pb_dup(&p->config->metadata->base);
		it->state = p->state;
		it->created_at = p->created_at;
		pbjson_copy_field(&it->base, "labels", &p->config->base, "labels");
		pbjson_copy_field(&it->base, "annotations", &p->config->base, "annotations");
		it->runtime_handler = pbs(p->runtime_handler);
		m->items[m->n_items++] = it;
	}
	pthread_mutex_unlock(&rt->lock);
	json_decref(sel);
	*resp = &m->base;
	return 0;
}
