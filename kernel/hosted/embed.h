/* kernel/hosted/embed.h - the hosted embedding API: load a compiled module into this
 * process, instantiate it, call and inspect it, run it as a WASI command. Used by
 * `kumo run --host` and `kumo-hostrun` (cri/cli/cli_run_args.c) and by the spec-test
 * runner. The command line that drives it is the CLI's, not this folder's.
 *
 * How the pieces fit:
 *   - kumo_embed_load() takes a compiled object (.o: linked here with `ld -shared`
 *     into a temporary .so) or a shared object, dlopen()s it and finds KUMO_SYM_MODULE.
 *     The object's libcalls (kumo_trap, kumo_rt_*) resolve against the running
 *     program, which must export them: link it with
 *     -Wl,--dynamic-list=kernel/hosted/exports.list (KUMO_HOSTED_LDFLAGS).
 *   - Everything else is kernel/rt/rt.h on the descriptor: a store
 *     (kumo_rt_store_new), host objects (kumo_rt_host_func, kumo_rt_memory_new,
 *     kumo_rt_table_new, kumo_rt_global_new), kumo_rt_instantiate with a resolver
 *     (another instance's exports come from kumo_rt_export), kumo_rt_export, and
 *     kumo_rt_call. Traps arrive as outcomes: kind KUMO_RT_TRAP, code
 *     enum kumo_trap_code, msg its spec wording ("out of bounds memory access",
 *     "call stack exhausted", ...). Guard-region faults (SIGSEGV/SIGBUS inside a
 *     memory reservation) and stack overflows are caught with sigsetjmp/siglongjmp on
 *     an alternate signal stack; a fault anywhere else still crashes the process.
 *   - Globals: ext.u.global->cell (read/write; `type`, `mutable_` say what it is).
 *     Memory: ext.u.memory->m.base / m.bytes. Tables: ext.u.table->t.elems / t.size.
 *   - Threads: one thread per store at a time; instantiate and call from it.
 *   - A loaded module must outlive every store that instantiated it.
 */
#ifndef KUMO_EMBED_H
#define KUMO_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "kernel/rt/rt.h"
#include "kernel/wasi/wasi.h"

/* Linker flags a program needs so loaded modules find the runtime's entry points. */
#define KUMO_HOSTED_EXPORTS_LIST "kernel/hosted/exports.list"

struct kumo_loaded;

/* Loads a compiled module: `path` ends in .so (dlopen'd as is) or is a relocatable
 * object (linked to a temporary shared object first, which is deleted once loaded). */
int kumo_embed_load(const char *path, struct kumo_loaded **out, kumo_error_t *err);
const struct kumo_module *kumo_loaded_module(const struct kumo_loaded *l);
/* dlclose()s; accepts NULL. Only after every store using the module is freed. */
void kumo_loaded_free(struct kumo_loaded *l);

/* Links a relocatable object into a shared object with `ld -shared` (ld from PATH,
 * or $KUMO_LD). */
int kumo_embed_link_shared(const char *obj_path, const char *so_path, kumo_error_t *err);

/* Calls export `name` of inst with nargs arguments; its nresults results are copied
 * to results. Checks the arity against the export's type (an error otherwise).
 * Returns 0, or -1 with *out describing the trap, exit or error. */
int kumo_embed_invoke(struct kumo_rt_store *s, struct kumo_rt_instance *inst, const char *name,
		      const union kumo_val *args, size_t nargs, union kumo_val *results,
		      size_t nresults, struct kumo_rt_outcome *out);

/* ---- POSIX platform helpers ---- */

/* Wraps a host fd as a platform file (borrowed: closing it leaves fd open). NULL when
 * out of memory. */
struct kumo_plat_file *kumo_hosted_file(int fd, bool borrowed);
/* Opens a host directory to preopen. */
int kumo_hosted_open_dir(const char *host_path, struct kumo_plat_file **out, kumo_error_t *err);
/* Host errno -> WASI errno. */
int kumo_hosted_errno(int e);
/* The host descriptor behind a platform file (not owned). */
int kumo_hosted_fd(const struct kumo_plat_file *f);

/* ---- listening sockets (kernel/hosted/net_hosted.c) ---- */

/* A --listen value `[tcp:|udp:]ADDR:PORT` (ADDR: dotted IPv4 or [IPv6]; empty or absent
 * means 0.0.0.0; PORT 1..65535) normalized to "tcp:ADDR:PORT" / "udp:ADDR:PORT" in
 * *out (malloc'd). -1 with *err naming the value when malformed. */
int kumo_hosted_listen_parse(const char *spec, char **out, kumo_error_t *err);
/* Binds (and, for tcp, listens on) a normalized listen spec; the socket is a platform
 * file owned by the caller. */
int kumo_hosted_listen_open(const char *spec, struct kumo_plat_file **out, kumo_error_t *err);

/* ---- running a WASI command ---- */

struct kumo_embed_dir {
	const char *host;   /* host directory */
	const char *guest;  /* name the guest sees */
};

struct kumo_embed_run {
	size_t argc;                     /* argv[0] = program name for the guest */
	const char *const *argv;
	size_t envc;
	const char *const *envp;         /* "K=V" */
	size_t ndirs;
	const struct kumo_embed_dir *dirs;
	uint64_t mem_limit_bytes;        /* 0: only the declared maximum */
	size_t nlisten;
	const char *const *listen;       /* "tcp:ADDR:PORT" / "udp:ADDR:PORT": sockets bound
					  * (and listening, tcp) before _start, handed to
					  * the app after the preopened dirs (kernel/wasi/wasi.h) */
};

/* Instantiates m with WASI preview1 imports and calls its `_start` export (or, for a
 * reactor, only `_initialize`). Returns 0 with *out: KUMO_RT_OK (returned: exit 0),
 * KUMO_RT_EXIT (code = proc_exit status) or KUMO_RT_TRAP; -1 with *err when it could
 * not start (unknown import, no _start, no memory). */
int kumo_embed_run_wasi(const struct kumo_module *m, const struct kumo_embed_run *run,
			struct kumo_rt_outcome *out, kumo_error_t *err);

#endif /* KUMO_EMBED_H */
