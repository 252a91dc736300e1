/* cri/runtime_checkpoint.c - snapshot handlers: CheckpointContainer, CheckpointPod,
 * RestorePod (issue 18). A checkpoint is a VM's whole state (vmm.h "Snapshots") in one
 * verified archive (vmm.h "Snapshot archives") with kumo's records.
 *
 * Pod VMs (the default: a pod is one VM): CheckpointPod saves the pod's VM with every
 * container in it; CheckpointContainer saves its pod's VM (the container's state is
 * that VM's) and the pod goes on. Records: records/pod.json (the PodSandboxConfig as
 * kubelet sent it), records/containers.json ([{"container_id", "image", "image_id",
 * "config": the ContainerConfig}] of every running container) and records/kumo.json
 * ({"version", "pod_vm": true, "pod_id", "runtime_handler", "pod_ip", "checkpointed_at",
 * "containers": N}), plus the VM stage's own (cri/podvm_snap.c). RestorePod: a new pod
 * from the same config (or the request's) whose VM is the snapshot's, each container
 * created again from its config (the request's container_configs, in order, may replace
 * them) and adopting its instance in the VM, which then runs on: the apps go on where
 * they were. A live migration (`kumo migrate`: CheckpointPod describe_only, RestorePod
 * incoming + incoming_tail, CheckpointPod migrate_to) moves the pod VM with its
 * containers (cri/podvm_snap.c).
 *
 * Per-container VMs (--pod-vm false): a container is a VM; records/container.json (the
 * ContainerConfig) instead of containers.json, kumo.json without pod_vm; a pod is
 * checkpointed when it has one running container. RestorePod makes a new pod and
 * creates its container from the snapshot instead of the image. An archive of one kind
 * is refused by a kumod of the other. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/builder.h"
#include "cri/runtime.h"
#include "vmm/vmm.h"

#define CS(x) RUNTIME__V1__CONTAINER_STATE__CONTAINER_##x
#define RECORDS_VERSION 1

static char *to_json(const ProtobufCMessage *m)
{
	json_t *j = pbjson_from_message(m);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* Checkpoints container id (full or prefix) to path. */
static int checkpoint_ctr(struct cri_runtime *rt, const char *cid, const char *path,
			  const struct cri_checkpoint_opts *o, kumo_error_t *err)
{
	if (!o->migrate_to && (!path || !*path))
		return kumo_error(err, KUMO_E_INVALID, "a checkpoint needs the archive's path");
	if (!o->migrate_to && path[0] != '/')
		return kumo_error(err, KUMO_E_INVALID, "checkpoint path `%s` is not absolute", path);
	char id[CRI_ID_LEN + 1];
	autofree char *ctr_json = NULL, *pod_json = NULL, *kumo_json = NULL, *image = NULL;
	pthread_mutex_lock(&rt->lock);
	struct cri_ctr *c;
	if (rt_find_ctr(rt, cid, &c, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	if (c->state != CS(RUNNING) || c->busy) {
		pthread_mutex_unlock(&rt->lock);
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "container `%.12s` is not running: only a running container's VM "
				  "has a state to save", c->id);
	}
	memcpy(id, c->id, sizeof(id));
	struct cri_pod *p = rt_pod_by_id(rt, c->pod_id);
	ctr_json = to_json(&c->config->base);
	pod_json = p ? to_json(&p->config->base) : xstrdup("{}");
	image = xstrdup(c->config->image->image);
	json_t *k = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "version", RECORDS_VERSION,
			      "pod_id", c->pod_id, "container_id", c->id, "image", image, "image_id",
			      c->image_id, "runtime_handler", p ? p->runtime_handler : "", "pod_ip",
			      p ? p->ip : "", "checkpointed_at", (json_int_t)rt_now());
	kumo_json = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(k);
	pthread_mutex_unlock(&rt->lock);

	struct cri_backend *b = rt->backend;
	if (!b->vms->ops->checkpoint)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "this kumod's VM stage cannot checkpoint a container's VM");
	/* The module's digest for the manifest (an image removed since is no error). */
	struct cri_image_info info = {0};
	kumo_error_t ierr = NULL;
	const char *modules[2] = {NULL, NULL};
	if (b->images->ops->status(b->images, image, &info, &ierr) == 0 && info.module_digest)
		modules[0] = info.module_digest;
	kumo_error_free(&ierr);
	struct cri_record recs[] = {
		{"pod.json", pod_json, strlen(pod_json)},
		{"container.json", ctr_json, strlen(ctr_json)},
		{"kumo.json", kumo_json, strlen(kumo_json)},
	};
	int ret = b->vms->ops->checkpoint(b->vms, id, path, o, recs, 3, modules, err);
	cri_image_info_clear(&info);
	if (ret < 0)
		return kumo_error_wrap(err, "checkpoint container `%.12s`", id);
	return 0;
}

