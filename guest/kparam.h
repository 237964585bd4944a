/*
 * Kernel parameters: the leading KEY=VALUE words of the command line
 * whose key is one of the kernel's. The kernel consumes them and passes
 * the rest (the workload and its parameters) to the first process, so a
 * workload's summary line never depends on them.
 */
#ifndef GUEST_KPARAM_H
#define GUEST_KPARAM_H

#include <stdbool.h>
#include <stdint.h>

struct kparams {
	/* ptshare=0|1 (1): fork shares page-table pages (PT and PD pages)
	 * between parent and child instead of copying them (docs/guest.md) */
	bool ptshare;
	/* ptdelay=N (0): spins N `pause` iterations between reading a table
	 * page's count and changing it, in share and unshare, to widen the
	 * races of the sharing protocol for the tests */
	uint32_t ptdelay;
};
extern struct kparams kparams;

/* Reads the kernel parameters at the start of cmdline and returns the
 * rest. A bad value ends the guest with status 2 (a refused command line). */
const char *kparam_parse(const char *cmdline);

#endif /* GUEST_KPARAM_H */
