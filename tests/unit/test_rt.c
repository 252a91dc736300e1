/* tests/unit/test_rt.c - the runtime (kernel/rt) on the hosted platform, driven by the
 * hand-written modules of fakemod.c: instantiation, linking, segments, libcalls,
 * traps (real guard-region SIGSEGV, stack exhaustion), dlopen loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "kernel/hosted/embed.h"

extern const struct kumo_module kumo_module, fakemod_importer, fakemod_oob, fakemod_unknown;

struct fixture {
	struct kumo_rt_store *store;
	struct kumo_rt_instance *fake;
	struct kumo_rt_outcome out;
};

static int setup(void **state)
{
	struct fixture *f = xzalloc(sizeof(*f));
	f->store = kumo_rt_store_new();
	assert_non_null(f->store);
	/* resolver NULL: the WASI imports come from the descriptor's weak references. */
	assert_int_equal(kumo_rt_instantiate(f->store, &kumo_module, NULL, NULL, &f->fake, &f->out),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	kumo_rt_store_free(f->store);
	free(f);
	return 0;
}

static uint32_t call1(struct fixture *f, const char *name, uint32_t a, int *rc)
{
	union kumo_val arg = {.i32 = a}, res = {0};
	*rc = kumo_embed_invoke(f->store, f->fake, name, &arg, 1, &res, 1, &f->out);
	return res.i32;
}

static void exports_and_segments(void **state)
{
	struct fixture *f = *state;
	union kumo_val args[2] = {{.i32 = 2}, {.i32 = 3}}, res;
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "add", args, 2, &res, 1, &f->out), 0);
	assert_int_equal(res.i32, 5);
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "get_g0", NULL, 0, &res, 1, &f->out),
			 0);
	assert_int_equal(res.i32, 42);
	/* Wrong arity is an error, not a crash. */
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "add", args, 1, &res, 1, &f->out), -1);
	assert_int_equal(f->out.kind, KUMO_RT_ERROR);
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "nope", NULL, 0, NULL, 0, &f->out),
			 -1);

	struct kumo_rt_extern mem, tab, g;
	assert_int_equal(kumo_rt_export(f->fake, "memory", 6, &mem), 0);
	assert_int_equal(mem.kind, KUMO_EXTERN_MEMORY);
	assert_int_equal(mem.u.memory->m.bytes, 65536);
	assert_memory_equal(mem.u.memory->m.base + 64, "hello from the fake module\n", 27);
	assert_int_equal(kumo_rt_export(f->fake, "table", 5, &tab), 0);
	assert_int_equal(tab.u.table->t.size, 4);
	assert_null(tab.u.table->t.elems[0]);
	assert_ptr_equal(tab.u.table->t.elems[1], &kumo_rt_instance_vmctx(f->fake)->funcrefs[3]);
	assert_int_equal(kumo_rt_export(f->fake, "g0", 2, &g), 0);
	g.u.global->cell.i32 = 9;
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "get_g0", NULL, 0, &res, 1, &f->out),
			 0);
	assert_int_equal(res.i32, 9);
}

static void call_indirect_traps(void **state)
{
	struct fixture *f = *state;
	int rc;
	assert_int_equal(call1(f, "call_indirect", 1, &rc), 101);
	assert_int_equal(rc, 0);
	call1(f, "call_indirect", 0, &rc);
	assert_int_equal(rc, -1);
	assert_int_equal(f->out.kind, KUMO_RT_TRAP);
	assert_int_equal(f->out.code, KUMO_TRAP_UNINITIALIZED_ELEMENT);
	assert_string_equal(f->out.msg, "uninitialized element");
	call1(f, "call_indirect", 9, &rc);
	assert_int_equal(f->out.code, KUMO_TRAP_UNDEFINED_ELEMENT);
}

static void guard_region_fault_is_a_trap(void **state)
{
	struct fixture *f = *state;
	int rc;
	struct kumo_rt_extern mem;
	kumo_rt_export(f->fake, "memory", 6, &mem);
	mem.u.memory->m.base[65532] = 0x5a;
	assert_int_equal(call1(f, "load", 65532, &rc), 0x5a);
	assert_int_equal(rc, 0);
	/* A real SIGSEGV just past the committed page. */
	call1(f, "load", 65534, &rc);
	assert_int_equal(rc, -1);
	assert_int_equal(f->out.kind, KUMO_RT_TRAP);
	assert_int_equal(f->out.code, KUMO_TRAP_MEMORY_OOB);
	assert_string_equal(f->out.msg, "out of bounds memory access");
	/* Far away in the guard (index 0xffffffff). */
	call1(f, "load", UINT32_MAX, &rc);
	assert_int_equal(f->out.code, KUMO_TRAP_MEMORY_OOB);
	/* Growing makes it accessible; the base does not move. */
	uint8_t *base = mem.u.memory->m.base;
	assert_int_equal(call1(f, "grow", 1, &rc), 1);
	assert_ptr_equal(mem.u.memory->m.base, base);
	assert_int_equal(call1(f, "load", 65534, &rc), 0);
	assert_int_equal(rc, 0);
	/* The declared maximum is 2 pages. */
	assert_int_equal(call1(f, "grow", 1, &rc), UINT32_MAX);
	assert_int_equal(call1(f, "grow", 0, &rc), 2);
}

static void stack_exhaustion_is_a_trap(void **state)
{
	struct fixture *f = *state;
	int rc;
	call1(f, "recurse", 0, &rc);
	assert_int_equal(rc, -1);
	assert_int_equal(f->out.kind, KUMO_RT_TRAP);
	assert_int_equal(f->out.code, KUMO_TRAP_STACK_EXHAUSTED);
	assert_string_equal(f->out.msg, "call stack exhausted");
	/* The instance still works afterwards. */
	union kumo_val args[2] = {{.i32 = 40}, {.i32 = 2}}, res;
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "add", args, 2, &res, 1, &f->out), 0);
	assert_int_equal(res.i32, 42);
}

static void unreachable_trap(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "unreachable", NULL, 0, NULL, 0,
					   &f->out),
			 -1);
	assert_int_equal(f->out.code, KUMO_TRAP_UNREACHABLE);
	assert_string_equal(f->out.msg, "unreachable");
}

static void bulk_memory_bounds_before_writes(void **state)
{
	struct fixture *f = *state;
	struct kumo_rt_extern mem;
	kumo_rt_export(f->fake, "memory", 6, &mem);
	uint8_t *m = mem.u.memory->m.base;
	union kumo_val a[3] = {{.i32 = 100}, {.i32 = 0xab}, {.i32 = 4}};
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "fill", a, 3, NULL, 0, &f->out), 0);
	assert_memory_equal(m + 100, "\xab\xab\xab\xab", 4);
	a[0].i32 = 65530;
	a[2].i32 = 100;
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "fill", a, 3, NULL, 0, &f->out), -1);
	assert_int_equal(f->out.code, KUMO_TRAP_MEMORY_OOB);
	assert_int_equal(m[65530], 0); /* nothing written */

	union kumo_val d = {.i32 = 400};
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "init_passive", &d, 1, NULL, 0,
					   &f->out),
			 0);
	assert_memory_equal(m + 400, "passive", 7);
	/* Dropped: length 0 now, so copying 7 bytes traps. */
	d.i32 = 500;
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "init_passive", &d, 1, NULL, 0,
					   &f->out),
			 -1);
	assert_int_equal(f->out.code, KUMO_TRAP_MEMORY_OOB);
}

static void table_init_and_drop(void **state)
{
	struct fixture *f = *state;
	struct kumo_rt_extern tab;
	kumo_rt_export(f->fake, "table", 5, &tab);
	union kumo_val d = {.i32 = 2};
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "table_init", &d, 1, NULL, 0, &f->out),
			 0);
	assert_ptr_equal(tab.u.table->t.elems[2], &kumo_rt_instance_vmctx(f->fake)->funcrefs[3]);
	assert_null(tab.u.table->t.elems[3]);
	int rc;
	assert_int_equal(call1(f, "call_indirect", 2, &rc), 102);
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "table_init", &d, 1, NULL, 0, &f->out),
			 -1);
	assert_int_equal(f->out.code, KUMO_TRAP_TABLE_OOB);
	assert_string_equal(f->out.msg, "out of bounds table access");
	/* table.grow honours the maximum (10). */
	struct kumo_vmctx *vm = kumo_rt_instance_vmctx(f->fake);
	assert_int_equal(kumo_rt_table_grow(vm, 0, NULL, 6), 4);
	assert_int_equal(kumo_rt_table_grow(vm, 0, NULL, 1), UINT32_MAX);
	assert_int_equal(tab.u.table->t.size, 10);
}

/* Resolves imports of module "fake" from the fake instance's exports. */
struct link_ctx {
	struct kumo_rt_instance *fake;
	const char *rename_add; /* export to hand out for "add" (type mismatch test) */
};

