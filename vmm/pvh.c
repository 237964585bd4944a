/*
 * PVH boot information and the boot vCPU's entry state.
 */
#include <config.h>

#include "pvh.h"

#include <stddef.h>
#include <string.h>

/* The layouts of the Xen PVH ABI (xen/include/public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC 0x336ec578u
#define HVM_MEMMAP_TYPE_RAM 1u
#define HVM_MEMMAP_TYPE_RESERVED 2u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is 56 bytes");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40, "memmap_paddr at 40");

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry is 24 bytes");

_Static_assert(PVH_INFO_GPA + sizeof(struct hvm_start_info) <= PVH_MEMMAP_GPA,
	       "start_info fits before the memory map");
_Static_assert(PVH_MEMMAP_GPA + 2 * sizeof(struct hvm_memmap_table_entry) <= PVH_CMDLINE_GPA,
	       "two memory map entries fit before the command line");

uint64_t pvh__write_start_info(struct guest_mem *mem, const char *cmdline)
{
	struct hvm_memmap_table_entry map[2] = {
		{.addr = 0, .size = mem->ram_size, .type = HVM_MEMMAP_TYPE_RAM},
		{.addr = mem->pool_gpa, .size = mem->pool_size, .type = HVM_MEMMAP_TYPE_RESERVED},
	};
	struct hvm_start_info info = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.memmap_paddr = PVH_MEMMAP_GPA,
		.memmap_entries = mem->pool_size ? 2 : 1,
	};
	uint8_t *page = mem->host + PVH_INFO_GPA;
	size_t len = cmdline ? strlen(cmdline) : 0;

	memset(page, 0, PVH_INFO_SIZE);
	if (cmdline) {
		/* run_config__validate() refused longer ones; cut rather than overrun. */
		if (len > PVH_CMDLINE_MAX)
			len = PVH_CMDLINE_MAX;
		memcpy(mem->host + PVH_CMDLINE_GPA, cmdline, len);
		info.cmdline_paddr = PVH_CMDLINE_GPA;
	}
	memcpy(mem->host + PVH_MEMMAP_GPA, map, info.memmap_entries * sizeof(map[0]));
	memcpy(page, &info, sizeof(info));
	return PVH_INFO_GPA;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = 1,
		.s = 1,
		.g = 1,
	};
}

void pvh__boot_state(struct kvm_regs *regs, struct kvm_sregs *sregs, uint32_t entry,
		     uint32_t start_info)
{
	struct kvm_segment code = flat_segment(0x08, 0xb); /* execute/read, accessed */
	struct kvm_segment data = flat_segment(0x10, 0x3); /* read/write, accessed */

	*regs = (struct kvm_regs){
		.rip = entry, .rbx = start_info, .rflags = 0x2, /* reserved bit 1; interrupts off */
	};
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	/* The PVH ABI: "TR: a 32-bit TSS (active) with a base of 0 and a limit of 0x67". */
	sregs->tr = (struct kvm_segment){
		.limit = 0x67,
		.type = 0xb, /* busy 32-bit TSS */
		.present = 1,
	};
	sregs->cr0 = 0x11; /* PE | ET: protected mode, paging off */
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer = 0;
}
