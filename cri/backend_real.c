/* cri/backend_real.c - the real backend: imagestore/ for images, builder/ for the
 * bootable artifact, vmm/ for VMs and pod networking.
 *
 * Pieces not yet in this tree answer with KUMO_E_UNAVAILABLE naming what is missing
 * instead of pretending: kumod starts, answers Version/Status/lists, and reports
 * NetworkReady=false honestly.
 */
#include <string.h>

#include "builder/builder.h"
#include "cri/backend.h"
#include "imagestore/imagestore.h"

#define MODULE_MAX_BYTES (512u << 20)

struct real {
	struct imagestore *store;
	char *root;
};

/* Id of the image whose module this thread just failed to compile (see real_image_pull). */
static __thread char *compile_failed_id;

/* imagestore's pull hook: compile the module now (a cache hit when another image or
 * an earlier pull had the same module), so CreateContainer and StartContainer never
 * compile. A module that does not validate fails the pull. */
static int compile_pulled(void *ctx, const struct imagestore_image *img, kumo_error_t *err)
{
	struct real *r = ctx;
	if (!img->module_path)
		return kumo_error(err, KUMO_E_INVALID, "image `%s` names no .wasm module", img->id);
	autofree uint8_t *wasm = NULL;
	size_t len = 0;
	if (kumo_read_file(img->module_path, MODULE_MAX_BYTES, &wasm, &len, err) < 0)
		return kumo_error_wrap(err, "compile the image's module");
	struct kumo_build_options opts = {.root = r->root};
	struct kumo_build_result res = {0};
	if (kumo_build_object(&opts, wasm, len, &res, err) < 0) {
		free(compile_failed_id);
		compile_failed_id = xstrdup(img->id);
		return kumo_error_wrap(err, "compile the image's module");
	}
	log_info("module %s of image %s: %s (%llu ms)", res.module_digest, img->id,
		 res.cache_hit ? "already compiled" : "compiled",
		 (unsigned long long)(res.ns / 1000000));
	kumo_build_result_free(&res);
	return 0;
}

static struct imagestore *store_of(struct cri_backend *b)
{
	return ((struct real *)b->priv)->store;
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

static void info_from_image(const struct imagestore_image *img, struct cri_image_info *info)
{
	info->id = xstrdup(img->id);
	info->repo_tags = strv_copy(img->repo_tags);
	info->repo_digests = strv_copy(img->repo_digests);
	info->size = img->size;
	info->pinned = img->pinned;
}
#define MISSING_VMS                                                                        \
	"kumo cannot boot containers yet: builder/ does not link a bootable kernel image "    \
	"(it has only the compile cache), so vmm/ has nothing to boot"
#define MISSING_NET "kumo's pod networking (vmm/ net) is not built into this kumod yet"

static int real_image_pull(struct cri_backend *b, const char *ref, const struct cri_auth *auth,
			   char **image_id, kumo_error_t *err)
{
	struct imagestore_auth ia = {0};
	if (auth) {
		ia.username = auth->username && *auth->username ? auth->username : NULL;
		ia.password = auth->password && *auth->password ? auth->password : NULL;
		ia.auth = auth->auth && *auth->auth ? auth->auth : NULL;
		ia.identity_token = auth->identity_token && *auth->identity_token ? auth->identity_token : NULL;
		ia.registry_token = auth->registry_token && *auth->registry_token ? auth->registry_token : NULL;
	}
	struct imagestore_image *img = NULL;
	if (imagestore_pull(store_of(b), ref, auth ? &ia : NULL, &img, err) < 0) {
		/* An image kumo cannot compile is not kept: ListImages would call it
		 * present and every CreateContainer would then fail. */
		if (compile_failed_id) {
			kumo_error_t rerr = NULL;
			if (imagestore_remove(store_of(b), compile_failed_id, true, &rerr) < 0)
				log_warn("drop image %s: %s", compile_failed_id, kumo_error_msg(rerr));
			kumo_error_free(&rerr);
			free(compile_failed_id);
			compile_failed_id = NULL;
		}
		return -1;
	}
	*image_id = xstrdup(img->id);
	imagestore_image_free(img);
	return 0;
}

static int real_image_list(struct cri_backend *b, struct cri_image_info **infos, size_t *n,
			   kumo_error_t *err)
{
	struct imagestore_image **list = NULL;
	if (imagestore_list(store_of(b), &list, err) < 0)
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

static int real_image_status(struct cri_backend *b, const char *ref, struct cri_image_info *info,
			     kumo_error_t *err)
{
	struct imagestore_image *img = NULL;
	if (imagestore_status(store_of(b), ref, &img, err) < 0)
		return -1;
	info_from_image(img, info);
	imagestore_image_free(img);
	return 0;
}

static int real_image_remove(struct cri_backend *b, const char *ref, kumo_error_t *err)
{
	return imagestore_remove(store_of(b), ref, true, err);
}

static int real_image_fs_info(struct cri_backend *b, struct cri_fs_usage *u, kumo_error_t *err)
{
	uint64_t bytes = 0, inodes = 0;
	if (imagestore_fs_usage(store_of(b), &bytes, &inodes, err) < 0)
		return -1;
	u->mountpoint = xstrdup(imagestore_root(store_of(b)));
	u->used_bytes = bytes;
	u->inodes_used = inodes;
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
	struct real *r = b->priv;
	if (!r)
		return;
	imagestore_close(r->store);
	free(r->root);
	free(r);
	b->priv = NULL;
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
	struct real *r = xzalloc(sizeof(*r));
	r->root = xstrdup(root);
	b->priv = r;
	/* No --insecure-registry: imagestore's default (localhost, 127.0.0.1, ::1). */
	struct imagestore_config icfg = {
		.root = root,
		.insecure_registries = n ? (const char *const *)b->insecure_registries : NULL,
		.on_pulled = compile_pulled,
		.on_pulled_ctx = r,
	};
	if (imagestore_open(&icfg, &r->store, err) < 0) {
		cri_backend_free(b);
		return kumo_error_wrap(err, "open the image store");
	}
	*out = b;
	return 0;
}
