/* cri/runtime_ckimage.c - CreateContainer whose image is a checkpoint image (issue 18):
 * a snapshot archive wrapped as an OCI image (imagestore.h "checkpoint image", made by
 * `kumo push --checkpoint`), pulled like any image, as CRI-O restores a container from a
 * checkpoint image. The archive is verified first (vmm_archive_open: its digests, this
 * node's kernel and compiler builds), nothing touched before; then
 *   - per-container VMs (--pod-vm false), an archive of a container's VM: the
 *     container's VM is restored from it into the request's pod (as a CreateContainer
 *     whose image is an archive's path, rt_create_from_archive);
 *   - pod VMs (the default), an archive of a pod VM: the pod RunPodSandbox made, still
 *     without containers, gets the archive's VM in place of the one it booted
 *     (cri_vms_ops.pod_replace: the pod's NIC, which RESUME tells the guest), and the
 *     container adopts the archive's running container, whatever its name was;
 *     StartContainer runs the VM. An archive of several running containers is refused
 *     (FailedPrecondition: one container cannot take a whole pod, RestorePod restores
 *     it), so is a pod with a container that has not ended (created or running); one
 *     whose containers all ended takes it (kubelet restarting the container: it starts
 *     from the checkpoint again).
 * Either way the request's config is the container's (its log path, mounts: staged
 * under the new id). Its image is the archived container's when this node has that
 * image (its files are staged as at the checkpoint, as CRI-O creates a restored
 * container from its rootfs image), else the checkpoint image itself (no image files:
 * files the app held open there fail with ESTALE). An archive of the other kind than
 * this kumod runs is refused (FailedPrecondition saying which kumod restores it). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/builder.h"
#include "cri/runtime.h"
#include "vmm/vmm.h"

/* The image the restored container is created with: the archived container's `archived`
 * when this node has it as a Wasm image, else the checkpoint image `ckimage`. */
static const char *pick_image(struct cri_runtime *rt, const char *archived, const char *ckimage)
{
	struct cri_images *im = rt->backend->images;
	struct cri_image_info info = {0};
	kumo_error_t err = NULL;
	bool have = archived && *archived && im->ops->status(im, archived, &info, &err) == 0 &&
		    !info.checkpoint_path;
	cri_image_info_clear(&info);
	kumo_error_free(&err);
	if (!have)
		log_warn("checkpoint image `%s`: its container's image `%s` is not on this node: the "
			 "restored container gets no image files", ckimage, archived ? archived : "");
	return have ? archived : ckimage;
}

/* rt_create_container from the verified archive a, the request's config with its image
 * replaced by `image`. */
static int create_restored(struct cri_runtime *rt, const Runtime__V1__CreateContainerRequest *r,
			   const struct vmm_archive *a, const char *image, ProtobufCMessage **resp,
			   kumo_error_t *err)
{
	Runtime__V1__CreateContainerRequest r2 = *r;
	Runtime__V1__ContainerConfig cfg = *r->config;
	Runtime__V1__ImageSpec spec = *r->config->image;
	spec.image = (char *)image;
	cfg.image = &spec;
	r2.config = &cfg;
	return rt_create_container(rt, &r2, a->snap_dir, NULL, resp, err);
}

/* A pod VM's archive into the request's pod (see the top). */
static int create_in_pod_vm(struct cri_runtime *rt, const Runtime__V1__CreateContainerRequest *r,
			    const struct vmm_archive *a, ProtobufCMessage **resp, kumo_error_t *err)
{
	struct cri_vms *vms = rt->backend->vms;
	if (!vms->ops->pod_replace)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "this kumod's VM stage cannot restore a pod VM into a pod");
	json_t *ctrs = vmm_archive_record_json(a, "containers.json");
	if (!json_is_array(ctrs)) {
		json_decref(ctrs);
		return kumo_error(err, KUMO_E_INVALID, "the archive has no valid record "
				  "`containers.json`");
	}
	size_t n = json_array_size(ctrs);
	json_t *c0 = json_array_get(ctrs, 0);
	autofree char *archived_image = xstrdup(json_string_value(json_object_get(c0, "image")) ?: "");
	autofree char *archived_name = xstrdup(json_string_value(json_object_get(
		json_object_get(json_object_get(c0, "config"), "metadata"), "name")) ?: "");
	json_decref(ctrs);
	if (n != 1)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "the checkpoint holds a pod VM with %zu running containers; a "
				  "container's image restores a pod VM with one: restore the whole pod "
				  "with RestorePod (`kumo restore`)", n);
	/* The pod as RunPodSandbox made it: ready, no container yet. */
	pthread_mutex_lock(&rt->lock);
	struct cri_pod *p;
	if (rt_find_pod(rt, r->pod_sandbox_id, &p, err) < 0) {
		pthread_mutex_unlock(&rt->lock);
		return -1;
	}
	/* Ended containers leave nothing in the VM (kubelet restarting a container of a
	 * checkpoint image creates it again, beside the ended one: restored again). */
	const char *other = NULL;
	for (struct cri_ctr *c = rt->ctrs; c && !other; c = c->next)
		if (strcmp(c->pod_id, p->id) == 0 &&
		    (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED || c->busy))
			other = c->config->metadata->name;
	int ret = 0;
	if (p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY)
		ret = kumo_error(err, KUMO_E_PRECONDITION, "pod sandbox `%.12s` is not ready", p->id);
	else if (other)
		ret = kumo_error(err, KUMO_E_PRECONDITION,
				 "pod `%.12s` already has container `%s`, which has not ended: a "
				 "checkpoint image of a pod VM is restored into a pod whose containers "
				 "all ended, or that has none (the pod's VM becomes the checkpoint's)",
				 p->id, other);
	char pod_id[CRI_ID_LEN + 1];
	memcpy(pod_id, p->id, sizeof(pod_id));
	autofree char *ip = xstrdup(p->ip);
	Runtime__V1__PodSandboxConfig *pc =
		ret == 0 ? (Runtime__V1__PodSandboxConfig *)pb_dup(&p->config->base) : NULL;
	pthread_mutex_unlock(&rt->lock);
	if (ret < 0)
		return -1;
	/* The pod VM's spec as RunPodSandbox's, with the archive's VM. */
	const Runtime__V1__DNSConfig *dc = pc->dns_config;
	autofree const char **dns = xzalloc(sizeof(char *) * (dc ? dc->n_servers + 1 : 1));
	autofree const char **search = xzalloc(sizeof(char *) * (dc ? dc->n_searches + 1 : 1));
	for (size_t i = 0; dc && i < dc->n_servers; i++)
		dns[i] = dc->servers[i];
	for (size_t i = 0; dc && i < dc->n_searches; i++)
		search[i] = dc->searches[i];
	autofree struct cri_record *recs = xzalloc(sizeof(*recs) * (a->nrecords + 1));
	for (size_t i = 0; i < a->nrecords; i++)
		recs[i] = (struct cri_record){a->records[i].name, a->records[i].data, a->records[i].len};
	struct cri_pod_restore pr = {.dir = a->snap_dir, .recs = recs, .nrecs = a->nrecords};
	const Runtime__V1__LinuxContainerResources *res =
		pc->linux ? pc->linux->resources : NULL;
	struct cri_pod_vm_spec vs = {
		.id = pod_id, .name = pc->metadata ? pc->metadata->name : "", .hostname = pc->hostname,
		.dns_servers = dns, .dns_searches = search,
		.memory_limit_bytes = res ? res->memory_limit_in_bytes : 0, .restore = &pr,
	};
	struct cri_pod_nic nic;
	struct cri_podnet *pn = rt->backend->podnet;
	if (*ip) {
		ret = pn->ops->nic(pn, pod_id, ip, &nic, err);
		vs.nic = &nic;
	}
	const char *name = r->config->metadata->name;
	uint64_t t0 = kumo_now_ns();
	if (ret == 0)
		ret = vms->ops->pod_replace(vms, &vs, name, err);
	if (ret == 0) {
		log_info("pod %.12s: its VM is the checkpoint's (made %s), container `%s` of it "
			 "restored as `%s` (%.1f ms)", pod_id, a->created ? a->created : "?",
			 archived_name, name, (double)(kumo_now_ns() - t0) / 1e6);
		ret = create_restored(rt, r, a,
				      pick_image(rt, archived_image, r->config->image->image), resp,
				      err);
		if (ret < 0) {
			/* The pod goes back to a VM of its own, booted, as RunPodSandbox left it. */
			vs.restore = NULL;
			kumo_error_t berr = NULL;
			if (vms->ops->pod_replace(vms, &vs, NULL, &berr) < 0)
				log_error("pod %.12s: after a failed restore: %s", pod_id,
					  kumo_error_msg(berr));
			kumo_error_free(&berr);
		}
	}
	protobuf_c_message_free_unpacked(&pc->base, NULL);
	return ret;
}

int rt_create_from_checkpoint_image(struct cri_runtime *rt,
				    const Runtime__V1__CreateContainerRequest *r, const char *archive,
				    ProtobufCMessage **resp, kumo_error_t *err)
{
	const char *ref = r->config->image->image;
	if (!r->config->metadata || !*r->config->metadata->name)
		return kumo_error(err, KUMO_E_INVALID, "CreateContainer needs config.metadata.name");
	const char *name = r->config->metadata->name;
	uint64_t t0 = kumo_now_ns();
	struct vmm_archive *a = NULL;
	char *work = NULL;
	int ret = rt_archive_open(rt, archive, &a, &work, err);
	json_t *k = ret == 0 ? vmm_archive_record_json(a, "kumo.json") : NULL;
	bool pod_vm = json_is_true(json_object_get(k, "pod_vm"));
	autofree char *archived_image = xstrdup(json_string_value(json_object_get(k, "image")) ?: "");
	json_decref(k);
	if (ret == 0 && pod_vm && !rt->backend->vms->ops->pod_run)
		ret = kumo_error(err, KUMO_E_PRECONDITION,
				 "it holds a pod VM; this kumod runs each container as a VM of its own "
				 "(--pod-vm false): restore it on a kumod running pod VMs");
	else if (ret == 0 && !pod_vm && rt->backend->vms->ops->pod_run)
		ret = kumo_error(err, KUMO_E_PRECONDITION,
				 "it holds a container's VM (made by a kumod running --pod-vm false); "
				 "this kumod runs each pod as one VM: restore it on a kumod running "
				 "--pod-vm false");
	if (ret == 0)
		log_info("checkpoint image `%s`: archive verified in %.1f ms (made %s)", ref,
			 (double)(kumo_now_ns() - t0) / 1e6, a->created ? a->created : "?");
	if (ret == 0 && pod_vm)
		ret = create_in_pod_vm(rt, r, a, resp, err);
	else if (ret == 0)
		ret = create_restored(rt, r, a, pick_image(rt, archived_image, ref), resp, err);
	if (ret < 0)
		kumo_error_wrap(err, "create container `%s` from checkpoint image `%s`", name, ref);
	rt_archive_close(a, work);
	return ret;
}