/* Whether the VM stage runs each pod as one VM (whose checkpoint is the pod's). */
static bool pod_vms(struct cri_runtime *rt)
{
	return rt->backend->vms->ops->pod_run != NULL;
}

/* Checkpoints pod pod_ref's VM (full id or prefix) to path: every running container. */
static int checkpoint_pod_vm(struct cri_runtime *rt, const char *pod_ref, const char *path,
			     const struct cri_checkpoint_opts *o, kumo_error_t *err)
{
	struct cri_vms *vms = rt->backend->vms;
	if (!vms->ops->pod_checkpoint)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "this kumod's VM stage cannot checkpoint a "
				  "pod VM");
	if (!o->migrate_to && (!path || !*path))
		return kumo_error(err, KUMO_E_INVALID, "a checkpoint needs the archive's path");
	if (!o->migrate_to && path[0] != '/')
		return kumo_error(err, KUMO_E_INVALID, "checkpoint path `%s` is not absolute", path);
	char pod_id[CRI_ID_LEN + 1];
	pthread_mutex_lock(&rt->lock);
	struct cri_pod *p;
	if (rt_find_pod(rt, pod_ref, &p, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	memcpy(pod_id, p->id, sizeof(pod_id));
	autofree char *pod_json = to_json(&p->config->base);
	json_t *ctrs = json_array();
	size_t n = 0;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		if (strcmp(c->pod_id, pod_id) == 0 && c->state == CS(RUNNING))
			n++;
	char **images = xzalloc(sizeof(char *) * (n + 1));
	n = 0;
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next) {
		if (strcmp(c->pod_id, pod_id) != 0 || c->state != CS(RUNNING))
			continue;
		images[n++] = xstrdup(c->config->image->image);
		json_array_append_new(ctrs, json_pack("{s:s, s:s, s:s, s:o}", "container_id", c->id,
						      "image", c->config->image->image, "image_id",
						      c->image_id, "config",
						      pbjson_from_message(&c->config->base)));
	}
	json_t *k = json_pack("{s:i, s:b, s:s, s:s, s:s, s:I, s:i}", "version", RECORDS_VERSION,
			      "pod_vm", 1, "pod_id", pod_id, "runtime_handler", p->runtime_handler,
			      "pod_ip", p->ip, "checkpointed_at", (json_int_t)rt_now(), "containers",
			      (int)n);
	autofree char *kumo_json = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	autofree char *ctrs_json = json_dumps(ctrs, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(k);
	json_decref(ctrs);
	pthread_mutex_unlock(&rt->lock);
	/* The modules' digests for the manifest, once each (an image removed since is no
	 * error: its module is in the VM's memory). */
	const char **modules = xzalloc(sizeof(char *) * (n + 1));
	struct cri_image_info *infos = xzalloc(sizeof(*infos) * (n + 1));
	size_t nm = 0;
	for (size_t i = 0; i < n; i++) {
		kumo_error_t ierr = NULL;
		struct cri_images *im = rt->backend->images;
		if (im->ops->status(im, images[i], &infos[i], &ierr) == 0 && infos[i].module_digest) {
			bool dup = false;
			for (size_t j = 0; j < nm; j++)
				dup |= strcmp(modules[j], infos[i].module_digest) == 0;
			if (!dup)
				modules[nm++] = infos[i].module_digest;
		}
		kumo_error_free(&ierr);
	}
	struct cri_record recs[] = {
		{"pod.json", pod_json, strlen(pod_json)},
		{"containers.json", ctrs_json, strlen(ctrs_json)},
		{"kumo.json", kumo_json, strlen(kumo_json)},
	};
	int ret = vms->ops->pod_checkpoint(vms, pod_id, path, o, recs, 3, modules, err);
	for (size_t i = 0; i < n; i++) {
		cri_image_info_clear(&infos[i]);
		free(images[i]);
	}
	free(infos);
	free(images);
	free(modules);
	return ret;
}

int
cri_checkpoint_container(struct cri_runtime *rt, const ProtobufCMessage *req,
			 ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__CheckpointContainerRequest *r = (const void *)req;
	if (!*r->container_id)
		return kumo_error(err, KUMO_E_INVALID, "CheckpointContainer needs container_id");
	/* kubelet's checkpoint API is forensic: the container keeps running. */
	struct cri_checkpoint_opts o = {.leave_running = true};
	if (pod_vms(rt)) {
		/* Its state is its pod's VM: the archive holds the whole pod. */
		char pod_id[CRI_ID_LEN + 1], id[CRI_ID_LEN + 1];
		pthread_mutex_lock(&rt->lock);
		struct cri_ctr *c;
		int fr = rt_find_ctr(rt, r->container_id, &c, err);
		if (fr == 0 && c->state != CS(RUNNING))
			fr = kumo_error(err, KUMO_E_PRECONDITION, "container `%.12s` is not running",
					c->id);
		if (fr == 0) {
			memcpy(pod_id, c->pod_id, sizeof(pod_id));
			memcpy(id, c->id, sizeof(id));
		}
		pthread_mutex_unlock(&rt->lock);
		if (fr < 0)
			return -1;
		if (checkpoint_pod_vm(rt, pod_id, r->location, &o, err) < 0)
			return kumo_error_wrap(err, "checkpoint container `%.12s` (its pod's VM)", id);
	} else if (checkpoint_ctr(rt, r->container_id, r->location, &o, err) < 0) {
		return -1;
	}
	Runtime__V1__CheckpointContainerResponse *m =
		CRI_NEW(Runtime__V1__CheckpointContainerResponse,
			RUNTIME__V1__CHECKPOINT_CONTAINER_RESPONSE__INIT);
	*resp = &m->base;
	return 0;
}

/* CheckpointPod's options (kumo's; other keys are ignored):
 *   leave_running  "true" (default), "false": the pod's VM is stopped after the save
 *                  (`kumo checkpoint --stop`)
 *   describe_only  "true": the archive holds everything but the VM's state, which a
 *                  live migration sends (`kumo migrate`'s first step)
 *   migrate_to     "tcp:HOST:PORT": no archive; the VM migrates live to a destination
 *                  kumod restoring with `incoming` (`kumo migrate`'s last step); a pod
 *                  VM's output_path is then where the destination waits for the
 *                  source's hand-over (its RestorePod's `incoming_tail`)
 *   max_bandwidth  a migration's limit in bytes per second (default: unthrottled) */
static const char *option_of(const Runtime__V1__CheckpointPodRequest *r, const char *key)
{
	for (size_t i = 0; i < r->n_options; i++)
		if (strcmp(r->options[i]->key, key) == 0)
			return r->options[i]->value;
	return NULL;
}

int
cri_checkpoint_pod(struct cri_runtime *rt, const ProtobufCMessage *req,
		   ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__CheckpointPodRequest *r = (const void *)req;
	if (!*r->pod_sandbox_id)
		return kumo_error(err, KUMO_E_INVALID, "CheckpointPod needs pod_sandbox_id");
	const char *lr = option_of(r, "leave_running"), *d = option_of(r, "describe_only");
	const char *bw = option_of(r, "max_bandwidth");
	struct cri_checkpoint_opts o = {.leave_running = !lr || strcmp(lr, "false") != 0,
					.describe_only = d && strcmp(d, "true") == 0,
					.migrate_to = option_of(r, "migrate_to")};
	if (o.migrate_to && *o.migrate_to == 0)
		o.migrate_to = NULL;
	if (bw && *bw) {
		char *end = NULL;
		errno = 0;
		unsigned long long v = strtoull(bw, &end, 10);
		if (errno || *end || bw[0] == '-' || v == 0)
			return kumo_error(err, KUMO_E_INVALID,
					  "option max_bandwidth `%s` is not a positive number of bytes "
					  "per second", bw);
		o.max_bandwidth = v;
	}
	if (pod_vms(rt)) {
		if (checkpoint_pod_vm(rt, r->pod_sandbox_id, r->output_path, &o, err) < 0)
			return -1;
		Runtime__V1__CheckpointPodResponse *m =
			CRI_NEW(Runtime__V1__CheckpointPodResponse,
				RUNTIME__V1__CHECKPOINT_POD_RESPONSE__INIT);
		*resp = &m->base;
		return 0;
	}
	char cid[CRI_ID_LEN + 1] = "", pod_id[CRI_ID_LEN + 1];
	int running = 0;
	pthread_mutex_lock(&rt->lock);
	struct cri_pod *p;
	if (rt_find_pod(rt, r->pod_sandbox_id, &p, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	memcpy(pod_id, p->id, sizeof(pod_id));
	/* Today a pod's containers are VMs of their own and one at a time holds the pod's
	 * network: the pod's state is its running container's VM. */
	for (struct cri_ctr *c = rt->ctrs; c; c = c->next)
		if (strcmp(c->pod_id, pod_id) == 0 && c->state == CS(RUNNING)) {
			running++;
			memcpy(cid, c->id, sizeof(cid));
		}
	pthread_mutex_unlock(&rt->lock);
	if (running == 0)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "pod `%.12s` has no running container: nothing to checkpoint", pod_id);
	if (running > 1)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "pod `%.12s` has %d running containers (VMs); kumo checkpoints a pod "
				  "with one", pod_id, running);
	if (checkpoint_ctr(rt, cid, r->output_path, &o, err) < 0)
		return kumo_error_wrap(err, "checkpoint pod `%.12s`", pod_id);
	Runtime__V1__CheckpointPodResponse *m = CRI_NEW(Runtime__V1__CheckpointPodResponse,
							RUNTIME__V1__CHECKPOINT_POD_RESPONSE__INIT);
	*resp = &m->base;
	return 0;
}

/* ---- restore --------------------------------------------------------------------------- */

int rt_archive_open(struct cri_runtime *rt, const char *path, struct vmm_archive **a,
		    char **work, kumo_error_t *err)
{
	*a = NULL;
	*work = NULL;
	char kernel_id[KUMO_DIGEST_BUF];
	if (builder_kernel_id(kernel_id, err) < 0)
		return -1;
	struct vmm_archive_ids here = {kernel_id, builder_compiler_id(), NULL};
	autofree char *base = xasprintf("%s/restores", rt->root);
	if (kumo_mkdir_p(base, 0700, err) < 0)
		return -1;
	*work = xasprintf("%s/XXXXXX", base);
	if (!mkdtemp(*work)) {
		kumo_error_errno(err, errno, "create a directory in `%s`", base);
		free(*work);
		*work = NULL;
		return -1;
	}
	return vmm_archive_open(path, *work, &here, a, err);
}

void rt_archive_close(struct vmm_archive *a, char *work)
{
	/* A restored VM has its own kernel and initrd (vmm_restore): the unpacked files go. */
	if (work)
		kumo_rm_tree(work);
	free(work);
	vmm_archive_free(a);
}

/* A record of the archive decoded as message type desc; with ip, the annotation
 * CRI_ANNOTATION_IP = ip is added (a PodSandboxConfig). */
static int record_msg(const struct vmm_archive *a, const char *name,
		      const ProtobufCMessageDescriptor *desc, const char *ip, ProtobufCMessage **out,
		      kumo_error_t *err)
{
	const struct vmm_archive_record *rec = vmm_archive_record(a, name);
	if (!rec)
		return kumo_error(err, KUMO_E_INVALID, "the archive has no record `%s`", name);
	json_error_t je;
	json_t *j = json_loadb(rec->data, rec->len, 0, &je);
	if (!j)
		return kumo_error(err, KUMO_E_INVALID, "record `%s`: %s", name, je.text);
	if (ip && *ip && json_is_object(j)) {
		json_t *an = json_object_get(j, "annotations");
		if (!json_is_object(an)) {
			an = json_object();
			json_object_set_new(j, "annotations", an);
		}
		json_object_set_new(an, CRI_ANNOTATION_IP, json_string(ip));
	}
	int rc = pbjson_to_message(desc, j, out, err);
	json_decref(j);
	return rc < 0 ? kumo_error_wrap(err, "record `%s`", name) : 0;
}

/* RunPodSandbox for a restore (rp's config and handler set; *pod_cfg is the archive's
 * config, or NULL when the request gave one): at the archived address saved_ip when it
 * is free, else at a new one (logged: the guest keeps the address it had). */
static int run_restored_pod(struct cri_runtime *rt, const struct vmm_archive *a,
			    const char *path, Runtime__V1__RunPodSandboxRequest *rp,
			    const char *saved_ip, const struct cri_pod_restore *restore,
			    ProtobufCMessage **pod_cfg, ProtobufCMessage **pod_resp, kumo_error_t *err)
{
	if (rt_run_pod_sandbox(rt, rp, restore, pod_resp, err) == 0)
		return 0;
	if (!saved_ip || !*pod_cfg)
		return -1;
	/* The address is taken (the checkpointed pod still runs, or another pod has it
	 * since): a new one, on which the restored guest is not reachable. */
	log_warn("restore `%s`: pod address `%s` is not available (%s): the restored pod gets "
		 "another, which its guest does not know", path, saved_ip, kumo_error_msg(*err));
	kumo_error_free(err);
	protobuf_c_message_free_unpacked(*pod_cfg, NULL);
	*pod_cfg = NULL;
	if (record_msg(a, "pod.json", &runtime__v1__pod_sandbox_config__descriptor, NULL, pod_cfg,
		       err) < 0)
		return -1;
	rp->config = (Runtime__V1__PodSandboxConfig *)*pod_cfg;
	return rt_run_pod_sandbox(rt, rp, restore, pod_resp, err);
}

/* RestorePod of a pod VM's archive: the pod (*pod_id set as soon as it exists: the
 * caller removes it on failure), its containers adopting their instances, the VM run,
 * the containers started. */
static int restore_pod_vm(struct cri_runtime *rt, const Runtime__V1__RestorePodRequest *r,
			  const struct vmm_archive *a, struct cri_pod_restore *pr,
			  Runtime__V1__RunPodSandboxRequest *rp,
			  const char *saved_ip, ProtobufCMessage **pod_cfg, char *pod_id,
			  ProtobufCMessage **resp, kumo_error_t *err)
{
	const struct vmm_archive_record *cr = vmm_archive_record(a, "containers.json");
	if (!cr)
		return kumo_error(err, KUMO_E_INVALID, "the archive has no record `containers.json`");
	json_error_t je;
	json_t *ctrs = json_loadb(cr->data, cr->len, 0, &je);
	if (!json_is_array(ctrs)) {
		json_decref(ctrs);
		return kumo_error(err, KUMO_E_INVALID, "record `containers.json`: %s",
				  ctrs ? "not a list" : je.text);
	}
	size_t n = json_array_size(ctrs);
	if (r->n_container_configs && r->n_container_configs != n) {
		json_decref(ctrs);
		return kumo_error(err, KUMO_E_INVALID, "the archive holds %zu running containers, %zu "
				  "configs given", n, r->n_container_configs);
	}
	struct cri_record *recs = xzalloc(sizeof(*recs) * (a->nrecords + 1));
	for (size_t i = 0; i < a->nrecords; i++)
		recs[i] = (struct cri_record){a->records[i].name, a->records[i].data, a->records[i].len};
	pr->recs = recs;
	pr->nrecs = a->nrecords;
	ProtobufCMessage *pod_resp = NULL;
	ProtobufCMessage **cfgs = xzalloc(sizeof(*cfgs) * (n + 1));
	char **ids = xzalloc(sizeof(char *) * (n + 1));
	int ret = run_restored_pod(rt, a, r->checkpoint_path, rp, saved_ip, pr, pod_cfg, &pod_resp,
				   err);
	if (ret == 0)
		snprintf(pod_id, CRI_ID_LEN + 1, "%s",
			 ((Runtime__V1__RunPodSandboxResponse *)pod_resp)->pod_sandbox_id);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		json_t *e = json_array_get(ctrs, i);
		if (!r->n_container_configs &&
		    pbjson_to_message(&runtime__v1__container_config__descriptor,
				      json_object_get(e, "config"), &cfgs[i], err) < 0) {
			ret = kumo_error_wrap(err, "record `containers.json`: container %zu", i);
			break;
		}
		Runtime__V1__CreateContainerRequest cc = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
		cc.pod_sandbox_id = pod_id;
		cc.config = r->n_container_configs ? r->container_configs[i]
						   : (Runtime__V1__ContainerConfig *)cfgs[i];
		cc.sandbox_config = rp->config;
		ProtobufCMessage *cresp = NULL;
		ret = rt_create_container(rt, &cc, a->snap_dir, NULL, &cresp, err);
		if (ret == 0)
			ids[i] = xstrdup(((Runtime__V1__CreateContainerResponse *)cresp)->container_id);
		if (cresp)
			protobuf_c_message_free_unpacked(cresp, NULL);
	}
	struct cri_vms *vms = rt->backend->vms;
	if (ret == 0)
		ret = vms->ops->pod_resume(vms, pod_id, err);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		Runtime__V1__StartContainerRequest sc = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
		sc.container_id = ids[i];
		ProtobufCMessage *sresp = NULL;
		ret = cri_start_container(rt, &sc.base, &sresp, err);
		if (sresp)
			protobuf_c_message_free_unpacked(sresp, NULL);
	}
	if (ret == 0) {
		Runtime__V1__RestorePodResponse *m = CRI_NEW(Runtime__V1__RestorePodResponse,
							     RUNTIME__V1__RESTORE_POD_RESPONSE__INIT);
		m->pod_sandbox_id = xstrdup(pod_id);
		m->n_restored_containers = n;
		m->restored_containers = xzalloc(sizeof(*m->restored_containers) * (n + 1));
		for (size_t i = 0; i < n; i++) {
			const Runtime__V1__ContainerConfig *c =
				r->n_container_configs ? r->container_configs[i]
						       : (Runtime__V1__ContainerConfig *)cfgs[i];
			Runtime__V1__RestoredContainer *rc = xmalloc(sizeof(*rc));
			*rc = (Runtime__V1__RestoredContainer)RUNTIME__V1__RESTORED_CONTAINER__INIT;
			rc->name = xstrdup(c->metadata ? c->metadata->name : "");
			rc->container_id = ids[i];
			ids[i] = NULL;
			m->restored_containers[i] = rc;
		}
		*resp = &m->base;
		log_info("pod %.12s restored from `%s` (made %s): its VM and %zu running containers",
			 pod_id, r->checkpoint_path, a->created ? a->created : "?", n);
	}
	for (size_t i = 0; i < n; i++) {
		if (cfgs[i])
			protobuf_c_message_free_unpacked(cfgs[i], NULL);
		free(ids[i]);
	}
	free(cfgs);
	free(ids);
	free(recs);
	if (pod_resp)
		protobuf_c_message_free_unpacked(pod_resp, NULL);
	json_decref(ctrs);
	return ret;
}

