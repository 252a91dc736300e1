/* kernel/hosted/plat_hosted.c - the runtime half of the POSIX platform: heap, memory
 * reservations, trap unwinding (sigsetjmp/siglongjmp, SIGSEGV/SIGBUS in a guard
 * region or the stack guard), stack bounds, clocks, random, scheduling. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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

/* ---- reservations: the signal handler maps a fault address to a trap ---- */

#define MAX_RESERVATIONS 8192

struct reservation {
	uintptr_t base; /* 0: free slot */
	uint64_t len;
};
static struct reservation reservations[MAX_RESERVATIONS];
static pthread_mutex_t reservations_lock = PTHREAD_MUTEX_INITIALIZER;

static bool in_reservation(uintptr_t a)
{
	for (int i = 0; i < MAX_RESERVATIONS; i++) {
		uintptr_t b = __atomic_load_n(&reservations[i].base, __ATOMIC_ACQUIRE);
		if (b && a >= b && a - b < reservations[i].len)
			return true;
	}
	return false;
}

void *kumo_plat_mem_reserve(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		       0);
	if (p == MAP_FAILED)
		return NULL;
	pthread_mutex_lock(&reservations_lock);
	for (int i = 0; i < MAX_RESERVATIONS; i++) {
		if (!reservations[i].base) {
			reservations[i].len = bytes;
			__atomic_store_n(&reservations[i].base, (uintptr_t)p, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&reservations_lock);
			return p;
		}
	}
	pthread_mutex_unlock(&reservations_lock);
	munmap(p, bytes);
	return NULL;
}

int kumo_plat_mem_commit(void *base, uint64_t from, uint64_t to)
{
	if (to <= from)
		return 0;
	if (mprotect((uint8_t *)base + from, to - from, PROT_READ | PROT_WRITE) < 0)
		return -WASI_ENOMEM;
	return 0;
}

void kumo_plat_mem_release(void *base, uint64_t bytes)
{
	if (!base)
		return;
	pthread_mutex_lock(&reservations_lock);
	for (int i = 0; i < MAX_RESERVATIONS; i++)
		if (reservations[i].base == (uintptr_t)base)
			__atomic_store_n(&reservations[i].base, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&reservations_lock);
	munmap(base, bytes);
}

/* ---- stack ---- */

struct thread_stack {
	uintptr_t lo, hi;   /* usable stack, lowest and highest address */
	uintptr_t guard;    /* guard size below lo */
	bool known;
	bool altstack;      /* sigaltstack installed for this thread */
};
static __thread struct thread_stack tstack;

static void thread_stack_init(void)
{
	if (tstack.known)
		return;
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0, guard = 0;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &addr, &size);
		pthread_attr_getguardsize(&attr, &guard);
		pthread_attr_destroy(&attr);
	}
	tstack.hi = (uintptr_t)addr + size;
	/* An unlimited main-thread stack (ulimit -s unlimited) reports a huge size whose
	 * low end is not really usable: assume 8 MiB, the common default. */
	if (size > (256u << 20))
		size = 8u << 20;
	tstack.lo = tstack.hi - size;
	tstack.guard = guard ? guard : 4096;
	tstack.known = true;
}

uintptr_t kumo_plat_stack_limit(void)
{
	thread_stack_init();
	if (!tstack.lo)
		return 0;
	return tstack.lo + tstack.guard + KUMO_STACK_HEADROOM_BYTES;
}

/* ---- guarded calls ---- */

struct guard {
	sigjmp_buf jb;
	struct guard *prev;
	volatile uint32_t kind;
	volatile uint32_t code;
};
static __thread struct guard *current_guard;

static struct sigaction old_segv, old_bus;
static pthread_mutex_t handlers_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
	struct guard *g = current_guard;
	uintptr_t a = (uintptr_t)si->si_addr;
	if (g) {
		uint32_t code = 0;
		if (in_reservation(a))
			code = KUMO_TRAP_MEMORY_OOB;
		else if (tstack.known && a < tstack.lo + KUMO_STACK_HEADROOM_BYTES &&
			 a + (1u << 20) >= tstack.lo)
			code = KUMO_TRAP_STACK_EXHAUSTED;
		if (code) {
			g->kind = KUMO_RT_TRAP;
			g->code = code;
			siglongjmp(g->jb, 1);
		}
	}
	/* Not a Wasm trap: hand the fault to whoever handled it before, or die. */
	struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uctx);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN && old->sa_handler) {
		old->sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);
}

