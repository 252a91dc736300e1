/* kernel/rt/rt_internal.h - private to kernel/rt: store and instance layouts, small
 * freestanding string and message helpers. */
#ifndef KUMO_RT_INTERNAL_H
#define KUMO_RT_INTERNAL_H

#include "kernel/rt/rt.h"
#include "kernel/rt/rt_platform.h"

#define rt_memcpy __builtin_memcpy
#define rt_memmove __builtin_memmove
#define rt_memset __builtin_memset
#define rt_memcmp __builtin_memcmp
#define rt_strlen __builtin_strlen

/* A host function and the list it lives on. */
struct rt_hostfunc {
	struct kumo_funcref ref;   /* first: handed out as struct kumo_funcref * */
	struct rt_hostfunc *next;
};

struct kumo_rt_store {
	struct kumo_rt_instance *instances; /* newest first */
	struct kumo_rt_memory *memories;
	struct kumo_rt_table *tables;
	struct kumo_rt_global *globals;
	struct rt_hostfunc *hostfuncs;
	struct kumo_wasi *wasi;             /* not owned */
	uintptr_t stack_limit;              /* last value written into the vmctxs */
	uint64_t mem_limit_bytes;           /* 0 = none */
};

/* An evaluated element segment (references), emptied by elem.drop. */
struct rt_elem {
	void **vals;
	uint32_t count;
};

struct kumo_rt_instance {
	struct kumo_vmctx vmctx;            /* vmctx.runtime points back here */
	struct kumo_rt_store *store;
	struct kumo_rt_instance *next;      /* store list */
	uint32_t *type_ids;                 /* module->ntypes */
	struct kumo_funcref *funcrefs;      /* module->nfuncs */
	union kumo_val **globals;           /* module->nglobals */
	struct kumo_table **tables;         /* module->ntables */
	struct rt_elem *elems;              /* module->nelems */
	uint8_t *data_dropped;              /* module->ndatas flags */
};

static inline struct kumo_rt_instance *rt_inst(struct kumo_vmctx *vmctx)
{
	return (struct kumo_rt_instance *)vmctx->runtime;
}

/* Message builder over a fixed buffer (always NUL-terminated, truncates). */
struct rt_msg {
	char *buf;
	size_t cap;
	size_t len;
};
void rt_msg_init(struct rt_msg *m, char *buf, size_t cap);
void rt_msg_str(struct rt_msg *m, const char *s);
void rt_msg_bytes(struct rt_msg *m, const char *s, size_t n); /* non-printables -> '?' */
void rt_msg_u64(struct rt_msg *m, uint64_t v);

/* count * size, or 0 with *ovf set when it overflows. */
static inline size_t rt_mul(size_t count, size_t size, bool *ovf)
{
	size_t r;
	if (__builtin_mul_overflow(count, size, &r)) {
		*ovf = true;
		return 0;
	}
	return r;
}

#endif /* KUMO_RT_INTERNAL_H */
