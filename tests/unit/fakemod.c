/* tests/unit/fakemod.c - compiled modules written by hand in C, following
 * compiler/abi.h exactly as generated code does (vmctx first, imports through
 * funcrefs, libcalls, stack-limit checks, unchecked loads in the guard region), so the
 * runtime and WASI can be tested without the compiler.
 *
 * Descriptors: kumo_module ("fake": WASI command + exports), fakemod_importer
 * (imports memory, table, global and a function from "fake"), fakemod_oob (imports a
 * memory and traps in its second data segment), fakemod_unknown (imports env.nothing).
 */
#include <stdint.h>

#include "compiler/abi.h"
#include "kernel/wasi/wasi_funcs.h"

typedef struct kumo_vmctx vm_t;

/* Weak references to the WASI implementation, as the compiler emits them. */
extern __typeof__(KUMO_WASI_SYM(8, fd_write, iiii_i)) KUMO_WASI_SYM(8, fd_write, iiii_i)
	__attribute__((weak));
extern __typeof__(KUMO_WASI_SYM(9, proc_exit, i_)) KUMO_WASI_SYM(9, proc_exit, i_)
	__attribute__((weak));

/* ---- array-call trampolines, one per signature ---- */

static void tramp_v_v(void *code, vm_t *vm, union kumo_val *a)
{
	(void)a;
	((void (*)(vm_t *))code)(vm);
}
static void tramp_i_i(void *code, vm_t *vm, union kumo_val *a)
{
	a[0].i32 = ((uint32_t(*)(vm_t *, uint32_t))code)(vm, a[0].i32);
}
static void tramp_ii_i(void *code, vm_t *vm, union kumo_val *a)
{
	a[0].i32 = ((uint32_t(*)(vm_t *, uint32_t, uint32_t))code)(vm, a[0].i32, a[1].i32);
}
static void tramp_iiii_i(void *code, vm_t *vm, union kumo_val *a)
{
	a[0].i32 = ((uint32_t(*)(vm_t *, uint32_t, uint32_t, uint32_t, uint32_t))code)(
		vm, a[0].i32, a[1].i32, a[2].i32, a[3].i32);
}
static void tramp_i_v(void *code, vm_t *vm, union kumo_val *a)
{
	((void (*)(vm_t *, uint32_t))code)(vm, a[0].i32);
}
static void tramp_iii_v(void *code, vm_t *vm, union kumo_val *a)
{
	((void (*)(vm_t *, uint32_t, uint32_t, uint32_t))code)(vm, a[0].i32, a[1].i32, a[2].i32);
}
static void tramp_v_i(void *code, vm_t *vm, union kumo_val *a)
{
	a[0].i32 = ((uint32_t(*)(vm_t *))code)(vm);
}

static const uint8_t t_v_v[] = {0};
static const uint8_t t_i_i[] = {KUMO_T_I32, KUMO_T_I32};
static const uint8_t t_ii_i[] = {KUMO_T_I32, KUMO_T_I32, KUMO_T_I32};
static const uint8_t t_iiii_i[] = {KUMO_T_I32, KUMO_T_I32, KUMO_T_I32, KUMO_T_I32, KUMO_T_I32};
static const uint8_t t_i_v[] = {KUMO_T_I32};
static const uint8_t t_iii_v[] = {KUMO_T_I32, KUMO_T_I32, KUMO_T_I32};
static const uint8_t t_v_i[] = {KUMO_T_I32};

/* Type indices shared by every descriptor below. */
enum { T_V_V, T_I_I, T_II_I, T_IIII_I, T_I_V, T_III_V, T_V_I, NTYPES };
static const struct kumo_desc_type types[NTYPES] = {
	[T_V_V] = {0, 0, t_v_v, tramp_v_v, "_"},
	[T_I_I] = {1, 1, t_i_i, tramp_i_i, "i_i"},
	[T_II_I] = {2, 1, t_ii_i, tramp_ii_i, "ii_i"},
	[T_IIII_I] = {4, 1, t_iiii_i, tramp_iiii_i, "iiii_i"},
	[T_I_V] = {1, 0, t_i_v, tramp_i_v, "i_"},
	[T_III_V] = {3, 0, t_iii_v, tramp_iii_v, "iii_"},
	[T_V_I] = {0, 1, t_v_i, tramp_v_i, "_i"},
};

/* ---- module "fake" ---- */

#define MSG "hello from the fake module\n"
#define MSG_AT 64u