/* (Re)installs the fault handlers when someone (a test framework, a sanitizer)
 * replaced them since; the replaced handler becomes the one faults are passed on to. */
static void ensure_handlers(void)
{
	struct sigaction cur, sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	pthread_mutex_lock(&handlers_lock);
	if (sigaction(SIGSEGV, NULL, &cur) == 0 && cur.sa_sigaction != on_fault)
		sigaction(SIGSEGV, &sa, &old_segv);
	if (sigaction(SIGBUS, NULL, &cur) == 0 && cur.sa_sigaction != on_fault)
		sigaction(SIGBUS, &sa, &old_bus);
	pthread_mutex_unlock(&handlers_lock);
}

/* A stack overflow fault runs its handler on this thread's alternate stack. */
static void thread_altstack_init(void)
{
	if (tstack.altstack)
		return;
	tstack.altstack = true;
	stack_t cur;
	if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
		return; /* someone (a sanitizer) already gave us one */
	size_t size = 64 * 1024 + (size_t)SIGSTKSZ;
	stack_t ss = {.ss_sp = malloc(size), .ss_size = size, .ss_flags = 0};
	if (ss.ss_sp && sigaltstack(&ss, NULL) < 0)
		free(ss.ss_sp);
	/* The alternate stack lives as long as the thread; it is not freed. */
}

int kumo_plat_guarded_call(void (*fn)(void *), void *arg, struct kumo_rt_outcome *out)
{
	if (!current_guard)
		ensure_handlers();
	thread_stack_init();
	thread_altstack_init();

	struct guard g;
	g.prev = current_guard;
	g.kind = KUMO_RT_OK;
	g.code = 0;
	if (sigsetjmp(g.jb, 1) != 0) {
		current_guard = g.prev;
		if (g.kind == KUMO_RT_TRAP)
			kumo_rt_outcome_set(out, KUMO_RT_TRAP, g.code, kumo_trap_message(g.code));
		else
			kumo_rt_outcome_set(out, g.kind, g.code, "exit");
		return -1;
	}
	current_guard = &g;
	fn(arg);
	current_guard = g.prev;
	return 0;
}

void kumo_plat_unwind(uint32_t kind, uint32_t code)
{
	struct guard *g = current_guard;
	if (!g) {
		fprintf(stderr, "kumo: %s outside any guarded call (code %u)\n",
			kind == KUMO_RT_TRAP ? kumo_trap_message(code) : "exit", code);
		abort();
	}
	g->kind = kind;
	g->code = code;
	siglongjmp(g->jb, 1);
}

/* ---- clocks, random, scheduling ---- */

static int clock_of(uint32_t id, clockid_t *c)
{
	switch (id) {
	case WASI_CLOCK_REALTIME: *c = CLOCK_REALTIME; return 0;
	case WASI_CLOCK_MONOTONIC: *c = CLOCK_MONOTONIC; return 0;
	case WASI_CLOCK_PROCESS_CPUTIME: *c = CLOCK_PROCESS_CPUTIME_ID; return 0;
	case WASI_CLOCK_THREAD_CPUTIME: *c = CLOCK_THREAD_CPUTIME_ID; return 0;
	default: return -WASI_EINVAL;
	}
}

int kumo_plat_clock_res(uint32_t clock_id, uint64_t *ns)
{
	clockid_t c;
	struct timespec ts;
	if (clock_of(clock_id, &c) < 0 || clock_getres(c, &ts) < 0)
		return -WASI_EINVAL;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

int kumo_plat_clock_now(uint32_t clock_id, uint64_t *ns)
{
	clockid_t c;
	struct timespec ts;
	if (clock_of(clock_id, &c) < 0 || clock_gettime(c, &ts) < 0)
		return -WASI_EINVAL;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

int kumo_plat_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -WASI_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void kumo_plat_yield(void)
{
	sched_yield();
}

int kumo_plat_raise(uint32_t sig)
{
	(void)sig;
	return -WASI_ENOSYS;
}
