/*
 * Guest table updates. For a registered address space the guest does not
 * write its tables itself: it asks, and the library, under the address
 * space's lock, checks the new entry, unshares the shadow page the entry
 * feeds if it is shared by copies, writes the guest entry and brings the
 * shadow in line. So no later fill can read a stale guest entry, and no
 * address space that changed a range still shares its pmd page.
 *
 * A table the guest shares (more than one link) is never changed: the
 * guest unshares it first by re-pointing its own link at a copy, which the
 * shadow follows (derive.c). A new link must point at a page that is no
 * page table yet (ownership, frames.c).
 *
 * Each update is whole or not at all: everything that can fail (checks,
 * ownership claims, pages) comes before the first store.
 */
#include <errno.h>

#include "internal.h"

/* The guest entry being changed and what the shadow has for it. */
struct upd {
	const struct shadow_update *u;
	struct gwalk w;
	struct spath p;
	pte_t *gslot;   /* the guest entry */
	uint64_t old;   /* its value now */
	uint64_t table; /* the guest table holding it */
	unsigned i;     /* its index, and the shadow link's in p.pg[level] */
};

/* Every shadow page on the walk down to the one for the entry's table
 * stands for the guest table the walk found. */
static bool upd_links_current(struct shadow *sh, const struct upd *d)
{
	unsigned l, level = d->u->level;

	for (l = 3; l >= level; l--) {
		if (d->p.pg[l] == NIL)
			return true;
		if (atomic_load_explicit(
			    &spage_links(sh, d->p.pg[l + 1])[pt_index(d->u->va, l + 1)],
			    memory_order_relaxed) != d->w.table[l])
			return false;
	}
	return true;
}

/* A level-1 update: the pmd page holding va's shadow leaf (if any) is made
 * private first if it is shared by copies, then the leaf follows the new
 * guest entry: removed if the entry is not present or not accessed (the
 * next access fills it and sets A), else installed, writable only if
 * dirty. */
static int update_pte(struct shadow *sh, struct as *as, struct upd *d)
{
	const struct shadow_update *u = d->u;
	uint32_t pmd = d->p.pg[1];
	struct resv r = {0};
	struct gleaf l = {
		.present = true, .level = 1, .frame = u->value & PTE_FRAME, .entry = u->value};
	uint64_t lnk = 0, e = 0;
	bool unshare = false;
	unsigned need = 0;
	int rc;

	if ((u->value & PTE_P) && frame_level(sh, l.frame)) {
		STAT_INC(sh, ownership_refusals);
		return -EACCES; /* a leaf may not map a page table */
	}
	if (pmd != NIL) {
		lnk = pte_load(spage_table(sh, d->p.pg[2]) + pt_index(u->va, 2));
		unshare = pmd_write_protected(sh, lnk, pmd);
		if (unshare)
			need = pmd_unshare_pages(sh, pmd) + spath_own_pages(sh, &d->p, 2);
		if ((u->value & (PTE_P | PTE_A)) == (PTE_P | PTE_A))
			e = sleaf_derive(&l);
	}
	if (e) {
		rc = frame_map(sh, l.frame);
		if (rc)
			return rc;
	}
	rc = pool_reserve(sh, &r, need);
	if (rc) {
		if (e)
			frame_unmap(sh, l.frame);
		return rc;
	}

	pte_store(d->gslot, u->value);
	STAT_INC(sh, guest_entries_written);
	if (pmd != NIL) {
		if (unshare) {
			spath_own(sh, as, u->va, &d->p, 2, &r);
			pmd_unshare(sh, as, u->va, &d->p, &r);
			lnk = pte_load(spage_table(sh, d->p.pg[2]) + pt_index(u->va, 2));
		}
		sleaf_set(sh, as, u->va, lnk, d->p.pg[1], pt_index(u->va, 1), e);
	}
	pool_unreserve(sh, &r);
	return 0;
}

/* Clears W in every present entry of guest table `gtable` at `level` (a
 * PT or a PD: the in-place unshare's write-protect) and of its shadow page
 * `child` (fresh in COPY mode), whose link was lnk before the update. */
static void wp_below(struct shadow *sh, struct as *as, uint64_t va, unsigned level, uint64_t gtable,
		     uint32_t child, uint64_t lnk)
{
	pte_t *gt = gmem_table(sh, gtable), *st;
	uint64_t e, base = va & ~((1ull << (PAGE_SHIFT + 9 * level)) - 1);
	unsigned i, n = 0;

	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&gt[i]);
		if ((e & (PTE_P | PTE_W)) == (PTE_P | PTE_W)) {
			pte_store(&gt[i], e & ~PTE_W);
			n++;
		}
	}
	STAT_ADD(sh, guest_entries_written, n);
	if (child == NIL)
		return;
	st = spage_table(sh, child);
	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&st[i]);
		if (!(e & PTE_P) || !(e & PTE_W))
			continue;
		if (level == 1) {
			frame_ref(sh, e & PTE_FRAME); /* sleaf_set consumes one */
			sleaf_set(sh, as, base + i * PAGE_SIZE, lnk, child, i, e & ~PTE_W);
		} else {
			slink_change(sh, as, child, i, e & ~PTE_W);
		}
	}
}

