/*
 * misbehave: does one thing the VMM must stop it for, chosen by the first
 * word of the command line:
 *   port      out to port 0x80, which umbra does not emulate
 *   hcsize    a 1-byte out to the hypercall port
 *   hcin      an in from the hypercall port
 *   mmio      a read of guest-physical 0x30000000 (run with --mem below that)
 *   panic     UMBRA_HC_PANIC("something broke")
 *   panicbad  UMBRA_HC_PANIC with a message outside guest RAM
 *   triple    an exception with an empty IDT: a triple fault
 *   halt      cli; hlt on the only running vCPU
 *   spin      loops forever at CPL 0 (for --timeout and signals)
 *   flood     writes its console in 4 KiB pieces forever (UMBRA_HC_CONSOLE)
 *   burst     writes 1 MiB to its console, then UMBRA_HC_EXIT(0)
 *   spill     writes 48 KiB to its console, then UMBRA_HC_EXIT(0)
 *   exit7     UMBRA_HC_EXIT(7)
 *   exit300   UMBRA_HC_EXIT(300)
 * The console output is lines of 63 'x' and a newline.
 * Anything else prints "misbehave: unknown mode" and exits 3.
 */
#include "guest.h"
#include "modes.inc"

	/* Not in .rodata: the macro puts the names there. */
	.data
	.balign 8
modes:
	mode "port", do_port
	mode "hcsize", do_hcsize
	mode "hcin", do_hcin
	mode "mmio", do_mmio
	mode "panic", do_panic
	mode "panicbad", do_panicbad
	mode "triple", do_triple
	mode "halt", do_halt
	mode "spin", do_spin
	mode "flood", do_flood
	mode "burst", do_burst
	mode "spill", do_spill
	mode "exit7", do_exit7
	mode "exit300", do_exit300
modes_end:

	.text
	.globl guest_main
guest_main:
	push %rbx
	lea modes(%rip), %rdi
	lea modes_end(%rip), %rsi
	call find_mode
	test %rax, %rax
	jz unknown
	mov %rax, %rbx
	pop %rax			/* drop the saved %rbx: handlers do not return */
	jmp *8(%rbx)
unknown:
	lea unknown_msg(%rip), %rdi
	call puts
	pop %rbx
	mov $3, %eax
	ret

do_port:
	out %al, $0x80
	jmp stuck
do_hcsize:
	out %al, $UMBRA_HC_PORT
	jmp stuck
do_hcin:
	in $UMBRA_HC_PORT, %eax
	jmp stuck
do_mmio:
	mov 0x30000000, %rax
	jmp stuck
do_panic:
	lea panic_msg(%rip), %rdi
	mov $panic_msg_end - panic_msg, %esi
	HC(UMBRA_HC_PANIC)
	jmp stuck
do_panicbad:
	mov $0xffffffffffff0000, %rdi
	mov $16, %esi
	HC(UMBRA_HC_PANIC)
	jmp stuck
do_triple:
	lidt null_idt(%rip)
	ud2
do_halt:
	cli
	hlt
	jmp stuck
do_spin:
	jmp do_spin
do_flood:
	lea lines(%rip), %rdi
	mov $lines_end - lines, %esi
	HC(UMBRA_HC_CONSOLE)
	jmp do_flood
do_burst:
	mov $256, %ebx			/* pieces of 4 KiB */
	jmp write_lines
do_spill:
	mov $12, %ebx
write_lines:
	lea lines(%rip), %rdi
	mov $lines_end - lines, %esi
	HC(UMBRA_HC_CONSOLE)
	dec %ebx
	jnz write_lines
	xor %edi, %edi
	HC(UMBRA_HC_EXIT)
	jmp stuck
do_exit7:
	mov $7, %edi
	HC(UMBRA_HC_EXIT)
	jmp stuck
do_exit300:
	mov $300, %edi
	HC(UMBRA_HC_EXIT)
	jmp stuck
/* Not reached when the VMM does its job: say so and exit with 4. */
stuck:
	lea stuck_msg(%rip), %rdi
	call puts
	mov $4, %edi
	HC(UMBRA_HC_EXIT)
	jmp stuck

	.section .rodata
unknown_msg:
	.asciz "misbehave: unknown mode\n"
stuck_msg:
	.asciz "misbehave: the VMM let the guest go on\n"
panic_msg:
	.ascii "something broke"
panic_msg_end:
	.balign 8
null_idt:
	.word 0
	.quad 0
lines:
	.rept 64
	.fill 63, 1, 'x'
	.byte '\n'
	.endr
lines_end:
