/*
 * The flush generation. A vCPU may cache what it walked (its TLB and, on a
 * shadow-paging KVM such as this machine's kvm_pvm, KVM's own shadow of our
 * tables), so every change that removes, re-points or narrows a present
 * entry advances the generation; the VMM flushes before re-entering the
 * guest when the generation moved (docs/architecture.md, "TLBs and freed
 * pages"). Filling an empty entry or widening one needs no flush: the vCPU
 * re-walks on its own fault.
 *
 * A freed page needs no flush of its own: whatever unlinked it from a
 * loaded address space advanced the generation already, and an address
 * space that is destroyed is loaded nowhere. What a freed page needs is
 * that no cached walk of its old contents survives its reuse (KVM caches
 * shadow pages by guest frame), so with cfg.defer_free it waits in limbo,
 * tagged with the generation at its free, until a flush that began after
 * the free is done: shadow_flush_begin() advances the generation, and the
 * ticket it returns releases the pages tagged before it.
 */
#include "internal.h"

/* Release: a thread that sees the new generation sees the change too. */
void flush_advance(struct shadow *sh)
{
	atomic_fetch_add_explicit(&sh->flush_gen, 1, memory_order_release);
}

/* The tag of a page entering limbo: the generation now, which every flush
 * that begins later exceeds. */
uint64_t flush_tag(struct shadow *sh)
{
	return atomic_load_explicit(&sh->flush_gen, memory_order_acquire);
}

bool shadow_flush_needed(struct shadow *sh)
{
	return atomic_load_explicit(&sh->flush_gen, memory_order_acquire) >
	       atomic_load_explicit(&sh->flushed, memory_order_acquire);
}

/* The ticket is a generation of its own: changes made before it are
 * covered by this flush, and so are pages freed before it. */
uint64_t shadow_flush_begin(struct shadow *sh)
{
	return atomic_fetch_add_explicit(&sh->flush_gen, 1, memory_order_acq_rel) + 1;
}

/* A ticket from the future (not from shadow_flush_begin) is clamped: it
 * must not release pages that no begun flush covers. */
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
