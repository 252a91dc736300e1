/* tests/spectest/spectest_exec.c - the execution half of kumo-spectest: compiles each
 * module with kumo's compiler, links it into a shared object, loads it, instantiates it
 * with the hosted runtime (kernel/rt/rt.h) and runs actions against it. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "compiler/compiler.h"
#include "kernel/rt/rt.h"
#include "tests/spectest/spectest.h"

struct named {
	char *name;
	struct kumo_rt_instance *inst;
};

struct exec {
	struct kumo_rt_store *store;
	struct kumo_rt_instance *current;
	struct named *mods;       /* modules with a $name */
	size_t nmods;
	struct named *regs;       /* `register`ed instances */
	size_t nregs;
	void **dls;
	size_t ndls;
	unsigned serial;
	char tmpdir[64];
	/* the `spectest` host module */
	struct kumo_funcref *print[7];
	struct kumo_rt_global *g_i32, *g_i64, *g_f32, *g_f64;
	struct kumo_rt_table *table;
	struct kumo_rt_memory *memory;
};

/* ---- the spectest host module: print functions do nothing visible ---- */

static void h_print(struct kumo_vmctx *v) { (void)v; }
static void h_print_i32(struct kumo_vmctx *v, uint32_t a) { (void)v; (void)a; }
static void h_print_i64(struct kumo_vmctx *v, uint64_t a) { (void)v; (void)a; }
static void h_print_f32(struct kumo_vmctx *v, float a) { (void)v; (void)a; }
static void h_print_f64(struct kumo_vmctx *v, double a) { (void)v; (void)a; }
static void h_print_i32_f32(struct kumo_vmctx *v, uint32_t a, float b) { (void)v; (void)a; (void)b; }
static void h_print_f64_f64(struct kumo_vmctx *v, double a, double b) { (void)v; (void)a; (void)b; }

static const struct {
	const char *name;
	void *code;
	uint8_t types[2];
	uint32_t nparams;
} host_funcs[7] = {
	{ "print", (void *)h_print, { 0 }, 0 },
	{ "print_i32", (void *)h_print_i32, { KUMO_T_I32 }, 1 },
	{ "print_i64", (void *)h_print_i64, { KUMO_T_I64 }, 1 },
	{ "print_f32", (void *)h_print_f32, { KUMO_T_F32 }, 1 },
	{ "print_f64", (void *)h_print_f64, { KUMO_T_F64 }, 1 },
	{ "print_i32_f32", (void *)h_print_i32_f32, { KUMO_T_I32, KUMO_T_F32 }, 2 },
	{ "print_f64_f64", (void *)h_print_f64_f64, { KUMO_T_F64, KUMO_T_F64 }, 2 },
};

static int make_host(struct exec *x)
{
	struct kumo_rt_outcome out;
	for (int i = 0; i < 7; i++)
		x->print[i] = kumo_rt_host_func(x->store, host_funcs[i].code, host_funcs[i].types,
						host_funcs[i].nparams, 0, NULL);
	union kumo_val v = { .bits = 0 };
	v.i32 = 666;
	x->g_i32 = kumo_rt_global_new(x->store, KUMO_T_I32, false, v);
	v.bits = 666;
	x->g_i64 = kumo_rt_global_new(x->store, KUMO_T_I64, false, v);
	v.bits = 0;
	v.f32 = 666.6f;
	x->g_f32 = kumo_rt_global_new(x->store, KUMO_T_F32, false, v);
	v.f64 = 666.6;
	x->g_f64 = kumo_rt_global_new(x->store, KUMO_T_F64, false, v);
	x->table = kumo_rt_table_new(x->store, KUMO_T_FUNCREF, 10, 20, true, NULL, &out);
	x->memory = kumo_rt_memory_new(x->store, 1, 2, true, false, &out);
	return x->table && x->memory ? 0 : -1;
}

static bool name_is(const char *p, uint32_t len, const char *s)
{
	return strlen(s) == len && memcmp(p, s, len) == 0;
}

