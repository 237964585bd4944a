/*
 * flushprobe: the guest of tests/vmm/flush_test. It maps virtual 1 GiB
 * (PML4 0, PDPT 1) through its own PD and PT to frame A, drops to CPL 3
 * and loops: read the quadword at 1 GiB, `out` it to port 0xe6 in %rax.
 * The host test re-points the PT entry (or the PD entry) behind the
 * vCPU's back, flushes, and checks what the next read sees. Registers
 * tell the host where things are:
 *   %rbx = gpa of the PT, %rcx = gpa of the PD, %rdx = gpa of the second
 *   PT (which maps frame C), %rsi = gpa of frame B.
 * Frames A, B and C hold 0xaaaa..., 0xbbbb..., 0xcccc....
 */
#include "guest.h"
#include "tables.inc"

#define PROBE_PORT 0xe6
#define PROBE_VA 0x40000000

	.text
	.globl guest_main
guest_main:
	lea probe_pd + PTE_USER_RW(%rip), %rax
	mov %rax, pdpt + 8(%rip)	/* PDPT[1]: virtual 1 GiB */
	lea probe_pt(%rip), %rbx
	lea probe_pd(%rip), %rcx
	lea probe_pt2(%rip), %rdx
	lea frame_b(%rip), %rsi
	push $GUEST_USER_DS		/* iretq to CPL 3 with IOPL 3 */
	lea user_stack_top(%rip), %rax
	push %rax
	push $0x3002
	push $GUEST_USER_CS
	lea user_loop(%rip), %rax
	push %rax
	iretq

user_loop:
	mov PROBE_VA, %rax
	out %eax, $PROBE_PORT
	jmp user_loop

	.data
	.balign 4096
	table probe_pd, probe_pt + PTE_USER_RW
	table probe_pt, frame_a + PTE_USER_RW
	table probe_pt2, frame_c + PTE_USER_RW
	frame frame_a, 0xaaaaaaaaaaaaaaaa
	frame frame_b, 0xbbbbbbbbbbbbbbbb
	frame frame_c, 0xcccccccccccccccc

	.bss
	.balign 16
	.space 4096
user_stack_top:
