/*
 * The shadow follows the guest's unshare (two-level sharing). The guest
 * unshares a table it shares by copying it and re-pointing its link at the
 * copy (one UMBRA_HC_AS_UPDATE); the old shadow page stands for the old
 * table, and the new table is, entry for entry, mostly the same. So the
 * new shadow page is derived from the old one in the same call, keeping
 * each entry the new table still allows, instead of being refilled fault
 * by fault:
 *   a pmd page keeps each leaf whose new guest entry maps the same frame
 *   (re-derived from it: the copy made it read-only, copy-on-write);
 *   a PD page keeps each link whose new guest entry points at the same
 *   table, which both pages then share by identity (the guest shares it
 *   now: its copy's links are read-only).
 * Whatever does not match is left empty and filled on demand. The new
 * page is fresh and private (count 1).
 */
#include "internal.h"

/* The leaves of pmd page `old` that guest PT `gt` still maps. */
static void rederive_leaves(struct shadow *sh, uint32_t old, const pte_t *gt, pte_t *dst)
{
	const pte_t *src = spage_table(sh, old);
	struct gleaf l = {.present = true, .level = 1};
	uint64_t e, g;
	unsigned i, n = 0;

	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&src[i]);
		if (!(e & PTE_P))
			continue;
		g = pte_load(&gt[i]);
		if ((g & (PTE_P | PTE_A)) != (PTE_P | PTE_A) || (g & PTE_FRAME) != (e & PTE_FRAME))
			continue;
		l.frame = g & PTE_FRAME;
		l.entry = g;
		frame_ref(sh, l.frame);
		pte_store(&dst[i], sleaf_derive(&l));
		n++;
	}
	STAT_ADD(sh, shadow_entries_written, n);
}

/* The links of PD page `old` to pmd pages of tables guest PD `gt` still
 * points at; the copy's links are new links to those tables. */
static void rederive_links(struct shadow *sh, uint32_t old, uint32_t copy, const pte_t *gt)
{
	const pte_t *src = spage_table(sh, old);
	pte_t *dst = spage_table(sh, copy);
	uint64_t e, g, gframe;
	uint32_t child;
	unsigned k, n = 0;

	for (k = 0; k < PT_ENTRIES; k++) {
		e = pte_load(&src[k]);
		gframe = atomic_load_explicit(&spage_links(sh, old)[k], memory_order_relaxed);
		if (!(e & PTE_P) || gframe == GFRAME_NONE ||
		    !spage_of_kind(sh, e, SPAGE_PMD, &child))
			continue;
		g = pte_load(&gt[k]);
		if (!(g & PTE_P) || (g & PTE_PS) || (g & PTE_FRAME) != gframe)
			continue;
		/* a second link to the table: the guest shares it, or it is
		 * aliasing, which the claim refuses (left empty, then) */
		if (table_link(sh, gframe, 1, !(g & PTE_W)))
			continue;
		spage_ref(sh, child);
		atomic_store_explicit(&spage_links(sh, copy)[k], gframe, memory_order_relaxed);
		pte_store(&dst[k],
			  slink_value(sh, child, g,
				      !spage_identity(sh, child, gframe) &&
					      atomic_load_explicit(&sh->pool.pages[child].count,
								   memory_order_relaxed) > 1));
		n++;
	}
	STAT_ADD(sh, shadow_entries_written, n);
}

/*
 * A new page for guest table `gtable` (level 1: a PT, 2: a PD; RAM, its
 * link claimed by the caller), derived from `old`, the page that stands
 * for the table the link pointed at before. Takes one page from r; NIL
 * only if r is short.
 */
uint32_t rederive(struct shadow *sh, uint32_t old, unsigned level, uint64_t gtable, struct resv *r)
{
	const pte_t *gt = gmem_table(sh, gtable);
	uint32_t copy;

	copy = level == 1 ? pmd_new(sh, r, gtable) : pool_take(sh, r, SPAGE_PD);
	if (copy == NIL || !gt)
		return copy;
	if (level == 1) {
		rederive_leaves(sh, old, gt, spage_table(sh, copy));
	} else {
		atomic_store_explicit(&sh->pool.pages[copy].count, 1, memory_order_relaxed);
		atomic_store_explicit(&sh->pool.pages[copy].src, gtable, memory_order_relaxed);
		rederive_links(sh, old, copy, gt);
	}
	STAT_INC(sh, unshare_follow);
	return copy;
}
