/*
 * What a vCPU must flush (docs/architecture.md, "Flushes"). A vCPU may
 * cache what it walked: its TLB, and on a shadow-paging KVM (kvm_pvm,
 * npt=0) KVM's own shadow of our tables, which KVM keeps by guest frame
 * for every vCPU and does not see us change. So every change that
 * removes, re-points or narrows a present entry is recorded for the vCPU
 * whose call made it (the actor), by the mode:
 *   TLB     the actor flushes the VAs of narrowed leaves, or its whole TLB
 *           after an upper-level change, if the changed address space is
 *           loaded on it; loaded nowhere, nothing has it cached;
 *   COPY    upper-level pages are never changed in place once walked
 *           (tree.c copies the path and the root moves; the actor loads
 *           the new root if the address space is loaded on it); a
 *           narrowed leaf is listed by the frame it mapped, whatever is
 *           loaded where, because KVM's cache outlives any one vCPU;
 *   GLOBAL  any change asks for a whole-VM flush.
 * Filling an empty entry or widening one needs nothing. A narrowed W that
 * the leaf's read-only PD link hides was never cached writable, so it is
 * not recorded (tree.c's caller says so); in COPY mode a PD link is never
 * widened in place over such a leaf (share.c copies the page first).
 *
 * Freed pages (pool.c): with cfg.defer_free they wait in limbo, tagged
 * with the number of whole-VM flushes begun before the free, until a flush
 * that began after it is done. Flushes are numbered here.
 */
#include <string.h>

#include "internal.h"

/* The record of the vCPU this thread acts for, or NULL outside a call. */
static struct shadow_flush *flush_rec(struct shadow *sh)
{
	struct flush_rec *f;

	if (stats_actor.sh != sh)
		return NULL;
	f = &sh->flush[stats_actor.cpu_index];
	return &f->out;
}

bool flush_copies(const struct shadow *sh)
{
	return sh->cfg.flush_mode == SHADOW_FLUSH_COPY;
}

bool as_loaded_here(const struct as *as)
{
	return as->loaded_on >= 0 && as->loaded_on == (int)stats_actor.cpu_index;
}

/* A leaf of `as` that mapped `frame` at va was removed, re-pointed or
 * narrowed. */
void flush_leaf(struct shadow *sh, struct as *as, uint64_t va, uint64_t frame)
{
	struct shadow_flush *f = flush_rec(sh);

	if (!f)
		return;
	switch (sh->cfg.flush_mode) {
	case SHADOW_FLUSH_TLB:
		if (!as_loaded_here(as))
			return;
		if (f->n == SHADOW_FLUSH_MAX)
			f->all = true;
		else
			f->va[f->n++] = va;
		return;
	case SHADOW_FLUSH_COPY:
		if (f->n == SHADOW_FLUSH_MAX)
			f->all = true;
		else
			f->frame[f->n++] = frame;
		return;
	case SHADOW_FLUSH_GLOBAL:
		f->all = true;
		return;
	}
}

/* An upper-level entry of `as` was changed in place (never in COPY mode,
 * where tree.c copies the page instead). */
void flush_upper(struct shadow *sh, struct as *as)
{
	struct shadow_flush *f = flush_rec(sh);

	if (!f)
		return;
	if (sh->cfg.flush_mode == SHADOW_FLUSH_GLOBAL ||
	    (sh->cfg.flush_mode == SHADOW_FLUSH_TLB && as_loaded_here(as)))
		f->all = true;
}

/* COPY: the root of `as` moved; if it is loaded on the actor, the actor
 * must load the new one (a vCPU that loads it later gets it from
 * shadow_switch). */
void flush_root_moved(struct shadow *sh, struct as *as)
{
	struct shadow_flush *f = flush_rec(sh);

	if (!f || !as_loaded_here(as))
		return;
	f->root_moved = true;
	f->root_gpa = spage_gpa(sh, as->root);
}

void shadow_flush_take(struct shadow *sh, unsigned cpu, struct shadow_flush *out)
{
	struct shadow_flush *f;

	if (cpu >= sh->cfg.max_cpus) {
		memset(out, 0, sizeof(*out));
		return;
	}
	f = &sh->flush[cpu].out;
	out->all = f->all;
	out->root_moved = f->root_moved;
	out->root_gpa = f->root_gpa;
	out->n = f->n;
	memcpy(out->va, f->va, f->n * sizeof(f->va[0]));
	memcpy(out->frame, f->frame, f->n * sizeof(f->frame[0]));
	f->all = f->root_moved = false;
	f->n = 0;
}

/* The tag of a page entering limbo: flushes begun so far, none of which
 * covers it. */
uint64_t flush_tag(struct shadow *sh)
{
	return atomic_load_explicit(&sh->flush_seq, memory_order_acquire);
}

/* The pages freed before now. */
struct shadow_flush_ticket shadow_flush_begin(struct shadow *sh)
{
	struct shadow_flush_ticket t;

	t.seq = atomic_fetch_add_explicit(&sh->flush_seq, 1, memory_order_acq_rel) + 1;
	return t;
}

/* A ticket from the future (not from shadow_flush_begin) is clamped: it
 * must not release pages that no begun flush covers. */
void shadow_flush_done(struct shadow *sh, struct shadow_flush_ticket t)
{
	uint64_t seq = atomic_load_explicit(&sh->flush_seq, memory_order_acquire);

	if (t.seq > seq)
		t.seq = seq;
	pool_limbo_release(sh, t.seq);
	STAT_INC(sh, flushes);
}
