/* compiler/abi.h - the generated-code ABI: the one contract between code emitted by
 * compiler/ and whoever runs it (kernel/: the unikernel and the hosted runtime).
 *
 * Self-contained (only <stdint.h>, <stddef.h>), usable from freestanding and hosted
 * code. Structs only grow by appending; any incompatible change bumps KUMO_ABI_VERSION.
 *
 * Shape of a compiled module (one ELF64 relocatable object, x86-64):
 *   - one global data symbol KUMO_SYM_MODULE, a `struct kumo_module` describing
 *     everything the runtime needs to instantiate it (types, imports, functions,
 *     tables, memories, globals with their constant initialisers, exports, segments);
 *   - one global function symbol per export, named KUMO_SYM_EXPORT_PREFIX + enc(name);
 *   - undefined (weak) references to imported functions, named
 *     KUMO_SYM_IMPORT_PREFIX + enc(module) + enc(field) + "_" + sig (see below);
 *   - undefined references to the runtime entry points ("libcalls") listed below.
 * Instantiation (allocating the vmctx, memories, tables, globals, evaluating constant
 * expressions, applying active segments, calling the start function) is the runtime's
 * job, driven by the descriptor; generated code contains only the Wasm functions and
 * one "array call" trampoline per function type.
 */
#ifndef KUMO_ABI_H
#define KUMO_ABI_H

#include <stddef.h>
#include <stdint.h>

/* 2: v128 (SIMD) — 16-byte value cells, KUMO_CONST_V128 with kumo_const_expr.bits_hi. */
#define KUMO_ABI_VERSION 2

/* ---------------------------------------------------------------------------
 * Codegen requirements (what generated code assumes of the machine it runs on)
 * ------------------------------------------------------------------------- */

/* Default CPU baseline; `kumo compile --cpu` overrides it and the choice is recorded
 * in kumo_module.cpu so a cache can key on it. x86-64-v2 = SSE4.2, SSSE3, POPCNT,
 * CMPXCHG16B (Nehalem, 2008, and every x86-64 CPU since; AMD since Bulldozer): v128
 * lives in XMM registers and most SIMD instructions are one or two SSE4.1 instructions.
 * No AVX by default, so only the XMM state is live across an interrupt (see below).
 * On an older CPU (no SSE4.2/SSSE3/POPCNT) such code would die on an invalid opcode,
 * so a runtime checks CPUID against kumo_module.cpu before it runs a module and refuses
 * with the missing feature's name (the unikernel and the hosted runner both do);
 * `--cpu x86-64` compiles for the original x86-64 (SSE2 only, longer SIMD lowerings). */
#define KUMO_DEFAULT_CPU "x86-64-v2"
/* All generated functions carry the "noredzone" attribute: the unikernel runs them in
 * kernel mode, where an interrupt frame is pushed on the current stack. */
#define KUMO_CODEGEN_NO_RED_ZONE 1
/* Code is position independent (small code model), so the same object links into a
 * static kernel image or a shared object. */
#define KUMO_CODEGEN_PIC 1
/* Generated code uses SSE (and whatever the chosen CPU allows); the runtime must have
 * enabled it and must preserve the SSE/AVX state across interrupts: XMM0-15 and MXCSR
 * for the default level, YMM/ZMM and the mask registers too when a module was compiled
 * with `--cpu` naming an AVX level (x86-64-v3/v4, native). */

/* ---------------------------------------------------------------------------
 * Linear memory
 * ------------------------------------------------------------------------- */

#define KUMO_WASM_PAGE_SIZE 65536u
#define KUMO_WASM_MAX_PAGES 65536u /* 4 GiB for a 32-bit memory */
/* Virtual bytes reserved per 32-bit memory in guard mode: 4 GiB addressable plus a
 * 4 GiB guard, so base + zext(i32 index) + u32 offset (+ access size - 1, < 8 GiB)
 * always lands inside the reservation. Everything past the current size is unmapped;
 * a fault there is the trap KUMO_TRAP_MEMORY_OOB. The base never moves. */
#define KUMO_MEM_RESERVE_BYTES (8ull << 30)
/* Memory 0 is the only memory (Wasm 2.0 allows at most one). */

