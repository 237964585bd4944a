/*
 * panic: asks the kernel to panic (SYS_PANIC), to test the panic path: the
 * message, the register dump, and the distinct exit status (on umbra,
 * UMBRA_HC_PANIC). It prints no summary: the guest ends inside the call.
 */
#include "workloads.h"

static int run(const struct workload *w)
{
	(void)w;
	syscall3(SYS_PANIC, (uint64_t) "requested by the panic workload", 0, 0);
	uprintf("panic: the kernel did not panic\n");
	return 1;
}

struct workload panic_workload = {
	.name = "panic",
	.help = "the kernel panics on purpose (tests the panic path)",
	.run = run,
};