static int resolve(void *ctx, const struct kumo_module *m, uint32_t index, struct kumo_rt_extern *out)
{
	struct exec *x = ctx;
	const struct kumo_desc_import *imp = &m->imports[index];
	if (name_is(imp->module, imp->module_len, "spectest")) {
		for (int i = 0; i < 7; i++) {
			if (name_is(imp->field, imp->field_len, host_funcs[i].name)) {
				out->kind = KUMO_EXTERN_FUNC;
				out->u.func = x->print[i];
				return 0;
			}
		}
		struct {
			const char *name;
			struct kumo_rt_global *g;
		} globals[] = { { "global_i32", x->g_i32 }, { "global_i64", x->g_i64 },
				{ "global_f32", x->g_f32 }, { "global_f64", x->g_f64 } };
		for (int i = 0; i < 4; i++) {
			if (name_is(imp->field, imp->field_len, globals[i].name)) {
				out->kind = KUMO_EXTERN_GLOBAL;
				out->u.global = globals[i].g;
				return 0;
			}
		}
		if (name_is(imp->field, imp->field_len, "table")) {
			out->kind = KUMO_EXTERN_TABLE;
			out->u.table = x->table;
			return 0;
		}
		if (name_is(imp->field, imp->field_len, "memory")) {
			out->kind = KUMO_EXTERN_MEMORY;
			out->u.memory = x->memory;
			return 0;
		}
		return -1;
	}
	for (size_t i = x->nregs; i-- > 0;) {
		if (name_is(imp->module, imp->module_len, x->regs[i].name))
			return kumo_rt_export(x->regs[i].inst, imp->field, imp->field_len, out);
	}
	return -1;
}

struct exec *exec_new(void)
{
	struct exec *x = xzalloc(sizeof(*x));
	snprintf(x->tmpdir, sizeof(x->tmpdir), "/tmp/kumo-spectest-XXXXXX");
	if (!mkdtemp(x->tmpdir)) {
		free(x);
		return NULL;
	}
	return x;
}

/* Starts a new .json file: a fresh store, no modules. */
int exec_begin_file(struct exec *x)
{
	x->store = kumo_rt_store_new();
	if (!x->store || make_host(x) < 0)
		return -1;
	return 0;
}

void exec_end_file(struct exec *x)
{
	kumo_rt_store_free(x->store);
	x->store = NULL;
	x->current = NULL;
	for (size_t i = 0; i < x->nmods; i++)
		free(x->mods[i].name);
	for (size_t i = 0; i < x->nregs; i++)
		free(x->regs[i].name);
	free(x->mods);
	free(x->regs);
	x->mods = x->regs = NULL;
	x->nmods = x->nregs = 0;
	for (size_t i = 0; i < x->ndls; i++)
		dlclose(x->dls[i]);
	free(x->dls);
	x->dls = NULL;
	x->ndls = 0;
}

void exec_free(struct exec *x)
{
	if (!x)
		return;
	if (x->store)
		exec_end_file(x);
	rmdir(x->tmpdir);
	free(x);
}

static int run_cmd(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Compiles, links and loads a module; returns its descriptor or NULL with why. */
static const struct kumo_module *load_module(struct exec *x, const char *path, char *why,
					     size_t whylen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 256u << 20, &buf, &len, &err) < 0) {
		snprintf(why, whylen, "%s", kumo_error_msg(err));
		kumo_error_free(&err);
		return NULL;
	}
	char obj[128], so[128];
	unsigned n = x->serial++;
	snprintf(obj, sizeof(obj), "%s/m%u.o", x->tmpdir, n);
	snprintf(so, sizeof(so), "%s/m%u.so", x->tmpdir, n);
	/* Recreated if something (a /tmp cleaner) removed it meanwhile. */
	mkdir(x->tmpdir, 0700);
	/* KUMO_SPECTEST_CPU=x86-64 runs the suite on code for the SSE2-only baseline (the
	 * longer SIMD lowerings), =x86-64-v3 on AVX2 code, and so on. */
	struct kumo_compile_options opts = { .opt_level = 2, .cpu = getenv("KUMO_SPECTEST_CPU") };
	int rc = kumo_compile_file(buf, len, &opts, obj, NULL, &err);
	free(buf);
	if (rc < 0) {
		snprintf(why, whylen, "compile: %s", kumo_error_msg(err));
		kumo_error_free(&err);
		return NULL;
	}
	char *ld[] = { "ld", "-shared", "-Bsymbolic", "-o", so, obj, NULL };
	rc = run_cmd(ld);
	unlink(obj);
	if (rc < 0) {
		snprintf(why, whylen, "ld -shared failed");
		unlink(so);
		return NULL;
	}
	void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	unlink(so);
	if (!dl) {
		snprintf(why, whylen, "dlopen: %s", dlerror());
		return NULL;
	}
	x->dls = xrealloc(x->dls, (x->ndls + 1) * sizeof(*x->dls));
	x->dls[x->ndls++] = dl;
	const struct kumo_module *m = dlsym(dl, KUMO_SYM_MODULE);
	if (!m)
		snprintf(why, whylen, "no %s symbol", KUMO_SYM_MODULE);
	return m;
}

