/*
 * handlewrap: a hostile guest of class 3 (issue 10): it wraps the 16-bit
 * generation of an address-space handle.
 *
 * A handle is (generation << 16) | (slot + 1), and a slot's generation
 * moves on at each destroy. The VMM has 4096 slots and hands them out
 * round-robin, so the guest first fills 4095 of them (one root page each)
 * and then creates and destroys in the one slot left, 65536 times: h0 is
 * the first handle made there, and the 65536th destroy brings the slot's
 * generation round to h0's.
 *
 * The right answer: a slot whose generation comes round is retired for
 * good. So the next AS_CREATE finds no slot (-ENOSPC: 4095 live, one
 * retired), and h0, destroyed 65536 calls ago, stays dead: AS_SWITCH(h0)
 * and AS_DESTROY(h0) are -EBADF. It prints
 *   "handlewrap: ok: after 0x...10000 address spaces in one slot it is
 *    retired (-ENOSPC), and the first handle 0x...1000 is -EBADF"
 * (one line, the numbers as 16 hex digits) and "handlewrap: loop of
 * 0x...10000 creates and destroys: 0x... ns", then destroys the 4095 and
 * exits 0; or "handlewrap: FAIL <what> 0x..." and exits 1. The loop runs
 * at CPL 0: on this machine's KVM (kvm_pvm) a hypercall from CPL 3 costs
 * more than the emulated CPL 0 instructions around one (11 s against
 * 4.3 s for the loop, measured).
 *
 * What 7c60f4c did: the 65537th create got h0 back, so AS_SWITCH(h0), a
 * handle the guest had destroyed, succeeded (0) and loaded the new
 * address space.
 *
 * Needs --mem 64M and a shadow mode (the pool holds a root page for each
 * live address space: 4096 pages, 16 MiB of the default 64 MiB).
 */
#define FAIL_PREFIX "handlewrap: FAIL "
#include "guest.h"
#include "report.inc"
#include "tables.inc"

#define SLOTS 4096  /* MMU_MAX_ADDRESS_SPACES */
#define CYCLES 0x10000 /* one more generation than 16 bits hold */
#define E(x) (-(x))

	.text
	.globl guest_main
guest_main:
	require_64m fail_val
	require_shadow fail_val

	/* 4095 roots, each with the kernel slot, and an address space each. */
	lea roots(%rip), %rbx
	lea handles(%rip), %r12
	mov $SLOTS - 1, %r13d
	lea kpdpt(%rip), %r14
	or $PTE_KERNEL, %r14
2:	mov %r14, (%rbx)
	mov %rbx, %rdi
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 3f
	fail_val "AS_CREATE of a filler returned", %rax
3:	mov %rax, (%r12)
	add $4096, %rbx
	add $8, %r12
	dec %r13d
	jnz 2b

	/* The slot left: h0, then CYCLES - 1 more tenants. */
	lea cycle_root(%rip), %rdi
	mov %r14, (%rdi)
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 1f
	fail_val "AS_CREATE of h0 returned", %rax
1:	mov %rax, h0(%rip)
	mov %rax, %rdi
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 1f
	fail_val "AS_DESTROY(h0) returned", %rax
1:	HC(UMBRA_HC_CLOCK)
	mov %rax, t0(%rip)
	/* The tight loop: r15 = h0's slot, r14 ORs the destroys' results. */
	movzwl h0(%rip), %r15d
	xor %r14d, %r14d
	mov $CYCLES - 1, %r13d
	lea cycle_root(%rip), %r12
2:	mov %r12, %rdi
	HC(UMBRA_HC_AS_CREATE)
	cmp %r15w, %ax			/* in h0's slot (and not an error) */
	jne 3f
	mov %rax, %rdi
	HC(UMBRA_HC_AS_DESTROY)
	or %rax, %r14
	dec %r13d
	jnz 2b
	jmp 4f
3:	fail_val "AS_CREATE in the cycled slot returned", %rax
4:	test %r14, %r14
	jz 1f
	fail_val "an AS_DESTROY in the loop failed: results ORed", %r14
1:	HC(UMBRA_HC_CLOCK)
	sub t0(%rip), %rax
	mov %rax, t0(%rip)

	/* The generation has come round to h0's: one more create, then h0. */
	lea cycle_root(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	mov %rax, %rbx
	mov h0(%rip), %rdi
	HC(UMBRA_HC_AS_SWITCH)
	test %rax, %rax
	jnz 1f
	fail_val "AS_SWITCH to the first handle, destroyed 0x10000 creates ago, returned 0: it names the address space the last AS_CREATE made, whose handle is", %rbx
1:	cmp $E(UMBRA_EBADF), %rax
	je 1f
	fail_val "AS_SWITCH to the first handle returned", %rax
1:	mov h0(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	cmp $E(UMBRA_EBADF), %rax
	je 1f
	fail_val "AS_DESTROY of the first handle returned", %rax
1:	cmp $E(UMBRA_ENOSPC), %rbx
	je 1f
	fail_val "the AS_CREATE after the wrap returned", %rbx

1:	lea ok_msg(%rip), %rdi
	call puts
	mov $CYCLES, %edi
	call put_hex
	puts_hex ok_msg2, h0(%rip)
	lea ok_msg3(%rip), %rdi
	call puts
	lea time_msg(%rip), %rdi
	call puts
	mov $CYCLES, %edi
	call put_hex
	puts_hex time_msg2, t0(%rip)
	lea time_msg3(%rip), %rdi
	call puts

	/* Clean up: the fillers go (the retired slot holds nothing). */
	lea handles(%rip), %r12
	mov $SLOTS - 1, %r13d
2:	mov (%r12), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 3f
	fail_val "AS_DESTROY of a filler returned", %rax
3:	add $8, %r12
	dec %r13d
	jnz 2b
	xor %eax, %eax
	ret

	.section .rodata
ok_msg:
	.asciz "handlewrap: ok: after "
ok_msg2:
	.asciz " address spaces in one slot it is retired (-ENOSPC), and the first handle "
ok_msg3:
	.asciz " is -EBADF\n"
time_msg:
	.asciz "handlewrap: loop of "
time_msg2:
	.asciz " creates and destroys: "
time_msg3:
	.asciz " ns\n"

	.data
	.balign 8
h0:	.quad 0
t0:	.quad 0

/* The kernel slot: RAM only (64 MiB by 2 MiB pages), supervisor. */
	kernel_slot PTE_KERNEL, PDE_KERNEL_2M

	.bss
	.balign 4096
cycle_root:
	.space 4096
roots:
	.space (SLOTS - 1) * 4096
handles:
	.space (SLOTS - 1) * 8
