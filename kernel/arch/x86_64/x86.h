/* kernel/arch/x86_64/x86.h - x86-64 primitives and the arch layer's interface to kernel/os. */
#ifndef KUMO_X86_H
#define KUMO_X86_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline void invlpg(uintptr_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }

/* The register frame isr.S pushes before calling kumo_trap_entry. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* CPU features found at boot (cpu.c). */
struct cpu_features {
	int nx, xsave, avx, avx512, rdrand, rdseed, tsc_deadline, invariant_tsc, x2apic;
	int hypervisor;       /* CPUID.1:ECX[31] */
	char hv_sig[13];      /* hypervisor signature ("KVMKVMKVM", "TCGTCGTCGTCG"), or "" */
	uint32_t hv_max_leaf; /* highest hypervisor leaf (0x4000xxxx) */
	char vendor[13];
};
extern struct cpu_features kumo_cpu;

extern uint64_t kumo_boot_tsc;        /* TSC at the first instruction (boot.S) */
extern uint64_t boot_pml4[512];       /* the kernel's page table root (boot.S) */
extern volatile uint64_t kumo_timer_ticks; /* timer interrupts taken */
extern uintptr_t kumo_lapic_eoi;      /* address of the LAPIC EOI register */

/* cpu.c: features, GDT/TSS with IST stacks, IDT, SSE/AVX state. */
void cpu_init(void);
/* The first CPU feature missing for code generated for `target` ("x86-64-v2", ...),
 * or NULL when the CPU has them all (or the target is not a level it knows). */
const char *cpu_missing_for_target(const char *target);
/* lapic.c: the local APIC timer. */
void lapic_init(void);
/* Arms a one-shot timer interrupt `ns` from now (clamped to what the timer can do). */
void lapic_arm_ns(uint64_t ns);
/* Stops a pending one-shot (nothing is due). */
void lapic_disarm(void);
/* power.c: ACPI power-off (finds the FADT from the RSDP); never returns. */
void acpi_init(uint64_t rsdp_paddr);
__attribute__((noreturn)) void power_off(void);
/* The ACPI table with signature sig ("APIC", ...), or NULL. */
const uint8_t *acpi_table(const char *sig);
/* virtio-mmio transports the DSDT describes (microvm with ACPI): up to max base
 * addresses and GSIs; returns how many. */
int acpi_virtio_mmio(uint64_t *base, uint32_t *irq, int max);
/* ioapic.c: routes GSI `gsi` (edge, active high) to `vector` on the boot CPU;
 * -1 when no IOAPIC serves it. irq_of_isa maps a legacy ISA IRQ through the MADT's
 * interrupt source overrides. */
int ioapic_route(uint32_t gsi, uint8_t vector);
uint32_t ioapic_gsi_of_isa(uint32_t irq);
/* The local APIC id of this CPU (for MSI and IOAPIC destinations). */
uint32_t lapic_id(void);
/* isr.S: the NIC's interrupt only wakes a `hlt` and sets kumo_net_irq_pending. */
#define NET_VECTOR 0x21
extern volatile uint32_t kumo_net_irq_pending;
void kumo_isr_net(void);
/* isr.S: an interrupt that only wakes a `hlt` (acknowledged, nothing else): for
 * devices whose driver checks its own rings after every wake-up (virtio-9p). */
#define WAKE_VECTOR 0x23
void kumo_isr_wake(void);
/* isr.S: the ACPI power button (microvm's GED) sets kumo_stop_pending; the kernel's
 * waits see it (kstop_check, kernel/os/exit.c). */
#define STOP_VECTOR 0x22
extern volatile uint32_t kumo_stop_pending;
void kumo_isr_stop(void);
/* The GSI of the ACPI Generic Event Device (_HID ACPI0013, microvm's power button)
 * from the DSDT; 0 with *gsi set, -1 when there is none (pc/q35). */
int acpi_ged_gsi(uint32_t *gsi);
/* Routes the power button to STOP_VECTOR when the machine has one; 0 or -1. */
int power_button_init(void);
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void mmio_write16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline uint16_t mmio_read16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)a; }

#endif /* KUMO_X86_H */
