/*
 * For the test guests whose command line picks a mode by its first word
 * (alias, misbehave, poolwrite).
 */
#include "guest.h"

	.text
/* find_mode(rdi = table, rsi = its end) -> rax: the table's entry (two
 * quadwords: name, handler) whose name is the first word of the command
 * line, the first such; 0 if none is. */
	.globl find_mode
find_mode:
	push %rbx
	push %r12
	push %r13
	mov %rdi, %rbx
	mov %rsi, %r12
	call cmdline
	mov %rax, %r13
1:	xor %eax, %eax
	cmp %r12, %rbx
	jae 2f
	mov (%rbx), %rdi
	mov %r13, %rsi
	call word_is
	add $16, %rbx
	test %eax, %eax
	jz 1b
	lea -16(%rbx), %rax
2:	pop %r13
	pop %r12
	pop %rbx
	ret

/* word_is(rdi = name, rsi = command line) -> eax 1 if its first word is
 * name (the word ends at a blank or the end), else 0. */
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
