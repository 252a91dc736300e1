/* cri/state.c - pod and container records: lookup, ids, atomic persistence under
 * <root>/pods and <root>/containers, recovery on start, exits and events. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cri/runtime.h"

#define RECORD_MAX (16u << 20)

int64_t rt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool id_matches(const char *full, const char *prefix)
{
	return strncmp(full, prefix, strlen(prefix)) == 0;
}

int rt_find_pod(struct cri_runtime *rt, const char *id, struct cri_pod **out, kumo_error_t *err)
{
	struct cri_pod *found = NULL;
	int n = 0;
	if (!id || !*id)
		return kumo_error(err, KUMO_E_INVALID, "pod sandbox id is empty");
	for (struct cri_pod *p = rt->pods; p; p = p->next) {
		if (strcmp(p->id, id) == 0) {
			*out = p;
			return 0;
		}
		if (id_matches(p->id, id)) {
			found = p;
			n++;
		}
	}
	if (n == 0)
		return kumo_error(err, KUMO_E_NOT_FOUND, "pod sandbox `%s` not found", id);
	if (n > 1)
		return kumo_error(err, KUMO_E_INVALID, "pod sandbox id prefix `%s` is ambiguous", id);
	*out = found;
	return 0;
}

int rt_find_ctr(struct cri_runtime *rt, const char *id, struct cri_ctr **out, kumo_error_t *err)
{
	struct cri_ctr *found = NULL;
	int n = 0;
	if (!id || !*id)
		return kumo_error(err, KUMO_E_INVALID, "container id is empty");
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next) {
		if (strcmp(c->id, id) == 0) {
			*out = c;
			return 0;
		}
		if (id_matches(c->id, id)) {
			found = c;
			n++;
		}
	}
	if (n == 0)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%s` not found", id);
	if (n > 1)
		return kumo_error(err, KUMO_E_INVALID, "container id prefix `%s` is ambiguous", id);
	*out = found;
	return 0;
}

struct cri_pod *rt_pod_by_id(struct cri_runtime *rt, const char *full_id)
{
	for (struct cri_pod *p = rt->pods; p; p = p->next)
		if (strcmp(p->id, full_id) == 0)
			return p;
	return NULL;
}

struct cri_ctr *rt_ctr_by_id(struct cri_runtime *rt, const char *full_id)
{
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		if (strcmp(c->id, full_id) == 0)
			return c;
	return NULL;
}

void rt_new_id(struct cri_runtime *rt, char id[CRI_ID_LEN + 1])
{
	for (;;) {
		uint8_t raw[CRI_ID_LEN / 2];
		size_t got = 0;
		while (got < sizeof(raw)) {
			ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
			if (r < 0 && errno != EINTR)
				abort(); /* getrandom on Linux >= 3.17 does not fail otherwise */
			if (r > 0)
				got += (size_t)r;
		}
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(id + 2 * i, 3, "%02x", raw[i]);
		/* Unique among both kinds, and no id is a prefix of another's short form. */
		bool clash = false;
		for (struct cri_pod *p = rt->pods; p && !clash; p = p->next)
			clash = strncmp(p->id, id, 12) == 0;
		for (struct cri_ctr *c = rt->ctrs; c && !clash; c = c->next)
			clash = strncmp(c->id, id, 12) == 0;
		/* Nor one of the downstream runtime's (a mixed node's ids never overlap). */
		clash = clash || rt_router_knows(rt, id);
		if (!clash)
			return;
	}
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	return ev ? ev->name : "";
}

static int enum_value(const ProtobufCEnumDescriptor *d, const char *name, int dflt)
{
	const ProtobufCEnumValue *ev =
		name ? protobuf_c_enum_descriptor_get_value_by_name(d, name) : NULL;
	return ev ? ev->value : dflt;
}

static int write_json(const char *path, json_t *j, kumo_error_t *err)
{
	autofree char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text)
		abort();
	if (kumo_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
		return kumo_error_wrap(err, "save state");
	return 0;
}

int rt_save_pod(struct cri_runtime *rt, const struct cri_pod *p, kumo_error_t *err)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "id", p->id, "state",
			      enum_name(&runtime__v1__pod_sandbox_state__descriptor, p->state),
			      "created_at", (json_int_t)p->created_at, "ip", p->ip,
			      "runtime_handler", p->runtime_handler, "config",
			      pbjson_from_message(&p->config->base));
	autofree char *path = xasprintf("%s/pods/%s.json", rt->root, p->id);
	int r = write_json(path, j, err);
	json_decref(j);
	return r;
}