int exec_module(struct exec *x, const char *path, const char *name, struct exec_result *res)
{
	memset(res, 0, sizeof(*res));
	const struct kumo_module *m = load_module(x, path, res->msg, sizeof(res->msg));
	if (!m) {
		res->kind = EXEC_LOAD_FAILED;
		return -1;
	}
	struct kumo_rt_instance *inst = NULL;
	struct kumo_rt_outcome out;
	if (kumo_rt_instantiate(x->store, m, resolve, x, &inst, &out) < 0) {
		res->kind = out.kind == KUMO_RT_TRAP ? EXEC_TRAP : EXEC_ERROR;
		snprintf(res->msg, sizeof(res->msg), "%s", out.msg);
		return -1;
	}
	x->current = inst;
	if (name) {
		x->mods = xrealloc(x->mods, (x->nmods + 1) * sizeof(*x->mods));
		x->mods[x->nmods++] = (struct named){ xstrdup(name), inst };
	}
	res->kind = EXEC_OK;
	return 0;
}

static struct kumo_rt_instance *find_instance(struct exec *x, const char *name)
{
	if (!name)
		return x->current;
	for (size_t i = x->nmods; i-- > 0;)
		if (strcmp(x->mods[i].name, name) == 0)
			return x->mods[i].inst;
	return NULL;
}

int exec_register(struct exec *x, const char *as, const char *name)
{
	struct kumo_rt_instance *inst = find_instance(x, name);
	if (!inst)
		return -1;
	x->regs = xrealloc(x->regs, (x->nregs + 1) * sizeof(*x->regs));
	x->regs[x->nregs++] = (struct named){ xstrdup(as), inst };
	return 0;
}

int exec_invoke(struct exec *x, const char *module, const char *field, size_t field_len,
		const struct exec_value *args, uint32_t nargs, struct exec_result *res)
{
	memset(res, 0, sizeof(*res));
	struct kumo_rt_instance *inst = find_instance(x, module);
	if (!inst) {
		res->kind = EXEC_ERROR;
		snprintf(res->msg, sizeof(res->msg), "no module instance");
		return -1;
	}
	struct kumo_rt_extern ext;
	if (kumo_rt_export(inst, field, field_len, &ext) < 0 || ext.kind != KUMO_EXTERN_FUNC) {
		res->kind = EXEC_ERROR;
		snprintf(res->msg, sizeof(res->msg), "no exported function `%s`", field);
		return -1;
	}
	const uint8_t *types;
	uint32_t np, nr;
	if (!kumo_rt_type_get(ext.u.func->type_id, &types, &np, &nr, NULL) || np != nargs ||
	    nr > EXEC_MAX_VALUES || np > EXEC_MAX_VALUES) {
		res->kind = EXEC_ERROR;
		snprintf(res->msg, sizeof(res->msg), "bad signature for `%s`", field);
		return -1;
	}
	union kumo_val cells[EXEC_MAX_VALUES];
	memset(cells, 0, sizeof(cells));
	for (uint32_t i = 0; i < np; i++) {
		cells[i].v128[0] = args[i].bits;
		cells[i].v128[1] = args[i].hi;
	}
	struct kumo_rt_outcome out;
	if (kumo_rt_call(x->store, ext.u.func, cells, &out) < 0) {
		res->kind = out.kind == KUMO_RT_TRAP ? EXEC_TRAP : EXEC_ERROR;
		snprintf(res->msg, sizeof(res->msg), "%s", out.msg[0] ? out.msg : kumo_trap_message(out.code));
		return -1;
	}
	res->kind = EXEC_OK;
	res->nvalues = nr;
	for (uint32_t i = 0; i < nr; i++) {
		res->values[i].type = types[np + i];
		res->values[i].bits = cells[i].bits;
		res->values[i].hi = types[np + i] == KUMO_T_V128 ? cells[i].v128[1] : 0;
		if (types[np + i] == KUMO_T_F32 || types[np + i] == KUMO_T_I32)
			res->values[i].bits &= 0xffffffffu;
	}
	return 0;
}

int exec_get(struct exec *x, const char *module, const char *field, size_t field_len,
	     struct exec_result *res)
{
	memset(res, 0, sizeof(*res));
	struct kumo_rt_instance *inst = find_instance(x, module);
	struct kumo_rt_extern ext;
	if (!inst || kumo_rt_export(inst, field, field_len, &ext) < 0 ||
	    ext.kind != KUMO_EXTERN_GLOBAL) {
		res->kind = EXEC_ERROR;
		snprintf(res->msg, sizeof(res->msg), "no exported global `%s`", field);
		return -1;
	}
	res->kind = EXEC_OK;
	res->nvalues = 1;
	res->values[0].type = ext.u.global->type;
	res->values[0].bits = ext.u.global->cell.bits;
	res->values[0].hi = ext.u.global->type == KUMO_T_V128 ? ext.u.global->cell.v128[1] : 0;
	if (ext.u.global->type == KUMO_T_F32 || ext.u.global->type == KUMO_T_I32)
		res->values[0].bits &= 0xffffffffu;
	return 0;
}
