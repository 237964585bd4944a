/*
 * One address space's shadow tables: a root and PDPT pages of its own, PD
 * and pmd pages that it may share (share.c). A shadow link (an upper-level
 * entry pointing at a shadow page) copies the W, U and NX of the guest link
 * it stands for, so that the CPU combines the levels as the guest's walk
 * does, and a shared PD or pmd page is right for every sharer whatever
 * their upper levels say; a link that write-protects a page shared by
 * copies has W cleared as well. A shadow leaf carries its own guest
 * leaf's bits. Each upper page remembers, per link, the guest table frame
 * the link stands for (spage_links): what the ownership counts and the
 * checks against the guest's current tables use.
 *
 * Everything here runs under the address space's lock.
 */
#include <errno.h>

#include "internal.h"

/* A leaf derived from the guest's: its frame and its own W, U and NX (the
 * links above carry the upper levels' bits), A and D always set so that
 * the CPU never writes the entry, and W only once the guest entry is
 * dirty, so that the first write faults and sets the guest's D
 * (docs/architecture.md, "Accessed and dirty bits"). */
uint64_t sleaf_derive(const struct gleaf *l)
{
	uint64_t e = l->frame | PTE_P | PTE_A | PTE_D, g = l->entry;

	if ((g & PTE_W) && (g & PTE_D))
		e |= PTE_W;
	return e | (g & (PTE_U | PTE_NX));
}

/* The shadow link to page `child` for the guest link `guest_entry`; `wp`
 * write-protects it (a page shared by copies). */
uint64_t slink_value(const struct shadow *sh, uint32_t child, uint64_t guest_entry, bool wp)
{
	uint64_t e = spage_gpa(sh, child) | PTE_P | PTE_A | (guest_entry & SPTE_LINK_BITS);

	return wp ? e & ~PTE_W : e;
}

/* The shadow entries pde (PD level) and pte (leaf) allow `access` to
 * frame, as far as these two levels go. */
bool sleaf_allows(uint64_t pde, uint64_t pte, uint64_t frame, unsigned access)
{
	if (!(pte & PTE_P) || (pte & PTE_FRAME) != frame)
		return false;
	if ((access & SHADOW_ACCESS_WRITE) && !(pde & pte & PTE_W))
		return false;
	if ((access & SHADOW_ACCESS_USER) && !(pde & pte & PTE_U))
		return false;
	return !((access & SHADOW_ACCESS_FETCH) && ((pde | pte) & PTE_NX));
}

/* A vCPU that cached old may keep using it after it became e. */
static bool sleaf_narrows(uint64_t old, uint64_t e)
{
	if (!(old & PTE_P))
		return false;
	if (!(e & PTE_P) || (old & PTE_FRAME) != (e & PTE_FRAME))
		return true;
	return ((old & ~e) & (PTE_W | PTE_U)) || ((e & ~old) & PTE_NX);
}

/* Only W went away, under a read-only PD link: nothing cached it writable. */
static bool sleaf_narrowing_hidden(uint64_t pde, uint64_t old, uint64_t e)
{
	return !(pde & PTE_W) && (old & ~PTE_W) == (e & ~PTE_W);
}

/*
 * Sets leaf i of pmd page `page` (at va in `as`, under PD link pde) that
 * only this address space can change (its link is writable, or it is the
 * page's only user). A new frame's reference must have been taken by the
 * caller (frame_map or frame_ref) and is consumed; the old frame's is
 * dropped. Records the flush a narrowing needs, unless no vCPU can have
 * cached the old leaf: the page is fresh, or only W went and the PD link
 * hid it.
 */
