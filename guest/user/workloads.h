/* The workloads (one file each). docs/guest.md describes what each does
 * and checks. */
#ifndef GUEST_USER_WORKLOADS_H
#define GUEST_USER_WORKLOADS_H

#include "ulib.h"

extern struct workload forkstorm_workload, forktree_workload, bigparent_workload, forkexit_workload,
	sharerace_workload, heapshrink_workload, illegal_workload, panic_workload;

#endif /* GUEST_USER_WORKLOADS_H */
