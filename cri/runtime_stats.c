/* cri/runtime_stats.c - ContainerStats, ListContainerStats, PodSandboxStats,
 * ListPodSandboxStats, and the (empty) metrics calls. */
#include <string.h>

#include "cri/runtime.h"

static Runtime__V1__UInt64Value *u64(uint64_t v)
{
	Runtime__V1__UInt64Value *m = CRI_NEW(Runtime__V1__UInt64Value, RUNTIME__V1__UINT64_VALUE__INIT);
	m->value = v;
	return m;
}

/* What a stats message needs from a container record, copied under the lock. */
struct ctr_snap {
	char id[CRI_ID_LEN + 1];
	bool running;
	Runtime__V1__ContainerAttributes *attrs;
};

static void snap_take(struct ctr_snap *s, const struct cri_ctr *c)
{
	memcpy(s->id, c->id, sizeof(s->id));
	s->running = c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	s->attrs = CRI_NEW(Runtime__V1__ContainerAttributes, RUNTIME__V1__CONTAINER_ATTRIBUTES__INIT);
	s->attrs->id = pbs(c->id);
	s->attrs->metadata = (Runtime__V1__ContainerMetadata *)pb_dup(&c->config->metadata->base);
	pbjson_copy_field(&s->attrs->base, "labels", &c->config->base, "labels");
	pbjson_copy_field(&s->attrs->base, "annotations", &c->config->base, "annotations");
}

/* Builds ContainerStats for a snapshot (no lock held: asks the backend). Takes attrs. */
static Runtime__V1__ContainerStats *ctr_stats(struct cri_runtime *rt, struct ctr_snap *s,
					      struct cri_vm_stats *sum)
{
	struct cri_vm_stats vs = {.timestamp_ns = rt_now()};
	if (s->running) {
		kumo_error_t err = NULL;
		if (rt->backend->vms->ops->stats(rt->backend->vms, s->id, &vs, &err) < 0) {
			log_debug("stats of %.12s: %s", s->id, kumo_error_msg(err));
			kumo_error_free(&err);
			vs = (struct cri_vm_stats){.timestamp_ns = rt_now()};
		}
	}
	if (sum) {
		sum->timestamp_ns = vs.timestamp_ns;
		sum->cpu_usage_core_ns += vs.cpu_usage_core_ns;
		sum->memory_working_set += vs.memory_working_set;
		sum->memory_rss += vs.memory_rss;
	}
	Runtime__V1__ContainerStats *st =
		CRI_NEW(Runtime__V1__ContainerStats, RUNTIME__V1__CONTAINER_STATS__INIT);
	st->attributes = s->attrs;
	s->attrs = NULL;
	st->cpu = CRI_NEW(Runtime__V1__CpuUsage, RUNTIME__V1__CPU_USAGE__INIT);
	st->cpu->timestamp = vs.timestamp_ns;
	st->cpu->usage_core_nano_seconds = u64(vs.cpu_usage_core_ns);
	st->memory = CRI_NEW(Runtime__V1__MemoryUsage, RUNTIME__V1__MEMORY_USAGE__INIT);
	st->memory->timestamp = vs.timestamp_ns;
	st->memory->working_set_bytes = u64(vs.memory_working_set);
	st->memory->rss_bytes = u64(vs.memory_rss);
	st->writable_layer = CRI_NEW(Runtime__V1__FilesystemUsage, RUNTIME__V1__FILESYSTEM_USAGE__INIT);
	st->writable_layer->timestamp = vs.timestamp_ns;
	st->writable_layer->fs_id =
		CRI_NEW(Runtime__V1__FilesystemIdentifier, RUNTIME__V1__FILESYSTEM_IDENTIFIER__INIT);
	st->writable_layer->fs_id->mountpoint = pbs(rt->root);
	st->writable_layer->used_bytes = u64(vs.writable_layer_bytes);
	st->writable_layer->inodes_used = u64(0);
	return st;
}

int
cri_container_stats(struct cri_runtime *rt, const ProtobufCMessage *req,
		    ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ContainerStatsRequest *r = (const void *)req;
	struct cri_ctr *c;
	struct ctr_snap s;
	pthread_mutex_lock(&rt->lock);
	if (rt_find_ctr(rt, r->container_id, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	snap_take(&s, c);
	pthread_mutex_unlock(&rt->lock);
	Runtime__V1__ContainerStatsResponse *m =
		CRI_NEW(Runtime__V1__ContainerStatsResponse, RUNTIME__V1__CONTAINER_STATS_RESPONSE__INIT);
	m->stats = ctr_stats(rt, &s, NULL);
	*resp = &m->base;
	return 0;
}

/* Snapshots of the matching containers (takes the lock); *n set. */
static struct ctr_snap *snaps(struct cri_runtime *rt, const char *id, const char *pod_id,
			      json_t *sel, size_t *n)
{
	pthread_mutex_lock(&rt->lock);
	size_t cap = 0;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		cap++;
	struct ctr_snap *v = xzalloc(sizeof(*v) * (cap + 1));
	*n = 0;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		if (!c->creating && rt_ctr_matches(rt, c, id, pod_id, -1, sel))
			snap_take(&v[(*n)++], c);
	pthread_mutex_unlock(&rt->lock);
	return v;
}

int
cri_list_container_stats(struct cri_runtime *rt, const ProtobufCMessage *req,
			 ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ListContainerStatsRequest *r = (const void *)req;
	const Runtime__V1__ContainerStatsFilter *f = r->filter;
	json_t *sel = f ? pbjson_get_field(&f->base, "label_selector") : NULL;
	size_t n;
	struct ctr_snap *v = snaps(rt, f ? f->id : NULL, f ? f->pod_sandbox_id : NULL, sel, &n);
	json_decref(sel);
	Runtime__V1__ListContainerStatsResponse *m = CRI_NEW(
		Runtime__V1__ListContainerStatsResponse, RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT);
	m->stats = xzalloc(sizeof(*m->stats) * (n + 1));
	for (size_t i = 0; i < n; i++)
		m->stats[m->n_stats++] = ctr_stats(rt, &v[i], NULL);
	free(v);
	*resp = &m->base;
	return 0;
}

/* PodSandboxStats for the pod with full id `id` whose attributes are given. */
static Runtime__V1__PodSandboxStats *pod_stats(struct cri_runtime *rt, const char *id,
					       Runtime__V1__PodSandboxAttributes *attrs)
{
	size_t n;
	struct ctr_snap *v = snaps(rt, NULL, id, NULL, &n);
	struct cri_vm_stats sum = {.timestamp_ns = rt_now()};
	Runtime__V1__PodSandboxStats *ps =
		CRI_NEW(Runtime__V1__PodSandboxStats, RUNTIME__V1__POD_SANDBOX_STATS__INIT);
	ps->attributes = attrs;
	ps->linux = CRI_NEW(Runtime__V1__LinuxPodSandboxStats, RUNTIME__V1__LINUX_POD_SANDBOX_STATS__INIT);
	ps->linux->containers = xzalloc(sizeof(*ps->linux->containers) * (n + 1));
	for (size_t i = 0; i < n; i++)
		ps->linux->containers[ps->linux->n_containers++] = ctr_stats(rt, &v[i], &sum);
	free(v);
	ps->linux->cpu = CRI_NEW(Runtime__V1__CpuUsage, RUNTIME__V1__CPU_USAGE__INIT);
	ps->linux->cpu->timestamp = sum.timestamp_ns;
	ps->linux->cpu->usage_core_nano_seconds = u64(sum.cpu_usage_core_ns);
	ps->linux->memory = CRI_NEW(Runtime__V1__MemoryUsage, RUNTIME__V1__MEMORY_USAGE__INIT);
	ps->linux->memory->timestamp = sum.timestamp_ns;
	ps->linux->memory->working_set_bytes = u64(sum.memory_working_set);
	ps->linux->memory->rss_bytes = u64(sum.memory_rss);
	return ps;
}

static Runtime__V1__PodSandboxAttributes *pod_attrs(const struct cri_pod *p)
{
	Runtime__V1__PodSandboxAttributes *a =
		CRI_NEW(Runtime__V1__PodSandboxAttributes, RUNTIME__V1__POD_SANDBOX_ATTRIBUTES__INIT);
	a->id = pbs(p->id);
	a->metadata = (Runtime__V1__PodSandboxMetadata *)pb_dup(&p->config->metadata->base);
	pbjson_copy_field(&a->base, "labels", &p->config->base, "labels");
	pbjson_copy_field(&a->base, "annotations", &p->config->base, "annotations");
	return a;
}

int
cri_pod_sandbox_stats(struct cri_runtime *rt, const ProtobufCMessage *req,
		      ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__PodSandboxStatsRequest *r = (const void *)req;
	struct cri_pod *p;
	char id[CRI_ID_LEN + 1];
	pthread_mutex_lock(&rt->lock);
	if (rt_find_pod(rt, r->pod_sandbox_id, &p, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	memcpy(id, p->id, sizeof(id));
	Runtime__V1__PodSandboxAttributes *a = pod_attrs(p);
	pthread_mutex_unlock(&rt->lock);
	Runtime__V1__PodSandboxStatsResponse *m = CRI_NEW(
		Runtime__V1__PodSandboxStatsResponse, RUNTIME__V1__POD_SANDBOX_STATS_RESPONSE__INIT);
	m->stats = pod_stats(rt, id, a);
	*resp = &m->base;
	return 0;
}

int
cri_list_pod_sandbox_stats(struct cri_runtime *rt, const ProtobufCMessage *req,
			   ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ListPodSandboxStatsRequest *r = (const void *)req;
	const Runtime__V1__PodSandboxStatsFilter *f = r->filter;
	json_t *sel = f ? pbjson_get_field(&f->base, "label_selector") : NULL;
	pthread_mutex_lock(&rt->lock);
	size_t cap = 0, n = 0;
	for (struct cri_pod *p = rt->pods; p; p = p->next)
		cap++;
	char (*ids)[CRI_ID_LEN + 1] = xzalloc(sizeof(*ids) * (cap + 1));
	Runtime__V1__PodSandboxAttributes **attrs = xzalloc(sizeof(*attrs) * (cap + 1));
	for (struct cri_pod *p = rt->pods; p; p = p->next) {
		if (f && *f->id && strncmp(p->id, f->id, strlen(f->id)) != 0)
			continue;
		if (sel && json_object_size(sel)) {
			json_t *labels = pbjson_get_field(&p->config->base, "labels");
			bool ok = rt_labels_match(labels, sel);
			json_decref(labels);
			if (!ok)
				continue;
		}
		memcpy(ids[n], p->id, CRI_ID_LEN + 1);
		attrs[n++] = pod_attrs(p);
	}
	pthread_mutex_unlock(&rt->lock);
	json_decref(sel);
	Runtime__V1__ListPodSandboxStatsResponse *m =
		CRI_NEW(Runtime__V1__ListPodSandboxStatsResponse,
			RUNTIME__V1__LIST_POD_SANDBOX_STATS_RESPONSE__INIT);
	m->stats = xzalloc(sizeof(*m->stats) * (n + 1));
	for (size_t i = 0; i < n; i++)
		m->stats[m->n_stats++] = pod_stats(rt, ids[i], attrs[i]);
	free(ids);
	free(attrs);
	*resp = &m->base;
	return 0;
}

int
cri_list_metric_descriptors(struct cri_runtime *rt, const ProtobufCMessage *req,
			    ProtobufCMessage **resp, kumo_error_t *err)
{
	*resp = &CRI_NEW(Runtime__V1__ListMetricDescriptorsResponse,
			 RUNTIME__V1__LIST_METRIC_DESCRIPTORS_RESPONSE__INIT)->base;
	return 0;
}

int
cri_list_pod_sandbox_metrics(struct cri_runtime *rt, const ProtobufCMessage *req,
			     ProtobufCMessage **resp, kumo_error_t *err)
{
	*resp = &CRI_NEW(Runtime__V1__ListPodSandboxMetricsResponse,
			 RUNTIME__V1__LIST_POD_SANDBOX_METRICS_RESPONSE__INIT)->base;
	return 0;
}
