/*
 * staleprobe: does a change to a translation the vCPU has cached reach the
 * vCPU's next access? (issue 8) Needs --mem 64M and a shadow paging mode;
 * --pool 2M makes step 4 reuse freed pool pages in every flush mode.
 *
 * Its own tables: the kernel slot (slot 0) maps RAM by 2 MiB pages, user-
 * accessible like boot.S's, so that CPL 3 runs the image's own code; the
 * probed mappings are in slot 1. Main address space P, loaded on the vCPU.
 * Each step first makes the vCPU cache the old translation (it accesses
 * it), then changes it with the hypercalls, then checks the next access:
 *   1. leaf-repoint: AS_UPDATE re-points a leaf from frame A to frame B;
 *      the next read must see B.
 *   2. narrow-w: a writable, dirty leaf, written, is made read-only; the
 *      next write must fault (#PF, the guest's tables refuse it) and
 *      leave the frame as it was.
 *   3. pd-repoint: a level-2 AS_UPDATE re-points a PD entry from a PT that
 *      maps the VA to frame C0 to a fresh PT that maps it to frame C; the
 *      next read must see C.
 *   4. pool-reuse: ROUNDS times: AS_CREATE an address space whose tables
 *      map a VA to a frame with a value of its own, switch to it, read the
 *      VA (its shadow pages now exist and are cached), switch back to P,
 *      AS_DESTROY it. Each new one's shadow pages come from the pool, and
 *      are the ones the last rounds freed as soon as the pool lets them
 *      (at once where frees are not deferred, after a whole-VM flush where
 *      they are: with --pool 2M the pool runs short and forces one). Each
 *      read must see its own round's value. The guest reads CR3 to count
 *      the rounds whose shadow root is a page an earlier round had.
 * The accesses are made at CPL 3 (a pass of all four steps), then at CPL 0
 * (another pass, on fresh VAs): this machine's KVM emulates CPL 0 and may
 * see other things there. The hypercalls are made at CPL 0, but the first
 * AS_SWITCH.
 *
 * One line per step and pass:
 *   "staleprobe: fresh <step> cpl<N>[: details]"
 *   "staleprobe: STALE <step> cpl<N>: <what the access saw>"
 * Exits 0 if every step was fresh, 3 if any was stale, 1 on any other
 * failure ("staleprobe: FAIL <what>": a hypercall refused, a first access
 * that did not see the old translation, an unexpected fault).
 */
#define FAIL_PREFIX "staleprobe: FAIL "
#include "guest.h"
#include "report.inc"
#include "tables.inc"

#define LEAF_RO 0x25		/* present, user, accessed: installed at once */
#define LEAF_RO_D 0x65		/* PTE_USER_RW_AD without W */
#define STALE_STATUS 3

/* The probed VAs: one set per pass. */
#define LEAF_VA3 (USER_VA + 0x0000)	/* pt_p[0] */
#define NARROW_VA3 (USER_VA + 0x1000)	/* pt_p[1] */
#define LEAF_VA0 (USER_VA + 0x2000)	/* pt_p[2] */
#define NARROW_VA0 (USER_VA + 0x3000)	/* pt_p[3] */
#define PD_VA3 (USER_VA + 0x200000)	/* pd_p[1] */
#define PD_VA0 (USER_VA + 0x400000)	/* pd_p[2] */
#define REUSE_VA USER_VA		/* pt_t[0] */

#define VALUE_A 0xaaaaaaaaaaaaaaaa
#define VALUE_B 0xbbbbbbbbbbbbbbbb
#define VALUE_C0 0xc0c0c0c0c0c0c0c0
#define VALUE_C 0xcccccccccccccccc
#define NARROW_BEFORE 0x1111
#define NARROW_AFTER 0x2222
#define ROUND_MAGIC 0x5e5e000000000000

/* Rounds of step 4 per pass. --pool 2M is 512 pages and a round frees 4
 * (root, PDPT, PD, PT): 160 rounds run the pool short once in the deferred
 * modes, and cost ~0.1 s here. */
#define ROUNDS 160
#define BITMAP_BITS 16384	/* pool pages whose use as a root is tracked: 64 MiB */
/* More hidden faults than one access can take (a fill builds the whole
 * path at once): the vCPU does not see what the VMM filled. */
#define FAULT_LOOP 16

/* A pass: its CPL and name, and its three updates (struct umbra_pt_update). */
#define RUN_CPL 0
#define RUN_NAME 8
#define RUN_LEAF 16
#define RUN_NARROW 40
#define RUN_PD 64
#define UPD_VA 0
#define UPD_VALUE 8

.macro phase nr
	mov $\nr, %edi
	HC(UMBRA_HC_PHASE)
.endm

	.text
	.globl guest_main
guest_main:
	require_64m
	require_shadow
	lea pf_handler(%rip), %rdi
	call usermode_setup
	phase UMBRA_PHASE_SETUP
	lea root_p(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 1f
	fail "AS_CREATE of the main address space"
1:	mov %rax, as_p(%rip)
	mov %rax, cur_as(%rip)
	/* The first switch, off the boot tables, is made at CPL 3: at CPL 0
	 * under --flush tlb the VMM would resume the vCPU in its flush stub,
	 * which the boot tables do not map (tests/vmm/stubswitch.sh). */
	mov %rax, %rsi
	lea user_as_switch(%rip), %rdi
	call run_user
	test %rax, %rax
	jz 1f
	fail "AS_SWITCH to the main address space"
1:	lea run3(%rip), %rbx
	call run_steps
	lea run0(%rip), %rbx
	call run_steps
	xor %eax, %eax
	cmpq $0, stale_seen(%rip)
	je 1f
	mov $STALE_STATUS, %eax
1:	ret

/* run_steps(rbx = a pass): the four steps at the pass's CPL, each in a
 * phase of its own (with --check the VMM checks the shadow in between). */
run_steps:
	mov RUN_CPL(%rbx), %rax
	mov %rax, cpl(%rip)
	mov RUN_NAME(%rbx), %rax
	mov %rax, cpl_name(%rip)
	phase UMBRA_PHASE_USER
	call step_leaf
	phase UMBRA_PHASE_USER + 1
	call step_narrow
	phase UMBRA_PHASE_USER + 2
	call step_pd
	phase UMBRA_PHASE_USER + 3
	jmp step_reuse

/* 1. Re-point a cached leaf: A -> B. */
step_leaf:
	lea leaf_name(%rip), %rax
	mov %rax, step_name(%rip)
	mov RUN_LEAF + UPD_VA(%rbx), %rsi
	call read_at_cpl
	movabs $VALUE_A, %rcx
	cmp %rcx, %rax
	je 1f
	fail "leaf-repoint: the first read did not see frame A"
1:	lea RUN_LEAF(%rbx), %rsi
	call update_p
	mov RUN_LEAF + UPD_VA(%rbx), %rsi
	call read_at_cpl
	movabs $VALUE_B, %rcx
	jmp value_verdict

/* 2. Make a cached writable leaf read-only: the next write must fault. */
step_narrow:
	lea narrow_name(%rip), %rax
	mov %rax, step_name(%rip)
	mov RUN_NARROW + UPD_VA(%rbx), %rsi
	mov $NARROW_BEFORE, %edx
	call write_at_cpl
	cmpq $0, wfaults(%rip)
	je 1f
	fail "narrow-w: the first write faulted"
1:	lea RUN_NARROW(%rbx), %rsi
	call update_p
	mov RUN_NARROW + UPD_VA(%rbx), %rsi
	mov $NARROW_AFTER, %edx
	call write_at_cpl
	mov RUN_NARROW + UPD_VALUE(%rbx), %rax
	and $-4096, %rax
	mov (%rax), %rax		/* the frame, through the kernel slot */
	cmpq $1, wfaults(%rip)
	jne 1f
	cmp $NARROW_BEFORE, %rax
	jne 1f
	xor %eax, %eax
	call verdict_head
	say "\n"
	ret
1:	mov $1, %eax
	call verdict_head
	say ": a write went through the read-only entry\n"
	ret

/* 3. Re-point a cached PD entry to a fresh PT: C0 -> C. */
step_pd:
	lea pd_name(%rip), %rax
	mov %rax, step_name(%rip)
	mov RUN_PD + UPD_VA(%rbx), %rsi
	call read_at_cpl
	movabs $VALUE_C0, %rcx
	cmp %rcx, %rax
	je 1f
	fail "pd-repoint: the first read did not see frame C0"
1:	lea RUN_PD(%rbx), %rsi
	call update_p
	mov RUN_PD + UPD_VA(%rbx), %rsi
	call read_at_cpl
	movabs $VALUE_C, %rcx
	jmp value_verdict

/* 4. Destroy address spaces whose shadow the vCPU cached, create new ones
 * on the freed pool pages. r12 rounds left, r13 the round's number, r14
 * its frame, r15 its value. */
step_reuse:
	lea reuse_name(%rip), %rax
	mov %rax, step_name(%rip)
	movq $0, reuse_stale(%rip)
	movq $0, reuse_reused(%rip)
	mov $ROUNDS, %r12d
1:	mov round_id(%rip), %r13
	incq round_id(%rip)
	mov %r13, %r14
	shl $12, %r14
	lea round_frames(%rip), %rax
	add %rax, %r14
	movabs $ROUND_MAGIC, %r15
	or %r13, %r15
	mov %r15, (%r14)
	lea LEAF_RO(%r14), %rax
	mov %rax, pt_t(%rip)		/* not registered: the guest writes it */
	lea root_t(%rip), %rdi
	HC(UMBRA_HC_AS_CREATE)
	test %rax, %rax
	jg 2f
	fail "pool-reuse: AS_CREATE"
2:	mov %rax, as_t(%rip)
	mov %rax, %rdi
	call switch_to
	mov %cr3, %rax
	and $-4096, %rax
	sub $RAM_END, %rax		/* the pool starts at the end of RAM */
	shr $12, %rax
	cmp $BITMAP_BITS, %rax
	jae 2f
	bts %rax, reuse_bitmap(%rip)
	jnc 2f
	incq reuse_reused(%rip)
2:	movabs $REUSE_VA, %rsi
	call read_at_cpl
	cmp %r15, %rax
	je 2f
	incq reuse_stale(%rip)
	cmpq $1, reuse_stale(%rip)
	jne 2f
	mov %rax, reuse_seen(%rip)
	mov %r15, reuse_expected(%rip)
2:	mov as_p(%rip), %rdi
	call switch_to
	mov as_t(%rip), %rdi
	HC(UMBRA_HC_AS_DESTROY)
	test %rax, %rax
	jz 2f
	fail "pool-reuse: AS_DESTROY"
2:	dec %r12d
	jnz 1b
	cmpq $0, reuse_stale(%rip)
	jne 1f
	xor %eax, %eax
	call verdict_head
	say ": "
	mov $ROUNDS, %edi
	call put_dec
	say " rounds, "
	mov reuse_reused(%rip), %rdi
	call put_dec
	say " on a reused root\n"
	ret
1:	mov $1, %eax
	call verdict_head
	say ": "
	mov reuse_stale(%rip), %rdi
	call put_dec
	say " of "
	mov $ROUNDS, %edi
	call put_dec
	say " rounds read an old frame, the first "
	mov reuse_seen(%rip), %rdi
	call put_hex
	say " for "
	mov reuse_expected(%rip), %rdi
	call put_hex
	say "; "
	mov reuse_reused(%rip), %rdi
	call put_dec
	say " on a reused root\n"
	ret

/* value_verdict(rax = what the read saw, rcx = what it should have). */
value_verdict:
	push %r12
	push %r13
	mov %rax, %r12
	mov %rcx, %r13
	xor %eax, %eax
	cmp %r12, %r13
	setne %al
	call verdict_head
	cmp %r12, %r13
	je 1f
	say ": read "
	mov %r12, %rdi
	call put_hex
	say ", expected "
	mov %r13, %rdi
	call put_hex
1:	say "\n"
	pop %r13
	pop %r12
	ret

/* verdict_head(eax = 0 fresh, 1 stale): "staleprobe: fresh <step> cpl<N>",
 * without the end of the line. */
verdict_head:
	test %eax, %eax
	jz 1f
	movq $1, stale_seen(%rip)
	say "staleprobe: STALE "
	jmp 2f
1:	say "staleprobe: fresh "
2:	mov step_name(%rip), %rdi
	call puts
	mov cpl_name(%rip), %rdi
	jmp puts

/* put_dec(rdi): prints rdi in decimal. */
put_dec:
	lea dec_end(%rip), %rsi
	mov %rdi, %rax
	mov $10, %ecx
1:	xor %edx, %edx
	div %rcx
	add $'0', %dl
	dec %rsi
	mov %dl, (%rsi)
	test %rax, %rax
	jnz 1b
	mov %rsi, %rdi
	lea dec_end(%rip), %rsi
	sub %rdi, %rsi
	HC(UMBRA_HC_CONSOLE)
	ret

/* update_p(rsi = struct umbra_pt_update): applies it to P. */
update_p:
	mov as_p(%rip), %rdi
	mov $1, %edx
	HC(UMBRA_HC_AS_UPDATE)
	cmp $1, %rax
	jne 1f
	ret
1:	fail "AS_UPDATE of the main address space"

/* switch_to(rdi = handle): AS_SWITCH, and remember it for the #PF handler. */
switch_to:
	mov %rdi, cur_as(%rip)
	HC(UMBRA_HC_AS_SWITCH)
	test %rax, %rax
	jnz 1f
	ret
1:	fail "AS_SWITCH"

/* read_at_cpl(rsi = va) -> rax: the quadword at va, read at the pass's CPL. */
read_at_cpl:
	movq $0, faults_this_access(%rip)
	cmpq $3, cpl(%rip)
	je 1f
	mov (%rsi), %rax
	ret
1:	lea u_read(%rip), %rdi
	jmp run_user

/* write_at_cpl(rsi = va, rdx = value): writes it at the pass's CPL;
 * wfaults says whether the write faulted (and was skipped). */
write_at_cpl:
	movq $0, faults_this_access(%rip)
	movq $0, wfaults(%rip)
	cmpq $3, cpl(%rip)
	je 1f
k_write:
	mov %rdx, (%rsi)
k_write_done:
	ret
1:	lea u_write(%rip), %rdi
	jmp run_user

/* The CPL 3 side (run_user): one access or call, then back. */
u_read:
	mov (%rsi), %rax
	int3
u_write:
	mov %rdx, (%rsi)
u_write_done:
	int3

/*
 * #PF: a hidden fault (AS_FAULT fills the shadow) is retried; one the
 * guest's tables refuse must be at a probe write, which is skipped and
 * counted in wfaults. More hidden faults in one access than it can take
 * mean the vCPU does not see the fills: stale.
 */
pf_handler:
	push %rax
	push %rdx
	push %rsi
	push %rdi
	incq faults_this_access(%rip)
	cmpq $FAULT_LOOP, faults_this_access(%rip)
	ja fault_loop
	mov %cr2, %rsi
	mov 32(%rsp), %rdx		/* the error code */
	mov cur_as(%rip), %rdi
	HC(UMBRA_HC_AS_FAULT)
	cmp $UMBRA_FAULT_FIXED, %rax
	je 3f
	cmp $UMBRA_FAULT_SPURIOUS, %rax
	je 3f
	cmp $UMBRA_FAULT_GUEST, %rax
	je 1f
	fail "AS_FAULT returned an error"
1:	lea u_write(%rip), %rdx
	lea u_write_done(%rip), %rax
	cmp %rdx, 40(%rsp)		/* the faulting %rip */
	je 2f
	lea k_write(%rip), %rdx
	lea k_write_done(%rip), %rax
	cmp %rdx, 40(%rsp)
	je 2f
	fail "a #PF that the guest tables refuse, not at a probe write"
2:	mov %rax, 40(%rsp)
	incq wfaults(%rip)
3:	pop %rdi
	pop %rsi
	pop %rdx
	pop %rax
	add $8, %rsp
	iretq

fault_loop:
	mov $1, %eax
	call verdict_head
	say ": a fault loop at "
	mov %cr2, %rdi
	call put_hex
	say "\n"
	mov $STALE_STATUS, %edi
	jmp guest_exit

	.section .rodata
leaf_name:
	.asciz "leaf-repoint"
narrow_name:
	.asciz "narrow-w"
pd_name:
	.asciz "pd-repoint"
reuse_name:
	.asciz "pool-reuse"
cpl3_name:
	.asciz " cpl3"
cpl0_name:
	.asciz " cpl0"

	.data
	.balign 8
as_p:	.quad 0
as_t:	.quad 0
cur_as:	.quad 0
cpl:	.quad 0
cpl_name: .quad 0
step_name: .quad 0
stale_seen: .quad 0
wfaults: .quad 0
faults_this_access: .quad 0
round_id: .quad 0
reuse_stale: .quad 0
reuse_reused: .quad 0
reuse_seen: .quad 0
reuse_expected: .quad 0
dec_buf: .space 20
dec_end:
	.balign 8
run3:
	.quad 3, cpl3_name
	.quad LEAF_VA3, frame_b + LEAF_RO
	.long 1, 0
	.quad NARROW_VA3, frame_w3 + LEAF_RO_D
	.long 1, 0
	.quad PD_VA3, pt3b_3 + PTE_USER_RW
	.long 2, 0
run0:
	.quad 0, cpl0_name
	.quad LEAF_VA0, frame_b + LEAF_RO
	.long 1, 0
	.quad NARROW_VA0, frame_w0 + LEAF_RO_D
	.long 1, 0
	.quad PD_VA0, pt3b_0 + PTE_USER_RW
	.long 2, 0

/* The kernel slot: RAM by 2 MiB pages. */
	kernel_slot PTE_USER_RW, PDE_USER_2M

/* P: steps 1-3. */
	table root_p, kpdpt + PTE_USER_RW, pdpt_p + PTE_USER_RW
	table pdpt_p, pd_p + PTE_USER_RW
pd_p:
	.quad pt_p + PTE_USER_RW
	.quad pt3a_3 + PTE_USER_RW		/* PD_VA3 */
	.quad pt3a_0 + PTE_USER_RW		/* PD_VA0 */
	.fill 509, 8, 0
pt_p:
	.quad frame_a + LEAF_RO		/* LEAF_VA3 */
	.quad frame_w3 + PTE_USER_RW_AD	/* NARROW_VA3 */
	.quad frame_a + LEAF_RO		/* LEAF_VA0 */
	.quad frame_w0 + PTE_USER_RW_AD	/* NARROW_VA0 */
	.fill 508, 8, 0
/* Step 3's PTs: the old ones, and the fresh ones the PD entries move to. */
	table pt3a_3, frame_c0 + LEAF_RO
	table pt3a_0, frame_c0 + LEAF_RO
	table pt3b_3, frame_c + LEAF_RO
	table pt3b_0, frame_c + LEAF_RO

/* Step 4's address spaces: REUSE_VA -> the round's frame (pt_t[0]). */
	table root_t, kpdpt + PTE_USER_RW, pdpt_t + PTE_USER_RW
	table pdpt_t, pd_t + PTE_USER_RW
	table pd_t, pt_t + PTE_USER_RW
pt_t:
	.fill 512, 8, 0

/* The frames: only their first quadword is read. */
	table frame_a, VALUE_A
	table frame_b, VALUE_B
	table frame_c0, VALUE_C0
	table frame_c, VALUE_C

	.bss
	.balign 4096
frame_w3: .space 4096
frame_w0: .space 4096
/* A frame per round: a translation cached in any earlier round maps
 * another frame than the one the round reads. */
round_frames: .space 2 * ROUNDS * 4096
reuse_bitmap: .space BITMAP_BITS / 8
