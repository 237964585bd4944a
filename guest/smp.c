/*
 * Secondary CPUs. On umbra, UMBRA_HC_CPU_START enters ap_start64 (boot.S)
 * in 64-bit mode with the stack and CR3 we pass. On QEMU the LAPIC sends
 * INIT-SIPI-SIPI to all other CPUs at once; they run the real-mode
 * trampoline and take indices in arrival order (smp_next_index). Either
 * way each ends in ap_main and then the idle loop.
 */
#include <stdatomic.h>

#include "smp.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "lib.h"
#include "mm.h"
#include "paging.h"
#include "platform.h"
#include "trap.h"
#include "x86.h"

#define AP_TRAMPOLINE 0x8000ul /* boot.S assembles the trampoline for this address */
#define AP_START_TIMEOUT_NS 5000000000ul

union cpu_area cpu_areas[MAXCPU] __attribute__((aligned(KSTACK_SIZE)));
unsigned ncpu = 1;

/* boot.S: the next index a QEMU AP takes (lock xadd). */
uint32_t smp_next_index = 1;
static atomic_uint online = 1;

extern char ap_start64[], ap_tramp_start[], ap_tramp_end[];

void ap_main(unsigned index);

void ap_main(unsigned index)
{
	struct cpu *c = mycpu();
	if (c != cpu_get(index))
		panic("ap_main: CPU %u on the wrong stack", index);
	c->id = index;
	trap_init_cpu(c);
	if (!platform.umbra)
		lapic_init_cpu(c);
	atomic_fetch_add(&online, 1);
	cpu_run(cpu_user_frame(index));
}

void smp_start(void)
{
	unsigned want = platform.cpus < MAXCPU ? platform.cpus : MAXCPU;
	if (want < platform.cpus)
		kprintf("smp: using %u of %u CPUs\n", want, platform.cpus);
	if (!platform.umbra)
		lapic_init_cpu(mycpu());
	if (want == 1)
		return;
	if (platform.umbra) {
		for (unsigned i = 1; i < want; i++) {
			int64_t r = hypercall(UMBRA_HC_CPU_START, i, (uint64_t)ap_start64,
					      cpu_stack_top(i), paging_kernel_root(), 0, 0);
			if (r != 0)
				panic("UMBRA_HC_CPU_START(%u): %ld", i, r);
		}
	} else {
		uint64_t len = (uint64_t)(ap_tramp_end - ap_tramp_start);
		if (!mm_is_ram(AP_TRAMPOLINE, PGSIZE))
			panic("smp: the AP trampoline page %lx is not RAM", AP_TRAMPOLINE);
		memcpy((void *)AP_TRAMPOLINE, ap_tramp_start, len);
		lapic_start_aps(AP_TRAMPOLINE);
	}
	uint64_t t0 = platform_clock_ns();
	for (unsigned spins = 1; atomic_load(&online) < want; spins++) {
		/* the clock may be a hypercall: look at it now and then */
		if (spins % 1024 == 0 && platform_clock_ns() - t0 > AP_START_TIMEOUT_NS)
			panic("smp: only %u of %u CPUs started", atomic_load(&online), want);
		pause();
	}
	ncpu = want;
}