int rt_save_ctr(struct cri_runtime *rt, const struct cri_ctr *c, kumo_error_t *err)
{
	json_t *j = json_pack(
		"{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:s, s:s, s:s, s:s, s:o}", "id", c->id,
		"pod_sandbox_id", c->pod_id, "state",
		enum_name(&runtime__v1__container_state__descriptor, c->state), "created_at",
		(json_int_t)c->created_at, "started_at", (json_int_t)c->started_at, "finished_at",
		(json_int_t)c->finished_at, "exit_code", c->exit_code, "reason", c->reason,
		"message", c->message, "image_id", c->image_id, "log_path", c->log_path, "config",
		pbjson_from_message(&c->config->base));
	autofree char *path = xasprintf("%s/containers/%s.json", rt->root, c->id);
	int r = write_json(path, j, err);
	json_decref(j);
	return r;
}

static void pod_free(struct cri_pod *p)
{
	if (!p)
		return;
	free(p->ip);
	free(p->runtime_handler);
	if (p->config)
		protobuf_c_message_free_unpacked(&p->config->base, NULL);
	free(p);
}

static void ctr_free(struct cri_ctr *c)
{
	if (!c)
		return;
	free(c->reason);
	free(c->message);
	free(c->image_id);
	free(c->log_path);
	free(c->pending_exit);
	if (c->config)
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
	free(c);
}

