/*
 * The CPU tables of the test guests that take exceptions of their own
 * (astest, alias, and through usermode.S staleprobe and stubcheck):
 * boot.S's GDT with a 64-bit TSS descriptor after it; the TSS, whose RSP0
 * gives the CPU a stack when an exception leaves CPL 3; and an IDT of
 * NR_VECTORS gates, all not present but the ones the guest sets.
 */
#include "guest.h"

#define TSS_SEL 0x28		/* after boot.S's selectors */

	.text
/*
 * cpu_setup(rdi = #BP handler, rsi = #PF handler): the #BP gate, DPL 3
 * (int3 from CPL 3 is the way back from user code), and the #PF gate;
 * then lidt, the TSS and its descriptor, lgdt and ltr. Gates the guest
 * set before stay.
 */
	.globl cpu_setup
cpu_setup:
	push %rsi
	mov %rdi, %rsi
	mov $3, %ecx
	mov $GATE_USER, %edx
	call set_gate
	pop %rsi
	mov $14, %ecx
	mov $GATE_KERNEL, %edx
	call set_gate
	lidt idt_ptr(%rip)
	lea interrupt_stack_top(%rip), %rax
	mov %rax, tss+4(%rip)		/* RSP0 */
	lea tss(%rip), %rax		/* the TSS descriptor: base below 4 GiB */
	mov %rax, %rcx
	shl $40, %rcx
	shr $24, %rcx			/* base 23:0 at bits 16..39 */
	mov %rax, %rdx
	shr $24, %rdx
	shl $56, %rdx			/* base 31:24 at bits 56..63 */
	or %rdx, %rcx
	or $0x67, %rcx			/* limit */
	movabs $0x0000890000000000, %rdx /* present, available 64-bit TSS */
	or %rdx, %rcx
	mov %rcx, gdt_tss(%rip)
	lgdt gdt_ptr(%rip)
	mov $TSS_SEL, %ax
	ltr %ax
	ret

/* set_gate(rsi = handler, ecx = vector, edx = GATE_KERNEL or GATE_USER):
 * the vector's gate, to handler in GUEST_CS. Clobbers %rax, %rcx, %rdi. */
	.globl set_gate
set_gate:
	lea idt(%rip), %rdi
	shl $4, %rcx
	add %rcx, %rdi
	mov %rsi, %rax
	mov %ax, (%rdi)			/* offset 15:0 */
	movw $GUEST_CS, 2(%rdi)
	movb $0, 4(%rdi)
	mov %dl, 5(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)		/* offset 31:16 */
	shr $16, %rax
	mov %eax, 8(%rdi)		/* offset 63:32 */
	movl $0, 12(%rdi)
	ret

	.data
	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: kernel code */
	.quad 0x00cf92000000ffff	/* 0x10: kernel data */
	.quad 0x00affa000000ffff	/* 0x18: user code */
	.quad 0x00cff2000000ffff	/* 0x20: user data */
gdt_tss:
	.quad 0, 0			/* TSS_SEL: the TSS, filled in by cpu_setup */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt
idt_ptr:
	.word NR_VECTORS * 16 - 1
	.quad idt
	.balign 16
tss:
	.fill 104, 1, 0
	.balign 16
idt:
	.fill NR_VECTORS * 2, 8, 0

	.bss
	.balign 16
	.space 4096
interrupt_stack_top:
