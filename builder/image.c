/* builder/image.c - links a cached object with the kernel library into a bootable
 * kernel image, cached per (object key, kernel id). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "builder/build_cache.h"
#include "builder/builder.h"
#include "compiler/abi.h"
#include "compiler/compiler.h"
#include "kernel/kernel.h"

extern char **environ;

int kumo_kernel_dir(char **out, kumo_error_t *err)
{
	const char *env = getenv("KUMO_KERNEL_DIR");
	char *candidates[3] = {NULL, NULL, NULL};
	int n = 0;
	if (env && *env)
		candidates[n++] = xstrdup(env);
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l > 0) {
		exe[l] = 0;
		candidates[n++] = xasprintf("%s/../kernel", dirname(exe));
	}
	candidates[n++] = xstrdup("/usr/lib/kumo/kernel");
	int found = -1;
	for (int i = 0; i < n; i++) {
		autofree char *lib = xasprintf("%s/%s", candidates[i], "libkumo-kernel.a");
		if (found < 0 && access(lib, R_OK) == 0)
			found = i;
	}
	if (found < 0) {
		kumo_error(err, KUMO_E_NOT_FOUND,
			   "kernel library `libkumo-kernel.a` not found (looked in `%s`%s%s); "
			   "build it with `make` or set KUMO_KERNEL_DIR",
			   candidates[0], n > 1 ? ", " : "", n > 1 ? candidates[1] : "");
	} else {
		*out = candidates[found];
		candidates[found] = NULL;
	}
	for (int i = 0; i < n; i++)
		free(candidates[i]);
	return found < 0 ? -1 : 0;
}

/* The kernel's id: sha256 over the library and the linker script. */
static int kernel_id(const char *dir, char out[72], kumo_error_t *err)
{
	static const char *files[] = {"libkumo-kernel.a", "kernel.ld"};
	autofree char *cat = NULL;
	size_t cat_len = 0;
	for (size_t i = 0; i < 2; i++) {
		autofree char *p = xasprintf("%s/%s", dir, files[i]);
		uint8_t *buf;
		size_t len;
		if (kumo_read_file(p, 256u << 20, &buf, &len, err) < 0)
			return kumo_error_wrap(err, "kernel id");
		char d[72];
		kumo_sha256_digest(buf, len, d);
		free(buf);
		cat = xrealloc(cat, cat_len + 72);
		memcpy(cat + cat_len, d, 71);
		cat_len += 71;
	}
	kumo_sha256_digest(cat, cat_len, out);
	return 0;
}

int kumo_kernel_id(char out[72], kumo_error_t *err)
{
	autofree char *kdir = NULL;
	if (kumo_kernel_dir(&kdir, err) < 0)
		return -1;
	return kernel_id(kdir, out, err);
}

#define X_SYMBOL(len, field, sig) "kumo_imp_22wasi_snapshot_preview1" #len #field "_" #sig,
static const char *const kernel_imports[] = {KUMO_KERNEL_WASI_IMPORTS(X_SYMBOL)};
#undef X_SYMBOL

/* Refuses, before linking, any import the kernel does not provide. */
static int check_imports(const uint8_t *wasm, size_t len, kumo_error_t *err)
{
	struct kumo_compile_info info;
	if (kumo_module_imports(wasm, len, &info, err) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < info.nimports && ret == 0; i++) {
		const struct kumo_import_info *im = &info.imports[i];
		bool ok = false;
		for (size_t k = 0; im->symbol && k < sizeof(kernel_imports) / sizeof(*kernel_imports); k++)
			ok = ok || strcmp(im->symbol, kernel_imports[k]) == 0;
		if (!ok)
			ret = kumo_error(err, KUMO_E_UNSUPPORTED, "unsupported import `%s.%s`%s",
					 im->module, im->field,
					 im->kind == KUMO_EXTERN_FUNC ? ""
					 : " (only WASI functions can be imported)");
	}
	kumo_compile_info_free(&info);
	return ret;
}

/* Runs ld; its stderr goes into the error message. */
static int link_image(const char *kdir, const char *object, const char *out, kumo_error_t *err)
{
	autofree char *lds = xasprintf("%s/kernel.ld", kdir);
	autofree char *lib = xasprintf("%s/libkumo-kernel.a", kdir);
	autofree char *log = xasprintf("%s.ldlog.%d", out, (int)getpid());
	char *argv[] = {"ld", "-nostdlib", "-static", "-z", "noexecstack", "-z", "max-page-size=4096",
			"--no-warn-rwx-segments", "-T", lds, "-o", (char *)out, (char *)object, lib,
			NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int r = posix_spawnp(&pid, "ld", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		unlink(log);
		return kumo_error_errno(err, r, "link kernel image: run `ld`");
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	uint8_t *msg = NULL;
	size_t msg_len = 0;
	kumo_error_t ignore = NULL;
	kumo_read_file(log, 4096, &msg, &msg_len, &ignore);
	kumo_error_free(&ignore);
	unlink(log);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		kumo_error(err, KUMO_E_INTERNAL, "link kernel image: ld failed: %s",
			   msg ? (char *)msg : "");
		free(msg);
		unlink(out);
		return -1;
	}
	free(msg);
	return 0;
}

struct link_job {
	const char *kdir;
	const char *object;
};

static int link_to(const char *path, void *arg, kumo_error_t *err)
{
	const struct link_job *job = arg;
	autofree char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	if (link_image(job->kdir, job->object, tmp, err) < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return kumo_error_errno(err, e, "rename `%s` to `%s`", tmp, path);
	}
	return 0;
}

int kumo_build_image(const struct kumo_build_options *opts, const uint8_t *wasm, size_t len,
		     struct kumo_image_result *res, kumo_error_t *err)
{
	memset(res, 0, sizeof(*res));
	autofree char *kdir = NULL;
	char kid[72];
	if (check_imports(wasm, len, err) < 0)
		return -1;
	if (kumo_kernel_dir(&kdir, err) < 0 || kernel_id(kdir, kid, err) < 0)
		return -1;
	if (kumo_build_object(opts, wasm, len, &res->object, err) < 0)
		return -1;

	const char *root = opts && opts->root ? opts->root : getenv("KUMO_ROOT");
	if (!root || !*root)
		root = KUMO_DEFAULT_ROOT;
	autofree char *dir = xasprintf("%s/build/images", root);
	autofree char *material = xasprintf("kumo-build-image-v1\n%s\n%s\n", res->object.key, kid);
	char key[72];
	kumo_sha256_digest(material, strlen(material), key);
	char *path = xasprintf("%s/%s.elf", dir, key + 7);
	autofree char *lock_path = xasprintf("%s/%s.lock", dir, key + 7);
	struct link_job job = {kdir, res->object.object_path};
	if (kumo_mkdir_p(dir, 0755, err) < 0 ||
	    cache_produce_once(path, lock_path, link_to, &job, &res->cache_hit, err) < 0) {
		free(path);
		kumo_build_result_free(&res->object);
		return -1;
	}
	res->image_path = path;
	memcpy(res->kernel_id, kid, sizeof(res->kernel_id));
	return 0;
}

void kumo_image_result_free(struct kumo_image_result *res)
{
	if (!res)
		return;
	kumo_build_result_free(&res->object);
	free(res->image_path);
	res->image_path = NULL;
}
