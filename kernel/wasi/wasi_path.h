/* kernel/wasi/wasi_path.h - private to kernel/wasi: confined path resolution. */
#ifndef KUMO_WASI_PATH_H
#define KUMO_WASI_PATH_H

#include "kernel/wasi/wasi_internal.h"

/* Where a guest path leads: the directory holding its final component, and that
 * component ("." when the path names the directory itself). */
struct wasi_resolved {
	struct kumo_plat_file *dir;   /* never NULL after success */
	struct kumo_plat_file *owned; /* dir when opened during resolution (closed by done) */
	char name[256];               /* final component, NUL-terminated */
	bool trailing_slash;          /* the path ended with '/' */
};

/* Resolves guest path [path, path+len) relative to directory fd `base`. Symlinks in
 * intermediate components are always followed (within the directory); the final one
 * only when `follow`. Errors: WASI_EFAULT (bad range), WASI_EINVAL (NUL inside),
 * WASI_ENOENT (empty), WASI_EPERM (absolute, or escaping by ".." or a symlink),
 * WASI_ELOOP, WASI_ENOTDIR, WASI_ENAMETOOLONG, or the platform's. */
uint32_t wasi_resolve(struct kumo_vmctx *vm, struct wasi_fd *base, uint32_t path, uint32_t len,
		      bool follow, struct wasi_resolved *r);
void wasi_resolved_done(struct wasi_resolved *r);

/* Copies a guest string into buf (cap bytes with the NUL): 0, WASI_EFAULT,
 * WASI_ENAMETOOLONG or WASI_EINVAL (embedded NUL). */
uint32_t wasi_path_copy(struct kumo_vmctx *vm, uint32_t path, uint32_t len, char *buf,
			size_t cap);

#endif /* KUMO_WASI_PATH_H */
