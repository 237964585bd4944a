/*
 * badargs: sends bad arguments to every hypercall that takes any and checks
 * that each call returns its error code (and that the edge cases that are
 * valid succeed). Needs --mem 64M and --vcpus 2. Prints one verdict line:
 *   "badargs: cases passed: N, errors among them: E"   and exits 0, or
 *   "badargs: FAIL <case> returned <x> expected <y>" and exits 1.
 * In the shadow modes (CPUID flag) the UMBRA_HC_AS_* cases expect the
 * VMM's and the library's codes, in native mode -EOPNOTSUPP.
 */
#include "guest.h"

#define NONCANON 0x0000800000000000
#define BIG 0xffffffffffffffff
#define E(x) (-(x))

/* case nr, rdi, rsi, rdx, rcx, r8, expected %rax, name. An argument that is
 * an expression goes in parentheses: cpp may put blanks in it, and gas
 * splits macro arguments at blanks. */
.macro case nr, a0, a1, a2, a3, a4, expect, name
	.pushsection .rodata
9:	.asciz "\name"
	.popsection
	.quad \nr, \a0, \a1, \a2, \a3, \a4, \expect, 9b
.endm
#define CASE_SIZE 64

	/* Not in .rodata: the macro puts the names there. */
	.data
	.balign 8
common_cases:
	case UMBRA_HC_VERSION, BIG, BIG, BIG, BIG, BIG, UMBRA_ABI_VERSION, "version with junk arguments"
	case UMBRA_HC_CONSOLE, RAM_END, 1, 0, 0, 0, E(UMBRA_EFAULT), "console at the end of RAM"
	case UMBRA_HC_CONSOLE, (RAM_END-1), 2, 0, 0, 0, E(UMBRA_EFAULT), "console across the end of RAM"
	case UMBRA_HC_CONSOLE, RAM_END, 16, 0, 0, 0, E(UMBRA_EFAULT), "console in the pool"
	case UMBRA_HC_CONSOLE, 0xfffffffffffffff0, 0x20, 0, 0, 0, E(UMBRA_EFAULT), "console range that wraps"
	case UMBRA_HC_CONSOLE, BIG, 1, 0, 0, 0, E(UMBRA_EFAULT), "console at the top of the address space"
	case UMBRA_HC_CONSOLE, 0x100000, (UMBRA_CONSOLE_MAX+1), 0, 0, 0, E(UMBRA_E2BIG), "console longer than the maximum"
	case UMBRA_HC_CONSOLE, 0x100000, BIG, 0, 0, 0, E(UMBRA_E2BIG), "console length that overflows"
	case UMBRA_HC_CONSOLE, RAM_END, 0, 0, 0, 0, 0, "console of 0 bytes at the end of RAM"
	case UMBRA_HC_PHASE, UMBRA_PHASE_COUNT, 0, 0, 0, 0, E(UMBRA_EINVAL), "phase one past the last"
	case UMBRA_HC_PHASE, 0x8000000000000000, 0, 0, 0, 0, E(UMBRA_EINVAL), "phase 2^63"
	case UMBRA_HC_CPU_START, 2, parked, ap_stack_top, pml4, 0, E(UMBRA_ESRCH), "cpu_start of a vCPU that does not exist"
	case UMBRA_HC_CPU_START, 0x100000001, parked, ap_stack_top, pml4, 0, E(UMBRA_ESRCH), "cpu_start of vCPU 2^32+1"
	case UMBRA_HC_CPU_START, 0, parked, ap_stack_top, pml4, 0, E(UMBRA_EBUSY), "cpu_start of the running vCPU"
	case UMBRA_HC_CPU_START, 1, NONCANON, ap_stack_top, pml4, 0, E(UMBRA_EINVAL), "cpu_start at a non-canonical rip"
	case UMBRA_HC_CPU_START, 1, parked, NONCANON, pml4, 0, E(UMBRA_EINVAL), "cpu_start with a non-canonical rsp"
	case UMBRA_HC_CPU_START, 1, parked, ap_stack_top, (pml4+8), 0, E(UMBRA_EINVAL), "cpu_start with an unaligned cr3"
	case UMBRA_HC_CPU_START, 1, parked, ap_stack_top, RAM_END, 0, E(UMBRA_EFAULT), "cpu_start with cr3 past RAM"
	case UMBRA_HC_CPU_START, 1, parked, ap_stack_top, 0xfffffffffffff000, 0, E(UMBRA_EFAULT), "cpu_start with cr3 at the top"
	case UMBRA_HC_KICK, 2, 0, 0, 0, 0, E(UMBRA_ESRCH), "kick of a vCPU that does not exist"
	case UMBRA_HC_KICK, BIG, 0, 0, 0, 0, E(UMBRA_ESRCH), "kick of vCPU 2^64-1"
	case UMBRA_HC_IDLE, 0, 0, 0, 0, 0, 0, "idle without a timeout"
	case 11, 0, 0, 0, 0, 0, E(UMBRA_ENOSYS), "unknown hypercall 11"
	case 15, 0, 0, 0, 0, 0, E(UMBRA_ENOSYS), "unknown hypercall 15"
	case UMBRA_HC_COUNT, 0, 0, 0, 0, 0, E(UMBRA_ENOSYS), "unknown hypercall UMBRA_HC_COUNT"
	case 0xffffffff, 0, 0, 0, 0, 0, E(UMBRA_ENOSYS), "unknown hypercall 2^32-1"
	/* The failures above must not have started vCPU 1. */
	case UMBRA_HC_CPU_START, 1, parked, ap_stack_top, pml4, 0, 0, "cpu_start of vCPU 1"
	case UMBRA_HC_CPU_START, 1, parked, ap_stack_top, pml4, 0, E(UMBRA_EBUSY), "cpu_start of vCPU 1 again"
common_cases_end:

native_cases:
	case UMBRA_HC_AS_CREATE, 0x200000, 0, 0, 0, 0, E(UMBRA_EOPNOTSUPP), "as_create in native mode"
	case UMBRA_HC_AS_DESTROY, 1, 0, 0, 0, 0, E(UMBRA_EOPNOTSUPP), "as_destroy in native mode"
	case UMBRA_HC_AS_FORK, 1, 0x200000, 0, 0, 0, E(UMBRA_EOPNOTSUPP), "as_fork in native mode"
	case UMBRA_HC_AS_FAULT, 1, 0, 0, 0, 0, E(UMBRA_EOPNOTSUPP), "as_fault in native mode"
	case UMBRA_HC_AS_UPDATE, 1, 0x200000, 1, 0, 0, E(UMBRA_EOPNOTSUPP), "as_update in native mode"
	case UMBRA_HC_AS_SWITCH, 0, 0, 0, 0, 0, E(UMBRA_EOPNOTSUPP), "as_switch in native mode"
native_cases_end:

/* Shadow modes: the VMM's own checks, then the library's handle checks
 * (no address space exists while these run). */
shadow_cases:
	case UMBRA_HC_AS_CREATE, 0x200001, 0, 0, 0, 0, E(UMBRA_EINVAL), "as_create of an unaligned root"
	case UMBRA_HC_AS_CREATE, RAM_END, 0, 0, 0, 0, E(UMBRA_EFAULT), "as_create of a root in the pool"
	case UMBRA_HC_AS_CREATE, 0xfffffffffffff000, 0, 0, 0, 0, E(UMBRA_EFAULT), "as_create of a root at the top"
	case UMBRA_HC_AS_DESTROY, 12345, 0, 0, 0, 0, E(UMBRA_EBADF), "as_destroy of an unknown handle"
	case UMBRA_HC_AS_DESTROY, 0x100000001, 0, 0, 0, 0, E(UMBRA_EBADF), "as_destroy of handle 2^32+1"
	case UMBRA_HC_AS_FORK, 12345, 0x200000, 0, 0, 0, E(UMBRA_EBADF), "as_fork of an unknown parent"
	case UMBRA_HC_AS_FORK, 12345, 0x200008, 0, 0, 0, E(UMBRA_EINVAL), "as_fork to an unaligned root"
	case UMBRA_HC_AS_FORK, 12345, RAM_END, 0, 0, 0, E(UMBRA_EFAULT), "as_fork to a root in the pool"
	case UMBRA_HC_AS_FAULT, 12345, 0, UMBRA_PF_WRITE, 0, 0, E(UMBRA_EBADF), "as_fault of an unknown handle"
	case UMBRA_HC_AS_FAULT, 12345, 0, 0x20, 0, 0, E(UMBRA_EINVAL), "as_fault with an unknown error-code bit"
	case UMBRA_HC_AS_UPDATE, 12345, 0x100000, 1, 0, 0, E(UMBRA_EBADF), "as_update of an unknown handle"
	case UMBRA_HC_AS_UPDATE, 12345, 0x100000, (UMBRA_UPDATE_MAX+1), 0, 0, E(UMBRA_E2BIG), "as_update of too many entries"
	case UMBRA_HC_AS_UPDATE, 12345, (RAM_END-24), 2, 0, 0, E(UMBRA_EFAULT), "as_update array across the end of RAM"
	case UMBRA_HC_AS_UPDATE, 12345, BIG, 1, 0, 0, E(UMBRA_EFAULT), "as_update array that wraps"
	case UMBRA_HC_AS_UPDATE, 12345, 0x100000, BIG, 0, 0, E(UMBRA_E2BIG), "as_update count that overflows"
	case UMBRA_HC_AS_SWITCH, 12345, 0, 0, 0, 0, E(UMBRA_EBADF), "as_switch to an unknown handle"
	case UMBRA_HC_AS_SWITCH, 0x100000000, 0, 0, 0, 0, E(UMBRA_EBADF), "as_switch to handle 2^32"
shadow_cases_end:

	.text
	.globl guest_main
guest_main:
	push %rbx
	push %r12
	push %r13
	xor %r13d, %r13d		/* cases passed */
	xor %r12d, %r12d		/* ... of them errors */
	call ram_end
	cmp $RAM_END, %rax
	jne wrong_setup
	lea common_cases(%rip), %rdi
	lea common_cases_end(%rip), %rsi
	call run_cases
	test %rax, %rax
	jnz out
	lea native_cases(%rip), %rdi
	lea native_cases_end(%rip), %rsi
	mov $UMBRA_CPUID_INFO, %eax
	cpuid
	test $UMBRA_CPUID_F_SHADOW, %ebx
	jz 1f
	lea shadow_cases(%rip), %rdi
	lea shadow_cases_end(%rip), %rsi
1:	call run_cases
	test %rax, %rax
	jnz out
	lea passed(%rip), %rdi
	mov %r13, %rsi
	mov %r12, %rdx
	call put_counts
	xor %eax, %eax
out:
	pop %r13
	pop %r12
	pop %rbx
	ret
wrong_setup:
	lea setup_msg(%rip), %rdi
	call puts
	mov $2, %eax
	jmp out

/* run_cases(rdi = first, rsi = end): 0, or 1 after printing the failure. */
run_cases:
	push %rbx
	push %rbp
	mov %rdi, %rbx
	mov %rsi, %rbp
1:	cmp %rbp, %rbx
	jae 2f
	mov 8(%rbx), %rdi
	mov 16(%rbx), %rsi
	mov 24(%rbx), %rdx
	mov 32(%rbx), %rcx
	mov 40(%rbx), %r8
	mov (%rbx), %rax
	out %eax, $UMBRA_HC_PORT
	cmp 48(%rbx), %rax
	jne 3f
	inc %r13
	test %rax, %rax
	jns 4f
	inc %r12
4:	add $CASE_SIZE, %rbx
	jmp 1b
2:	xor %eax, %eax
	pop %rbp
	pop %rbx
	ret
3:	mov %rax, %rdx			/* what it returned */
	lea fail(%rip), %rdi
	mov 56(%rbx), %rsi
	mov 48(%rbx), %rcx
	call put_mismatch
	mov $1, %eax
	pop %rbp
	pop %rbx
	ret

/* Where vCPU 1 runs once started: it halts. */
parked:
	hlt
	jmp parked

	.section .rodata
passed:
	.asciz "badargs: cases passed: "
fail:
	.asciz "badargs: FAIL "
setup_msg:
	.asciz "badargs: run me with --mem 64M\n"

	.bss
	.balign 16
	.space 4096
ap_stack_top:
