/* cri/backend.c - helpers every backend shares: clearing out-structs, exit reports. */
#include "cri/backend.h"

void cri_image_info_clear(struct cri_image_info *info)
{
	if (!info)
		return;
	free(info->id);
	for (size_t i = 0; info->repo_tags && info->repo_tags[i]; i++)
		free(info->repo_tags[i]);
	for (size_t i = 0; info->repo_digests && info->repo_digests[i]; i++)
		free(info->repo_digests[i]);
	free(info->repo_tags);
	free(info->repo_digests);
	*info = (struct cri_image_info){0};
}

void cri_vm_status_clear(struct cri_vm_status *st)
{
	if (!st)
		return;
	free(st->reason);
	free(st->message);
	st->reason = st->message = NULL;
}

void cri_backend_report_exit(struct cri_backend *b, const char *id, const struct cri_vm_status *st)
{
	cri_exit_fn fn = __atomic_load_n(&b->on_exit, __ATOMIC_ACQUIRE);
	if (fn)
		fn(b->on_exit_ctx, id, st);
}

void cri_backend_free(struct cri_backend *b)
{
	if (!b)
		return;
	if (b->ops && b->ops->destroy)
		b->ops->destroy(b);
	for (size_t i = 0; b->insecure_registries && b->insecure_registries[i]; i++)
		free(b->insecure_registries[i]);
	free(b->insecure_registries);
	free(b->root);
	free(b);
}
