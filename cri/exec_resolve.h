/* cri/exec_resolve.h - which file an exec runs (cri/podvm_exec.c): a container's
 * command found in the container's file tree as the host holds it (the image's unpacked
 * layers at "/", the container's mounts over them), never outside it, and whether that
 * file is a WebAssembly module. Private to cri/.
 *
 * The file tree: `mounts` is a JSON array of {"guest": path in the container, "host":
 * its host directory or file}, in order (a later one covers an earlier one at the same
 * path), a longer guest path covering a shorter; what is below the covering mount is
 * resolved inside that mount's host directory with RESOLVE_IN_ROOT (no symlink and no
 * ".." leaves it: an absolute symlink in an image means the image's own root). */
#ifndef KUMO_CRI_EXEC_RESOLVE_H
#define KUMO_CRI_EXEC_RESOLVE_H

#include <jansson.h>

#include "common.h"

/* The PATH an exec searches when the container's env has none (containerd's). */
#define EXEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* p, an absolute path, with "//", "." and ".." resolved lexically ("/.." is "/");
 * malloc'd. */
char *exec_clean_path(const char *p);

/* Opens argv0 for reading as the container would run it: a path (absolute, or relative
 * to PWD of env, a JSON array of "K=V" strings) or a name found on env's PATH (else
 * EXEC_DEFAULT_PATH), tried as NAME then NAME.wasm in each absolute directory. rootfs
 * may be NULL (an image without one), mounts and env may be NULL. On success *fd is a
 * regular file and *guest the path it was found at (malloc'd). Fails with
 * KUMO_E_NOT_FOUND (nothing there) or KUMO_E_INVALID, the message naming the command,
 * container ctr and what exec runs on kumo. */
int exec_resolve(const char *rootfs, json_t *mounts, json_t *env, const char *argv0,
		 const char *ctr, int *fd, char **guest, kumo_error_t *err);

/* 0 when fd's file starts like a WebAssembly binary module ("\0asm"); else
 * KUMO_E_INVALID saying what it is instead (a Linux ELF program, a `#!` script,
 * something else) and what exec runs on kumo. */
int exec_check_module(int fd, const char *argv0, const char *guest, kumo_error_t *err);

#endif /* KUMO_CRI_EXEC_RESOLVE_H */
