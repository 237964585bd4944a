/*
 * pageops: UMBRA_HC_PAGE_CLEAR and UMBRA_HC_PAGE_COPY. Checks that a copy
 * copies and a clear clears, that every bad argument gets its exact error
 * code and changes nothing, then times 16 pages each way at CPL 0: `rep
 * stosq` against PAGE_CLEAR and `rep movsq` against PAGE_COPY (the guest
 * kernel picks the faster at boot, docs/guest.md). Needs --mem 64M.
 * Prints, and exits 0:
 *   "pageops: cases passed: N, errors among them: E"
 *   "pageops: page_clear calls C, errors E; page_copy calls C, errors E"
 *   "pageops: ns per page: rep stosq A, page_clear B, rep movsq C, page_copy D"
 * or "pageops: FAIL <case> returned <x> expected <y>" and exits 1.
 */
#include "guest.h"
#include "report.inc"

#define LAST_PAGE (RAM_END - 0x1000)
#define TOP_PAGE 0xfffffffffffff000
#define BIG 0xffffffffffffffff
#define E(x) (-(x))
#define TIMED 16 /* pages timed each way */

/* case nr, rdi, rsi, expected %rax, name (arguments in parentheses where
 * cpp may put blanks in them: gas splits macro arguments at blanks) */
.macro case nr, a0, a1, expect, name
	.pushsection .rodata
9:	.asciz "\name"
	.popsection
	.quad \nr, \a0, \a1, \expect, 9b
.endm
#define CASE_SIZE 40

	.data
	.balign 8
/* Each refused case runs with page_a holding the pattern: run_cases
 * checks after every case that it still does (nothing was written). */
cases:
	case UMBRA_HC_PAGE_CLEAR, (page_a+1), 0, E(UMBRA_EINVAL), "clear of an unaligned page"
	case UMBRA_HC_PAGE_CLEAR, (page_a+0x800), 0, E(UMBRA_EINVAL), "clear of a half-page offset"
	case UMBRA_HC_PAGE_CLEAR, BIG, 0, E(UMBRA_EINVAL), "clear at 2^64-1 (unaligned first)"
	case UMBRA_HC_PAGE_CLEAR, RAM_END, 0, E(UMBRA_EFAULT), "clear at the end of RAM (the pool in shadow modes)"
	case UMBRA_HC_PAGE_CLEAR, (RAM_END+0x1000), 0, E(UMBRA_EFAULT), "clear past the end of RAM"
	case UMBRA_HC_PAGE_CLEAR, TOP_PAGE, 0, E(UMBRA_EFAULT), "clear of the top page"
	case UMBRA_HC_PAGE_COPY, page_a, page_a, E(UMBRA_EINVAL), "copy of a page onto itself"
	case UMBRA_HC_PAGE_COPY, (page_a+8), page_b, E(UMBRA_EINVAL), "copy to an unaligned page"
	case UMBRA_HC_PAGE_COPY, page_a, (page_b+8), E(UMBRA_EINVAL), "copy from an unaligned page"
	case UMBRA_HC_PAGE_COPY, BIG, RAM_END, E(UMBRA_EINVAL), "copy to 2^64-1 (unaligned first)"
	case UMBRA_HC_PAGE_COPY, page_a, RAM_END, E(UMBRA_EFAULT), "copy from the end of RAM"
	case UMBRA_HC_PAGE_COPY, RAM_END, page_a, E(UMBRA_EFAULT), "copy to the end of RAM"
	case UMBRA_HC_PAGE_COPY, page_a, TOP_PAGE, E(UMBRA_EFAULT), "copy from the top page"
	case UMBRA_HC_PAGE_COPY, TOP_PAGE, page_a, E(UMBRA_EFAULT), "copy to the top page"
	/* The last page of RAM is RAM: both calls work there. */
	case UMBRA_HC_PAGE_COPY, LAST_PAGE, page_a, 0, "copy to the last page of RAM"
	case UMBRA_HC_PAGE_CLEAR, LAST_PAGE, 0, 0, "clear of the last page of RAM"
cases_end:

	.text
	.globl guest_main
guest_main:
	push %rbx
	push %r12
	push %r13
	push %r14
	xor %r13d, %r13d		/* cases passed */
	xor %r12d, %r12d		/* ... of them errors */
	call ram_end
	cmp $RAM_END, %rax
	jne wrong_setup

	/* A copy copies: page_b gets a pattern, page_a its copy. */
	lea page_b(%rip), %rdi
	call fill_pattern
	lea page_a(%rip), %rdi
	lea page_b(%rip), %rsi
	mov $UMBRA_HC_PAGE_COPY, %eax
	call counted_hc
	lea copy_name(%rip), %r14
	test %rax, %rax
	jnz fail_value
	call same_pages
	lea copied_name(%rip), %r14
	jnz fail_value
	inc %r13

	/* The refused cases change neither page. */
	lea cases(%rip), %rbx
1:	lea cases_end(%rip), %rax
	cmp %rax, %rbx
	jae 2f
	mov 8(%rbx), %rdi
	mov 16(%rbx), %rsi
	mov (%rbx), %rax
	call counted_hc
	mov 32(%rbx), %r14
	cmp 24(%rbx), %rax
	jne fail_case
	call same_pages
	lea untouched_name(%rip), %r14
	jnz fail_value
	inc %r13
	test %rax, %rax
	jns 3f
	inc %r12
3:	add $CASE_SIZE, %rbx
	jmp 1b

	/* A clear clears. */
