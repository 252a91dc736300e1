/* kernel/arch/x86_64/isr.S - interrupt and exception entry stubs, and the switch onto the app stack. */

/* Exceptions: push a uniform frame (vector, error code, GPRs) and call
 * kumo_trap_entry(frame), which never returns: every exception ends the VM. */
.macro EXC vec, has_err
	.p2align 4
exc_\vec:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp exc_common
.endm

	.text
	.code64
EXC 0, 0
EXC 1, 0
EXC 2, 0
EXC 3, 0
EXC 4, 0
EXC 5, 0
EXC 6, 0
EXC 7, 0
EXC 8, 1
EXC 9, 0
EXC 10, 1
EXC 11, 1
EXC 12, 1
EXC 13, 1
EXC 14, 1
EXC 15, 0
EXC 16, 0
EXC 17, 1
EXC 18, 0
EXC 19, 0
EXC 20, 0
EXC 21, 1
EXC 22, 0
EXC 23, 0
EXC 24, 0
EXC 25, 0
EXC 26, 0
EXC 27, 0
EXC 28, 0
EXC 29, 1
EXC 30, 1
EXC 31, 0
/* Any vector the kernel did not expect (no device raises one). */
EXC 255, 0

exc_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	and $~0xf, %rsp
	call kumo_trap_entry
1:	cli
	hlt
	jmp 1b

/* The timer is in switch.S (it may preempt compiled code). The device interrupts
 * below run no C: they set a flag, count the interrupt (kumo_irq_count: what a
 * KWAKE_IRQ waiter waits for, sched.c) and acknowledge; the interrupted code's
 * registers and SSE/AVX state are untouched, and the stub uses no stack below %rsp
 * beyond the CPU's own frame (no code of ours uses a red zone). */
/* The NIC (virtio-net, IOAPIC edge or MSI-X): the same, plus a flag the network
 * loop reads; all the work happens outside the interrupt (kernel/os/net.c). */
	.p2align 4
	.globl kumo_isr_net
kumo_isr_net:
	push %rax
	movl $1, kumo_net_irq_pending(%rip)
	incq kumo_irq_count(%rip)
	mov kumo_lapic_eoi(%rip), %rax
	movl $0, (%rax)
	pop %rax
	iretq

/* A device interrupt whose driver re-checks its queue after every hlt (virtio-9p):
 * acknowledge and return. */
	.p2align 4
	.globl kumo_isr_wake
kumo_isr_wake:
	push %rax
	incq kumo_irq_count(%rip)
	mov kumo_lapic_eoi(%rip), %rax
	movl $0, (%rax)
	pop %rax
	iretq

/* The power button (microvm's GED, edge): a flag the kernel's waits read. */
	.p2align 4
	.globl kumo_isr_stop
kumo_isr_stop:
	push %rax
	movl $1, kumo_stop_pending(%rip)
	incq kumo_irq_count(%rip)
	mov kumo_lapic_eoi(%rip), %rax
	movl $0, (%rax)
	pop %rax
	iretq

	.p2align 4
	.globl kumo_isr_spurious
kumo_isr_spurious:
	iretq

/* Table of exception entry points for the IDT setup code. */
	.section .rodata
	.p2align 3
	.globl kumo_exc_stubs
kumo_exc_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exc_\v
	.endr
	.globl kumo_exc_unexpected
kumo_exc_unexpected:
	.quad exc_255

/* long kumo_call_on_stack(long (*fn)(void *), void *arg, void *stack_top):
 * runs fn(arg) on another stack and returns its result on the caller's stack. */
	.text
	.globl kumo_call_on_stack
kumo_call_on_stack:
	push %rbp
	mov %rsp, %rbp
	mov %rdx, %rsp
	and $~0xf, %rsp
	push %rbp              /* saved caller stack, also keeps 16-byte alignment below */
	push %rbp
	mov %rdi, %rax
	mov %rsi, %rdi
	xor %ebp, %ebp
	call *%rax
	pop %rbp
	pop %rbp
	mov %rbp, %rsp
	pop %rbp
	ret


/* int kumo_kjmp_save(struct kumo_kjmp *j): saves the callee-saved state; returns 0,
 * or the value given to kumo_kjmp_jump. void kumo_kjmp_jump(struct kumo_kjmp *j, int v)
 * resumes there (also from an exception handler: every exception is an interrupt gate,
 * so nothing needs an iret). */
	.text
	.globl kumo_kjmp_save
kumo_kjmp_save:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rax
	mov %rax, 48(%rdi)
	mov (%rsp), %rax
	mov %rax, 56(%rdi)
	stmxcsr 64(%rdi)
	fnstcw 68(%rdi)
	xor %eax, %eax
	ret

	.globl kumo_kjmp_jump
kumo_kjmp_jump:
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	ldmxcsr 64(%rdi)
	fldcw 68(%rdi)
	cld
	mov 48(%rdi), %rsp
	mov %esi, %eax
	jmp *56(%rdi)
	.section .note.GNU-stack, "", @progbits
