/*
 * The flush generation. A vCPU may cache what it walked (its TLB and, on a
 * shadow-paging KVM such as this machine's kvm_pvm, KVM's own shadow of our
 * tables), so every change that removes, re-points or narrows a present
 * entry, and every freed page, advances the generation; the VMM flushes
 * before re-entering the guest when the generation moved
 * (docs/architecture.md, "TLBs and freed pages"). Filling an empty entry
 * or widening one needs no flush: the vCPU re-walks on its own fault.
 */
#include "internal.h"

/* Release: a thread that sees the new generation sees the change too. */
void flush_advance(struct shadow *sh)
{
	atomic_fetch_add_explicit(&sh->flush_gen, 1, memory_order_release);
}

/* Advances the generation and returns it: the tag of a page entering
 * limbo, which a flush that begins later will cover. */
uint64_t flush_tag(struct shadow *sh)
{
	return atomic_fetch_add_explicit(&sh->flush_gen, 1, memory_order_release) + 1;
}

bool shadow_flush_needed(struct shadow *sh)
{
	return atomic_load_explicit(&sh->flush_gen, memory_order_acquire) >
	       atomic_load_explicit(&sh->flushed, memory_order_acquire);
}

uint64_t shadow_flush_begin(struct shadow *sh)
{
	return atomic_load_explicit(&sh->flush_gen, memory_order_acquire);
}

/* A ticket from the future (not from shadow_flush_begin) is clamped: it
 * must not release pages freed after the flush it stands for. */
void shadow_flush_done(struct shadow *sh, uint64_t ticket)
{
	uint64_t gen = atomic_load_explicit(&sh->flush_gen, memory_order_acquire);
	uint64_t done = atomic_load_explicit(&sh->flushed, memory_order_relaxed);

	if (ticket > gen)
		ticket = gen;
	while (done < ticket &&
	       !atomic_compare_exchange_weak_explicit(&sh->flushed, &done, ticket,
						      memory_order_release, memory_order_relaxed))
		;
	pool_limbo_release(sh, ticket);
	STAT_INC(sh, flushes);
}
