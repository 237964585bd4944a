/*
 * For the test guests that copy their own page tables for a fork (astest,
 * alias): the copy's entries that link the parent's tables are re-pointed
 * at the copy's own.
 */
#include "guest.h"

	.text
/* repoint(rdi = entry, rsi = table): the entry keeps its flags and links
 * table. Clobbers %rax. */
	.globl repoint
repoint:
	mov (%rdi), %rax
	and $0xfff, %eax
	or %rsi, %rax
	mov %rax, (%rdi)
	ret
