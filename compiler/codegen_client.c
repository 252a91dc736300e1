/* compiler/codegen_client.c - code generation for programs that do not link LLVM (kumo,
 * kumod; codegen.h): every compile runs in the worker program kumo-compile, under the
 * compile budget's limits when they are set and with none otherwise. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "compiler/budget.h"
#include "compiler/codegen.h"

#define WORKER_NAME "kumo-compile"
#define WORKER_PATH_ENV "KUMO_COMPILE_WORKER_BIN"
#define WORKER_INSTALLED "/usr/lib/kumo/bin/" WORKER_NAME

int codegen_compile(const uint8_t *wasm, size_t len, const struct kumo_compile_options *opts,
		    const char *out_path, struct kumo_compile_info *info, kumo_error_t *err)
{
	return budget_compile(wasm, len, opts, out_path, info, err);
}

/* Found once: the first call that finds it keeps it; a failure is not kept. */
static pthread_mutex_t worker_lock = PTHREAD_MUTEX_INITIALIZER;
static char *worker_path;

/* $KUMO_COMPILE_WORKER_BIN, else kumo-compile beside the running program (the build
 * tree's build/bin; an install's lib/kumo/bin, since the programs on PATH are symlinks
 * to those), else the one a package installs. */
const char *codegen_worker_program(kumo_error_t *err)
{
	pthread_mutex_lock(&worker_lock);
	if (!worker_path) {
		const char *env = getenv(WORKER_PATH_ENV);
		char exe[PATH_MAX];
		ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[l > 0 ? l : 0] = 0;
		autofree char *beside = xasprintf("%s/" WORKER_NAME, l > 0 ? dirname(exe) : ".");
		if (env && *env) {
			if (access(env, X_OK) == 0)
				worker_path = xstrdup(env);
			else
				kumo_error_errno(err, errno,
						 WORKER_PATH_ENV " `%s`: not an executable compile worker",
						 env);
		} else if (access(beside, X_OK) == 0) {
			worker_path = beside;
			beside = NULL;
		} else if (access(WORKER_INSTALLED, X_OK) == 0) {
			worker_path = xstrdup(WORKER_INSTALLED);
		} else {
			kumo_error(err, KUMO_E_NOT_FOUND,
				   "the compile worker `" WORKER_NAME "` was not found (looked for `%s` "
				   "and `" WORKER_INSTALLED "`); build it with `make` or set "
				   WORKER_PATH_ENV, beside);
		}
	}
	const char *p = worker_path;
	pthread_mutex_unlock(&worker_lock);
	return p;
}
