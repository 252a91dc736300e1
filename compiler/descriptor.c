/* compiler/descriptor.c - emits the `struct kumo_module` descriptor (abi.h), one
 * array-call trampoline per function type, and the exported function symbols. */
#include <string.h>

#include <llvm-c/Target.h>

#include "compiler/emit.h"

/* LLVM mirrors of the descriptor structs (literal struct types, uniqued by LLVM). */
struct desc_types {
	LLVMTypeRef limits, cexpr, type, import, func, table, global, export_, elem, data, module;
};

static void desc_types_init(LLVMContextRef ctx, struct desc_types *d)
{
	LLVMTypeRef P = LLVMPointerTypeInContext(ctx, 0), I = LLVMInt32TypeInContext(ctx),
		    L = LLVMInt64TypeInContext(ctx);
	LLVMTypeRef limits[] = {I, I, I};
	d->limits = LLVMStructTypeInContext(ctx, limits, 3, 0);
	LLVMTypeRef cexpr[] = {I, I, L, L};
	d->cexpr = LLVMStructTypeInContext(ctx, cexpr, 4, 0);
	LLVMTypeRef type[] = {I, I, P, P, P};
	d->type = LLVMStructTypeInContext(ctx, type, 5, 0);
	LLVMTypeRef import[] = {P, P, I, I, I, I, I, d->limits, P};
	d->import = LLVMStructTypeInContext(ctx, import, 9, 0);
	LLVMTypeRef func[] = {P, I, I};
	d->func = LLVMStructTypeInContext(ctx, func, 3, 0);
	LLVMTypeRef table[] = {I, d->limits};
	d->table = LLVMStructTypeInContext(ctx, table, 2, 0);
	LLVMTypeRef global[] = {I, I, d->cexpr};
	d->global = LLVMStructTypeInContext(ctx, global, 3, 0);
	LLVMTypeRef export_[] = {P, I, I, I, I};
	d->export_ = LLVMStructTypeInContext(ctx, export_, 5, 0);
	LLVMTypeRef elem[] = {I, I, I, I, d->cexpr, P};
	d->elem = LLVMStructTypeInContext(ctx, elem, 6, 0);
	LLVMTypeRef data[] = {I, I, d->cexpr, I, I, P};
	d->data = LLVMStructTypeInContext(ctx, data, 6, 0);
	LLVMTypeRef module[] = {I, I, P, P, I, I, P, P, I, I, P, I, I, P,
				I, I, P, I, I, P, I, I, P, I, I, P, P};
	d->module = LLVMStructTypeInContext(ctx, module, 27, 0);
}

struct layout_check {
	const char *name;
	size_t size;
	unsigned n;
	size_t offsets[27];
};

int descriptor_check_layout(LLVMTargetDataRef td, kumo_error_t *err)
{
	LLVMContextRef ctx = LLVMContextCreate();
	struct desc_types d;
	desc_types_init(ctx, &d);
#define OFF(s, f) offsetof(struct s, f)
	const struct layout_check checks[] = {
		{"kumo_desc_limits", sizeof(struct kumo_desc_limits), 3,
		 {OFF(kumo_desc_limits, min), OFF(kumo_desc_limits, max), OFF(kumo_desc_limits, has_max)}},
		{"kumo_const_expr", sizeof(struct kumo_const_expr), 4,
		 {OFF(kumo_const_expr, kind), OFF(kumo_const_expr, index), OFF(kumo_const_expr, bits),
		  OFF(kumo_const_expr, bits_hi)}},
		{"kumo_desc_type", sizeof(struct kumo_desc_type), 5,
		 {OFF(kumo_desc_type, nparams), OFF(kumo_desc_type, nresults), OFF(kumo_desc_type, types),
		  OFF(kumo_desc_type, array_call), OFF(kumo_desc_type, sig)}},
		{"kumo_desc_import", sizeof(struct kumo_desc_import), 9,
		 {OFF(kumo_desc_import, module), OFF(kumo_desc_import, field),
		  OFF(kumo_desc_import, module_len), OFF(kumo_desc_import, field_len),
		  OFF(kumo_desc_import, kind), OFF(kumo_desc_import, type),
		  OFF(kumo_desc_import, global_mutable), OFF(kumo_desc_import, limits),
		  OFF(kumo_desc_import, default_code)}},
		{"kumo_desc_func", sizeof(struct kumo_desc_func), 3,
		 {OFF(kumo_desc_func, code), OFF(kumo_desc_func, type), OFF(kumo_desc_func, reserved)}},
		{"kumo_desc_table", sizeof(struct kumo_desc_table), 2,
		 {OFF(kumo_desc_table, elem_type), OFF(kumo_desc_table, limits)}},
		{"kumo_desc_global", sizeof(struct kumo_desc_global), 3,
		 {OFF(kumo_desc_global, type), OFF(kumo_desc_global, mutable_), OFF(kumo_desc_global, init)}},
		{"kumo_desc_export", sizeof(struct kumo_desc_export), 5,
		 {OFF(kumo_desc_export, name), OFF(kumo_desc_export, name_len), OFF(kumo_desc_export, kind),
		  OFF(kumo_desc_export, index), OFF(kumo_desc_export, reserved)}},
		{"kumo_desc_elem", sizeof(struct kumo_desc_elem), 6,
		 {OFF(kumo_desc_elem, mode), OFF(kumo_desc_elem, elem_type), OFF(kumo_desc_elem, table),
		  OFF(kumo_desc_elem, count), OFF(kumo_desc_elem, offset), OFF(kumo_desc_elem, items)}},
		{"kumo_desc_data", sizeof(struct kumo_desc_data), 6,
		 {OFF(kumo_desc_data, mode), OFF(kumo_desc_data, memory), OFF(kumo_desc_data, offset),
		  OFF(kumo_desc_data, len), OFF(kumo_desc_data, reserved), OFF(kumo_desc_data, bytes)}},
		{"kumo_module", sizeof(struct kumo_module), 27,
		 {OFF(kumo_module, abi_version), OFF(kumo_module, flags), OFF(kumo_module, compiler_id),
		  OFF(kumo_module, cpu), OFF(kumo_module, ntypes), OFF(kumo_module, nimports),
		  OFF(kumo_module, types), OFF(kumo_module, imports), OFF(kumo_module, nfuncs),
		  OFF(kumo_module, nimported_funcs), OFF(kumo_module, funcs), OFF(kumo_module, ntables),
		  OFF(kumo_module, nimported_tables), OFF(kumo_module, tables),
		  OFF(kumo_module, nmemories), OFF(kumo_module, nimported_memories),
		  OFF(kumo_module, memories), OFF(kumo_module, nglobals),
		  OFF(kumo_module, nimported_globals), OFF(kumo_module, globals),
		  OFF(kumo_module, nexports), OFF(kumo_module, start_func), OFF(kumo_module, exports),
		  OFF(kumo_module, nelems), OFF(kumo_module, ndatas), OFF(kumo_module, elems),
		  OFF(kumo_module, datas)}},
	};
#undef OFF
	const LLVMTypeRef types[] = {d.limits, d.cexpr, d.type, d.import, d.func, d.table,
				     d.global, d.export_, d.elem, d.data, d.module};
	int ret = 0;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]) && ret == 0; i++) {
		const struct layout_check *c = &checks[i];
		if (LLVMCountStructElementTypes(types[i]) != c->n ||
		    LLVMABISizeOfType(td, types[i]) != c->size) {
			ret = kumo_error(err, KUMO_E_INTERNAL, "descriptor layout of `%s` differs from abi.h",
					 c->name);
			break;
		}
		for (unsigned k = 0; k < c->n; k++)
			if (LLVMOffsetOfElement(td, types[i], k) != c->offsets[k]) {
				ret = kumo_error(err, KUMO_E_INTERNAL,
						 "descriptor field %u of `%s` is at %llu, abi.h says %zu",
						 k, c->name,
						 (unsigned long long)LLVMOffsetOfElement(td, types[i], k),
						 c->offsets[k]);
				break;
			}
	}
	LLVMContextDispose(ctx);
	return ret;
}

