/*
 * PVH boot, as QEMU -kernel does it (the Xen PVH ABI): struct hvm_start_info
 * with a memory map and the command line in the boot information page, and
 * the boot vCPU in 32-bit protected mode with paging off.
 */
#ifndef UMBRA_VMM_PVH_H
#define UMBRA_VMM_PVH_H

#include <linux/kvm.h>
#include <stdint.h>

#include "guest_mem.h"

/* The boot information page: start_info, its memory map, the command line.
 * Image segments must not overlap it. */
#define PVH_INFO_GPA 0x1000u
#define PVH_INFO_SIZE 0x1000u
#define PVH_MEMMAP_GPA (PVH_INFO_GPA + 0x40u)
#define PVH_CMDLINE_GPA (PVH_INFO_GPA + 0x80u)
/* Longest command line, in bytes without its NUL. */
#define PVH_CMDLINE_MAX (PVH_INFO_GPA + PVH_INFO_SIZE - PVH_CMDLINE_GPA - 1u)

/* Xen ELF note that carries the 32-bit PVH entry point. */
#define PVH_NOTE_NAME "Xen"
#define PVH_NOTE_PHYS32_ENTRY 18u

/*
 * Writes start_info (magic 0x336ec578, version 1), the memory map (RAM as
 * type 1, the pool, if any, as type 2) and cmdline (may be NULL) into the
 * boot information page. Returns the start_info address.
 */
uint64_t pvh__write_start_info(struct guest_mem *mem, const char *cmdline);

/* The boot vCPU's state at the PVH entry: %ebx = start_info. */
void pvh__boot_state(struct kvm_regs *regs, struct kvm_sregs *sregs, uint32_t entry,
		     uint32_t start_info);

#endif
