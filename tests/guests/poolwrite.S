/*
 * poolwrite: a hostile guest of class 1 (issue 10): it writes the shadow
 * pool, the guest-physical pages that hold the tables the vCPU really
 * walks, and then asks the VMM to tear them down.
 *
 * The pool sits right above guest RAM (RAM_END here). The test guests'
 * boot tables (boot.S) identity-map the first GiB, pool included, so the
 * guest can reach it in two ways, chosen by the first word of the command
 * line:
 *   early  before its first UMBRA_HC_AS_SWITCH: AS_CREATE(A), AS_FAULT
 *          fills A's data page, and the guest, still on its boot tables,
 *          finds the shadow leaf by scanning the pool for it;
 *   cr3    after AS_SWITCH(A): it reads CR3 (the shadow root), loads its
 *          own CR3 (the boot tables) and follows the shadow walk root ->
 *          PDPT -> PD -> pmd page down to the same leaf.
 * Either way it prints
 *   "poolwrite: MODE: writing the shadow leaf at gpa 0x<16 hex digits>"
 * and stores BOGUS_LEAF there: a present user leaf naming frame
 * 0xffffffffff000, far past guest RAM.
 *
 * The right answer: the pool is a read-only memslot, so the store exits
 * as MMIO and the VMM stops the guest, exit code 126, with
 *   "umbra: vCPU 0: write of 8 byte(s) at guest-physical <that gpa>,
 *    which is not guest RAM (rip 0x...)".
 * The store never lands, so nothing the library reads back is the
 * guest's.
 *
 * What 7c60f4c did: the pool was part of the writable RAM memslot; the
 * store landed, and the AS_DESTROY that follows made the library drop its
 * count of the leaf's frame: frame_maps[(0xffffffffff000 >> 12)], 4 TiB
 * past the array, and umbra died of SIGSEGV.
 *
 * If the VMM lets the guest go on past the store and survives the
 * teardown, the guest says "poolwrite: MODE: FAIL ..." and exits 1. Needs
 * --mem 64M and a shadow mode.
 */
#define FAIL_PREFIX "poolwrite: FAIL "
#include "guest.h"
#include "report.inc"
#include "tables.inc"
#include "modes.inc"

#define DATA_VA (USER_VA + 0x1000)
#define FRAME_MASK 0x000ffffffffff000
#define BOGUS_LEAF 0x000ffffffffff067 /* present, writable, user, A, D */
#define SCAN_PAGES 64                  /* pool pages searched in mode early */

	.text
	.globl guest_main
guest_main:
	require_64m
	require_shadow
	lea modes(%rip), %rdi
	lea modes_end(%rip), %rsi
	call find_mode
	test %rax, %rax
	jnz 1f
	fail "unknown mode (early or cr3)"
1:	mov (%rax), %rcx
	mov %rcx, mode(%rip)		/* its name, for write_leaf */
	jmp *8(%rax)

/* Creates A and fills its data page's shadow leaf. */
make_as:
	lea root_a(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 1f
	fail "AS_CREATE(A)"
1:	mov %rax, as_a(%rip)
	mov %rax, %rdi
	movabs $DATA_VA, %rsi
	mov $UMBRA_PF_USER, %edx
	HC(UMBRA_HC_AS_FAULT)
	cmp $UMBRA_FAULT_FIXED, %rax
	je 1f
	fail "AS_FAULT(A, data) did not fill"
1:	ret

mode_early:
	call make_as
	/* Still on the boot tables: the pool is mapped at RAM_END. The
	 * leaf of DATA_VA is entry 1 of its pmd page and names data_page. */
	lea data_page(%rip), %rcx
	mov $RAM_END + 8, %rbx
	mov $SCAN_PAGES, %ebp
1:	mov (%rbx), %rax
	test $1, %al
	jz 2f
	movabs $FRAME_MASK, %rdx
	and %rdx, %rax
	cmp %rcx, %rax
	je 3f
2:	add $4096, %rbx
	dec %ebp
	jnz 1b
	fail "early: the shadow leaf is not in the first pool pages"
3:	call write_leaf
	/* 7c60f4c: the teardown reads the leaf back */
	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	fail "early: the guest wrote its shadow pool and the VMM went on"

mode_cr3:
	call make_as
	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_SWITCH)
	test %rax, %rax
	jz 1f
	fail "AS_SWITCH(A)"
	/* On the shadow now: CR3 is its root, in the pool. */
1:	mov %cr3, %rbx
	movabs $FRAME_MASK, %r12
	and %r12, %rbx
	lea pml4(%rip), %rax		/* our own tables, which map the pool */
	mov %rax, %cr3
	mov 8(%rbx), %rbx		/* root[1]: the PDPT of slot 1 */
	and %r12, %rbx
	mov (%rbx), %rbx		/* PDPT[0]: the PD */
	and %r12, %rbx
	mov (%rbx), %rbx		/* PD[0]: the pmd page */
	test $1, %bl
	jnz 2f
	fail "cr3: the shadow walk of the data page is incomplete"
2:	and %r12, %rbx
	add $8, %rbx			/* entry 1: DATA_VA */
	mov (%rbx), %rax
	and %r12, %rax
	lea data_page(%rip), %rcx
	cmp %rcx, %rax
	je 3f
	fail "cr3: the shadow leaf does not map the data page"
3:	call write_leaf
	/* 7c60f4c: back on the shadow, unload A and tear it down */
	mov $UMBRA_AS_KERNEL, %edi
	HC(UMBRA_HC_AS_SWITCH)
	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	fail "cr3: the guest wrote its shadow pool and the VMM went on"

/* write_leaf(rbx = gpa of the leaf): says where, then writes it. */
write_leaf:
	lea msg_prefix(%rip), %rdi
	call puts
	mov mode(%rip), %rdi
	call puts
	puts_hex msg_writing, %rbx
	lea newline(%rip), %rdi
	call puts
	movabs $BOGUS_LEAF, %rax
	mov %rax, (%rbx)		/* the attack */
	ret

	.section .rodata
msg_prefix:
	.asciz "poolwrite: "
msg_writing:
	.asciz ": writing the shadow leaf at gpa "
newline:
	.asciz "\n"

	.data
	.balign 8
modes:
	mode "early", mode_early
	mode "cr3", mode_cr3
modes_end:
as_a:	.quad 0
mode:	.quad 0

/* The kernel slot: RAM only (64 MiB by 2 MiB pages), supervisor. */
	kernel_slot PTE_KERNEL, PDE_KERNEL_2M

/* A: one data page at DATA_VA. */
	table root_a, kpdpt + PTE_KERNEL, pdpt_a + PTE_USER_RW
	table pdpt_a, pd_a + PTE_USER_RW
	table pd_a, pt_a + PTE_USER_RW
	table pt_a, 0, data_page + PTE_USER_RW
data_page:
	.fill 512, 8, 0
