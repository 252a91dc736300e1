/* cri/cli_run.c - `kumo run`: the app booted as a kumo unikernel VM (cli_run_vm.c), or
 * with --host as a Linux process on the hosted runtime (kernel/hosted/embed.h). The
 * command line is kernel/hosted/run_main.c's, shared with kumo-hostrun. */
#include <stdio.h>
#include <string.h>

#include "builder/builder.h"
#include "common.h"
#include "compiler/wat.h"
#include "cri/cli.h"
#include "cri/cli_run_vm.h"
#include "kernel/hosted/embed.h"

_Static_assert(KUMO_HOSTED_EXIT_TRAP == KUMO_EXIT_TRAP && KUMO_HOSTED_EXIT_FAILURE ==
			       KUMO_EXIT_FAILURE && KUMO_HOSTED_EXIT_USAGE == KUMO_EXIT_USAGE,
	       "the hosted runner's exit statuses are kumo's");

/* --host: the object comes from the build cache (compiled once per module). */
static int compile_cached(const char *wasm_path, bool bounds_checks, char **obj_path,
			  char **tmp_dir, kumo_error_t *err)
{
	struct builder_options o = {.bounds_checks = bounds_checks};
	struct builder_object r;
	if (builder_compile(&o, &(struct builder_module){.path = wasm_path}, &r, err) < 0)
		return kumo_error_wrap(err, "compile `%s`", wasm_path);
	*obj_path = r.path; /* owned by the caller now; the cache keeps the file */
	*tmp_dir = NULL;
	return 0;
}

static int run_vm(const struct kumo_hosted_vm_args *a)
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
	struct builder_mount *dirs = xzalloc((a->ndirs + 1) * sizeof(*dirs));
	for (size_t i = 0; i < a->ndirs; i++)
		dirs[i] = (struct builder_mount){.guest_path = a->dirs[i].guest,
						 .host_path = a->dirs[i].host, .share = true};
	struct kumo_run_vm_opts vo = {
		.app = a->app, .argv = a->argv, .argc = a->argc, .env = a->env, .nenv = a->nenv,
		.dirs = dirs, .ndirs = a->ndirs, .mem_bytes = a->mem_bytes, .listen = a->listen,
		.nlisten = a->nlisten, .net = a->net || a->nlisten > 0, .libvirt = a->libvirt,
		.verbose = a->verbose, .accel = a->accel,
	};
	int status = kumo_run_vm(&vo);
	free(dirs);
	return status;
}

static int cmd_run(int argc, char **argv)
{
	return kumo_hosted_run_main("kumo run", argc, argv, compile_cached, run_vm);
}
KUMO_COMMAND("run", cmd_run, "run a Wasm app as a VM (--host: as a Linux process)");
