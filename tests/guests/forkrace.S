/*
 * forkrace: a hostile guest of class 2 (issue 10), with two vCPUs: it
 * aliases its page tables while the VMM walks them in AS_FORK.
 *
 * AS_FORK checks the guest's claim in a first pass over both trees (reads
 * only; a table met twice is -EINVAL, since a walk of a tree whose tables
 * are reached many times is exponential), then makes its changes in a
 * second pass over the same guest tables. Between the two, the guest can
 * change them. Both trees here map slot 1 only: one PDPT, NPD PDs of 512
 * PTs of 512 leaves each (vCPU 1 builds them), so each pass takes
 * milliseconds. vCPU 1, at CPL 3 on the boot tables (which map the first
 * GiB user-writable; this KVM runs CPL 3 natively), waits until the
 * second pass has begun (it clears W in the parent's first leaf) and,
 * while that pass is still among the first PDs' leaves, points PDPT
 * entries NPD..511 of both trees at their last PD and root slots 2..510
 * at their PDPT. A second pass that follows those links walks about
 * 510 * 512 * 512 * 512 leaves: hours, with the parent's lock held, and
 * umbra's --timeout cannot stop it (the vCPU thread is inside the
 * library).
 *
 * vCPU 0 repeats: W back in both first leaves, AS_FORK(A) once vCPU 1
 * watches, then (vCPU 1 has cleared the aliases again) AS_DESTROY of the
 * child; MIN_ATTEMPTS times, and on until vCPU 1 has finished aliasing
 * while an AS_FORK ran (the host may run both vCPU threads on one core
 * for a while), at most MAX_ATTEMPTS. The right answer: every fork
 * returns after a second pass no longer than its first (pass 1 saw a
 * well-formed tree: a child handle), following no table it did not
 * check, the invariants hold with the child alive (a phase marker after
 * each fork: --check runs the checker there), and the guest prints
 *   "forkrace: ok: 0x... forks, the tables aliased during 0x... of them"
 * and exits 0. Without one aliasing during a fork the run proves nothing:
 * "forkrace: FAIL ...", exit 1.
 *
 * 7c60f4c's second pass marked the tables it met and skipped any met
 * before, as its first pass did, so it was not exposed; the second pass
 * of eeb5580 onwards follows every link it finds, and the run hangs.
 *
 * Needs --vcpus 2, --mem 64M and a shadow mode.
 */
#define FAIL_PREFIX "forkrace: FAIL "
#include "guest.h"
#include "report.inc"
#include "tables.inc"

#define NPD 4 /* PDs in each tree: the second pass outlasts a host time slice */
#define MIN_ATTEMPTS 4
#define MAX_ATTEMPTS 256
#define PTE_W 0x2

	.text
	.globl guest_main
guest_main:
	require_64m fail_val
	require_shadow fail_val
	cmp $2, %ecx
	jae 1f
	fail_val "run me with --vcpus 2: vCPUs", %rcx
1:	lea root_p(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 1f
	fail_val "AS_CREATE(A) returned", %rax
1:	mov %rax, as_a(%rip)
	mov $1, %edi			/* vCPU 1: builds the trees, then races */
	lea racer_start(%rip), %rsi
	lea racer_stack_top(%rip), %rdx
	lea pml4(%rip), %rcx
	xor %r8d, %r8d
	HC(UMBRA_HC_CPU_START)
	test %rax, %rax
	jz 1f
	fail_val "CPU_START(1) returned", %rax
1:	cmpq $1, built(%rip)
	jne 1b
	mov as_a(%rip), %rdi		/* A's shadow: one page, for forks to share */
	movabs $USER_VA, %rsi
	mov $UMBRA_PF_USER, %edx
	HC(UMBRA_HC_AS_FAULT)
	cmp $UMBRA_FAULT_FIXED, %rax
	je 1f
	fail_val "AS_FAULT(A) returned", %rax
1:

	xor %r13d, %r13d		/* attempts made */
attempt:
	lea data_page(%rip), %rax
	or $PTE_USER_RW_AD, %rax
	mov %rax, pts_p(%rip)		/* W again in both first leaves */
	mov %rax, pts_c(%rip)
	movq $0, aliased(%rip)
	movq $1, go(%rip)		/* before seq: vCPU 1 reads them so */
	incq seq(%rip)			/* attempt number seq begins */
	mov seq(%rip), %rax
1:	cmp armed(%rip), %rax		/* vCPU 1 watches the leaf now */
	jne 1b
	mov as_a(%rip), %rdi
	lea root_c(%rip), %rsi
	HC(UMBRA_HC_AS_FORK)
	movq $0, go(%rip)
	mov %rax, %rbx
	mov seq(%rip), %rax
1:	cmp ack(%rip), %rax		/* vCPU 1 has cleared the aliases */
	jne 1b
	test %rbx, %rbx
	jg 1f
	fail_val "AS_FORK(A) returned", %rbx
1:	mov aliased(%rip), %rax
	add %rax, wins(%rip)
	mov $UMBRA_PHASE_CHILD, %edi	/* --check: the invariants, child alive */
	HC(UMBRA_HC_PHASE)
	mov %rbx, %rdi
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 1f
	fail_val "AS_DESTROY(child) returned", %rax
1:	inc %r13d
	cmp $MIN_ATTEMPTS, %r13d	/* until one aliasing landed, within limits */
	jb attempt
	cmpq $0, wins(%rip)
	jne 1f
	cmp $MAX_ATTEMPTS, %r13d
	jb attempt
	fail_val "vCPU 1 never aliased the tables while AS_FORK ran: inconclusive, forks", %r13
1:	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	puts_hex ok_msg, %r13
	puts_hex ok_msg2, wins(%rip)
	lea ok_msg3(%rip), %rdi
	call puts
	xor %eax, %eax
	ret

/* vCPU 1, started at CPL 0 on the boot tables: on to CPL 3. */
racer_start:
	push $GUEST_USER_DS
	lea racer_stack_top(%rip), %rax
	push %rax
	push $0x2
	push $GUEST_USER_CS
	lea racer(%rip), %rax
	push %rax
	iretq

/* alias table, first: entries first..511 of table become entry first - 1 */
.macro alias table, first
	lea \table(%rip), %rsi
	mov 8 * (\first - 1)(%rsi), %rax
	lea 8 * \first(%rsi), %rdi
	mov $512 - \first, %ecx
	rep stosq
.endm
/* unalias table, first: entries first..511 of table become empty again */
.macro unalias table, first
	lea \table(%rip), %rsi
	lea 8 * \first(%rsi), %rdi
	xor %eax, %eax
	mov $512 - \first, %ecx
	rep stosq
.endm

racer:
	lea pdpt_p(%rip), %rdi
	lea pds_p(%rip), %rsi
	lea pts_p(%rip), %rdx
	call build_pdpt
	lea pdpt_c(%rip), %rdi
	lea pds_c(%rip), %rsi
	lea pts_c(%rip), %rdx
	call build_pdpt
	movq $1, built(%rip)
	xor %ebx, %ebx			/* the last attempt handled */
1:	cmp seq(%rip), %rbx		/* a new attempt */
	je 1b
	mov seq(%rip), %rbx
	mov %rbx, armed(%rip)
2:	cmpq $1, go(%rip)
	jne 4f				/* the fork has returned */
	testq $PTE_W, pts_p(%rip)	/* the second pass clears it */
	jnz 2b
	alias pdpt_p, NPD		/* the walk is still in the first PDs */
	alias pdpt_c, NPD
	alias root_p, 2
	alias root_c, 2
	movq $0, root_p+4088(%rip)	/* slot 511 is umbra's */
	movq $0, root_c+4088(%rip)
	mov go(%rip), %rax		/* done while AS_FORK still ran? */
	mov %rax, aliased(%rip)
4:	cmpq $0, go(%rip)
	jne 4b
	unalias pdpt_p, NPD
	unalias pdpt_c, NPD
	unalias root_p, 2
	unalias root_c, 2
	mov %rbx, ack(%rip)
	jmp 1b

/* build_pdpt(rdi = PDPT, rsi = its NPD PDs, rdx = their NPD * 512 PTs):
 * PDPT entries 0..NPD-1 link the PDs, filled by build_pd. */
build_pdpt:
	push %rbx
	push %r12
	push %r13
	mov %rdi, %rbx
	mov %rsi, %r12
	mov %rdx, %r13
	xor %ecx, %ecx
1:	mov %r12, %rax
	or $PTE_USER_RW, %rax
	mov %rax, (%rbx, %rcx, 8)
	push %rcx
	mov %r12, %rdi
	mov %r13, %rsi
	call build_pd
	pop %rcx
	add $4096, %r12
	add $512 * 4096, %r13
	inc %ecx
	cmp $NPD, %ecx
	jb 1b
	pop %r13
	pop %r12
	pop %rbx
	ret

/* build_pd(rdi = PD, rsi = its 512 PTs): every PD entry links a PT, every
 * PT entry maps data_page, user-writable. */
build_pd:
	lea data_page(%rip), %rdx
	or $PTE_USER_RW_AD, %rdx
	xor %ecx, %ecx
1:	mov %rsi, %rax
	or $PTE_USER_RW, %rax
	mov %rax, (%rdi, %rcx, 8)
	push %rcx
	push %rdi
	mov %rsi, %rdi
	mov %rdx, %rax
	mov $512, %ecx
	rep stosq
	pop %rdi
	pop %rcx
	add $4096, %rsi
	inc %ecx
	cmp $512, %ecx
	jb 1b
	ret

	.section .rodata
ok_msg:
	.asciz "forkrace: ok: "
ok_msg2:
	.asciz " forks, the tables aliased during "
ok_msg3:
	.asciz " of them\n"

	.data
	.balign 64
seq:	.quad 0		/* vCPU 0: the attempt under way or last made */
	.balign 64
go:	.quad 0		/* vCPU 0: AS_FORK is under way */
	.balign 64
armed:	.quad 0		/* vCPU 1: the attempt it watches the leaf for */
	.balign 64
aliased: .quad 0	/* vCPU 1: it aliased the tables while AS_FORK ran */
	.balign 64
ack:	.quad 0		/* vCPU 1: the last attempt whose aliases are gone */
	.balign 64
built:	.quad 0		/* vCPU 1: the trees are built */
as_a:	.quad 0
wins:	.quad 0

/* The kernel slot: RAM only (64 MiB by 2 MiB pages), supervisor. */
	kernel_slot PTE_KERNEL, PDE_KERNEL_2M

/* The parent's tree and the child's copy: slot 1 -> PDPT -> NPD PDs ->
 * 512 PTs each (vCPU 1 fills the PDPTs, PDs and PTs). */
	table root_p, kpdpt + PTE_KERNEL, pdpt_p + PTE_USER_RW
pdpt_p:				/* vCPU 1 links the PDs */
	.fill 512, 8, 0
	table root_c, kpdpt + PTE_KERNEL, pdpt_c + PTE_USER_RW
pdpt_c:
	.fill 512, 8, 0
data_page:
	.fill 512, 8, 0

	.bss
	.balign 4096
pds_p:	.space NPD * 4096
pds_c:	.space NPD * 4096
pts_p:	.space NPD * 512 * 4096
pts_c:	.space NPD * 512 * 4096
	.space 4096
racer_stack_top:
