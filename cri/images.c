/* cri/images.c - the image stage: PullImage as pull (imagestore/), compile (builder/),
 * and removal of an image whose module does not compile; list, status, remove and
 * file-system usage straight from the store. */
#include <string.h>

#include "builder/builder.h"
#include "cri/backend.h"
#include "imagestore/imagestore.h"

struct images {
	struct imagestore *store;
	char *root; /* kumod's state directory: the build cache lives under it */
};

static struct images *images_of(struct cri_images *s)
{
	return s->priv;
}

static char **strv_copy(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = xzalloc(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void info_from_image(const struct imagestore_image *img, struct cri_image_info *info)
{
	info->id = xstrdup(img->id);
	info->repo_tags = strv_copy(img->repo_tags);
	info->repo_digests = strv_copy(img->repo_digests);
	info->size = img->size;
	info->pinned = img->pinned;
	info->module_path = dup_or_null(img->module_path);
	info->module_digest = dup_or_null(img->module_digest);
	info->entrypoint = strv_copy(img->entrypoint);
	info->cmd = strv_copy(img->cmd);
	info->env = strv_copy(img->env);
	info->working_dir = dup_or_null(img->working_dir);
	info->rootfs = dup_or_null(img->rootfs_path);
	info->checkpoint_path = dup_or_null(img->checkpoint_path);
	info->annotations = strv_copy(img->annotations);
}

/* The image's module compiled now (a cache hit when another image or an earlier pull
 * had the same module), so that CreateContainer and StartContainer never compile. */
static int compile_image(struct images *im, const struct imagestore_image *img,
			 kumo_error_t *err)
{
	if (!img->module_path)
		return kumo_error(err, KUMO_E_INVALID, "image `%s` names no .wasm module", img->id);
	struct builder_options opts = {.root = im->root};
	struct builder_object res = {0};
	struct builder_module mod = {img->module_path, img->module_digest};
	if (builder_compile(&opts, &mod, &res, err) < 0)
		return kumo_error_wrap(err, "compile the image's module");
	log_info("module %s of image %s: %s (%llu ms)", res.module_digest, img->id,
		 res.cache_hit ? "already compiled" : "compiled",
		 (unsigned long long)(res.ns / 1000000));
	builder_object_free(&res);
	return 0;
}

/* CRI credentials as imagestore takes them ("" is none). */
static struct imagestore_auth auth_of(const struct cri_auth *auth)
{
	struct imagestore_auth ia = {0};
	if (auth) {
		ia.username = auth->username && *auth->username ? auth->username : NULL;
		ia.password = auth->password && *auth->password ? auth->password : NULL;
		ia.auth = auth->auth && *auth->auth ? auth->auth : NULL;
		ia.identity_token = auth->identity_token && *auth->identity_token ? auth->identity_token : NULL;
		ia.registry_token = auth->registry_token && *auth->registry_token ? auth->registry_token : NULL;
	}
	return ia;
}

static int images_pull(struct cri_images *s, const char *ref, const struct cri_auth *auth,
		       char **image_id, kumo_error_t *err)
{
	struct images *im = images_of(s);
	struct imagestore_auth ia = auth_of(auth);
	struct imagestore_image *img = NULL;
	if (imagestore_pull(im->store, ref, auth ? &ia : NULL, &img, err) < 0)
		return -1;
	if (img->format == IMAGESTORE_FORMAT_CHECKPOINT) {
		/* A snapshot archive: its modules are compiled, linked and running in the
		 * VM it holds (checked against this node's builds when it is restored). */
		log_info("image %s is a checkpoint image (%s): nothing to compile", img->id,
			 img->checkpoint_path);
	} else if (compile_image(im, img, err) < 0) {
		/* An image kumo cannot compile is not kept: ListImages would call it present
		 * and every CreateContainer would then fail. */
		kumo_error_t rerr = NULL;
		if (imagestore_remove(im->store, img->id, true, &rerr) < 0)
			log_warn("drop image %s: %s", img->id, kumo_error_msg(rerr));
		kumo_error_free(&rerr);
		imagestore_image_free(img);
		return kumo_error_wrap(err, "pull `%s`", ref);
	}
	*image_id = xstrdup(img->id);
	imagestore_image_free(img);
	return 0;
}

static int images_list(struct cri_images *s, struct cri_image_info **infos, size_t *n,
		       kumo_error_t *err)
{
	struct imagestore_image **list = NULL;
	if (imagestore_list(images_of(s)->store, &list, err) < 0)
		return -1;
	size_t k = 0;
	while (list[k])
		k++;
	*infos = xzalloc(sizeof(**infos) * (k + 1));
	for (size_t i = 0; i < k; i++)
		info_from_image(list[i], &(*infos)[i]);
	*n = k;
	imagestore_image_list_free(list);
	return 0;
}

static int images_status(struct cri_images *s, const char *ref, struct cri_image_info *info,
			 kumo_error_t *err)
{
	struct imagestore_image *img = NULL;
	if (imagestore_status(images_of(s)->store, ref, &img, err) < 0)
		return -1;
	info_from_image(img, info);
	imagestore_image_free(img);
	return 0;
}

static int images_remove(struct cri_images *s, const char *ref, kumo_error_t *err)
{
	return imagestore_remove(images_of(s)->store, ref, true, err);
}

static int images_fs_info(struct cri_images *s, struct cri_fs_usage *u, kumo_error_t *err)
{
	struct imagestore *store = images_of(s)->store;
	uint64_t bytes = 0, inodes = 0;
	if (imagestore_fs_usage(store, &bytes, &inodes, err) < 0)
		return -1;
	u->mountpoint = xstrdup(imagestore_root(store));
	u->used_bytes = bytes;
	u->inodes_used = inodes;
	return 0;
}

static int images_probe(struct cri_images *s, const char *ref, const struct cri_auth *auth,
			bool *is_wasm, char **what, kumo_error_t *err)
{
	struct imagestore_auth ia = auth_of(auth);
	struct imagestore_probe p;
	if (imagestore_probe(images_of(s)->store, ref, auth ? &ia : NULL, &p, err) < 0)
		return -1;
	*is_wasm = p.wasm;
	*what = p.what;
	p.what = NULL;
	imagestore_probe_clear(&p);
	return 0;
}

static void images_destroy(struct cri_images *s)
{
	struct images *im = images_of(s);
	if (im) {
		imagestore_close(im->store);
		free(im->root);
		free(im);
	}
	free(s);
}

static const struct cri_images_ops images_ops = {
	.pull = images_pull,
	.list = images_list,
	.status = images_status,
	.remove = images_remove,
	.fs_info = images_fs_info,
	.probe = images_probe,
	.destroy = images_destroy,
};

int cri_images_new(const char *root, const char *const *insecure, struct cri_images **out,
		   kumo_error_t *err)
{
	struct images *im = xzalloc(sizeof(*im));
	im->root = xstrdup(root);
	/* No --insecure-registry: imagestore's default (localhost, 127.0.0.1, ::1). */
	struct imagestore_config icfg = {
		.root = root,
		.insecure_registries = insecure && insecure[0] ? insecure : NULL,
	};
	if (imagestore_open(&icfg, &im->store, err) < 0) {
		free(im->root);
		free(im);
		return kumo_error_wrap(err, "open the image store");
	}
	struct cri_images *s = xzalloc(sizeof(*s));
	s->ops = &images_ops;
	s->priv = im;
	*out = s;
	return 0;
}
