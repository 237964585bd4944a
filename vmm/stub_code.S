/*
 * The flush stub (vmm/stub.c): x86-64 code the VMM copies into a page of
 * its own, mapped supervisor-only in every shadow address space, and runs
 * on a vCPU at CPL 0 just after a hypercall, before the guest goes on:
 * it loads a new CR3, or reloads CR3, or invalidates a list of pages, then
 * jumps back to where the hypercall returns. It saves what it uses in its
 * data page (1 MiB above its code, per vCPU) and changes no flag: the
 * guest sees the hypercall return as if nothing ran in between.
 */
#include "stub_abi.h"

#define D(off) umbra_stub_code + STUB_DATA_OFFSET + (off)(%rip)

	.section .rodata
	.globl umbra_stub_code, umbra_stub_code_end
	.p2align 4
umbra_stub_code:
	mov %rcx, D(STUB_RCX)
	mov %rdx, D(STUB_RDX)
	mov %r8, D(STUB_R8)
	mov D(STUB_NEW_CR3), %rcx
	jrcxz 1f
	mov %rcx, %cr3			/* a new root: flushes all non-global entries */
	jmp 9f
1:	mov D(STUB_COUNT), %rcx
	lea 1(%rcx), %rdx		/* 0 if the count is STUB_RELOAD */
	xchg %rdx, %rcx
	jrcxz 8f
	xchg %rdx, %rcx
	lea D(STUB_VA_LIST), %rdx
2:	jrcxz 9f			/* jrcxz, lea, xchg: no flag changes */
	mov (%rdx), %r8
	invlpg (%r8)
	lea 8(%rdx), %rdx
	lea -1(%rcx), %rcx
	jmp 2b
8:	mov %cr3, %rcx
	mov %rcx, %cr3
9:	mov D(STUB_RCX), %rcx
	mov D(STUB_RDX), %rdx
	mov D(STUB_R8), %r8
	jmp *D(STUB_RETURN)
umbra_stub_code_end:

	.section .note.GNU-stack, "", @progbits