/* ---------------------------------------------------------------------------
 * Stack
 * ------------------------------------------------------------------------- */

/* Every generated function compares its frame address against vmctx->stack_limit on
 * entry and traps with KUMO_TRAP_STACK_EXHAUSTED when below it. The runtime sets
 * stack_limit this many bytes above the real end of the stack, so that the trap path,
 * libcalls and WASI calls always have room. */
#define KUMO_STACK_HEADROOM_BYTES (64u * 1024u)

/* ---------------------------------------------------------------------------
 * Values, references, tables, memories
 * ------------------------------------------------------------------------- */

/* Value type codes: the Wasm binary encoding. */
#define KUMO_T_I32 0x7f
#define KUMO_T_I64 0x7e
#define KUMO_T_F32 0x7d
#define KUMO_T_F64 0x7c
#define KUMO_T_V128 0x7b
#define KUMO_T_FUNCREF 0x70
#define KUMO_T_EXTERNREF 0x6f

/* One value cell: globals, array-call arguments and results, multi-value results.
 * A funcref is a `struct kumo_funcref *` (NULL is ref.null); an externref is an
 * opaque non-zero pointer-sized value chosen by the host (0 is ref.null). A v128 is
 * its 16 bytes in memory order (lane 0 first, as Wasm stores it); scalars use the
 * low bytes and leave the rest unspecified. Cells are 8-byte aligned, so generated
 * code accesses a v128 cell with unaligned (or 8-aligned) vector loads. */
union kumo_val {
	uint32_t i32;
	uint64_t i64;
	float f32;
	double f64;
	void *ref;
	uint64_t bits;
	uint64_t v128[2];  /* low 8 bytes (lanes 0..) then high 8 bytes */
};
_Static_assert(sizeof(union kumo_val) == 16, "kumo_val is one 16-byte cell");

struct kumo_vmctx;

/* A function reference: what a funcref value points to, what a table slot holds,
 * and the slot through which every call to an imported function goes. */
struct kumo_funcref {
	void *code;                 /* native entry point, native signature of its type */
	struct kumo_vmctx *vmctx;   /* context passed as its first argument */
	uint32_t type_id;           /* canonical signature id, compared by call_indirect */
	uint32_t reserved;          /* zero */
};
_Static_assert(offsetof(struct kumo_funcref, code) == 0, "abi");
_Static_assert(offsetof(struct kumo_funcref, vmctx) == 8, "abi");
_Static_assert(offsetof(struct kumo_funcref, type_id) == 16, "abi");
_Static_assert(sizeof(struct kumo_funcref) == 24, "abi");

/* A table. Slots hold `struct kumo_funcref *` (funcref tables) or externref values;
 * NULL is the null reference. */
struct kumo_table {
	void **elems;       /* `size` slots */
	uint32_t size;      /* current number of elements */
	uint32_t max;       /* maximum (UINT32_MAX when the type has none) */
	uint8_t elem_type;  /* KUMO_T_FUNCREF or KUMO_T_EXTERNREF */
	uint8_t reserved[7];
};
_Static_assert(offsetof(struct kumo_table, elems) == 0, "abi");
_Static_assert(offsetof(struct kumo_table, size) == 8, "abi");
_Static_assert(offsetof(struct kumo_table, max) == 12, "abi");
_Static_assert(sizeof(struct kumo_table) == 24, "abi");

/* A linear memory, shared by every instance that imports it. */
struct kumo_memory {
	uint8_t *base;      /* start of the reservation; never moves in guard mode */
	uint64_t bytes;     /* current size in bytes (pages * 64 KiB) */
	uint32_t max_pages; /* declared maximum, or KUMO_WASM_MAX_PAGES */
	uint32_t reserved;
};
_Static_assert(offsetof(struct kumo_memory, base) == 0, "abi");
_Static_assert(offsetof(struct kumo_memory, bytes) == 8, "abi");
_Static_assert(sizeof(struct kumo_memory) == 24, "abi");

/* ---------------------------------------------------------------------------
 * The instance context (vmctx). Allocated and filled by the runtime; generated code
 * only reads the header fields (and writes through `globals` and memory).
 * ------------------------------------------------------------------------- */