/* ------------------------------------------------------------------------- */

struct desc {
	struct emit_module *em;
	struct desc_types t;
	unsigned nstr;
};

static LLVMValueRef u32c(struct desc *d, uint64_t v)
{
	return LLVMConstInt(d->em->t_i32, v, 0);
}

static LLVMValueRef nullp(struct desc *d)
{
	return LLVMConstPointerNull(d->em->t_ptr);
}

static LLVMValueRef private_const(struct desc *d, LLVMValueRef init, const char *prefix)
{
	char name[48];
	snprintf(name, sizeof(name), "kumo.%s.%u", prefix, d->nstr++);
	LLVMValueRef g = LLVMAddGlobal(d->em->mod, LLVMTypeOf(init), name);
	LLVMSetInitializer(g, init);
	LLVMSetGlobalConstant(g, 1);
	LLVMSetLinkage(g, LLVMPrivateLinkage);
	LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
	return g;
}

/* Bytes (NUL-terminated when nul) as a private constant. */
static LLVMValueRef bytes_const(struct desc *d, const void *p, size_t len, bool nul)
{
	if (!len && !nul)
		return nullp(d);
	LLVMValueRef s = LLVMConstStringInContext2(d->em->ctx, p ? (const char *)p : "", len, !nul);
	return private_const(d, s, "str");
}

static LLVMValueRef array_const(struct desc *d, LLVMTypeRef elt, LLVMValueRef *vals, size_t n,
				const char *prefix)
{
	if (!n)
		return nullp(d);
	return private_const(d, LLVMConstArray2(elt, vals, n), prefix);
}

static LLVMValueRef cexpr_const(struct desc *d, const struct wasm_constexpr *c)
{
	LLVMValueRef v[4] = {u32c(d, c->kind), u32c(d, c->index),
			     LLVMConstInt(d->em->t_i64, c->bits, 0),
			     LLVMConstInt(d->em->t_i64, c->bits_hi, 0)};
	return LLVMConstStructInContext(d->em->ctx, v, 4, 0);
}

static LLVMValueRef limits_const(struct desc *d, const struct wasm_limits *l)
{
	LLVMValueRef v[3] = {u32c(d, (uint32_t)l->min), u32c(d, l->has_max ? (uint32_t)l->max : 0),
			     u32c(d, l->has_max)};
	return LLVMConstStructInContext(d->em->ctx, v, 3, 0);
}

static LLVMValueRef st(struct desc *d, LLVMValueRef *v, unsigned n)
{
	return LLVMConstStructInContext(d->em->ctx, v, n, 0);
}

/* void tramp(void *code, vmctx *, union kumo_val *args_results) */
static LLVMValueRef trampoline(struct emit_module *em, uint32_t typeidx)
{
	const struct wasm_functype *ft = &em->m->types[typeidx];
	LLVMTypeRef params[3] = {em->t_ptr, em->t_ptr, em->t_ptr};
	LLVMTypeRef tty = LLVMFunctionType(em->t_void, params, 3, 0);
	char name[40];
	snprintf(name, sizeof(name), "kumo_tramp_%u", typeidx);
	LLVMValueRef fn = LLVMAddFunction(em->mod, name, tty);
	LLVMSetLinkage(fn, LLVMInternalLinkage);
	emit_fn_attrs(em, fn);
	LLVMBuilderRef b = LLVMCreateBuilderInContext(em->ctx);
	LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(em->ctx, fn, "entry"));
	LLVMValueRef code = LLVMGetParam(fn, 0), vmctx = LLVMGetParam(fn, 1),
		     cells = LLVMGetParam(fn, 2);
	uint32_t extra = ft->nresults >= 2 ? 2 : 1;
	uint32_t nargs = ft->nparams + extra;
	LLVMValueRef *args = xmalloc(nargs * sizeof(*args));
	args[0] = vmctx;
	if (extra == 2)
		args[1] = cells; /* the callee stores its results over the consumed params */
	for (uint32_t i = 0; i < ft->nparams; i++) {
		LLVMValueRef cell = emit_cell_at(em, b, cells, i);
		args[extra + i] = emit_load_cell(em, b, cell, ft->params[i]);
	}
	LLVMValueRef r = LLVMBuildCall2(b, em->fn_types[typeidx], code, args, nargs, "");
	if (ft->nresults == 1)
		emit_store_cell(em, b, cells, r, ft->results[0]);
	LLVMBuildRetVoid(b);
	LLVMDisposeBuilder(b);
	free(args);
	return fn;
}

/* An exported import: a global symbol that forwards through the funcref slot. */
static LLVMValueRef forwarder(struct emit_module *em, uint32_t funcidx, const char *name)
{
	const struct wasm_functype *ft = wasm_func_type(em->m, funcidx);
	LLVMTypeRef fty = em->fn_types[em->m->funcs[funcidx].type_idx];
	LLVMValueRef fn = LLVMAddFunction(em->mod, name, fty);
	emit_fn_attrs(em, fn);
	LLVMBuilderRef b = LLVMCreateBuilderInContext(em->ctx);
	LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(em->ctx, fn, "entry"));
	unsigned n = LLVMCountParams(fn);
	LLVMValueRef *args = xmalloc(n * sizeof(*args));
	LLVMValueRef vmctx = LLVMGetParam(fn, 0);
	LLVMValueRef funcrefs = LLVMBuildLoad2(b, em->t_ptr, LLVMBuildInBoundsGEP2(b, em->t_i8, vmctx,
		(LLVMValueRef[]){LLVMConstInt(em->t_i64, offsetof(struct kumo_vmctx, funcrefs), 0)}, 1, ""), "");
	LLVMValueRef ref = LLVMBuildInBoundsGEP2(b, em->t_i8, funcrefs,
		(LLVMValueRef[]){LLVMConstInt(em->t_i64, (uint64_t)funcidx * sizeof(struct kumo_funcref), 0)},
		1, "");
	LLVMValueRef code = LLVMBuildLoad2(b, em->t_ptr, ref, "");
	LLVMValueRef ctx = LLVMBuildLoad2(b, em->t_ptr, LLVMBuildInBoundsGEP2(b, em->t_i8, ref,
		(LLVMValueRef[]){LLVMConstInt(em->t_i64, offsetof(struct kumo_funcref, vmctx), 0)}, 1, ""), "");
	args[0] = ctx;
	for (unsigned i = 1; i < n; i++)
		args[i] = LLVMGetParam(fn, i);
	LLVMValueRef r = LLVMBuildCall2(b, fty, code, args, n, "");
	if (ft->nresults == 1)
		LLVMBuildRet(b, r);
	else
		LLVMBuildRetVoid(b);
	LLVMDisposeBuilder(b);
	free(args);
	return fn;
}

int emit_descriptor(struct emit_module *em, kumo_error_t *err)
{
	const struct wasm_module *m = em->m;
	struct desc dd = {.em = em}, *d = &dd;
	desc_types_init(em->ctx, &d->t);
	LLVMTypeRef cexpr_t = d->t.cexpr;

	/* Types and their trampolines. */
	LLVMValueRef *types = xmalloc((m->ntypes + 1) * sizeof(LLVMValueRef));
	for (uint32_t i = 0; i < m->ntypes; i++) {
		const struct wasm_functype *ft = &m->types[i];
		uint8_t *codes = xmalloc((size_t)ft->nparams + ft->nresults + 1);
		memcpy(codes, ft->params, ft->nparams);
		memcpy(codes + ft->nparams, ft->results, ft->nresults);
		char *sig = emit_sig(ft);
		LLVMValueRef v[5] = {u32c(d, ft->nparams), u32c(d, ft->nresults),
				     bytes_const(d, codes, (size_t)ft->nparams + ft->nresults, false),
				     trampoline(em, i), bytes_const(d, sig, strlen(sig), true)};
		types[i] = st(d, v, 5);
		free(codes);
		free(sig);
	}

	/* Imports. */
	LLVMValueRef *imports = xmalloc((m->nimports + 1) * sizeof(LLVMValueRef));
	uint32_t nfunc_imports = 0;
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct wasm_import *im = &m->imports[i];
		LLVMValueRef def = nullp(d);
		uint32_t type = 0;
		struct wasm_limits lim = {0};
		switch (im->kind) {
		case KUMO_EXTERN_FUNC: {
			type = im->type_idx;
			char *sig = emit_sig(&m->types[im->type_idx]);
			char *sym = kumo_import_symbol(im->module.ptr, im->module.len, im->field.ptr,
						       im->field.len, sig);
			LLVMValueRef fn = LLVMGetNamedFunction(em->mod, sym);
			if (!fn) {
				fn = LLVMAddFunction(em->mod, sym, em->fn_types[im->type_idx]);
				LLVMSetLinkage(fn, LLVMExternalWeakLinkage);
			}
			def = fn;
			free(sig);
			free(sym);
			nfunc_imports++;
			break;
		}
		case KUMO_EXTERN_TABLE:
			type = im->table.elem_type;
			lim = im->table.limits;
			break;
		case KUMO_EXTERN_MEMORY:
			lim = im->memory;
			break;
		case KUMO_EXTERN_GLOBAL:
			type = im->global.type;
			break;
		}
		LLVMValueRef v[9] = {bytes_const(d, im->module.ptr, im->module.len, true),
				     bytes_const(d, im->field.ptr, im->field.len, true),
				     u32c(d, im->module.len), u32c(d, im->field.len), u32c(d, im->kind),
				     u32c(d, type), u32c(d, im->kind == KUMO_EXTERN_GLOBAL && im->global.mutable_),
				     limits_const(d, &lim), def};
		imports[i] = st(d, v, 9);
	}

	/* Defined functions. */
	uint32_t ndef = m->nfuncs - m->nimported_funcs;
	LLVMValueRef *funcs = xmalloc((ndef + 1) * sizeof(LLVMValueRef));
	for (uint32_t i = 0; i < ndef; i++) {
		uint32_t idx = m->nimported_funcs + i;
		LLVMValueRef v[3] = {em->funcs[idx], u32c(d, m->funcs[idx].type_idx), u32c(d, 0)};
		funcs[i] = st(d, v, 3);
	}

	uint32_t ndt = m->ntables - m->nimported_tables;
	LLVMValueRef *tables = xmalloc((ndt + 1) * sizeof(LLVMValueRef));
	for (uint32_t i = 0; i < ndt; i++) {
		const struct wasm_tabletype *tt = &m->tables[m->nimported_tables + i];
		LLVMValueRef v[2] = {u32c(d, tt->elem_type), limits_const(d, &tt->limits)};
		tables[i] = st(d, v, 2);
	}

	uint32_t ndm = m->nmemories - m->nimported_memories;
	LLVMValueRef *mems = xmalloc((ndm + 1) * sizeof(LLVMValueRef));
	for (uint32_t i = 0; i < ndm; i++)
		mems[i] = limits_const(d, &m->memories[m->nimported_memories + i]);

	uint32_t ndg = m->nglobals - m->nimported_globals;
	LLVMValueRef *globals = xmalloc((ndg + 1) * sizeof(LLVMValueRef));
	for (uint32_t i = 0; i < ndg; i++) {
		const struct wasm_global *g = &m->globals[m->nimported_globals + i];
		LLVMValueRef v[3] = {u32c(d, g->type.type), u32c(d, g->type.mutable_),
				     cexpr_const(d, &g->init)};
		globals[i] = st(d, v, 3);
	}

	/* Exports, and a global symbol per exported function. */
	LLVMValueRef *exports = xmalloc((m->nexports + 1) * sizeof(LLVMValueRef));
	for (uint32_t i = 0; i < m->nexports; i++) {
		const struct wasm_export *ex = &m->exports[i];
		LLVMValueRef v[5] = {bytes_const(d, ex->name.ptr, ex->name.len, true),
				     u32c(d, ex->name.len), u32c(d, ex->kind), u32c(d, ex->index),
				     u32c(d, 0)};
		exports[i] = st(d, v, 5);
		if (ex->kind != KUMO_EXTERN_FUNC || ex->index >= m->nfuncs)
			continue;
		char *sym = emit_export_symbol(ex->name.ptr, ex->name.len);
		if (ex->index >= m->nimported_funcs) {
			LLVMValueRef a = LLVMAddAlias2(em->mod, em->fn_types[m->funcs[ex->index].type_idx],
						       0, em->funcs[ex->index], sym);
			LLVMSetLinkage(a, LLVMExternalLinkage);
		} else {
			forwarder(em, ex->index, sym);
		}
		free(sym);
	}

	LLVMValueRef *elems = xmalloc((m->nelems + 1) * sizeof(LLVMValueRef));
	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct wasm_elem *e = &m->elems[i];
		LLVMValueRef *items = xmalloc(((size_t)e->count + 1) * sizeof(LLVMValueRef));
		for (uint32_t k = 0; k < e->count; k++)
			items[k] = cexpr_const(d, &e->items[k]);
		LLVMValueRef v[6] = {u32c(d, e->mode), u32c(d, e->elem_type), u32c(d, e->table),
				     u32c(d, e->count), cexpr_const(d, &e->offset),
				     array_const(d, cexpr_t, items, e->count, "elem")};
		elems[i] = st(d, v, 6);
		free(items);
	}

	LLVMValueRef *datas = xmalloc((m->ndatas + 1) * sizeof(LLVMValueRef));
	for (uint32_t i = 0; i < m->ndatas; i++) {
		const struct wasm_data *s = &m->datas[i];
		LLVMValueRef v[6] = {u32c(d, s->mode), u32c(d, s->memory), cexpr_const(d, &s->offset),
				     u32c(d, s->len), u32c(d, 0), bytes_const(d, s->bytes, s->len, false)};
		datas[i] = st(d, v, 6);
	}

	const char *cpu = em->opts && em->opts->cpu ? em->opts->cpu : KUMO_DEFAULT_CPU;
	LLVMValueRef mv[27] = {
		u32c(d, KUMO_ABI_VERSION),
		u32c(d, em->bounds_checks ? KUMO_MODULE_BOUNDS_CHECKED : 0),
		bytes_const(d, kumo_compiler_id(), strlen(kumo_compiler_id()), true),
		bytes_const(d, cpu, strlen(cpu), true),
		u32c(d, m->ntypes), u32c(d, m->nimports),
		array_const(d, d->t.type, types, m->ntypes, "types"),
		array_const(d, d->t.import, imports, m->nimports, "imports"),
		u32c(d, m->nfuncs), u32c(d, m->nimported_funcs),
		array_const(d, d->t.func, funcs, ndef, "funcs"),
		u32c(d, m->ntables), u32c(d, m->nimported_tables),
		array_const(d, d->t.table, tables, ndt, "tables"),
		u32c(d, m->nmemories), u32c(d, m->nimported_memories),
		array_const(d, d->t.limits, mems, ndm, "memories"),
		u32c(d, m->nglobals), u32c(d, m->nimported_globals),
		array_const(d, d->t.global, globals, ndg, "globals"),
		u32c(d, m->nexports), u32c(d, m->has_start ? m->start : KUMO_NO_START),
		array_const(d, d->t.export_, exports, m->nexports, "exports"),
		u32c(d, m->nelems), u32c(d, m->ndatas),
		array_const(d, d->t.elem, elems, m->nelems, "elems"),
		array_const(d, d->t.data, datas, m->ndatas, "datas"),
	};
	LLVMValueRef desc = LLVMAddGlobal(em->mod, d->t.module, KUMO_SYM_MODULE);
	LLVMSetInitializer(desc, st(d, mv, 27));
	LLVMSetGlobalConstant(desc, 1);
	LLVMSetAlignment(desc, 8);

	free(types);
	free(imports);
	free(funcs);
	free(tables);
	free(mems);
	free(globals);
	free(exports);
	free(elems);
	free(datas);
	(void)nfunc_imports;
	(void)err;
	return 0;
}