2:	lea page_a(%rip), %rdi
	mov $UMBRA_HC_PAGE_CLEAR, %eax
	call counted_hc
	lea clear_name(%rip), %r14
	test %rax, %rax
	jnz fail_value
	lea page_a(%rip), %rdi
	mov $512, %ecx
	xor %eax, %eax
	repe scasq
	lea cleared_name(%rip), %r14
	jne fail_value
	inc %r13

	lea passed(%rip), %rdi
	mov %r13, %rsi
	mov %r12, %rdx
	call put_counts
	call timings
	puts_hex calls_clear, clear_calls(%rip)
	puts_hex errs, clear_errors(%rip)
	puts_hex calls_copy, copy_calls(%rip)
	puts_hex errs, copy_errors(%rip)
	lea newline(%rip), %rdi
	call puts
	xor %eax, %eax
out:
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	ret
wrong_setup:
	lea setup_msg(%rip), %rdi
	call puts
	mov $2, %eax
	jmp out

/* The case named at 32(%rbx) returned %rax instead of 24(%rbx). */
fail_case:
	mov 24(%rbx), %rcx
	jmp 1f
/* The check named by %r14 failed with %rax (0 expected). */
fail_value:
	xor %ecx, %ecx
1:	mov %rax, %rdx
	lea fail(%rip), %rdi
	mov %r14, %rsi
	call put_mismatch
	mov $1, %eax
	jmp out

/* counted_hc(eax = nr, rdi, rsi) -> rax: the hypercall, counted per
 * number (calls, and errors when it returns < 0) for the report check. */
counted_hc:
	push %rax
	out %eax, $UMBRA_HC_PORT
	pop %rcx
	lea clear_calls(%rip), %rdx
	cmp $UMBRA_HC_PAGE_CLEAR, %ecx
	je 1f
	lea copy_calls(%rip), %rdx
1:	incq (%rdx)
	test %rax, %rax
	jns 2f
	incq 8(%rdx)
2:	ret

/* fill_pattern(rdi = page): qword i = i * 0x9e3779b97f4a7c15 + 1 (never 0). */
fill_pattern:
	mov $0x9e3779b97f4a7c15, %rdx
	xor %ecx, %ecx
1:	mov %rcx, %rax
	imul %rdx, %rax
	inc %rax
	mov %rax, (%rdi,%rcx,8)
	inc %ecx
	cmp $512, %ecx
	jb 1b
	ret

/* same_pages() -> ZF set if page_a equals page_b; preserves %rax. */
same_pages:
	push %rax
	lea page_a(%rip), %rsi
	lea page_b(%rip), %rdi
	mov $512, %ecx
	repe cmpsq
	pop %rax
	ret

/* clock() -> rax: UMBRA_HC_CLOCK. */
clock:
	HC(UMBRA_HC_CLOCK)
	ret

/* Times TIMED pages each way and prints the four costs per page. */
timings:
	push %rbx
	lea timed_line(%rip), %rdi
	call puts
	call clock
	mov %rax, %rbx
	mov $TIMED, %r8d
1:	lea page_a(%rip), %rdi
	mov $512, %ecx
	xor %eax, %eax
	rep stosq
	dec %r8d
	jnz 1b
	call print_per_page
	lea t_clear(%rip), %rdi
	call puts
	call clock
	mov %rax, %rbx
	mov $TIMED, %r8d
2:	lea page_a(%rip), %rdi
	mov $UMBRA_HC_PAGE_CLEAR, %eax
	call counted_hc
	dec %r8d
	jnz 2b
	call print_per_page
	lea t_movs(%rip), %rdi
	call puts
	call clock
	mov %rax, %rbx
	mov $TIMED, %r8d
3:	lea page_a(%rip), %rdi
	lea page_b(%rip), %rsi
	mov $512, %ecx
	rep movsq
	dec %r8d
	jnz 3b
	call print_per_page
	lea t_copy(%rip), %rdi
	call puts
	call clock
	mov %rax, %rbx
	mov $TIMED, %r8d
4:	lea page_a(%rip), %rdi
	lea page_b(%rip), %rsi
	mov $UMBRA_HC_PAGE_COPY, %eax
	call counted_hc
	dec %r8d
	jnz 4b
	call print_per_page
	lea newline(%rip), %rdi
	call puts
	pop %rbx
	ret

/* Prints (now - %rbx) / TIMED: timings keeps its start time in %rbx. */
print_per_page:
	call clock
	sub %rbx, %rax
	xor %edx, %edx
	mov $TIMED, %ecx
	div %rcx
	mov %rax, %rdi
	call put_hex
	ret

	.section .rodata
passed:
	.asciz "pageops: cases passed: "
calls_clear:
	.asciz "pageops: page_clear calls "
calls_copy:
	.asciz "; page_copy calls "
errs:
	.asciz ", errors "
timed_line:
	.asciz "pageops: ns per page: rep stosq "
t_clear:
	.asciz ", page_clear "
t_movs:
	.asciz ", rep movsq "
t_copy:
	.asciz ", page_copy "
fail:
	.asciz "pageops: FAIL "
newline:
	.asciz "\n"
setup_msg:
	.asciz "pageops: run me with --mem 64M\n"
copy_name:
	.asciz "copy of page_b to page_a"
copied_name:
	.asciz "page_a equals page_b after the copy"
untouched_name:
	.asciz "page_a unchanged by a refused call"
clear_name:
	.asciz "clear of page_a"
cleared_name:
	.asciz "page_a zero after the clear"

	.data
	.balign 8
clear_calls:
	.quad 0
clear_errors:
	.quad 0
copy_calls:
	.quad 0
copy_errors:
	.quad 0

	.bss
	.balign 4096
page_a:
	.space 4096
page_b:
	.space 4096