struct kumo_vmctx {
	uint8_t *mem_base;              /* IN: memory 0 base (== memory->base), NULL if no memory */
	struct kumo_memory *memory;     /* IN: memory 0 (owned or imported), NULL if none */
	uintptr_t stack_limit;          /* IN: a frame address below this traps (see above) */
	struct kumo_funcref *funcrefs;  /* IN: one per function index, imports first; a call
	                                 * to import i goes through funcrefs[i]; ref.func i
	                                 * is &funcrefs[i] */
	const uint32_t *type_ids;       /* IN: canonical signature id per type index */
	union kumo_val **globals;       /* IN: address of each global's cell, by global index
	                                 * (imported globals point at the exporter's cell) */
	struct kumo_table **tables;     /* IN: by table index (imported ones are shared) */
	const struct kumo_module *module; /* IN: the descriptor this instance was made from */
	void *runtime;                  /* runtime-private (instance state, WASI state) */
};
_Static_assert(offsetof(struct kumo_vmctx, mem_base) == 0, "abi");
_Static_assert(offsetof(struct kumo_vmctx, memory) == 8, "abi");
_Static_assert(offsetof(struct kumo_vmctx, stack_limit) == 16, "abi");
_Static_assert(offsetof(struct kumo_vmctx, funcrefs) == 24, "abi");
_Static_assert(offsetof(struct kumo_vmctx, type_ids) == 32, "abi");
_Static_assert(offsetof(struct kumo_vmctx, globals) == 40, "abi");
_Static_assert(offsetof(struct kumo_vmctx, tables) == 48, "abi");
_Static_assert(offsetof(struct kumo_vmctx, module) == 56, "abi");
_Static_assert(offsetof(struct kumo_vmctx, runtime) == 64, "abi");
_Static_assert(sizeof(struct kumo_vmctx) == 72, "abi");

/* ---------------------------------------------------------------------------
 * Native calling convention of a Wasm function (System V x86-64, C calling convention)
 *
 *   results <= 1:  R    f(struct kumo_vmctx *vmctx, P1 p1, ..., Pn pn)
 *   results >= 2:  void f(struct kumo_vmctx *vmctx, union kumo_val *results, P1 ..., Pn)
 *
 * with i32 -> uint32_t, i64 -> uint64_t, f32 -> float, f64 -> double, funcref ->
 * struct kumo_funcref *, externref -> void *, v128 -> a 16-byte vector (`__m128i`,
 * or `int64_t __attribute__((vector_size(16)))`), which System V passes and returns in
 * an XMM register (%xmm0..7 for arguments, %xmm0 for a result; further ones on the
 * stack, 16-byte aligned). Lane 0 is the lowest-addressed byte, as in memory. A v128
 * crosses an import the same way: a host function taking or returning one is plain C
 * with a vector-typed parameter; WASI preview1 has none. Host functions that implement
 * imports (WASI) use the same convention; the vmctx they receive is the caller's
 * instance.
 *
 * Array-call trampoline, one per function type, for hosts that call with dynamic
 * signatures (the spec-test runner, the runtime calling _start):
 *   void tramp(void *code, struct kumo_vmctx *vmctx, union kumo_val *args_results)
 * reads the parameters from args_results[0..n), calls code, and stores the results
 * into args_results[0..m) (the array holds max(n, m) cells; a v128 is one cell).
 * ------------------------------------------------------------------------- */
typedef void (*kumo_array_call_t)(void *code, struct kumo_vmctx *vmctx,
				  union kumo_val *args_results);

/* ---------------------------------------------------------------------------
 * Symbol naming
 *
 * enc(s): if s is non-empty and only [A-Za-z0-9_], the decimal length of s then s
 * ("fd_write" -> "8fd_write"); otherwise "X", the decimal byte length, then the bytes
 * in lowercase hex ("a.b" -> "X3612e62"). Unambiguous: a plain encoding starts with a
 * digit, a hex one with 'X'.
 * sig: one letter per parameter, "_", one letter per result:
 *   i = i32, l = i64, f = f32, d = f64, r = funcref, e = externref, v = v128.
 * So WASI's fd_write (i32 i32 i32 i32) -> i32 imported from wasi_snapshot_preview1 is
 *   kumo_imp_22wasi_snapshot_preview18fd_write_iiii_i
 * and WasmEdge's 2-argument sock_accept differs from WASI's 3-argument one by sig.
 * ------------------------------------------------------------------------- */