void rt_delete_pod(struct cri_runtime *rt, struct cri_pod *p)
{
	for (struct cri_pod **pp = &rt->pods; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	autofree char *path = xasprintf("%s/pods/%s.json", rt->root, p->id);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("remove `%s`: %s", path, strerror(errno));
	pod_free(p);
}

void rt_delete_ctr(struct cri_runtime *rt, struct cri_ctr *c)
{
	for (struct cri_ctr **pp = &rt->ctrs; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	autofree char *path = xasprintf("%s/containers/%s.json", rt->root, c->id);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("remove `%s`: %s", path, strerror(errno));
	ctr_free(c);
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int load_pod(struct cri_runtime *rt, const char *path, kumo_error_t *err)
{
	autofree uint8_t *buf = NULL;
	size_t len;
	if (kumo_read_file(path, RECORD_MAX, &buf, &len, err) < 0)
		return -1;
	json_error_t je;
	json_t *j = json_loadb((const char *)buf, len, 0, &je);
	if (!j)
		return kumo_error(err, KUMO_E_INVALID, "`%s`: %s", path, je.text);
	ProtobufCMessage *cfg = NULL;
	const char *id = jstr(j, "id");
	if (strlen(id) != CRI_ID_LEN ||
	    pbjson_to_message(&runtime__v1__pod_sandbox_config__descriptor,
			      json_object_get(j, "config"), &cfg, err) < 0 ||
	    !((Runtime__V1__PodSandboxConfig *)cfg)->metadata) {
		if (cfg)
			protobuf_c_message_free_unpacked(cfg, NULL);
		json_decref(j);
		kumo_error(err, KUMO_E_INVALID, "bad pod record");
		return kumo_error_wrap(err, "`%s`", path);
	}
	struct cri_pod *p = xzalloc(sizeof(*p));
	memcpy(p->id, id, CRI_ID_LEN + 1);
	p->state = enum_value(&runtime__v1__pod_sandbox_state__descriptor, jstr(j, "state"),
			      RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	p->created_at = json_integer_value(json_object_get(j, "created_at"));
	p->ip = xstrdup(jstr(j, "ip"));
	p->runtime_handler = xstrdup(jstr(j, "runtime_handler"));
	p->config = (Runtime__V1__PodSandboxConfig *)cfg;
	p->next = rt->pods;
	rt->pods = p;
	json_decref(j);
	return 0;
}

static int load_ctr(struct cri_runtime *rt, const char *path, kumo_error_t *err)
{
	autofree uint8_t *buf = NULL;
	size_t len;
	if (kumo_read_file(path, RECORD_MAX, &buf, &len, err) < 0)
		return -1;
	json_error_t je;
	json_t *j = json_loadb((const char *)buf, len, 0, &je);
	if (!j)
		return kumo_error(err, KUMO_E_INVALID, "`%s`: %s", path, je.text);
	ProtobufCMessage *cfg = NULL;
	const char *id = jstr(j, "id"), *pod = jstr(j, "pod_sandbox_id");
	if (strlen(id) != CRI_ID_LEN || strlen(pod) != CRI_ID_LEN ||
	    pbjson_to_message(&runtime__v1__container_config__descriptor,
			      json_object_get(j, "config"), &cfg, err) < 0 ||
	    !((Runtime__V1__ContainerConfig *)cfg)->metadata ||
	    !((Runtime__V1__ContainerConfig *)cfg)->image) {
		if (cfg)
			protobuf_c_message_free_unpacked(cfg, NULL);
		json_decref(j);
		kumo_error(err, KUMO_E_INVALID, "bad container record");
		return kumo_error_wrap(err, "`%s`", path);
	}
	struct cri_ctr *c = xzalloc(sizeof(*c));
	memcpy(c->id, id, CRI_ID_LEN + 1);
	memcpy(c->pod_id, pod, CRI_ID_LEN + 1);
	c->state = enum_value(&runtime__v1__container_state__descriptor, jstr(j, "state"),
			      RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN);
	c->created_at = json_integer_value(json_object_get(j, "created_at"));
	c->started_at = json_integer_value(json_object_get(j, "started_at"));
	c->finished_at = json_integer_value(json_object_get(j, "finished_at"));
	c->exit_code = (int32_t)json_integer_value(json_object_get(j, "exit_code"));
	c->reason = xstrdup(jstr(j, "reason"));
	c->message = xstrdup(jstr(j, "message"));
	c->image_id = xstrdup(jstr(j, "image_id"));
	c->log_path = xstrdup(jstr(j, "log_path"));
	c->config = (Runtime__V1__ContainerConfig *)cfg;
	c->next = rt->ctrs;
	rt->ctrs = c;
	json_decref(j);
	return 0;
}

/* Loads every *.json in dir; a broken record is logged and set aside, never fatal. */
static int load_dir(struct cri_runtime *rt, const char *dir,
		    int (*load)(struct cri_runtime *, const char *, kumo_error_t *),
		    kumo_error_t *err)
{
	if (kumo_mkdir_p(dir, 0700, err) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return kumo_error_errno(err, errno, "open `%s`", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || e->d_name[0] == '.')
			continue;
		autofree char *path = xasprintf("%s/%s", dir, e->d_name);
		kumo_error_t lerr = NULL;
		if (load(rt, path, &lerr) < 0) {
			log_error("state: %s (moved aside as `%s.broken`)", kumo_error_msg(lerr), path);
			autofree char *aside = xasprintf("%s.broken", path);
			if (rename(path, aside) < 0)
				log_warn("rename `%s`: %s", path, strerror(errno));
			kumo_error_free(&lerr);
		}
	}
	closedir(d);
	return 0;
}

/* The one mapping from how a VM ended (kernel/boot_abi.h) to CRI's reason and message. */
static void exit_reason(const struct kumo_exit_record *x, char **reason, char **message)
{
	const char *r, *m = x->msg;
	switch (x->kind) {
	case KUMO_EXIT_EXITED:
		r = x->status == 0 ? "Completed" : "Error";
		m = ""; /* an exit has no message worth reporting */
		break;
	case KUMO_EXIT_TRAPPED:
		r = "Trap";
		break;
	case KUMO_EXIT_OOM:
		r = "OOMKilled";
		break;
	case KUMO_EXIT_PANICKED:
		*reason = xstrdup("KernelPanic");
		*message = xasprintf("the kumo kernel failed: %s", x->msg);
		return;
	case KUMO_EXIT_KILLED:
		r = "Error";
		m = "the VM was powered off by kumod (stop)";
		break;
	case KUMO_EXIT_CRASHED:
	default:
		/* Stopped by QEMU, panicked without a record, no sign of life, QEMU died:
		 * the VM's failure, not the app's. */
		r = "VMError";
		m = x->msg[0] ? x->msg : "the VM stopped without an exit record";
		break;
	}
	*reason = xstrdup(r);
	*message = xstrdup(m);
}

bool rt_apply_vm_status(struct cri_ctr *c, const struct cri_vm_status *st)
{
	int old = c->state;
	switch (st->state) {
	case CRI_VM_CREATED:
		return false;
	case CRI_VM_RUNNING:
		c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
		return old != c->state;
	case CRI_VM_EXITED:
		if (old == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
			return false;
		c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
		c->exit_code = (int32_t)st->exit.status;
		c->finished_at = st->finished_at_ns ? st->finished_at_ns : rt_now();
		free(c->reason);
		free(c->message);
		exit_reason(&st->exit, &c->reason, &c->message);
		return true;
	default:
		if (old == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
			return false;
		c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
		free(c->reason);
		free(c->message);
		c->reason = xstrdup("Unknown");
		c->message = xstrdup("the container's vm was not found");
		return old != c->state;
	}
}

static void on_vm_exit(void *ctx, const char *id, const struct cri_vm_status *st)
{
	struct cri_runtime *rt = ctx;
	pthread_mutex_lock(&rt->lock);
	struct cri_ctr *c = NULL;
	kumo_error_t ferr = NULL;
	rt_find_ctr(rt, id, &c, &ferr); /* id may be a unique prefix (the VM's name) */
	kumo_error_free(&ferr);
	if (c && c->busy && c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED) {
		/* Its StartContainer has not recorded RUNNING yet: it applies this after. */
		if (!c->pending_exit) {
			c->pending_exit = xzalloc(sizeof(*c->pending_exit));
			*c->pending_exit = *st;
		}
	} else if (c && c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED &&
		   rt_apply_vm_status(c, st)) {
		kumo_error_t err = NULL;
		if (rt_save_ctr(rt, c, &err) < 0)
			log_error("container `%s`: %s", c->id, kumo_error_msg(err));
		kumo_error_free(&err);
		log_info("container %.12s exited with code %d (%s)", c->id, c->exit_code, c->reason);
		rt_emit(rt, c->id, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT,
			rt_pod_by_id(rt, c->pod_id));
	}
	pthread_mutex_unlock(&rt->lock);
}

/* For the pod network's recovery: pod_id is a READY pod. */
static bool pod_is_ready(const char *pod_id, void *ctx)
{
	struct cri_runtime *rt = ctx;
	pthread_mutex_lock(&rt->lock);
	struct cri_pod *p = rt_pod_by_id(rt, pod_id);
	bool ready = p && p->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	pthread_mutex_unlock(&rt->lock);
	return ready;
}

/* A kumod killed inside CreateContainer can leave a VM made (QEMU started, paused) whose
 * container record was never written: nobody could ever stop it. The VM stage keeps each
 * VM's run directory as <root>/vms/kumo-<the container id's first 40 hex digits>
 * (cri/vms.c); one that no container record owns is removed through the stage, which
 * ends its QEMU and unbinds its mounts. Runs before any call is served. */
static void sweep_unrecorded_vms(struct cri_runtime *rt)
{
	autofree char *dir = xasprintf("%s/vms", rt->root);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *hex = e->d_name + 5;
		if (strncmp(e->d_name, "kumo-", 5) != 0 || strlen(hex) != 40 ||
		    strspn(hex, "0123456789abcdef") != 40)
			continue;
		bool owned = false;
		for (struct cri_ctr *c = rt->ctrs; c && !owned; c = c->next)
			owned = strncmp(c->id, hex, 40) == 0;
		if (owned)
			continue;
		/* The stage names VMs and mount entries by the id's first 40 digits only. */
		char id[CRI_ID_LEN + 1];
		snprintf(id, sizeof(id), "%s%024d", hex, 0);
		log_warn("state: vm `%s` has no container record (kumod was killed while creating "
			 "it): removing it", e->d_name);
		kumo_error_t err = NULL;
		if (rt->backend->vms->ops->remove(rt->backend->vms, id, &err) < 0)
			log_warn("vm `%s`: %s", e->d_name, kumo_error_msg(err));
		kumo_error_free(&err);
	}
	closedir(d);
}

/* For the pod-VM stage's sweep: id is a pod or container cri has a record of (called
 * before any call is served, with no lock needed but taken for the exit callback). */
static bool id_is_known(const char *id, void *ctx)
{
	struct cri_runtime *rt = ctx;
	pthread_mutex_lock(&rt->lock);
	bool known = rt_pod_by_id(rt, id) || rt_ctr_by_id(rt, id);
	pthread_mutex_unlock(&rt->lock);
	return known;
}

int cri_runtime_new(const char *root, struct cri_backend *backend, struct cri_runtime **out,
		    kumo_error_t *err)
{
	struct cri_runtime *rt = xzalloc(sizeof(*rt));
	pthread_mutex_init(&rt->lock, NULL);
	pthread_mutex_init(&rt->events_lock, NULL);
	rt->root = xstrdup(root);
	rt->backend = backend;
	rt->pod_cidr = xstrdup("");
	rt->kumo_handlers = xzalloc(sizeof(char *) * 2);
	rt->kumo_handlers[0] = xstrdup(CRI_DEFAULT_KUMO_HANDLER);
	autofree char *pods = xasprintf("%s/pods", root);
	autofree char *ctrs = xasprintf("%s/containers", root);
	if (load_dir(rt, pods, load_pod, err) < 0 || load_dir(rt, ctrs, load_ctr, err) < 0) {
		cri_runtime_free(rt);
		return kumo_error_wrap(err, "load state from `%s`", root);
	}
	autofree char *cfg = xasprintf("%s/runtime-config.json", root);
	json_t *j = json_load_file(cfg, 0, NULL);
	if (j) {
		free(rt->pod_cidr);
		rt->pod_cidr = xstrdup(jstr(j, "pod_cidr"));
		json_decref(j);
	}
	/* Containers whose pod vanished (its record was removed, or set aside as broken)
	 * are orphans nobody can reach through CRI: their records are set aside too, for
	 * whoever looks into it, and their VMs (if any still runs) end, never left behind. */
	for (struct cri_ctr *c = rt->ctrs, *next; c; c = next) {
		next = c->next;
		if (rt_pod_by_id(rt, c->pod_id))
			continue;
		autofree char *path = xasprintf("%s/containers/%s.json", root, c->id);
		autofree char *aside = xasprintf("%s.broken", path);
		log_error("state: container %.12s: its pod %.12s has no record; its VM is ended "
			  "and its record moved aside as `%s`", c->id, c->pod_id, aside);
		kumo_error_t rerr = NULL;
		if (backend->vms->ops->remove(backend->vms, c->id, &rerr) < 0)
			log_warn("container %.12s: %s", c->id, kumo_error_msg(rerr));
		kumo_error_free(&rerr);
		if (rename(path, aside) < 0 && errno != ENOENT)
			log_warn("rename `%s`: %s", path, strerror(errno));
		rt_delete_ctr(rt, c);
	}
	sweep_unrecorded_vms(rt);
	if (backend->vms->ops->sweep)
		backend->vms->ops->sweep(backend->vms, id_is_known, rt);
	backend->vms->on_exit_ctx = rt;
	__atomic_store_n(&backend->vms->on_exit, on_vm_exit, __ATOMIC_RELEASE);
	/* Re-attach: ask the backend where each live container's VM is now. Nobody else
	 * uses rt yet, so the lock is only for the exit callback's sake. */
	size_t n_pods = 0, n_ctrs = 0;
	for (struct cri_pod *p = rt->pods; p; p = p->next)
		n_pods++;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next) {
		n_ctrs++;
		if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED &&
		    c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING)
			continue;
		struct cri_vm_status st = {0};
		kumo_error_t serr = NULL;
		if (backend->vms->ops->status(backend->vms, c->id, &st, &serr) < 0) {
			log_warn("container %.12s: %s", c->id, kumo_error_msg(serr));
			kumo_error_free(&serr);
			st.state = CRI_VM_GONE;
		}
		pthread_mutex_lock(&rt->lock);
		if (rt_apply_vm_status(c, &st)) {
			log_info("container %.12s: now %s after restart", c->id,
				 enum_name(&runtime__v1__container_state__descriptor, c->state));
			if (rt_save_ctr(rt, c, &serr) < 0)
				log_error("%s", kumo_error_msg(serr));
			kumo_error_free(&serr);
		}
		pthread_mutex_unlock(&rt->lock);
	}
	/* Pod networks: every recorded CNI ADD of a pod that is not READY any more (a
	 * crash in RunPodSandbox or StopPodSandbox) gets its DEL now. */
	struct cri_podnet *pn = backend->podnet;
	kumo_error_t nerr = NULL;
	if (pn->ops->recover && pn->ops->recover(pn, pod_is_ready, rt, &nerr) < 0)
		log_warn("%s", kumo_error_msg(nerr));
	kumo_error_free(&nerr);
	log_info("state: %zu pods, %zu containers recovered from `%s`", n_pods, n_ctrs, root);
	*out = rt;
	return 0;
}

void cri_runtime_allow_host_network(struct cri_runtime *rt, bool no_nic)
{
	rt->host_network_no_nic = no_nic;
}

void cri_runtime_free(struct cri_runtime *rt)
{
	if (!rt)
		return;
	/* First: its event stream republishes into the subscriber list freed below. */
	rt_router_free(rt);
	if (rt->backend) {
		__atomic_store_n(&rt->backend->vms->on_exit, NULL, __ATOMIC_RELEASE);
		cri_backend_free(rt->backend);
	}
	while (rt->pods) {
		struct cri_pod *p = rt->pods;
		rt->pods = p->next;
		pod_free(p);
	}
	while (rt->ctrs) {
		struct cri_ctr *c = rt->ctrs;
		rt->ctrs = c->next;
		ctr_free(c);
	}
	while (rt->subs) {
		struct cri_sub *s = rt->subs;
		rt->subs = s->next;
		free(s);
	}
	pthread_mutex_destroy(&rt->lock);
	pthread_mutex_destroy(&rt->events_lock);
	for (size_t i = 0; rt->kumo_handlers && rt->kumo_handlers[i]; i++)
		free(rt->kumo_handlers[i]);
	free(rt->kumo_handlers);
	free(rt->pod_cidr);
	free(rt->root);
	free(rt);
}

bool rt_labels_match(json_t *labels, json_t *selector)
{
	const char *k;
	json_t *v;
	json_object_foreach(selector, k, v) {
		json_t *have = json_object_get(labels, k);
		if (!have || !json_equal(have, v))
			return false;
	}
	return true;
}

Runtime__V1__PodSandboxStatus *rt_pod_status_msg(struct cri_runtime *rt, const struct cri_pod *p)
{
	Runtime__V1__PodSandboxStatus *s =
		CRI_NEW(Runtime__V1__PodSandboxStatus, RUNTIME__V1__POD_SANDBOX_STATUS__INIT);
	s->id = pbs(p->id);
	s->metadata = (Runtime__V1__PodSandboxMetadata *)pb_dup(&p->config->metadata->base);
	s->state = p->state;
	s->created_at = p->created_at;
	s->network = CRI_NEW(Runtime__V1__PodSandboxNetworkStatus,
			     RUNTIME__V1__POD_SANDBOX_NETWORK_STATUS__INIT);
	s->network->ip = pbs(p->ip);
	Runtime__V1__LinuxPodSandboxConfig *lc = p->config->linux;
	if (lc && lc->security_context && lc->security_context->namespace_options) {
		s->linux = CRI_NEW(Runtime__V1__LinuxPodSandboxStatus,
				   RUNTIME__V1__LINUX_POD_SANDBOX_STATUS__INIT);
		s->linux->namespaces =
			CRI_NEW(Runtime__V1__Namespace, RUNTIME__V1__NAMESPACE__INIT);
		s->linux->namespaces->options = (Runtime__V1__NamespaceOption *)pb_dup(
			&lc->security_context->namespace_options->base);
	}
	pbjson_copy_field(&s->base, "labels", &p->config->base, "labels");
	pbjson_copy_field(&s->base, "annotations", &p->config->base, "annotations");
	s->runtime_handler = pbs(p->runtime_handler);
	(void)rt;
	return s;
}

Runtime__V1__ContainerStatus *rt_ctr_status_msg(const struct cri_ctr *c)
{
	Runtime__V1__ContainerStatus *s =
		CRI_NEW(Runtime__V1__ContainerStatus, RUNTIME__V1__CONTAINER_STATUS__INIT);
	s->id = pbs(c->id);
	s->metadata = (Runtime__V1__ContainerMetadata *)pb_dup(&c->config->metadata->base);
	s->state = c->state;
	s->created_at = c->created_at;
	s->started_at = c->started_at;
	s->finished_at = c->finished_at;
	s->exit_code = c->exit_code;
	s->image = (Runtime__V1__ImageSpec *)pb_dup(&c->config->image->base);
	s->image_ref = pbs(c->image_id);
	s->image_id = pbs(c->image_id);
	s->reason = pbs(c->reason);
	s->message = pbs(c->message);
	pbjson_copy_field(&s->base, "labels", &c->config->base, "labels");
	pbjson_copy_field(&s->base, "annotations", &c->config->base, "annotations");
	pbjson_copy_field(&s->base, "mounts", &c->config->base, "mounts");
	s->log_path = pbs(c->log_path);
	if (c->config->linux && c->config->linux->resources) {
		s->resources = CRI_NEW(Runtime__V1__ContainerResources,
				       RUNTIME__V1__CONTAINER_RESOURCES__INIT);
		s->resources->linux = (Runtime__V1__LinuxContainerResources *)pb_dup(
			&c->config->linux->resources->base);
	}
	return s;
}

static uint8_t *event_build(struct cri_runtime *rt, const char *id, int type,
			   const struct cri_pod *p, size_t *len)
{
	Runtime__V1__ContainerEventResponse ev = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
	ev.container_id = (char *)id;
	ev.container_event_type = type;
	ev.created_at = rt_now();
	if (p) {
		ev.pod_sandbox_status = rt_pod_status_msg(rt, p);
		size_t n = 0;
		for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
			n += strcmp(c->pod_id, p->id) == 0;
		ev.containers_statuses = xzalloc(sizeof(*ev.containers_statuses) * (n + 1));
		for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
			if (strcmp(c->pod_id, p->id) == 0)
				ev.containers_statuses[ev.n_containers_statuses++] =
					rt_ctr_status_msg(c);
	}
	*len = runtime__v1__container_event_response__get_packed_size(&ev);
	uint8_t *buf = xmalloc(*len);
	runtime__v1__container_event_response__pack(&ev, buf);
	if (ev.pod_sandbox_status)
		protobuf_c_message_free_unpacked(&ev.pod_sandbox_status->base, NULL);
	for (size_t i = 0; i < ev.n_containers_statuses; i++)
		protobuf_c_message_free_unpacked(&ev.containers_statuses[i]->base, NULL);
	free(ev.containers_statuses);
	return buf;
}

void rt_emit(struct cri_runtime *rt, const char *id, int type, const struct cri_pod *p)
{
	pthread_mutex_lock(&rt->events_lock);
	if (rt->subs) {
		size_t len;
		uint8_t *msg = event_build(rt, id, type, p, &len);
		for (struct cri_sub *s = rt->subs; s; s = s->next)
			s->fn(s->ctx, msg, len);
		free(msg);
	}
	pthread_mutex_unlock(&rt->events_lock);
}

void rt_emit_raw(struct cri_runtime *rt, const uint8_t *msg, size_t len)
{
	pthread_mutex_lock(&rt->events_lock);
	for (struct cri_sub *s = rt->subs; s; s = s->next)
		s->fn(s->ctx, msg, len);
	pthread_mutex_unlock(&rt->events_lock);
}

int cri_events_subscribe(struct cri_runtime *rt, cri_event_fn fn, void *ctx)
{
	struct cri_sub *s = xzalloc(sizeof(*s));
	s->fn = fn;
	s->ctx = ctx;
	pthread_mutex_lock(&rt->events_lock);
	s->handle = ++rt->next_sub;
	s->next = rt->subs;
	rt->subs = s;
	pthread_mutex_unlock(&rt->events_lock);
	return s->handle;
}

void cri_events_unsubscribe(struct cri_runtime *rt, int handle)
{
	pthread_mutex_lock(&rt->events_lock);
	for (struct cri_sub **pp = &rt->subs; *pp; pp = &(*pp)->next)
		if ((*pp)->handle == handle) {
			struct cri_sub *s = *pp;
			*pp = s->next;
			free(s);
			break;
		}
	pthread_mutex_unlock(&rt->events_lock);
}

void rt_set_verbose_info(ProtobufCMessage *m, json_t *info)
{
	char *text = json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *map = json_pack("{s:s}", "info", text ? text : "{}");
	free(text);
	kumo_error_t err = NULL;
	if (pbjson_set_field(m, "info", map, &err) < 0)
		abort(); /* every verbose response has map<string,string> info */
	json_decref(map);
}
