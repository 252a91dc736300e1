/* builder/build_cache.h - private to builder/: the cache's layout, keys and the one
 * "produce a cache entry once" primitive shared by the object and the image caches. */
#ifndef KUMO_BUILD_CACHE_H
#define KUMO_BUILD_CACHE_H

#include <stdbool.h>

#include "builder/builder.h"

/* The state root of the options (their root, $KUMO_ROOT, BUILDER_DEFAULT_ROOT). */
const char *cache_root(const struct builder_options *o);

/* The object key of a module digest under the options (64 hex + NUL). */
void cache_object_key(const char *module_digest, const struct builder_options *o, char out[65]);

/* The module's digest: m->digest when it is one, else the file's (cache_file_digest
 * under o's root). */
int cache_module_digest(const struct builder_options *o, const struct builder_module *m,
			char out[KUMO_DIGEST_BUF], kumo_error_t *err);

/* The file's sha256 digest "sha256:<hex>", hashed once per version of the file: it is
 * remembered in <root>/build/digests/<key>, key = sha256 over the file's identity
 * (device, inode, size, mtime and ctime to the nanosecond), and read back while the
 * file keeps that identity. A file that changes while it is hashed is not remembered;
 * a cache that cannot be written only costs the hash next time. */
int cache_file_digest(const char *root, const char *path, char out[KUMO_DIGEST_BUF],
		      kumo_error_t *err);

/* Refuses, before linking, any import the kernel does not provide: from the imports
 * recorded beside the object `key` when it was compiled, else (an entry of an older
 * kumo, or no object yet) from the module itself. */
int cache_check_imports(const struct builder_options *o, const char *key,
			const struct builder_module *m, kumo_error_t *err);

/* Makes `path` exist: if it already does, sets *hit. Otherwise takes an exclusive flock
 * on lock_path, checks again (another builder may have made it meanwhile: *hit), and
 * else calls make(path, arg, err), which must create `path` atomically (temp + rename)
 * or leave nothing. */
int cache_produce_once(const char *path, const char *lock_path,
		       int (*make)(const char *path, void *arg, kumo_error_t *err), void *arg,
		       bool *hit, kumo_error_t *err);

/* The kernel image of the module under the options (linked on a miss, compiling the
 * object first when needed). *path malloc'd; kernel_id gets the kernel build id. */
int cache_kernel_image(const struct builder_options *o, const struct builder_module *m,
		       char **path, char kernel_id[KUMO_DIGEST_BUF], bool *object_hit,
		       bool *image_hit, kumo_error_t *err);

/* Modules are read whole to be compiled; larger ones are refused. */
#define BUILDER_MODULE_MAX_BYTES (1u << 30)

#endif /* KUMO_BUILD_CACHE_H */
