/*
 * hypercount: makes exactly N hypercalls of each kind (N from the command
 * line, default 1), so that a test can check the VMM's counts:
 *   vCPU 0: PHASE(UMBRA_PHASE_USER) x N (the first is charged to "boot",
 *           the rest and everything after to "user6"), then VERSION,
 *           CONSOLE("hypercount\n"), CLOCK, KICK(0), IDLE(0), CPU_START(1)
 *           (the first starts vCPU 1), PAGE_CLEAR(0) and PAGE_COPY(0, 0)
 *           (refused: a page onto itself), each AS_* call and the unknown
 *           number 11, N times each; it waits for vCPU 1 and exits 0.
 *   vCPU 1: CLOCK x N, then sets `done` and halts.
 */
#include "guest.h"

.macro repeat nr
	mov %r12, %rbx
1:	mov $\nr, %eax
	out %eax, $UMBRA_HC_PORT
	dec %rbx
	jnz 1b
.endm

	.text
	.globl guest_main
guest_main:
	push %rbx
	push %r12
	call cmdline
	xor %r12d, %r12d		/* N = the decimal number at the start */
1:	movzbl (%rax), %ecx
	sub $'0', %ecx
	cmp $9, %ecx
	ja 2f
	imul $10, %r12, %r12
	add %rcx, %r12
	inc %rax
	jmp 1b
2:	test %r12, %r12
	jnz 3f
	mov $1, %r12d
3:
	mov $UMBRA_PHASE_USER, %edi
	repeat UMBRA_HC_PHASE
	repeat UMBRA_HC_VERSION
	lea line(%rip), %rdi
	mov $line_end - line, %esi
	repeat UMBRA_HC_CONSOLE
	repeat UMBRA_HC_CLOCK
	xor %edi, %edi
	repeat UMBRA_HC_KICK
	xor %edi, %edi
	repeat UMBRA_HC_IDLE
	mov $1, %edi
	lea secondary(%rip), %rsi
	lea ap_stack_top(%rip), %rdx
	lea pml4(%rip), %rcx
	mov %r12, %r8
	repeat UMBRA_HC_CPU_START
	xor %edi, %edi
	xor %esi, %esi
	xor %edx, %edx
	repeat UMBRA_HC_PAGE_CLEAR
	repeat UMBRA_HC_PAGE_COPY
	repeat UMBRA_HC_AS_CREATE
	repeat UMBRA_HC_AS_DESTROY
	repeat UMBRA_HC_AS_FORK
	repeat UMBRA_HC_AS_FAULT
	repeat UMBRA_HC_AS_UPDATE
	repeat UMBRA_HC_AS_SWITCH
	repeat 11
	/* Wait for vCPU 1, if the VM has one (CPUID: ECX = vCPUs). */
	mov $UMBRA_CPUID_INFO, %eax
	cpuid
	cmp $2, %ecx
	jb 5f
4:	cmpl $0, done(%rip)
	jne 5f
	pause
	jmp 4b
5:	xor %eax, %eax
	pop %r12
	pop %rbx
	ret

/* vCPU 1: %rdi = its index, %rsi = N. */
secondary:
	mov %rsi, %r12
	repeat UMBRA_HC_CLOCK
	movl $1, done(%rip)
6:	hlt
	jmp 6b

	.section .rodata
line:
	.ascii "hypercount\n"
line_end:

	.data
done:
	.long 0

	.bss
	.balign 16
	.space 4096
ap_stack_top:
