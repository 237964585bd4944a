/*
 * stubcheck: the mechanics of the VMM's flush stub (vmm/stub.c). Under
 * --flush tlb a hypercall from CPL 0 that needs a flush completes, and
 * the vCPU resumes in the stub, which loads a root, invalidates pages or
 * reloads CR3, and jumps back after the `out`. This machine's KVM cannot
 * show whether the flush took effect, but the guest can check that it
 * did not notice the detour: every register but %rax, and RFLAGS, as they
 * were before the `out`, %rax the call's result, execution going on at the
 * instruction after the `out`, and the stack around %rsp untouched.
 * Needs --mem 64M and a shadow paging mode.
 *
 * The twelve cases, each with every register holding a value of its own
 * and the arithmetic flags and DF all set or all clear, through
 * `out %eax, $imm8` and through `out %eax, (%dx)` (%rdx is then the port,
 * 0xe4, so an AS_UPDATE there applies a batch of 0xe4 updates):
 *   4 AS_SWITCHes, between address space 1 and the kernel-only root: the
 *     stub loads the new root (the guest checks CR3 afterwards);
 *   4 AS_UPDATEs that make a filled leaf of the loaded address space
 *     read-only: the stub invalidates its page;
 *   4 level-2 AS_UPDATEs that re-point a filled PD entry at a fresh PT:
 *     the stub reloads CR3.
 * The other hypercalls (creating, filling, the first and last switch) are
 * no part of the count: the fills need no flush, and the unchecked
 * switches are made at CPL 3, where no stub runs.
 *
 * Command line: nothing, the cases are made at CPL 0; "cpl3", at CPL 3
 * (IOPL 3), where the VMM cannot run the stub and must fall back to a
 * whole-VM flush; "boot", at CPL 0 with the first switch, from the boot
 * tables, a case of its own (the stub is not mapped there); "partial", at
 * CPL 0 with a case more: a batch of 2 whose first update makes leaf 4
 * read-only and whose second is malformed, which returns 1 with
 * -UMBRA_EINVAL in %rdx.
 * Prints "stubcheck: ok at cplN" and exits 0, or
 * "stubcheck: FAIL <case>: <what>" and exits 1.
 */
#define FAIL_PREFIX "stubcheck: FAIL "
#include "guest.h"
#include "report.inc"
#include "tables.inc"

#define LEAF_RO_D 0x65		/* PTE_USER_RW_AD without W */
#define BATCH UMBRA_HC_PORT	/* updates in a batch made through out (%dx) */
/* CF, PF, AF, ZF, SF, DF, OF and the always-set bit 1 */
#define FLAGS_SET 0xcd7
#define FLAGS_CLEAR 0x2
#define FLAGS_CHECKED 0xcd5	/* the ones a case sets */
#define CANARY 0xca4a2ca4a2ca4a2c
#define CANARY_QUADS 32		/* checked below and above the case's %rsp */

/* The register image: regs_in (what the case loads), regs_out (what it
 * found after the `out`), regs_default. */
#define R_RAX 0
#define R_RDX 24
#define REG_RDX 3		/* its index */
#define R_RSI 32
#define R_RDI 40
#define R_RSP 56
#define NR_REGS 16

/* The VAs: leaf cases in pt_l (leaf 4: the partial batch), PD cases at
 * PD entries 1..4. */
#define LEAF_VA(i) (USER_VA + (i) * 0x1000)
#define PD_VA(i) (USER_VA + ((i) + 1) * 0x200000)

/* check name, form (imm or dx), flags, expected %rax: runs the case that
 * regs_in holds (the caller set %rax and the arguments). */
.macro check name, form, flags, expect
	.pushsection .rodata
9:	.asciz "\name"
	.popsection
	lea 9b(%rip), %rax
	mov %rax, case_name(%rip)
	movq $\flags, flags_in(%rip)
	movq $\expect, expect_rax(%rip)
.ifc \form,dx
	movq $UMBRA_HC_PORT, regs_in + R_RDX(%rip)
	lea hc_dx(%rip), %rdi
.else
	lea hc_imm(%rip), %rdi
.endif
	call run_case
.endm

/* switch_case name, form, flags, handle (a register or $0): AS_SWITCH. */
.macro switch_case name, form, flags, handle
	call case_init
	movq $UMBRA_HC_AS_SWITCH, regs_in + R_RAX(%rip)
	movq \handle, regs_in + R_RDI(%rip)
	check "\name", \form, \flags, 0
.endm

/* update_case name, form, flags, batch: AS_UPDATE of address space 1. */
.macro update_case name, form, flags, batch
	call case_init
	movq $UMBRA_HC_AS_UPDATE, regs_in + R_RAX(%rip)
	mov as_1(%rip), %rax
	mov %rax, regs_in + R_RDI(%rip)
	lea \batch(%rip), %rax
	mov %rax, regs_in + R_RSI(%rip)
	movq $1, regs_in + R_RDX(%rip)
.ifc \form,dx
	check "\name", dx, \flags, BATCH
.else
	check "\name", imm, \flags, 1
.endif
.endm

	.text
	.globl guest_main
guest_main:
	require_64m
	require_shadow
	call cmdline
	mov %rax, %r12
	mov %r12, %rdi
	lea arg_cpl3(%rip), %rsi
	call streq
	jne 1f
	movq $3, cpl(%rip)
	jmp 2f
1:	mov %r12, %rdi
	lea arg_boot(%rip), %rsi
	call streq
	jne 1f
	movq $1, boot_case(%rip)
	jmp 2f
1:	mov %r12, %rdi
	lea arg_partial(%rip), %rsi
	call streq
	jne 1f
	movq $1, partial_case(%rip)
	jmp 2f
1:	cmpb $0, (%r12)
	je 2f
	fail "the argument is none, cpl3, boot or partial"