void sleaf_set(struct shadow *sh, struct as *as, uint64_t va, uint64_t pde, uint32_t page,
	       unsigned i, uint64_t e)
{
	pte_t *slot = spage_table(sh, page) + i;
	uint64_t old = pte_load(slot);

	if (old == e) {
		if (e & PTE_P)
			frame_unmap(sh, e & PTE_FRAME); /* the caller's reference */
		return;
	}
	pte_store(slot, e);
	STAT_INC(sh, shadow_entries_written);
	if (old & PTE_P)
		frame_unmap(sh, old & PTE_FRAME);
	if (sleaf_narrows(old, e) && !sleaf_narrowing_hidden(pde, old, e) && !spage_fresh(sh, page))
		flush_leaf(sh, as, va, old & PTE_FRAME);
}

/* A store into an upper-level table or a fresh page. */
void sentry_set(struct shadow *sh, pte_t *slot, uint64_t e)
{
	pte_store(slot, e);
	STAT_INC(sh, shadow_entries_written);
}

static const uint8_t level_kind[5] = {
	[1] = SPAGE_PMD,
	[2] = SPAGE_PD,
	[3] = SPAGE_PDPT,
	[4] = SPAGE_ROOT,
};

/* The pages of as's shadow on the walk of va (user slots only). */
void spath_walk(struct shadow *sh, struct as *as, uint64_t va, struct spath *p)
{
	uint64_t e;
	unsigned l;

	p->pg[0] = NIL;
	p->pg[4] = as->root;
	for (l = 4; l > 1; l--) {
		p->pg[l - 1] = NIL;
		if (p->pg[l] == NIL)
			continue;
		e = pte_load_acquire(spage_table(sh, p->pg[l]) + pt_index(va, l));
		if (!spage_of_kind(sh, e, level_kind[l - 1], &p->pg[l - 1]))
			p->pg[l - 1] = NIL;
	}
}

/* How many pages spath_own(p, level) will take. */
unsigned spath_own_pages(struct shadow *sh, const struct spath *p, unsigned level)
{
	unsigned l, n = 0;

	if (!flush_copies(sh))
		return 0;
	for (l = 4; l >= level && p->pg[l] != NIL; l--)
		n += !spage_fresh(sh, p->pg[l]);
	return n;
}

/*
 * SHADOW_FLUSH_COPY: makes the pages on the walk of va from the root down
 * to `level` fresh, so that the caller may change them in place: each one
 * a vCPU may have walked is copied (entries, the links' guest frames, what
 * it stands for; its references move to the copy, so no count changes),
 * linked from its fresh parent, and retired to limbo, where it waits until
 * KVM forgets it. The root's copy becomes the address space's root. r must
 * hold spath_own_pages() pages. Never called on a shared page (the caller
 * unshares first). Other modes change pages in place: nothing to do.
 */
void spath_own(struct shadow *sh, struct as *as, uint64_t va, struct spath *p, unsigned level,
	       struct resv *r)
{
	pte_t *src, *dst;
	uint32_t old, copy;
	unsigned l, i;

	if (!flush_copies(sh))
		return;
	for (l = 4; l >= level && p->pg[l] != NIL; l--) {
		old = p->pg[l];
		if (spage_fresh(sh, old))
			continue;
		copy = pool_take(sh, r, level_kind[l]);
		if (copy == NIL)
			return;
		src = spage_table(sh, old);
		dst = spage_table(sh, copy);
		for (i = 0; i < PT_ENTRIES; i++) {
			pte_store(&dst[i], pte_load(&src[i]));
			if (l > 1)
				atomic_store_explicit(&spage_links(sh, copy)[i],
						      atomic_load_explicit(&spage_links(sh, old)[i],
									   memory_order_relaxed),
						      memory_order_relaxed);
		}
		atomic_store_explicit(
			&sh->pool.pages[copy].count,
			atomic_load_explicit(&sh->pool.pages[old].count, memory_order_relaxed),
			memory_order_relaxed);
		atomic_store_explicit(
			&sh->pool.pages[copy].src,
			atomic_load_explicit(&sh->pool.pages[old].src, memory_order_relaxed),
			memory_order_relaxed);
		if (l == 4) {
			as->root = copy;
			flush_root_moved(sh, as);
		} else {
			pte_t *link = spage_table(sh, p->pg[l + 1]) + pt_index(va, l + 1);

			sentry_set(sh, link, spage_gpa(sh, copy) | (pte_load(link) & ~PTE_FRAME));
		}
		pool_free(sh, old);
		p->pg[l] = copy;
		STAT_INC(sh, path_copies);
	}
}

