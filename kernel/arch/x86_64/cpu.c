/* kernel/arch/x86_64/cpu.c - CPU features, GDT + TSS with IST stacks, IDT, and the SSE/AVX state generated code needs. */
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"

struct cpu_features kumo_cpu;

#define IST_SIZE (16 * 1024)
enum { IST_NMI = 1, IST_DF = 2, IST_PF = 3, IST_MC = 4, IST_COUNT = 4 };
static uint8_t ist_stacks[IST_COUNT][IST_SIZE] __attribute__((aligned(16)));

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
static struct tss tss;

/* null, code64 (0x08), data (0x10), TSS (0x18, two slots). */
static uint64_t gdt[5] __attribute__((aligned(16)));

struct idt_entry {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off1;
	uint32_t off2;
	uint32_t zero;
} __attribute__((packed));
static struct idt_entry idt[256] __attribute__((aligned(16)));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t kumo_exc_stubs[32];
extern const uint64_t kumo_exc_unexpected;
void kumo_isr_timer(void);
void kumo_isr_spurious(void);

static void idt_set(int vec, uint64_t handler, int ist)
{
	idt[vec] = (struct idt_entry){
		.off0 = (uint16_t)handler,
		.sel = 0x08,
		.ist = (uint8_t)ist,
		.type = 0x8e, /* present, DPL 0, 64-bit interrupt gate (IF cleared) */
		.off1 = (uint16_t)(handler >> 16),
		.off2 = (uint32_t)(handler >> 32),
	};
}

static void detect_features(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	uint32_t max = r[0];
	memcpy(kumo_cpu.vendor, &r[1], 4);
	memcpy(kumo_cpu.vendor + 4, &r[3], 4);
	memcpy(kumo_cpu.vendor + 8, &r[2], 4);
	cpuid(1, 0, r);
	kumo_cpu.xsave = (r[2] >> 26) & 1;
	kumo_cpu.avx = (r[2] >> 28) & 1;
	kumo_cpu.rdrand = (r[2] >> 30) & 1;
	kumo_cpu.tsc_deadline = (r[2] >> 24) & 1;
	kumo_cpu.x2apic = (r[2] >> 21) & 1;
	kumo_cpu.hypervisor = (r[2] >> 31) & 1;
	if (max >= 7) {
		cpuid(7, 0, r);
		kumo_cpu.rdseed = (r[1] >> 18) & 1;
		kumo_cpu.avx512 = (r[1] >> 16) & 1;
	}
	cpuid(0x80000000, 0, r);
	uint32_t xmax = r[0];
	if (xmax >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		kumo_cpu.nx = (r[3] >> 20) & 1;
	}
	if (xmax >= 0x80000007) {
		cpuid(0x80000007, 0, r);
		kumo_cpu.invariant_tsc = (r[3] >> 8) & 1;
	}
	if (kumo_cpu.hypervisor) {
		cpuid(0x40000000, 0, r);
		kumo_cpu.hv_max_leaf = r[0];
		memcpy(kumo_cpu.hv_sig, &r[1], 4);
		memcpy(kumo_cpu.hv_sig + 4, &r[2], 4);
		memcpy(kumo_cpu.hv_sig + 8, &r[3], 4);
	}
}

/* SSE is on since boot.S (CR4.OSFXSR); add XSAVE + AVX (+ AVX-512) state when present,
 * so code generated for a CPU with AVX runs. */
static void enable_simd(void)
{
	uint64_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	if (!kumo_cpu.xsave)
		return;
	cr4 |= 1ull << 18; /* OSXSAVE */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	uint32_t r[4];
	cpuid(0xd, 0, r);
	uint64_t supported = ((uint64_t)r[3] << 32) | r[0];
	uint64_t xcr0 = 0x3; /* x87, SSE */
	if (kumo_cpu.avx && (supported & 0x4))
		xcr0 |= 0x4;
	if (kumo_cpu.avx512 && (supported & 0xe0) == 0xe0)
		xcr0 |= 0xe0;
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
	if (!(xcr0 & 0x4))
		kumo_cpu.avx = 0;
}

void cpu_init(void)
{
	detect_features();
	enable_simd();

	for (int i = 0; i < IST_COUNT; i++)
		tss.ist[i] = (uint64_t)(uintptr_t)(ist_stacks[i] + IST_SIZE);
	tss.iomap_base = sizeof(tss);
	uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;
	gdt[1] = 0x00af9a000000ffffull;
	gdt[2] = 0x00cf92000000ffffull;
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;
	struct desc_ptr gp = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq $0x08\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw $0x10, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "movw $0x18, %%ax\n\t"
			 "ltr %%ax"
			 : : "m"(gp) : "rax", "memory");

	for (int v = 0; v < 256; v++)
		idt_set(v, kumo_exc_unexpected, IST_DF);
	for (int v = 0; v < 32; v++) {
		int ist = v == 2 ? IST_NMI : v == 8 ? IST_DF : v == 14 ? IST_PF : v == 18 ? IST_MC : 0;
		idt_set(v, kumo_exc_stubs[v], ist);
	}
	idt_set(0x20, (uint64_t)(uintptr_t)kumo_isr_timer, 0);
	idt_set(0xff, (uint64_t)(uintptr_t)kumo_isr_spurious, 0);
	idt_set(NET_VECTOR, (uint64_t)(uintptr_t)kumo_isr_net, 0);
	idt_set(STOP_VECTOR, (uint64_t)(uintptr_t)kumo_isr_stop, 0);
	idt_set(WAKE_VECTOR, (uint64_t)(uintptr_t)kumo_isr_wake, 0);
	/* PIC vectors 0x08..0x0f would alias exceptions: mask both PICs (harmless when
	 * the machine has none). */
	outb(0xa1, 0xff);
	outb(0x21, 0xff);
	struct desc_ptr ip = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(ip));
}

/* One feature of an x86-64 micro-architecture level. */
struct level_feature {
	int level;           /* 2, 3 or 4 */
	uint32_t leaf;       /* CPUID leaf (subleaf 0) */
	int reg;             /* 1 ebx, 2 ecx, 3 edx */
	int bit;
	const char *name;
};

static const struct level_feature level_features[] = {
	{ 2, 1, 2, 0, "sse3" }, { 2, 1, 2, 9, "ssse3" }, { 2, 1, 2, 13, "cx16" },
	{ 2, 1, 2, 19, "sse4.1" }, { 2, 1, 2, 20, "sse4.2" }, { 2, 1, 2, 23, "popcnt" },
	{ 2, 0x80000001, 2, 0, "lahf_lm" },
	{ 3, 1, 2, 12, "fma" }, { 3, 1, 2, 22, "movbe" }, { 3, 1, 2, 28, "avx" },
	{ 3, 1, 2, 29, "f16c" }, { 3, 7, 1, 3, "bmi1" }, { 3, 7, 1, 5, "avx2" },
	{ 3, 7, 1, 8, "bmi2" }, { 3, 0x80000001, 2, 5, "lzcnt" },
	{ 4, 7, 1, 16, "avx512f" }, { 4, 7, 1, 17, "avx512dq" }, { 4, 7, 1, 28, "avx512cd" },
	{ 4, 7, 1, 30, "avx512bw" }, { 4, 7, 1, 31, "avx512vl" },
};

const char *cpu_missing_for_target(const char *target)
{
	int level;
	if (!target || strcmp(target, "x86-64") == 0 || strcmp(target, "generic") == 0)
		return NULL;
	if (strcmp(target, "x86-64-v2") == 0)
		level = 2;
	else if (strcmp(target, "x86-64-v3") == 0)
		level = 3;
	else if (strcmp(target, "x86-64-v4") == 0)
		level = 4;
	else
		return NULL; /* a named CPU: nothing to check against here */
	uint32_t r[4], max, xmax;
	cpuid(0, 0, r);
	max = r[0];
	cpuid(0x80000000, 0, r);
	xmax = r[0];
	for (size_t i = 0; i < sizeof(level_features) / sizeof(level_features[0]); i++) {
		const struct level_feature *f = &level_features[i];
		if (f->level > level)
			continue;
		if (f->leaf < 0x80000000 ? f->leaf > max : f->leaf > xmax)
			return f->name;
		cpuid(f->leaf, 0, r);
		if (!((r[f->reg] >> f->bit) & 1))
			return f->name;
	}
	/* AVX state must also be enabled (XCR0), which cpu_init did when it could. */
	if (level >= 3 && !kumo_cpu.avx)
		return "avx (xsave)";
	return NULL;
}
