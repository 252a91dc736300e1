/* builder/builder.h - turns a Wasm module into what runs: a cached native object (for
 * the hosted runner) and, with the kernel, a bootable image (for a VM).
 *
 * Cache: <root>/build/objects/<key>.o where key = sha256 over the module's sha256,
 * kumo_compiler_id(), the CPU target and the codegen options, so per-container data
 * (args, env, addresses) never forces a recompile. Concurrent builds of one key compile
 * once (an flock per key); an entry appears only complete (the compiler writes a temp
 * file and renames it), so an interrupted build leaves nothing visible.
 */
#ifndef KUMO_BUILDER_H
#define KUMO_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define KUMO_DEFAULT_ROOT "/var/lib/kumo"

struct kumo_build_options {
	const char *root;    /* state root; NULL = $KUMO_ROOT or KUMO_DEFAULT_ROOT */
	const char *cpu;     /* NULL = the compiler's default (x86-64-v2) */
	bool bounds_checks;  /* explicit bounds checks instead of guard pages */
	int opt_level;       /* 0 = default (2); else 1..3 */
};

struct kumo_build_result {
	char *object_path;         /* the cached object (malloc'd) */
	char module_digest[72];    /* "sha256:<hex>" of the module bytes */
	char key[65];              /* cache key (hex) */
	bool cache_hit;            /* true when nothing was compiled */
	uint64_t ns;               /* wall time of this call */
};

/* Returns the cached object for `wasm`, compiling it on a miss. The module bytes are
 * the caller's. On error nothing is left in the cache. */
int kumo_build_object(const struct kumo_build_options *opts, const uint8_t *wasm, size_t len,
		      struct kumo_build_result *res, kumo_error_t *err);
void kumo_build_result_free(struct kumo_build_result *res); /* accepts NULL */

/* "sha256:<hex>" of a buffer into out (at least 72 bytes). */
void kumo_sha256_digest(const void *data, size_t len, char out[72]);

#endif /* KUMO_BUILDER_H */
