/* The user program (guest/umbra-user.elf, built from guest/user/),
 * embedded whole: the kernel loads its segments into the first process
 * (vm.c). */
	.section .rodata
	.balign 16
	.globl user_image, user_image_end
user_image:
	.incbin "umbra-user.elf"
user_image_end:
