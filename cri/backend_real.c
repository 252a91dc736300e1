/* cri/backend_real.c - the real backend: imagestore/ for images, builder/ for the
 * bootable artifact, vmm/ for VMs and pod networking.
 *
 * Until those folders export their public headers into this branch, every call says
 * which piece is missing (KUMO_E_UNAVAILABLE) instead of pretending: kumod starts,
 * answers Version/Status/lists, and reports NetworkReady=false honestly.
 */
#include <string.h>

#include "cri/backend.h"

#define MISSING_IMAGES "kumo's image store (imagestore/) is not built into this kumod yet"
#define MISSING_VMS "kumo's VM manager and builder (vmm/, builder/) are not built into this kumod yet"
#define MISSING_NET "kumo's pod networking (vmm/ net) is not built into this kumod yet"

static int real_image_pull(struct cri_backend *b, const char *ref, const struct cri_auth *auth,
			   char **image_id, kumo_error_t *err)
{
	return kumo_error(err, KUMO_E_UNAVAILABLE, "%s", MISSING_IMAGES);
}

static int real_image_list(struct cri_backend *b, struct cri_image_info **infos, size_t *n,
			   kumo_error_t *err)
{
	/* No store: nothing is pulled, so the list is honestly empty. */
	*infos = NULL;
	*n = 0;
	return 0;
}

static int real_image_status(struct cri_backend *b, const char *ref, struct cri_image_info *info,
			     kumo_error_t *err)
{
	return kumo_error(err, KUMO_E_NOT_FOUND, "image `%s` not found (%s)", ref, MISSING_IMAGES);
}

static int real_image_remove(struct cri_backend *b, const char *ref, kumo_error_t *err)
{
	return 0; /* nothing can have been pulled */
}

static int real_image_fs_info(struct cri_backend *b, struct cri_fs_usage *u, kumo_error_t *err)
{
	u->mountpoint = xasprintf("%s/blobs", b->root);
	u->used_bytes = 0;
	u->inodes_used = 0;
	return 0;
}

static bool real_network_ready(struct cri_backend *b, char **reason, char **message)
{
	*reason = xstrdup("NetworkPluginNotReady");
	*message = xstrdup(MISSING_NET);
	return false;
}

static int real_pod_net_setup(struct cri_backend *b, const struct cri_pod_spec *pod, char **ip,
			      kumo_error_t *err)
{
	/* Pods run without a network until vmm/ net lands: the pod is usable, has no IP. */
	*ip = xstrdup("");
	return 0;
}

static int real_pod_net_teardown(struct cri_backend *b, const char *pod_id, kumo_error_t *err)
{
	return 0;
}

static int real_vm_create(struct cri_backend *b, const struct cri_container_spec *spec,
			  kumo_error_t *err)
{
	return kumo_error(err, KUMO_E_UNAVAILABLE, "%s", MISSING_VMS);
}

static int real_vm_start(struct cri_backend *b, const char *id, kumo_error_t *err)
{
	return kumo_error(err, KUMO_E_UNAVAILABLE, "%s", MISSING_VMS);
}

static int real_vm_stop(struct cri_backend *b, const char *id, int64_t timeout_s, kumo_error_t *err)
{
	return 0; /* no VM can be running */
}

static int real_vm_remove(struct cri_backend *b, const char *id, kumo_error_t *err)
{
	return 0;
}

static int real_vm_status(struct cri_backend *b, const char *id, struct cri_vm_status *st,
			  kumo_error_t *err)
{
	*st = (struct cri_vm_status){.state = CRI_VM_GONE};
	return 0;
}

static int real_vm_stats(struct cri_backend *b, const char *id, struct cri_vm_stats *stats,
			 kumo_error_t *err)
{
	return kumo_error(err, KUMO_E_UNAVAILABLE, "%s", MISSING_VMS);
}

static void real_destroy(struct cri_backend *b)
{
}

static const struct cri_backend_ops real_ops = {
	.name = "real",
	.image_pull = real_image_pull,
	.image_list = real_image_list,
	.image_status = real_image_status,
	.image_remove = real_image_remove,
	.image_fs_info = real_image_fs_info,
	.network_ready = real_network_ready,
	.pod_net_setup = real_pod_net_setup,
	.pod_net_teardown = real_pod_net_teardown,
	.vm_create = real_vm_create,
	.vm_start = real_vm_start,
	.vm_stop = real_vm_stop,
	.vm_remove = real_vm_remove,
	.vm_status = real_vm_status,
	.vm_stats = real_vm_stats,
	.log_reopen = NULL,
	.destroy = real_destroy,
};

int cri_backend_real_new(const char *root, const char *const *insecure, struct cri_backend **out,
			 kumo_error_t *err)
{
	struct cri_backend *b = xzalloc(sizeof(*b));
	b->ops = &real_ops;
	b->root = xstrdup(root);
	size_t n = 0;
	while (insecure && insecure[n])
		n++;
	b->insecure_registries = xzalloc(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		b->insecure_registries[i] = xstrdup(insecure[i]);
		if (strcmp(insecure[i], "*") == 0)
			b->insecure_registry_all = true;
	}
	*out = b;
	return 0;
}
