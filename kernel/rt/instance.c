/* kernel/rt/instance.c - stores, canonical signatures, host objects and instantiation
 * of a compiled module from its descriptor (compiler/abi.h). */
#include "kernel/rt/rt_internal.h"

/* ---- messages ---- */

void rt_msg_init(struct rt_msg *m, char *buf, size_t cap)
{
	m->buf = buf;
	m->cap = cap;
	m->len = 0;
	if (cap)
		buf[0] = 0;
}

void rt_msg_bytes(struct rt_msg *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n && m->len + 1 < m->cap; i++) {
		char c = s[i];
		m->buf[m->len++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	if (m->cap)
		m->buf[m->len] = 0;
}

void rt_msg_str(struct rt_msg *m, const char *s)
{
	rt_msg_bytes(m, s, rt_strlen(s));
}

void rt_msg_u64(struct rt_msg *m, uint64_t v)
{
	char tmp[21];
	int i = 20;
	tmp[i] = 0;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	rt_msg_str(m, tmp + i);
}

void kumo_rt_outcome_set(struct kumo_rt_outcome *out, uint32_t kind, uint32_t code,
			 const char *msg)
{
	struct rt_msg m;
	out->kind = kind;
	out->code = code;
	rt_msg_init(&m, out->msg, sizeof(out->msg));
	rt_msg_str(&m, msg);
}

/* "<what> `module.field`" */
static int import_error(struct kumo_rt_outcome *out, const char *what,
			const struct kumo_desc_import *imp)
{
	struct rt_msg m;
	out->kind = KUMO_RT_ERROR;
	out->code = 0;
	rt_msg_init(&m, out->msg, sizeof(out->msg));
	rt_msg_str(&m, what);
	rt_msg_str(&m, " `");
	rt_msg_bytes(&m, imp->module, imp->module_len);
	rt_msg_str(&m, ".");
	rt_msg_bytes(&m, imp->field, imp->field_len);
	rt_msg_str(&m, "`");
	return -1;
}

static int error(struct kumo_rt_outcome *out, const char *msg)
{
	kumo_rt_outcome_set(out, KUMO_RT_ERROR, 0, msg);
	return -1;
}

/* ---- canonical signatures ---- */

struct rt_type {
	uint8_t *types;
	uint32_t nparams, nresults;
	kumo_array_call_t array_call;
};
static struct rt_type *rt_types;
static uint32_t rt_ntypes, rt_captypes;

uint32_t kumo_rt_type_intern(const uint8_t *types, uint32_t nparams, uint32_t nresults,
			     kumo_array_call_t array_call)
{
	uint32_t n = nparams + nresults;
	for (uint32_t i = 0; i < rt_ntypes; i++) {
		struct rt_type *t = &rt_types[i];
		if (t->nparams == nparams && t->nresults == nresults &&
		    (n == 0 || rt_memcmp(t->types, types, n) == 0)) {
			if (!t->array_call)
				t->array_call = array_call;
			return i + 1;
		}
	}
	if (rt_ntypes == rt_captypes) {
		uint32_t cap = rt_captypes ? rt_captypes * 2 : 64;
		struct rt_type *nt = kumo_plat_alloc(cap * sizeof(*nt));
		if (!nt)
			return 0;
		if (rt_types)
			rt_memcpy(nt, rt_types, rt_ntypes * sizeof(*nt));
		kumo_plat_free(rt_types);
		rt_types = nt;
		rt_captypes = cap;
	}
	uint8_t *copy = kumo_plat_alloc(n ? n : 1);
	if (!copy)
		return 0;
	if (n)
		rt_memcpy(copy, types, n);
	rt_types[rt_ntypes] = (struct rt_type){copy, nparams, nresults, array_call};
	return ++rt_ntypes;
}

bool kumo_rt_type_get(uint32_t id, const uint8_t **types, uint32_t *nparams,
		      uint32_t *nresults, kumo_array_call_t *array_call)
{
	if (id == 0 || id > rt_ntypes)
		return false;
	struct rt_type *t = &rt_types[id - 1];
	if (types)
		*types = t->types;
	if (nparams)
		*nparams = t->nparams;
	if (nresults)
		*nresults = t->nresults;
	if (array_call)
		*array_call = t->array_call;
	return true;
}

/* ---- store and host objects ---- */

struct kumo_rt_store *kumo_rt_store_new(void)
{
	return kumo_plat_alloc(sizeof(struct kumo_rt_store));
}

void kumo_rt_store_set_wasi(struct kumo_rt_store *s, struct kumo_wasi *w)
{
	s->wasi = w;
}

struct kumo_wasi *kumo_rt_store_wasi(const struct kumo_rt_store *s)
{
	return s->wasi;
}

void kumo_rt_store_set_memory_limit(struct kumo_rt_store *s, uint64_t bytes)
{
	s->mem_limit_bytes = bytes;
}

static void instance_free(struct kumo_rt_instance *inst)
{
	if (inst->elems)
		for (uint32_t i = 0; i < inst->vmctx.module->nelems; i++)
			kumo_plat_free(inst->elems[i].vals);
	kumo_plat_free(inst->elems);
	kumo_plat_free(inst->data_dropped);
	kumo_plat_free(inst->type_ids);
	kumo_plat_free(inst->funcrefs);
	kumo_plat_free(inst->globals);
	kumo_plat_free(inst->tables);
	kumo_plat_free(inst);
}

void kumo_rt_store_free(struct kumo_rt_store *s)
{
	if (!s)
		return;
	while (s->instances) {
		struct kumo_rt_instance *i = s->instances;
		s->instances = i->next;
		instance_free(i);
	}
	while (s->memories) {
		struct kumo_rt_memory *m = s->memories;
		s->memories = m->next;
		kumo_plat_mem_release(m->m.base, m->reserved_bytes);
		kumo_plat_free(m);
	}
	while (s->tables) {
		struct kumo_rt_table *t = s->tables;
		s->tables = t->next;
		kumo_plat_free(t->t.elems);
		kumo_plat_free(t);
	}
	while (s->globals) {
		struct kumo_rt_global *g = s->globals;
		s->globals = g->next;
		kumo_plat_free(g);
	}
	while (s->hostfuncs) {
		struct rt_hostfunc *h = s->hostfuncs;
		s->hostfuncs = h->next;
		kumo_plat_free(h);
	}
	kumo_plat_free(s);
}

struct kumo_funcref *kumo_rt_host_func(struct kumo_rt_store *s, void *code, const uint8_t *types,
				       uint32_t nparams, uint32_t nresults,
				       kumo_array_call_t array_call)
{
	uint32_t id = kumo_rt_type_intern(types, nparams, nresults, array_call);
	struct rt_hostfunc *h = id ? kumo_plat_alloc(sizeof(*h)) : NULL;
	if (!h)
		return NULL;
	h->ref.code = code;
	h->ref.vmctx = NULL;
	h->ref.type_id = id;
	h->next = s->hostfuncs;
	s->hostfuncs = h;
	return &h->ref;
}

/* Largest table we agree to allocate: growing past it returns -1, as when the host
 * runs out of memory. */
#define RT_TABLE_MAX_ELEMS (1u << 24)

struct kumo_rt_memory *kumo_rt_memory_new(struct kumo_rt_store *s, uint32_t min, uint32_t max,
					  bool has_max, bool bounds_checked,
					  struct kumo_rt_outcome *out)
{
	uint32_t limit = has_max ? max : KUMO_WASM_MAX_PAGES;
	if (min > KUMO_WASM_MAX_PAGES || limit > KUMO_WASM_MAX_PAGES || min > limit) {
		error(out, "memory size must be at most 65536 pages (4GiB)");
		return NULL;
	}
	uint32_t cap = limit;
	if (s->mem_limit_bytes && s->mem_limit_bytes / KUMO_WASM_PAGE_SIZE < cap)
		cap = (uint32_t)(s->mem_limit_bytes / KUMO_WASM_PAGE_SIZE);
	if (min > cap) {
		error(out, "memory minimum exceeds the memory limit");
		return NULL;
	}
	struct kumo_rt_memory *mem = kumo_plat_alloc(sizeof(*mem));
	if (!mem) {
		error(out, "out of memory allocating a linear memory");
		return NULL;
	}
	uint64_t bytes = 0;
	void *base = NULL;
	if (!bounds_checked) {
		bytes = KUMO_MEM_RESERVE_BYTES;
		base = kumo_plat_mem_reserve(bytes);
	}
	if (!base) {
		/* Explicit bounds-check mode: reserve only what the type allows. */
		bounds_checked = true;
		bytes = (uint64_t)cap * KUMO_WASM_PAGE_SIZE;
		if (bytes == 0)
			bytes = KUMO_WASM_PAGE_SIZE;
		base = kumo_plat_mem_reserve(bytes);
		while (!base && bytes > (uint64_t)min * KUMO_WASM_PAGE_SIZE &&
		       bytes > KUMO_WASM_PAGE_SIZE) {
			/* Not that much address space: settle for less, memory.grow stops there. */
			bytes /= 2;
			if (bytes < (uint64_t)min * KUMO_WASM_PAGE_SIZE)
				bytes = (uint64_t)min * KUMO_WASM_PAGE_SIZE;
			base = kumo_plat_mem_reserve(bytes);
		}
	}
	if (!base) {
		kumo_plat_free(mem);
		error(out, "cannot reserve address space for a linear memory");
		return NULL;
	}
	if (min && kumo_plat_mem_commit(base, 0, (uint64_t)min * KUMO_WASM_PAGE_SIZE) < 0) {
		kumo_plat_mem_release(base, bytes);
		kumo_plat_free(mem);
		error(out, "cannot commit the initial pages of a linear memory");
		return NULL;
	}
	mem->m.base = base;
	mem->m.bytes = (uint64_t)min * KUMO_WASM_PAGE_SIZE;
	mem->m.max_pages = limit;
	mem->reserved_bytes = bytes;
	mem->bounds_checked = bounds_checked;
	mem->has_max = has_max;
	mem->limit_pages = cap;
	mem->next = s->memories;
	s->memories = mem;
	return mem;
}

uint32_t kumo_rt_memory_grow_pages(struct kumo_rt_memory *mem, uint32_t delta)
{
	uint64_t old = mem->m.bytes / KUMO_WASM_PAGE_SIZE;
	uint64_t want = old + delta;
	if (want > mem->limit_pages || want * KUMO_WASM_PAGE_SIZE > mem->reserved_bytes)
		return UINT32_MAX;
	if (delta && kumo_plat_mem_commit(mem->m.base, mem->m.bytes,
					  want * KUMO_WASM_PAGE_SIZE) < 0)
		return UINT32_MAX;
	mem->m.bytes = want * KUMO_WASM_PAGE_SIZE;
	return (uint32_t)old;
}

struct kumo_rt_table *kumo_rt_table_new(struct kumo_rt_store *s, uint8_t elem_type, uint32_t min,
					uint32_t max, bool has_max, void *init,
					struct kumo_rt_outcome *out)
{
	if (has_max && min > max) {
		error(out, "size minimum must not be greater than maximum");
		return NULL;
	}
	if (min > RT_TABLE_MAX_ELEMS) {
		error(out, "table too large");
		return NULL;
	}
	struct kumo_rt_table *t = kumo_plat_alloc(sizeof(*t));
	void **elems = kumo_plat_alloc((min ? min : 1) * sizeof(void *));
	if (!t || !elems) {
		kumo_plat_free(t);
		kumo_plat_free(elems);
		error(out, "out of memory allocating a table");
		return NULL;
	}
	for (uint32_t i = 0; i < min; i++)
		elems[i] = init;
	t->t.elems = elems;
	t->t.size = min;
	t->t.max = has_max ? max : UINT32_MAX;
	t->t.elem_type = elem_type;
	t->has_max = has_max;
	t->next = s->tables;
	s->tables = t;
	return t;
}

uint32_t kumo_rt_table_grow_elems(struct kumo_rt_table *t, uint32_t delta, void *init)
{
	uint32_t old = t->t.size;
	uint64_t want = (uint64_t)old + delta;
	if (want > t->t.max || want > RT_TABLE_MAX_ELEMS)
		return UINT32_MAX;
	if (delta == 0)
		return old;
	void **elems = kumo_plat_alloc(want * sizeof(void *));
	if (!elems)
		return UINT32_MAX;
	if (old)
		rt_memcpy(elems, t->t.elems, old * sizeof(void *));
	for (uint64_t i = old; i < want; i++)
		elems[i] = init;
	kumo_plat_free(t->t.elems);
	t->t.elems = elems;
	t->t.size = (uint32_t)want;
	return old;
}

struct kumo_rt_global *kumo_rt_global_new(struct kumo_rt_store *s, uint8_t type, bool mutable_,
					  union kumo_val value)
{
	struct kumo_rt_global *g = kumo_plat_alloc(sizeof(*g));
	if (!g)
		return NULL;
	g->cell = value;
	g->type = type;
	g->mutable_ = mutable_;
	g->next = s->globals;
	s->globals = g;
	return g;
}

/* ---- instances ---- */

struct kumo_vmctx *kumo_rt_instance_vmctx(struct kumo_rt_instance *inst)
{
	return &inst->vmctx;
}

const struct kumo_module *kumo_rt_instance_module(const struct kumo_rt_instance *inst)
{
	return inst->vmctx.module;
}

struct kumo_rt_instance *kumo_rt_vmctx_instance(struct kumo_vmctx *vmctx)
{
	return rt_inst(vmctx);
}

struct kumo_rt_store *kumo_rt_instance_store(struct kumo_rt_instance *inst)
{
	return inst->store;
}

static union kumo_val eval_const(struct kumo_rt_instance *inst, const struct kumo_const_expr *e)
{
	union kumo_val v;
	v.v128[0] = v.v128[1] = 0;
	switch (e->kind) {
	case KUMO_CONST_I32:
	case KUMO_CONST_F32:
		v.i32 = (uint32_t)e->bits;
		break;
	case KUMO_CONST_I64:
	case KUMO_CONST_F64:
		v.bits = e->bits;
		break;
	case KUMO_CONST_V128:
		v.v128[0] = e->bits;
		v.v128[1] = e->bits_hi;
		break;
	case KUMO_CONST_REF_NULL:
		break;
	case KUMO_CONST_REF_FUNC:
		if (e->index < inst->vmctx.module->nfuncs)
			v.ref = &inst->funcrefs[e->index];
		break;
	case KUMO_CONST_GLOBAL_GET:
		if (e->index < inst->vmctx.module->nglobals)
			v = *inst->globals[e->index];
		break;
	}
	return v;
}

static bool limits_match(uint64_t have_min, bool have_has_max, uint64_t have_max,
			 const struct kumo_desc_limits *want)
{
	if (have_min < want->min)
		return false;
	if (want->has_max && (!have_has_max || have_max > want->max))
		return false;
	return true;
}

static int resolve_imports(struct kumo_rt_instance *inst, kumo_rt_resolver_t resolver, void *ctx,
			   struct kumo_rt_outcome *out)
{
	const struct kumo_module *m = inst->vmctx.module;
	uint32_t nf = 0, nt = 0, ng = 0, nm = 0;
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct kumo_desc_import *imp = &m->imports[i];
		struct kumo_rt_extern ext = {0};
		struct kumo_funcref def;
		bool found = resolver && resolver(ctx, m, i, &ext) == 0;
		if (!found && imp->kind == KUMO_EXTERN_FUNC && imp->default_code &&
		    imp->type < m->ntypes) {
			/* Linked statically against an implementation: a host function. */
			def.code = imp->default_code;
			def.vmctx = NULL;
			def.type_id = inst->type_ids[imp->type];
			ext.kind = KUMO_EXTERN_FUNC;
			ext.u.func = &def;
			found = true;
		}
		if (!found || !ext.u.func)
			return import_error(out, "unknown import", imp);
		if (ext.kind != imp->kind)
			return import_error(out, "incompatible import type", imp);
		switch (imp->kind) {
		case KUMO_EXTERN_FUNC: {
			if (nf >= m->nimported_funcs || imp->type >= m->ntypes)
				return error(out, "malformed module descriptor: function imports");
			if (ext.u.func->type_id != inst->type_ids[imp->type])
				return import_error(out, "incompatible import type", imp);
			struct kumo_funcref *f = &inst->funcrefs[nf++];
			*f = *ext.u.func;
			if (!f->vmctx)
				f->vmctx = &inst->vmctx;
			break;
		}
		case KUMO_EXTERN_TABLE: {
			struct kumo_rt_table *t = ext.u.table;
			if (nt >= m->nimported_tables)
				return error(out, "malformed module descriptor: table imports");
			if (t->t.elem_type != imp->type ||
			    !limits_match(t->t.size, t->has_max, t->t.max, &imp->limits))
				return import_error(out, "incompatible import type", imp);
			inst->tables[nt++] = &t->t;
			break;
		}
		case KUMO_EXTERN_MEMORY: {
			struct kumo_rt_memory *mem = ext.u.memory;
			if (nm >= m->nimported_memories || nm >= 1)
				return error(out, "malformed module descriptor: memory imports");
			if (!limits_match(mem->m.bytes / KUMO_WASM_PAGE_SIZE, mem->has_max,
					  mem->m.max_pages, &imp->limits))
				return import_error(out, "incompatible import type", imp);
			if (mem->bounds_checked && !(m->flags & KUMO_MODULE_BOUNDS_CHECKED))
				return import_error(out,
						    "imported memory has no guard region for",
						    imp);
			inst->vmctx.memory = &mem->m;
			inst->vmctx.mem_base = mem->m.base;
			nm++;
			break;
		}
		case KUMO_EXTERN_GLOBAL: {
			struct kumo_rt_global *g = ext.u.global;
			if (ng >= m->nimported_globals)
				return error(out, "malformed module descriptor: global imports");
			if (g->type != imp->type || g->mutable_ != !!imp->global_mutable)
				return import_error(out, "incompatible import type", imp);
			inst->globals[ng++] = &g->cell;
			break;
		}
		default:
			return import_error(out, "unknown import kind for", imp);
		}
	}
	if (nf != m->nimported_funcs || nt != m->nimported_tables ||
	    nm != m->nimported_memories || ng != m->nimported_globals)
		return error(out, "malformed module descriptor: import counts");
	return 0;
}

/* The trampoline to call f through: its own instance's (the module that made f, or
 * that imported it), so it lives exactly as long as the code it calls into; the
 * registry's first one only when f belongs to no instance. A module's code can be
 * unloaded while others with the same signatures run (the unikernel links and frees
 * objects at run time), so the registry's entry may point into a freed image. */
static kumo_array_call_t array_call_of(const struct kumo_funcref *f)
{
	if (f->vmctx && f->vmctx->runtime) {
		const struct kumo_rt_instance *inst = rt_inst(f->vmctx);
		const struct kumo_module *m = inst->vmctx.module;
		for (uint32_t k = 0; k < m->ntypes; k++)
			if (inst->type_ids[k] == f->type_id && m->types[k].array_call)
				return m->types[k].array_call;
	}
	kumo_array_call_t call = NULL;
	kumo_rt_type_get(f->type_id, NULL, NULL, NULL, &call);
	return call;
}

/* The part of instantiation that may trap: segments, then the start function. */
static void init_segments_and_start(void *arg)
{
	struct kumo_rt_instance *inst = arg;
	struct kumo_vmctx *vm = &inst->vmctx;
	const struct kumo_module *m = vm->module;

	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct kumo_desc_elem *e = &m->elems[i];
		if (e->mode == KUMO_SEG_ACTIVE) {
			union kumo_val off = eval_const(inst, &e->offset);
			kumo_rt_table_init(vm, e->table, i, off.i32, 0, e->count);
			kumo_rt_elem_drop(vm, i);
		} else if (e->mode == KUMO_SEG_DECLARATIVE) {
			kumo_rt_elem_drop(vm, i);
		}
	}
	for (uint32_t i = 0; i < m->ndatas; i++) {
		const struct kumo_desc_data *d = &m->datas[i];
		if (d->mode != KUMO_SEG_ACTIVE)
			continue;
		union kumo_val off = eval_const(inst, &d->offset);
		kumo_rt_memory_init(vm, i, off.i32, 0, d->len);
		kumo_rt_data_drop(vm, i);
	}
	if (m->start_func != KUMO_NO_START) {
		struct kumo_funcref *f = &inst->funcrefs[m->start_func];
		union kumo_val none[1];
		array_call_of(f)(f->code, f->vmctx, none);
	}
}

static void *alloc_array(size_t count, size_t size, bool *fail)
{
	bool ovf = false;
	size_t n = rt_mul(count ? count : 1, size, &ovf);
	void *p = ovf ? NULL : kumo_plat_alloc(n);
	if (!p)
		*fail = true;
	return p;
}

static int check_descriptor(const struct kumo_module *m, struct kumo_rt_outcome *out)
{
	if (m->abi_version != KUMO_ABI_VERSION)
		return error(out, "module was compiled for another runtime ABI version");
	if (m->nimported_funcs > m->nfuncs || m->nimported_tables > m->ntables ||
	    m->nimported_memories > m->nmemories || m->nimported_globals > m->nglobals ||
	    m->nmemories > 1)
		return error(out, "malformed module descriptor: counts");
	if (m->start_func != KUMO_NO_START && m->start_func >= m->nfuncs)
		return error(out, "malformed module descriptor: start function");
	for (uint32_t i = 0; i < m->nfuncs - m->nimported_funcs; i++)
		if (m->funcs[i].type >= m->ntypes)
			return error(out, "malformed module descriptor: function type");
	for (uint32_t i = 0; i < m->nelems; i++)
		if (m->elems[i].mode == KUMO_SEG_ACTIVE && m->elems[i].table >= m->ntables)
			return error(out, "malformed module descriptor: element segment");
	for (uint32_t i = 0; i < m->ndatas; i++)
		if (m->datas[i].mode == KUMO_SEG_ACTIVE && m->nmemories == 0)
			return error(out, "malformed module descriptor: data segment");
	return 0;
}

int kumo_rt_instantiate(struct kumo_rt_store *s, const struct kumo_module *m,
			kumo_rt_resolver_t resolver, void *resolver_ctx,
			struct kumo_rt_instance **instp, struct kumo_rt_outcome *out)
{
	*instp = NULL;
	out->kind = KUMO_RT_OK;
	out->msg[0] = 0;
	if (check_descriptor(m, out) < 0)
		return -1;

	struct kumo_rt_instance *inst = kumo_plat_alloc(sizeof(*inst));
	if (!inst)
		return error(out, "out of memory allocating an instance");
	inst->store = s;
	inst->next = s->instances;
	s->instances = inst;
	inst->vmctx.module = m;
	inst->vmctx.runtime = inst;
	inst->vmctx.stack_limit = kumo_plat_stack_limit();
	s->stack_limit = inst->vmctx.stack_limit;

	bool fail = false;
	inst->type_ids = alloc_array(m->ntypes, sizeof(uint32_t), &fail);
	inst->funcrefs = alloc_array(m->nfuncs, sizeof(struct kumo_funcref), &fail);
	inst->globals = alloc_array(m->nglobals, sizeof(union kumo_val *), &fail);
	inst->tables = alloc_array(m->ntables, sizeof(struct kumo_table *), &fail);
	inst->elems = alloc_array(m->nelems, sizeof(struct rt_elem), &fail);
	inst->data_dropped = alloc_array(m->ndatas, 1, &fail);
	if (fail)
		return error(out, "out of memory allocating an instance");
	inst->vmctx.funcrefs = inst->funcrefs;
	inst->vmctx.type_ids = inst->type_ids;
	inst->vmctx.globals = inst->globals;
	inst->vmctx.tables = inst->tables;

