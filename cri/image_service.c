/* cri/image_service.c - ImageService: ListImages, ImageStatus, PullImage, RemoveImage,
 * ImageFsInfo. No state lock is taken: images live in the image stage's store. */
#include <string.h>

#include "cri/runtime.h"

struct cri_auth rt_auth_of(const Runtime__V1__AuthConfig *a)
{
	struct cri_auth auth = {0};
	if (a) {
		auth.username = a->username;
		auth.password = a->password;
		auth.auth = a->auth;
		auth.identity_token = a->identity_token;
		auth.registry_token = a->registry_token;
	}
	return auth;
}

static char **strv_dup(char **v, size_t *n)
{
	*n = 0;
	while (v && v[*n])
		(*n)++;
	char **out = xzalloc(sizeof(char *) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static Runtime__V1__Image *image_msg(const struct cri_image_info *info)
{
	Runtime__V1__Image *m = CRI_NEW(Runtime__V1__Image, RUNTIME__V1__IMAGE__INIT);
	m->id = pbs(info->id);
	m->repo_tags = strv_dup(info->repo_tags, &m->n_repo_tags);
	m->repo_digests = strv_dup(info->repo_digests, &m->n_repo_digests);
	m->size = info->size;
	m->pinned = info->pinned;
	m->spec = CRI_NEW(Runtime__V1__ImageSpec, RUNTIME__V1__IMAGE_SPEC__INIT);
	m->spec->image = pbs(info->id);
	/* The manifest's annotations (a checkpoint image's name its containers, as CRI-O's
	 * ImageStatus shows them). */
	size_t na = 0;
	while (info->annotations && info->annotations[na] && info->annotations[na + 1])
		na += 2;
	m->spec->annotations = xzalloc(sizeof(*m->spec->annotations) * (na / 2 + 1));
	for (size_t i = 0; i < na; i += 2) {
		Runtime__V1__ImageSpec__AnnotationsEntry *e =
			CRI_NEW(Runtime__V1__ImageSpec__AnnotationsEntry,
				RUNTIME__V1__IMAGE_SPEC__ANNOTATIONS_ENTRY__INIT);
		e->key = pbs(info->annotations[i]);
		e->value = pbs(info->annotations[i + 1]);
		m->spec->annotations[m->spec->n_annotations++] = e;
	}
	return m;
}

static bool image_matches(const struct cri_image_info *info, const char *want)
{
	if (strcmp(info->id, want) == 0)
		return true;
	for (size_t i = 0; info->repo_tags && info->repo_tags[i]; i++)
		if (strcmp(info->repo_tags[i], want) == 0)
			return true;
	for (size_t i = 0; info->repo_digests && info->repo_digests[i]; i++)
		if (strcmp(info->repo_digests[i], want) == 0)
			return true;
	return false;
}

int
cri_list_images(struct cri_runtime *rt, const ProtobufCMessage *req,
		ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ListImagesRequest *r = (const void *)req;
	const char *want = r->filter && r->filter->image ? r->filter->image->image : "";
	struct cri_images *im = rt->backend->images;
	struct cri_image_info *infos = NULL;
	size_t n = 0;
	if (im->ops->list(im, &infos, &n, err) < 0)
		return kumo_error_wrap(err, "list images");
	Runtime__V1__ListImagesResponse *m =
		CRI_NEW(Runtime__V1__ListImagesResponse, RUNTIME__V1__LIST_IMAGES_RESPONSE__INIT);
	m->images = xzalloc(sizeof(*m->images) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		if (!*want || image_matches(&infos[i], want))
			m->images[m->n_images++] = image_msg(&infos[i]);
		cri_image_info_clear(&infos[i]);
	}
	free(infos);
	*resp = &m->base;
	return 0;
}

int
cri_image_status(struct cri_runtime *rt, const ProtobufCMessage *req,
		 ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__ImageStatusRequest *r = (const void *)req;
	if (!r->image || !*r->image->image)
		return kumo_error(err, KUMO_E_INVALID, "ImageStatus needs image.image");
	struct cri_images *im = rt->backend->images;
	struct cri_image_info info = {0};
	Runtime__V1__ImageStatusResponse *m =
		CRI_NEW(Runtime__V1__ImageStatusResponse, RUNTIME__V1__IMAGE_STATUS_RESPONSE__INIT);
	kumo_error_t serr = NULL;
	if (im->ops->status(im, r->image->image, &info, &serr) < 0) {
		/* CRI: an absent image is an empty response, not an error. */
		if (serr->status != KUMO_E_NOT_FOUND) {
			protobuf_c_message_free_unpacked(&m->base, NULL);
			*err = serr;
			return kumo_error_wrap(err, "image status `%s`", r->image->image);
		}
		kumo_error_free(&serr);
		*resp = &m->base;
		return 0;
	}
	m->image = image_msg(&info);
	if (r->verbose) {
		json_t *j = json_pack("{s:s, s:s}", "id", info.id, "backend", rt->backend->name);
		if (info.checkpoint_path)
			json_object_set_new(j, "checkpoint", json_string(info.checkpoint_path));
		rt_set_verbose_info(&m->base, j);
		json_decref(j);
	}
	cri_image_info_clear(&info);
	*resp = &m->base;
	return 0;
}

int
cri_pull_image(struct cri_runtime *rt, const ProtobufCMessage *req,
	       ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__PullImageRequest *r = (const void *)req;
	if (!r->image || !*r->image->image)
		return kumo_error(err, KUMO_E_INVALID, "PullImage needs image.image");
	struct cri_auth auth = rt_auth_of(r->auth);
	struct cri_images *im = rt->backend->images;
	autofree char *id = NULL;
	uint64_t t0 = kumo_now_ns();
	/* The backend's message already names the reference. */
	if (im->ops->pull(im, r->image->image, r->auth ? &auth : NULL, &id, err) < 0)
		return -1;
	log_info("pulled `%s` as %s in %llu ms", r->image->image, id,
		 (unsigned long long)((kumo_now_ns() - t0) / 1000000));
	Runtime__V1__PullImageResponse *m =
		CRI_NEW(Runtime__V1__PullImageResponse, RUNTIME__V1__PULL_IMAGE_RESPONSE__INIT);
	m->image_ref = xstrdup(id);
	*resp = &m->base;
	return 0;
}

int
cri_remove_image(struct cri_runtime *rt, const ProtobufCMessage *req,
		 ProtobufCMessage **resp, kumo_error_t *err)
{
	const Runtime__V1__RemoveImageRequest *r = (const void *)req;
	if (!r->image || !*r->image->image)
		return kumo_error(err, KUMO_E_INVALID, "RemoveImage needs image.image");
	struct cri_images *im = rt->backend->images;
	if (im->ops->remove(im, r->image->image, err) < 0)
		return kumo_error_wrap(err, "remove image `%s`", r->image->image);
	*resp = &CRI_NEW(Runtime__V1__RemoveImageResponse,
			 RUNTIME__V1__REMOVE_IMAGE_RESPONSE__INIT)->base;
	return 0;
}

int
cri_image_fs_info(struct cri_runtime *rt, const ProtobufCMessage *req,
		  ProtobufCMessage **resp, kumo_error_t *err)
{
	struct cri_images *im = rt->backend->images;
	struct cri_fs_usage u = {0};
	if (im->ops->fs_info(im, &u, err) < 0)
		return kumo_error_wrap(err, "image fs info");
	Runtime__V1__ImageFsInfoResponse *m =
		CRI_NEW(Runtime__V1__ImageFsInfoResponse, RUNTIME__V1__IMAGE_FS_INFO_RESPONSE__INIT);
	m->image_filesystems = xzalloc(sizeof(*m->image_filesystems));
	Runtime__V1__FilesystemUsage *fu =
		CRI_NEW(Runtime__V1__FilesystemUsage, RUNTIME__V1__FILESYSTEM_USAGE__INIT);
	fu->timestamp = rt_now();
	fu->fs_id = CRI_NEW(Runtime__V1__FilesystemIdentifier, RUNTIME__V1__FILESYSTEM_IDENTIFIER__INIT);
	fu->fs_id->mountpoint = pbs(u.mountpoint);
	fu->used_bytes = CRI_NEW(Runtime__V1__UInt64Value, RUNTIME__V1__UINT64_VALUE__INIT);
	fu->used_bytes->value = u.used_bytes;
	fu->inodes_used = CRI_NEW(Runtime__V1__UInt64Value, RUNTIME__V1__UINT64_VALUE__INIT);
	fu->inodes_used->value = u.inodes_used;
	m->image_filesystems[m->n_image_filesystems++] = fu;
	free(u.mountpoint);
	*resp = &m->base;
	return 0;
}
