/* cri/backend.c - what every stage implementation shares (clearing out-structs, exit
 * reports, freeing), and the real backend made of the three real stages. */
#include <string.h>

#include "cri/backend.h"

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void cri_image_info_clear(struct cri_image_info *info)
{
	if (!info)
		return;
	free(info->id);
	strv_free(info->repo_tags);
	strv_free(info->repo_digests);
	free(info->module_path);
	free(info->module_digest);
	strv_free(info->entrypoint);
	strv_free(info->cmd);
	strv_free(info->env);
	free(info->working_dir);
	free(info->rootfs);
	free(info->checkpoint_path);
	strv_free(info->annotations);
	*info = (struct cri_image_info){0};
}

void cri_vms_report_exit(struct cri_vms *s, const char *id, const struct cri_vm_status *st)
{
	cri_exit_fn fn = __atomic_load_n(&s->on_exit, __ATOMIC_ACQUIRE);
	if (fn)
		fn(s->on_exit_ctx, id, st);
}

void cri_backend_free(struct cri_backend *b)
{
	if (!b)
		return;
	if (b->vms)
		b->vms->ops->destroy(b->vms);
	if (b->podnet)
		b->podnet->ops->destroy(b->podnet);
	if (b->images)
		b->images->ops->destroy(b->images);
	free(b);
}

int cri_backend_real_new(const char *root, const char *const *insecure, const char *vm_backend,
			 const struct cri_net_options *net, const char *accel, bool pod_vm,
			 bool snapshot_start, struct cri_backend **out, kumo_error_t *err)
{
	struct cri_backend *b = xzalloc(sizeof(*b));
	b->name = "real";
	/* The VM stage first: it refuses a bad vm backend or accelerator before anything
	 * touches the image store or the network. */
	bool libvirt = vm_backend && strcmp(vm_backend, "libvirt") == 0;
	if (pod_vm && libvirt)
		log_warn("pod VMs need the qemu VM backend: with libvirt each container runs as "
			 "its own VM");
	int vr = pod_vm && !libvirt ? cri_podvms_new(root, accel, snapshot_start, &b->vms, err)
				    : cri_vms_new(root, vm_backend, accel, &b->vms, err);
	if (vr < 0 ||
	    cri_images_new(root, insecure, &b->images, err) < 0 ||
	    cri_podnet_new(root, net, &b->podnet) < 0) {
		cri_backend_free(b);
		return -1;
	}
	*out = b;
	return 0;
}
