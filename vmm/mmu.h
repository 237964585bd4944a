/*
 * The shadow MMU in the VMM: the shadow library (shadow/shadow.h) set up
 * over guest memory and its pool, the UMBRA_HC_AS_* hypercalls, the flush
 * rule, the invariant checker and the library's counters. Only the shadow
 * paging modes have one (vm->mmu is NULL with --paging native).
 */
#ifndef UMBRA_VMM_MMU_H
#define UMBRA_VMM_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "run_config.h"
#include "stub.h"

struct shadow;
struct vcpu;
struct vm;

struct mmu {
	struct vm *vm;
	struct shadow *sh;
	int policy;            /* enum shadow_policy of --paging */
	enum flush_mode flush; /* vm->flush */
	struct stub stub;      /* the flush stub's pages, in every shadow root */
};

/* Address spaces alive at once that umbra lets the library hold. */
#define MMU_MAX_ADDRESS_SPACES 4096u

/*
 * Creates the library over vm's memory and pool (vm->mem, vm->cfg).
 * 0 or a negative errno; *out is then NULL.
 */
int mmu__init(struct vm *vm, struct mmu **out);
void mmu__release(struct mmu *m);

/* An UMBRA_HC_AS_* hypercall of v; returns its %rax (may also set %rdx). */
int64_t mmu__hypercall(struct vcpu *v, uint32_t nr);

/* The invariant checker (shadow_check, sound). Call with the vCPUs paused
 * or stopped. 0, or -EUCLEAN with the first violation in why. */
int mmu__check(struct mmu *m, char *why, size_t why_len);

/* Unloads every vCPU's root (they have stopped) and says whether every
 * pool page is free again, i.e. the guest destroyed all it created. */
bool mmu__pool_full_at_end(struct mmu *m);

/*
 * The library's counters: mmu_counters are events, read for one vCPU (what
 * its calls did; cpu >= 0) or for the VM (cpu < 0); mmu_gauges are the
 * pool's current and peak use and the live address spaces, VM-wide only.
 */
extern const struct counter_group mmu_counters, mmu_gauges;
void mmu__read_counters(void *mmu, int cpu, uint64_t *values);
void mmu__read_gauges(void *mmu, int cpu, uint64_t *values);

#endif
