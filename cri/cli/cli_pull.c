/* cri/cli/cli_pull.c - `kumo pull REF`, and the store/registry options the image subcommands share. */
#include <getopt.h>
#include <string.h>

#include "cri/cli/cli.h"
#include "cri/cli/cli_image_opts.h"
#include "imagestore/imagestore.h"

/* Options shared by pull, images, rmi and push (see kumo_cli_image_opts). */

/* Parses the common options; returns 0, or KUMO_EXIT_USAGE after printing why. */
int kumo_cli_image_opts(int argc, char **argv, struct kumo_image_opts *o)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"insecure-registry", required_argument, NULL, 'k'},
		{"creds", required_argument, NULL, 'c'},
		{"docker-config", required_argument, NULL, 'd'},
		{"artifact", no_argument, NULL, 'a'},
		{"checkpoint", no_argument, NULL, 'K'},
		{"check", no_argument, NULL, 'C'},
		{"gc", no_argument, NULL, 'g'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->cfg.root = getenv("KUMO_ROOT");
	static const char *defaults[] = {"localhost", "127.0.0.1", "::1", "[::1]"};
	for (int i = 0; i < 4; i++)
		o->insecure[o->n_insecure++] = defaults[i];
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->cfg.root = optarg;
			break;
		case 'k':
			if (o->n_insecure < 16)
				o->insecure[o->n_insecure++] = optarg;
			break;
		case 'c': {
			char *colon = strchr(optarg, ':');
			if (!colon) {
				fprintf(stderr, "kumo %s: --creds wants USER:PASSWORD\n", argv[0]);
				return KUMO_EXIT_USAGE;
			}
			*colon = 0;
			o->auth.username = optarg;
			o->auth.password = colon + 1;
			break;
		}
		case 'd':
			o->cfg.docker_config = optarg;
			break;
		case 'a':
			o->artifact = true;
			break;
		case 'K':
			o->checkpoint = true;
			break;
		case 'C':
			o->check = true;
			break;
		case 'g':
			o->gc = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		default:
			return KUMO_EXIT_USAGE;
		}
	}
	o->insecure[o->n_insecure] = NULL;
	o->cfg.insecure_registries = o->insecure;
	o->first_arg = optind;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kumo pull [--root DIR] [--creds USER:PASS] [--docker-config FILE]\n"
		   "                 [--insecure-registry HOST[:PORT]]... REF\n"
		   "Pulls a WebAssembly image (wasi/wasm OCI image or Wasm artifact), or a checkpoint\n"
		   "image (`kumo push --checkpoint`), into the store\n"
		   "(default /var/lib/kumo, or $KUMO_ROOT). localhost and 127.0.0.1 use plain HTTP.\n");
}

static int cmd_pull(int argc, char **argv)
{
	struct kumo_image_opts o;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	if (kumo_cli_image_opts(argc, argv, &o) != 0 || o.first_arg != argc - 1) {
		usage(stderr);
		return KUMO_EXIT_USAGE;
	}
	autoerror kumo_error_t err = NULL;
	struct imagestore *s = NULL;
	if (imagestore_open(&o.cfg, &s, &err) < 0) {
		kumo_cli_error("pull", err);
		return KUMO_EXIT_FAILURE;
	}
	struct imagestore_image *im = NULL;
	uint64_t t0 = kumo_now_ns();
	int rc = imagestore_pull(s, argv[o.first_arg], &o.auth, &im, &err);
	uint64_t t1 = kumo_now_ns();
	imagestore_close(s);
	if (rc < 0) {
		kumo_cli_error("pull", err);
		return KUMO_EXIT_FAILURE;
	}
	if (!o.quiet && im->format == IMAGESTORE_FORMAT_CHECKPOINT)
		printf("pulled %s\n  id       %s\n  format   checkpoint (%s)\n  archive  %s\n  time     "
		       "%.3f s\n", argv[o.first_arg], im->id, im->platform, im->checkpoint_path,
		       (double)(t1 - t0) / 1e9);
	else if (!o.quiet)
		printf("pulled %s\n  id      %s\n  format  %s (%s)\n  module  %s\n  digest  %s\n  time    %.3f s\n",
		       argv[o.first_arg], im->id,
		       im->format == IMAGESTORE_FORMAT_WASM_ARTIFACT ? "wasm artifact" : "oci image",
		       im->platform, im->module_path, im->module_digest, (double)(t1 - t0) / 1e9);
	else
		printf("%s\n", im->id);
	imagestore_image_free(im);
	return 0;
}
KUMO_COMMAND("pull", cmd_pull, "pull a WebAssembly image from a registry");
