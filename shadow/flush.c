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
 * tagged with the number of flushes begun before its free, until a flush
 * that began after the free is done. Flushes are numbered apart from the
 * generation so that beginning one does not look like a change.
 */
#include <string.h>

#include "internal.h"

/* Release: a thread that sees the new generation sees the change too. The
 * change is in the address space whose lock we hold, if any (a free
 * without defer_free may have none). */
void flush_advance(struct shadow *sh)
{
	uint64_t gen = atomic_fetch_add_explicit(&sh->flush_gen, 1, memory_order_release) + 1;

	if (locked_as)
		atomic_store_explicit(&locked_as->changed, gen, memory_order_relaxed);
}

/*
 * A leaf that mapped `frame` was narrowed. In the address space loaded on
 * the vCPU we act for, that vCPU alone can have cached it and nobody else
 * can load it before that vCPU has run again, so dropping what is cached
 * for the frame before then is enough (cfg.frame_flush). Anywhere else, or
 * when the list is full, the generation advances.
 */
void flush_leaf(struct shadow *sh, uint64_t frame)
{
	struct frame_flush *ff;

	if (!sh->cfg.frame_flush || !locked_as || stats_actor.sh != sh ||
	    locked_as->loaded_on != (int)stats_actor.cpu_index) {
		flush_advance(sh);
		return;
	}
	ff = &sh->frame_flush[stats_actor.cpu_index];
	if (ff->n == SHADOW_FRAME_FLUSH_MAX) {
		flush_advance(sh);
		return;
	}
	ff->frame[ff->n++] = frame;
}

unsigned shadow_flush_frames(struct shadow *sh, unsigned cpu, uint64_t *frames)
{
	struct frame_flush *ff;
	unsigned n;

	if (cpu >= sh->cfg.max_cpus)
		return 0;
	ff = &sh->frame_flush[cpu];
	n = ff->n;
	memcpy(frames, ff->frame, n * sizeof(*frames));
	ff->n = 0;
	return n;
}

/* The tag of a page entering limbo: flushes begun so far, none of which
 * covers it. */
uint64_t flush_tag(struct shadow *sh)
{
	return atomic_load_explicit(&sh->flush_seq, memory_order_acquire);
}

uint64_t shadow_flush_generation(struct shadow *sh)
{
	return atomic_load_explicit(&sh->flush_gen, memory_order_acquire);
}

bool shadow_flush_needed(struct shadow *sh)
{
	return atomic_load_explicit(&sh->flush_gen, memory_order_acquire) >
	       atomic_load_explicit(&sh->flushed, memory_order_acquire);
}

/* The changes made before now, and the pages freed before now. */
struct shadow_flush_ticket shadow_flush_begin(struct shadow *sh)
{
	struct shadow_flush_ticket t;

	t.gen = atomic_load_explicit(&sh->flush_gen, memory_order_acquire);
	t.seq = atomic_fetch_add_explicit(&sh->flush_seq, 1, memory_order_acq_rel) + 1;
	return t;
}

/* A ticket from the future (not from shadow_flush_begin) is clamped: it
 * must not cover changes or release pages that no begun flush covers. */
void shadow_flush_done(struct shadow *sh, struct shadow_flush_ticket t)
{
	uint64_t gen = atomic_load_explicit(&sh->flush_gen, memory_order_acquire);
	uint64_t seq = atomic_load_explicit(&sh->flush_seq, memory_order_acquire);
	uint64_t done = atomic_load_explicit(&sh->flushed, memory_order_relaxed);

	if (t.gen > gen)
		t.gen = gen;
	if (t.seq > seq)
		t.seq = seq;
	while (done < t.gen &&
	       !atomic_compare_exchange_weak_explicit(&sh->flushed, &done, t.gen,
						      memory_order_release, memory_order_relaxed))
		;
	pool_limbo_release(sh, t.seq);
	STAT_INC(sh, flushes);
}
