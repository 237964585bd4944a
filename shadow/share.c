/*
 * The sharing protocol of the 2002 page-table-sharing thread
 * (seed/page-table-sharing-2002.txt), on shadow PD and pmd pages.
 * docs/shadow.md maps each step of the seed to the lines here and walks
 * the races.
 *
 * A shared page's count is the number of shadow links, one per sharer,
 * that point at it. It changes only under the lock of an address space
 * that holds one of those links, so whoever touches it sees at least its
 * own 1: a count of 1 is stable (nobody else can add a sharer), a count
 * above 1 may drop at any time as other sharers unshare. There is no other
 * lock: share and unshare need none.
 *
 * Two kinds of sharing:
 *   identity  the sharers' guest links point at one guest table, which
 *             the guest itself shares (two-level sharing): the page
 *             stands for that table for everyone, fills from it are right
 *             for every sharer, and the guest's own protocol write-protects
 *             it (its links copy the guest's W). The guest unshares by
 *             re-pointing its link to a copy; the shadow follows (derive.c).
 *   equality  the sharers' guest tables are different pages, equal at
 *             fork (the guest copied its tables): the seed's protocol on
 *             the shadow alone. The page is read-only in every link while
 *             it is shared, nothing fills it, and any change by one sharer
 *             unshares it first (pmd_unshare).
 */
#include "internal.h"

/* A new private pmd page out of r: count 1, standing for `src`. */
uint32_t pmd_new(struct shadow *sh, struct resv *r, uint64_t src)
{
	uint32_t idx = pool_take(sh, r, SPAGE_PMD);

	if (idx == NIL)
		return NIL;
	atomic_store_explicit(&sh->pool.pages[idx].count, 1, memory_order_relaxed);
	atomic_store_explicit(&sh->pool.pages[idx].src, src, memory_order_relaxed);
	return idx;
}

/* Page idx stands for guest table gframe for every link to it. */
bool spage_identity(struct shadow *sh, uint32_t idx, uint64_t gframe)
{
	uint64_t src = atomic_load_explicit(&sh->pool.pages[idx].src, memory_order_relaxed);

	return gframe != GFRAME_NONE && src == gframe;
}

/* One more link to a page the caller holds a link to. relaxed: a holder
 * adds a holder, the count cannot be zero here. */
void spage_ref(struct shadow *sh, uint32_t idx)
{
	atomic_fetch_add_explicit(&sh->pool.pages[idx].count, 1, memory_order_relaxed);
}

/*
 * After a decrement reached zero: every other sharer's writes to the page
 * (fills, and the reads of its copy) happened before its own release
 * decrement; this acquire makes them visible before the page is torn down.
 * TSan does not model fences, so under TSan the same acquire is spelled as
 * an acquire load of the count, which synchronises through the release
 * sequence of the decrements just as the fence does.
 */
static inline void spage_acquire_last(_Atomic int *count)
{
#ifdef SHADOW_TSAN
	(void)atomic_load_explicit(count, memory_order_acquire);
#else
	(void)count;
	atomic_thread_fence(memory_order_acquire);
#endif
}

/* The page is exclusive and unreachable: drop what its entries hold and
 * return it to the pool. The kernel mirror's leaves hold nothing. */
static void spage_free(struct shadow *sh, uint32_t idx)
{
	uint8_t kind = spage_kind(sh, idx);
	pte_t *t = spage_table(sh, idx);
	uint64_t e;
	unsigned i;

	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&t[i]);
		if (!(e & PTE_P))
			continue;
		if (kind == SPAGE_PMD)
			frame_unmap(sh, e & PTE_FRAME);
		else if (kind == SPAGE_PD)
			slink_release(sh, idx, i, 2, e);
	}
	pool_free(sh, idx);
	if (kind == SPAGE_PMD)
		STAT_INC(sh, pmd_freed);
}

/*
 * The seed's unuse_pmd(): drops one reference, the caller's link being
 * already gone or re-pointed. Returns true if it was the last and the page
 * was freed ("put_page_testzero").
 */