static int resolve_fake(void *ctx, const struct kumo_module *m, uint32_t i,
			struct kumo_rt_extern *out)
{
	struct link_ctx *l = ctx;
	const struct kumo_desc_import *imp = &m->imports[i];
	if (imp->module_len != 4 || memcmp(imp->module, "fake", 4) != 0)
		return -1;
	if (l->rename_add && imp->field_len == 3 && memcmp(imp->field, "add", 3) == 0)
		return kumo_rt_export(l->fake, l->rename_add, strlen(l->rename_add), out);
	return kumo_rt_export(l->fake, imp->field, imp->field_len, out);
}

static void linking_shares_everything(void **state)
{
	struct fixture *f = *state;
	struct link_ctx l = {f->fake, NULL};
	struct kumo_rt_instance *imp;
	assert_int_equal(kumo_rt_instantiate(f->store, &fakemod_importer, resolve_fake, &l, &imp,
					     &f->out),
			 0);
	union kumo_val a = {.i32 = 5}, r;
	assert_int_equal(kumo_embed_invoke(f->store, imp, "sum", &a, 1, &r, 1, &f->out), 0);
	assert_int_equal(r.i32, 47);
	a.i32 = 10;
	assert_int_equal(kumo_embed_invoke(f->store, imp, "set_g0", &a, 1, NULL, 0, &f->out), 0);
	assert_int_equal(kumo_embed_invoke(f->store, f->fake, "get_g0", NULL, 0, &r, 1, &f->out), 0);
	assert_int_equal(r.i32, 10);
	struct kumo_rt_extern mem;
	kumo_rt_export(f->fake, "memory", 6, &mem);
	assert_memory_equal(mem.u.memory->m.base + 200, "imp", 3);
	/* The importer put its sum (type i_i) in the shared table: a mismatch for fake. */
	int rc;
	call1(f, "call_indirect", 3, &rc);
	assert_int_equal(f->out.code, KUMO_TRAP_INDIRECT_CALL_MISMATCH);
	assert_string_equal(f->out.msg, "indirect call type mismatch");
}

static void link_errors(void **state)
{
	struct fixture *f = *state;
	struct link_ctx l = {f->fake, "load"};
	struct kumo_rt_instance *inst;
	assert_int_equal(kumo_rt_instantiate(f->store, &fakemod_importer, resolve_fake, &l, &inst,
					     &f->out),
			 -1);
	assert_int_equal(f->out.kind, KUMO_RT_ERROR);
	assert_string_equal(f->out.msg, "incompatible import type `fake.add`");
	l.rename_add = "memory"; /* wrong kind */
	kumo_rt_instantiate(f->store, &fakemod_importer, resolve_fake, &l, &inst, &f->out);
	assert_string_equal(f->out.msg, "incompatible import type `fake.add`");
	assert_int_equal(kumo_rt_instantiate(f->store, &fakemod_unknown, resolve_fake, &l, &inst,
					     &f->out),
			 -1);
	assert_string_equal(f->out.msg, "unknown import `env.nothing`");
	assert_null(inst);
}

static void data_segment_trap_keeps_earlier_writes(void **state)
{
	struct fixture *f = *state;
	struct link_ctx l = {f->fake, NULL};
	struct kumo_rt_instance *inst;
	assert_int_equal(kumo_rt_instantiate(f->store, &fakemod_oob, resolve_fake, &l, &inst,
					     &f->out),
			 -1);
	assert_int_equal(f->out.kind, KUMO_RT_TRAP);
	assert_int_equal(f->out.code, KUMO_TRAP_MEMORY_OOB);
	struct kumo_rt_extern mem;
	kumo_rt_export(f->fake, "memory", 6, &mem);
	assert_memory_equal(mem.u.memory->m.base + 300, "first", 5);
	assert_int_equal(mem.u.memory->m.base[65534], 0);
}

static void memory_limit_caps_growth(void **state)
{
	(void)state;
	struct kumo_rt_outcome out;
	struct kumo_rt_store *s = kumo_rt_store_new();
	kumo_rt_store_set_memory_limit(s, 65536);
	struct kumo_rt_instance *inst;
	assert_int_equal(kumo_rt_instantiate(s, &kumo_module, NULL, NULL, &inst, &out), 0);
	assert_int_equal(kumo_rt_memory_grow(kumo_rt_instance_vmctx(inst), 1), UINT32_MAX);
	kumo_rt_store_set_memory_limit(s, 1000); /* less than the minimum: refused */
	assert_int_equal(kumo_rt_instantiate(s, &kumo_module, NULL, NULL, &inst, &out), -1);
	assert_string_equal(out.msg, "memory minimum exceeds the memory limit");
	kumo_rt_store_free(s);
}

static void canonical_type_ids(void **state)
{
	(void)state;
	const uint8_t a[] = {KUMO_T_I32, KUMO_T_I64, KUMO_T_F32};
	const uint8_t b[] = {KUMO_T_I32, KUMO_T_I64, KUMO_T_F64};
	uint32_t x = kumo_rt_type_intern(a, 2, 1, NULL);
	assert_int_not_equal(x, 0);
	assert_int_equal(kumo_rt_type_intern(a, 2, 1, NULL), x);
	assert_int_not_equal(kumo_rt_type_intern(b, 2, 1, NULL), x);
	assert_int_not_equal(kumo_rt_type_intern(a, 1, 2, NULL), x);
	uint32_t np, nr;
	assert_true(kumo_rt_type_get(x, NULL, &np, &nr, NULL));
	assert_int_equal(np, 2);
	assert_false(kumo_rt_type_get(0, NULL, NULL, NULL, NULL));
}

static void host_objects(void **state)
{
	(void)state;
	struct kumo_rt_outcome out;
	struct kumo_rt_store *s = kumo_rt_store_new();
	struct kumo_rt_memory *m = kumo_rt_memory_new(s, 1, 3, true, false, &out);
	assert_non_null(m);
	assert_int_equal(kumo_rt_memory_grow_pages(m, 2), 1);
	assert_int_equal(kumo_rt_memory_grow_pages(m, 1), UINT32_MAX);
	m->m.base[3 * 65536 - 1] = 1;
	/* Explicit bounds-check mode reserves only the maximum. */
	struct kumo_rt_memory *b = kumo_rt_memory_new(s, 0, 1, true, true, &out);
	assert_non_null(b);
	assert_true(b->bounds_checked);
	assert_int_equal(b->reserved_bytes, 65536);
	assert_null(kumo_rt_memory_new(s, 2, 1, true, false, &out));
	struct kumo_rt_table *t = kumo_rt_table_new(s, KUMO_T_EXTERNREF, 2, 0, false, (void *)8,
						    &out);
	assert_non_null(t);
	assert_ptr_equal(t->t.elems[1], (void *)8);
	assert_int_equal(kumo_rt_table_grow_elems(t, 3, NULL), 2);
	assert_int_equal(t->t.size, 5);
	assert_null(t->t.elems[4]);
	union kumo_val v = {.i64 = 77};
	struct kumo_rt_global *g = kumo_rt_global_new(s, KUMO_T_I64, false, v);
	assert_int_equal(g->cell.i64, 77);
	kumo_rt_store_free(s);
}

static void dlopen_shared_object(void **state)
{
	(void)state;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	autofree char *so = xasprintf("%s/fakemod.so", dirname(exe));
	struct kumo_loaded *l = NULL;
	kumo_error_t err = NULL;
	if (kumo_embed_load(so, &l, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
	const struct kumo_module *m = kumo_loaded_module(l);
	assert_ptr_not_equal(m, &kumo_module); /* its own copy */
	struct kumo_rt_outcome out;
	struct kumo_rt_store *s = kumo_rt_store_new();
	struct kumo_rt_instance *inst;
	assert_int_equal(kumo_rt_instantiate(s, m, kumo_wasi_resolve, s, &inst, &out), 0);
	union kumo_val a[2] = {{.i32 = 20}, {.i32 = 22}}, r;
	assert_int_equal(kumo_embed_invoke(s, inst, "add", a, 2, &r, 1, &out), 0);
	assert_int_equal(r.i32, 42);
	/* The libcalls resolved against this program: a guard fault still traps. */
	a[0].i32 = 70000;
	assert_int_equal(kumo_embed_invoke(s, inst, "load", a, 1, &r, 1, &out), -1);
	assert_int_equal(out.code, KUMO_TRAP_MEMORY_OOB);
	kumo_rt_store_free(s);
	kumo_loaded_free(l);

	assert_int_equal(kumo_embed_load("/nonexistent/x.so", &l, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "No such file"));
	kumo_error_free(&err);
	/* Not an object at all: the link step fails with a clear error. */
	assert_int_equal(kumo_embed_load("/etc/hostname", &l, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "load `/etc/hostname`"));
	kumo_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(exports_and_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(call_indirect_traps, setup, teardown),
		cmocka_unit_test_setup_teardown(guard_region_fault_is_a_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(stack_exhaustion_is_a_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(unreachable_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(bulk_memory_bounds_before_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(table_init_and_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(linking_shares_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(link_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(data_segment_trap_keeps_earlier_writes, setup,
						teardown),
		cmocka_unit_test(memory_limit_caps_growth),
		cmocka_unit_test(canonical_type_ids),
		cmocka_unit_test(host_objects),
		cmocka_unit_test(dlopen_shared_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
