/* cri/runtime_container.c - container handlers: Create, Start, Stop, Remove, List,
 * Status, UpdateContainerResources, ReopenContainerLog. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cri/runtime.h"

#define EV(x) RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_##x##_EVENT
#define CS(x) RUNTIME__V1__CONTAINER_STATE__CONTAINER_##x

static const char *state_name(int s)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&runtime__v1__container_state__descriptor, s);
	return v ? v->name : "?";
}

static void publish_ctr(struct cri_runtime *rt, const char *id, int type)
{
	pthread_mutex_lock(&rt->lock);
	struct cri_ctr *c = rt_ctr_by_id(rt, id);
	if (c)
		rt_emit(rt, id, type, rt_pod_by_id(rt, c->pod_id));
	pthread_mutex_unlock(&rt->lock);
}

static void save_or_log(struct cri_runtime *rt, struct cri_ctr *c)
{
	kumo_error_t err = NULL;
	if (rt_save_ctr(rt, c, &err) < 0)
		log_error("%s", kumo_error_msg(err));
	kumo_error_free(&err);
}

/* Everything CreateContainer hands the VM stage, owned in one place. */
struct spec_buf {
	struct cri_container_spec spec;
	char **argv, **env, **dns_servers, **dns_searches;
	struct cri_mount *mounts;
	struct cri_port *ports;
	char *log_path, *pod_ip, *hostname, *image_id;
	struct cri_image_info image; /* what the image stage says of it */
	struct cri_pod_nic nic;      /* the pod's NIC, when pod_ip is not "" */
};

static void spec_buf_clear(struct spec_buf *sb)
{
	for (size_t i = 0; sb->argv && sb->argv[i]; i++)
		free(sb->argv[i]);
	for (size_t i = 0; sb->env && sb->env[i]; i++)
		free(sb->env[i]);
	for (size_t i = 0; sb->dns_servers && sb->dns_servers[i]; i++)
		free(sb->dns_servers[i]);
	for (size_t i = 0; sb->dns_searches && sb->dns_searches[i]; i++)
		free(sb->dns_searches[i]);
	free(sb->argv);
	free(sb->env);
	free(sb->dns_servers);
	free(sb->dns_searches);
	free(sb->mounts);
	free(sb->ports);
	free(sb->log_path);
	free(sb->pod_ip);
	free(sb->hostname);
	free(sb->image_id);
	cri_image_info_clear(&sb->image);
}

/* What a VM cannot give a container, refused at CreateContainer with the pod spec field
 * that asked for it (kubelet shows the message as CreateContainerError and retries with
 * back-off; the pod never reaches a crash loop). `pod` is the sandbox config. The host
 * network is allowed when kumod runs such pods without a NIC (--host-network). */
static int refuse_host_features(const struct cri_runtime *rt,
				const Runtime__V1__PodSandboxConfig *pod,
				const Runtime__V1__ContainerConfig *cfg, kumo_error_t *err)
{
	const Runtime__V1__NamespaceOption *pns =
		pod->linux && pod->linux->security_context
			? pod->linux->security_context->namespace_options : NULL;
	const Runtime__V1__LinuxContainerSecurityContext *sc =
		cfg->linux ? cfg->linux->security_context : NULL;
	const Runtime__V1__NamespaceOption *cns = sc ? sc->namespace_options : NULL;
	const char *name = cfg->metadata->name;
	const int node = RUNTIME__V1__NAMESPACE_MODE__NODE;
	if (!rt->host_network_no_nic && ((pns && pns->network == node) || (cns && cns->network == node)))
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "container `%s`: the pod uses the node's network (spec.hostNetwork: "
				  "true); a kumo container is a VM with its own network and cannot "
				  "join the node's (kumod --host-network no-network runs such pods "
				  "without a network device)", name);
	if ((pns && pns->pid == node) || (cns && cns->pid == node))
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "container `%s`: the pod uses the node's process namespace "
				  "(spec.hostPID: true); a kumo container is a VM and sees no host "
				  "processes", name);
	if ((pns && pns->ipc == node) || (cns && cns->ipc == node))
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "container `%s`: the pod uses the node's IPC namespace (spec.hostIPC: "
				  "true); a kumo container is a VM and shares no IPC with the host",
				  name);
	if (sc && sc->privileged)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "container `%s` is privileged (securityContext.privileged: true); a "
				  "kumo container is a VM with no host devices or capabilities to "
				  "grant", name);
	if (cfg->n_devices)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "container `%s` asks for host device `%s` (devices); a kumo container "
				  "is a VM and gets no host devices", name, cfg->devices[0]->host_path);
	if (cfg->n_cdi_devices)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "container `%s` asks for CDI device `%s` (resources: a device "
				  "plugin's device); a kumo container is a VM and gets no host "
				  "devices", name, cfg->cdi_devices[0]->name);
	return 0;
}

int
cri_create_container(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__CreateContainerRequest *r = (const void *)req;
	/* An image that is a snapshot archive on this node: the container is restored. */
	if (r->config && r->config->image && r->config->image->image[0] == '/')
		return rt_create_from_archive(rt, r, resp, err);
	/* A checkpoint image (pulled): the container is restored from its archive. */
	struct cri_images *im = rt->backend->images;
	struct cri_image_info info = {0};
	kumo_error_t ierr = NULL;
	if (r->config && r->config->image && *r->config->image->image &&
	    im->ops->status(im, r->config->image->image, &info, &ierr) == 0 && info.checkpoint_path) {
		int ret = rt_create_from_checkpoint_image(rt, r, info.checkpoint_path, resp, err);
		cri_image_info_clear(&info);
		return ret;
	}
	cri_image_info_clear(&info);
	kumo_error_free(&ierr);
	return rt_create_container(rt, r, NULL, NULL, resp, err);
}

int rt_create_container(struct cri_runtime *rt, const Runtime__V1__CreateContainerRequest *r,
			const char *restore_dir, const char *incoming, ProtobufCMessage **resp,
			kumo_error_t *err)
{
	const Runtime__V1__ContainerConfig *cfg = r->config;
	if (!*r->pod_sandbox_id)
		return kumo_error(err, KUMO_E_INVALID, "CreateContainer needs pod_sandbox_id");
	if (!cfg || !cfg->metadata || !*cfg->metadata->name)
		return kumo_error(err, KUMO_E_INVALID, "CreateContainer needs config.metadata.name");
	if (!cfg->image || !*cfg->image->image)
		return kumo_error(err, KUMO_E_INVALID, "CreateContainer needs config.image.image");
	struct spec_buf sb = {0};
	char id[CRI_ID_LEN + 1], pod_id[CRI_ID_LEN + 1];

	pthread_mutex_lock(&rt->lock);
	struct cri_pod *p;
	if (rt_find_pod(rt, r->pod_sandbox_id, &p, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	if (p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
		pthread_mutex_unlock(&rt->lock);
		return kumo_error(err, KUMO_E_PRECONDITION, "pod sandbox `%.12s` is not ready", p->id);
	}
	if (refuse_host_features(rt, p->config, cfg, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return kumo_error_wrap(err, "create container `%s`", cfg->metadata->name);
	}
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		if (strcmp(c->pod_id, p->id) == 0 &&
		    strcmp(c->config->metadata->name, cfg->metadata->name) == 0 &&
		    c->config->metadata->attempt == cfg->metadata->attempt) {
			pthread_mutex_unlock(&rt->lock);
			return kumo_error(err, KUMO_E_EXISTS,
					  "container `%s` attempt %u already exists in pod `%.12s` as `%.12s`",
					  cfg->metadata->name, cfg->metadata->attempt, p->id, c->id);
		}
	memcpy(pod_id, p->id, sizeof(pod_id));
	rt_new_id(rt, id);
	const char *dir = p->config->log_directory;
	if (*cfg->log_path && cfg->log_path[0] != '/' && *dir)
		sb.log_path = xasprintf("%s/%s", dir, cfg->log_path);
	else
		sb.log_path = xstrdup(cfg->log_path);
	sb.pod_ip = xstrdup(p->ip);
	sb.hostname = xstrdup(p->config->hostname);
	{
		const Runtime__V1__DNSConfig *dc = p->config->dns_config;
		size_t ns = dc ? dc->n_servers : 0, nq = dc ? dc->n_searches : 0;
		sb.dns_servers = xzalloc(sizeof(char *) * (ns + 1));
		for (size_t i = 0; i < ns; i++)
			sb.dns_servers[i] = xstrdup(dc->servers[i]);
		sb.dns_searches = xzalloc(sizeof(char *) * (nq + 1));
		for (size_t i = 0; i < nq; i++)
			sb.dns_searches[i] = xstrdup(dc->searches[i]);
	}
	size_t np = p->config->n_port_mappings;
	sb.ports = xzalloc(sizeof(*sb.ports) * (np + 1));
	for (size_t i = 0; i < np; i++) {
		sb.ports[i].protocol = p->config->port_mappings[i]->protocol;
		sb.ports[i].container_port = p->config->port_mappings[i]->container_port;
		sb.ports[i].host_port = p->config->port_mappings[i]->host_port;
		sb.ports[i].host_ip = ""; /* the pod record may go; host_ip is not needed here */
	}
	/* Reserve the name now (busy, not yet saved) so a concurrent create cannot take it. */
	struct cri_ctr *c = xzalloc(sizeof(*c));
	memcpy(c->id, id, sizeof(id));
	memcpy(c->pod_id, pod_id, sizeof(pod_id));
	c->state = CS(CREATED);
	c->busy = true;
	c->creating = true;
	c->created_at = rt_now();
	c->reason = xstrdup("");
	c->message = xstrdup("");
	c->image_id = xstrdup("");
	c->log_path = xstrdup(sb.log_path);
	c->config = (Runtime__V1__ContainerConfig *)pb_dup(&cfg->base);
	c->next = rt->ctrs;
	rt->ctrs = c;
	pthread_mutex_unlock(&rt->lock);

	/* In the pod's order: the image (one lookup), the pod's NIC, then the VM. */
	struct cri_backend *b = rt->backend;
	int ret = b->images->ops->status(b->images, cfg->image->image, &sb.image, err);
	if (ret < 0 && restore_dir && (*err)->status == KUMO_E_NOT_FOUND) {
		/* A restore needs no image: the module is in the snapshot's memory. */
		kumo_error_free(err);
		cri_image_info_clear(&sb.image);
		sb.image.id = xstrdup(cfg->image->image);
		ret = 0;
	}
	if (ret < 0 && (*err)->status == KUMO_E_NOT_FOUND)
		kumo_error_wrap(err, "image `%s` is not present (pull it first)", cfg->image->image);
	bool has_nic = ret == 0 && *sb.pod_ip;
	if (has_nic)
		ret = b->podnet->ops->nic(b->podnet, pod_id, sb.pod_ip, &sb.nic, err);
	if (ret == 0) {
		sb.image_id = xstrdup(sb.image.id);
		size_t na = cfg->n_command + cfg->n_args;
		sb.argv = xzalloc(sizeof(char *) * (na + 1));
		for (size_t i = 0; i < cfg->n_command; i++)
			sb.argv[i] = xstrdup(cfg->command[i]);
		for (size_t i = 0; i < cfg->n_args; i++)
			sb.argv[cfg->n_command + i] = xstrdup(cfg->args[i]);
		sb.env = xzalloc(sizeof(char *) * (cfg->n_envs + 1));
		for (size_t i = 0; i < cfg->n_envs; i++)
			sb.env[i] = xasprintf("%s=%.*s", cfg->envs[i]->key,
					      (int)cfg->envs[i]->value.len,
					      cfg->envs[i]->value.data ? (char *)cfg->envs[i]->value.data : "");
		sb.mounts = xzalloc(sizeof(*sb.mounts) * (cfg->n_mounts + 1));
		for (size_t i = 0; i < cfg->n_mounts; i++) {
			sb.mounts[i].container_path = cfg->mounts[i]->container_path;
			sb.mounts[i].host_path = cfg->mounts[i]->host_path;
			sb.mounts[i].readonly = cfg->mounts[i]->readonly;
		}
		const Runtime__V1__LinuxContainerResources *res =
			cfg->linux ? cfg->linux->resources : NULL;
		sb.spec = (struct cri_container_spec){
			.id = id,
			.pod_id = pod_id,
			.name = cfg->metadata->name,
			.attempt = cfg->metadata->attempt,
			.image = cfg->image->image,
			.image_info = &sb.image,
			.argv = (const char *const *)sb.argv,
			.env = (const char *const *)sb.env,
			.working_dir = cfg->working_dir,
			.log_path = sb.log_path,
			.mounts = sb.mounts,
			.n_mounts = cfg->n_mounts,
			.ports = sb.ports,
			.n_ports = np,
			.nic = has_nic ? &sb.nic : NULL,
			.hostname = sb.hostname,
			.dns_servers = (const char *const *)sb.dns_servers,
			.dns_searches = (const char *const *)sb.dns_searches,
			.memory_limit_bytes = res ? res->memory_limit_in_bytes : 0,
			.cpu_quota = res ? res->cpu_quota : 0,
			.cpu_period = res ? res->cpu_period : 0,
			.restore_dir = restore_dir,
			.restore_incoming = incoming,
			.stdin = cfg->stdin,
		};
		for (size_t i = 0; i < cfg->n_annotations; i++)
			if (strcmp(cfg->annotations[i]->key, "io.kubernetes.container.ports") == 0)
				sb.spec.ports_annotation = cfg->annotations[i]->value;
		ret = b->vms->ops->create(b->vms, &sb.spec, err);
	}

	pthread_mutex_lock(&rt->lock);
	c = rt_ctr_by_id(rt, id);
	if (ret == 0 && !c)
		ret = kumo_error(err, KUMO_E_NOT_FOUND, "container `%s` was removed while created", id);
	if (ret == 0) {
		c->busy = false;
		c->creating = false;
		free(c->image_id);
		c->image_id = xstrdup(sb.image_id);
		ret = rt_save_ctr(rt, c, err);
	}
	if (ret < 0 && c)
		rt_delete_ctr(rt, c);
	pthread_mutex_unlock(&rt->lock);
	if (ret < 0) {
		if (sb.image_id) {
			kumo_error_t rerr = NULL;
			b->vms->ops->remove(b->vms, id, &rerr); /* best effort: the create failed */
			kumo_error_free(&rerr);
		}
		spec_buf_clear(&sb);
		return kumo_error_wrap(err, "create container `%s`", cfg->metadata->name);
	}
	spec_buf_clear(&sb);
	log_info("container %.12s (%s) created in pod %.12s", id, cfg->metadata->name, pod_id);
	publish_ctr(rt, id, EV(CREATED));
	Runtime__V1__CreateContainerResponse *m = CRI_NEW(Runtime__V1__CreateContainerResponse,
							  RUNTIME__V1__CREATE_CONTAINER_RESPONSE__INIT);
	m->container_id = xstrdup(id);
	*resp = &m->base;
	return 0;
}

/* Looks up a container by id or prefix and copies its full id (takes the lock). */
static int resolve(struct cri_runtime *rt, const char *id, char full[CRI_ID_LEN + 1],
		   kumo_error_t *err)
{
	struct cri_ctr *c;
	pthread_mutex_lock(&rt->lock);
	int r = rt_find_ctr(rt, id, &c, err);
	if (r == 0)
		memcpy(full, c->id, CRI_ID_LEN + 1);
	pthread_mutex_unlock(&rt->lock);
	return r;
}

int
cri_start_container(struct cri_runtime *rt, const ProtobufCMessage *req,
		    ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__StartContainerRequest *r = (const void *)req;
	struct cri_ctr *c;
	char id[CRI_ID_LEN + 1];
	pthread_mutex_lock(&rt->lock);
	if (rt_find_ctr(rt, r->container_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	if (c->state != CS(CREATED) || c->busy) {
		int st = c->state;
		pthread_mutex_unlock(&rt->lock);
		return kumo_error(err, KUMO_E_PRECONDITION, "container `%.12s` is %s, not CREATED",
				  r->container_id, c->busy ? "busy" : state_name(st));
	}
	c->busy = true;
	memcpy(id, c->id, sizeof(id));
	pthread_mutex_unlock(&rt->lock);

	kumo_error_t serr = NULL;
	/* The start time is taken before the resume so that it never follows the exit. */
	int64_t started = rt_now();
	int ret = rt->backend->vms->ops->start(rt->backend->vms, id, &serr);

	pthread_mutex_lock(&rt->lock);
	c = rt_ctr_by_id(rt, id);
	if (c) {
		c->busy = false;
		struct cri_vm_status *pending = c->pending_exit;
		c->pending_exit = NULL;
		if (ret < 0) {
			c->state = CS(EXITED);
			c->exit_code = 128;
			c->finished_at = rt_now();
			free(c->reason);
			free(c->message);
			c->reason = xstrdup("StartError");
			c->message = xstrdup(kumo_error_msg(serr));
			save_or_log(rt, c);
		} else {
			c->state = CS(RUNNING);
			c->started_at = started;
			save_or_log(rt, c);
			log_info("container %.12s started", id);
			rt_emit(rt, id, EV(STARTED), rt_pod_by_id(rt, c->pod_id));
			/* An exit that raced with the start is recorded after it. */
			if (pending && rt_apply_vm_status(c, pending)) {
				save_or_log(rt, c);
				log_info("container %.12s exited with code %d (%s)", id, c->exit_code,
					 c->reason);
				rt_emit(rt, id, EV(STOPPED), rt_pod_by_id(rt, c->pod_id));
			}
		}
		free(pending);
	}
	pthread_mutex_unlock(&rt->lock);
	if (ret < 0) {
		*err = serr;
		return kumo_error_wrap(err, "start container `%.12s`", id);
	}
	*resp = &CRI_NEW(Runtime__V1__StartContainerResponse,
			 RUNTIME__V1__START_CONTAINER_RESPONSE__INIT)->base;
	return 0;
}

int rt_ctr_stop(struct cri_runtime *rt, const char *id, int64_t timeout_s, kumo_error_t *err)
{
	pthread_mutex_lock(&rt->lock);
	struct cri_ctr *c = rt_ctr_by_id(rt, id);
	bool running = c && c->state == CS(RUNNING);
	pthread_mutex_unlock(&rt->lock);
	if (!running)
		return 0;
	struct cri_vms *vms = rt->backend->vms;
	if (vms->ops->stop(vms, id, timeout_s < 0 ? 0 : timeout_s, err) < 0)
		return kumo_error_wrap(err, "stop container `%.12s`", id);
	struct cri_vm_status st = {0};
	if (vms->ops->status(vms, id, &st, err) < 0)
		return kumo_error_wrap(err, "stop container `%.12s`", id);
	if (st.state == CRI_VM_RUNNING)
		return kumo_error(err, KUMO_E_INTERNAL, "container `%.12s` still runs after stop", id);
	pthread_mutex_lock(&rt->lock);
	c = rt_ctr_by_id(rt, id);
	if (c && c->state == CS(RUNNING) && rt_apply_vm_status(c, &st)) {
		save_or_log(rt, c);
		log_info("container %.12s stopped", id);
		rt_emit(rt, id, EV(STOPPED), rt_pod_by_id(rt, c->pod_id));
	}
	pthread_mutex_unlock(&rt->lock);
	return 0;
}

int
cri_stop_container(struct cri_runtime *rt, const ProtobufCMessage *req,
		   ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__StopContainerRequest *r = (const void *)req;
	char id[CRI_ID_LEN + 1];
	if (resolve(rt, r->container_id, id, err) < 0 || rt_ctr_stop(rt, id, r->timeout, err) < 0)
		return -1;
	*resp = &CRI_NEW(Runtime__V1__StopContainerResponse,
			 RUNTIME__V1__STOP_CONTAINER_RESPONSE__INIT)->base;
	return 0;
}

int rt_ctr_remove(struct cri_runtime *rt, const char *id, kumo_error_t *err)
{
	if (rt_ctr_stop(rt, id, 0, err) < 0)
		return -1;
	if (rt->backend->vms->ops->remove(rt->backend->vms, id, err) < 0)
		return kumo_error_wrap(err, "remove container `%.12s`", id);
	pthread_mutex_lock(&rt->lock);
	struct cri_ctr *c = rt_ctr_by_id(rt, id);
	if (c) {
		char pod_id[CRI_ID_LEN + 1];
		memcpy(pod_id, c->pod_id, sizeof(pod_id));
		rt_delete_ctr(rt, c);
		log_info("container %.12s removed", id);
		rt_emit(rt, id, EV(DELETED), rt_pod_by_id(rt, pod_id));
	}
	pthread_mutex_unlock(&rt->lock);
	return 0;
}

int
cri_remove_container(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__RemoveContainerRequest *r = (const void *)req;
	char id[CRI_ID_LEN + 1];
	kumo_error_t ferr = NULL;
	if (resolve(rt, r->container_id, id, &ferr) < 0) {
		if (ferr->status != KUMO_E_NOT_FOUND) {
			*err = ferr;
			return -1;
		}
		kumo_error_free(&ferr); /* already gone: removal is idempotent */
	} else if (rt_ctr_remove(rt, id, err) < 0) {
		return -1;
	}
	*resp = &CRI_NEW(Runtime__V1__RemoveContainerResponse,
			 RUNTIME__V1__REMOVE_CONTAINER_RESPONSE__INIT)->base;
	return 0;
}

/* Filter shared by ListContainers and ListContainerStats (lock held). */
bool rt_ctr_matches(struct cri_runtime *rt, const struct cri_ctr *c, const char *id,
		    const char *pod_id, int state, json_t *sel)
{
	(void)rt;
	if (id && *id && strncmp(c->id, id, strlen(id)) != 0)
		return false;
	if (pod_id && *pod_id && strncmp(c->pod_id, pod_id, strlen(pod_id)) != 0)
		return false;
	if (state >= 0 && c->state != state)
		return false;
	if (sel && json_object_size(sel)) {
		json_t *labels = pbjson_get_field(&c->config->base, "labels");
		bool ok = rt_labels_match(labels, sel);
		json_decref(labels);
		return ok;
	}
	return true;
}

int
cri_list_containers(struct cri_runtime *rt, const ProtobufCMessage *req,
		    ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ListContainersRequest *r = (const void *)req;
	const Runtime__V1__ContainerFilter *f = r->filter;
	json_t *sel = f ? pbjson_get_field(&f->base, "label_selector") : NULL;
	Runtime__V1__ListContainersResponse *m = CRI_NEW(Runtime__V1__ListContainersResponse,
							 RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT);
	pthread_mutex_lock(&rt->lock);
	size_t n = 0;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		n++;
	m->containers = xzalloc(sizeof(*m->containers) * (n + 1));
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next) {
		if (c->creating)
			continue;
		if (f && !rt_ctr_matches(rt, c, f->id, f->pod_sandbox_id,
					 f->state ? (int)f->state->state : -1, sel))
			continue;
		Runtime__V1__Container *it =
			CRI_NEW(Runtime__V1__Container, RUNTIME__V1__CONTAINER__INIT);
		it->id = pbs(c->id);
		it->pod_sandbox_id = pbs(c->pod_id);
		it->metadata = (Runtime__V1__ContainerMetadata *)pb_dup(&c->config->metadata->base);
		it->image = (Runtime__V1__ImageSpec *)pb_dup(&c->config->image->base);
		it->image_ref = pbs(c->image_id);
		it->image_id = pbs(c->image_id);
		it->state = c->state;
		it->created_at = c->created_at;
		pbjson_copy_field(&it->base, "labels", &c->config->base, "labels");
		pbjson_copy_field(&it->base, "annotations", &c->config->base, "annotations");
		m->containers[m->n_containers++] = it;
	}
	pthread_mutex_unlock(&rt->lock);
	json_decref(sel);
	*resp = &m->base;
	return 0;
}

int
cri_container_status(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ContainerStatusRequest *r = (const void *)req;
	struct cri_ctr *c;
	pthread_mutex_lock(&rt->lock);
	if (rt_find_ctr(rt, r->container_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	Runtime__V1__ContainerStatusResponse *m = CRI_NEW(
		Runtime__V1__ContainerStatusResponse, RUNTIME__V1__CONTAINER_STATUS_RESPONSE__INIT);
	m->status = rt_ctr_status_msg(c);
	if (r->verbose) {
		json_t *info = json_pack("{s:s, s:s, s:o}", "backend", rt->backend->name,
					 "sandboxID", c->pod_id, "config",
					 pbjson_from_message(&c->config->base));
		rt_set_verbose_info(&m->base, info);
		json_decref(info);
	}
	pthread_mutex_unlock(&rt->lock);
	*resp = &m->base;
	return 0;
}

int
cri_update_container_resources(struct cri_runtime *rt, const ProtobufCMessage *req,
			       ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__UpdateContainerResourcesRequest *r = (const void *)req;
	struct cri_ctr *c;
	pthread_mutex_lock(&rt->lock);
	if (rt_find_ctr(rt, r->container_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	/* Recorded and reported in ContainerStatus; a VM's size is fixed when it is
	 * created, so new limits apply to the container's next attempt. */
	if (r->linux) {
		if (!c->config->linux)
			c->config->linux = CRI_NEW(Runtime__V1__LinuxContainerConfig,
						   RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT);
		if (c->config->linux->resources)
			protobuf_c_message_free_unpacked(&c->config->linux->resources->base, NULL);
		c->config->linux->resources =
			(Runtime__V1__LinuxContainerResources *)pb_dup(&r->linux->base);
	}
	int ret = rt_save_ctr(rt, c, err);
	pthread_mutex_unlock(&rt->lock);
	if (ret < 0)
		return -1;
	*resp = &CRI_NEW(Runtime__V1__UpdateContainerResourcesResponse,
			 RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_RESPONSE__INIT)->base;
	return 0;
}

int
cri_reopen_container_log(struct cri_runtime *rt, const ProtobufCMessage *req,
			 ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ReopenContainerLogRequest *r = (const void *)req;
	struct cri_ctr *c;
	char id[CRI_ID_LEN + 1];
	pthread_mutex_lock(&rt->lock);
	if (rt_find_ctr(rt, r->container_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	int st = c->state;
	memcpy(id, c->id, sizeof(id));
	autofree char *log_path = xstrdup(c->log_path ? c->log_path : "");
	pthread_mutex_unlock(&rt->lock);
	if (st != CS(RUNNING)) {
		/* CRI lets a runtime either refuse or make the new, empty file and succeed: a
		 * container that ends while kubelet rotates its log (kubelet renames the file,
		 * then asks) gets its new file, as a running one would. */
		if (!*log_path)
			return kumo_error(err, KUMO_E_PRECONDITION,
					  "container `%.12s` is not running and has no log", id);
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd < 0)
			return kumo_error_errno(err, errno, "container `%.12s` is not running: create "
						"its log `%s`", id, log_path);
		close(fd);
		*resp = &CRI_NEW(Runtime__V1__ReopenContainerLogResponse,
				 RUNTIME__V1__REOPEN_CONTAINER_LOG_RESPONSE__INIT)->base;
		return 0;
	}
	struct cri_vms *vms = rt->backend->vms;
	if (vms->ops->log_reopen && vms->ops->log_reopen(vms, id, err) < 0)
		return kumo_error_wrap(err, "reopen log of container `%.12s`", id);
	*resp = &CRI_NEW(Runtime__V1__ReopenContainerLogResponse,
			 RUNTIME__V1__REOPEN_CONTAINER_LOG_RESPONSE__INIT)->base;
	return 0;
}
