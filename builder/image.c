/* builder/image.c - links a cached object with the kernel library into a bootable
 * kernel image, cached per (object key, kernel id); the kernel's directory and build
 * id (computed once per process); the accelerator probe image. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "builder/build_cache.h"
#include "builder/builder.h"

extern char **environ;

int builder_kernel_dir(char **out, kumo_error_t *err)
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

/* The kernel's id: sha256 over the digests of the library and the linker script, each
 * hashed once per version of the file (cache_file_digest under root), not per process. */
static int kernel_id(const char *root, const char *dir, char out[KUMO_DIGEST_BUF],
		     kumo_error_t *err)
{
	static const char *files[] = {"libkumo-kernel.a", "kernel.ld"};
	char cat[2 * 71];
	for (size_t i = 0; i < 2; i++) {
		autofree char *p = xasprintf("%s/%s", dir, files[i]);
		char d[KUMO_DIGEST_BUF];
		if (cache_file_digest(root, p, d, err) < 0)
			return kumo_error_wrap(err, "kernel id");
		memcpy(cat + 71 * i, d, 71);
	}
	kumo_sha256(cat, sizeof(cat), out);
	return 0;
}

/* The kernel this process links with: found and identified once (a failure is not
 * kept: the next call looks again); root is the build cache the digests are kept in. */
static pthread_mutex_t kernel_lock = PTHREAD_MUTEX_INITIALIZER;
static char *kernel_dir_once;
static char kernel_id_once[KUMO_DIGEST_BUF];

static int kernel_of_process(const char *root, char **dir, char id[KUMO_DIGEST_BUF],
			     kumo_error_t *err)
{
	int ret = 0;
	pthread_mutex_lock(&kernel_lock);
	if (!kernel_dir_once) {
		char *d = NULL;
		ret = builder_kernel_dir(&d, err);
		if (ret == 0 && (ret = kernel_id(root, d, kernel_id_once, err)) == 0)
			kernel_dir_once = d;
		else
			free(d);
	}
	if (ret == 0) {
		if (dir)
			*dir = xstrdup(kernel_dir_once);
		memcpy(id, kernel_id_once, KUMO_DIGEST_BUF);
	}
	pthread_mutex_unlock(&kernel_lock);
	return ret;
}

int builder_kernel_id(char out[KUMO_DIGEST_BUF], kumo_error_t *err)
{
	return kernel_of_process(cache_root(NULL), NULL, out, err);
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

int cache_kernel_image(const struct builder_options *o, const struct builder_module *m,
		       char **out, char kernel_id[KUMO_DIGEST_BUF], bool *object_hit,
		       bool *image_hit, kumo_error_t *err)
{
	char kid[KUMO_DIGEST_BUF], digest[KUMO_DIGEST_BUF], okey[65];
	if (cache_module_digest(o, m, digest, err) < 0)
		return -1;
	cache_object_key(digest, o, okey);
	const char *root = cache_root(o);
	*object_hit = *image_hit = false;
	kumo_error_t kerr = NULL;
	char *path = NULL;
	if (kernel_of_process(root, NULL, kid, &kerr) == 0) {
		autofree char *material = xasprintf("kumo-build-image-v1\n%s\n%s\n", okey, kid);
		char ikey[KUMO_DIGEST_BUF];
		kumo_sha256(material, strlen(material), ikey);
		path = xasprintf("%s/build/images/%s.elf", root, ikey + 7);
		memcpy(kernel_id, kid, KUMO_DIGEST_BUF);
		if (access(path, F_OK) == 0) {
			/* Linked before, so its object and import check passed then. */
			*object_hit = *image_hit = true;
			*out = path;
			return 0;
		}
	}
	/* A module importing what the kernel lacks is refused before anything else: before
	 * it is compiled (no object yet) or linked (the imports recorded beside the object),
	 * and before a missing kernel is reported. */
	struct builder_object obj = {0};
	autofree char *kdir = NULL;
	autofree char *dir = xasprintf("%s/build/images", root);
	autofree char *lock_path = path ? xasprintf("%s.lock", path) : NULL;
	int ret = -1;
	if (cache_check_imports(o, okey, m, err) < 0)
		goto out;
	if (kerr) {
		*err = kerr;
		kerr = NULL;
		goto out;
	}
	if (builder_compile(o, &(struct builder_module){m->path, digest}, &obj, err) < 0 ||
	    kernel_of_process(root, &kdir, kid, err) < 0 || kumo_mkdir_p(dir, 0755, err) < 0)
		goto out;
	struct link_job job = {kdir, obj.path};
	if (cache_produce_once(path, lock_path, link_to, &job, image_hit, err) < 0)
		goto out;
	*object_hit = obj.cache_hit;
	*out = path;
	path = NULL;
	ret = 0;
out:
	kumo_error_free(&kerr);
	free(path);
	builder_object_free(&obj);
	return ret;
}

/* (module (func (export "_start"))): the probe image is the kernel with this app, which
 * never runs (probe mode powers off after the CPU set-up). */
static const uint8_t empty_app[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* magic, version */
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00,             /* type: () -> () */
	0x03, 0x02, 0x01, 0x00,                         /* func 0: type 0 */
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00, /* export */
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,             /* code: end */
};

int builder_probe_image(const struct builder_options *o, char **path,
			char kernel_id[KUMO_DIGEST_BUF], kumo_error_t *err)
{
	/* The module lives in the cache like any other: written once, by digest. */
	char digest[KUMO_DIGEST_BUF];
	kumo_sha256(empty_app, sizeof(empty_app), digest);
	autofree char *dir = xasprintf("%s/build", cache_root(o));
	autofree char *mod = xasprintf("%s/probe-%.16s.wasm", dir, digest + 7);
	char kid[KUMO_DIGEST_BUF];
	bool oh, ih;
	if ((access(mod, F_OK) != 0 &&
	     (kumo_mkdir_p(dir, 0755, err) < 0 ||
	      kumo_write_file_atomic(mod, empty_app, sizeof(empty_app), 0644, err) < 0)) ||
	    cache_kernel_image(o, &(struct builder_module){mod, digest}, path, kid, &oh, &ih,
			       err) < 0)
		return kumo_error_wrap(err, "build the accelerator probe image");
	if (kernel_id)
		memcpy(kernel_id, kid, KUMO_DIGEST_BUF);
	return 0;
}
