/* cri/cli/cli_rmi.c - `kumo rmi REF...`: remove images (or tags) and collect unreferenced blobs. */
#include <string.h>

#include "cri/cli/cli.h"
#include "cri/cli/cli_image_opts.h"
#include "imagestore/imagestore.h"


static int cmd_rmi(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: kumo rmi [--root DIR] REF|ID...\n"
			       "Removes a tag (the image when it was the last one) or an image by id.\n");
			return 0;
		}
	struct kumo_image_opts o;
	if (kumo_cli_image_opts(argc, argv, &o) != 0 || o.first_arg >= argc) {
		fprintf(stderr, "usage: kumo rmi [--root DIR] REF|ID...\n");
		return KUMO_EXIT_USAGE;
	}
	autoerror kumo_error_t err = NULL;
	struct imagestore *s = NULL;
	if (imagestore_open(&o.cfg, &s, &err) < 0) {
		kumo_cli_error("rmi", err);
		return KUMO_EXIT_FAILURE;
	}
	int rc = 0;
	for (int i = o.first_arg; i < argc; i++) {
		if (imagestore_remove(s, argv[i], false, &err) < 0) {
			kumo_cli_error("rmi", err);
			kumo_error_free(&err);
			rc = KUMO_EXIT_FAILURE;
			continue;
		}
		if (!o.quiet)
			printf("removed %s\n", argv[i]);
	}
	imagestore_close(s);
	return rc;
}
KUMO_COMMAND("rmi", cmd_rmi, "remove images from the store");
