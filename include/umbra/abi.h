/*
 * The umbra hypercall ABI: the one header that the guest (guest/, tests/guests/)
 * and the VMM (vmm/) share. C99 or assembly, fixed-width types only.
 * docs/abi.md explains each call; this header is the authority on numbers.
 *
 * A hypercall is one VM exit:
 *     mov  $UMBRA_HC_x, %eax
 *     (arguments in %rdi, %rsi, %rdx, %rcx, %r8)
 *     outl %eax, $UMBRA_HC_PORT
 *     (result in %rax; some calls also return a value in %rdx)
 * The VMM reads and writes the registers through KVM_CAP_SYNC_REGS. Every
 * argument is untrusted: a bad one makes the call return a negative
 * UMBRA_E* code (or, for UMBRA_HC_EXIT and UMBRA_HC_PANIC, stops the guest).
 */
#ifndef UMBRA_ABI_H
#define UMBRA_ABI_H

/* Bumped on any incompatible change; the VMM refuses an image whose
 * UMBRA_NOTE_ABI note carries another version. */
#define UMBRA_ABI_VERSION 2

/* I/O ports */
#define UMBRA_HC_PORT 0xe4    /* outl: hypercall number in %eax */
#define UMBRA_COM1_PORT 0x3f8 /* 16550 data register: one byte per outb */
#define UMBRA_COM1_LSR 0x3fd  /* line status: reads 0x60 (transmitter empty) */

/*
 * CPUID leaves that umbra adds, so that one image can tell umbra from QEMU:
 * 0x40000000: EAX = 0x40000001, EBX:ECX:EDX = "UmbraUmbraUm".
 * 0x40000001: EAX = UMBRA_ABI_VERSION, EBX = UMBRA_CPUID_F_* flags,
 *             ECX = number of vCPUs.
 */
#define UMBRA_CPUID_BASE 0x40000000u
#define UMBRA_CPUID_INFO 0x40000001u
#define UMBRA_CPUID_SIG_EBX 0x72626d55u /* "Umbr" */
#define UMBRA_CPUID_SIG_ECX 0x626d5561u /* "aUmb" */
#define UMBRA_CPUID_SIG_EDX 0x6d556172u /* "raUm" */
#define UMBRA_CPUID_F_SHADOW 0x1u       /* paging is shadowed: use UMBRA_HC_AS_* */

/*
 * ELF note in the guest image (name "umbra", type UMBRA_NOTE_ABI, 4-byte
 * descriptor = UMBRA_ABI_VERSION). Optional: an image without it is run as
 * a plain PVH kernel that makes no umbra-specific hypercalls.
 */
#define UMBRA_NOTE_NAME "umbra"
#define UMBRA_NOTE_ABI 1

/*
 * Boot: umbra enters the image like a PVH loader does (Xen PVH ABI, the same
 * as QEMU -kernel): 32-bit protected mode, paging off, flat CS/DS/ES/SS,
 * %ebx = guest-physical address of struct hvm_start_info (version 1, with a
 * memory map: RAM is type 1, the shadow pool is type 2 "reserved"), the
 * command line at start_info.cmdline_paddr.
 *
 * Secondary vCPUs wait until the boot vCPU starts them with
 * UMBRA_HC_CPU_START; they begin in 64-bit mode at CPL 0 with
 * CS = UMBRA_BOOT_CS, DS/ES/SS/FS/GS = UMBRA_BOOT_DS (the guest's GDT must use
 * these selectors), GDTR and IDTR copied from the calling vCPU,
 * CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|PGE|OSFXSR|OSXMMEXCPT,
 * EFER = LME|LMA|NXE, interrupts off, %rdi = vCPU index, %rsi = the argument.
 *
 * There are no interrupts: `hlt` parks a vCPU until UMBRA_HC_KICK, like
 * UMBRA_HC_IDLE without a timeout (the VMM stops a guest whose started
 * vCPUs are all halted).
 */