	for (uint32_t i = 0; i < m->ntypes; i++) {
		const struct kumo_desc_type *t = &m->types[i];
		inst->type_ids[i] = kumo_rt_type_intern(t->types, t->nparams, t->nresults,
							t->array_call);
		if (!inst->type_ids[i])
			return error(out, "out of memory interning a signature");
	}

	if (resolve_imports(inst, resolver, resolver_ctx, out) < 0)
		return -1;

	for (uint32_t i = m->nimported_funcs; i < m->nfuncs; i++) {
		const struct kumo_desc_func *f = &m->funcs[i - m->nimported_funcs];
		inst->funcrefs[i].code = f->code;
		inst->funcrefs[i].vmctx = &inst->vmctx;
		inst->funcrefs[i].type_id = inst->type_ids[f->type];
	}

	/* Globals in order: an initialiser may read an imported global. */
	for (uint32_t i = m->nimported_globals; i < m->nglobals; i++) {
		const struct kumo_desc_global *g = &m->globals[i - m->nimported_globals];
		union kumo_val v = eval_const(inst, &g->init);
		struct kumo_rt_global *cell = kumo_rt_global_new(s, (uint8_t)g->type,
								 g->mutable_ != 0, v);
		if (!cell)
			return error(out, "out of memory allocating a global");
		inst->globals[i] = &cell->cell;
	}

