/* builder/cache.c - the compile cache: one object per (module digest, compiler,
 * CPU, options), with the module's imports recorded beside it; file digests remembered
 * by the file's identity. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "builder/build_cache.h"
#include "compiler/abi.h"
#include "compiler/compiler.h"
#include "kernel/kernel.h"

const char *cache_root(const struct builder_options *o)
{
	if (o && o->root)
		return o->root;
	const char *env = getenv("KUMO_ROOT");
	return env && *env ? env : BUILDER_DEFAULT_ROOT;
}

void cache_object_key(const char *module_digest, const struct builder_options *o, char out[65])
{
	static const struct builder_options none;
	if (!o)
		o = &none;
	autofree char *material = xasprintf(
		"kumo-build-object-v1\n%s\n%s\n%s\nO%d\nbounds=%d\n", module_digest,
		kumo_compiler_id(), o->cpu ? o->cpu : KUMO_DEFAULT_CPU,
		o->opt_level ? o->opt_level : 2, o->bounds_checks ? 1 : 0);
	char digest[KUMO_DIGEST_BUF];
	kumo_sha256(material, strlen(material), digest);
	memcpy(out, digest + 7, 65);
}

static bool is_digest(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	return strspn(d + 7, "0123456789abcdef") == 64;
}

int cache_module_digest(const struct builder_options *o, const struct builder_module *m,
			char out[KUMO_DIGEST_BUF], kumo_error_t *err)
{
	if (is_digest(m->digest)) {
		memcpy(out, m->digest, KUMO_DIGEST_BUF);
		return 0;
	}
	if (cache_file_digest(cache_root(o), m->path, out, err) < 0)
		return kumo_error_wrap(err, "module");
	return 0;
}

/* ---- file digests, remembered by the file's identity ------------------------------ */

/* The key of a file's identity: what changes whenever its bytes do (a write moves mtime
 * and ctime, a replacement the inode; ctime cannot be set back by utimes). */
