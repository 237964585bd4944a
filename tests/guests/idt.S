/*
 * IDT gates, for the test guests that set up their own IDT (astest,
 * alias, and usermode.S for staleprobe and stubcheck).
 */
#include "guest.h"

	.text
/* set_gate(rdi = IDT, ecx = vector, rsi = handler, edx = GATE_KERNEL or
 * GATE_USER): the vector's gate, to handler in GUEST_CS. Clobbers %rax,
 * %rcx, %rdi. */
	.globl set_gate
set_gate:
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
