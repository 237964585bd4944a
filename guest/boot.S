/*
 * Boot. The image is entered the PVH way (docs/guest.md, "Boot"), by QEMU
 * and by umbra alike: 32-bit protected mode, paging off, %ebx = the
 * guest-physical address of struct hvm_start_info. pvh_start32 maps the
 * image with 2 MiB pages (paging.c replaces that map with one over all
 * RAM), enters long mode and calls kmain(start_info) on the boot CPU's
 * stack. It does not zero .bss: the loader did (ELF: the bytes of a
 * segment past p_filesz are zero), and zeroing 1 MiB where CPL 0 string
 * instructions are emulated element by element takes half a second.
 *
 * Secondary CPUs: on umbra, UMBRA_HC_CPU_START enters ap_start64 in 64-bit
 * mode (%rdi = vCPU index, %rsp = its stack top, CR3 = the kernel root);
 * on QEMU, INIT-SIPI-SIPI enters the real-mode trampoline (copied to
 * AP_TRAMPOLINE), which goes straight to long mode and ap_tramp64.
 */
#include <umbra/abi.h>

#include "cpu.h"
#include "trap.h"
#include "x86.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define AP_TRAMPOLINE 0x8000 /* smp.c copies the trampoline here */

/* ELF notes: the PVH entry (read by QEMU and umbra) and umbra's ABI
 * version. 4-byte alignment: QEMU pads the name to the note segment's
 * alignment. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4f - 3f /* namesz */
	.long 6f - 5f /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
3:	.asciz "Xen"
4:	.balign 4
5:	.long pvh_start32
6:	.balign 4

	.section .note.umbra, "a", @note
	.balign 4
	.long 4f - 3f
	.long 6f - 5f
	.long UMBRA_NOTE_ABI
3:	.asciz UMBRA_NOTE_NAME
4:	.balign 4
5:	.long UMBRA_ABI_VERSION
6:	.balign 4

	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, %esi /* start_info, kept for kmain */

	/* kernel_pml4[0] -> kernel_pdpt[0] -> kernel_pd[0]: the image, 2 MiB pages */
	movl $kernel_pdpt, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, kernel_pml4
	movl $kernel_pd, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, kernel_pdpt
	movl $_end, %ecx
	addl $(HUGE_PGSIZE - 1), %ecx
	shrl $21, %ecx
	movl $(PTE_P | PTE_W | PTE_PS), %eax
	movl $kernel_pd, %edi
1:	movl %eax, (%edi)
	addl $HUGE_PGSIZE, %eax
	addl $8, %edi
	decl %ecx
	jnz 1b

	/* long mode */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $kernel_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	lgdt gdt_desc
	movl %cr0, %eax
	orl $(CR0_PE | CR0_WP | CR0_PG), %eax
	movl %eax, %cr0
	ljmp $SEL_KCODE, $start64

	.code64
start64:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $(cpu_areas + KSTACK_SIZE), %rsp
	movl %esi, %edi
	call kmain
2:	hlt
	jmp 2b

/* umbra: %rdi = vCPU index, %rsp = its stack top, CR3 = kernel root. */
	.globl ap_start64
ap_start64:
	lgdt gdt_desc
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	pushq $SEL_KCODE
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	call ap_main
2:	hlt
	jmp 2b

/* QEMU: from the trampoline, in 64-bit mode with real-mode data segments
 * and no stack. Each CPU takes the next index and the stack that goes
 * with it. */
ap_tramp64:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movl $1, %edi
	lock xaddl %edi, smp_next_index(%rip)
	cmpl $MAXCPU, %edi /* more CPUs than the kernel has room for: park */
	jae 2f
	movq %rdi, %rsp
	addq $1, %rsp
	shlq $14, %rsp /* KSTACK_SIZE */
	addq $cpu_areas, %rsp
	call ap_main
2:	cli
	hlt
	jmp 2b

/*
 * The real-mode trampoline: smp.c copies [ap_tramp_start, ap_tramp_end)
 * to AP_TRAMPOLINE and sends a SIPI there. It enables PAE, loads the
 * kernel root and EFER.LME, then sets PE and PG at once and jumps to a
 * 64-bit code segment.
 */
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl (AP_TRAMPOLINE + ap_tramp_gdtr - ap_tramp_start)
	movl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $kernel_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl $(CR0_PE | CR0_WP | CR0_PG), %eax
	movl %eax, %cr0
	ljmpl $SEL_KCODE, $ap_tramp64
	.balign 4
ap_tramp_gdtr:
	.word GDT_ENTRIES * 8 - 1
	.long gdt
ap_tramp_end:

	.section .rodata
	.balign 8
gdt_desc:
	.word GDT_ENTRIES * 8 - 1
	.quad gdt