static void identity_key(const struct stat *st, char out[65])
{
	autofree char *material = xasprintf(
		"kumo-file-identity-v1\n%llu %llu %lld %lld.%09ld %lld.%09ld\n",
		(unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
		(long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
		(long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	char d[KUMO_DIGEST_BUF];
	kumo_sha256(material, strlen(material), d);
	memcpy(out, d + 7, 65);
}

static bool same_identity(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int cache_file_digest(const char *root, const char *path, char out[KUMO_DIGEST_BUF],
		      kumo_error_t *err)
{
	struct stat before, after;
	if (stat(path, &before) < 0) /* the hash says why, in its usual words */
		return kumo_sha256_file(path, out, NULL, err);
	char key[65];
	identity_key(&before, key);
	autofree char *entry = xasprintf("%s/build/digests/%s", root, key);
	char buf[KUMO_DIGEST_BUF + 1];
	autoclose int fd = open(entry, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (n == KUMO_DIGEST_BUF - 1) {
		buf[n] = 0;
		if (is_digest(buf)) {
			memcpy(out, buf, KUMO_DIGEST_BUF);
			return 0;
		}
	}
	if (kumo_sha256_file(path, out, NULL, err) < 0)
		return -1;
	/* Remembered only when the file did not change while it was read. */
	if (stat(path, &after) < 0 || !same_identity(&before, &after))
		return 0;
	autofree char *dir = xasprintf("%s/build/digests", root);
	kumo_error_t werr = NULL;
	if (kumo_mkdir_p(dir, 0755, &werr) < 0 ||
	    kumo_write_file_atomic(entry, out, KUMO_DIGEST_BUF - 1, 0644, &werr) < 0)
		log_debug("build cache: digest of `%s` not remembered: %s", path,
			  kumo_error_msg(werr));
	kumo_error_free(&werr);
	return 0;
}

int cache_produce_once(const char *path, const char *lock_path,
		       int (*make)(const char *path, void *arg, kumo_error_t *err), void *arg,
		       bool *hit, kumo_error_t *err)
{
	*hit = access(path, F_OK) == 0;
	if (*hit)
		return 0;
	autoclose int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0)
		return kumo_error_errno(err, errno, "build cache: open `%s`", lock_path);
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return kumo_error_errno(err, errno, "build cache: lock `%s`", lock_path);
	*hit = access(path, F_OK) == 0;
	return *hit ? 0 : make(path, arg, err);
}

/* ---- the imports beside an object ------------------------------------------------- */

static char *imports_path(const struct builder_options *o, const char *key)
{
	return xasprintf("%s/build/objects/%s.imports", cache_root(o), key);
}

/* Writes the module's imports as [{"module", "field", "kind", "symbol"}] (atomically). */
static void record_imports(const char *path, const struct kumo_compile_info *info)
{
	json_t *a = json_array();
	for (size_t i = 0; i < info->nimports; i++) {
		const struct kumo_import_info *im = &info->imports[i];
		json_t *o = json_pack("{s:s, s:s, s:i}", "module", im->module, "field", im->field,
				      "kind", (int)im->kind);
		if (im->symbol)
			json_object_set_new(o, "symbol", json_string(im->symbol));
		json_array_append_new(a, o);
	}
	autofree char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	kumo_error_t err = NULL;
	if (!text || kumo_write_file_atomic(path, text, strlen(text), 0644, &err) < 0)
		log_warn("build cache: %s (the imports are read from the module instead)",
			 err ? kumo_error_msg(err) : "cannot encode the imports");
	kumo_error_free(&err);
}

/* The recorded imports as kumo_compile_info (0), or -1 when there is no valid record. */
static int load_imports(const char *path, struct kumo_compile_info *info)
{
	memset(info, 0, sizeof(*info));
	json_t *a = json_load_file(path, 0, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		return -1;
	}
	size_t n = json_array_size(a), i;
	json_t *e;
	info->imports = xzalloc(sizeof(*info->imports) * (n + 1));
	json_array_foreach(a, i, e) {
		const char *mod = json_string_value(json_object_get(e, "module"));
		const char *field = json_string_value(json_object_get(e, "field"));
		const char *sym = json_string_value(json_object_get(e, "symbol"));
		if (!mod || !field) {
			kumo_compile_info_free(info);
			json_decref(a);
			return -1;
		}
		struct kumo_import_info *im = &info->imports[info->nimports++];
		im->module = xstrdup(mod);
		im->field = xstrdup(field);
		im->kind = (uint32_t)json_integer_value(json_object_get(e, "kind"));
		im->symbol = sym ? xstrdup(sym) : NULL;
	}
	json_decref(a);
	return 0;
}

#define X_SYMBOL(len, field, sig) "kumo_imp_22wasi_snapshot_preview1" #len #field "_" #sig,
static const char *const kernel_imports[] = {KUMO_KERNEL_WASI_IMPORTS(X_SYMBOL)};
#undef X_SYMBOL

static int read_module(const char *path, uint8_t **wasm, size_t *len, kumo_error_t *err)
{
	if (kumo_read_file(path, BUILDER_MODULE_MAX_BYTES, wasm, len, err) < 0)
		return kumo_error_wrap(err, "module");
	return 0;
}

int cache_check_imports(const struct builder_options *o, const char *key,
			const struct builder_module *m, kumo_error_t *err)
{
	struct kumo_compile_info info;
	autofree char *path = imports_path(o, key);
	if (load_imports(path, &info) < 0) {
		autofree uint8_t *wasm = NULL;
		size_t len = 0;
		if (read_module(m->path, &wasm, &len, err) < 0 ||
		    kumo_module_imports(wasm, len, &info, err) < 0)
			return -1;
	}
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

/* ---- compile ---------------------------------------------------------------------- */

struct compile_job {
	const struct builder_module *module;
	const struct builder_options *opts;
	const char *imports_path;
};

static int compile_to(const char *path, void *arg, kumo_error_t *err)
{
	const struct compile_job *job = arg;
	const struct builder_options *o = job->opts;
	struct kumo_compile_options co = {
		.cpu = o->cpu,
		.opt_level = o->opt_level ? o->opt_level : 2,
		.bounds_checks = o->bounds_checks,
	};
	autofree uint8_t *wasm = NULL;
	size_t len = 0;
	if (read_module(job->module->path, &wasm, &len, err) < 0)
		return -1;
	/* The compiler writes atomically; its message already says what and where. */
	struct kumo_compile_info info = {0};
	if (kumo_compile_file(wasm, len, &co, path, &info, err) < 0)
		return -1;
	record_imports(job->imports_path, &info);
	kumo_compile_info_free(&info);
	return 0;
}

int builder_compile(const struct builder_options *opts, const struct builder_module *m,
		    struct builder_object *res, kumo_error_t *err)
{
	uint64_t t0 = kumo_now_ns();
	struct builder_options o = opts ? *opts : (struct builder_options){0};
	memset(res, 0, sizeof(*res));
	if (cache_module_digest(&o, m, res->module_digest, err) < 0)
		return -1;
	cache_object_key(res->module_digest, &o, res->key);

	autofree char *dir = xasprintf("%s/build/objects", cache_root(&o));
	if (kumo_mkdir_p(dir, 0755, err) < 0)
		return kumo_error_wrap(err, "build cache");
	char *path = xasprintf("%s/%s.o", dir, res->key);
	autofree char *lock_path = xasprintf("%s/%s.lock", dir, res->key);
	autofree char *imports = imports_path(&o, res->key);

	struct compile_job job = {m, &o, imports};
	if (cache_produce_once(path, lock_path, compile_to, &job, &res->cache_hit, err) < 0) {
		free(path);
		return -1;
	}
	res->path = path;
	res->ns = kumo_now_ns() - t0;
	return 0;
}

void builder_object_free(struct builder_object *res)
{
	if (!res)
		return;
	free(res->path);
	res->path = NULL;
}