int
cri_restore_pod(struct cri_runtime *rt, const ProtobufCMessage *req,
		ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__RestorePodRequest *r = (const void *)req;
	if (!*r->checkpoint_path)
		return kumo_error(err, KUMO_E_INVALID, "RestorePod needs checkpoint_path");
	/* Option `incoming` ("tcp:ADDR:PORT"): the archive is a description
	 * (describe_only) and the VM's state arrives by a live migration there; a pod VM's
	 * also needs `incoming_tail`, where the source writes its hand-over
	 * (cri/podvm_snap.c). */
	const char *incoming = NULL, *incoming_tail = NULL;
	for (size_t i = 0; i < r->n_options; i++) {
		if (strcmp(r->options[i]->key, "incoming") == 0 && *r->options[i]->value)
			incoming = r->options[i]->value;
		if (strcmp(r->options[i]->key, "incoming_tail") == 0 && *r->options[i]->value)
			incoming_tail = r->options[i]->value;
	}
	struct vmm_archive *a = NULL;
	char *work = NULL;
	ProtobufCMessage *pod_cfg = NULL, *ctr_cfg = NULL, *pod_resp = NULL, *ctr_resp = NULL,
			 *start_resp = NULL;
	int ret = -1;
	char pod_id[CRI_ID_LEN + 1] = "";
	autofree char *saved_handler = NULL, *saved_ip = NULL;
	if (rt_archive_open(rt, r->checkpoint_path, &a, &work, err) < 0)
		goto out;
	/* The guest keeps the address it had: ask the pod's network for it again. */
	json_t *k = vmm_archive_record_json(a, "kumo.json");
	bool archive_pod_vm = false;
	if (k) {
		const char *ip = json_string_value(json_object_get(k, "pod_ip"));
		saved_ip = ip && *ip ? xstrdup(ip) : NULL;
		archive_pod_vm = json_is_true(json_object_get(k, "pod_vm"));
		const char *h = json_string_value(json_object_get(k, "runtime_handler"));
		saved_handler = xstrdup(h ? h : "");
		json_decref(k);
	}
	if (archive_pod_vm != pod_vms(rt)) {
		kumo_error(err, KUMO_E_PRECONDITION,
			   archive_pod_vm ? "the archive holds a pod VM; this kumod runs each container "
					    "as a VM of its own (--pod-vm false): restore it on a kumod "
					    "running pod VMs"
					  : "the archive holds a container's VM (made by a kumod running "
					    "--pod-vm false); this kumod runs each pod as one VM: restore "
					    "it on a kumod running --pod-vm false");
		goto out;
	}
	if (archive_pod_vm && incoming && (!incoming_tail || incoming_tail[0] != '/')) {
		kumo_error(err, KUMO_E_INVALID,
			   "a pod VM's live migration needs option `incoming_tail`: the absolute path "
			   "of the source's hand-over (`kumo migrate` gives it)");
		goto out;
	}
	if (!r->config && record_msg(a, "pod.json", &runtime__v1__pod_sandbox_config__descriptor,
				     saved_ip, &pod_cfg, err) < 0)
		goto out;
	const char *handler = r->runtime_handler;
	if (saved_handler && (!handler || !*handler))
		handler = saved_handler; /* the archive's kumo.json's */
	Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	rp.config = r->config ? r->config : (Runtime__V1__PodSandboxConfig *)pod_cfg;
	rp.runtime_handler = (char *)(handler ? handler : "");
	if (archive_pod_vm) {
		struct cri_pod_restore pr = {a->snap_dir, NULL, 0, incoming, incoming_tail};
		ret = restore_pod_vm(rt, r, a, &pr, &rp, saved_ip, &pod_cfg, pod_id, resp, err);
		goto out;
	}
	if (r->n_container_configs > 1) {
		kumo_error(err, KUMO_E_UNSUPPORTED, "the archive holds one container, %zu configs given",
			   r->n_container_configs);
		goto out;
	}
	if (!r->n_container_configs &&
	    record_msg(a, "container.json", &runtime__v1__container_config__descriptor, NULL,
		       &ctr_cfg, err) < 0)
		goto out;
	if (run_restored_pod(rt, a, r->checkpoint_path, &rp, saved_ip, NULL, &pod_cfg, &pod_resp,
			     err) < 0)
		goto out;
	snprintf(pod_id, sizeof(pod_id), "%s",
		 ((Runtime__V1__RunPodSandboxResponse *)pod_resp)->pod_sandbox_id);
	Runtime__V1__CreateContainerRequest cc = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	cc.pod_sandbox_id = pod_id;
	cc.config = r->n_container_configs ? r->container_configs[0]
					   : (Runtime__V1__ContainerConfig *)ctr_cfg;
	cc.sandbox_config = rp.config;
	if (rt_create_container(rt, &cc, a->snap_dir, incoming, &ctr_resp, err) < 0)
		goto out;
	const char *cid = ((Runtime__V1__CreateContainerResponse *)ctr_resp)->container_id;
	Runtime__V1__StartContainerRequest sc = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	sc.container_id = (char *)cid;
	if (cri_start_container(rt, &sc.base, &start_resp, err) < 0)
		goto out;
	log_info("pod %.12s restored from `%s` (made %s), container %.12s running", pod_id,
		 r->checkpoint_path, a->created ? a->created : "?", cid);
	Runtime__V1__RestorePodResponse *m = CRI_NEW(Runtime__V1__RestorePodResponse,
						     RUNTIME__V1__RESTORE_POD_RESPONSE__INIT);
	m->pod_sandbox_id = xstrdup(pod_id);
	m->n_restored_containers = 1;
	m->restored_containers = xzalloc(sizeof(*m->restored_containers));
	Runtime__V1__RestoredContainer *rc = xmalloc(sizeof(*rc));
	*rc = (Runtime__V1__RestoredContainer)RUNTIME__V1__RESTORED_CONTAINER__INIT;
	rc->name = xstrdup(cc.config->metadata ? cc.config->metadata->name : "");
	rc->container_id = xstrdup(cid);
	m->restored_containers[0] = rc;
	*resp = &m->base;
	ret = 0;
out:
	if (ret < 0 && *pod_id) {
		/* Nothing half-restored stays: the new pod goes (its container with it). */
		kumo_error_t rerr = NULL;
		Runtime__V1__StopPodSandboxRequest st = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__RemovePodSandboxRequest rm = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		ProtobufCMessage *x = NULL;
		st.pod_sandbox_id = rm.pod_sandbox_id = pod_id;
		if (cri_stop_pod_sandbox(rt, &st.base, &x, &rerr) == 0)
			protobuf_c_message_free_unpacked(x, NULL);
		x = NULL;
		if (cri_remove_pod_sandbox(rt, &rm.base, &x, &rerr) == 0)
			protobuf_c_message_free_unpacked(x, NULL);
		if (rerr)
			log_warn("restore: remove pod %.12s: %s", pod_id, kumo_error_msg(rerr));
		kumo_error_free(&rerr);
	}
	if (ret < 0)
		kumo_error_wrap(err, "restore `%s`", r->checkpoint_path);
	rt_archive_close(a, work);
	if (pod_cfg)
		protobuf_c_message_free_unpacked(pod_cfg, NULL);
	if (ctr_cfg)
		protobuf_c_message_free_unpacked(ctr_cfg, NULL);
	if (pod_resp)
		protobuf_c_message_free_unpacked(pod_resp, NULL);
	if (ctr_resp)
		protobuf_c_message_free_unpacked(ctr_resp, NULL);
	if (start_resp)
		protobuf_c_message_free_unpacked(start_resp, NULL);
	return ret;
}

int rt_create_from_archive(struct cri_runtime *rt, const Runtime__V1__CreateContainerRequest *r,
			   ProtobufCMessage **resp, kumo_error_t *err)
{
	const char *path = r->config->image->image;
	struct vmm_archive *a = NULL;
	char *work = NULL;
	int ret = rt_archive_open(rt, path, &a, &work, err);
	json_t *k = ret == 0 ? vmm_archive_record_json(a, "kumo.json") : NULL;
	if (json_is_true(json_object_get(k, "pod_vm")))
		ret = kumo_error(err, KUMO_E_PRECONDITION,
				 "`%s` holds a whole pod VM: restore it with RestorePod (`kumo "
				 "restore`), not as a container's image", path);
	else if (ret == 0 && pod_vms(rt))
		ret = kumo_error(err, KUMO_E_PRECONDITION,
				 "`%s` holds a container's VM (made by a kumod running --pod-vm "
				 "false): this kumod runs each pod as one VM, into which a VM cannot "
				 "be restored", path);
	json_decref(k);
	if (ret == 0)
		ret = rt_create_container(rt, r, a->snap_dir, NULL, resp, err);
	else
		kumo_error_wrap(err, "create container `%s` from `%s`", r->config->metadata ?
				r->config->metadata->name : "", path);
	rt_archive_close(a, work);
	return ret;
}
