/*
 * astest: exercises the address-space hypercalls with hand-built tables
 * and a user program at CPL 3. Needs --mem 64M.
 *
 * --paging native: each UMBRA_HC_AS_* call must return -EOPNOTSUPP.
 * Shadow modes:
 *   1. AS_CREATE(A) and AS_SWITCH(A); the user program reads its data page
 *      (hidden faults on code and data, each one AS_FAULT -> FIXED).
 *   2. AS_UPDATE re-points the present data PTE to another frame; the next
 *      CPL 3 read must see the new frame (the VMM flushes: on this KVM the
 *      read would otherwise see the old one).
 *   3. The guest copies A's tables, AS_FORK(A) -> B, AS_SWITCH(B): the
 *      child reads the shared data, then writes it: AS_FAULT says GUEST
 *      (fork made the entry read-only), the guest copies the page and
 *      AS_UPDATEs the child's PTE (copy-on-write), and the write goes on.
 *   4. AS_SWITCH(A): the parent still reads its own data.
 *   5. AS_DESTROY(A) while loaded is -EBUSY; AS_SWITCH(UMBRA_AS_KERNEL),
 *      then AS_DESTROY(B) and AS_DESTROY(A).
 * Phases: 1 (setup) for step 1, 2 (fork) for 3's fork, 3 (child) for the
 * rest of 3, 4 (exit_wait) for 5. It prints
 *   "astest: ok fixed=F guest=G spurious=S"  (AS_FAULT results, in hex)
 * and exits 0, or "astest: FAIL <what>" and exits 1.
 */
#define FAIL_PREFIX "astest: FAIL "
#include "guest.h"
#include "report.inc"
#include "tables.inc"
#include "cpl3.inc"

#define DATA_VA (USER_VA + 0x1000)
#define STACK_TOP (USER_VA + 0x3000)
#define PTE_KERNEL 0x3       /* present, writable */
#define PDE_KERNEL_2M 0x83   /* present, writable, 2 MiB */
#define VALUE_1 0x1111111111111111
#define VALUE_2 0x2222222222222222
#define VALUE_X 0x5555555555555555

	.text
	.globl guest_main
guest_main:
	require_64m
	mov $UMBRA_CPUID_INFO, %eax
	cpuid
	test $UMBRA_CPUID_F_SHADOW, %ebx
	jnz shadow_mode

/* Native: every address-space call is refused. */
	mov $UMBRA_HC_AS_CREATE, %ebx
2:	xor %edi, %edi
	mov %ebx, %eax
	out %eax, $UMBRA_HC_PORT
	cmp $-UMBRA_EOPNOTSUPP, %rax
	je 3f
	fail "an address-space call in native mode did not return -EOPNOTSUPP"
3:	inc %ebx
	cmp $UMBRA_HC_AS_SWITCH, %ebx
	jbe 2b
	lea native_ok(%rip), %rdi
	call puts
	xor %eax, %eax
	ret

