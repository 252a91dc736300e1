/* builder/cache.c - the compile cache: one object per (module, compiler, CPU, options). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "builder/builder.h"
#include "compiler/abi.h"
#include "compiler/compiler.h"

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

void kumo_sha256_digest(const void *data, size_t len, char out[72])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		abort(); /* cannot happen with OpenSSL's built-in sha256 */
	memcpy(out, "sha256:", 7);
	hex(md, 32, out + 7);
}

static const char *default_root(void)
{
	const char *env = getenv("KUMO_ROOT");
	return env && *env ? env : KUMO_DEFAULT_ROOT;
}

static void cache_key(const char *module_digest, const struct kumo_build_options *o,
		      char out[65])
{
	autofree char *material = xasprintf(
		"kumo-build-object-v1\n%s\n%s\n%s\nO%d\nbounds=%d\n", module_digest,
		kumo_compiler_id(), o->cpu ? o->cpu : KUMO_DEFAULT_CPU,
		o->opt_level ? o->opt_level : 2, o->bounds_checks ? 1 : 0);
	char digest[72];
	kumo_sha256_digest(material, strlen(material), digest);
	memcpy(out, digest + 7, 65);
}

/* Compiles into `path` unless another builder holding the key's lock already did. */
static int compile_once(const char *path, const char *lock_path, const uint8_t *wasm,
			size_t len, const struct kumo_build_options *o, bool *hit,
			kumo_error_t *err)
{
	autoclose int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0)
		return kumo_error_errno(err, errno, "build cache: open `%s`", lock_path);
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return kumo_error_errno(err, errno, "build cache: lock `%s`", lock_path);
	if (access(path, F_OK) == 0) {
		*hit = true;
		return 0;
	}
	struct kumo_compile_options co = {
		.cpu = o->cpu,
		.opt_level = o->opt_level ? o->opt_level : 2,
		.bounds_checks = o->bounds_checks,
	};
	/* The compiler's message already says what and where. */
	return kumo_compile_file(wasm, len, &co, path, NULL, err);
}

int kumo_build_object(const struct kumo_build_options *opts, const uint8_t *wasm, size_t len,
		      struct kumo_build_result *res, kumo_error_t *err)
{
	uint64_t t0 = kumo_now_ns();
	struct kumo_build_options o = opts ? *opts : (struct kumo_build_options){0};
	const char *root = o.root ? o.root : default_root();
	memset(res, 0, sizeof(*res));

	kumo_sha256_digest(wasm, len, res->module_digest);
	cache_key(res->module_digest, &o, res->key);

	autofree char *dir = xasprintf("%s/build/objects", root);
	if (kumo_mkdir_p(dir, 0755, err) < 0)
		return kumo_error_wrap(err, "build cache");
	char *path = xasprintf("%s/%s.o", dir, res->key);
	autofree char *lock_path = xasprintf("%s/%s.lock", dir, res->key);

	res->cache_hit = access(path, F_OK) == 0;
	if (!res->cache_hit && compile_once(path, lock_path, wasm, len, &o, &res->cache_hit, err) < 0) {
		free(path);
		return -1;
	}
	res->object_path = path;
	res->ns = kumo_now_ns() - t0;
	return 0;
}

void kumo_build_result_free(struct kumo_build_result *res)
{
	if (!res)
		return;
	free(res->object_path);
	res->object_path = NULL;
}
