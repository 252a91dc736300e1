/* cri/cli/cli_push.c - `kumo push app.wasm REF [--artifact]`: publish a module as a wasi/wasm image or a Wasm artifact. */
#include <string.h>

#include "cri/cli/cli.h"
#include "cri/cli/cli_image_opts.h"
#include "imagestore/imagestore.h"


static const char usage_text[] =
	"usage: kumo push [--artifact] [--creds USER:PASS] [--insecure-registry HOST] APP.wasm REF\n"
	"Builds an OCI image with platform wasi/wasm (one tar+gzip layer holding /APP.wasm,\n"
	"Entrypoint naming it) or, with --artifact, the CNCF Wasm artifact, and pushes it.\n";

static int cmd_push(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
	struct kumo_image_opts o;
	if (kumo_cli_image_opts(argc, argv, &o) != 0 || o.first_arg != argc - 2) {
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
	int rc = imagestore_push(s, argv[o.first_arg], argv[o.first_arg + 1], o.artifact, &o.auth,
				 &digest, &err);
	imagestore_close(s);
	if (rc < 0) {
		kumo_cli_error("push", err);
		return KUMO_EXIT_FAILURE;
	}
	printf("pushed %s %s\n", argv[o.first_arg + 1], digest);
	free(digest);
	return 0;
}
KUMO_COMMAND("push", cmd_push, "push a .wasm module as a wasi/wasm image or Wasm artifact");
