/* cri/cli_run.c - `kumo run`: compiles a Wasm app and runs it; `--host` runs it as a
 * Linux process on the hosted runtime (kernel/hosted/embed.h). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "compiler/compiler.h"
#include "cri/cli.h"
#include "kernel/hosted/embed.h"

#define MAX_WASM_BYTES (1u << 30)

_Static_assert(KUMO_HOSTED_EXIT_TRAP == KUMO_EXIT_TRAP && KUMO_HOSTED_EXIT_FAILURE ==
			       KUMO_EXIT_FAILURE && KUMO_HOSTED_EXIT_USAGE == KUMO_EXIT_USAGE,
	       "the hosted runner's exit statuses are kumo's");

/* Compiles app.wasm into a fresh object under a temporary directory. */
static int compile_to_temp(const char *wasm_path, bool bounds_checks, char **obj_path,
			   char **tmp_dir, kumo_error_t *err)
{
	uint8_t *wasm = NULL;
	size_t len = 0;
	if (kumo_read_file(wasm_path, MAX_WASM_BYTES, &wasm, &len, err) < 0)
		return -1;
	const char *t = getenv("TMPDIR");
	char *dir = xasprintf("%s/kumo-run-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		free(wasm);
		kumo_error_errno(err, errno, "create a temporary directory `%s`", dir);
		free(dir);
		return -1;
	}
	char *obj = xasprintf("%s/app.o", dir);
	struct kumo_compile_options opts = {.cpu = NULL, .opt_level = 2,
					    .bounds_checks = bounds_checks};
	int rc = kumo_compile_file(wasm, len, &opts, obj, NULL, err);
	free(wasm);
	if (rc < 0) {
		rmdir(dir);
		free(dir);
		free(obj);
		return kumo_error_wrap(err, "compile `%s`", wasm_path);
	}
	*obj_path = obj;
	*tmp_dir = dir;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	return kumo_hosted_run_main("kumo run", argc, argv, compile_to_temp, true);
}
KUMO_COMMAND("run", cmd_run, "run a Wasm app (--host: as a Linux process)");
