/* kernel/rt/rt.h - the runtime that instantiates and runs compiled modules
 * (compiler/abi.h), shared by the unikernel and the hosted runner.
 *
 * Portable: compiles freestanding (no libc headers) and hosted. Everything that
 * depends on the platform (memory reservation, trap unwinding, stack bounds,
 * clocks, random, files, console) goes through kernel/rt/rt_platform.h.
 *
 * Objects and lifetimes. A store owns everything created in it: instances, host
 * functions, memories, tables and globals; kumo_rt_store_free() releases all of
 * them at once, so references between instances (imports, funcrefs in shared tables)
 * never dangle. Not thread-safe: one thread uses a store (and the canonical type
 * registry) at a time.
 *
 * Results. Functions that can fail or trap fill a `struct kumo_rt_outcome`:
 * kind KUMO_RT_ERROR (link/instantiation error, msg says why), KUMO_RT_TRAP
 * (code = enum kumo_trap_code, msg = its spec wording) or KUMO_RT_EXIT (WASI
 * proc_exit, code = exit status), and return -1; on success they return 0.
 */
#ifndef KUMO_RT_H
#define KUMO_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/abi.h"

enum kumo_rt_kind {
	KUMO_RT_OK = 0,
	KUMO_RT_ERROR = 1, /* not a Wasm event: bad module, unlinkable import, no memory */
	KUMO_RT_TRAP = 2,  /* a Wasm trap; code = enum kumo_trap_code */
	KUMO_RT_EXIT = 3,  /* proc_exit; code = exit status */
};

#define KUMO_RT_MSG_MAX 256

struct kumo_rt_outcome {
	uint32_t kind;             /* enum kumo_rt_kind */
	uint32_t code;             /* trap code or exit status */
	char msg[KUMO_RT_MSG_MAX]; /* NUL-terminated, lowercase, values quoted */
};

/* A linear memory. `m` is what generated code sees (vmctx->memory points at it). */
struct kumo_rt_memory {
	struct kumo_memory m;      /* first: vmctx->memory converts back by cast */
	uint64_t reserved_bytes;   /* virtual bytes reserved at m.base */
	uint32_t bounds_checked;   /* 1: no guard region (explicit bounds-check mode) */
	uint32_t has_max;          /* 1: the type declared a maximum (m.max_pages) */
	uint32_t limit_pages;      /* growth stops here: min(max_pages, store limit) */
	uint32_t reserved2;
	struct kumo_rt_memory *next; /* store list */
};

/* A table. `t` is what generated code sees. */
struct kumo_rt_table {
	struct kumo_table t;       /* first: vmctx->tables[i] converts back by cast */
	uint32_t has_max;          /* 1: the type declared a maximum (t.max) */
	struct kumo_rt_table *next; /* store list */
};

/* A global: one cell, shared by pointer with every importer. */
struct kumo_rt_global {
	union kumo_val cell;       /* first: vmctx->globals[i] points here */
	uint8_t type;              /* KUMO_T_* */
	uint8_t mutable_;          /* 0 or 1 */
	struct kumo_rt_global *next; /* store list */
};

/* An external value: what an import resolves to, what an export is. */
struct kumo_rt_extern {
	uint32_t kind; /* enum kumo_extern_kind */
	union {
		struct kumo_funcref *func; /* code, vmctx (NULL: pass the caller's), type_id */
		struct kumo_rt_table *table;
		struct kumo_rt_memory *memory;
		struct kumo_rt_global *global;
	} u;
};

struct kumo_rt_store;
struct kumo_rt_instance;
struct kumo_wasi;

/* Import resolver: fill *out for import `index` of module m (m->imports[index]) and
 * return 0, or return -1 when it is unknown (instantiation then fails with
 * "unknown import `module.field`"). Types are checked by the runtime afterwards. */
typedef int (*kumo_rt_resolver_t)(void *ctx, const struct kumo_module *m, uint32_t index,
				  struct kumo_rt_extern *out);

/* ---- canonical signatures ---- */

/* Canonical id of a signature (interned process-wide, never 0): equal signatures get
 * equal ids across modules. types = nparams then nresults KUMO_T_* codes. array_call
 * may be NULL; the first non-NULL one registered for a signature is kept. */
uint32_t kumo_rt_type_intern(const uint8_t *types, uint32_t nparams, uint32_t nresults,
			     kumo_array_call_t array_call);
/* The signature of a canonical id; returns false for an unknown id. */
bool kumo_rt_type_get(uint32_t id, const uint8_t **types, uint32_t *nparams,
		      uint32_t *nresults, kumo_array_call_t *array_call);

/* ---- store ---- */

/* NULL when the platform cannot allocate. */
struct kumo_rt_store *kumo_rt_store_new(void);
/* Frees every object of the store (accepts NULL). */
void kumo_rt_store_free(struct kumo_rt_store *s);
/* WASI state used by WASI imports called from this store's instances (not owned). */
void kumo_rt_store_set_wasi(struct kumo_rt_store *s, struct kumo_wasi *w);
struct kumo_wasi *kumo_rt_store_wasi(const struct kumo_rt_store *s);
/* Caps every memory created afterwards in this store at `bytes` (`kumo run --mem`);
 * 0 = no cap beyond the declared maximum. */
void kumo_rt_store_set_memory_limit(struct kumo_rt_store *s, uint64_t bytes);

/* ---- host-created objects (owned by the store) ---- */

/* A host function with the native convention of abi.h: code(vmctx, params...). Its
 * vmctx argument is the calling instance's. array_call lets the host call it. */
struct kumo_funcref *kumo_rt_host_func(struct kumo_rt_store *s, void *code, const uint8_t *types,
				       uint32_t nparams, uint32_t nresults,
				       kumo_array_call_t array_call);
/* A memory of min pages (max when has_max); NULL with *out filled on failure. */
struct kumo_rt_memory *kumo_rt_memory_new(struct kumo_rt_store *s, uint32_t min, uint32_t max,
					  bool has_max, bool bounds_checked,
					  struct kumo_rt_outcome *out);
struct kumo_rt_table *kumo_rt_table_new(struct kumo_rt_store *s, uint8_t elem_type, uint32_t min,
					uint32_t max, bool has_max, void *init,
					struct kumo_rt_outcome *out);
struct kumo_rt_global *kumo_rt_global_new(struct kumo_rt_store *s, uint8_t type, bool mutable_,
					  union kumo_val value);

/* Grows a memory/table; returns the old size or UINT32_MAX (nothing changed). */
uint32_t kumo_rt_memory_grow_pages(struct kumo_rt_memory *mem, uint32_t delta);
uint32_t kumo_rt_table_grow_elems(struct kumo_rt_table *t, uint32_t delta, void *init);

/* ---- instances ---- */

/* Instantiates m in s: allocates the vmctx, resolves imports (resolver may be NULL:
 * then only the descriptor's default_code serves function imports), checks their
 * types, creates globals, tables and memory, applies the active element and data
 * segments in order (a trap keeps the writes already done), drops declarative
 * segments and runs the start function. On failure returns -1 with *out filled; the
 * half-built instance stays in the store (a trap in a segment or the start function
 * may have changed imported memories and tables, as the spec requires) but is not
 * returned. */
int kumo_rt_instantiate(struct kumo_rt_store *s, const struct kumo_module *m,
			kumo_rt_resolver_t resolver, void *resolver_ctx,
			struct kumo_rt_instance **inst, struct kumo_rt_outcome *out);

struct kumo_vmctx *kumo_rt_instance_vmctx(struct kumo_rt_instance *inst);
const struct kumo_module *kumo_rt_instance_module(const struct kumo_rt_instance *inst);
/* The instance a vmctx belongs to, and its store. */
struct kumo_rt_instance *kumo_rt_vmctx_instance(struct kumo_vmctx *vmctx);
struct kumo_rt_store *kumo_rt_instance_store(struct kumo_rt_instance *inst);

/* Looks up an export by name (len bytes); returns -1 when there is none. */
int kumo_rt_export(struct kumo_rt_instance *inst, const char *name, size_t len,
		   struct kumo_rt_extern *ext);

/* Calls f with args_results (max(nparams, nresults) cells, see abi.h's array call)
 * under the platform's trap catcher. Returns 0, or -1 with *out describing the trap,
 * exit or error (no trampoline known for the signature). */
int kumo_rt_call(struct kumo_rt_store *s, struct kumo_funcref *f, union kumo_val *args_results,
		 struct kumo_rt_outcome *out);

/* Unwinds the current guarded call with an exit status (WASI proc_exit). */
__attribute__((noreturn)) void kumo_rt_exit(struct kumo_vmctx *vmctx, uint32_t status);

/* Outcome helpers (also used by the WASI layer and platforms). */
void kumo_rt_outcome_set(struct kumo_rt_outcome *out, uint32_t kind, uint32_t code,
			 const char *msg);

#endif /* KUMO_RT_H */
