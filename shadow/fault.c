/*
 * Hidden faults: the guest's tables allow an access that the shadow does
 * not (yet). The library walks the guest tables itself, sets A (and D on a
 * write) in the guest leaf, builds the shadow pages the walk lacks (each a
 * new link to the guest table it stands for, whose ownership it claims),
 * and fills the shadow leaf.
 *
 * A fill into a page that several address spaces share is seen by all of
 * them. That is right only if the page stands for the very guest table the
 * filler walked (identity sharing: the guest shares the table): then the
 * fill is a compare-and-swap on the entry, the frame reference taken
 * before and given back on a loss. A page shared by copies (equality) is
 * unshared first, for reads too: each sharer's guest table is its own page
 * and may have changed behind the VMM's back, so one sharer's entry is not
 * the others'.
 *
 * Every shadow link on the walk must stand for the guest table the walk
 * reached; if the guest re-pointed one of its links without telling the
 * VMM, the fill is refused (-ESTALE) rather than built on the old table.
 */
#include <errno.h>

#include "internal.h"

static bool gleaf_allows(const struct gleaf *l, unsigned access)
{
	if (!l->present)
		return false;
	if ((access & SHADOW_ACCESS_WRITE) && !l->w)
		return false;
	if ((access & SHADOW_ACCESS_USER) && !l->u)
		return false;
	return !((access & SHADOW_ACCESS_FETCH) && !l->x);
}

static bool translation_allows(const struct shadow_translation *t, uint64_t frame, unsigned access)
{
	if ((t->gpa & PTE_FRAME) != frame)
		return false;
	if ((access & SHADOW_ACCESS_WRITE) && !t->writable)
		return false;
	if ((access & SHADOW_ACCESS_USER) && !t->user)
		return false;
	return !((access & SHADOW_ACCESS_FETCH) && !t->exec);
}

/* The kernel slot is mirrored whole and never filled: a fault there is
 * spurious or the guest's own. */
static int fault_kernel(struct shadow *sh, struct as *as, uint64_t va, unsigned access)
{
	struct shadow_translation t;

	if (!stree_translate(sh, as->root, va, &t) &&
	    translation_allows(&t, t.gpa & PTE_FRAME, access)) {
		STAT_INC(sh, fault_spurious);
		return SHADOW_FAULT_SPURIOUS;
	}
	STAT_INC(sh, fault_guest);
	return SHADOW_FAULT_GUEST;
}

/* What a fill at va needs, decided once from what the walks read. */
struct fill {
	struct spath p;
	uint64_t
		gt[4]; /* gt[l]: the guest table a level-l shadow page stands for, or GFRAME_NONE */
	bool ro_above[4];  /* ro_above[l]: a guest link above level l is read-only */
	bool missing[4];   /* missing[l]: the walk has no level-l shadow page */
	bool claimed[4];   /* claimed[l]: its new link's ownership is claimed */
	bool unshare;      /* the pmd page must be made private first */
	bool shared;       /* fill a page shared by identity, by compare-and-swap */
	bool frame_mapped; /* the leaf frame's reference is taken */
};

/* The guest tables the walk's shadow pages stand for, and whether each
 * level's guest link is reached through a read-only one. */
static void fill_sources(const struct gwalk *w, const struct gleaf *l, struct fill *f)
{
	bool wr = true;
	unsigned k;

	f->gt[3] = w->table[3];
	f->gt[2] = w->table[2];
	f->gt[1] = l->level == 2 ? GFRAME_NONE : w->table[1];
	for (k = 4; k >= 2; k--) {
		f->ro_above[k - 1] = !wr || !(w->entry[k] & PTE_W);
		wr = wr && (w->entry[k] & PTE_W);
	}
}

/* Each shadow link on the walk stands for the guest table the walk found
 * there. */
static bool fill_links_current(struct shadow *sh, uint64_t va, const struct fill *f)
{
	unsigned l;

	for (l = 3; l >= 1; l--) {
		if (f->p.pg[l] == NIL)
			return true;
		if (atomic_load_explicit(&spage_links(sh, f->p.pg[l + 1])[pt_index(va, l + 1)],
					 memory_order_relaxed) != f->gt[l])
			return false;
	}
	return true;
}

static void fill_unclaim(struct shadow *sh, struct fill *f, uint64_t frame)
{
	unsigned l;

	for (l = 1; l <= 3; l++) {
		if (f->claimed[l] && f->gt[l] != GFRAME_NONE)
			table_unlink(sh, f->gt[l]);
		f->claimed[l] = false;
	}
	if (f->frame_mapped)
		frame_unmap(sh, frame);
	f->frame_mapped = false;
}

/* Decides, and claims the ownership of, what the fill will add: new links
 * for the missing pages, and the leaf frame. 0 or an error (nothing held). */
static int fill_plan(struct shadow *sh, uint64_t va, unsigned access, const struct gleaf *l,
		     struct fill *f)
{
	uint32_t pmd, pd;
	uint64_t lnk;
	int rc = 0, count;
	bool pd_shared;
	unsigned k;

	for (k = 3; k >= 1; k--) {
		f->missing[k] = f->p.pg[k] == NIL;
		if (f->missing[k] && !rc) {
			rc = slink_claim(sh, f->gt[k], k, f->ro_above[k]);
			f->claimed[k] = !rc;
		}
	}
	if (!rc) {
		rc = frame_map(sh, l->frame);
		f->frame_mapped = !rc;
	}
	if (rc) {
		fill_unclaim(sh, f, l->frame);
		return rc;
	}
	pmd = f->p.pg[1];
	pd = f->p.pg[2];
	if (pmd == NIL)
		return 0;
	lnk = pte_load(spage_table(sh, pd) + pt_index(va, 2));
	count = atomic_load_explicit(&sh->pool.pages[pmd].count, memory_order_acquire);
	pd_shared = atomic_load_explicit(&sh->pool.pages[pd].count, memory_order_relaxed) > 1;
	if (pmd_write_protected(sh, lnk, pmd)) {
		/* shared by copies: private before it changes, for reads
		 * too; alone already: private before it is written */
		f->unshare = count > 1 || (access & SHADOW_ACCESS_WRITE);
	} else if (count > 1 || pd_shared) {
		/* other address spaces reach it (the guest shares the PT, or
		 * the PD above it): it must stand for what they walk */
		if (!spage_identity(sh, pmd, f->gt[1]) &&
		    !(pd_shared && f->gt[1] == GFRAME_NONE &&
		      atomic_load_explicit(&sh->pool.pages[pmd].src, memory_order_relaxed) ==
			      SRC_HUGE))
			rc = -ESTALE;
		f->shared = true;
	}
	if (!rc && f->unshare && pd_shared) {
		rc = -ETXTBSY; /* its link is in a PD page the guest shares */
		STAT_INC(sh, ownership_refusals);
	}
	if (rc)
		fill_unclaim(sh, f, l->frame);
	return rc;
}

/* Links the new page `page` at entry i of `parent` (level l + 1) for the
 * fill; in a PD page the guest shares, another sharer may link its own
 * page there first: then ours goes and the winner's is used. Either way
 * the pmd page is reachable by the other sharers from then on, so the
 * fill's leaf goes in by compare-and-swap too (f->shared), and the link is
 * published with release, for their walks (spath_walk) to see the page
 * zeroed and its metadata set. */
static uint32_t fill_link(struct shadow *sh, struct fill *f, uint64_t va, unsigned l, uint32_t page,
			  uint64_t guest_link)
{
	uint32_t parent = f->p.pg[l + 1], won;
	pte_t *slot = spage_table(sh, parent) + pt_index(va, l + 1);
	uint64_t e = slink_value(sh, page, guest_link, false), expected = 0;

	if (spage_kind(sh, parent) != SPAGE_PD ||
	    atomic_load_explicit(&sh->pool.pages[parent].count, memory_order_relaxed) <= 1) {
		slink_install(sh, parent, pt_index(va, l + 1), e, f->gt[l]);
		return page;
	}
	atomic_store_explicit(&spage_links(sh, parent)[pt_index(va, l + 1)], f->gt[l],
			      memory_order_relaxed);
	if (l == 1)
		f->shared = true;
	if (pte_cas_release(slot, &expected, e)) {
		STAT_INC(sh, shadow_entries_written);
		shadow_hook(sh, HOOK_FILL_LINKED);
		return page;
	}
	/* lost: the winner's page stands for the same table (same guest PD) */
	spage_put(sh, page);
	if (f->gt[l] != GFRAME_NONE)
		table_unlink(sh, f->gt[l]);
	if (!spage_of_kind(sh, expected, SPAGE_PMD, &won))
		return NIL;
	return won;
}

/* e allows all that old does, and more. */
static bool sleaf_widens(uint64_t old, uint64_t e)
{
	return old != e && (old & PTE_FRAME) == (e & PTE_FRAME) &&
	       !((old & ~e) & (PTE_W | PTE_U)) && !((e & ~old) & PTE_NX);
}

/* Installs the leaf in a page shared by identity: into an empty entry, or
 * over one that maps the same frame more narrowly (never narrowing an
 * entry other vCPUs may have cached); losing the race to a sharer that
 * installed what the same guest entry gives is as good as winning. */
static void fill_shared(struct shadow *sh, pte_t *slot, uint64_t e)
{
	uint64_t old = pte_load(slot);

	shadow_hook(sh, HOOK_FILL_CAS);
	for (;;) {
		if ((old & PTE_P) && !sleaf_widens(old, e)) {
			frame_unmap(sh, e & PTE_FRAME);
			STAT_INC(sh, fill_raced);
			return;
		}
		if (pte_cas(slot, &old, e))
			break;
	}
	if (old & PTE_P)
		frame_unmap(sh, e & PTE_FRAME); /* the entry held the frame already */
	STAT_INC(sh, fill_shared);
	STAT_INC(sh, shadow_entries_written);
}

/* Under as's lock: the guest walk (w, l) allows access at va. */
static int fault_fill(struct shadow *sh, struct as *as, uint64_t va, unsigned access,
		      const struct gwalk *w, struct gleaf *l)
{
	struct shadow_translation t;
	struct fill f = {0};
	struct resv r = {0};
	uint64_t bits, e;
	unsigned need, k;
	uint32_t page;
	pte_t *slot;
	int rc;

	spath_walk(sh, as, va, &f.p);
	fill_sources(w, l, &f);
	if (!fill_links_current(sh, va, &f))
		return -ESTALE;
	if (f.p.pg[1] != NIL && !stree_translate(sh, as->root, va, &t) &&
	    translation_allows(&t, l->frame, access)) {
		STAT_INC(sh, fault_spurious);
		return SHADOW_FAULT_SPURIOUS;
	}
	rc = fill_plan(sh, va, access, l, &f);
	if (rc)
		return rc;
	need = f.missing[3] + f.missing[2] + f.missing[1];
	if (f.unshare)
		need += pmd_unshare_pages(sh, f.p.pg[1]) + spath_own_pages(sh, &f.p, 2);
	rc = pool_reserve(sh, &r, need);
	if (rc) {
		fill_unclaim(sh, &f, l->frame);
		return rc;
	}

	/* Nothing has changed so far; from here on nothing fails. */
	bits = PTE_A | ((access & SHADOW_ACCESS_WRITE) ? PTE_D : 0);
	if ((l->entry & bits) != bits) {
		l->entry |= pte_fetch_or(l->slot, bits) | bits;
		STAT_INC(sh, guest_entries_written);
	}
	for (k = 3; k >= 1; k--) {
		if (!f.missing[k])
			continue;
		if (k == 1)
			page = pmd_new(sh, &r, f.gt[1] != GFRAME_NONE ? f.gt[1] : SRC_HUGE);
		else
			page = pool_take(sh, &r, k == 3 ? SPAGE_PDPT : SPAGE_PD);
		if (page == NIL)
			goto out;
		if (k == 2) {
			atomic_store_explicit(&sh->pool.pages[page].count, 1, memory_order_relaxed);
			atomic_store_explicit(&sh->pool.pages[page].src, f.gt[2],
					      memory_order_relaxed);
		}
		f.p.pg[k] = fill_link(sh, &f, va, k, page, w->entry[k + 1]);
		if (f.p.pg[k] == NIL)
			goto out;
	}
	if (f.unshare) {
		spath_own(sh, as, va, &f.p, 2, &r);
		pmd_unshare(sh, as, va, &f.p, &r);
	}
	slot = spage_table(sh, f.p.pg[1]) + pt_index(va, 1);
	e = sleaf_derive(l);
	if (f.shared) {
		fill_shared(sh, slot, e);
	} else {
		sleaf_set(sh, as, va, pte_load(spage_table(sh, f.p.pg[2]) + pt_index(va, 2)),
			  f.p.pg[1], pt_index(va, 1), e);
		STAT_INC(sh, fill_private);
	}
	f.frame_mapped = false;
out:
	if (f.frame_mapped)
		frame_unmap(sh, l->frame);
	pool_unreserve(sh, &r);
	return SHADOW_FAULT_FILLED;
}

int shadow_fault(struct shadow *sh, unsigned cpu, uint32_t handle, uint64_t va, unsigned access)
{
	struct gwalk w;
	struct gleaf l;
	struct as *as;
	int rc;

	if (!va_canonical(va))
		return -EINVAL;
	access &= SHADOW_ACCESS_WRITE | SHADOW_ACCESS_USER | SHADOW_ACCESS_FETCH;
	rc = as_get(sh, cpu, handle, &as);
	if (rc)
		return rc;
	if (va_kernel(sh, va)) {
		rc = fault_kernel(sh, as, va, access);
	} else if (va_fixed(sh, va)) {
		STAT_INC(sh, fault_guest); /* the VMM's slot: not the guest's to fill */
		rc = SHADOW_FAULT_GUEST;
	} else {
		rc = gwalk_region(sh, as->guest_root, va, 2, &w);
		if (!rc)
			rc = gwalk_leaf(sh, &w, va, &l);
		if (!rc && !gleaf_allows(&l, access)) {
			STAT_INC(sh, fault_guest);
			rc = SHADOW_FAULT_GUEST;
		} else if (!rc) {
			rc = fault_fill(sh, as, va, access, &w, &l);
		}
	}
	as_unlock(as);
	return rc;
}
