/* builder/build_cache.h - private to builder/: the one "produce a cache entry once"
 * primitive shared by the object and the image caches. */
#ifndef KUMO_BUILD_CACHE_H
#define KUMO_BUILD_CACHE_H

#include <stdbool.h>

#include "common.h"

/* Makes `path` exist: if it already does, sets *hit. Otherwise takes an exclusive flock
 * on lock_path, checks again (another builder may have made it meanwhile: *hit), and
 * else calls make(path, arg, err), which must create `path` atomically (temp + rename)
 * or leave nothing. */
int cache_produce_once(const char *path, const char *lock_path,
		       int (*make)(const char *path, void *arg, kumo_error_t *err), void *arg,
		       bool *hit, kumo_error_t *err);

#endif /* KUMO_BUILD_CACHE_H */
