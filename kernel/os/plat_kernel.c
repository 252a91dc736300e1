/* kernel/os/plat_kernel.c - the unikernel's side of kernel/rt/rt_platform.h (heap, linear memory, guarded calls and trap unwinding, stack limit, clocks, random); files are in ramfs.c. */
#include <stdlib.h>
#include <string.h>

#include "kernel/os/kos.h"
#include "kernel/rt/rt.h"
#include "kernel/rt/rt_platform.h"

void *kumo_plat_alloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

void kumo_plat_free(void *p)
{
	free(p);
}

void *kumo_plat_mem_reserve(uint64_t bytes)
{
	return vm_reserve(bytes);
}

int kumo_plat_mem_commit(void *base, uint64_t from, uint64_t to)
{
	uint64_t a = from & ~(PAGE_SIZE - 1), b = (to + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (b <= a)
		return 0;
	/* A partly committed first page is already mapped. */
	if (a != from)
		a += PAGE_SIZE;
	if (b <= a)
		return 0;
	return vm_commit((uintptr_t)base + a, b - a) < 0 ? -WASI_ENOMEM : 0;
}

void kumo_plat_mem_release(void *base, uint64_t bytes)
{
	vm_release(base, bytes); /* the address space is reused by the next instance */
}

uintptr_t kumo_plat_stack_limit(void)
{
	uintptr_t bottom = kthread_current()->stack_lo;
	return bottom ? bottom + KUMO_STACK_HEADROOM_BYTES : 0;
}

/* ---- guarded calls: a chain of saved contexts on each thread's stack ---- */

struct guard {
	struct kumo_kjmp jb;
	struct guard *prev;
	volatile uint32_t kind;
	volatile uint32_t code;
};

int kumo_plat_guarded_call(void (*fn)(void *), void *arg, struct kumo_rt_outcome *out)
{
	struct kthread *t = kthread_current();
	struct guard g;
	g.prev = t->guard;
	g.kind = KUMO_RT_OK;
	g.code = 0;
	if (kumo_kjmp_save(&g.jb) != 0) {
		t->guard = g.prev;
		if (g.kind == KUMO_RT_TRAP)
			kumo_rt_outcome_set(out, KUMO_RT_TRAP, g.code, kumo_trap_message(g.code));
		else
			kumo_rt_outcome_set(out, g.kind, g.code, "exit");
		return -1;
	}
	t->guard = &g;
	fn(arg);
	t->guard = g.prev;
	return 0;
}

void kumo_plat_unwind(uint32_t kind, uint32_t code)
{
	struct guard *g = kthread_current()->guard;
	if (!g) {
		if (kind == KUMO_RT_TRAP)
			ktrap(code);
		kexit((int)code);
	}
	g->kind = kind;
	g->code = code;
	kumo_kjmp_jump(&g->jb, 1);
}

void kplat_fault_trap(uint32_t code)
{
	kumo_plat_unwind(KUMO_RT_TRAP, code);
}

/* ---- clocks, random, scheduling ---- */

int kumo_plat_clock_res(uint32_t clock_id, uint64_t *ns)
{
	if (clock_id > WASI_CLOCK_THREAD_CPUTIME)
		return -WASI_EINVAL;
	*ns = 1;
	return 0;
}

int kumo_plat_clock_now(uint32_t clock_id, uint64_t *ns)
{
	switch (clock_id) {
	case WASI_CLOCK_REALTIME:
		*ns = clock_realtime_ns();
		return 0;
	case WASI_CLOCK_MONOTONIC:
	case WASI_CLOCK_PROCESS_CPUTIME: /* the VM is the process, and never idles */
	case WASI_CLOCK_THREAD_CPUTIME:
		*ns = clock_monotonic_ns();
		return 0;
	default:
		return -WASI_EINVAL;
	}
}

int kumo_plat_random(void *buf, size_t len)
{
	random_get(buf, len);
	return 0;
}

void kumo_plat_yield(void)
{
	sched_wait(0, clock_monotonic_ns()); /* ready at once: the others run first */
}

int kumo_plat_raise(uint32_t sig)
{
	(void)sig;
	return -WASI_ENOSYS; /* as hosted */
}
