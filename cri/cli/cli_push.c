/* cri/cli/cli_push.c - `kumo push app.wasm REF [--artifact]`: publish a module as a wasi/wasm image or a Wasm artifact; `kumo push --checkpoint FILE REF`: a snapshot archive as a checkpoint image. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/cli/cli.h"
#include "cri/cli/cli_image_opts.h"
#include "imagestore/imagestore.h"
#include "vmm/vmm.h"


static const char usage_text[] =
	"usage: kumo push [--artifact] [--creds USER:PASS] [--insecure-registry HOST] APP.wasm REF\n"
	"       kumo push --checkpoint [--creds USER:PASS] [--insecure-registry HOST] FILE REF\n"
	"Builds an OCI image with platform wasi/wasm (one tar+gzip layer holding /APP.wasm,\n"
	"Entrypoint naming it) or, with --artifact, the CNCF Wasm artifact, and pushes it.\n"
	"With --checkpoint, FILE is a snapshot archive (`kumo checkpoint POD -o FILE`): it is\n"
	"verified, then pushed as a checkpoint image (one layer, the archive itself, media type\n"
	"`" IMAGESTORE_MT_CHECKPOINT_LAYER "`; the annotation\n"
	"`" IMAGESTORE_ANN_CHECKPOINT_NAME "` names its containers), which\n"
	"kumod pulls (PullImage) and restores as the image of a container (CreateContainer).\n";

/* The image's config and annotations (key, value, ..., NULL-terminated) describing the
 * verified archive a: its builds, its kind, its pod, its running containers' names and
 * images (kumo's records, README "Snapshots"). */
static void describe(const struct vmm_archive *a, char **config, char ***annotations)
{
	json_t *kumo = vmm_archive_record_json(a, "kumo.json"), *pod = vmm_archive_record_json(a, "pod.json");
	bool pod_vm = json_is_true(json_object_get(kumo, "pod_vm"));
	json_t *ctrs = json_array();
	if (pod_vm) {
		json_t *list = vmm_archive_record_json(a, "containers.json"), *e;
		size_t i;
		json_array_foreach(list, i, e) {
			json_t *md = json_object_get(json_object_get(e, "config"), "metadata");
			json_array_append_new(ctrs, json_pack("{s:s, s:s}", "name",
					      json_string_value(json_object_get(md, "name")) ?: "",
					      "image", json_string_value(json_object_get(e, "image")) ?: ""));
		}
		json_decref(list);
	} else {
		json_t *c = vmm_archive_record_json(a, "container.json");
		json_t *md = json_object_get(c, "metadata");
		json_array_append_new(ctrs, json_pack("{s:s, s:s}", "name",
				      json_string_value(json_object_get(md, "name")) ?: "", "image",
				      json_string_value(json_object_get(kumo, "image")) ?: ""));
		json_decref(c);
	}
	json_t *pmd = json_object_get(pod, "metadata");
	const char *pname = json_string_value(json_object_get(pmd, "name")) ?: "";
	const char *pns = json_string_value(json_object_get(pmd, "namespace")) ?: "";
	json_t *mods = json_array();
	for (size_t i = 0; a->modules && a->modules[i]; i++)
		json_array_append_new(mods, json_string(a->modules[i]));
	const char *kind = pod_vm ? "pod-vm" : "container-vm";
	json_t *cfg = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s}, s:O}",
				"format", VMM_ARCHIVE_FORMAT, "version", VMM_ARCHIVE_VERSION, "kind",
				kind, "created", a->created ?: "", "kernel_id", a->kernel_id ?: "",
				"compiler_id", a->compiler_id ?: "", "accel", a->accel ?: "", "qemu",
				a->qemu ?: "", "modules", mods, "pod", "name", pname, "namespace", pns,
				"containers", ctrs);
	*config = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cfg);
	/* CRI-O's annotation names the container; several are joined by ",". */
	size_t n = json_array_size(ctrs), used = 0;
	autofree char *names = xzalloc(1);
	for (size_t i = 0; i < n; i++) {
		const char *nm = json_string_value(json_object_get(json_array_get(ctrs, i), "name"));
		char *next = xasprintf("%s%s%s", names, i ? "," : "", nm ? nm : "");
		free(names);
		names = next;
	}
	char **an = xzalloc(sizeof(char *) * 13);
	an[used++] = xstrdup(IMAGESTORE_ANN_CHECKPOINT_NAME);
	an[used++] = xstrdup(names);
	an[used++] = xstrdup(IMAGESTORE_ANN_CHECKPOINT_KIND);
	an[used++] = xstrdup(kind);
	an[used++] = xstrdup("dev.kumo.checkpoint.pod");
	an[used++] = *pns ? xasprintf("%s/%s", pns, pname) : xstrdup(pname);
	an[used++] = xstrdup("dev.kumo.checkpoint.kernel");
	an[used++] = xstrdup(a->kernel_id ?: "");
	an[used++] = xstrdup("dev.kumo.checkpoint.compiler");
	an[used++] = xstrdup(a->compiler_id ?: "");
	an[used++] = xstrdup("org.opencontainers.image.created");
	an[used++] = xstrdup(a->created ?: "");
	*annotations = an;
	json_decref(ctrs);
	json_decref(kumo);
	json_decref(pod);
}

