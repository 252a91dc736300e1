/* compiler/module.h - the decoded module: what decode.c produces, validate.c checks
 * and the emit_*.c files lower. Private to compiler/.
 *
 * Everything lives in one arena per compile (struct wasm_arena); strings and byte
 * ranges point into the caller's wasm buffer, which must outlive the module.
 * Index spaces follow the spec: imported entities come first.
 */
#ifndef KUMO_COMPILER_MODULE_H
#define KUMO_COMPILER_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/abi.h"

/* One arena per compile: bump allocation, freed at once. */
struct wasm_arena {
	struct wasm_arena_block *head; /* newest block first */
};
void *arena_alloc(struct wasm_arena *a, size_t n);        /* zeroed; aborts on OOM */
void *arena_array(struct wasm_arena *a, size_t count, size_t size); /* overflow-checked */
void arena_free(struct wasm_arena *a);

/* Value types are the binary encoding (KUMO_T_* in abi.h). */
typedef uint8_t wasm_valtype;

struct wasm_functype {
	uint32_t nparams;
	uint32_t nresults;
	wasm_valtype *params;
	wasm_valtype *results;
};

struct wasm_limits {
	uint64_t min;
	uint64_t max;      /* valid when has_max */
	bool has_max;
};

struct wasm_tabletype {
	wasm_valtype elem_type; /* KUMO_T_FUNCREF or KUMO_T_EXTERNREF */
	struct wasm_limits limits;
};

struct wasm_globaltype {
	wasm_valtype type;
	bool mutable_;
};

/* A constant expression; Wasm 2.0 allows exactly one instruction then `end`. */
struct wasm_constexpr {
	uint32_t kind;      /* enum kumo_const_kind (abi.h) */
	uint32_t index;     /* REF_NULL: type code; REF_FUNC: func idx; GLOBAL_GET: global idx */
	uint64_t bits;      /* I32/I64/F32/F64 payload; V128: bytes 0..7 */
	uint64_t bits_hi;   /* V128: bytes 8..15 */
	uint32_t offset;    /* byte offset of the expression in the module, for errors */
};

struct wasm_name {
	const char *ptr;    /* into the wasm buffer, not NUL-terminated, valid UTF-8 */
	uint32_t len;
};

struct wasm_import {
	struct wasm_name module;
	struct wasm_name field;
	uint8_t kind;       /* enum kumo_extern_kind */
	uint32_t type_idx;  /* func */
	struct wasm_tabletype table;
	struct wasm_limits memory;
	struct wasm_globaltype global;
	uint32_t offset;    /* byte offset of the import entry */
};

struct wasm_func {
	uint32_t type_idx;
	/* Defined functions only: */
	uint32_t nlocals;             /* declared locals (not counting params) */
	wasm_valtype *local_types;    /* nlocals entries, expanded from the groups */
	const uint8_t *body;          /* first instruction (after the locals) */
	const uint8_t *body_end;      /* one past the final `end` */
	uint32_t body_offset;         /* byte offset of `body` in the module */
};

struct wasm_global {
	struct wasm_globaltype type;
	struct wasm_constexpr init;
};

struct wasm_export {
	struct wasm_name name;
	uint8_t kind;       /* enum kumo_extern_kind */
	uint32_t index;
};

struct wasm_elem {
	uint8_t mode;           /* enum kumo_segment_mode */
	wasm_valtype elem_type; /* KUMO_T_FUNCREF or KUMO_T_EXTERNREF */
	uint32_t table;         /* active only */
	struct wasm_constexpr offset; /* active only */
	uint32_t count;
	struct wasm_constexpr *items; /* REF_FUNC (from func-index vectors too), REF_NULL, GLOBAL_GET */
	uint32_t section_offset;
};

struct wasm_data {
	uint8_t mode;           /* KUMO_SEG_ACTIVE or KUMO_SEG_PASSIVE */
	uint32_t memory;        /* active only */
	struct wasm_constexpr offset; /* active only */
	const uint8_t *bytes;
	uint32_t len;
	uint32_t section_offset;
};

struct wasm_module {
	const uint8_t *bytes;   /* the whole binary */
	size_t len;

	uint32_t ntypes;
	struct wasm_functype *types;

	uint32_t nimports;
	struct wasm_import *imports;

	/* Index spaces, imports first. */
	uint32_t nfuncs, nimported_funcs;
	struct wasm_func *funcs;
	uint32_t ntables, nimported_tables;
	struct wasm_tabletype *tables;
	uint32_t nmemories, nimported_memories;
	struct wasm_limits *memories;
	uint32_t nglobals, nimported_globals;
	struct wasm_global *globals;   /* imported ones have only .type set */

	uint32_t nexports;
	struct wasm_export *exports;

	bool has_start;
	uint32_t start;

	uint32_t nelems;
	struct wasm_elem *elems;

	bool has_data_count;
	uint32_t data_count;
	uint32_t ndatas;
	struct wasm_data *datas;

	/* Functions whose index appears in a ref.func outside function bodies (element
	 * segments, global initialisers, exports): C.refs in the spec's validation. */
	bool *func_declared;   /* nfuncs entries */

	struct wasm_arena arena;
};

/* Errors from the front end: a message and the byte offset where it was found.
 * Messages use the spec interpreter's wording where one exists ("unexpected end",
 * "type mismatch", "unknown function 3") so the spec-test runner can compare. */
struct wasm_error {
	char msg[256];
	size_t offset;
	bool malformed;     /* true: decode error (assert_malformed); false: invalid */
	bool unsupported;   /* a proposal kumo does not support (threads, GC, ...) */
	bool limit;         /* over one of kumo's limits (compiler.h, struct kumo_compile_limits) */
};

/* limits.c: fills *e with "WHAT: HAVE, over the limit of LIMIT (key `KEY`)". */
void wasm_limit_error(struct wasm_error *e, size_t offset, const char *what, uint64_t have,
		      uint64_t limit, const char *key);

/* decode.c: parses the binary into *m (arena-owned). Returns 0, or -1 with *e set. */
int wasm_decode(const uint8_t *bytes, size_t len, struct wasm_module *m, struct wasm_error *e);
/* validate.c: full validation of a decoded module (module rules and every body). */
int wasm_validate(const struct wasm_module *m, struct wasm_error *e);
void wasm_module_free(struct wasm_module *m);

/* Convenience accessors. */
static inline const struct wasm_functype *wasm_func_type(const struct wasm_module *m,
							 uint32_t funcidx)
{
	return &m->types[m->funcs[funcidx].type_idx];
}

#endif /* KUMO_COMPILER_MODULE_H */
