/*
 * CPL 3 for the test guests that need it (staleprobe, stubcheck): cpu.S's
 * tables with every exception to `unexpected` but #BP (DPL 3), the way
 * back from CPL 3, and #PF, the guest's own; run_user, and
 * user_as_switch for it. These guests make their kernel slot
 * user-accessible (like boot.S's tables), so CPL 3 runs the image's own
 * code, before and after they move onto shadow roots.
 */
#include "guest.h"
#include "cpl3.inc"

#define RFLAGS_IOPL3 0x3002	/* IOPL 3: CPL 3 may make hypercalls */

	.text
/*
 * usermode_setup(rdi = #PF handler): every exception vector to
 * `unexpected` but #BP (back from run_user) and #PF (rdi); cpu_setup
 * loads the tables.
 */
	.globl usermode_setup
usermode_setup:
	push %rbx
	push %rdi
	xor %ebx, %ebx
1:	lea unexpected(%rip), %rsi
	mov $GATE_KERNEL, %edx
	mov %ebx, %ecx
	call set_gate
	inc %ebx
	cmp $NR_VECTORS, %ebx
	jb 1b
	pop %rsi
	pop %rbx
	lea bp_handler(%rip), %rdi
	jmp cpu_setup

/*
 * run_user(rdi = entry): runs entry at CPL 3 with IOPL 3 on the user
 * stack until it executes int3, and returns there. The user code gets
 * every register but %rax and %rsp as they are here; run_user
 * returns every register it left but the callee-saved ones and %rsp.
 */
	.globl run_user
run_user:
	kernel_save
	push $GUEST_USER_DS
	lea user_stack_top(%rip), %rax
	push %rax
	push $RFLAGS_IOPL3
	push $GUEST_USER_CS
	push %rdi
	iretq

/* user_as_switch(rsi = handle) -> rax, user code for run_user: AS_SWITCH
 * from CPL 3, where the VMM runs no flush stub (so it may leave tables
 * that do not map the stub). */
	.globl user_as_switch
user_as_switch:
	mov %rsi, %rdi
	HC(UMBRA_HC_AS_SWITCH)
	int3

/* #BP from the user code's int3: back into run_user's caller. The user
 * code may have set DF; the kernel code expects it clear. */
bp_handler:
	cld
	kernel_resume

/* Any other exception: nothing these guests expect; stop with status 1. */
unexpected:
	lea unexpected_msg(%rip), %rdi
	jmp die

	.section .rodata
unexpected_msg:
	.asciz "usermode: an unexpected exception\n"

	.data
	.balign 8
kernel_rsp:
	.quad 0

	.bss
	.balign 16
	.space 4096
user_stack_top:
