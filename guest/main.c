/*
 * kmain: the boot CPU's path from boot.S to the scheduler. Reads the PVH
 * start info (memory map and command line), maps RAM, starts the frame
 * allocator, traps, the other CPUs and the first process.
 */
#include <stdint.h>

#include "console.h"
#include "cpu.h"
#include "kparam.h"
#include "lapic.h"
#include "lib.h"
#include "mm.h"
#include "pageops.h"
#include "paging.h"
#include "platform.h"
#include "proc.h"
#include "smp.h"
#include "trap.h"
#include "x86.h"

/* The Xen PVH start info (xen/include/public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define CMDLINE_MAX 2048 /* bytes, with the NUL; fits the first process's stack page */

extern char _end[];
void kmain(uint32_t start_info_pa);

/* Boot.S maps the image with 2 MiB pages up to here: all kmain may touch
 * before paging_init maps the rest of RAM. */
static uint64_t boot_mapped(void)
{
	return ((uint64_t)_end + HUGE_PGSIZE - 1) & ~(HUGE_PGSIZE - 1);
}

static void check_boot_mapped(uint64_t pa, uint64_t len, const char *what)
{
	if (pa + len < pa || pa + len > boot_mapped())
		panic("%s at %lx (+%lu) lies outside the boot map", what, pa, len);
}

/* Copies the memory map into mm and the command line into cmdline. */
static void read_start_info(uint64_t pa, char *cmdline)
{
	check_boot_mapped(pa, sizeof(struct hvm_start_info), "hvm_start_info");
	const struct hvm_start_info *si = (const struct hvm_start_info *)pa;
	if (si->magic != HVM_START_MAGIC)
		panic("bad hvm_start_info magic %x", si->magic);
	if (si->version < 1 || si->memmap_entries == 0)
		panic("hvm_start_info has no memory map (version %u)", si->version);
	unsigned n = si->memmap_entries < MEMMAP_MAX ? si->memmap_entries : MEMMAP_MAX;
	check_boot_mapped(si->memmap_paddr, n * sizeof(struct hvm_memmap_entry), "memory map");
	const struct hvm_memmap_entry *e = (const struct hvm_memmap_entry *)si->memmap_paddr;
	struct memrange map[MEMMAP_MAX];
	for (unsigned i = 0; i < n; i++)
		map[i] = (struct memrange){e[i].addr, e[i].addr + e[i].size, e[i].type};
	mm_set_map(map, n);
	cmdline[0] = '\0';
	if (si->cmdline_paddr) {
		const char *s = (const char *)si->cmdline_paddr;
		unsigned i = 0;
		for (; i < CMDLINE_MAX; i++) {
			check_boot_mapped((uint64_t)s + i, 1, "command line");
			if (!s[i])
				break;
			cmdline[i] = s[i];
		}
		if (i == CMDLINE_MAX) {
			/* refused like any other bad command line (docs/guest.md) */
			kprintf("kernel: the command line is longer than %d bytes\n",
				CMDLINE_MAX - 1);
			platform_exit(2);
		}
		cmdline[i] = '\0';
	}
}

void kmain(uint32_t start_info_pa)
{
	static char cmdline[CMDLINE_MAX];
	platform_detect();
	read_start_info(start_info_pa, cmdline);
	const char *user_cmdline = kparam_parse(cmdline);
	paging_init();
	pageops_init();
	mm_init((uint64_t)_end);
	trap_init();
	trap_init_cpu(mycpu());
	if (!platform.umbra)
		lapic_init();
	smp_start();
	kprintf("umbra-guest: %s, %u CPU%s, %lu MiB free, paging %s, table sharing %s\n",
		platform.umbra ? "umbra" : "PVH machine", ncpu, ncpu == 1 ? "" : "s",
		mm_pages_free() * PGSIZE >> 20, paging_backend_name(),
		kparams.ptshare ? "on" : "off");
	if (platform.umbra)
		kprintf("umbra-guest: page %s\n", pageops_describe());
	proc_init();
	proc_start_init(user_cmdline);
	cpu_run(cpu_user_frame(0));
}
