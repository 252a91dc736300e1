/* kernel/arch/x86_64/lapic.c - the local APIC timer: one-shot interrupts that wake a `hlt` (TSC-deadline when the CPU has it). */
#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"

#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define TIMER_VECTOR 0x20
#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0

volatile uint64_t kumo_timer_ticks;
uintptr_t kumo_lapic_eoi;
static uintptr_t lapic;
static uint64_t lapic_hz; /* one-shot count rate (divide by 1); 0 until calibrated */
static int use_deadline;

static inline uint32_t lr(uint32_t reg) { return mmio_read32(lapic + reg); }
static inline void lw(uint32_t reg, uint32_t v) { mmio_write32(lapic + reg, v); }

void lapic_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	wrmsr(MSR_APIC_BASE, base | (1u << 11)); /* globally enabled, xAPIC mode */
	lapic = (uintptr_t)(base & ~0xfffull);
	kumo_lapic_eoi = lapic + LAPIC_EOI;
	lw(LAPIC_SVR, 0x100 | 0xff); /* software enable, spurious vector 0xff */
	use_deadline = kumo_cpu.tsc_deadline;
	if (use_deadline) {
		lw(LAPIC_LVT_TIMER, TIMER_VECTOR | (2u << 17));
	} else {
		lw(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
		lw(LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot */
	}
}

/* The one-shot count rate, measured once against the (calibrated) TSC. */
static void calibrate(void)
{
	lw(LAPIC_LVT_TIMER, TIMER_VECTOR | (1u << 16)); /* masked while measuring */
	lw(LAPIC_TIMER_INIT, 0xffffffffu);
	uint64_t t0 = rdtsc(), want = clock_tsc_hz() / 5000; /* 200 us */
	while (rdtsc() - t0 < want)
		__asm__ volatile("pause");
	uint32_t used = 0xffffffffu - lr(LAPIC_TIMER_CUR);
	uint64_t dt = rdtsc() - t0;
	lw(LAPIC_TIMER_INIT, 0);
	lapic_hz = dt ? (uint64_t)used * clock_tsc_hz() / dt : 0;
	if (lapic_hz == 0)
		lapic_hz = 1000000000ull; /* QEMU and KVM both count at 1 GHz */
	lw(LAPIC_LVT_TIMER, TIMER_VECTOR);
	klog("lapic timer %llu Hz (one-shot)", (unsigned long long)lapic_hz);
}

void lapic_arm_ns(uint64_t ns)
{
	if (ns == 0)
		ns = 1;
	if (use_deadline) {
		uint64_t ticks = ns * (clock_tsc_hz() / 1000000) / 1000 + 1;
		wrmsr(MSR_TSC_DEADLINE, rdtsc() + ticks);
		return;
	}
	if (!lapic_hz)
		calibrate();
	/* Long sleeps are cut into timer periods; the sleeper re-arms. */
	uint64_t count = ns * (lapic_hz / 1000) / 1000000 + 1;
	if (count > 0xffffffffull)
		count = 0xffffffffull;
	lw(LAPIC_TIMER_INIT, (uint32_t)count);
}

void lapic_disarm(void)
{
	if (use_deadline)
		wrmsr(MSR_TSC_DEADLINE, 0);
	else if (lapic)
		lw(LAPIC_TIMER_INIT, 0);
}

uint32_t lapic_id(void)
{
	return lr(0x20) >> 24;
}
