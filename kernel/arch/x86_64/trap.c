/* kernel/arch/x86_64/trap.c - exception dispatch: guard-region faults become Wasm traps, anything else is reported as a kernel bug; the VM always powers off. */
#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "compiler/abi.h"

static const char *const exc_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 FP error", "alignment check", "machine check",
	"SIMD FP error", "virtualization", "control protection",
};

static volatile int in_trap;

void kumo_trap_entry(struct trap_frame *f);
void kumo_trap_entry(struct trap_frame *f)
{
	uint64_t cr2 = f->vector == 14 ? read_cr2() : 0;
	int depth = in_trap++;
	if (depth >= 2)
		power_off(); /* faulting while reporting a fault: stop, the host sees no record */
	if (depth == 1)
		panic("kernel bug: fault (vector %llu) while handling a fault", (unsigned long long)f->vector);
	if (f->vector == 14) {
		switch (vm_classify(cr2)) {
		case VM_REGION_WASM:
			ktrap(KUMO_TRAP_MEMORY_OOB);
		case VM_REGION_STACK_GUARD:
			ktrap(KUMO_TRAP_STACK_EXHAUSTED);
		default:
			break;
		}
	}
	const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "unexpected interrupt";
	klog("kernel bug: %s (vector %llu, error %#llx) at rip %#llx", name,
	     (unsigned long long)f->vector, (unsigned long long)f->error, (unsigned long long)f->rip);
	if (f->vector == 14)
		klog("  fault address %#llx (%s)", (unsigned long long)cr2,
		     vm_classify(cr2) == VM_REGION_NULL ? "null page" : "unmapped");
	klog("  rax %016llx rbx %016llx rcx %016llx rdx %016llx", (unsigned long long)f->rax,
	     (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	klog("  rsi %016llx rdi %016llx rbp %016llx rsp %016llx", (unsigned long long)f->rsi,
	     (unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->rsp);
	klog("  r8  %016llx r9  %016llx r10 %016llx r11 %016llx", (unsigned long long)f->r8,
	     (unsigned long long)f->r9, (unsigned long long)f->r10, (unsigned long long)f->r11);
	klog("  r12 %016llx r13 %016llx r14 %016llx r15 %016llx", (unsigned long long)f->r12,
	     (unsigned long long)f->r13, (unsigned long long)f->r14, (unsigned long long)f->r15);
	klog("  rflags %#llx cs %#llx ss %#llx cr3 %#llx", (unsigned long long)f->rflags,
	     (unsigned long long)f->cs, (unsigned long long)f->ss, (unsigned long long)read_cr3());
	/* Frame-pointer backtrace, as far as it stays in identity-mapped memory. */
	uint64_t *fp = (uint64_t *)f->rbp;
	for (int i = 0; i < 8 && fp && (uintptr_t)fp < (4ull << 30) && ((uintptr_t)fp & 7) == 0; i++) {
		klog("  #%d %#llx", i, (unsigned long long)fp[1]);
		fp = (uint64_t *)fp[0];
	}
	panic("kernel bug: %s at rip %#llx", name, (unsigned long long)f->rip);
}
