/*
 * For the test guests whose command line picks a mode by its first word
 * (alias, poolwrite).
 */
#include "guest.h"

	.text
/* word_is(rdi = name, rsi = command line) -> eax 1 if its first word is
 * name (the word ends at a blank or the end), else 0. */
	.globl word_is
word_is:
1:	movzbl (%rdi), %eax
	movzbl (%rsi), %ecx
	test %eax, %eax
	jz 2f
	cmp %eax, %ecx
	jne 3f
	inc %rdi
	inc %rsi
	jmp 1b
2:	cmp $' ', %ecx
	je 4f
	test %ecx, %ecx
	je 4f
3:	xor %eax, %eax
	ret
4:	mov $1, %eax
	ret