/*
 * Links the empty entry i of upper page `page` to a child: e is the link,
 * gframe the guest table it stands for (its ownership claimed by the
 * caller). An empty entry was cached by nobody: no flush.
 */
void slink_install(struct shadow *sh, uint32_t page, unsigned i, uint64_t e, uint64_t gframe)
{
	atomic_store_explicit(&spage_links(sh, page)[i], gframe, memory_order_relaxed);
	sentry_set(sh, spage_table(sh, page) + i, e);
}

/* Claims a link to the guest table gframe (of level `level`), reached
 * through a read-only link or not: 0, or the ownership error. */
int slink_claim(struct shadow *sh, uint64_t gframe, unsigned level, bool shared)
{
	if (gframe == GFRAME_NONE)
		return 0; /* a 2 MiB guest page: no guest table behind the pmd page */
	return table_link(sh, gframe, level, shared);
}

/*
 * Entry i of upper page `parent` (at `level`: 4 root, 3 PDPT, 2 PD) no
 * longer holds the link e it had: drops the guest table's link count and
 * what the link held: a PD or pmd page is put, a PDPT page (never shared)
 * is emptied and freed.
 */
void slink_release(struct shadow *sh, uint32_t parent, unsigned i, unsigned level, uint64_t e)
{
	uint64_t g = atomic_exchange_explicit(&spage_links(sh, parent)[i], GFRAME_NONE,
					      memory_order_relaxed);
	uint32_t idx;
	unsigned j;
	pte_t *t;

	if (g != GFRAME_NONE)
		table_unlink(sh, g);
	if (!spage_of_kind(sh, e, level_kind[level - 1], &idx))
		return;
	if (level != 4) {
		spage_put(sh, idx);
		return;
	}
	t = spage_table(sh, idx);
	for (j = 0; j < PT_ENTRIES; j++) {
		e = pte_load(&t[j]);
		if (e & PTE_P)
			slink_release(sh, idx, j, 3, e);
	}
	pool_free(sh, idx);
}

/* Clears entry i of upper page `page` at `level` of `as` (the caller made
 * the page fresh, or the mode changes in place) and drops what it held. */
void slink_drop(struct shadow *sh, struct as *as, uint32_t page, unsigned i, unsigned level)
{
	pte_t *slot = spage_table(sh, page) + i;
	uint64_t e = pte_load(slot);

	if (!(e & PTE_P))
		return;
	sentry_set(sh, slot, 0);
	if (!spage_fresh(sh, page))
		flush_upper(sh, as);
	slink_release(sh, page, i, level, e);
}

/* A vCPU that cached link old may walk wider than link e allows. */
static bool slink_narrows(uint64_t old, uint64_t e)
{
	if (!(old & PTE_P))
		return false;
	if (!(e & PTE_P) || (old & PTE_FRAME) != (e & PTE_FRAME))
		return true;
	return ((old & ~e) & (PTE_W | PTE_U)) || ((e & ~old) & PTE_NX);
}

/*
 * Changes present entry i of upper page `page` of `as` to e, which links
 * the same child page (new flags) or another one whose reference the
 * caller moved in; the caller keeps what the old entry held. The page is
 * fresh (COPY) or the mode changes in place: TLB flushes a narrowing on
 * the vCPU that has the address space loaded; GLOBAL flushes any change,
 * widening too, because a shadow-paging KVM keys the pages it caches by
 * the access of the link it found them through, and would keep writable
 * entries in the page it cached for a read-only link.
 */
