/*
 * The sharing protocol of the 2002 page-table-sharing thread
 * (seed/page-table-sharing-2002.txt), on shadow pmd pages. docs/shadow.md
 * maps each step of the seed to the lines here and walks the races.
 *
 * A pmd page's count is the number of shadow PD entries, one per address
 * space, that point at it. It changes only under the lock of an address
 * space that holds one of those references, so whoever touches it sees at
 * least its own 1: a count of 1 is stable (nobody else can add a sharer),
 * a count above 1 may drop at any time as other sharers unshare. There is
 * no other lock: share and unshare need none.
 *
 * A page with count > 1 is read-only in every PD entry that points at it.
 * Its entries are then written only by fills, which compare-and-swap empty
 * entries (fault.c); everything else that would change it unshares first.
 */
#include "internal.h"

/* A new private pmd page out of r: count 1. */
uint32_t pmd_new(struct shadow *sh, struct resv *r)
{
	uint32_t idx = pool_take(sh, r, SPAGE_PMD);

	atomic_store_explicit(&sh->pool.pages[idx].count, 1, memory_order_relaxed);
	return idx;
}

/*
 * After a decrement reached zero: every other sharer's writes to the page
 * (fills, and the reads of its copy) happened before its own release
 * decrement; this acquire makes them visible before the page is torn down.
 * TSan does not model fences, so under TSan the same acquire is spelled as
 * an acquire load of the count, which synchronises through the release
 * sequence of the decrements just as the fence does.
 */
static inline void pmd_acquire_last(_Atomic int *count)
{
#ifdef SHADOW_TSAN
	(void)atomic_load_explicit(count, memory_order_acquire);
#else
	(void)count;
	atomic_thread_fence(memory_order_acquire);
#endif
}

/* The page is exclusive and unreachable: drop its frame references and
 * return it to the pool. */
static void pmd_free(struct shadow *sh, uint32_t idx)
{
	pte_t *t = spage_table(sh, idx);
	uint64_t e;
	unsigned i;

	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&t[i]);
		if (e & PTE_P)
			frame_put(sh, e & PTE_FRAME);
	}
	pool_free(sh, idx);
	STAT_INC(sh, pmd_freed);
}

/*
 * The seed's unuse_pmd(): drops one reference, the caller's PD entry being
 * already gone or re-pointed. Returns true if it was the last and the page
 * was freed ("put_page_testzero").
 */
static bool pmd_put_last(struct shadow *sh, uint32_t idx)
{
	_Atomic int *count = &sh->pool.pages[idx].count;

	/* release: this sharer's fills and copy reads come before the drop */
	if (atomic_fetch_sub_explicit(count, 1, memory_order_release) == 1) {
		pmd_acquire_last(count);
		pmd_free(sh, idx);
		return true;
	}
	return false;
}

void pmd_put(struct shadow *sh, uint32_t idx)
{
	(void)pmd_put_last(sh, idx);
}

/*
 * Share (fork, under the parent's lock): the child's PD entry child_pde
 * will point at the page parent_pde points at.
 *
 * Old count 1: nobody else can reach the page, and nobody can start
 * sharing it but us, so write-protect it (the parent's PD entry loses W:
 * one store, whatever the page holds), advance the flush generation, and
 * increment. Old count > 1: the parent's PD entry is already read-only;
 * increment only. The count read may be stale by the time we increment
 * (other sharers unshare at will), but only downwards, and a parent that
 * saw > 1 is read-only whatever the count becomes.
 */
void pmd_share(struct shadow *sh, pte_t *parent_pde, pte_t *child_pde)
{
	uint64_t pde = pte_load(parent_pde);
	uint32_t idx;
	_Atomic int *count;
	int old;

	if (!spage_of(sh, pde, &idx))
		return;
	count = &sh->pool.pages[idx].count;
	old = atomic_load_explicit(count, memory_order_relaxed);
	shadow_hook(sh, HOOK_SHARE_COUNTED);
	if (old == 1) {
		if (pde & PTE_W) {
			sentry_set(sh, parent_pde, pde & ~PTE_W);
			flush_advance(sh);
		}
		STAT_INC(sh, share_exclusive);
	} else {
		STAT_INC(sh, share_shared);
	}
	/* relaxed: a holder adds a holder, the count cannot be zero here */
	atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
	sentry_set(sh, child_pde, pde & ~PTE_W);
}

/* The PD entry write-protects a pmd page that may be shared: a change to
 * the page must unshare it first. */
bool pmd_write_protected(uint64_t pde)
{
	return (pde & PTE_P) && !(pde & PTE_W);
}

/*
 * How many pages pmd_unshare() of the page behind pde will need: 1 if it
 * may have to copy, 0 if it is already exclusive (a count of 1 stays 1:
 * only we hold it).
 */
unsigned pmd_unshare_pages(struct shadow *sh, uint64_t pde)
{
	uint32_t idx;

	if (!pmd_write_protected(pde) || !spage_of(sh, pde, &idx))
		return 0;
	return atomic_load_explicit(&sh->pool.pages[idx].count, memory_order_acquire) > 1;
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
 * Unshare: makes the pmd page behind the write-protected PD entry pde
 * private to as, at the 2 MiB region of va, with each entry's W re-derived
 * from as's own guest entries. Under as's lock; r must hold the page that
 * pmd_unshare_pages() asked for.
 *
 * Count > 1: copy into a new page, taking a frame reference per entry the
 * copy maps, install it with a writable PD entry, then put the old page;
 * a racer may have put its reference meanwhile, so ours may be the last
 * (unshare_copy_last), and then we free it. Count 1: we are exclusive,
 * nobody else can get at the page: re-derive in place, PD entry writable
 * again, no copy and no count games.
 */
void pmd_unshare(struct shadow *sh, struct as *as, uint64_t va, pte_t *pde, struct resv *r)
{
	uint64_t old_pde = pte_load(pde), base = va & ~(HUGE_SIZE - 1), e, n;
	uint32_t idx, copy;
	struct gwalk walk, *w = &walk;
	pte_t *src, *dst;
	unsigned i, copied;

	if (!spage_of(sh, old_pde, &idx))
		return;
	src = spage_table(sh, idx);
	if (gwalk_region(sh, as->guest_root, base, 2, w))
		w = NULL; /* a malformed guest table maps nothing */

	/* acquire: pairs with the release decrement of the sharer who left */
	if (atomic_load_explicit(&sh->pool.pages[idx].count, memory_order_acquire) == 1) {
		for (i = 0; i < PT_ENTRIES; i++) {
			e = pte_load(&src[i]);
			if (e & PTE_P)
				sleaf_set(sh, &src[i],
					  pmd_rederive(sh, w, base + i * PAGE_SIZE, e));
		}
		sentry_set(sh, pde, old_pde | PTE_W);
		STAT_INC(sh, unshare_exclusive);
		return;
	}

	copy = pmd_new(sh, r);
	dst = spage_table(sh, copy);
	for (i = 0, copied = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&src[i]);
		if (!(e & PTE_P))
			continue;
		n = pmd_rederive(sh, w, base + i * PAGE_SIZE, e);
		if (!n)
			continue;
		frame_get(sh, n & PTE_FRAME);
		pte_store(&dst[i], n);
		copied++;
	}
	STAT_ADD(sh, shadow_entries_written, copied);
	shadow_hook(sh, HOOK_UNSHARE_COPIED);
	sentry_set(sh, pde, spage_gpa(sh, copy) | SPTE_TABLE);
	flush_advance(sh); /* our PD entry moved to another page */
	STAT_INC(sh, unshare_copy);
	if (pmd_put_last(sh, idx))
		STAT_INC(sh, unshare_copy_last);
}