/* --checkpoint: the archive verified (its digests; any node's builds: the restoring
 * kumod compares them with its own), described, pushed. */
static int push_checkpoint(struct imagestore *s, const char *path, const char *ref,
			   const struct imagestore_auth *auth, char **digest, kumo_error_t *err)
{
	const char *tmp = getenv("TMPDIR");
	autofree char *work = xasprintf("%s/kumo-push-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(work))
		return kumo_error_errno(err, errno, "create a directory like `%s`", work);
	struct vmm_archive_ids any = {NULL, NULL, NULL};
	struct vmm_archive *a = NULL;
	int rc = vmm_archive_open(path, work, &any, &a, err);
	char *config = NULL, **annotations = NULL;
	if (rc == 0)
		describe(a, &config, &annotations);
	vmm_archive_free(a);
	kumo_rm_tree(work);
	if (rc < 0)
		return kumo_error_wrap(err, "push checkpoint `%s`", path);
	rc = imagestore_push_checkpoint(s, path, config, (const char *const *)annotations, ref, auth,
					digest, err);
	free(config);
	for (size_t i = 0; annotations && annotations[i]; i++)
		free(annotations[i]);
	free(annotations);
	return rc;
}

static int cmd_push(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
	struct kumo_image_opts o;
	if (kumo_cli_image_opts(argc, argv, &o) != 0 || o.first_arg != argc - 2 ||
	    (o.artifact && o.checkpoint)) {
		fputs(usage_text, stderr);
		return KUMO_EXIT_USAGE;
	}
	autoerror kumo_error_t err = NULL;
	struct imagestore *s = NULL;
	if (imagestore_open(&o.cfg, &s, &err) < 0) {
		kumo_cli_error("push", err);
		return KUMO_EXIT_FAILURE;
	}
	char *digest = NULL;
	int rc = o.checkpoint ? push_checkpoint(s, argv[o.first_arg], argv[o.first_arg + 1],
						&o.auth, &digest, &err)
			      : imagestore_push(s, argv[o.first_arg], argv[o.first_arg + 1],
						o.artifact, &o.auth, &digest, &err);
	imagestore_close(s);
	if (rc < 0) {
		kumo_cli_error("push", err);
		return KUMO_EXIT_FAILURE;
	}
	printf("pushed %s %s\n", argv[o.first_arg + 1], digest);
	free(digest);
	return 0;
}
KUMO_COMMAND("push", cmd_push,
	     "push a .wasm module as a wasi/wasm image or Wasm artifact, or a snapshot archive as "
	     "a checkpoint image");
