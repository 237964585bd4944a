/*
 * alias: a hostile guest of class 2 (issue 10): aliased guest page-table
 * pages. The shadow is sound only if every guest table page it was built
 * from is one table, reached one way, that nobody but the VMM writes; each
 * mode breaks that rule once and checks the VMM's answer. The first word
 * of the command line picks the mode; each prints "alias: MODE: ok" and
 * exits 0, or "alias: MODE: FAIL <what>" and exits 1.
 *
 * Address space A: PML4 slot 1 -> pdpt_a -> pd_a -> pt_a (code, data,
 * stack at USER_VA) and pt_a2 (data_2 at USER_VA + 2 MiB). The secret page
 * is mapped by the kernel slot only (supervisor): CPL 3 must never read it.
 *
 *   root      AS_CREATE of A's root again, of A's PDPT, and of a page a
 *             user leaf maps: -EEXIST, -EEXIST, -EACCES.
 *   link      AS_UPDATE of PML4 slot 2 to point at slot 1's PDPT (one
 *             table reached by two walks): not applied, -EEXIST in %rdx.
 *             CPL 3 still reads its data through slot 1.
 *   forkroot  AS_FORK(A) into B's root, which is registered already:
 *             -EEXIST; into A's own root: -EINVAL.
 *   leaf      pt_a[3] is a user leaf that maps pt_a2, a page table of
 *             another walk. CPL 3 reads data_2 (pt_a2 is now a shadowed
 *             table), then writes a PTE into pt_a2 through the alias that
 *             maps the secret page, and reads it: the write's AS_FAULT is
 *             -EACCES, and the program is stopped before it reads.
 *   behind    after a share-mode fork A -> B (their pmd page shared by
 *             copies), the guest kernel writes B's registered PT behind
 *             the VMM's back (an entry mapping the secret at HOLE_VA) and
 *             asks AS_FAULT(B, HOLE_VA): the fill must not land in the
 *             shared page (it is unshared first), so CPL 3 in A, whose
 *             tables do not map HOLE_VA, takes a #PF that AS_FAULT calls
 *             the guest's own (UMBRA_FAULT_GUEST). B reads its own entry.
 *   stale     the same fork, then the guest kernel re-points B's PD entry
 *             behind the VMM's back at a new PT that maps the secret at
 *             HOLE_VA: AS_FAULT(B, HOLE_VA) is -ESTALE (B's shadow link
 *             stands for the old PT), and CPL 3 in A cannot read it.
 *             (B reads its data first, so that its shadow links its PT
 *             in lazy mode too.)
 * Every mode makes a phase marker after its attack (with --check the VMM
 * checks every invariant there, soundness included) and destroys what it
 * made.
 *
 * What 7c60f4c did (each FAIL line names it): root, link and forkroot
 * were accepted; in link, an AS_UPDATE through the alias that unmapped
 * the data page left slot 1's shadow mapping it (CPL 3 read data its
 * kernel had unmapped); in leaf, behind and stale, CPL 3 read the secret,
 * memory its kernel never mapped for it.
 *
 * Needs --mem 64M, --vcpus 1 and a shadow mode.
 */
/* die prints "alias: MODE: FAIL " itself */
#define FAIL_PREFIX ""
#include "guest.h"
#include "report.inc"
#include "tables.inc"
#include "cpl3.inc"
#include "modes.inc"

#define SLOT2_VA 0x10000000000 /* PML4 slot 2 */
#define DATA_VA (USER_VA + 0x1000)
#define STACK_TOP (USER_VA + 0x3000)
#define ALIAS_VA (USER_VA + 0x3000)    /* leaf: pt_a[3] maps pt_a2 */
#define HOLE_VA (USER_VA + 0x4000)     /* A's tables never map it */
#define DATA2_VA (USER_VA + 0x200000)  /* pt_a2[0] */
#define TARGET_VA (USER_VA + 0x201000) /* pt_a2[1] */
#define PTE_USER_RO_A 0x25 /* present, user, accessed */
#define SECRET 0x5ec7e75ec7e75ec7
#define VALUE_1 0x1111111111111111
#define VALUE_2 0x2222222222222222
#define KILLED 0x6b696c6c65646b69 /* run_user: the program was stopped */
#define LOOPING 0x100              /* pf_rc: the same fault came back and back */
#define E(x) (-(x))

/* expect value, "what": %rax must be value. */
.macro expect val, what
	mov $\val, %rcx
	cmp %rcx, %rax
	je 8f
	fail_val "\what returned", %rax
8:
.endm

	.text
	.globl guest_main
guest_main:
	require_64m
	require_shadow
	lea bp_handler(%rip), %rdi
	lea pf_handler(%rip), %rsi
	call cpu_setup
	lea modes(%rip), %rdi
	lea modes_end(%rip), %rsi
	call find_mode
	test %rax, %rax
	jnz 1f
	fail "unknown mode"
1:	mov %rax, %rbx
	mov (%rbx), %rax
	mov %rax, mode(%rip)
	mov $UMBRA_PHASE_SETUP, %edi
	HC(UMBRA_HC_PHASE)
	call *8(%rbx)
	/* the attack is over: check the invariants (--check), clean up */
	mov $UMBRA_PHASE_EXIT_WAIT, %edi
	HC(UMBRA_HC_PHASE)
	call teardown
	lea ok_msg(%rip), %rdi
	call say
	xor %eax, %eax
	ret

/* ---- the modes ---- */

mode_root:
	call create_a
	call fill_a_data
	lea root_a(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	expect E(UMBRA_EEXIST), "AS_CREATE of A's root, registered already,"
	lea pdpt_a(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	expect E(UMBRA_EEXIST), "AS_CREATE of A's PDPT, a page table already,"
	lea data_1(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	expect E(UMBRA_EACCES), "AS_CREATE of a page that a user leaf maps"
	ret

mode_link:
	call create_a
	call fill_a_data
	movabs $SLOT2_VA, %rax
	mov %rax, upd_va(%rip)
	lea pdpt_a(%rip), %rax
	or $PTE_USER_RW, %rax
	mov %rax, upd_value(%rip)
	movl $4, upd_level(%rip)
	call update_a
	test %rax, %rax
	jz 1f
	/* 7c60f4c: applied. Unmap the data page through the alias, as the
	 * kernel may, and look at it through slot 1. */
	movabs $SLOT2_VA + 0x1000, %rax
	mov %rax, upd_va(%rip)
	movq $0, upd_value(%rip)
	movl $1, upd_level(%rip)
	call update_a
	call switch_a
	lea u_read(%rip), %rdi
	movabs $DATA_VA, %rsi
	call run_user
	movabs $VALUE_1, %rcx
	cmp %rcx, %rax
	jne 2f
	fail "AS_UPDATE linked slot 2 to slot 1's PDPT; the kernel unmapped the data page through it, and CPL 3 still read it through slot 1 (a stale view)"
2:	fail "AS_UPDATE linked slot 2 to slot 1's PDPT, a page table already"
1:	mov %rdx, %rax
	expect E(UMBRA_EEXIST), "AS_UPDATE of slot 2 to slot 1's PDPT: error"
	call switch_a
	lea u_read(%rip), %rdi
	movabs $DATA_VA, %rsi
	call run_user
	movabs $VALUE_1, %rcx
	cmp %rcx, %rax
	je 1f
	fail_val "CPL 3 read its data after the refused update:", %rax
1:	lea u_read(%rip), %rdi
	movabs $SLOT2_VA + 0x1000, %rsi
	call run_user
	movabs $KILLED, %rcx
	cmp %rcx, %rax
	je 1f
	fail_val "CPL 3 read through slot 2, which its kernel never linked:", %rax
1:	ret

mode_forkroot:
	call create_a
	call fill_a_data
	call fork_b
	lea root_b(%rip), %rsi
	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_FORK)
	expect E(UMBRA_EEXIST), "AS_FORK(A) into B's root, registered already,"
	lea root_a(%rip), %rsi
	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_FORK)
	expect E(UMBRA_EINVAL), "AS_FORK(A) into A's own root"
	ret

mode_leaf:
	lea pt_a2(%rip), %rax		/* the alias: a user leaf maps a PT */
	or $PTE_USER_RW, %rax
	mov %rax, pt_a+24(%rip)
	call create_a
	call switch_a
	lea u_read(%rip), %rdi		/* pt_a2 becomes a shadowed table */
	movabs $DATA2_VA, %rsi
	call run_user
	movabs $VALUE_2, %rcx
	cmp %rcx, %rax
	je 1f
	fail_val "CPL 3 read data_2:", %rax
1:	lea u_leaf(%rip), %rdi
	movabs $ALIAS_VA + 8, %rsi	/* pt_a2[1], through the alias */
	lea secret(%rip), %rdx		/* a PTE that maps the secret */
	or $PTE_USER_RO_A, %rdx
	movabs $TARGET_VA, %rcx		/* where pt_a2[1] maps it */
	call run_user
	movabs $SECRET, %rcx
	cmp %rcx, %rax
	jne 1f
	fail "CPL 3 wrote a PTE through a user leaf that maps a page table and read the secret, which its kernel never mapped"
1:	movabs $KILLED, %rcx
	cmp %rcx, %rax
	je 1f
	fail_val "the program was not stopped at its write through the alias:", %rax
1:	mov pf_va(%rip), %rax
	movabs $ALIAS_VA + 8, %rcx
	cmp %rcx, %rax
	je 1f
	fail_val "the program was stopped at another address:", %rax
1:	mov pf_rc(%rip), %rax
	expect E(UMBRA_EACCES), "AS_FAULT of a user write to a page table"
	cmpq $0, pt_a2+8(%rip)
	je 1f
	fail "the write through the alias landed"
1:	ret

mode_behind:
	call create_a
	call switch_a
	call read_a_data
	call fork_b
	/* behind the VMM's back: B's PT maps the secret at HOLE_VA */
	lea secret(%rip), %rax
	or $PTE_USER_RO_A, %rax
	mov %rax, pt_b+32(%rip)
	mov as_b(%rip), %rdi
	movabs $HOLE_VA, %rsi
	mov $UMBRA_PF_USER, %edx
	HC(UMBRA_HC_AS_FAULT)
	expect UMBRA_FAULT_FIXED, "AS_FAULT(B) of an entry its kernel wrote itself"
	call a_cannot_read_hole
	/* B's own kernel did map it: B reads it */
	mov as_b(%rip), %rdi
	call switch_to
	lea u_read(%rip), %rdi
	movabs $HOLE_VA, %rsi
	call run_user
	movabs $SECRET, %rcx
	cmp %rcx, %rax
	je 1f
	fail_val "B did not read the entry its kernel wrote:", %rax
1:	ret

mode_stale:
	call create_a
	call switch_a
	call read_a_data
	call fork_b
	/* B reads its data too: its shadow has a link for its PT in every
	 * policy (in lazy mode it had none) */
	mov as_b(%rip), %rdi
	call switch_to
	call read_a_data
	/* pt_x: B's PT and the secret at HOLE_VA; B's PD entry re-pointed
	 * at it behind the VMM's back */
	lea pt_b(%rip), %rsi
	lea pt_x(%rip), %rdi
	mov $512, %ecx
	rep movsq
	lea secret(%rip), %rax
	or $PTE_USER_RO_A, %rax
	mov %rax, pt_x+32(%rip)
	lea pd_b(%rip), %rdi
	lea pt_x(%rip), %rsi
	call repoint
	mov as_b(%rip), %rdi
	movabs $HOLE_VA, %rsi
	mov $UMBRA_PF_USER, %edx
	HC(UMBRA_HC_AS_FAULT)
	mov %rax, %rbx
	call a_cannot_read_hole
	mov %rbx, %rax
	expect E(UMBRA_ESTALE), "AS_FAULT(B) through a PD entry re-pointed behind the VMM's back"
	/* put B's PD entry back, so that B's teardown finds its own tables */
	lea pd_b(%rip), %rdi
	lea pt_b(%rip), %rsi
	call repoint
	ret

/* CPL 3 in A reads HOLE_VA: A's tables do not map it, so the program is
 * stopped by a #PF that AS_FAULT calls the guest's own. */
a_cannot_read_hole:
	call switch_a
	lea u_read(%rip), %rdi
	movabs $HOLE_VA, %rsi
	call run_user
	movabs $SECRET, %rcx
	cmp %rcx, %rax
	jne 1f
	fail "CPL 3 in A read the secret at a va A's kernel never mapped: B's fill reached a pmd page they share"
1:	movabs $KILLED, %rcx
	cmp %rcx, %rax
	je 1f
	fail_val "CPL 3 in A read at a va A's kernel never mapped:", %rax
1:	mov pf_rc(%rip), %rax
	expect UMBRA_FAULT_GUEST, "AS_FAULT(A) at a va A's kernel never mapped"
	ret

/* ---- address spaces ---- */

create_a:
	lea root_a(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 1f
	fail_val "AS_CREATE(A) returned", %rax
1:	mov %rax, as_a(%rip)
	ret

/* AS_FAULT fills A's data page (and links A's tables in the shadow). */
fill_a_data:
	mov as_a(%rip), %rdi
	movabs $DATA_VA, %rsi
	mov $UMBRA_PF_USER, %edx
	HC(UMBRA_HC_AS_FAULT)
	expect UMBRA_FAULT_FIXED, "AS_FAULT(A, data)"
	ret

/* CPL 3 reads its data (in A, or in B, which shares A's data page):
 * code, stack and data filled. */
read_a_data:
	lea u_read(%rip), %rdi
	movabs $DATA_VA, %rsi
	call run_user
	movabs $VALUE_1, %rcx
	cmp %rcx, %rax
	je 1f
	fail_val "CPL 3 read its data:", %rax
1:	ret

/* The guest side of fork: B's tables a copy of A's; then AS_FORK(A). */
fork_b:
	lea root_a(%rip), %rsi
	lea root_b(%rip), %rdi
	mov $5 * 512, %ecx		/* root, PDPT, PD, PT, PT2: contiguous */
	rep movsq
	lea root_b+8(%rip), %rdi
	lea pdpt_b(%rip), %rsi
	call repoint
	lea pdpt_b(%rip), %rdi
	lea pd_b(%rip), %rsi
	call repoint
	lea pd_b(%rip), %rdi
	lea pt_b(%rip), %rsi
	call repoint
	lea pd_b+8(%rip), %rdi
	lea pt_b2(%rip), %rsi
	call repoint
	mov as_a(%rip), %rdi
	lea root_b(%rip), %rsi
	HC(UMBRA_HC_AS_FORK)
	test %rax, %rax
	jg 1f
	fail_val "AS_FORK(A) returned", %rax
1:	mov %rax, as_b(%rip)
	ret

/* update_a(): AS_UPDATE(A, upd, 1) -> rax applied, rdx the error */
update_a:
	mov as_a(%rip), %rdi
	lea upd(%rip), %rsi
	mov $1, %edx
	HC(UMBRA_HC_AS_UPDATE)
	ret

switch_a:
	mov as_a(%rip), %rdi
/* switch_to(rdi = handle) */
switch_to:
	mov %rdi, cur_as(%rip)
	HC(UMBRA_HC_AS_SWITCH)
	test %rax, %rax
	jnz 1f
	ret
1:	fail_val "AS_SWITCH returned", %rax

/* Unloads and destroys B and A. */
teardown:
	mov $UMBRA_AS_KERNEL, %edi
	call switch_to
	mov as_b(%rip), %rdi
	test %rdi, %rdi
	jz 1f
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 1f
	fail_val "AS_DESTROY(B) returned", %rax
1:	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 1f
	fail_val "AS_DESTROY(A) returned", %rax
1:	ret

/* ---- CPL 3 ---- */

/*
 * run_user(rdi = entry in the user code page, rsi, rdx, rcx = the
 * program's rdi, rsi, rdx): runs it at CPL 3 until it executes int3 and
 * returns its %rax, or KILLED if a #PF stopped it (pf_rc holds what
 * AS_FAULT said, pf_va the address).
 */
run_user:
	kernel_save
	movq $0, pf_count(%rip)
	lea user_code(%rip), %rax	/* its address in the user mapping */
	sub %rax, %rdi
	movabs $USER_VA, %rax
	add %rax, %rdi
	mov %rdi, %r8
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	push $GUEST_USER_DS
	movabs $STACK_TOP, %rax
	push %rax
	push $0x2
	push $GUEST_USER_CS
	push %r8
	iretq

/* #BP from the program's int3: back into run_user's caller. */
bp_handler:
	kernel_resume user_done

/* #PF: ask the VMM; FIXED or SPURIOUS retries, anything else stops the
 * program. A #PF in the kernel is a bug of this guest. */
pf_handler:
	fault_save
	testb $3, 56(%rsp)		/* the CS it came from */
	jnz 1f
	mov %cr2, %rsi
	fail_val "#PF in the kernel at", %rsi
1:	mov %cr2, %rsi
	mov 40(%rsp), %rdx		/* the error code */
	mov cur_as(%rip), %rdi
	HC(UMBRA_HC_AS_FAULT)
	mov %rsi, pf_va(%rip)
	mov %rax, pf_rc(%rip)
	cmp $UMBRA_FAULT_FIXED, %rax
	je 2f
	cmp $UMBRA_FAULT_SPURIOUS, %rax
	jne 3f
2:	incq pf_count(%rip)
	cmpq $64, pf_count(%rip)
	jb 4f
	movq $LOOPING, pf_rc(%rip)
3:	mov kernel_rsp(%rip), %rsp	/* stop the program */
	movabs $KILLED, %rax
	jmp user_done
4:	fault_return

/* ---- output ---- */

/* say(rdi = text): "alias: MODE: text" */
say:
	push %rdi
	lea prefix(%rip), %rdi
	call puts
	mov mode(%rip), %rdi
	call puts
	lea colon(%rip), %rdi
	call puts
	pop %rdi
	jmp puts

/* die(rdi = message): "alias: MODE: FAIL message", exit 1 */
die:
	push %rdi
	lea fail_msg(%rip), %rdi
	call say
	pop %rdi
	call puts
	jmp exit1

/* die_val(rdi = message, rsi = value) */
die_val:
	push %rsi
	push %rdi
	lea fail_msg(%rip), %rdi
	call say
	pop %rdi
	call puts
	pop %rdi
	call put_hex
	lea newline(%rip), %rdi
	call puts
exit1:
	mov $1, %edi
	HC(UMBRA_HC_EXIT)
1:	hlt
	jmp 1b

/* The user program: position-independent, one page, mapped at USER_VA. */
	.balign 4096
user_code:
/* u_read(rdi = va) -> the quadword there */
u_read:
	mov (%rdi), %rax
	int3
/* u_leaf(rdi = va of a PTE through the alias, rsi = the PTE, rdx = va it
 * maps then) -> the quadword there */
u_leaf:
	mov %rsi, (%rdi)
	mov (%rdx), %rax
	int3
	.balign 4096

	.section .rodata
prefix:		.asciz "alias: "
colon:		.asciz ": "
ok_msg:		.asciz "ok\n"
fail_msg:	.asciz "FAIL "
newline:	.asciz "\n"
unknown_name:	.asciz "?"

	.data
	.balign 8
modes:
	mode "root", mode_root
	mode "link", mode_link
	mode "forkroot", mode_forkroot
	mode "leaf", mode_leaf
	mode "behind", mode_behind
	mode "stale", mode_stale
modes_end:
mode:	.quad unknown_name
as_a:	.quad 0
as_b:	.quad 0
cur_as:	.quad 0
kernel_rsp: .quad 0
pf_count: .quad 0
pf_rc:	.quad 0
pf_va:	.quad 0
upd:				/* struct umbra_pt_update */
upd_va:	.quad 0
upd_value: .quad 0
upd_level: .long 0
	.long 0

/* The kernel slot: RAM only (64 MiB by 2 MiB pages), supervisor. */
	kernel_slot PTE_KERNEL, PDE_KERNEL_2M

/* A's tables, contiguous and in this order (fork_b copies them as one
 * block): root, PDPT, PD, PT (USER_VA), PT2 (USER_VA + 2 MiB). */
	table root_a, kpdpt + PTE_KERNEL, pdpt_a + PTE_USER_RW
	table pdpt_a, pd_a + PTE_USER_RW
	table pd_a, pt_a + PTE_USER_RW, pt_a2 + PTE_USER_RW
	/* pt_a[3]: the alias, in mode leaf */
	table pt_a, user_code + PTE_USER_RO, data_1 + PTE_USER_RW, user_stack + PTE_USER_RW
	table pt_a2, data_2 + PTE_USER_RW

	frame data_1, VALUE_1
	frame data_2, VALUE_2
/* Mapped by the kernel slot only: no user leaf of the kernel's maps it. */
	frame secret, SECRET

	.bss
	.balign 4096
root_b:	.space 4096
pdpt_b:	.space 4096
pd_b:	.space 4096
pt_b:	.space 4096
pt_b2:	.space 4096
pt_x:	.space 4096
user_stack: .space 4096
