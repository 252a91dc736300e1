/* kernel/arch/x86_64/switch.S - kernel threads: the voluntary switch, a new thread's first frame, the timer interrupt that may preempt compiled code (full register and SSE/AVX state), and the way a preempted thread is killed. */

/* void kthread_switch(uint64_t *save_rsp, uint64_t new_rsp): saves the System V
 * callee-saved state (and MXCSR, the x87 control word) on this stack, stores the stack
 * pointer in *save_rsp and resumes the thread whose stack pointer is new_rsp. Called
 * with interrupts off; returns when something switches back. */
	.text
	.code64
	.globl kthread_switch
kthread_switch:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	sub $8, %rsp
	stmxcsr (%rsp)
	fnstcw 4(%rsp)
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	ldmxcsr (%rsp)
	fldcw 4(%rsp)
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

/* Where a new thread's first kthread_switch returns to (sched.c builds that frame):
 * a fresh 16-byte aligned call into kthread_main, which never returns. */
	.globl kthread_entry
kthread_entry:
	xor %ebp, %ebp
	and $~0xf, %rsp
	call kthread_main
	ud2

/* The LAPIC timer. Unlike the device interrupts (isr.S: a flag and an EOI), it runs C,
 * which may switch threads (sched.c, sched_tick): it saves every general register on
 * the interrupted stack (a thread's own: this vector has no IST) and the whole SSE/AVX
 * state into the current thread's area (kumo_fpu_area), so what the interrupted code
 * had in any register survives both the C code and other threads. */
	.p2align 4
	.globl kumo_isr_timer
kumo_isr_timer:
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
	incq kumo_irq_count(%rip)
	mov kumo_fpu_area(%rip), %rcx
	cmpb $0, kumo_fpu_xsave(%rip)
	je 1f
	mov $-1, %eax
	mov $-1, %edx
	xsave64 (%rcx)
	jmp 2f
1:	fxsave64 (%rcx)
2:	mov %rsp, %rdi
	mov %rsp, %rbx
	and $~0xf, %rsp
	cld
	call kumo_timer_entry
	mov %rbx, %rsp
	/* The current thread again (possibly after others ran): its area. */
	mov kumo_fpu_area(%rip), %rcx
	cmpb $0, kumo_fpu_xsave(%rip)
	je 3f
	mov $-1, %eax
	mov $-1, %edx
	xrstor64 (%rcx)
	jmp 4f
3:	fxrstor64 (%rcx)
4:	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	iretq

/* A preempted thread that was killed resumes here instead of its compiled code
 * (sched_tick rewrites the saved rip): nothing of the kernel is on its stack then, so
 * it unwinds to its guarded call like a trap (kthread_killed, sched.c). */
	.globl kthread_kill_entry
kthread_kill_entry:
	and $~0xf, %rsp
	call kthread_killed
	ud2

	.data
	.p2align 3
	.globl kumo_fpu_area
kumo_fpu_area:
	.quad boot_fpu_area
	.globl kumo_irq_count
kumo_irq_count:
	.quad 0
	.globl kumo_fpu_xsave
kumo_fpu_xsave:
	.byte 0

	.bss
	.p2align 6
	.globl boot_fpu_area
boot_fpu_area:
	.skip 8192
	.section .note.GNU-stack, "", @progbits