#define KUMO_SYM_MODULE "kumo_module"       /* the struct kumo_module descriptor */
#define KUMO_SYM_IMPORT_PREFIX "kumo_imp_"  /* + enc(module) enc(field) "_" sig */
#define KUMO_SYM_EXPORT_PREFIX "kumo_exp_"  /* + enc(export name) */
#define KUMO_SIG_I32 'i'
#define KUMO_SIG_I64 'l'
#define KUMO_SIG_F32 'f'
#define KUMO_SIG_F64 'd'
#define KUMO_SIG_FUNCREF 'r'
#define KUMO_SIG_EXTERNREF 'e'
#define KUMO_SIG_V128 'v'

/* C name of a WASI preview1 import, for implementations written in C:
 * KUMO_WASI_SYM(8, fd_write, iiii_i) -> kumo_imp_22wasi_snapshot_preview18fd_write_iiii_i */
#define KUMO_WASI_SYM(len, field, sig) kumo_imp_22wasi_snapshot_preview1##len##field##_##sig
#define KUMO_WASI_MODULE "wasi_snapshot_preview1"

/* ---------------------------------------------------------------------------
 * Runtime entry points called by generated code ("libcalls"). Provided by kernel/
 * (unikernel and hosted runtime alike). Indices are table/segment indices of the
 * calling instance; every one of them traps (through kumo_trap) on a bounds error.
 * ------------------------------------------------------------------------- */
#define KUMO_SYM_TRAP "kumo_trap"
#define KUMO_SYM_MEMORY_GROW "kumo_rt_memory_grow"
#define KUMO_SYM_MEMORY_INIT "kumo_rt_memory_init"
#define KUMO_SYM_DATA_DROP "kumo_rt_data_drop"
#define KUMO_SYM_MEMORY_COPY "kumo_rt_memory_copy"
#define KUMO_SYM_MEMORY_FILL "kumo_rt_memory_fill"
#define KUMO_SYM_TABLE_GET "kumo_rt_table_get"
#define KUMO_SYM_TABLE_SET "kumo_rt_table_set"
#define KUMO_SYM_TABLE_GROW "kumo_rt_table_grow"
#define KUMO_SYM_TABLE_FILL "kumo_rt_table_fill"
#define KUMO_SYM_TABLE_COPY "kumo_rt_table_copy"
#define KUMO_SYM_TABLE_INIT "kumo_rt_table_init"
#define KUMO_SYM_ELEM_DROP "kumo_rt_elem_drop"

/* Does not return: unwinds to the runtime, which reports trap_message(code). */
__attribute__((noreturn)) void kumo_trap(struct kumo_vmctx *vmctx, uint32_t code);
/* memory.grow: old size in pages, or (uint32_t)-1 when it cannot grow. */
uint32_t kumo_rt_memory_grow(struct kumo_vmctx *vmctx, uint32_t delta_pages);
void kumo_rt_memory_init(struct kumo_vmctx *vmctx, uint32_t seg, uint32_t dst, uint32_t src,
			 uint32_t n);
void kumo_rt_data_drop(struct kumo_vmctx *vmctx, uint32_t seg);
void kumo_rt_memory_copy(struct kumo_vmctx *vmctx, uint32_t dst, uint32_t src, uint32_t n);
void kumo_rt_memory_fill(struct kumo_vmctx *vmctx, uint32_t dst, uint32_t value, uint32_t n);
void *kumo_rt_table_get(struct kumo_vmctx *vmctx, uint32_t table, uint32_t i);
void kumo_rt_table_set(struct kumo_vmctx *vmctx, uint32_t table, uint32_t i, void *ref);
/* table.grow: old size, or (uint32_t)-1 when it cannot grow. */
uint32_t kumo_rt_table_grow(struct kumo_vmctx *vmctx, uint32_t table, void *init,
			    uint32_t delta);
void kumo_rt_table_fill(struct kumo_vmctx *vmctx, uint32_t table, uint32_t i, void *ref,
			uint32_t n);
void kumo_rt_table_copy(struct kumo_vmctx *vmctx, uint32_t dst_table, uint32_t src_table,
			uint32_t dst, uint32_t src, uint32_t n);
void kumo_rt_table_init(struct kumo_vmctx *vmctx, uint32_t table, uint32_t seg, uint32_t dst,
			uint32_t src, uint32_t n);
void kumo_rt_elem_drop(struct kumo_vmctx *vmctx, uint32_t seg);

/* ---------------------------------------------------------------------------
 * Traps: one enum from compiler to kernel to vmm to CRI, with the spec's wording.
 * ------------------------------------------------------------------------- */
enum kumo_trap_code {
	KUMO_TRAP_NONE = 0,
	KUMO_TRAP_UNREACHABLE = 1,
	KUMO_TRAP_MEMORY_OOB = 2,
	KUMO_TRAP_INT_DIV_ZERO = 3,
	KUMO_TRAP_INT_OVERFLOW = 4,
	KUMO_TRAP_INVALID_CONVERSION = 5,
	KUMO_TRAP_STACK_EXHAUSTED = 6,
	KUMO_TRAP_UNDEFINED_ELEMENT = 7,
	KUMO_TRAP_UNINITIALIZED_ELEMENT = 8,
	KUMO_TRAP_INDIRECT_CALL_MISMATCH = 9,
	KUMO_TRAP_TABLE_OOB = 10,
	KUMO_TRAP_OUT_OF_MEMORY = 11, /* the host could not back memory it promised */
	KUMO_TRAP_COUNT
};

static inline const char *kumo_trap_message(uint32_t code)
{
	switch (code) {
	case KUMO_TRAP_UNREACHABLE: return "unreachable";
	case KUMO_TRAP_MEMORY_OOB: return "out of bounds memory access";
	case KUMO_TRAP_INT_DIV_ZERO: return "integer divide by zero";
	case KUMO_TRAP_INT_OVERFLOW: return "integer overflow";
	case KUMO_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
	case KUMO_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
	case KUMO_TRAP_UNDEFINED_ELEMENT: return "undefined element";
	case KUMO_TRAP_UNINITIALIZED_ELEMENT: return "uninitialized element";
	case KUMO_TRAP_INDIRECT_CALL_MISMATCH: return "indirect call type mismatch";
	case KUMO_TRAP_TABLE_OOB: return "out of bounds table access";
	case KUMO_TRAP_OUT_OF_MEMORY: return "out of memory";
	default: return "unknown trap";
	}
}

/* ---------------------------------------------------------------------------
 * The module descriptor (symbol KUMO_SYM_MODULE). All pointers point into the
 * object's own read-only data or code. Index spaces follow Wasm: imports first.
 * ------------------------------------------------------------------------- */

/* A constant expression (Wasm 2.0: one instruction). */
enum kumo_const_kind {
	KUMO_CONST_I32 = 1,    /* bits */
	KUMO_CONST_I64,        /* bits */
	KUMO_CONST_F32,        /* bits (IEEE bit pattern) */
	KUMO_CONST_F64,        /* bits */
	KUMO_CONST_REF_NULL,   /* index = value type code of the reference */
	KUMO_CONST_REF_FUNC,   /* index = function index */
	KUMO_CONST_GLOBAL_GET, /* index = global index (an imported global) */
	KUMO_CONST_V128,       /* bits = bytes 0..7, bits_hi = bytes 8..15 (v128.const) */
};
struct kumo_const_expr {
	uint32_t kind;    /* enum kumo_const_kind */
	uint32_t index;   /* see kind */
	uint64_t bits;    /* see kind */
	uint64_t bits_hi; /* KUMO_CONST_V128 only; zero otherwise */
};
_Static_assert(sizeof(struct kumo_const_expr) == 24, "abi");

struct kumo_desc_type {
	uint32_t nparams;
	uint32_t nresults;
	const uint8_t *types;          /* nparams + nresults KUMO_T_* codes, params first */
	kumo_array_call_t array_call;  /* trampoline for this signature */
	const char *sig;               /* the sig string used in symbol names ("iiii_i") */
};

enum kumo_extern_kind {
	KUMO_EXTERN_FUNC = 0,
	KUMO_EXTERN_TABLE = 1,
	KUMO_EXTERN_MEMORY = 2,
	KUMO_EXTERN_GLOBAL = 3,
};

struct kumo_desc_limits {
	uint32_t min;
	uint32_t max;     /* valid when has_max */
	uint32_t has_max; /* 0 or 1 */
};

struct kumo_desc_import {
	const char *module;    /* not NUL-terminated: use module_len */
	const char *field;     /* likewise */
	uint32_t module_len;
	uint32_t field_len;
	uint32_t kind;         /* enum kumo_extern_kind */
	uint32_t type;         /* func: type index; table: elem type; global: value type */
	uint32_t global_mutable; /* global: 0 or 1 */
	struct kumo_desc_limits limits; /* table (elements) or memory (pages) */
	void *default_code;    /* func: weak reference to the import's symbol; NULL when
	                        * nothing defined it at link time */
};

struct kumo_desc_func {
	void *code;      /* native entry of a defined function */
	uint32_t type;   /* type index */
	uint32_t reserved;
};

struct kumo_desc_table {
	uint32_t elem_type; /* KUMO_T_FUNCREF or KUMO_T_EXTERNREF */
	struct kumo_desc_limits limits;
};

struct kumo_desc_global {
	uint32_t type;    /* KUMO_T_* */
	uint32_t mutable_; /* 0 or 1 */
	struct kumo_const_expr init;
};

struct kumo_desc_export {
	const char *name;   /* not NUL-terminated: use name_len */
	uint32_t name_len;
	uint32_t kind;      /* enum kumo_extern_kind */
	uint32_t index;     /* in the kind's index space */
	uint32_t reserved;
};

enum kumo_segment_mode {
	KUMO_SEG_ACTIVE = 0,
	KUMO_SEG_PASSIVE = 1,
	KUMO_SEG_DECLARATIVE = 2,
};

struct kumo_desc_elem {
	uint32_t mode;       /* enum kumo_segment_mode */
	uint32_t elem_type;  /* KUMO_T_FUNCREF or KUMO_T_EXTERNREF */
	uint32_t table;      /* active only */
	uint32_t count;
	struct kumo_const_expr offset;       /* active only */
	const struct kumo_const_expr *items; /* count items: REF_FUNC, REF_NULL or GLOBAL_GET */
};

struct kumo_desc_data {
	uint32_t mode;     /* KUMO_SEG_ACTIVE or KUMO_SEG_PASSIVE */
	uint32_t memory;   /* active only */
	struct kumo_const_expr offset; /* active only */
	uint32_t len;
	uint32_t reserved;
	const uint8_t *bytes;
};

#define KUMO_MODULE_BOUNDS_CHECKED 0x1u /* memory accesses check bounds explicitly */
#define KUMO_NO_START 0xffffffffu

struct kumo_module {
	uint32_t abi_version;     /* KUMO_ABI_VERSION */
	uint32_t flags;           /* KUMO_MODULE_* */
	const char *compiler_id;  /* the compiler build that made this object */
	const char *cpu;          /* CPU target the code was generated for */

	uint32_t ntypes;
	uint32_t nimports;
	const struct kumo_desc_type *types;
	const struct kumo_desc_import *imports;

	uint32_t nfuncs;           /* imported + defined */
	uint32_t nimported_funcs;
	const struct kumo_desc_func *funcs; /* defined functions: funcs[i - nimported_funcs] */

	uint32_t ntables;          /* imported + defined */
	uint32_t nimported_tables;
	const struct kumo_desc_table *tables; /* defined tables */

	uint32_t nmemories;        /* imported + defined (0 or 1) */
	uint32_t nimported_memories;
	const struct kumo_desc_limits *memories; /* defined memories (pages) */

	uint32_t nglobals;         /* imported + defined */
	uint32_t nimported_globals;
	const struct kumo_desc_global *globals; /* defined globals */

	uint32_t nexports;
	uint32_t start_func;       /* function index, or KUMO_NO_START */
	const struct kumo_desc_export *exports;

	uint32_t nelems;
	uint32_t ndatas;
	const struct kumo_desc_elem *elems;
	const struct kumo_desc_data *datas;
};

#endif /* KUMO_ABI_H */
