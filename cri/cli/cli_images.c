/* cri/cli/cli_images.c - `kumo images`: list the stored images; --check verifies the store, --gc collects. */
#include <string.h>

#include "cri/cli/cli.h"
#include "cri/cli/cli_image_opts.h"
#include "imagestore/imagestore.h"


static void human(uint64_t n, char *buf, size_t len)
{
	if (n >= (1ull << 20))
		snprintf(buf, len, "%.1fMiB", (double)n / (1 << 20));
	else if (n >= 1024)
		snprintf(buf, len, "%.1fKiB", (double)n / 1024);
	else
		snprintf(buf, len, "%lluB", (unsigned long long)n);
}

static int cmd_images(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: kumo images [--root DIR] [-q] [--check] [--gc]\n"
			       "Lists stored images. --check walks the store and verifies every blob;\n"
			       "--gc deletes what no image references.\n");
			return 0;
		}
	struct kumo_image_opts o;
	if (kumo_cli_image_opts(argc, argv, &o) != 0 || o.first_arg != argc) {
		fprintf(stderr, "usage: kumo images [--root DIR] [-q] [--check] [--gc]\n");
		return KUMO_EXIT_USAGE;
	}
	autoerror kumo_error_t err = NULL;
	struct imagestore *s = NULL;
	if (imagestore_open(&o.cfg, &s, &err) < 0) {
		kumo_cli_error("images", err);
		return KUMO_EXIT_FAILURE;
	}
	int rc = 0;
	if (o.gc) {
		uint64_t freed = 0;
		if (imagestore_gc(s, &freed, &err) < 0) {
			kumo_cli_error("images", err);
			rc = KUMO_EXIT_FAILURE;
			goto out;
		}
		printf("gc: freed %llu bytes\n", (unsigned long long)freed);
	}
	if (o.check) {
		size_t n = 0;
		if (imagestore_check(s, &n, &err) < 0) {
			kumo_cli_error("images", err);
			rc = KUMO_EXIT_FAILURE;
			goto out;
		}
		printf("store ok: %zu blobs verified\n", n);
		goto out;
	}
	struct imagestore_image **v = NULL;
	if (imagestore_list(s, &v, &err) < 0) {
		kumo_cli_error("images", err);
		rc = KUMO_EXIT_FAILURE;
		goto out;
	}
	if (!o.quiet)
		printf("%-50s %-13s %-10s %-10s %s\n", "IMAGE", "ID", "SIZE", "FORMAT", "PLATFORM");
	for (size_t i = 0; v[i]; i++) {
		struct imagestore_image *im = v[i];
		if (o.quiet) {
			printf("%s\n", im->id);
			continue;
		}
		char sz[32];
		human(im->size, sz, sizeof(sz));
		const char *fmt = im->format == IMAGESTORE_FORMAT_WASM_ARTIFACT ? "artifact"
				  : im->format == IMAGESTORE_FORMAT_CHECKPOINT  ? "checkpoint"
										: "image";
		if (!im->repo_tags[0])
			printf("%-50s %.12s  %-10s %-10s %s%s\n",
			       im->repo_digests[0] ? im->repo_digests[0] : "<none>", im->id + 7, sz, fmt,
			       im->platform, im->pinned ? " pinned" : "");
		for (size_t t = 0; im->repo_tags[t]; t++)
			printf("%-50s %.12s  %-10s %-10s %s%s\n", im->repo_tags[t], im->id + 7, sz, fmt,
			       im->platform, im->pinned ? " pinned" : "");
	}
	imagestore_image_list_free(v);
out:
	imagestore_close(s);
	return rc;
}
KUMO_COMMAND("images", cmd_images, "list stored images (--check verifies the store)");
