/* common/lazylib_x86_64.S - the resolver entry of lazily linked libraries
 * (common/lazylib.h): a stub's slot leads here with r10 = the library's struct
 * kumo_lazylib and r11 = the symbol's index (both scratch across calls in the System V
 * ABI, never arguments of a C function); the caller's arguments are still in their
 * registers and its return address on the stack. */
	.text
	.globl kumo_lazylib_enter
	.hidden kumo_lazylib_enter
	.type kumo_lazylib_enter, @function
kumo_lazylib_enter:
	.cfi_startproc
	pushq %rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq %rsp, %rbp
	.cfi_def_cfa_register %rbp
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %r8
	pushq %r9
	pushq %rax			/* al: vector registers of a variadic call */
	subq $136, %rsp			/* xmm0-7, and the call below 16-byte aligned */
	movdqu %xmm0, 0(%rsp)
	movdqu %xmm1, 16(%rsp)
	movdqu %xmm2, 32(%rsp)
	movdqu %xmm3, 48(%rsp)
	movdqu %xmm4, 64(%rsp)
	movdqu %xmm5, 80(%rsp)
	movdqu %xmm6, 96(%rsp)
	movdqu %xmm7, 112(%rsp)
	movq %r10, %rdi
	movq %r11, %rsi
	call kumo_lazylib_resolve
	movq %rax, %r11			/* the library's function */
	movdqu 0(%rsp), %xmm0
	movdqu 16(%rsp), %xmm1
	movdqu 32(%rsp), %xmm2
	movdqu 48(%rsp), %xmm3
	movdqu 64(%rsp), %xmm4
	movdqu 80(%rsp), %xmm5
	movdqu 96(%rsp), %xmm6
	movdqu 112(%rsp), %xmm7
	addq $136, %rsp
	popq %rax
	popq %r9
	popq %r8
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
	popq %rbp
	.cfi_def_cfa %rsp, 8
	jmp *%r11
	.cfi_endproc
	.size kumo_lazylib_enter, .-kumo_lazylib_enter

	.section .note.GNU-stack, "", @progbits
