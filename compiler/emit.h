/* compiler/emit.h - private interface between the lowering files (emit_*.c, descriptor.c,
 * target.c, codegen.c): the per-module and per-function lowering state.
 *
 * Lowering walks each function body once, keeping an explicit operand stack of LLVM
 * values and a control stack of blocks (labels become basic blocks with phi nodes).
 * Locals are allocas that mem2reg/SROA promote. Every load of a vmctx field is done once
 * per function, in the entry block, and marked invariant.
 */
#ifndef KUMO_COMPILER_EMIT_H
#define KUMO_COMPILER_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "compiler/abi.h"
#include "compiler/codegen.h"
#include "compiler/compiler.h"
#include "compiler/module.h"
#include "compiler/reader.h"

/* TBAA classes: memory the generated code touches that never aliases each other. */
enum emit_tbaa {
	TBAA_MEM = 0,   /* linear memory */
	TBAA_GLOBAL,    /* global cells */
	TBAA_RT,        /* vmctx, struct kumo_memory, struct kumo_table, funcrefs, type ids */
	TBAA_TABLE,     /* table slots */
	TBAA_COUNT
};

/* Libcalls (abi.h), declared on first use. */
enum emit_libcall {
	LC_TRAP = 0,
	LC_MEMORY_GROW,
	LC_MEMORY_INIT,
	LC_DATA_DROP,
	LC_MEMORY_COPY,
	LC_MEMORY_FILL,
	LC_TABLE_GET,
	LC_TABLE_SET,
	LC_TABLE_GROW,
	LC_TABLE_FILL,
	LC_TABLE_COPY,
	LC_TABLE_INIT,
	LC_ELEM_DROP,
	LC_COUNT
};

struct emit_module {
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	LLVMBuilderRef b;          /* body builder */
	LLVMBuilderRef eb;         /* entry-block builder (allocas, hoisted loads) */
	const struct wasm_module *m;
	const struct kumo_compile_options *opts;
	bool bounds_checks;

	LLVMTypeRef t_void, t_i1, t_i8, t_i16, t_i32, t_i64, t_f32, t_f64, t_ptr;
	LLVMTypeRef t_v128;        /* <2 x i64>: how a v128 is held and passed (abi.h) */
	LLVMTypeRef *fn_types;     /* per type index: the native signature (abi.h) */
	LLVMValueRef *funcs;       /* per function index: defined functions (NULL for imports) */
	LLVMValueRef libcalls[LC_COUNT];

	unsigned md_invariant;     /* "invariant.load" kind */
	unsigned md_tbaa;          /* "tbaa" kind */
	unsigned md_prof;          /* "prof" kind */
	LLVMValueRef md_empty;     /* !{} */
	LLVMValueRef tbaa_tags[TBAA_COUNT];
	LLVMValueRef md_unlikely;  /* branch_weights 1:2000 */

	/* Function attributes every generated function carries. */
	LLVMAttributeRef attr_noredzone, attr_nounwind;
	LLVMAttributeRef attr_tune;  /* "tune-cpu" for ISA-level CPU names, or NULL */
	bool has_ssse3;              /* the target CPU has SSSE3 (pshufb, pmulhrsw) */
};

/* One entry of the control stack. */
enum ctrl_kind { CTRL_FUNC, CTRL_BLOCK, CTRL_LOOP, CTRL_IF, CTRL_ELSE };

struct ctrl {
	enum ctrl_kind kind;
	uint32_t nparams, nresults;
	const wasm_valtype *params, *results;
	size_t height;              /* operand stack height below the params */
	LLVMBasicBlockRef label;    /* where a branch to this label goes */
	LLVMValueRef *label_phis;   /* phis in `label` (loop: params; others: results) */
	uint32_t label_arity;
	LLVMBasicBlockRef end;      /* block after `end` (== label except for loops) */
	LLVMValueRef *end_phis;     /* result phis in `end` */
	uint32_t end_preds;         /* edges into `end` so far */
	LLVMBasicBlockRef else_bb;  /* if: the false successor, until `else` */
	LLVMValueRef *if_params;    /* if: the params, replayed at `else` */
	bool entered_unreachable;   /* the code before this block was already unreachable */
};

struct emit_fn {
	struct emit_module *em;
	uint32_t func_idx;
	const struct wasm_functype *type;
	LLVMValueRef fn;
	LLVMValueRef vmctx;
	LLVMValueRef results_ptr;   /* multi-value functions: the out-array parameter */
	LLVMBasicBlockRef entry;    /* allocas and hoisted loads; branches to body at the end */

	uint32_t nlocals;           /* params + declared locals */
	wasm_valtype *local_types;
	LLVMValueRef *locals;       /* allocas */

	LLVMValueRef *stack;        /* operand stack */
	size_t sp, stack_cap;
	struct ctrl *ctrls;
	size_t nctrl, ctrl_cap;
	bool unreachable;           /* current code is dead (after br, return, unreachable...) */
	uint32_t skip_depth;        /* blocks opened inside dead code */

	/* Hoisted (entry-block) loads, made on first use. */
	LLVMValueRef mem_base, memory, funcrefs, type_ids, globals, tables;
	LLVMValueRef *global_cells; /* per global index */
	LLVMValueRef call_results;  /* [N x i64] scratch for multi-value calls */
	uint32_t call_results_n;
	LLVMBasicBlockRef traps[KUMO_TRAP_COUNT];

	uint32_t *br_targets;       /* br_table scratch */
	size_t br_cap;

	struct wasm_reader r;        /* cursor in the body */
	struct wasm_arena *arena;    /* per-function scratch */
};

/* --- codegen.c / emit_function.c --- */
int emit_function(struct emit_module *em, uint32_t func_idx, struct wasm_arena *arena,
		  kumo_error_t *err);
/* The native LLVM type of a Wasm value type. */
LLVMTypeRef emit_valtype(struct emit_module *em, wasm_valtype t);
/* Builds the native signature of a function type (abi.h calling convention). */
LLVMTypeRef emit_fn_type(struct emit_module *em, const struct wasm_functype *ft);
/* Applies the attributes every generated function needs (noredzone, nounwind...). */
void emit_fn_attrs(struct emit_module *em, LLVMValueRef fn);

/* Operand stack. */
void fn_push(struct emit_fn *f, LLVMValueRef v);
LLVMValueRef fn_pop(struct emit_fn *f);
LLVMValueRef fn_peek(struct emit_fn *f, size_t depth_from_top);

/* Helpers shared by the families. */
LLVMValueRef emit_i32(struct emit_fn *f, uint32_t v);
LLVMValueRef emit_i64(struct emit_fn *f, uint64_t v);
LLVMValueRef emit_bool_to_i32(struct emit_fn *f, LLVMValueRef i1);
/* Quiets x when it is a signalling NaN (x + x), else returns x unchanged; for results
 * that LLVM may fold to an operand (emit_numeric.c). */
LLVMValueRef emit_quiet_nan(struct emit_fn *f, LLVMValueRef x);
LLVMValueRef emit_intrinsic(struct emit_fn *f, const char *name, LLVMTypeRef *overload,
			    unsigned noverload, LLVMValueRef *args, unsigned nargs);
/* Branches to a shared trap block when cond (i1) holds; continues in a new block. */
void emit_trap_if(struct emit_fn *f, LLVMValueRef cond, uint32_t code);
/* Unconditional trap; the current code becomes unreachable. */
void emit_trap(struct emit_fn *f, uint32_t code);
LLVMValueRef emit_libcall(struct emit_fn *f, enum emit_libcall lc, LLVMValueRef *args,
			  unsigned nargs);
/* Load of a pointer-sized or 32-bit runtime field at vmctx-relative or struct offset. */
LLVMValueRef emit_load_rt(struct emit_fn *f, LLVMTypeRef t, LLVMValueRef base, uint64_t offset,
			  bool invariant);
void emit_tbaa(struct emit_module *em, LLVMValueRef inst, enum emit_tbaa cls);
/* Hoisted vmctx fields (entry block, invariant). */
LLVMValueRef fn_mem_base(struct emit_fn *f);
LLVMValueRef fn_memory(struct emit_fn *f);
LLVMValueRef fn_funcrefs(struct emit_fn *f);
LLVMValueRef fn_type_ids(struct emit_fn *f);
LLVMValueRef fn_tables(struct emit_fn *f);
LLVMValueRef fn_global_cell(struct emit_fn *f, uint32_t idx);
/* Alloca in the entry block. */
LLVMValueRef fn_alloca(struct emit_fn *f, LLVMTypeRef t, const char *name);
/* The address of cell i of an array of union kumo_val at base. */
LLVMValueRef emit_cell_at(struct emit_module *em, LLVMBuilderRef b, LLVMValueRef base, uint32_t i);
/* Stores/loads one union kumo_val cell. */
void emit_store_cell(struct emit_module *em, LLVMBuilderRef b, LLVMValueRef cell, LLVMValueRef v,
		     wasm_valtype t);
LLVMValueRef emit_load_cell(struct emit_module *em, LLVMBuilderRef b, LLVMValueRef cell,
			    wasm_valtype t);

/* --- opcode families: each returns 1 when it handled `op`, 0 when not its opcode. --- */
int emit_control(struct emit_fn *f, uint32_t op);  /* block..return, select, drop, nop */
int emit_numeric(struct emit_fn *f, uint32_t op);  /* const, compare, arithmetic */
int emit_convert(struct emit_fn *f, uint32_t op);  /* conversions, sign extension */
int emit_memory(struct emit_fn *f, uint32_t op);   /* loads, stores, memory.* */
int emit_table(struct emit_fn *f, uint32_t op);    /* ref.*, table.* */
int emit_call(struct emit_fn *f, uint32_t op);     /* call, call_indirect */
int emit_variable(struct emit_fn *f, uint32_t op); /* local.*, global.* */
/* 0xFC-prefixed ops: sub is the u32 after the prefix. */
int emit_convert_fc(struct emit_fn *f, uint32_t sub);
int emit_memory_fc(struct emit_fn *f, uint32_t sub);
int emit_table_fc(struct emit_fn *f, uint32_t sub);

/* 0xFD-prefixed (SIMD) ops, emit_simd.c: sub is the u32 after the prefix. */
int emit_simd(struct emit_fn *f, uint32_t sub);
/* The native address of a linear-memory access of `size` bytes at idx (i32) + offset,
 * with the bounds check when the module is compiled with them (emit_memory.c). */
LLVMValueRef emit_mem_address(struct emit_fn *f, LLVMValueRef idx, uint32_t offset, unsigned size);

/* Control helpers used by the body walker (dead-code skipping). */
void emit_skip_dead(struct emit_fn *f, uint32_t op);

/* Calls a function of type `ft` at `callee` (direct function or code pointer) with
 * `callee_vmctx`, popping the arguments and pushing the results. */
void emit_call_native(struct emit_fn *f, const struct wasm_functype *ft, LLVMTypeRef fty,
		      LLVMValueRef callee, LLVMValueRef callee_vmctx);

/* --- descriptor.c --- */
/* Emits the kumo_module descriptor, the array-call trampolines and export symbols. */
int emit_descriptor(struct emit_module *em, kumo_error_t *err);
/* Checks that the LLVM mirror of the descriptor structs matches abi.h (0 or -1). */
int descriptor_check_layout(LLVMTargetDataRef td, kumo_error_t *err);

/* --- target.c --- */
int target_machine_create(const char *cpu, int opt_level, LLVMTargetMachineRef *out,
			  kumo_error_t *err);
int target_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, kumo_error_t *err);
int target_emit_object(LLVMModuleRef mod, LLVMTargetMachineRef tm, uint8_t **out, size_t *len,
		       kumo_error_t *err);

#endif /* KUMO_COMPILER_EMIT_H */
