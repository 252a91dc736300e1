/* cri/cli/cli_run.c - `kumo run`: the app booted as a kumo unikernel VM
 * (cri/cli/cli_run_vm.c), or with --host as a Linux process on the hosted runtime; the
 * command line is cri/cli/cli_run_args.c's, shared with kumo-hostrun. */
#include <stdio.h>
#include <string.h>

#include "builder/builder.h"
#include "common.h"
#include "compiler/wat.h"
#include "cri/cli/cli.h"
#include "cri/cli/cli_run.h"

/* --host: the object comes from the build cache (compiled once per module). */
static int compile_cached(const char *wasm_path, bool bounds_checks, char **obj_path,
			  kumo_error_t *err)
{
	struct builder_options o = {.bounds_checks = bounds_checks};
	struct builder_object r;
	if (builder_compile(&o, &(struct builder_module){.path = wasm_path}, &r, err) < 0)
		return kumo_error_wrap(err, "compile `%s`", wasm_path);
	*obj_path = r.path; /* owned by the caller now; the cache keeps the file */
	return 0;
}

static int run_vm(const struct kumo_run_args *a)
{
	uint8_t head[256] = {0};
	FILE *f = fopen(a->app, "rb");
	size_t n = f ? fread(head, 1, sizeof(head), f) : 0;
	if (f)
		fclose(f);
	if (!(n >= 4 && memcmp(head, "\0asm", 4) == 0) && !wat_is_text(head, n)) {
		fprintf(stderr, "kumo run: `%s` is not a .wasm or .wat module: a VM is built from "
				"the module itself (objects and .so files run with --host)\n", a->app);
		return KUMO_EXIT_FAILURE;
	}
	return kumo_run_vm(a);
}

static int cmd_run(int argc, char **argv)
{
	return kumo_run_main("kumo run", argc, argv, compile_cached, run_vm);
}
KUMO_COMMAND("run", cmd_run, "run a Wasm app as a VM (--host: as a Linux process)");
