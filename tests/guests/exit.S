/*
 * How a test guest stops early: with a status, or failed (status 1)
 * after saying why. One chain of entry points, each falling into the
 * next; UMBRA_HC_EXIT does not return (the hlt loop is in case it does).
 * report.inc's fail and fail_val jump to die and die_val.
 */
#include "guest.h"

	.text
/* die_val(rdi = message, rsi = value): prints the message, the value in
 * hex and a newline; exits 1. */
	.globl die_val
die_val:
	push %rsi
	call puts
	pop %rdi
	call put_hex
	lea newline(%rip), %rdi
/* die(rdi = message): prints it; exits 1. */
	.globl die
die:
	call puts
/* exit_failed(): exits 1. */
	.globl exit_failed
exit_failed:
	mov $1, %edi
/* guest_exit(edi = status): exits with it. */
	.globl guest_exit
guest_exit:
	HC(UMBRA_HC_EXIT)
1:	hlt
	jmp 1b

	.section .rodata
newline:
	.asciz "\n"