static bool spage_put_last(struct shadow *sh, uint32_t idx)
{
	_Atomic int *count = &sh->pool.pages[idx].count;
	int old;

	/* release: this sharer's fills and copy reads come before the drop */
	old = atomic_fetch_sub_explicit(count, 1, memory_order_release);
	if (old == 1) {
		spage_acquire_last(count);
		spage_free(sh, idx);
		return true;
	}
	if (old < 1)
		shadow_corrupt(sh, "shared page %u put below a count of zero", idx);
	return false;
}

void spage_put(struct shadow *sh, uint32_t idx)
{
	(void)spage_put_last(sh, idx);
}

/*
 * Equality share (fork, under the parent's lock): the child's guest table
 * is a copy of the parent's; the child's link child_page[ci] will point at
 * the page the parent's link parent_page[pi] points at, which the parent's
 * lock lets the caller change (fresh in COPY mode).
 *
 * Old count 1: nobody else can reach the page, and nobody can start
 * sharing it but us, so write-protect it (the parent's link loses W: one
 * store, whatever the page holds) and increment. Old count > 1: the
 * parent's link is read-only already; increment only. The count read may
 * be stale by the time we increment (other sharers unshare at will), but
 * only downwards, and a parent that saw > 1 is read-only whatever the count
 * becomes.
 */
void pmd_share(struct shadow *sh, struct as *parent, uint32_t parent_page, unsigned pi,
	       uint32_t child_page, unsigned ci, uint64_t child_entry, uint64_t child_gframe)
{
	pte_t *plink = spage_table(sh, parent_page) + pi;
	uint64_t link = pte_load(plink);
	uint32_t idx;
	_Atomic int *count;
	int old;

	if (!spage_of_kind(sh, link, SPAGE_PMD, &idx))
		return;
	count = &sh->pool.pages[idx].count;
	old = atomic_load_explicit(count, memory_order_relaxed);
	shadow_hook(sh, HOOK_SHARE_COUNTED);
	if (old == 1) {
		if (link & PTE_W)
			slink_change(sh, parent, parent_page, pi, link & ~PTE_W);
		STAT_INC(sh, share_exclusive);
	} else {
		STAT_INC(sh, share_shared);
	}
	atomic_store_explicit(&sh->pool.pages[idx].src, SRC_MIXED, memory_order_relaxed);
	/* relaxed: a holder adds a holder, the count cannot be zero here */
	atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
	slink_install(sh, child_page, ci, slink_value(sh, idx, child_entry, true), child_gframe);
}

/*
 * Identity share: the child's guest link points at the very table the
 * parent's does (the guest shares it), so the child's link points at the
 * parent's page for it; the guest's own links, copied, write-protect it.
 */
void spage_share_identity(struct shadow *sh, uint32_t idx, uint32_t child_page, unsigned ci,
			  uint64_t child_entry, uint64_t gframe)
{
	spage_ref(sh, idx);
	slink_install(sh, child_page, ci, slink_value(sh, idx, child_entry, false), gframe);
	STAT_INC(sh, share_identity);
}

/* The link lnk write-protects its page for equality sharing: the page
 * must be unshared before anything changes it. */
bool pmd_write_protected(struct shadow *sh, uint64_t lnk, uint32_t idx)
{
	return !(lnk & PTE_W) &&
	       atomic_load_explicit(&sh->pool.pages[idx].src, memory_order_relaxed) == SRC_MIXED;
}

/*
 * How many pages pmd_unshare() of page pmd will need: 1 if it may have to
 * copy (a count > 1; or, in COPY mode, a page a vCPU may have walked, which
 * is never widened in place), 0 otherwise (a count of 1 stays 1: only we
 * hold it).
 */
unsigned pmd_unshare_pages(struct shadow *sh, uint32_t pmd)
{
	if (atomic_load_explicit(&sh->pool.pages[pmd].count, memory_order_acquire) > 1)
		return 1;
	return flush_copies(sh) && !spage_fresh(sh, pmd);
}

/* Entry e of the old page at va, as this address space's own guest entry
 * would have it now; 0 if the guest no longer maps va to the same frame. */