/* func 2: _start: fd_write(1, iov@0 -> MSG) then proc_exit(global 1). */
static void f_start(vm_t *vm)
{
	uint32_t iov[2] = {MSG_AT, sizeof(MSG) - 1};
	__builtin_memcpy(vm->mem_base, iov, sizeof(iov));
	struct kumo_funcref *w = &vm->funcrefs[0];
	((uint32_t(*)(vm_t *, uint32_t, uint32_t, uint32_t, uint32_t))w->code)(w->vmctx, 1, 0, 1,
									     8);
	struct kumo_funcref *x = &vm->funcrefs[1];
	((void (*)(vm_t *, uint32_t))x->code)(x->vmctx, vm->globals[1]->i32);
}

/* func 3 */
static uint32_t f_add(vm_t *vm, uint32_t a, uint32_t b)
{
	(void)vm;
	return a + b;
}

/* func 4: an unchecked i32.load, as guard-mode code does. */
__attribute__((no_sanitize_address)) static uint32_t f_load(vm_t *vm, uint32_t addr)
{
	typedef uint32_t __attribute__((aligned(1))) unaligned_u32;
	return *(volatile unaligned_u32 *)(vm->mem_base + (uint64_t)addr);
}

/* func 5 */
static uint32_t f_grow(vm_t *vm, uint32_t delta)
{
	return kumo_rt_memory_grow(vm, delta);
}

/* func 6: unbounded recursion with the entry check generated code has. */
__attribute__((noinline)) static uint32_t f_recurse(vm_t *vm, uint32_t n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	if ((uintptr_t)__builtin_frame_address(0) < vm->stack_limit)
		kumo_trap(vm, KUMO_TRAP_STACK_EXHAUSTED);
	if (n == UINT32_MAX)
		return 0;
	return f_recurse(vm, n + 1) + (uint32_t)pad[0];
}

/* func 7 */
static void f_unreachable(vm_t *vm)
{
	kumo_trap(vm, KUMO_TRAP_UNREACHABLE);
}

/* func 8 */
static void f_fill(vm_t *vm, uint32_t dst, uint32_t val, uint32_t n)
{
	kumo_rt_memory_fill(vm, dst, val, n);
}

/* func 9: call_indirect (type ii_i) through table 0 with (i, 100). */
static uint32_t f_call_indirect(vm_t *vm, uint32_t i)
{
	struct kumo_table *t = vm->tables[0];
	if (i >= t->size)
		kumo_trap(vm, KUMO_TRAP_UNDEFINED_ELEMENT);
	struct kumo_funcref *f = t->elems[i];
	if (!f)
		kumo_trap(vm, KUMO_TRAP_UNINITIALIZED_ELEMENT);
	if (f->type_id != vm->type_ids[T_II_I])
		kumo_trap(vm, KUMO_TRAP_INDIRECT_CALL_MISMATCH);
	return ((uint32_t(*)(vm_t *, uint32_t, uint32_t))f->code)(f->vmctx, i, 100);
}

/* func 10: memory.init of passive data 1 at dst, then data.drop. */
static void f_init_passive(vm_t *vm, uint32_t dst)
{
	kumo_rt_memory_init(vm, 1, dst, 0, 7);
	kumo_rt_data_drop(vm, 1);
}

/* func 11 */
static uint32_t f_get_g0(vm_t *vm)
{
	return vm->globals[0]->i32;
}

/* func 12: table.init of passive elem 1 into table 0 at dst, then elem.drop. */
static void f_table_init(vm_t *vm, uint32_t dst)
{
	kumo_rt_table_init(vm, 0, 1, dst, 0, 2);
	kumo_rt_elem_drop(vm, 1);
}

#define IMP(mod, fld, k, t) .module = mod, .field = fld, .module_len = sizeof(mod) - 1, \
			    .field_len = sizeof(fld) - 1, .kind = k, .type = t

static const struct kumo_desc_import fake_imports[] = {
	{IMP(KUMO_WASI_MODULE, "fd_write", KUMO_EXTERN_FUNC, T_IIII_I),
	 .default_code = (void *)KUMO_WASI_SYM(8, fd_write, iiii_i)},
	{IMP(KUMO_WASI_MODULE, "proc_exit", KUMO_EXTERN_FUNC, T_I_V),
	 .default_code = (void *)KUMO_WASI_SYM(9, proc_exit, i_)},
};

static const struct kumo_desc_func fake_funcs[] = {
	{(void *)f_start, T_V_V, 0},         {(void *)f_add, T_II_I, 0},
	{(void *)f_load, T_I_I, 0},          {(void *)f_grow, T_I_I, 0},
	{(void *)f_recurse, T_I_I, 0},       {(void *)f_unreachable, T_V_V, 0},
	{(void *)f_fill, T_III_V, 0},        {(void *)f_call_indirect, T_I_I, 0},
	{(void *)f_init_passive, T_I_V, 0},  {(void *)f_get_g0, T_V_I, 0},
	{(void *)f_table_init, T_I_V, 0},
};

static const struct kumo_desc_table fake_tables[] = {{KUMO_T_FUNCREF, {4, 10, 1}}};
static const struct kumo_desc_limits fake_memories[] = {{1, 2, 1}};
static const struct kumo_desc_global fake_globals[] = {
	{KUMO_T_I32, 1, {KUMO_CONST_I32, 0, 42, 0}},
	{KUMO_T_I32, 0, {KUMO_CONST_I32, 0, 7, 0}},
};

#define EXP(n, k, i) {n, sizeof(n) - 1, k, i, 0}
static const struct kumo_desc_export fake_exports[] = {
	EXP("_start", KUMO_EXTERN_FUNC, 2),      EXP("add", KUMO_EXTERN_FUNC, 3),
	EXP("load", KUMO_EXTERN_FUNC, 4),        EXP("grow", KUMO_EXTERN_FUNC, 5),
	EXP("recurse", KUMO_EXTERN_FUNC, 6),     EXP("unreachable", KUMO_EXTERN_FUNC, 7),
	EXP("fill", KUMO_EXTERN_FUNC, 8),        EXP("call_indirect", KUMO_EXTERN_FUNC, 9),
	EXP("init_passive", KUMO_EXTERN_FUNC, 10), EXP("get_g0", KUMO_EXTERN_FUNC, 11),
	EXP("table_init", KUMO_EXTERN_FUNC, 12), EXP("memory", KUMO_EXTERN_MEMORY, 0),
	EXP("table", KUMO_EXTERN_TABLE, 0),      EXP("g0", KUMO_EXTERN_GLOBAL, 0),
};

static const struct kumo_const_expr elem0_items[] = {{KUMO_CONST_REF_FUNC, 3, 0, 0}};
static const struct kumo_const_expr elem1_items[] = {{KUMO_CONST_REF_FUNC, 3, 0, 0},
						     {KUMO_CONST_REF_NULL, KUMO_T_FUNCREF, 0, 0}};
static const struct kumo_const_expr elem2_items[] = {{KUMO_CONST_REF_FUNC, 4, 0, 0}};
static const struct kumo_desc_elem fake_elems[] = {
	{KUMO_SEG_ACTIVE, KUMO_T_FUNCREF, 0, 1, {KUMO_CONST_I32, 0, 1, 0}, elem0_items},
	{KUMO_SEG_PASSIVE, KUMO_T_FUNCREF, 0, 2, {0, 0, 0, 0}, elem1_items},
	{KUMO_SEG_DECLARATIVE, KUMO_T_FUNCREF, 0, 1, {0, 0, 0, 0}, elem2_items},
};

static const struct kumo_desc_data fake_datas[] = {
	{KUMO_SEG_ACTIVE, 0, {KUMO_CONST_I32, 0, MSG_AT, 0}, sizeof(MSG) - 1, 0,
	 (const uint8_t *)MSG},
	{KUMO_SEG_PASSIVE, 0, {0, 0, 0, 0}, 7, 0, (const uint8_t *)"passive"},
};

#define COUNT(a) (uint32_t)(sizeof(a) / sizeof((a)[0]))

const struct kumo_module kumo_module = {
	.abi_version = KUMO_ABI_VERSION,
	.compiler_id = "fakemod",
	.cpu = KUMO_DEFAULT_CPU,
	.ntypes = NTYPES, .types = types,
	.nimports = COUNT(fake_imports), .imports = fake_imports,
	.nfuncs = 2 + COUNT(fake_funcs), .nimported_funcs = 2, .funcs = fake_funcs,
	.ntables = 1, .tables = fake_tables,
	.nmemories = 1, .memories = fake_memories,
	.nglobals = COUNT(fake_globals), .globals = fake_globals,
	.nexports = COUNT(fake_exports), .exports = fake_exports,
	.start_func = KUMO_NO_START,
	.nelems = COUNT(fake_elems), .elems = fake_elems,
	.ndatas = COUNT(fake_datas), .datas = fake_datas,
};

/* ---- fakemod_importer: links against "fake"'s exports ---- */

/* func 1: add(a, g0) through the imported function and global. */
static uint32_t i_sum(vm_t *vm, uint32_t a)
{
	struct kumo_funcref *f = &vm->funcrefs[0];
	return ((uint32_t(*)(vm_t *, uint32_t, uint32_t))f->code)(f->vmctx, a,
								   vm->globals[0]->i32);
}

/* func 2: sets the shared global. */
static void i_set_g0(vm_t *vm, uint32_t v)
{
	vm->globals[0]->i32 = v;
}

static const struct kumo_desc_import importer_imports[] = {
	{IMP("fake", "add", KUMO_EXTERN_FUNC, T_II_I)},
	{IMP("fake", "memory", KUMO_EXTERN_MEMORY, 0), .limits = {1, 0, 0}},
	{IMP("fake", "table", KUMO_EXTERN_TABLE, KUMO_T_FUNCREF), .limits = {4, 0, 0}},
	{IMP("fake", "g0", KUMO_EXTERN_GLOBAL, KUMO_T_I32), .global_mutable = 1},
};
static const struct kumo_desc_func importer_funcs[] = {{(void *)i_sum, T_I_I, 0},
						       {(void *)i_set_g0, T_I_V, 0}};
static const struct kumo_desc_export importer_exports[] = {
	EXP("sum", KUMO_EXTERN_FUNC, 1),
	EXP("set_g0", KUMO_EXTERN_FUNC, 2),
};
/* Writes "imp" at 200 and puts its own sum() in slot 3 of the shared table. */
static const struct kumo_const_expr importer_elem_items[] = {{KUMO_CONST_REF_FUNC, 1, 0, 0}};
static const struct kumo_desc_elem importer_elems[] = {
	{KUMO_SEG_ACTIVE, KUMO_T_FUNCREF, 0, 1, {KUMO_CONST_I32, 0, 3, 0}, importer_elem_items},
};
static const struct kumo_desc_data importer_datas[] = {
	{KUMO_SEG_ACTIVE, 0, {KUMO_CONST_I32, 0, 200, 0}, 3, 0, (const uint8_t *)"imp"},
};

const struct kumo_module fakemod_importer = {
	.abi_version = KUMO_ABI_VERSION,
	.compiler_id = "fakemod",
	.cpu = KUMO_DEFAULT_CPU,
	.ntypes = NTYPES, .types = types,
	.nimports = COUNT(importer_imports), .imports = importer_imports,
	.nfuncs = 3, .nimported_funcs = 1, .funcs = importer_funcs,
	.ntables = 1, .nimported_tables = 1,
	.nmemories = 1, .nimported_memories = 1,
	.nglobals = 1, .nimported_globals = 1,
	.nexports = COUNT(importer_exports), .exports = importer_exports,
	.start_func = KUMO_NO_START,
	.nelems = COUNT(importer_elems), .elems = importer_elems,
	.ndatas = COUNT(importer_datas), .datas = importer_datas,
};

/* ---- fakemod_oob: the second data segment is out of bounds ---- */

static const struct kumo_desc_import oob_imports[] = {
	{IMP("fake", "memory", KUMO_EXTERN_MEMORY, 0), .limits = {1, 0, 0}},
};
static const struct kumo_desc_data oob_datas[] = {
	{KUMO_SEG_ACTIVE, 0, {KUMO_CONST_I32, 0, 300, 0}, 5, 0, (const uint8_t *)"first"},
	{KUMO_SEG_ACTIVE, 0, {KUMO_CONST_I32, 0, 65534, 0}, 5, 0, (const uint8_t *)"later"},
};
const struct kumo_module fakemod_oob = {
	.abi_version = KUMO_ABI_VERSION,
	.compiler_id = "fakemod",
	.cpu = KUMO_DEFAULT_CPU,
	.ntypes = NTYPES, .types = types,
	.nimports = COUNT(oob_imports), .imports = oob_imports,
	.nmemories = 1, .nimported_memories = 1,
	.start_func = KUMO_NO_START,
	.ndatas = COUNT(oob_datas), .datas = oob_datas,
};

/* ---- fakemod_unknown: an import nobody provides ---- */

static const struct kumo_desc_import unknown_imports[] = {
	{IMP("env", "nothing", KUMO_EXTERN_FUNC, T_V_V)},
};
const struct kumo_module fakemod_unknown = {
	.abi_version = KUMO_ABI_VERSION,
	.compiler_id = "fakemod",
	.cpu = KUMO_DEFAULT_CPU,
	.ntypes = NTYPES, .types = types,
	.nimports = 1, .imports = unknown_imports,
	.nfuncs = 1, .nimported_funcs = 1,
	.start_func = KUMO_NO_START,
};
