/* cri/cli/cli_image_opts.h - the options `kumo pull`, `images`, `rmi` and `push` share,
 * parsed once by kumo_cli_image_opts() (cri/cli/cli_pull.c). */
#ifndef KUMO_CLI_IMAGE_OPTS_H
#define KUMO_CLI_IMAGE_OPTS_H

#include <stdbool.h>

#include "imagestore/imagestore.h"

struct kumo_image_opts {
	struct imagestore_config cfg;  /* store root, insecure registries, docker config */
	struct imagestore_auth auth;   /* --creds */
	const char *insecure[17];      /* --insecure-registry values, NULL-terminated */
	int n_insecure;                /* entries used in insecure */
	bool artifact;                 /* push: --artifact */
	bool checkpoint;               /* push: --checkpoint (the operand is a snapshot
					* archive, pushed as a checkpoint image) */
	bool check;                    /* images: --check */
	bool gc;                       /* images: --gc */
	bool quiet;                    /* images: -q */
	int first_arg;                 /* argv index of the first operand */
};

/* Parses the shared options; returns 0, or the exit status to return (usage error). */
int kumo_cli_image_opts(int argc, char **argv, struct kumo_image_opts *o);

#endif /* KUMO_CLI_IMAGE_OPTS_H */
