/* tests/unit/test_compile.c - the code generator end to end: WAT -> wasm -> kumo object
 * -> shared object, dlopen'ed and run through the descriptor with a minimal instance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "compiler/abi.h"
#include "compiler/compiler.h"
#include "tests/unit/wat_fixture.h"

/* ---- the runtime side, reduced to what the tests need ---- */

static sigjmp_buf trap_env;
static volatile int trap_armed;

__attribute__((noreturn)) void kumo_trap(struct kumo_vmctx *vmctx, uint32_t code)
{
	(void)vmctx;
	siglongjmp(trap_env, (int)code);
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (!trap_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	siglongjmp(trap_env, KUMO_TRAP_MEMORY_OOB);
}

uint32_t kumo_rt_memory_grow(struct kumo_vmctx *vmctx, uint32_t delta)
{
	struct kumo_memory *m = vmctx->memory;
	uint64_t pages = m->bytes / KUMO_WASM_PAGE_SIZE;
	if (pages + delta > m->max_pages)
		return UINT32_MAX;
	if (delta && mprotect(m->base + m->bytes, (uint64_t)delta * KUMO_WASM_PAGE_SIZE,
			      PROT_READ | PROT_WRITE) != 0)
		return UINT32_MAX;
	m->bytes += (uint64_t)delta * KUMO_WASM_PAGE_SIZE;
	return (uint32_t)pages;
}

void kumo_rt_memory_fill(struct kumo_vmctx *vmctx, uint32_t d, uint32_t v, uint32_t n)
{
	if ((uint64_t)d + n > vmctx->memory->bytes)
		kumo_trap(vmctx, KUMO_TRAP_MEMORY_OOB);
	memset(vmctx->mem_base + d, (int)v, n);
}

void kumo_rt_memory_copy(struct kumo_vmctx *vmctx, uint32_t d, uint32_t s, uint32_t n)
{
	if ((uint64_t)d + n > vmctx->memory->bytes || (uint64_t)s + n > vmctx->memory->bytes)
		kumo_trap(vmctx, KUMO_TRAP_MEMORY_OOB);
	memmove(vmctx->mem_base + d, vmctx->mem_base + s, n);
}

struct inst {
	void *so;
	const struct kumo_module *mod;
	struct kumo_vmctx vm;
	struct kumo_memory mem;
	struct kumo_funcref *funcrefs;
	uint32_t *type_ids;
	union kumo_val *cells;
	union kumo_val **globals;
	struct kumo_table tabs[4];
	struct kumo_table *tables[4];
	char so_path[80];
};

static void host_import(struct kumo_vmctx *vmctx, uint32_t x) /* "env" "seen" (i32) */
{
	(void)vmctx;
	(void)x;
}

static char *compile_wat(const char *wat, bool bounds, const char *cpu, char *o_path)
{
	size_t len = 0;
	uint8_t *wasm = wat_to_wasm(wat, NULL, &len);
	assert_non_null(wasm);
	strcpy(o_path, "/tmp/kumo-cg-XXXXXX");
	int fd = mkstemp(o_path);
	assert_true(fd >= 0);
	close(fd);
	struct kumo_compile_options opts = {.cpu = cpu, .opt_level = 2, .bounds_checks = bounds};
	struct kumo_compile_info info;
	kumo_error_t err = NULL;
	int r = kumo_compile_file(wasm, len, &opts, o_path, &info, &err);
	free(wasm);
	if (r < 0)
		fail_msg("compile: %s", kumo_error_msg(err));
	assert_true(info.object_bytes > 0);
	kumo_compile_info_free(&info);
	return o_path;
}

static void instantiate(struct inst *in, const char *wat, bool bounds)
{
	memset(in, 0, sizeof(*in));
	/* cmocka installs its own handlers per test: ours turns guard-page faults into traps. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	char o_path[64];
	compile_wat(wat, bounds, NULL, o_path);
	snprintf(in->so_path, sizeof(in->so_path), "%s.so", o_path);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cc -shared -o %s %s", in->so_path, o_path);
	assert_int_equal(system(cmd), 0);
	unlink(o_path);
	in->so = dlopen(in->so_path, RTLD_NOW | RTLD_LOCAL);
	if (!in->so)
		fail_msg("dlopen: %s", dlerror());
	in->mod = dlsym(in->so, KUMO_SYM_MODULE);
	assert_non_null(in->mod);
	const struct kumo_module *m = in->mod;
	assert_int_equal(m->abi_version, KUMO_ABI_VERSION);

	/* Canonical type ids: the first type with the same signature. */
	in->type_ids = calloc(m->ntypes + 1, sizeof(uint32_t));
	for (uint32_t i = 0; i < m->ntypes; i++) {
		in->type_ids[i] = i;
		for (uint32_t k = 0; k < i; k++)
			if (strcmp(m->types[k].sig, m->types[i].sig) == 0) {
				in->type_ids[i] = k;
				break;
			}
	}
	in->funcrefs = calloc(m->nfuncs + 1, sizeof(struct kumo_funcref));
	for (uint32_t i = 0; i < m->nfuncs; i++) {
		uint32_t type;
		if (i < m->nimported_funcs) {
			in->funcrefs[i].code = (void *)host_import;
			type = m->imports[i].type; /* the tests import functions first */
		} else {
			in->funcrefs[i].code = m->funcs[i - m->nimported_funcs].code;
			type = m->funcs[i - m->nimported_funcs].type;
		}
		in->funcrefs[i].vmctx = &in->vm;
		in->funcrefs[i].type_id = in->type_ids[type];
	}
	in->cells = calloc(m->nglobals + 1, sizeof(union kumo_val));
	in->globals = calloc(m->nglobals + 1, sizeof(union kumo_val *));
	for (uint32_t i = 0; i < m->nglobals; i++) {
		in->globals[i] = &in->cells[i];
		in->cells[i].bits = m->globals[i - m->nimported_globals].init.bits;
	}
	for (uint32_t i = 0; i < m->ntables && i < 4; i++) {
		const struct kumo_desc_table *t = &m->tables[i];
		in->tabs[i].size = t->limits.min;
		in->tabs[i].max = t->limits.has_max ? t->limits.max : UINT32_MAX;
		in->tabs[i].elem_type = (uint8_t)t->elem_type;
		in->tabs[i].elems = calloc(t->limits.min + 1, sizeof(void *));
		in->tables[i] = &in->tabs[i];
	}
	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct kumo_desc_elem *e = &m->elems[i];
		if (e->mode != KUMO_SEG_ACTIVE)
			continue;
		for (uint32_t k = 0; k < e->count; k++)
			in->tabs[e->table].elems[e->offset.bits + k] =
				e->items[k].kind == KUMO_CONST_REF_FUNC ? &in->funcrefs[e->items[k].index]
									: NULL;
	}
	if (m->nmemories) {
		in->mem.base = mmap(NULL, KUMO_MEM_RESERVE_BYTES, PROT_NONE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		assert_true(in->mem.base != MAP_FAILED);
		in->mem.max_pages = m->memories[0].has_max ? m->memories[0].max : KUMO_WASM_MAX_PAGES;
		in->vm.memory = &in->mem;
		in->vm.mem_base = in->mem.base;
		assert_int_equal(kumo_rt_memory_grow(&in->vm, m->memories[0].min), 0);
		for (uint32_t i = 0; i < m->ndatas; i++)
			if (m->datas[i].mode == KUMO_SEG_ACTIVE)
				memcpy(in->mem.base + m->datas[i].offset.bits, m->datas[i].bytes,
				       m->datas[i].len);
	}
	in->vm.funcrefs = in->funcrefs;
	in->vm.type_ids = in->type_ids;
	in->vm.globals = in->globals;
	in->vm.tables = in->tables;
	in->vm.module = m;
	/* This thread's stack: leave 512 KiB to the test itself. */
	char here;
	in->vm.stack_limit = (uintptr_t)&here - 512 * 1024;
}

static void release(struct inst *in)
{
	if (in->mem.base)
		munmap(in->mem.base, KUMO_MEM_RESERVE_BYTES);
	for (int i = 0; i < 4; i++)
		free(in->tabs[i].elems);
	free(in->type_ids);
	free(in->funcrefs);
	free(in->cells);
	free(in->globals);
	dlclose(in->so);
	unlink(in->so_path);
}

/* Calls export `name` with args in cells; returns the trap code (0 = returned). */
static int call(struct inst *in, const char *name, union kumo_val *cells)
{
	const struct kumo_module *m = in->mod;
	for (uint32_t i = 0; i < m->nexports; i++) {
		const struct kumo_desc_export *e = &m->exports[i];
		if (e->kind != KUMO_EXTERN_FUNC || e->name_len != strlen(name) ||
		    memcmp(e->name, name, e->name_len) != 0)
			continue;
		uint32_t f = e->index;
		const struct kumo_desc_func *df = &m->funcs[f - m->nimported_funcs];
		const struct kumo_desc_type *t = &m->types[df->type];
		int code = sigsetjmp(trap_env, 1);
		if (code == 0) {
			trap_armed = 1;
			t->array_call(df->code, &in->vm, cells);
		}
		trap_armed = 0;
		return code;
	}
	fail_msg("no export `%s`", name);
	return -1;
}

static uint32_t call_i32(struct inst *in, const char *name, int n, ...)
{
	union kumo_val c[8] = {0};
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		c[i].i32 = va_arg(ap, uint32_t);
	va_end(ap);
	int code = call(in, name, c);
	if (code)
		fail_msg("`%s` trapped: %s", name, kumo_trap_message(code));
	return c[0].i32;
}

static int trap_i32(struct inst *in, const char *name, int n, ...)
{
	union kumo_val c[8] = {0};
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		c[i].i32 = va_arg(ap, uint32_t);
	va_end(ap);
	return call(in, name, c);
}

/* ---- tests ---- */

static void integer_ops(void **state)
{
	(void)state;
	struct inst in;
	instantiate(&in,
		    "(module\n"
		    " (func $fac (export \"fac\") (param i64) (result i64)\n"
		    "  (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))\n"
		    "   (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))\n"
		    " (func (export \"div_s\") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))\n"
		    " (func (export \"div_u\") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))\n"
		    " (func (export \"rem_s\") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))\n"
		    " (func (export \"shl\") (param i32 i32) (result i32) (i32.shl (local.get 0) (local.get 1)))\n"
		    " (func (export \"rotl\") (param i32 i32) (result i32) (i32.rotl (local.get 0) (local.get 1)))\n"
		    " (func (export \"clz\") (param i32) (result i32) (i32.clz (local.get 0)))\n"
		    " (func (export \"ext8\") (param i32) (result i32) (i32.extend8_s (local.get 0)))\n"
		    " (func (export \"unreach\") unreachable)\n"
		    ")\n",
		    false);
	union kumo_val c[2] = {{.i64 = 20}};
	assert_int_equal(call(&in, "fac", c), 0);
	assert_true(c[0].i64 == 2432902008176640000ull);
	assert_int_equal(call_i32(&in, "div_s", 2, (uint32_t)-7, 2), (uint32_t)-3);
	assert_int_equal(call_i32(&in, "div_u", 2, (uint32_t)-7, 2), 0x7ffffffc);
	assert_int_equal(trap_i32(&in, "div_s", 2, 1, 0), KUMO_TRAP_INT_DIV_ZERO);
	assert_int_equal(trap_i32(&in, "div_u", 2, 1, 0), KUMO_TRAP_INT_DIV_ZERO);
	assert_int_equal(trap_i32(&in, "div_s", 2, 0x80000000u, (uint32_t)-1), KUMO_TRAP_INT_OVERFLOW);
	assert_int_equal(call_i32(&in, "rem_s", 2, 0x80000000u, (uint32_t)-1), 0);
	assert_int_equal(call_i32(&in, "rem_s", 2, (uint32_t)-7, 2), (uint32_t)-1);
	assert_int_equal(trap_i32(&in, "rem_s", 2, 1, 0), KUMO_TRAP_INT_DIV_ZERO);
	assert_int_equal(call_i32(&in, "shl", 2, 1, 33), 2);
	assert_int_equal(call_i32(&in, "rotl", 2, 0x80000001u, 1), 3);
	assert_int_equal(call_i32(&in, "clz", 1, 0), 32);
	assert_int_equal(call_i32(&in, "ext8", 1, 0x80), 0xffffff80u);
	assert_int_equal(trap_i32(&in, "unreach", 0), KUMO_TRAP_UNREACHABLE);
	release(&in);
}

static void float_ops(void **state)
{
	(void)state;
	struct inst in;
	instantiate(&in,
		    "(module\n"
		    " (func (export \"min\") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))\n"
		    " (func (export \"max\") (param f32 f32) (result f32) (f32.max (local.get 0) (local.get 1)))\n"
		    " (func (export \"nearest\") (param f64) (result f64) (f64.nearest (local.get 0)))\n"
		    " (func (export \"copysign\") (param f64 f64) (result f64) (f64.copysign (local.get 0) (local.get 1)))\n"
		    " (func (export \"trunc_s\") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))\n"
		    " (func (export \"trunc_u64\") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))\n"
		    " (func (export \"sat_s\") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))\n"
		    " (func (export \"u64_to_f32\") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))\n"
		    ")\n",
		    false);
	union kumo_val c[2];
	c[0].f64 = -0.0;
	c[1].f64 = 0.0;
	assert_int_equal(call(&in, "min", c), 0);
	assert_true(c[0].f64 == 0.0 && signbit(c[0].f64));
	c[0].f64 = NAN;
	c[1].f64 = 1.0;
	assert_int_equal(call(&in, "min", c), 0);
	assert_true(isnan(c[0].f64));
	c[0].f32 = 0.0f;
	c[1].f32 = -0.0f;
	assert_int_equal(call(&in, "max", c), 0);
	assert_true(c[0].f32 == 0.0f && !signbit(c[0].f32));
	c[0].f64 = 2.5;
	assert_int_equal(call(&in, "nearest", c), 0);
	assert_true(c[0].f64 == 2.0);
	c[0].f64 = -3.5;
	assert_int_equal(call(&in, "nearest", c), 0);
	assert_true(c[0].f64 == -4.0);
	c[0].f64 = 1.5;
	c[1].f64 = -0.0;
	assert_int_equal(call(&in, "copysign", c), 0);
	assert_true(c[0].f64 == -1.5);
	c[0].f64 = -2147483648.9;
	assert_int_equal(call(&in, "trunc_s", c), 0);
	assert_int_equal(c[0].i32, 0x80000000u);
	c[0].f64 = -2147483649.0;
	assert_int_equal(call(&in, "trunc_s", c), KUMO_TRAP_INT_OVERFLOW);
	c[0].f64 = NAN;
	assert_int_equal(call(&in, "trunc_s", c), KUMO_TRAP_INVALID_CONVERSION);
	c[0].f32 = -0.9f;
	assert_int_equal(call(&in, "trunc_u64", c), 0);
	assert_true(c[0].i64 == 0);
	c[0].f32 = 18446744073709551616.0f;
	assert_int_equal(call(&in, "trunc_u64", c), KUMO_TRAP_INT_OVERFLOW);
	c[0].f64 = 1e300;
	assert_int_equal(call(&in, "sat_s", c), 0);
	assert_int_equal(c[0].i32, 0x7fffffffu);
	c[0].f64 = NAN;
	assert_int_equal(call(&in, "sat_s", c), 0);
	assert_int_equal(c[0].i32, 0);
	c[0].i64 = UINT64_MAX;
	assert_int_equal(call(&in, "u64_to_f32", c), 0);
	assert_true(c[0].f32 == 18446744073709551616.0f);
	release(&in);
}

static void control_flow(void **state)
{
	(void)state;
	struct inst in;
	instantiate(&in,
		    "(module\n"
		    " (type $pair (func (param i32) (result i32 i32)))\n"
		    " (func (export \"sel\") (param i32) (result i32)\n"
		    "  (block $d (block $c (block $b (block $a\n"
		    "   (br_table $a $b $c $d (local.get 0)))\n"
		    "   (return (i32.const 10))) (return (i32.const 11))) (return (i32.const 12)))\n"
		    "  (i32.const 13))\n"
		    " (func (export \"brval\") (param i32) (result i32)\n"
		    "  (block $o (result i32) (block $i (result i32)\n"
		    "   (br_table $i $o $i (i32.const 100) (local.get 0))) (i32.const 1) (i32.add)))\n"
		    " (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))\n"
		    " (func (export \"mv\") (param i32 i32) (result i32)\n"
		    "  (call $swap (local.get 0) (local.get 1)) (i32.sub))\n"
		    " (func (export \"mvblock\") (param i32) (result i32)\n"
		    "  (local.get 0) (block (type $pair) (i32.const 3)) (i32.mul))\n"
		    " (func (export \"loopsum\") (param i32) (result i32) (local i32)\n"
		    "  (loop $l (local.set 1 (i32.add (local.get 1) (local.get 0)))\n"
		    "   (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))\n"
		    "  (local.get 1))\n"
		    " (func (export \"select\") (param i32 i32 i32) (result i32)\n"
		    "  (select (local.get 0) (local.get 1) (local.get 2)))\n"
		    " (func (export \"ifnoelse\") (param i32) (result i32)\n"
		    "  (i32.const 5) (if (param i32) (result i32) (local.get 0) (then (i32.const 2) (i32.mul))))\n"
		    " (func (export \"dead\") (param i32) (result i32)\n"
		    "  (block (result i32) (br 0 (i32.const 7)) (i32.add) (loop) (unreachable)))\n"
		    " (func (export \"mvret\") (param i32) (result i32 i64 f64)\n"
		    "  (local.get 0) (i64.const -1) (f64.const 2.5))\n"
		    ")\n",
		    false);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(call_i32(&in, "sel", 1, i), i < 3 ? 10 + i : 13);
	assert_int_equal(call_i32(&in, "brval", 1, 0), 101);
	assert_int_equal(call_i32(&in, "brval", 1, 1), 100);
	assert_int_equal(call_i32(&in, "brval", 1, 7), 101);
	assert_int_equal(call_i32(&in, "mv", 2, 3, 10), 7);
	assert_int_equal(call_i32(&in, "mvblock", 1, 5), 15);
	assert_int_equal(call_i32(&in, "loopsum", 1, 100), 5050);
	assert_int_equal(call_i32(&in, "select", 3, 1, 2, 0), 2);
	assert_int_equal(call_i32(&in, "select", 3, 1, 2, 9), 1);
	assert_int_equal(call_i32(&in, "ifnoelse", 1, 0), 5);
	assert_int_equal(call_i32(&in, "ifnoelse", 1, 1), 10);
	assert_int_equal(call_i32(&in, "dead", 1, 0), 7);
	union kumo_val c[3] = {{.i32 = 42}};
	assert_int_equal(call(&in, "mvret", c), 0);
	assert_int_equal(c[0].i32, 42);
	assert_true(c[1].i64 == UINT64_MAX);
	assert_true(c[2].f64 == 2.5);
	release(&in);
}

static const char *const memory_wat =
	"(module\n"
	" (memory 1 3)\n"
	" (data (i32.const 16) \"\\01\\02\\03\\04\")\n"
	" (func (export \"load\") (param i32) (result i32) (i32.load offset=16 (local.get 0)))\n"
	" (func (export \"load8s\") (param i32) (result i32) (i32.load8_s (local.get 0)))\n"
	" (func (export \"store\") (param i32 i32) (i32.store (local.get 0) (local.get 1)))\n"
	" (func (export \"size\") (result i32) (memory.size))\n"
	" (func (export \"dropload\") (param i32) (drop (i32.load offset=4294967295 (local.get 0))))\n"
	" (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))\n"
	" (func (export \"fill\") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))\n"
	")\n";

static void memory_ops(bool bounds)
{
	struct inst in;
	instantiate(&in, memory_wat, bounds);
	assert_int_equal(in.mod->flags & KUMO_MODULE_BOUNDS_CHECKED,
			 bounds ? KUMO_MODULE_BOUNDS_CHECKED : 0);
	assert_int_equal(call_i32(&in, "load", 1, 0), 0x04030201);
	assert_int_equal(call_i32(&in, "load", 1, 1), 0x040302);
	call_i32(&in, "store", 2, 100, 0xfffffff0u);
	assert_int_equal(call_i32(&in, "load8s", 1, 100), 0xfffffff0u);
	assert_int_equal(call_i32(&in, "size", 0), 1);
	assert_int_equal(trap_i32(&in, "load", 1, 65536 - 16 - 3), KUMO_TRAP_MEMORY_OOB);
	assert_int_equal(trap_i32(&in, "load", 1, 0xfffffff0u), KUMO_TRAP_MEMORY_OOB);
	assert_int_equal(trap_i32(&in, "store", 2, 65536, 1), KUMO_TRAP_MEMORY_OOB);
	assert_int_equal(trap_i32(&in, "dropload", 1, 0), KUMO_TRAP_MEMORY_OOB);
	assert_int_equal(call_i32(&in, "grow", 1, 1), 1);
	assert_int_equal(call_i32(&in, "size", 0), 2);
	call_i32(&in, "store", 2, 65536, 7);
	assert_int_equal(call_i32(&in, "load", 1, 65536 - 16), 7);
	assert_int_equal(call_i32(&in, "grow", 1, 2), (uint32_t)-1);
	call_i32(&in, "fill", 3, 200, 0xab, 4);
	assert_int_equal(call_i32(&in, "load", 1, 200 - 16), 0xabababab);
	release(&in);
}

static void memory_guard_pages(void **state)
{
	(void)state;
	memory_ops(false);
}

static void memory_bounds_checked(void **state)
{
	(void)state;
	memory_ops(true);
}

static void tables_and_globals(void **state)
{
	(void)state;
	struct inst in;
	instantiate(&in,
		    "(module\n"
		    " (type $ii (func (param i32) (result i32)))\n"
		    " (type $v (func))\n"
		    " (table 4 funcref)\n"
		    " (elem (i32.const 0) $inc $dbl $nop)\n"
		    " (global $g (mut i32) (i32.const 40))\n"
		    " (global $k i64 (i64.const 9))\n"
		    " (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))\n"
		    " (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))\n"
		    " (func $nop (type $v))\n"
		    " (func (export \"ci\") (param i32 i32) (result i32)\n"
		    "  (call_indirect (type $ii) (local.get 1) (local.get 0)))\n"
		    " (func (export \"bump\") (result i32)\n"
		    "  (global.set $g (i32.add (global.get $g) (i32.const 2))) (global.get $g))\n"
		    " (func (export \"k\") (result i64) (global.get $k))\n"
		    " (func (export \"tsize\") (result i32) (table.size 0))\n"
		    " (func (export \"isnull\") (result i32) (ref.is_null (ref.func $inc)))\n"
		    " (func $rec (export \"rec\") (param i32) (result i32)\n"
		    "  (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))\n"
		    ")\n",
		    false);
	assert_int_equal(call_i32(&in, "ci", 2, 0, 5), 6);
	assert_int_equal(call_i32(&in, "ci", 2, 1, 5), 10);
	assert_int_equal(trap_i32(&in, "ci", 2, 2, 5), KUMO_TRAP_INDIRECT_CALL_MISMATCH);
	assert_int_equal(trap_i32(&in, "ci", 2, 3, 5), KUMO_TRAP_UNINITIALIZED_ELEMENT);
	assert_int_equal(trap_i32(&in, "ci", 2, 4, 5), KUMO_TRAP_UNDEFINED_ELEMENT);
	assert_int_equal(call_i32(&in, "bump", 0), 42);
	assert_int_equal(call_i32(&in, "bump", 0), 44);
	assert_int_equal(in.cells[0].i32, 44);
	union kumo_val c[1];
	assert_int_equal(call(&in, "k", c), 0);
	assert_true(c[0].i64 == 9);
	assert_int_equal(call_i32(&in, "tsize", 0), 4);
	assert_int_equal(call_i32(&in, "isnull", 0), 0);
	assert_int_equal(trap_i32(&in, "rec", 1, 0), KUMO_TRAP_STACK_EXHAUSTED);
	release(&in);
}

/* Every undefined symbol of an object is named by abi.h's rules. */
static void undefined_symbols(void **state)
{
	(void)state;
	char o_path[64];
	compile_wat("(module\n"
		    " (import \"wasi_snapshot_preview1\" \"fd_write\" (func (param i32 i32 i32 i32) (result i32)))\n"
		    " (import \"a.b\" \"\" (func (param i64 f32 f64) (result i32 i64)))\n"
		    " (memory 1) (table 1 funcref)\n"
		    " (func (export \"f\") (param i32) (result i32)\n"
		    "  (call 0 (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) drop\n"
		    "  (drop (memory.grow (i32.const 1)))\n"
		    "  (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))\n"
		    "  (memory.copy (i32.const 0) (i32.const 0) (i32.const 0))\n"
		    "  (drop (table.grow 0 (ref.null func) (i32.const 1)))\n"
		    "  (table.set 0 (i32.const 0) (table.get 0 (i32.const 0)))\n"
		    "  (i32.div_u (local.get 0) (local.get 0)))\n"
		    " (func (export \"f\\2e\") (export \"\") (result i32) (i32.const 1))\n"
		    ")\n",
		    false, "x86-64-v3", o_path);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "nm -u %s", o_path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[256];
	int n = 0, wasi = 0, hex = 0;
	while (fgets(line, sizeof(line), p)) {
		char *sym = strrchr(line, ' ');
		sym = sym ? sym + 1 : line;
		sym[strcspn(sym, "\n")] = '\0';
		n++;
		static const char *const libcalls[] = {
			KUMO_SYM_TRAP, KUMO_SYM_MEMORY_GROW, KUMO_SYM_MEMORY_INIT, KUMO_SYM_DATA_DROP,
			KUMO_SYM_MEMORY_COPY, KUMO_SYM_MEMORY_FILL, KUMO_SYM_TABLE_GET,
			KUMO_SYM_TABLE_SET, KUMO_SYM_TABLE_GROW, KUMO_SYM_TABLE_FILL,
			KUMO_SYM_TABLE_COPY, KUMO_SYM_TABLE_INIT, KUMO_SYM_ELEM_DROP};
		bool ok = false;
		for (size_t i = 0; i < sizeof(libcalls) / sizeof(libcalls[0]); i++)
			ok = ok || strcmp(sym, libcalls[i]) == 0;
		if (strcmp(sym, "kumo_imp_22wasi_snapshot_preview18fd_write_iiii_i") == 0) {
			ok = true;
			wasi = 1;
		}
		if (strcmp(sym, "kumo_imp_X3612e62X0_lfd_il") == 0) {
			ok = true;
			hex = 1;
		}
		if (!ok)
			fail_msg("undefined symbol `%s` is not named by abi.h", sym);
	}
	pclose(p);
	assert_true(n >= 8);
	assert_true(wasi && hex);
	snprintf(cmd, sizeof(cmd), "nm %s | grep -c ' T kumo_exp_'", o_path);
	p = popen(cmd, "r");
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	assert_int_equal(atoi(line), 3);
	snprintf(cmd, sizeof(cmd), "nm %s | grep -q ' T kumo_exp_X2662e$'", o_path);
	assert_int_equal(system(cmd), 0);
	unlink(o_path);
}

static void symbol_naming(void **state)
{
	(void)state;
	char *s = kumo_import_symbol("wasi_snapshot_preview1", 22, "sock_accept", 11, "ii_i");
	assert_string_equal(s, "kumo_imp_22wasi_snapshot_preview111sock_accept_ii_i");
	free(s);
	s = kumo_import_symbol("env", 3, "a-b", 3, "_");
	assert_string_equal(s, "kumo_imp_3envX3612d62__");
	free(s);
}

static void bad_input(void **state)
{
	(void)state;
	static const uint8_t junk[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 0xff};
	kumo_error_t err = NULL;
	assert_int_equal(kumo_compile_file(junk, sizeof(junk), NULL, "/tmp/kumo-cg-never.o", NULL, &err),
			 -1);
	assert_true(strlen(kumo_error_msg(err)) > 0);
	kumo_error_free(&err);
	struct kumo_compile_options bad_cpu = {.cpu = "pentium-pro-9000", .opt_level = 2};
	assert_int_equal(kumo_compile_file(junk, sizeof(junk), &bad_cpu, "/tmp/kumo-cg-never.o", NULL,
					   &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "pentium-pro-9000"));
	kumo_error_free(&err);
	assert_int_equal(access("/tmp/kumo-cg-never.o", F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(integer_ops),
		cmocka_unit_test(float_ops),
		cmocka_unit_test(control_flow),
		cmocka_unit_test(memory_guard_pages),
		cmocka_unit_test(memory_bounds_checked),
		cmocka_unit_test(tables_and_globals),
		cmocka_unit_test(undefined_symbols),
		cmocka_unit_test(symbol_naming),
		cmocka_unit_test(bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