/* What a level 2-4 update does to the shadow, decided before any change. */
struct link_plan {
	bool drop;      /* the shadow link goes */
	bool repoint;   /* a new page derived from the old one, for the new table */
	bool flags;     /* same page, the link's new flags */
	bool refresh;   /* flags: the pmd page is replaced by a private re-derived copy */
	bool own_child; /* flags: the child page changes in place (WP_BELOW) */
	uint64_t link;  /* flags: the new shadow link (without refresh) */
};

static unsigned link_plan(struct shadow *sh, struct upd *d, uint64_t lnk, struct link_plan *lp)
{
	const struct shadow_update *u = d->u;
	unsigned level = u->level, need;
	uint64_t n = u->value, nf = n & PTE_FRAME;
	uint32_t child = d->p.pg[level - 1];
	bool ntable = (n & PTE_P) && !(level == 2 && (n & PTE_PS));
	bool otable = (d->old & PTE_P) && !(level == 2 && (d->old & PTE_PS));
	bool same = ntable && otable && (d->old & PTE_FRAME) == nf, wp, shared;

	*lp = (struct link_plan){0};
	if (!(lnk & PTE_P))
		return 0;
	need = spath_own_pages(sh, &d->p, level);
	if (!ntable || child == NIL || (!same && level == 4)) {
		lp->drop = true;
		return need;
	}
	if (!same) {
		lp->repoint = true;
		return need + 1;
	}
	lp->flags = true;
	shared = atomic_load_explicit(&sh->pool.pages[child].count, memory_order_relaxed) > 1;
	/* a page write-protected for copies stays so, shared or not: its
	 * leaves were never re-derived for this address space (pmd_unshare
	 * does that, on the first write) */
	wp = level == 2 && pmd_write_protected(sh, lnk, child);
	lp->link = slink_value(sh, child, n, wp);
	if (level == 2 && (u->flags & SHADOW_UPDATE_WP_BELOW) && shared)
		lp->refresh = true; /* the write-protect must not reach other sharers */
	else if (level == 2 && flush_copies(sh) && !spage_fresh(sh, child) && (lp->link & PTE_W) &&
		 !(lnk & PTE_W))
		lp->refresh = true; /* COPY: never widen a link over a walked pmd page */
	else if ((u->flags & SHADOW_UPDATE_WP_BELOW) && flush_copies(sh) && !spage_fresh(sh, child))
		lp->own_child = true;
	return need + lp->refresh + lp->own_child;
}

/*
 * A level 2-4 update. A link dropped or turned into a 2 MiB page drops the
 * shadow under it; a link re-pointed at a new table (the guest's unshare)
 * gets a shadow page derived from the old one (levels 2 and 3); a link
 * whose flags change keeps its page, with the flags the guest's has now.
 */
static int update_link(struct shadow *sh, struct as *as, struct upd *d)
{
	const struct shadow_update *u = d->u;
	unsigned level = u->level;
	uint64_t n = u->value, nf = n & PTE_FRAME, lnk = 0, old;
	uint32_t page = d->p.pg[level], child = d->p.pg[level - 1], next;
	bool ntable = (n & PTE_P) && !(level == 2 && (n & PTE_PS));
	bool same = ntable && (d->old & PTE_P) && (d->old & PTE_FRAME) == nf;
	struct link_plan lp;
	struct resv r = {0};
	unsigned need;
	int rc;

	if (page != NIL)
		lnk = pte_load(spage_table(sh, page) + d->i);
	if (ntable && !same && (frame_level(sh, nf) || frame_maps(sh, nf))) {
		STAT_INC(sh, ownership_refusals);
		return frame_maps(sh, nf) ? -EACCES : -EEXIST; /* only a fresh table */
	}
	if ((same && !(d->old & PTE_W) && (n & PTE_W) && frame_links(sh, nf) > 1) ||
	    ((u->flags & SHADOW_UPDATE_WP_BELOW) && frame_links(sh, nf) > (same ? 1u : 0u))) {
		STAT_INC(sh, ownership_refusals);
		return -ETXTBSY; /* a table the guest shares stays read-only */
	}
	need = link_plan(sh, d, lnk, &lp);
	if (lp.repoint) {
		rc = table_link(sh, nf, level - 1, !(n & PTE_W) || !d->w.w);
		if (rc)
			return rc;
	}
	rc = pool_reserve(sh, &r, need);
	if (rc) {
		if (lp.repoint)
			table_unlink(sh, nf);
		return rc;
	}

	/* Nothing has changed so far; from here on nothing fails. */
	pte_store(d->gslot, n);
	STAT_INC(sh, guest_entries_written);
	if (lp.drop || lp.repoint || lp.flags) {
		spath_own(sh, as, u->va, &d->p, level, &r);
		page = d->p.pg[level];
	}
	if (lp.drop) {
		slink_drop(sh, as, page, d->i, level);
		child = NIL;
	} else if (lp.repoint || lp.refresh) {
		next = rederive(sh, child, level - 1, nf, &r);
		slink_change(sh, as, page, d->i, slink_value(sh, next, n, false));
		if (lp.repoint) {
			old = atomic_exchange_explicit(&spage_links(sh, page)[d->i], nf,
						       memory_order_relaxed);
			if (old != GFRAME_NONE)
				table_unlink(sh, old);
		}
		spage_put(sh, child);
		child = next;
	} else if (lp.flags) {
		if (lp.own_child) {
			spath_own(sh, as, u->va, &d->p, level - 1, &r);
			child = d->p.pg[level - 1];
			lp.link = (lp.link & ~PTE_FRAME) | spage_gpa(sh, child);
		}
		slink_change(sh, as, page, d->i, lp.link);
		if (!(d->old & PTE_W) && (n & PTE_W))
			STAT_INC(sh, relink_widened);
	} else {
		child = NIL; /* no shadow for it: the next fault builds it */
	}
	if (u->flags & SHADOW_UPDATE_WP_BELOW)
		wp_below(sh, as, u->va, level - 1, nf, child, lnk);
	pool_unreserve(sh, &r);
	return 0;
}

static int update_one(struct shadow *sh, struct as *as, const struct shadow_update *u)
{
	struct upd d = {.u = u};
	unsigned level = u->level;
	uint64_t above;
	int rc;

	if (level < 1 || level > 4 || !va_canonical(u->va) || (u->flags & ~SHADOW_UPDATE_WP_BELOW))
		return -EINVAL;
	if ((u->flags & SHADOW_UPDATE_WP_BELOW) &&
	    (level < 2 || level > 3 || !(u->value & PTE_P) || (u->value & PTE_PS)))
		return -EINVAL;
	if (va_kernel(sh, u->va) || va_fixed(sh, u->va))
		return -EPERM;
	rc = gwalk_region(sh, as->guest_root, u->va, level + 1, &d.w);
	if (rc)
		return rc;
	if (level < 4) {
		/* the tables above the entry must be there */
		above = d.w.entry[d.w.level];
		if (d.w.level != level + 1 || !(above & PTE_P))
			return -ENOENT;
		if (above & PTE_PS)
			return -EINVAL;
	}
	if (u->value & PTE_P) {
		rc = gentry_check(sh, level, u->value, d.w.table, false);
		if (rc)
			return rc;
	}
	d.table = d.w.table[level];
	d.i = pt_index(u->va, level);
	d.gslot = gmem_table(sh, d.table) + d.i;
	d.old = pte_load(d.gslot);
	if (frame_links(sh, d.table) > 1) {
		STAT_INC(sh, ownership_refusals);
		return -ETXTBSY; /* the guest shares this table: unshare it first */
	}
	spath_walk(sh, as, u->va, &d.p);
	if (!upd_links_current(sh, &d))
		return -ESTALE;
	if (level < 4 && d.p.pg[level] == NIL && frame_level(sh, d.table)) {
		/* a table this shadow has no link to, but another's shadow (or
		 * the kernel mirror) is built from: reached through this guest
		 * walk, it is an alias, and changing it would change that
		 * shadow's source behind its back */
		STAT_INC(sh, ownership_refusals);
		return -ETXTBSY;
	}
	if (level <= 2 && d.p.pg[2] != NIL &&
	    atomic_load_explicit(&sh->pool.pages[d.p.pg[2]].count, memory_order_relaxed) > 1) {
		STAT_INC(sh, ownership_refusals);
		return -ETXTBSY; /* under a PD page the guest shares */
	}
	return level == 1 ? update_pte(sh, as, &d) : update_link(sh, as, &d);
}

int shadow_update(struct shadow *sh, unsigned cpu, uint32_t handle,
		  const struct shadow_update *updates, size_t n, int *first_error)
{
	struct as *as;
	size_t i;
	int rc;

	if (n > SHADOW_UPDATE_MAX)
		return -E2BIG;
	if (n > 0 && !updates)
		return -EINVAL;
	rc = as_get(sh, cpu, handle, &as);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		rc = update_one(sh, as, &updates[i]);
		if (rc) {
			if (first_error)
				*first_error = rc;
			break;
		}
		STAT_INC(sh, updates);
	}
	as_unlock(as);
	return (int)i;
}