#define UMBRA_BOOT_CS 0x08
#define UMBRA_BOOT_DS 0x10

/* PML4 slot 511 is umbra's own (its flush stub, mapped supervisor-only in
 * every shadow address space): the guest's tables must leave it empty, and
 * UMBRA_HC_AS_UPDATE there is -UMBRA_EPERM. */
#define UMBRA_STUB_PML4_SLOT 511

/* Guest page tables: ordinary x86-64 4-level tables. The kernel's mappings
 * live in PML4 slot UMBRA_KERNEL_PML4_SLOT, which every address space shares
 * (same PDPT page) and which the VMM mirrors once for all shadow roots. */
#define UMBRA_KERNEL_PML4_SLOT 0

/* Hypercall numbers. */
#define UMBRA_HC_VERSION 0     /* () -> UMBRA_ABI_VERSION */
#define UMBRA_HC_CONSOLE 1     /* (gpa, len) -> len; len <= UMBRA_CONSOLE_MAX */
#define UMBRA_HC_EXIT 2        /* (status) -> does not return */
#define UMBRA_HC_PANIC 3       /* (gpa, len of message) -> does not return */
#define UMBRA_HC_PHASE 4       /* (phase) -> previous phase of this vCPU */
#define UMBRA_HC_CPU_START 5   /* (cpu, rip, rsp, cr3, arg) -> 0 */
#define UMBRA_HC_IDLE 6        /* (timeout_ns) -> 0; parks until kicked or timeout (0: no wait) */
#define UMBRA_HC_KICK 7        /* (cpu) -> 0; wakes a vCPU parked in UMBRA_HC_IDLE */
#define UMBRA_HC_CLOCK 8       /* () -> nanoseconds since the VMM started the guest */
#define UMBRA_HC_PAGE_CLEAR 9  /* (gpa) -> 0; zero-fills the 4 KiB page of guest RAM at gpa */
#define UMBRA_HC_PAGE_COPY 10  /* (dst_gpa, src_gpa) -> 0; copies a 4 KiB page, dst != src */
#define UMBRA_HC_AS_CREATE 16  /* (guest_root) -> handle > 0 */
#define UMBRA_HC_AS_DESTROY 17 /* (handle) -> 0 */
#define UMBRA_HC_AS_FORK 18    /* (parent handle, child_root) -> child handle */
#define UMBRA_HC_AS_FAULT 19   /* (handle, va, x86 #PF error code) -> UMBRA_FAULT_* */
/* (handle, gpa of umbra_pt_update[], count) -> number applied; when that is
 * less than count, %rdx = the error of the first update not applied */
#define UMBRA_HC_AS_UPDATE 20
/* (handle, or UMBRA_AS_KERNEL) -> 0; this vCPU's CR3 is now that shadow root */
#define UMBRA_HC_AS_SWITCH 21
#define UMBRA_HC_COUNT 22 /* one past the highest number */

#define UMBRA_CONSOLE_MAX 4096u
#define UMBRA_UPDATE_MAX 512u /* entries in one UMBRA_HC_AS_UPDATE */
#define UMBRA_AS_KERNEL 0     /* UMBRA_HC_AS_SWITCH: the root that maps only the kernel slot */

/* umbra_pt_update.flags. UMBRA_PT_WP_BELOW: only on a level 2 or 3 update
 * whose value is a present table entry; after setting the entry, the VMM
 * clears W in every present entry of the table it points at (the guest's
 * in-place unshare of a table it was the last to share, in one update). */
#define UMBRA_PT_WP_BELOW 0x1u

/* UMBRA_HC_AS_FAULT results */
#define UMBRA_FAULT_FIXED 0    /* hidden fault: the shadow now allows the access; retry */
#define UMBRA_FAULT_GUEST 1    /* the guest's own tables refuse the access: handle it as a #PF */
#define UMBRA_FAULT_SPURIOUS 2 /* the shadow already allowed it (another vCPU filled it); retry */

/* x86 #PF error-code bits, as UMBRA_HC_AS_FAULT takes them */
#define UMBRA_PF_PRESENT 0x1u
#define UMBRA_PF_WRITE 0x2u
#define UMBRA_PF_USER 0x4u
#define UMBRA_PF_RSVD 0x8u
#define UMBRA_PF_FETCH 0x10u

/* Phases (UMBRA_HC_PHASE): exits are attributed to the calling vCPU's
 * current phase. 0..UMBRA_PHASE_COUNT-1; the workload may use its own
 * numbers from UMBRA_PHASE_USER up. */
#define UMBRA_PHASE_BOOT 0
#define UMBRA_PHASE_SETUP 1     /* workload set-up, e.g. a parent touching its memory */
#define UMBRA_PHASE_FORK 2      /* inside fork() */
#define UMBRA_PHASE_CHILD 3     /* a child process running */
#define UMBRA_PHASE_EXIT_WAIT 4 /* exit() and wait() */
#define UMBRA_PHASE_IDLE 5      /* nothing to run on this vCPU */
#define UMBRA_PHASE_USER 6
#define UMBRA_PHASE_COUNT 16

/* Error codes: negative, with Linux errno numbers. */
#define UMBRA_EPERM 1
#define UMBRA_ENOENT 2
#define UMBRA_ESRCH 3
#define UMBRA_E2BIG 7
#define UMBRA_EBADF 9
#define UMBRA_EAGAIN 11
#define UMBRA_ENOMEM 12
#define UMBRA_EACCES 13 /* a user leaf and a page table would share a frame */
#define UMBRA_EFAULT 14
#define UMBRA_EBUSY 16
#define UMBRA_EEXIST 17 /* the page is a page table already (aliasing) */
#define UMBRA_EINVAL 22
#define UMBRA_ETXTBSY 26 /* the table is shared: unshare it before changing it */
#define UMBRA_ENOSPC 28
#define UMBRA_ERANGE 34
#define UMBRA_ENOSYS 38
#define UMBRA_ELOOP 40
#define UMBRA_EOPNOTSUPP 95
#define UMBRA_ESTALE 116  /* the guest changed a registered table behind the VMM's back */
#define UMBRA_EUCLEAN 117 /* the shadow is corrupt (the VM stops) */

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * One guest table update for UMBRA_HC_AS_UPDATE: set the entry at `level`
 * (1 = PT entry of a 4 KiB page, 2 = PD, 3 = PDPT, 4 = PML4) on the walk of
 * `va` in the address space's guest tables to `value`. The tables above
 * `level` must be present. The VMM writes the guest entry and brings the
 * shadow in line, unsharing a shared shadow page first.
 */
struct umbra_pt_update {
	uint64_t va;    /* IN: a virtual address the entry translates */
	uint64_t value; /* IN: the new entry */
	uint32_t level; /* IN: 1..4 */
	uint32_t flags; /* IN: UMBRA_PT_*; other bits are -UMBRA_EINVAL */
};
/* Level 2 or 3, a present table entry: after setting it, clear W in every
 * present entry of the table it points at (the in-place unshare of a
 * table the guest shared: what copies share now becomes copy-on-write). */
#define UMBRA_PT_WP_BELOW 0x1u
_Static_assert(sizeof(struct umbra_pt_update) == 24, "umbra_pt_update is 24 bytes");
_Static_assert(__builtin_offsetof(struct umbra_pt_update, value) == 8, "value at 8");
_Static_assert(__builtin_offsetof(struct umbra_pt_update, level) == 16, "level at 16");
_Static_assert(__builtin_offsetof(struct umbra_pt_update, flags) == 20, "flags at 20");

#endif /* __ASSEMBLER__ */
#endif /* UMBRA_ABI_H */
