/*
 * idle: UMBRA_HC_IDLE parks the vCPU for its timeout when nothing kicks
 * it, and a kick made before the park ends the next park at once.
 *   1. IDLE(50 ms) with no kick pending must take at least 50 ms
 *      (UMBRA_HC_CLOCK before and after);
 *   2. KICK(0) then IDLE(10 s) must return in well under 10 s.
 * Prints "idle: ok" and exits 0, or prints what went wrong and exits 1.
 */
#include "guest.h"

#define PARK_NS 50000000	/* 50 ms */
#define LONG_NS 10000000000	/* 10 s */
#define QUICK_NS 5000000000	/* a latched kick must end the park sooner */

	.text
	.globl guest_main
guest_main:
	push %rbx
	HC(UMBRA_HC_CLOCK)
	mov %rax, %rbx
	mov $PARK_NS, %edi
	HC(UMBRA_HC_IDLE)
	HC(UMBRA_HC_CLOCK)
	sub %rbx, %rax
	cmp $PARK_NS, %rax
	jb early

	xor %edi, %edi
	HC(UMBRA_HC_KICK)
	HC(UMBRA_HC_CLOCK)
	mov %rax, %rbx
	mov $LONG_NS, %rdi
	HC(UMBRA_HC_IDLE)
	HC(UMBRA_HC_CLOCK)
	sub %rbx, %rax
	mov $QUICK_NS, %rcx
	cmp %rcx, %rax
	jae late

	lea ok_msg(%rip), %rdi
	call puts
	xor %eax, %eax
	pop %rbx
	ret
early:
	lea early_msg(%rip), %rdi
	jmp 1f
late:
	lea late_msg(%rip), %rdi
1:	call puts
	mov $1, %eax
	pop %rbx
	ret

	.section .rodata
ok_msg:
	.asciz "idle: ok\n"
early_msg:
	.asciz "idle: IDLE(50 ms) returned early with nothing to wake it\n"
late_msg:
	.asciz "idle: IDLE(10 s) after a KICK did not return at once\n"
