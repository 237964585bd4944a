/*
 * Shared definitions of the test guests (assembly): boot.S enters 64-bit
 * mode with the first GiB identity-mapped by 2 MiB pages (user-accessible,
 * so CPL 3 code can run anywhere) and calls guest_main(start_info).
 */
#ifndef UMBRA_TEST_GUEST_H
#define UMBRA_TEST_GUEST_H

#include <umbra/abi.h>

/* GDT selectors (boot.S) */
#define GUEST_CS UMBRA_BOOT_CS
#define GUEST_DS UMBRA_BOOT_DS
#define GUEST_USER_CS (0x18 | 3)
#define GUEST_USER_DS (0x20 | 3)

/* IDT gates (cpu.S's set_gate): the exceptions' vectors, and the types */
#define NR_VECTORS 32
#define GATE_KERNEL 0x8e /* present, 64-bit interrupt gate, DPL 0 */
#define GATE_USER 0xee   /* ... DPL 3: int3 works from CPL 3 */

/* The end of guest RAM under --mem 64M, which most test guests need (they
 * check it); in the shadow modes the VMM's pool starts here. */
#define RAM_END 0x4000000

/* hvm_start_info fields */
#define START_INFO_CMDLINE 24
#define START_INFO_MEMMAP 40
#define START_INFO_MEMMAP_ENTRIES 48
/* hvm_memmap_table_entry fields (24 bytes each) */
#define MEMMAP_ADDR 0
#define MEMMAP_SIZE 8

/* Makes hypercall nr with whatever the argument registers hold. Assembly,
 * which clang-format would mangle. */
/* clang-format off */
#define HC(nr) \
	mov $(nr), %eax; \
	out %eax, $UMBRA_HC_PORT
/* clang-format on */

#endif
