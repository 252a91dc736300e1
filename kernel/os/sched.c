/* kernel/os/sched.c - kernel threads on one CPU: round-robin among the runnable, waits that end on an interrupt, a kick, an event or a deadline, preemption of compiled code by the timer, hlt when idle (kos.h). */
#include <stdlib.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/rt/rt.h"
#include "kernel/rt/rt_platform.h"

#define KT_MAX (VM_STACK_SLOTS + 1)
#define SLICE_NS ((uint64_t)KUMO_POD_SLICE_MS * 1000000ull)
/* The timer fired inside kernel code while another thread wants the CPU: look again
 * this much later (kernel code is never preempted; it soon waits or returns). */
#define RETRY_NS 1000000ull

/* The frame kumo_isr_timer (switch.S) pushes: general registers, then the CPU's. */
struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t rip, cs, rflags, rsp, ss;
};

extern volatile uint64_t kumo_irq_count; /* every interrupt (switch.S, isr.S) */
extern void *kumo_fpu_area;              /* where the timer saves SSE/AVX state */
extern uint8_t kumo_fpu_xsave;           /* 1: XSAVE, 0: FXSAVE */
extern uint8_t boot_fpu_area[];
void kthread_switch(uint64_t *save_rsp, uint64_t new_rsp);
void kthread_entry(void);
void kthread_kill_entry(void);
void kthread_main(void);
void kthread_killed(void);
void kumo_timer_entry(struct irq_frame *f);

static struct kthread boot_thread = {.slot = -1, .deadline_ns = UINT64_MAX};
static struct kthread *threads[KT_MAX]; /* [0]: the boot thread */
static struct kthread *cur = &boot_thread;
static volatile uint64_t kick_count;
static uint64_t fpu_pages;
static uint64_t nswitches;
static int up;
void (*sched_idle_hook)(void);

static inline uint64_t irq_save(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}

static inline void irq_restore(uint64_t f)
{
	if (f & 0x200)
		__asm__ volatile("sti" : : : "memory");
}

static uint64_t events(void)
{
	return kumo_irq_count + kick_count;
}

void sched_init(void)
{
	uint64_t size = 512; /* FXSAVE */
	if (kumo_cpu.xsave) {
		uint32_t r[4];
		cpuid(0xd, 0, r); /* bytes XSAVE needs for what XCR0 enables now */
		size = r[1];
		kumo_fpu_xsave = 1;
	}
	if (size > 8192)
		panic("xsave area of %llu bytes is larger than the boot thread's", (unsigned long long)size);
	fpu_pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	boot_thread.fpu = boot_fpu_area;
	boot_thread.seen = events();
	threads[0] = &boot_thread;
	up = 1;
}

struct kthread *kthread_current(void)
{
	return cur;
}

uint64_t sched_switch_count(void)
{
	return nswitches;
}

/* Could t run now? */
static int ready(const struct kthread *t, uint64_t now)
{
	if (t->state == KT_RUNNABLE)
		return 1;
	if (t->state != KT_WAITING)
		return 0;
	if (t->stop)
		return 1;
	if ((t->wake & KWAKE_EVENT) && t->posted)
		return 1;
	if ((t->wake & KWAKE_IRQ) && events() != t->seen)
		return 1;
	return now >= t->deadline_ns;
}

/* Would another thread than me use the CPU if it had it, or after an interrupt? */
static int others_want(const struct kthread *me, uint64_t now)
{
	for (int i = 0; i < KT_MAX; i++) {
		const struct kthread *t = threads[i];
		if (!t || t == me)
			continue;
		if (ready(t, now) || (t->state == KT_WAITING && (t->wake & KWAKE_IRQ)))
			return 1;
	}
	return 0;
}

/* Arms the timer for whatever comes first: a waiter's deadline, or the end of the
 * running thread's slice when others want the CPU. */
static void arm_timer(const struct kthread *run, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	for (int i = 0; i < KT_MAX; i++) {
		const struct kthread *t = threads[i];
		if (t && t != run && t->state == KT_WAITING && t->deadline_ns < next)
			next = t->deadline_ns;
	}
	if (others_want(run, now) && now + SLICE_NS < next)
		next = now + SLICE_NS;
	if (next == UINT64_MAX)
		lapic_disarm();
	else
		lapic_arm_ns(next > now ? next - now : 1);
}

/* The next thread to run after cur (cur itself last), or NULL. */
static struct kthread *pick(uint64_t now)
{
	int start = cur->index;
	for (int i = 1; i <= KT_MAX; i++) {
		struct kthread *t = threads[(start + i) % KT_MAX];
		if (t && ready(t, now))
			return t;
	}
	return NULL;
}

static void switch_to(struct kthread *n, uint64_t now)
{
	n->state = KT_RUNNABLE;
	arm_timer(n, now);
	if (n == cur)
		return;
	struct kthread *prev = cur;
	cur = n;
	kumo_fpu_area = n->fpu;
	nswitches++;
	kthread_switch(&prev->rsp, n->rsp);
}

/* Nobody can run: let the network move (loopback frames, timers), then halt until an
 * interrupt or the first deadline. Interrupts are off. */
static void idle(void)
{
	uint64_t mark = events();
	if (sched_idle_hook) {
		sched_idle_hook();
		if (events() != mark)
			return; /* it delivered something: a waiter may be ready */
	}
	uint64_t now = clock_monotonic_ns(), next = UINT64_MAX;
	for (int i = 0; i < KT_MAX; i++)
		if (threads[i] && threads[i]->state == KT_WAITING && threads[i]->deadline_ns < next)
			next = threads[i]->deadline_ns;
	if (next <= now)
		return;
	if (next == UINT64_MAX)
		lapic_disarm();
	else
		lapic_arm_ns(next - now);
	/* sti's shadow: an interrupt between the two still wakes the hlt. */
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

/* Gives the CPU to the next ready thread; cur's state says whether it comes back.
 * Interrupts are off. */
static void schedule(void)
{
	for (;;) {
		uint64_t now = clock_monotonic_ns();
		struct kthread *n = pick(now);
		if (n) {
			switch_to(n, now);
			return;
		}
		idle();
	}
}

void sched_wait(unsigned wake, uint64_t deadline_ns)
{
	uint64_t fl = irq_save();
	struct kthread *me = cur;
	me->wake = wake;
	me->deadline_ns = deadline_ns;
	me->state = KT_WAITING;
	if (up)
		schedule();
	else
		idle(); /* before sched_init: only the boot thread, waiting in place */
	me->state = KT_RUNNABLE;
	me->seen = events();
	me->posted = 0;
	me->wake = 0;
	me->deadline_ns = UINT64_MAX;
	irq_restore(fl);
	if (me->stop && me->owner)
		kstop_check(); /* every wait of a container's instance is where a stop ends it */
}

void sched_kick(void)
{
	uint64_t fl = irq_save();
	kick_count++;
	irq_restore(fl);
}

void sched_post(struct kthread *t)
{
	uint64_t fl = irq_save();
	t->posted = 1;
	irq_restore(fl);
}

uint64_t sched_irq_mark(void)
{
	return events();
}

void sched_halt(uint64_t mark, uint64_t deadline_ns)
{
	uint64_t fl = irq_save();
	if (events() == mark) {
		uint64_t now = clock_monotonic_ns();
		if (deadline_ns != UINT64_MAX && deadline_ns > now)
			lapic_arm_ns(deadline_ns - now);
		if (deadline_ns > now)
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		if (up)
			arm_timer(cur, clock_monotonic_ns()); /* the scheduler's deadlines again */
	}
	irq_restore(fl);
}

/* ---- thread life ---- */

struct kthread *kthread_create(void (*fn)(void *), void *arg, uint64_t stack_size)
{
	uint64_t fl = irq_save();
	struct kthread *t = NULL;
	int idx = 1;
	while (idx < KT_MAX && threads[idx])
		idx++;
	if (idx == KT_MAX)
		goto out;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto out;
	t->fpu = page_alloc(fpu_pages);
	t->slot = t->fpu ? vm_stack_map(stack_size, &t->stack_lo, &t->stack_hi) : -1;
	if (t->slot < 0) {
		if (t->fpu)
			page_free(t->fpu, fpu_pages);
		free(t);
		t = NULL;
		goto out;
	}
	/* The frame kthread_switch pops: MXCSR and x87 control word (their reset values),
	 * r15..r12, rbx, rbp, then the return into kthread_entry. */
	uint64_t *sp = (uint64_t *)t->stack_hi;
	*--sp = 0;
	*--sp = (uint64_t)(uintptr_t)kthread_entry;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	*--sp = 0x1f80ull | (0x037full << 32);
	t->rsp = (uint64_t)(uintptr_t)sp;
	t->state = KT_RUNNABLE;
	t->deadline_ns = UINT64_MAX;
	t->seen = events();
	t->fn = fn;
	t->arg = arg;
	t->index = idx;
	threads[idx] = t;
out:
	irq_restore(fl);
	return t;
}

/* A new thread's first C frame (kthread_entry), interrupts off as after any switch. */
void kthread_main(void)
{
	struct kthread *me = cur;
	me->seen = events();
	me->fn(me->arg);
	irq_save();
	me->state = KT_DEAD;
	if (me->joiner)
		me->joiner->posted = 1;
	schedule();
	panic("a thread that ended was scheduled again");
}

void kthread_join(struct kthread *t)
{
	uint64_t fl = irq_save();
	t->joiner = cur;
	irq_restore(fl);
	while (t->state != KT_DEAD)
		sched_wait(KWAKE_EVENT, UINT64_MAX);
	kthread_free(t);
}

void kthread_free(struct kthread *t)
{
	if (!t || t == cur || t->state != KT_DEAD)
		panic("kthread_free of a live thread");
	uint64_t fl = irq_save();
	threads[t->index] = NULL;
	irq_restore(fl);
	vm_stack_unmap(t->slot);
	page_free(t->fpu, fpu_pages);
	free(t);
}

/* ---- preemption ---- */

/* A killed thread that was preempted in compiled code comes here on its own stack
 * (kthread_kill_entry): unwind its instance with 137, as a trap would. */
void kthread_killed(void)
{
	__asm__ volatile("cli" : : : "memory");
	kumo_plat_unwind(KUMO_RT_EXIT, KUMO_POD_EXIT_KILLED);
}

static void tick(struct irq_frame *f)
{
	uint64_t now = clock_monotonic_ns();
	struct kthread *me = cur;
	if (!vm_in_images(f->rip)) {
		/* Kernel code (or the idle hlt) is never preempted; it reaches a wait or goes
		 * back to compiled code soon: look again then. */
		if (me->state == KT_RUNNABLE && others_want(me, now))
			lapic_arm_ns(RETRY_NS);
		return;
	}
	if (me->stop == KSTOP_KILL && me->owner) {
		f->rip = (uint64_t)(uintptr_t)kthread_kill_entry;
		return;
	}
	struct kthread *n = pick(now);
	if (!n || n == me) {
		arm_timer(me, now);
		return;
	}
	me->preemptions++;
	switch_to(n, now);
	/* Running again, maybe much later: killed meanwhile? */
	if (me->stop == KSTOP_KILL && me->owner)
		f->rip = (uint64_t)(uintptr_t)kthread_kill_entry;
}

void kumo_timer_entry(struct irq_frame *f)
{
	mmio_write32(kumo_lapic_eoi, 0);
	kumo_timer_ticks++;
	if (up)
		tick(f);
}
