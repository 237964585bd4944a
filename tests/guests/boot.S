/*
 * Test-guest boot: the PVH entry (32-bit protected mode, paging off,
 * %ebx = start_info), a switch to 64-bit mode on static page tables, and
 * helpers the guests share. Little code runs at CPL 0 because this
 * machine's KVM emulates CPL 0 one instruction at a time.
 */
#include "guest.h"

	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18		/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long pvh_entry

	.section .note.umbra, "a", @note
	.balign 4
	.long 6, 4, UMBRA_NOTE_ABI
	.asciz UMBRA_NOTE_NAME
	.balign 4
	.long UMBRA_ABI_VERSION

	.section .text.boot, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	lgdt gdt_ptr
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0x6a0, %eax		/* PAE | PGE | OSFXSR | OSXMMEXCPT */
	mov %eax, %cr4
	mov $0xc0000080, %ecx		/* EFER */
	rdmsr
	or $0x900, %eax			/* LME | NXE */
	wrmsr
	mov $0x80010033, %eax		/* PG | WP | NE | ET | MP | PE */
	mov %eax, %cr0
	ljmp $GUEST_CS, $long_mode

	.code64
long_mode:
	mov $GUEST_DS, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $boot_stack_top, %rsp
	mov %ebx, %edi
	mov %rdi, start_info(%rip)
	call guest_main
	mov %rax, %rdi
	HC(UMBRA_HC_EXIT)
1:	hlt
	jmp 1b

	.text
/* console(rdi = string, rsi = length): UMBRA_HC_CONSOLE. */
	.globl console
console:
	HC(UMBRA_HC_CONSOLE)
	ret

/* puts(rdi = NUL-terminated string): UMBRA_HC_CONSOLE. */
	.globl puts
puts:
	mov %rdi, %rsi
1:	cmpb $0, (%rsi)
	je 2f
	inc %rsi
	jmp 1b
2:	sub %rdi, %rsi
	HC(UMBRA_HC_CONSOLE)
	ret

/* put_hex(rdi = value): prints 0x and 16 hex digits. */
	.globl put_hex
put_hex:
	lea hex_buf+18(%rip), %rsi
	mov $16, %ecx
1:	dec %rsi
	mov %edi, %eax
	and $15, %eax
	movzbl hex_digits(%rax), %eax
	mov %al, (%rsi)
	shr $4, %rdi
	loop 1b
	lea hex_buf(%rip), %rdi
	mov $18, %esi
	HC(UMBRA_HC_CONSOLE)
	ret

/* cmdline() -> rax: the guest command line (NUL-terminated; "" if none). */
	.globl cmdline
cmdline:
	mov start_info(%rip), %rax
	mov START_INFO_CMDLINE(%rax), %rax
	test %rax, %rax
	jnz 1f
	lea empty(%rip), %rax
1:	ret

/* ram_end() -> rax: the end of the first memory map entry (guest RAM). */
	.globl ram_end
ram_end:
	mov start_info(%rip), %rax
	mov START_INFO_MEMMAP(%rax), %rax
	mov MEMMAP_SIZE(%rax), %rax
	ret

	.section .rodata
hex_digits:
	.ascii "0123456789abcdef"
empty:
	.byte 0

	.data
	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10: kernel data */
	.quad 0x00affa000000ffff	/* 0x18: user code, 64-bit */
	.quad 0x00cff2000000ffff	/* 0x20: user data */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt
hex_buf:
	.ascii "0x0000000000000000"
	.globl start_info
start_info:
	.quad 0

	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + 0x7
	.fill 511, 8, 0
	.globl pdpt
pdpt:
	.quad pd + 0x7
	.fill 511, 8, 0
pd:
	.set i, 0
	.rept 512
	.quad (i << 21) | 0x87		/* present, writable, user, 2 MiB */
	.set i, i + 1
	.endr

	.bss
	.balign 16
	.space 16384
	.globl boot_stack_top
boot_stack_top:
