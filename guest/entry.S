/*
 * Trap entry and exit. Each vector's stub pushes an error code (0 where
 * the CPU pushes none) and the vector number, then trap_common saves the
 * general registers so that %rsp points at a struct trapframe (trap.h)
 * and calls trap(tf). When trap() returns, the frame at %rsp (maybe
 * another process's, copied in by the scheduler) is resumed.
 */
#include "x86.h"

	.text

.macro VECTOR n, err
	.align 16
vector\n:
	.if \err == 0
	pushq $0
	.endif
	pushq $\n
	jmp trap_common
.endm

/* Vectors that push an error code: 8, 10-14, 17, 21, 29, 30. */
VECTOR 0, 0
VECTOR 1, 0
VECTOR 2, 0
VECTOR 3, 0
VECTOR 4, 0
VECTOR 5, 0
VECTOR 6, 0
VECTOR 7, 0
VECTOR 8, 1
VECTOR 9, 0
VECTOR 10, 1
VECTOR 11, 1
VECTOR 12, 1
VECTOR 13, 1
VECTOR 14, 1
VECTOR 15, 0
VECTOR 16, 0
VECTOR 17, 1
VECTOR 18, 0
VECTOR 19, 0
VECTOR 20, 0
VECTOR 21, 1
VECTOR 22, 0
VECTOR 23, 0
VECTOR 24, 0
VECTOR 25, 0
VECTOR 26, 0
VECTOR 27, 0
VECTOR 28, 0
VECTOR 29, 1
VECTOR 30, 1
VECTOR 31, 0
VECTOR 32, 0

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	call trap
trapret:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp /* vector, error */
	iretq

/* void cpu_run(struct trapframe *tf): the idle loop fills *tf, then it runs. */
	.globl cpu_run
cpu_run:
	movq %rdi, %rsp
	call sched_idle
	jmp trapret

	.section .rodata
	.align 8
	.globl trap_vectors
trap_vectors:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32
	.quad vector\n
	.endr
