/*
 * hello: prints a line through the 16550 (one line-status read and one data
 * write per byte) and exits 0: 2 exits per byte and 1 for the exit.
 */
#include "guest.h"

	.text
	.globl guest_main
guest_main:
	lea message(%rip), %rsi
1:	movzbl (%rsi), %eax
	test %eax, %eax
	jz 3f
2:	mov $UMBRA_COM1_LSR, %dx
	in %dx, %al
	test $0x20, %al			/* transmitter holding register empty */
	jz 2b
	movzbl (%rsi), %eax
	mov $UMBRA_COM1_PORT, %dx
	out %al, %dx
	inc %rsi
	jmp 1b
3:	xor %eax, %eax
	ret

	.section .rodata
message:
	.asciz "hello from umbra\n"