	for (uint32_t i = m->nimported_tables; i < m->ntables; i++) {
		const struct kumo_desc_table *dt = &m->tables[i - m->nimported_tables];
		struct kumo_rt_table *t = kumo_rt_table_new(s, (uint8_t)dt->elem_type,
							    dt->limits.min, dt->limits.max,
							    dt->limits.has_max != 0, NULL, out);
		if (!t)
			return -1;
		inst->tables[i] = &t->t;
	}

	if (m->nmemories > m->nimported_memories) {
		const struct kumo_desc_limits *l = &m->memories[0];
		struct kumo_rt_memory *mem =
			kumo_rt_memory_new(s, l->min, l->max, l->has_max != 0,
					   (m->flags & KUMO_MODULE_BOUNDS_CHECKED) != 0, out);
		if (!mem)
			return -1;
		if (mem->bounds_checked && !(m->flags & KUMO_MODULE_BOUNDS_CHECKED))
			return error(out, "cannot reserve the guard region for linear memory and "
					  "the module was compiled without bounds checks");
		inst->vmctx.memory = &mem->m;
		inst->vmctx.mem_base = mem->m.base;
	}

	/* Element segments become reference vectors now (their items may read globals
	 * and name functions of this instance). */
	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct kumo_desc_elem *e = &m->elems[i];
		inst->elems[i].vals = alloc_array(e->count, sizeof(void *), &fail);
		if (fail)
			return error(out, "out of memory evaluating an element segment");
		inst->elems[i].count = e->count;
		for (uint32_t j = 0; j < e->count; j++)
			inst->elems[i].vals[j] = eval_const(inst, &e->items[j]).ref;
	}

	if (kumo_plat_guarded_call(init_segments_and_start, inst, out) < 0)
		return -1;
	*instp = inst;
	return 0;
}

int kumo_rt_export(struct kumo_rt_instance *inst, const char *name, size_t len,
		   struct kumo_rt_extern *ext)
{
	const struct kumo_module *m = inst->vmctx.module;
	for (uint32_t i = 0; i < m->nexports; i++) {
		const struct kumo_desc_export *e = &m->exports[i];
		if (e->name_len != len || (len && rt_memcmp(e->name, name, len) != 0))
			continue;
		ext->kind = e->kind;
		switch (e->kind) {
		case KUMO_EXTERN_FUNC:
			if (e->index >= m->nfuncs)
				return -1;
			ext->u.func = &inst->funcrefs[e->index];
			return 0;
		case KUMO_EXTERN_TABLE:
			if (e->index >= m->ntables)
				return -1;
			ext->u.table = (struct kumo_rt_table *)inst->tables[e->index];
			return 0;
		case KUMO_EXTERN_MEMORY:
			if (!inst->vmctx.memory)
				return -1;
			ext->u.memory = (struct kumo_rt_memory *)inst->vmctx.memory;
			return 0;
		case KUMO_EXTERN_GLOBAL:
			if (e->index >= m->nglobals)
				return -1;
			ext->u.global = (struct kumo_rt_global *)inst->globals[e->index];
			return 0;
		}
		return -1;
	}
	return -1;
}

struct call_args {
	kumo_array_call_t call;
	struct kumo_funcref *f;
	union kumo_val *args;
};

static void call_thunk(void *arg)
{
	struct call_args *c = arg;
	c->call(c->f->code, c->f->vmctx, c->args);
}

int kumo_rt_call(struct kumo_rt_store *s, struct kumo_funcref *f, union kumo_val *args_results,
		 struct kumo_rt_outcome *out)
{
	struct call_args c = {NULL, f, args_results};
	out->kind = KUMO_RT_OK;
	out->msg[0] = 0;
	if (!f || !f->code)
		return error(out, "call of a null function reference");
	c.call = array_call_of(f);
	if (!c.call)
		return error(out, "no array-call trampoline for the function's signature");
	uintptr_t limit = kumo_plat_stack_limit();
	if (limit != s->stack_limit) {
		/* Called from another thread than the last one: move every limit. */
		for (struct kumo_rt_instance *i = s->instances; i; i = i->next)
			i->vmctx.stack_limit = limit;
		s->stack_limit = limit;
	}
	return kumo_plat_guarded_call(call_thunk, &c, out);
}

void kumo_rt_exit(struct kumo_vmctx *vmctx, uint32_t status)
{
	(void)vmctx;
	kumo_plat_unwind(KUMO_RT_EXIT, status);
}
