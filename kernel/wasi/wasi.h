/* kernel/wasi/wasi.h - WASI preview1 (wasi_snapshot_preview1), portable: every
 * function of the witx as a C function named by KUMO_WASI_SYM (compiler/abi.h), the
 * argument checks, the fd table with rights, iovecs, path resolution confined to the
 * preopened directories, over the platform of kernel/rt/rt_platform.h. The unikernel
 * and the hosted runner both use it unchanged.
 *
 * A WASI function receives the calling instance's vmctx; it finds its state through
 * the instance's store (kumo_rt_store_set_wasi). Guest pointers are checked against
 * the memory's current size by one overflow-checked helper; a bad range is
 * WASI_EFAULT, never a host fault.
 */
#ifndef KUMO_WASI_H
#define KUMO_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/rt/rt.h"
#include "kernel/rt/rt_platform.h"
#include "kernel/wasi/wasi_abi.h"

struct kumo_wasi_preopen {
	const char *guest_path;       /* the name the guest sees ("/", "/data") */
	struct kumo_plat_file *dir;   /* an open directory; ownership passes to the ctx */
	bool readonly;                /* no right that modifies anything under it: opening
				       * for writing is EROFS, other changes ENOTCAPABLE */
};

struct kumo_wasi_config {
	size_t argc;
	const char *const *argv;      /* argv[0] is the program name the guest sees */
	size_t envc;
	const char *const *envp;      /* "KEY=VALUE" */
	size_t npreopens;
	const struct kumo_wasi_preopen *preopens; /* become fds 3, 4, ... in order */
	size_t nsockets;
	/* Listening (or bound datagram) sockets handed to the app, as fds right after the
	 * preopened directories (wasi-libc's preopen scan stops at the first non-directory,
	 * so directories come first); ownership passes to the ctx. Apps find them with
	 * fd_fdstat_get (filetype SOCKET_STREAM/DGRAM); the runner also sets
	 * LISTEN_FDS=<n> and KUMO_LISTEN_FD_START=<first fd> in the environment. An app
	 * that binds one of these ports itself (WasmEdge sock_bind: same kind, same port,
	 * either address unspecified or both equal) is handed the socket on the fd it
	 * bound, and the socket's own fd is closed: declaring a port never makes the
	 * app's own bind fail with EADDRINUSE. */
	struct kumo_plat_file *const *sockets;
	struct kumo_plat_file *stdio[3]; /* fds 0..2 (NULL: kumo_plat_stdio(n)); not owned */
};

/* Creates the WASI state (copies args and env). NULL when out of memory. */
struct kumo_wasi *kumo_wasi_new(const struct kumo_wasi_config *cfg);
/* Closes every open fd (preopens included) and frees (accepts NULL). */
void kumo_wasi_free(struct kumo_wasi *w);

/* Import resolver for kumo_rt_instantiate: resolves imports of module
 * "wasi_snapshot_preview1" whose signature matches the witx, as host functions
 * created in the store passed as ctx (struct kumo_rt_store *). Returns -1 for any
 * other import. */
int kumo_wasi_resolve(void *store, const struct kumo_module *m, uint32_t index,
		      struct kumo_rt_extern *out);

/* One preview1 function: its field name, abi.h signature string and code. */
struct kumo_wasi_func {
	const char *name;   /* "fd_write" */
	const char *sig;    /* "iiii_i" */
	void *code;         /* KUMO_WASI_SYM(8, fd_write, iiii_i) */
};
/* All of them, terminated by an entry with name == NULL. */
extern const struct kumo_wasi_func kumo_wasi_funcs[];

#endif /* KUMO_WASI_H */
