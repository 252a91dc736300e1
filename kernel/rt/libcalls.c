/* kernel/rt/libcalls.c - the runtime entry points generated code calls (abi.h):
 * traps, memory.grow/init/copy/fill, data.drop, table.* and elem.drop. Every bounds
 * check happens before any write, as the spec requires. */
#include "kernel/rt/rt_internal.h"

void kumo_trap(struct kumo_vmctx *vmctx, uint32_t code)
{
	(void)vmctx;
	kumo_plat_unwind(KUMO_RT_TRAP, code);
}

/* True when [off, off+n) fits in size (64-bit arithmetic: no overflow). */
static inline bool in_bounds(uint64_t off, uint64_t n, uint64_t size)
{
	return off + n <= size;
}

uint32_t kumo_rt_memory_grow(struct kumo_vmctx *vmctx, uint32_t delta_pages)
{
	if (!vmctx->memory)
		return UINT32_MAX;
	return kumo_rt_memory_grow_pages((struct kumo_rt_memory *)vmctx->memory, delta_pages);
}

void kumo_rt_memory_init(struct kumo_vmctx *vmctx, uint32_t seg, uint32_t dst, uint32_t src,
			 uint32_t n)
{
	struct kumo_rt_instance *inst = rt_inst(vmctx);
	const struct kumo_module *m = vmctx->module;
	if (seg >= m->ndatas || !vmctx->memory)
		kumo_trap(vmctx, KUMO_TRAP_MEMORY_OOB);
	uint64_t len = inst->data_dropped[seg] ? 0 : m->datas[seg].len;
	if (!in_bounds(src, n, len) || !in_bounds(dst, n, vmctx->memory->bytes))
		kumo_trap(vmctx, KUMO_TRAP_MEMORY_OOB);
	if (n)
		rt_memcpy(vmctx->memory->base + dst, m->datas[seg].bytes + src, n);
}

void kumo_rt_data_drop(struct kumo_vmctx *vmctx, uint32_t seg)
{
	if (seg < vmctx->module->ndatas)
		rt_inst(vmctx)->data_dropped[seg] = 1;
}

void kumo_rt_memory_copy(struct kumo_vmctx *vmctx, uint32_t dst, uint32_t src, uint32_t n)
{
	uint64_t size = vmctx->memory ? vmctx->memory->bytes : 0;
	if (!in_bounds(src, n, size) || !in_bounds(dst, n, size))
		kumo_trap(vmctx, KUMO_TRAP_MEMORY_OOB);
	if (n)
		rt_memmove(vmctx->memory->base + dst, vmctx->memory->base + src, n);
}

void kumo_rt_memory_fill(struct kumo_vmctx *vmctx, uint32_t dst, uint32_t value, uint32_t n)
{
	uint64_t size = vmctx->memory ? vmctx->memory->bytes : 0;
	if (!in_bounds(dst, n, size))
		kumo_trap(vmctx, KUMO_TRAP_MEMORY_OOB);
	if (n)
		rt_memset(vmctx->memory->base + dst, (int)(uint8_t)value, n);
}

static struct kumo_table *table(struct kumo_vmctx *vmctx, uint32_t t)
{
	if (t >= vmctx->module->ntables)
		kumo_trap(vmctx, KUMO_TRAP_TABLE_OOB);
	return vmctx->tables[t];
}

void *kumo_rt_table_get(struct kumo_vmctx *vmctx, uint32_t t, uint32_t i)
{
	struct kumo_table *tab = table(vmctx, t);
	if (i >= tab->size)
		kumo_trap(vmctx, KUMO_TRAP_TABLE_OOB);
	return tab->elems[i];
}

void kumo_rt_table_set(struct kumo_vmctx *vmctx, uint32_t t, uint32_t i, void *ref)
{
	struct kumo_table *tab = table(vmctx, t);
	if (i >= tab->size)
		kumo_trap(vmctx, KUMO_TRAP_TABLE_OOB);
	tab->elems[i] = ref;
}

uint32_t kumo_rt_table_grow(struct kumo_vmctx *vmctx, uint32_t t, void *init, uint32_t delta)
{
	return kumo_rt_table_grow_elems((struct kumo_rt_table *)table(vmctx, t), delta, init);
}

void kumo_rt_table_fill(struct kumo_vmctx *vmctx, uint32_t t, uint32_t i, void *ref, uint32_t n)
{
	struct kumo_table *tab = table(vmctx, t);
	if (!in_bounds(i, n, tab->size))
		kumo_trap(vmctx, KUMO_TRAP_TABLE_OOB);
	for (uint32_t k = 0; k < n; k++)
		tab->elems[i + k] = ref;
}

void kumo_rt_table_copy(struct kumo_vmctx *vmctx, uint32_t dst_table, uint32_t src_table,
			uint32_t dst, uint32_t src, uint32_t n)
{
	struct kumo_table *d = table(vmctx, dst_table);
	struct kumo_table *s = table(vmctx, src_table);
	if (!in_bounds(src, n, s->size) || !in_bounds(dst, n, d->size))
		kumo_trap(vmctx, KUMO_TRAP_TABLE_OOB);
	if (n)
		rt_memmove(d->elems + dst, s->elems + src, (size_t)n * sizeof(void *));
}

void kumo_rt_table_init(struct kumo_vmctx *vmctx, uint32_t t, uint32_t seg, uint32_t dst,
			uint32_t src, uint32_t n)
{
	struct kumo_table *tab = table(vmctx, t);
	if (seg >= vmctx->module->nelems)
		kumo_trap(vmctx, KUMO_TRAP_TABLE_OOB);
	struct rt_elem *e = &rt_inst(vmctx)->elems[seg];
	if (!in_bounds(src, n, e->count) || !in_bounds(dst, n, tab->size))
		kumo_trap(vmctx, KUMO_TRAP_TABLE_OOB);
	if (n)
		rt_memcpy(tab->elems + dst, e->vals + src, (size_t)n * sizeof(void *));
}

void kumo_rt_elem_drop(struct kumo_vmctx *vmctx, uint32_t seg)
{
	if (seg < vmctx->module->nelems)
		rt_inst(vmctx)->elems[seg].count = 0;
}
