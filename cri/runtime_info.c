/* cri/runtime_info.c - Version, Status, RuntimeConfig, UpdateRuntimeConfig. */
#include <string.h>

#include "cri/runtime.h"

int
cri_version(struct cri_runtime *rt, const ProtobufCMessage *req,
	    ProtobufCMessage **resp, kumo_error_t *err)
{
	Runtime__V1__VersionResponse *m =
		CRI_NEW(Runtime__V1__VersionResponse, RUNTIME__V1__VERSION_RESPONSE__INIT);
	m->version = xstrdup("0.1.0"); /* the kubelet runtime API version, as containerd */
	m->runtime_name = xstrdup(CRI_RUNTIME_NAME);
	m->runtime_version = xstrdup(KUMO_VERSION);
	m->runtime_api_version = xstrdup(CRI_API_VERSION);
	*resp = &m->base;
	return 0;
}

static Runtime__V1__RuntimeCondition *condition(const char *type, bool ok, const char *reason,
						const char *message)
{
	Runtime__V1__RuntimeCondition *c =
		CRI_NEW(Runtime__V1__RuntimeCondition, RUNTIME__V1__RUNTIME_CONDITION__INIT);
	c->type = xstrdup(type);
	c->status = ok;
	c->reason = pbs(reason);
	c->message = pbs(message);
	return c;
}

int
cri_status(struct cri_runtime *rt, const ProtobufCMessage *req,
	   ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__StatusRequest *r = (const void *)req;
	struct cri_backend *b = rt->backend;
	autofree char *reason = NULL, *message = NULL;
	bool net = b->podnet->ops->ready(b->podnet, &reason, &message);
	Runtime__V1__StatusResponse *m =
		CRI_NEW(Runtime__V1__StatusResponse, RUNTIME__V1__STATUS_RESPONSE__INIT);
	m->status = CRI_NEW(Runtime__V1__RuntimeStatus, RUNTIME__V1__RUNTIME_STATUS__INIT);
	m->status->conditions = xzalloc(sizeof(*m->status->conditions) * 2);
	m->status->conditions[m->status->n_conditions++] =
		condition("RuntimeReady", true, "", "");
	m->status->conditions[m->status->n_conditions++] =
		condition("NetworkReady", net, net ? "" : (reason ? reason : "NetworkPluginNotReady"),
			  net ? "" : (message ? message : "pod networking is not available"));
	/* The default handler and kumo's ("kumo", the RuntimeClass handler deploy/k8s
	 * installs, unless configured otherwise): on a kumo-only node all run the pod the
	 * same way; on a mixed node the default is the downstream's or kumo's as configured
	 * (cri/route.c adds the downstream's own handlers). */
	size_t nh = 1;
	while (rt->kumo_handlers[nh - 1])
		nh++;
	m->runtime_handlers = xzalloc(sizeof(*m->runtime_handlers) * nh);
	for (size_t i = 0; i < nh; i++) {
		Runtime__V1__RuntimeHandler *h =
			CRI_NEW(Runtime__V1__RuntimeHandler, RUNTIME__V1__RUNTIME_HANDLER__INIT);
		h->name = xstrdup(i == 0 ? "" : rt->kumo_handlers[i - 1]);
		h->features = CRI_NEW(Runtime__V1__RuntimeHandlerFeatures,
				      RUNTIME__V1__RUNTIME_HANDLER_FEATURES__INIT);
		m->runtime_handlers[m->n_runtime_handlers++] = h;
	}
	m->features = CRI_NEW(Runtime__V1__RuntimeFeatures, RUNTIME__V1__RUNTIME_FEATURES__INIT);
	if (r->verbose) {
		pthread_mutex_lock(&rt->lock);
		/* `crictl info` shows this map: "accel" says what VMs run with and why. */
		const char *accel = b->vms->ops->accel ? b->vms->ops->accel(b->vms) : NULL;
		json_t *info = json_pack("{s:s, s:s, s:s, s:s, s:s}", "backend", b->name, "root",
					 rt->root, "pod_cidr", rt->pod_cidr, "version", KUMO_VERSION,
					 "accel", accel ? accel : "none (this backend runs no VMs)");
		pthread_mutex_unlock(&rt->lock);
		rt_set_verbose_info(&m->base, info);
		json_decref(info);
	}
	*resp = &m->base;
	return 0;
}

int
cri_runtime_config(struct cri_runtime *rt, const ProtobufCMessage *req,
		   ProtobufCMessage **resp, kumo_error_t *err)
{
	Runtime__V1__RuntimeConfigResponse *m =
		CRI_NEW(Runtime__V1__RuntimeConfigResponse, RUNTIME__V1__RUNTIME_CONFIG_RESPONSE__INIT);
	m->linux = CRI_NEW(Runtime__V1__LinuxRuntimeConfiguration,
			   RUNTIME__V1__LINUX_RUNTIME_CONFIGURATION__INIT);
	/* kumo makes no cgroups (containers are VMs); kubelet's default driver is cgroupfs
	 * on machines without systemd, which is what this answer tells it to keep. */
	m->linux->cgroup_driver = RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
	*resp = &m->base;
	return 0;
}

int
cri_update_runtime_config(struct cri_runtime *rt, const ProtobufCMessage *req,
			  ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__UpdateRuntimeConfigRequest *r = (const void *)req;
	const char *cidr = r->runtime_config && r->runtime_config->network_config
				   ? r->runtime_config->network_config->pod_cidr
				   : "";
	pthread_mutex_lock(&rt->lock);
	bool changed = *cidr && strcmp(cidr, rt->pod_cidr) != 0;
	pthread_mutex_unlock(&rt->lock);
	int ret = 0;
	/* The pod network stage first (it writes the default network list on this CIDR): a
	 * CIDR it refuses is not kept. */
	struct cri_podnet *pn = rt->backend->podnet;
	if (changed && pn->ops->update_cidr)
		ret = pn->ops->update_cidr(pn, cidr, err);
	pthread_mutex_lock(&rt->lock);
	if (ret == 0 && changed) {
		json_t *j = json_pack("{s:s}", "pod_cidr", cidr);
		autofree char *text = json_dumps(j, JSON_INDENT(1));
		json_decref(j);
		autofree char *path = xasprintf("%s/runtime-config.json", rt->root);
		ret = kumo_write_file_atomic(path, text, strlen(text), 0600, err);
		if (ret == 0) {
			free(rt->pod_cidr);
			rt->pod_cidr = xstrdup(cidr);
			log_info("pod cidr is now `%s`", cidr);
		}
	}
	pthread_mutex_unlock(&rt->lock);
	if (ret < 0)
		return kumo_error_wrap(err, "UpdateRuntimeConfig");
	*resp = &CRI_NEW(Runtime__V1__UpdateRuntimeConfigResponse,
			 RUNTIME__V1__UPDATE_RUNTIME_CONFIG_RESPONSE__INIT)->base;
	return 0;
}