void slink_change(struct shadow *sh, struct as *as, uint32_t page, unsigned i, uint64_t e)
{
	pte_t *slot = spage_table(sh, page) + i;
	uint64_t old = pte_load(slot);

	if (old == e)
		return;
	sentry_set(sh, slot, e);
	if (spage_fresh(sh, page))
		return;
	if (sh->cfg.flush_mode == SHADOW_FLUSH_GLOBAL || slink_narrows(old, e))
		flush_upper(sh, as);
}

/* Frees the whole shadow of as, its root included, and its root's link;
 * the kernel and fixed slots are not its own. */
void stree_free(struct shadow *sh, struct as *as)
{
	pte_t *t = spage_table(sh, as->root);
	uint64_t e;
	unsigned i;

	for (i = 0; i < PT_ENTRIES; i++) {
		if (i == sh->cfg.kernel_slot || (sh->cfg.fixed_entry && i == sh->cfg.fixed_slot))
			continue;
		e = pte_load(&t[i]);
		if (e & PTE_P)
			slink_release(sh, as->root, i, 4, e);
	}
	table_unlink(sh, as->guest_root);
	pool_free(sh, as->root);
	as->root = NIL;
}

/* How many pages a fill at va would add below the root (0-3). */
unsigned stree_missing(struct shadow *sh, struct as *as, uint64_t va)
{
	struct spath p;
	unsigned l, n = 0;

	spath_walk(sh, as, va, &p);
	for (l = 3; l >= 1; l--)
		n += p.pg[l] == NIL;
	return n;
}

/* The shadow walk the vCPU would do from root for va: W and U ANDed, NX
 * ORed over the levels. */
int stree_translate(struct shadow *sh, uint32_t root, uint64_t va, struct shadow_translation *t)
{
	pte_t *table = spage_table(sh, root);
	uint64_t e = 0, all = PTE_W | PTE_U, nx = 0;
	uint32_t idx;
	unsigned l;

	for (l = 4; l >= 1; l--) {
		e = pte_load(&table[pt_index(va, l)]);
		if (!(e & PTE_P))
			return -ENOENT;
		all &= e;
		nx |= e & PTE_NX;
		if (l == 1 || (l == 2 && (e & PTE_PS)))
			break;
		if (!spage_of(sh, e, &idx))
			return -ENOENT;
		table = spage_table(sh, idx);
	}
	t->gpa = l == 2 ? (e & PTE_FRAME_2M) | (va & (HUGE_SIZE - 1))
			: (e & PTE_FRAME) | (va & (PAGE_SIZE - 1));
	t->writable = all & PTE_W;
	t->user = all & PTE_U;
	t->exec = !nx;
	return 0;
}

int shadow_translate(struct shadow *sh, uint32_t handle, uint64_t va, struct shadow_translation *t)
{
	struct as *as;
	int rc;

	if (!va_canonical(va))
		return -EINVAL;
	rc = as_lookup(sh, handle, &as);
	if (rc)
		return rc;
	rc = stree_translate(sh, as->root, va, t);
	as_unlock(as);
	return rc;
}

int shadow_pmd_count(struct shadow *sh, uint32_t handle, uint64_t va)
{
	pte_t *t;
	uint64_t e = 0;
	uint32_t idx;
	struct as *as;
	unsigned l;
	int rc;

	if (!va_canonical(va))
		return -EINVAL;
	rc = as_lookup(sh, handle, &as);
	if (rc)
		return rc;
	t = spage_table(sh, as->root);
	rc = -ENOENT;
	for (l = 4; l >= 2; l--) {
		e = pte_load(&t[pt_index(va, l)]);
		if ((l == 2 && (e & PTE_PS)) || !spage_of(sh, e, &idx))
			break;
		if (l == 2) {
			rc = atomic_load_explicit(&sh->pool.pages[idx].count, memory_order_relaxed);
			break;
		}
		t = spage_table(sh, idx);
	}
	as_unlock(as);
	return rc;
}
