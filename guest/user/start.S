/* The user program's entry: %rdi = the command line, %rsi = the CPU count
 * (set up by the kernel, proc.c). umain's return value is the exit status. */
#include "uapi.h"

	.section .text.entry, "ax"
	.globl _start
_start:
	andq $-16, %rsp
	call umain
	movq %rax, %rdi
	movl $SYS_EXIT, %eax
	int3
	ud2
