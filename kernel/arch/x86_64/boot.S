/* kernel/arch/x86_64/boot.S - PVH entry: 32-bit protected mode to long mode with an identity map of the low 4 GiB. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define BOOT_STACK_SIZE (64 * 1024)

	.section .note.Xen, "a", @note
	.p2align 2
	.long 4                         /* namesz */
	.long 4                         /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY  /* type */
	.asciz "Xen"
	.p2align 2
	.long pvh_start32
	.p2align 2

	.section .boot.text, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	/* The earliest timestamp, for the kernel-entry-to-app figure. */
	mov %ebx, %esi
	rdtsc
	mov %eax, kumo_boot_tsc
	mov %edx, kumo_boot_tsc + 4
	mov %esi, %ebx

	/* Zero .bss (page tables and stacks live there). */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl
	mov %ebx, kumo_boot_start_info

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; each PD maps 1 GiB with 2 MiB pages. */
	mov $boot_pdpt, %eax
	or $0x3, %eax
	mov %eax, boot_pml4
	mov $boot_pd, %eax
	or $0x3, %eax
	xor %ecx, %ecx
1:	mov %eax, boot_pdpt(, %ecx, 8)
	add $0x1000, %eax
	inc %ecx
	cmp $4, %ecx
	jne 1b
	xor %ecx, %ecx
	mov $0x83, %eax                 /* present, writable, 2 MiB */
2:	mov %eax, boot_pd(, %ecx, 8)
	add $0x200000, %eax
	inc %ecx
	cmp $2048, %ecx
	jne 2b

	/* PAE (+ OSFXSR/OSXMMEXCPT now, so early C may use SSE). */
	mov %cr4, %eax
	or $((1 << 5) | (1 << 9) | (1 << 10)), %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	/* EFER.LME, and EFER.NXE when the CPU has NX. */
	mov $0x80000001, %eax
	cpuid
	mov $0x100, %esi
	bt $20, %edx
	jnc 3f
	or $0x800, %esi
3:	mov $0xc0000080, %ecx
	rdmsr
	or %esi, %eax
	wrmsr
	/* Paging + protection; MP set, EM/TS clear for SSE. */
	mov %cr0, %eax
	and $~((1 << 2) | (1 << 3)), %eax
	or $((1 << 31) | (1 << 1) | 1), %eax
	mov %eax, %cr0
	lgdt boot_gdt_ptr
	ljmp $0x08, $long_entry

	.code64
long_entry:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	lea boot_stack_top(%rip), %rsp
	xor %ebp, %ebp
	mov kumo_boot_start_info(%rip), %edi
	call kumo_kmain
4:	cli
	hlt
	jmp 4b

	.section .rodata
	.p2align 3
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.data
	.p2align 3
	.globl kumo_boot_tsc, kumo_boot_start_info
kumo_boot_tsc:
	.quad 0
kumo_boot_start_info:
	.quad 0

	.bss
	.p2align 12
	.globl boot_pml4
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4096 * 4
	.p2align 4
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip BOOT_STACK_SIZE
boot_stack_top:
	.section .note.GNU-stack, "", @progbits