static uint64_t pmd_rederive(const struct shadow *sh, const struct gwalk *w, uint64_t va,
			     uint64_t e)
{
	struct gleaf l;

	if (!w || gwalk_leaf(sh, w, va, &l) || !l.present || l.frame != (e & PTE_FRAME))
		return 0;
	return sleaf_derive(&l);
}

/*
 * Unshare: makes the pmd page p->pg[1] behind the write-protected PD link
 * private to as, at the 2 MiB region of va, with each entry re-derived
 * from as's own guest entries, and its link writable again as the guest's
 * is. Under as's lock; the PD page p->pg[2] is fresh (COPY mode) or
 * changes in place; r holds the page pmd_unshare_pages() asked for.
 *
 * Count > 1: copy into a new page, taking a frame reference per entry the
 * copy maps, install it, then put the old page; a racer may have put its
 * reference meanwhile, so ours may be the last (unshare_copy_last), and
 * then we free it. Count 1: we are exclusive, nobody else can get at the
 * page: re-derive in place, link writable again, no copy and no count
 * games; in COPY mode the same, but into a fresh copy, because a link to a
 * page a vCPU may have walked is never widened in place (flush.c).
 */
void pmd_unshare(struct shadow *sh, struct as *as, uint64_t va, struct spath *p, struct resv *r)
{
	uint64_t base = va & ~(HUGE_SIZE - 1), e, n, link, gframe;
	uint32_t idx = p->pg[1], pd = p->pg[2], copy;
	unsigned i, li = pt_index(va, 2), copied;
	struct gwalk walk, *w = &walk;
	pte_t *src, *dst;
	bool exclusive;

	src = spage_table(sh, idx);
	if (gwalk_region(sh, as->guest_root, base, 2, w) || !(w->entry[2] & PTE_P))
		w = NULL; /* a malformed or missing guest table maps nothing */
	link = w ? w->entry[2] : 0;
	gframe = w && !(link & PTE_PS) ? w->table[1] : GFRAME_NONE;

	/* acquire: pairs with the release decrement of the sharer who left */
	exclusive = atomic_load_explicit(&sh->pool.pages[idx].count, memory_order_acquire) == 1;
	if (exclusive && !(flush_copies(sh) && !spage_fresh(sh, idx))) {
		for (i = 0; i < PT_ENTRIES; i++) {
			e = pte_load(&src[i]);
			if (!(e & PTE_P))
				continue;
			n = pmd_rederive(sh, w, base + i * PAGE_SIZE, e);
			if (n & PTE_P)
				frame_ref(sh, n & PTE_FRAME);
			sleaf_set(sh, as, base + i * PAGE_SIZE, 0, idx, i, n);
		}
		atomic_store_explicit(&sh->pool.pages[idx].src,
				      gframe != GFRAME_NONE ? gframe : SRC_HUGE,
				      memory_order_relaxed);
		slink_change(sh, as, pd, li, slink_value(sh, idx, link, false));
		STAT_INC(sh, unshare_exclusive);
		return;
	}

	copy = pmd_new(sh, r, gframe != GFRAME_NONE ? gframe : SRC_HUGE);
	if (copy == NIL)
		return;
	dst = spage_table(sh, copy);
	for (i = 0, copied = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&src[i]);
		if (!(e & PTE_P))
			continue;
		n = pmd_rederive(sh, w, base + i * PAGE_SIZE, e);
		if (!n)
			continue;
		frame_ref(sh, n & PTE_FRAME);
		pte_store(&dst[i], n);
		copied++;
	}
	STAT_ADD(sh, shadow_entries_written, copied);
	shadow_hook(sh, HOOK_UNSHARE_COPIED);
	slink_change(sh, as, pd, li, slink_value(sh, copy, link, false));
	p->pg[1] = copy;
	if (exclusive)
		STAT_INC(sh, unshare_exclusive);
	else
		STAT_INC(sh, unshare_copy);
	if (spage_put_last(sh, idx) && !exclusive)
		STAT_INC(sh, unshare_copy_last);
}