shadow_mode:
	lea bp_handler(%rip), %rdi
	lea pf_handler(%rip), %rsi
	call cpu_setup
	mov $UMBRA_PHASE_SETUP, %edi
	HC(UMBRA_HC_PHASE)

	/* 1. Create A, switch to it, read at CPL 3. */
	lea root_a(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 1f
	fail "AS_CREATE(A)"
1:	mov %rax, as_a(%rip)
	mov %rax, %rdi
	call switch_to
	lea u_read(%rip), %rdi
	call run_user
	movabs $VALUE_1, %rcx
	cmp %rcx, %rax
	je 1f
	fail "A read the wrong value before the update"

	/* 2. Re-point A's present data PTE to frame 2; the read must see it. */
1:	lea data_2(%rip), %rax
	or $PTE_USER_RW_AD, %rax
	mov %rax, upd_value(%rip)
	mov as_a(%rip), %rdi
	lea upd(%rip), %rsi
	mov $1, %edx
	HC(UMBRA_HC_AS_UPDATE)
	cmp $1, %rax
	je 1f
	fail "AS_UPDATE of A's data PTE"
1:	lea u_read(%rip), %rdi
	call run_user
	movabs $VALUE_2, %rcx
	cmp %rcx, %rax
	je 1f
	fail "A read a stale value after the update (no flush?)"

	/* 3. Fork: B's tables are a copy of A's; the child reads, then writes. */
1:	mov $UMBRA_PHASE_FORK, %edi
	HC(UMBRA_HC_PHASE)
	lea root_a(%rip), %rsi
	lea root_b(%rip), %rdi
	mov $4 * 512, %ecx		/* root, PDPT, PD, PT: contiguous */
	rep movsq
	lea root_b+8(%rip), %rdi	/* B's upper entries: to B's own tables */
	lea pdpt_b(%rip), %rsi
	call repoint
	lea pdpt_b(%rip), %rdi
	lea pd_b(%rip), %rsi
	call repoint
	lea pd_b(%rip), %rdi
	lea pt_b(%rip), %rsi
	call repoint
	mov as_a(%rip), %rdi
	lea root_b(%rip), %rsi
	HC(UMBRA_HC_AS_FORK)
	test %rax, %rax
	jg 1f
	fail "AS_FORK(A)"
1:	mov %rax, as_b(%rip)
	mov $UMBRA_PHASE_CHILD, %edi
	HC(UMBRA_HC_PHASE)
	mov as_b(%rip), %rdi
	call switch_to
	lea u_read(%rip), %rdi
	call run_user
	movabs $VALUE_2, %rcx
	cmp %rcx, %rax
	je 1f
	fail "the child did not read its parent's data"
1:	lea u_write(%rip), %rdi
	call run_user
	movabs $VALUE_X, %rcx
	cmp %rcx, %rax
	je 1f
	fail "the child did not read back what it wrote"
1:	cmpq $1, cow_done(%rip)
	je 1f
	fail "the child's write did not go through copy-on-write"

	/* 4. The parent still sees its own data. */
1:	mov as_a(%rip), %rdi
	call switch_to
	lea u_read(%rip), %rdi
	call run_user
	movabs $VALUE_2, %rcx
	cmp %rcx, %rax
	je 1f
	fail "the parent saw its child's write"

	/* 5. Tear down. */
1:	mov $UMBRA_PHASE_EXIT_WAIT, %edi
	HC(UMBRA_HC_PHASE)
	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	cmp $-UMBRA_EBUSY, %rax
	je 1f
	fail "AS_DESTROY of the loaded address space was not -EBUSY"
1:	mov $UMBRA_AS_KERNEL, %edi
	call switch_to
	mov as_b(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 1f
	fail "AS_DESTROY(B)"
1:	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 1f
	fail "AS_DESTROY(A)"
1:	mov as_a(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	cmp $-UMBRA_EBADF, %rax
	je 1f
	fail "AS_DESTROY of a destroyed handle was not -EBADF"

1:	puts_hex ok_msg, fixed(%rip)
	puts_hex guest_msg, guest(%rip)
	puts_hex spurious_msg, spurious(%rip)
	lea newline(%rip), %rdi
	call puts
	xor %eax, %eax
	ret

/* switch_to(rdi = handle): AS_SWITCH, and remember it for the #PF handler. */
switch_to:
	mov %rdi, cur_as(%rip)
	HC(UMBRA_HC_AS_SWITCH)
	test %rax, %rax
	jnz 1f
	ret
1:	fail "AS_SWITCH"

/*
 * run_user(rdi = user entry, in the user code page): runs it at CPL 3
 * until it executes int3; returns its %rax.
 */
run_user:
	kernel_save
	lea user_code(%rip), %rax	/* its address in the user mapping */
	sub %rax, %rdi
	movabs $USER_VA, %rax
	add %rax, %rdi
	push $GUEST_USER_DS
	movabs $STACK_TOP, %rax
	push %rax
	push $0x2
	push $GUEST_USER_CS
	push %rdi
	iretq

/* #BP from the user program's int3: back into run_user's caller. */
bp_handler:
	kernel_resume

/* #PF: ask the VMM; a guest fault must be the child's copy-on-write write. */
pf_handler:
	fault_save
	mov %cr2, %rsi
	mov 40(%rsp), %rdx		/* the error code */
	mov cur_as(%rip), %rdi
	HC(UMBRA_HC_AS_FAULT)
	cmp $UMBRA_FAULT_FIXED, %rax
	jne 1f
	incq fixed(%rip)
	jmp 3f
1:	cmp $UMBRA_FAULT_SPURIOUS, %rax
	jne 2f
	incq spurious(%rip)
	jmp 3f
2:	cmp $UMBRA_FAULT_GUEST, %rax
	je 4f
	fail "AS_FAULT returned an error"
4:	incq guest(%rip)
	call cow
3:	fault_return

/* cow(rsi = va, rdx = error code): copy the data page for the child. */
cow:
	movabs $DATA_VA, %rax
	cmp %rax, %rsi
	jne 1f
	test $UMBRA_PF_WRITE, %edx
	jz 1f
	mov cur_as(%rip), %rax
	cmp as_b(%rip), %rax
	jne 1f
	mov pt_b+8(%rip), %rsi		/* the child's data PTE (read-only after fork) */
	and $~0xfff, %rsi
	lea data_cow(%rip), %rdi
	mov $512, %ecx
	rep movsq
	lea data_cow(%rip), %rax
	or $PTE_USER_RW_AD, %rax
	mov %rax, upd_value(%rip)
	mov as_b(%rip), %rdi
	lea upd(%rip), %rsi
	mov $1, %edx
	HC(UMBRA_HC_AS_UPDATE)
	cmp $1, %rax
	jne 2f
	movq $1, cow_done(%rip)
	ret
1:	fail "a guest fault that is not the child's write to its data"
2:	fail "AS_UPDATE of the child's copied page"

/* The user program: position-independent, one page, mapped at USER_VA. */
	.balign 4096
user_code:
u_read:
	movabs DATA_VA, %rax
	int3
u_write:
	movabs $VALUE_X, %rax
	movabs %rax, DATA_VA
	movabs DATA_VA, %rax
	int3
	.balign 4096

	.section .rodata
native_ok:
	.asciz "astest: native: every address-space call refused\n"
ok_msg:
	.asciz "astest: ok fixed="
guest_msg:
	.asciz " guest="
spurious_msg:
	.asciz " spurious="
newline:
	.asciz "\n"

	.data
	.balign 8
as_a:	.quad 0
as_b:	.quad 0
cur_as:	.quad 0
kernel_rsp: .quad 0
fixed:	.quad 0
guest:	.quad 0
spurious: .quad 0
cow_done: .quad 0
upd:				/* struct umbra_pt_update */
	.quad DATA_VA
upd_value:
	.quad 0
	.long 1, 0

/* The kernel slot: RAM only (64 MiB by 2 MiB pages), supervisor. */
	kernel_slot PTE_KERNEL, PDE_KERNEL_2M

/* A's tables: root, user PDPT, PD, PT, in this order (the fork copies them
 * as one block to B's). */
	table root_a, kpdpt + PTE_KERNEL, pdpt_a + PTE_USER_RW
	table pdpt_a, pd_a + PTE_USER_RW
	table pd_a, pt_a + PTE_USER_RW
	table pt_a, user_code + PTE_USER_RO, data_1 + PTE_USER_RW, user_stack + PTE_USER_RW

	frame data_1, VALUE_1
	frame data_2, VALUE_2

	.bss
	.balign 4096
/* B's tables: a copy of A's, whose entries that point at A's lower
 * tables are then re-pointed at B's. */
root_b:	.space 4096
pdpt_b:	.space 4096
pd_b:	.space 4096
pt_b:	.space 4096
data_cow: .space 4096
user_stack: .space 4096