2:	lea pf_handler(%rip), %rdi
	call usermode_setup
	lea root_1(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 1f
	fail "AS_CREATE"
1:	mov %rax, as_1(%rip)
	cmpq $0, boot_case(%rip)
	je 1f
	mov as_1(%rip), %rbx
	switch_case "switch from the boot tables, imm, flags set", imm, FLAGS_SET, %rbx
	jmp 2f
1:	mov as_1(%rip), %rsi
	call switch_at_cpl3
2:	mov %cr3, %rax
	mov %rax, cr3_1(%rip)

	/* The switches: the stub loads the root. */
	switch_case "switch to the kernel root, imm, flags set", imm, FLAGS_SET, $UMBRA_AS_KERNEL
	mov %cr3, %rax
	cmp cr3_1(%rip), %rax
	jne 1f
	fail "switch to the kernel root: CR3 did not change"
1:	mov %rax, cr3_k(%rip)
	mov as_1(%rip), %rbx
	switch_case "switch to 1, imm, flags clear", imm, FLAGS_CLEAR, %rbx
	mov cr3_1(%rip), %rdi
	call expect_cr3
	switch_case "switch to the kernel root, dx, flags clear", dx, FLAGS_CLEAR, $UMBRA_AS_KERNEL
	mov cr3_k(%rip), %rdi
	call expect_cr3
	mov as_1(%rip), %rbx
	switch_case "switch to 1, dx, flags set", dx, FLAGS_SET, %rbx
	mov cr3_1(%rip), %rdi
	call expect_cr3

	/* Fill what the updates narrow, so that there is something to flush. */
	xor %ebx, %ebx
1:	mov %rbx, %rsi
	shl $12, %rsi
	movabs $LEAF_VA(0), %rax
	add %rax, %rsi
	call fill
	mov %rbx, %rsi
	shl $21, %rsi
	movabs $PD_VA(0), %rax
	add %rax, %rsi
	call fill
	inc %ebx
	cmp $4, %ebx
	jb 1b
	movabs $LEAF_VA(4), %rsi
	call fill

	/* Leaves made read-only: the stub invalidates the page. */
	update_case "leaf 0 read-only, imm, flags set", imm, FLAGS_SET, leaf_batch_0
	update_case "leaf 1 read-only, imm, flags clear", imm, FLAGS_CLEAR, leaf_batch_1
	update_case "leaf 2 read-only, dx, flags set", dx, FLAGS_SET, leaf_batch_2
	update_case "leaf 3 read-only, dx, flags clear", dx, FLAGS_CLEAR, leaf_batch_3
	cmpq $0, partial_case(%rip)
	je 1f
	call case_init
	movq $UMBRA_HC_AS_UPDATE, regs_in + R_RAX(%rip)
	mov as_1(%rip), %rax
	mov %rax, regs_in + R_RDI(%rip)
	lea partial_batch(%rip), %rax
	mov %rax, regs_in + R_RSI(%rip)
	movq $2, regs_in + R_RDX(%rip)
	movq $-UMBRA_EINVAL, expect_rdx(%rip)
	check "leaf 4 read-only, then a malformed update, imm, flags set", imm, FLAGS_SET, 1
	movq $0, expect_rdx(%rip)
1:	/* PD entries re-pointed: the stub reloads CR3. */
	update_case "PD entry 1 re-pointed, imm, flags set", imm, FLAGS_SET, pd_batch_0
	update_case "PD entry 2 re-pointed, imm, flags clear", imm, FLAGS_CLEAR, pd_batch_1
	update_case "PD entry 3 re-pointed, dx, flags set", dx, FLAGS_SET, pd_batch_2
	update_case "PD entry 4 re-pointed, dx, flags clear", dx, FLAGS_CLEAR, pd_batch_3

	xor %esi, %esi
	call switch_at_cpl3
	mov as_1(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 1f
	fail "AS_DESTROY"
1:	say "stubcheck: ok at cpl"
	mov cpl(%rip), %rax
	add $'0', %al
	mov %al, cpl_text(%rip)
	lea cpl_text(%rip), %rdi
	call puts
	say "\n"
	xor %eax, %eax
	ret

/* expect_cr3(rdi): CR3 is rdi after the case just run. */
expect_cr3:
	mov %cr3, %rax
	cmp %rdi, %rax
	jne 1f
	ret
1:	mov case_name(%rip), %rdi
	jmp case_fail_cr3

/* fill(rsi = va): AS_FAULT fills address space 1's shadow leaf there. */
fill:
	mov as_1(%rip), %rdi
	mov $UMBRA_PF_USER, %edx
	HC(UMBRA_HC_AS_FAULT)
	cmp $UMBRA_FAULT_FIXED, %rax
	jne 1f
	ret
1:	fail "AS_FAULT did not fill"

/* switch_at_cpl3(rsi = handle): an AS_SWITCH that runs no stub. */
switch_at_cpl3:
	lea user_as_switch(%rip), %rdi
	call run_user
	test %rax, %rax
	jnz 1f
	ret
1:	fail "AS_SWITCH at CPL 3"

/* streq(rdi, rsi): ZF set if the two strings are equal. */
streq:
	mov (%rdi), %al
	cmp (%rsi), %al
	jne 1f
	inc %rdi
	inc %rsi
	test %al, %al
	jnz streq
1:	ret

/* case_init: regs_in = regs_default. */
case_init:
	xor %ecx, %ecx
1:	mov regs_default(,%rcx,8), %rax
	mov %rax, regs_in(,%rcx,8)
	inc %ecx
	cmp $NR_REGS, %ecx
	jb 1b
	ret

/*
 * run_case(rdi = hc_imm or hc_dx): runs it at the chosen CPL with the
 * canaries around the case's stack in place, then checks what came back.
 */
run_case:
	push %rbx
	mov %rdi, %rbx
	mov regs_in + R_RSP(%rip), %rdi
	sub $8 * CANARY_QUADS, %rdi
	movabs $CANARY, %rax
	mov $2 * CANARY_QUADS, %ecx
1:	mov %rax, (%rdi)
	add $8, %rdi
	dec %ecx
	jnz 1b
	movq $0, resumed(%rip)
	cmpq $3, cpl(%rip)
	je 1f
	call *%rbx
	jmp 2f
1:	lea u_case(%rip), %rdi
	call run_user
2:	pop %rbx
	mov case_name(%rip), %rdi
	cmpq $1, resumed(%rip)
	je 1f
	say "stubcheck: FAIL "
	mov case_name(%rip), %rdi
	call puts
	lea not_resumed(%rip), %rdi
	jmp die
1:	mov flags_before(%rip), %rax
	xor flags_in(%rip), %rax
	test $FLAGS_CHECKED, %eax
	jz 1f
	fail "popfq did not set the flags"
1:	mov flags_out(%rip), %rax
	cmp flags_before(%rip), %rax
	je 1f
	lea rflags_name(%rip), %rsi
	mov flags_before(%rip), %rdx
	mov flags_out(%rip), %rcx
	jmp case_fail_value
1:	mov regs_out + R_RAX(%rip), %rcx
	cmp expect_rax(%rip), %rcx
	je 1f
	lea reg_names(%rip), %rsi
	mov expect_rax(%rip), %rdx
	jmp case_fail_value
1:	mov $1, %r8d
2:	mov regs_out(,%r8,8), %rcx
	mov regs_in(,%r8,8), %rdx
	cmp $REG_RDX, %r8d
	jne 3f
	cmpq $0, expect_rdx(%rip)
	je 3f
	mov expect_rdx(%rip), %rdx
3:	cmp %rdx, %rcx
	je 1f
	lea reg_names(,%r8,4), %rsi
	jmp case_fail_value
1:	inc %r8d
	cmp $NR_REGS, %r8d
	jb 2b
	mov regs_in + R_RSP(%rip), %rdi
	sub $8 * CANARY_QUADS, %rdi
	movabs $CANARY, %rax
	mov $2 * CANARY_QUADS, %ecx
1:	cmp %rax, (%rdi)
	jne 2f
	add $8, %rdi
	dec %ecx
	jnz 1b
	ret
2:	say "stubcheck: FAIL "
	mov case_name(%rip), %rdi
	call puts
	lea stack_touched(%rip), %rdi
	jmp die

/* case_fail_value(rsi = what, rdx = expected, rcx = seen) */
case_fail_value:
	push %rcx
	push %rdx
	push %rsi
	say "stubcheck: FAIL "
	mov case_name(%rip), %rdi
	call puts
	say ": %"
	pop %rdi
	call puts
	say " is "
	pop %rdx
	pop %rdi
	push %rdx
	call put_hex
	say ", expected "
	pop %rdi
	call put_hex
	say "\n"
	jmp exit_failed

case_fail_cr3:
	say "stubcheck: FAIL "
	mov case_name(%rip), %rdi
	call puts
	lea wrong_cr3(%rip), %rdi
	jmp die

/*
 * The case itself, at CPL 0 or 3: the flags from flags_in, every register
 * from regs_in (%rsp last), the hypercall, then everything stored; the
 * flags are saved on the caller's stack, so that nothing but the stub
 * could touch the case's. `resumed` is set by the first instruction after
 * the `out`.
 */
.macro hc_routine form
	mov %rsp, saved_rsp(%rip)
	pushq flags_in(%rip)
	popfq
	pushfq
	popq flags_before(%rip)
	mov regs_in + 0(%rip), %rax
	mov regs_in + 8(%rip), %rbx
	mov regs_in + 16(%rip), %rcx
	mov regs_in + 24(%rip), %rdx
	mov regs_in + 32(%rip), %rsi
	mov regs_in + 40(%rip), %rdi
	mov regs_in + 48(%rip), %rbp
	mov regs_in + 64(%rip), %r8
	mov regs_in + 72(%rip), %r9
	mov regs_in + 80(%rip), %r10
	mov regs_in + 88(%rip), %r11
	mov regs_in + 96(%rip), %r12
	mov regs_in + 104(%rip), %r13
	mov regs_in + 112(%rip), %r14
	mov regs_in + 120(%rip), %r15
	mov regs_in + 56(%rip), %rsp
.ifc \form,dx
	out %eax, (%dx)
.else
	out %eax, $UMBRA_HC_PORT
.endif
	movq $1, resumed(%rip)
	mov %rax, regs_out + 0(%rip)
	mov %rbx, regs_out + 8(%rip)
	mov %rcx, regs_out + 16(%rip)
	mov %rdx, regs_out + 24(%rip)
	mov %rsi, regs_out + 32(%rip)
	mov %rdi, regs_out + 40(%rip)
	mov %rbp, regs_out + 48(%rip)
	mov %rsp, regs_out + 56(%rip)
	mov %r8, regs_out + 64(%rip)
	mov %r9, regs_out + 72(%rip)
	mov %r10, regs_out + 80(%rip)
	mov %r11, regs_out + 88(%rip)
	mov %r12, regs_out + 96(%rip)
	mov %r13, regs_out + 104(%rip)
	mov %r14, regs_out + 112(%rip)
	mov %r15, regs_out + 120(%rip)
	mov saved_rsp(%rip), %rsp	/* the case's stack stays as the stub left it */
	pushfq
	popq flags_out(%rip)
	push $FLAGS_CLEAR
	popfq
	ret
.endm

hc_imm:
	hc_routine imm
hc_dx:
	hc_routine dx

/* The CPL 3 side (run_user). */
u_case:
	call *%rbx
	int3

/* #PF: nothing here faults (the fills are hypercalls); report it. */
pf_handler:
	say "stubcheck: FAIL a #PF at "
	mov %cr2, %rdi
	call put_hex
	say ", case: "
	mov case_name(%rip), %rdi
	test %rdi, %rdi
	jnz 1f
	lea no_case(%rip), %rdi
1:	call puts
	say "\n"
	jmp exit_failed

	.section .rodata
arg_cpl3:
	.asciz "cpl3"
arg_boot:
	.asciz "boot"
arg_partial:
	.asciz "partial"
no_case:
	.asciz "none"
not_resumed:
	.asciz ": did not resume at the instruction after the out\n"
stack_touched:
	.asciz ": the stack around %rsp changed\n"
wrong_cr3:
	.asciz ": CR3 is not the root switched to\n"
rflags_name:
	.asciz "rflags"
/* Four bytes each, in regs_in's order. */
reg_names:
	.ascii "rax\0rbx\0rcx\0rdx\0rsi\0rdi\0rbp\0rsp\0"
	.ascii "r8\0\0r9\0\0r10\0r11\0r12\0r13\0r14\0r15\0"

	.data
	.balign 8
as_1:	.quad 0
cpl:	.quad 0
boot_case: .quad 0
partial_case: .quad 0
expect_rdx: .quad 0		/* not 0: %rdx's value after the case */
cr3_1:	.quad 0
cr3_k:	.quad 0
case_name: .quad 0
flags_in: .quad 0
flags_before: .quad 0
flags_out: .quad 0
expect_rax: .quad 0
resumed: .quad 0
saved_rsp: .quad 0
cpl_text: .asciz "0"
	.balign 8
/* Each register's own value; %rsp a stack of the case's own. */
regs_default:
	.quad 0xa0a1a2a3a4a5a6a7, 0xb0b1b2b3b4b5b6b7, 0xc0c1c2c3c4c5c6c7, 0xd0d1d2d3d4d5d6d7
	.quad 0x5051525354555657, 0xd1d0d3d2d5d4d7d6, 0xbebfbcbdbabbb8b9, case_stack + 2048
	.quad 0x8081828384858687, 0x9091929394959697, 0x1011121314151617, 0x1110131215141716
	.quad 0x1211101716151413, 0x1312111017161514, 0x1413121110171615, 0x1514131211101716
regs_in: .fill NR_REGS, 8, 0
regs_out: .fill NR_REGS, 8, 0

/* batch name, va, value, level: BATCH copies of one update; the first
 * changes the entry, the others set it to what it is. */
.macro batch name, va, value, level
\name:
	.rept BATCH
	.quad \va, \value
	.long \level, 0
	.endr
.endm
	batch leaf_batch_0, LEAF_VA(0), leaf_frame + LEAF_RO_D, 1
	batch leaf_batch_1, LEAF_VA(1), leaf_frame + LEAF_RO_D, 1
	batch leaf_batch_2, LEAF_VA(2), leaf_frame + LEAF_RO_D, 1
	batch leaf_batch_3, LEAF_VA(3), leaf_frame + LEAF_RO_D, 1
partial_batch:
	.quad LEAF_VA(4), leaf_frame + LEAF_RO_D
	.long 1, 0
	.quad LEAF_VA(4), leaf_frame + LEAF_RO_D
	.long 0, 0			/* level 0: -UMBRA_EINVAL */
	batch pd_batch_0, PD_VA(0), pt_b0 + PTE_USER_RW, 2
	batch pd_batch_1, PD_VA(1), pt_b1 + PTE_USER_RW, 2
	batch pd_batch_2, PD_VA(2), pt_b2 + PTE_USER_RW, 2
	batch pd_batch_3, PD_VA(3), pt_b3 + PTE_USER_RW, 2

/* The kernel slot: RAM by 2 MiB pages, user-accessible (CPL 3 runs the
 * cases from the image). */
	kernel_slot PTE_USER_RW, PDE_USER_2M

/* Address space 1. */
	table root_1, kpdpt + PTE_USER_RW, pdpt_1 + PTE_USER_RW
	table pdpt_1, pd_1 + PTE_USER_RW
	table pd_1, pt_l + PTE_USER_RW, pt_a0 + PTE_USER_RW, pt_a1 + PTE_USER_RW, pt_a2 + PTE_USER_RW, pt_a3 + PTE_USER_RW
pt_l:
	.rept 5
	.quad leaf_frame + PTE_USER_RW_AD
	.endr
	.fill 507, 8, 0
/* The PD cases' PTs: the ones the entries point at, the fresh ones they
 * move to; each maps its first page. */
.irp t, pt_a0, pt_a1, pt_a2, pt_a3, pt_b0, pt_b1, pt_b2, pt_b3
\t:
	.quad leaf_frame + PTE_USER_RW_AD
	.fill 511, 8, 0
.endr

	.bss
	.balign 4096
leaf_frame: .space 4096
case_stack: .space 4096
