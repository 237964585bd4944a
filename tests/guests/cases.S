/*
 * The verdict lines of the test guests that check tables of cases against
 * the results they expect (badargs, pageops).
 */
#include "guest.h"
#include "report.inc"

	.text
/* put_counts(rdi = "<guest>: cases passed: ", rsi = cases passed, rdx =
 * errors among them): prints the line "<rdi>P, errors among them: E". */
	.globl put_counts
put_counts:
	push %rbx
	push %r12
	mov %rsi, %rbx
	mov %rdx, %r12
	call puts
	mov %rbx, %rdi
	call put_hex
	puts_hex with, %r12
	lea newline(%rip), %rdi
	call puts
	pop %r12
	pop %rbx
	ret

/* put_mismatch(rdi = "<guest>: FAIL ", rsi = what, rdx = what it returned,
 * rcx = what was expected): prints the line "<rdi><what> returned R
 * expected X". */
	.globl put_mismatch
put_mismatch:
	push %rbx
	push %r12
	push %r13
	mov %rsi, %rbx
	mov %rdx, %r12
	mov %rcx, %r13
	call puts
	mov %rbx, %rdi
	call puts
	puts_hex returned, %r12
	puts_hex expected, %r13
	lea newline(%rip), %rdi
	call puts
	pop %r13
	pop %r12
	pop %rbx
	ret

	.section .rodata
with:
	.asciz ", errors among them: "
returned:
	.asciz " returned "
expected:
	.asciz " expected "
newline:
	.asciz "\n"
