/* The sharing protocol's counts and races (see ptshare.h). */
#include "ptshare.h"
#include "console.h"
#include "kparam.h"
#include "mm.h"
#include "pgtable.h"

struct ptshare_stats ptstats;

/* ptdelay: widens the window between reading a count and changing it. */
static void window(void)
{
	for (uint32_t i = kparams.ptdelay; i > 0; i--)
		pause();
}

uint32_t ptshare_share(uint64_t pa)
{
	uint32_t seen = page_refs(pa);
	window();
	uint32_t before = page_ref_inc(pa);
	/* Count 1: only this address space holds the table, and only it
	 * could add a sharer. Above 1, others may share or unshare at once;
	 * whatever the order, every sharer sees more than 1 (the seed). */
	if (seen == 1 && before != 1)
		panic("ptshare: table %lx had count 1, then %u while this CPU shared it", pa,
		      before);
	if (before > seen)
		atomic_fetch_add(&ptstats.share_share, 1);
	else if (before < seen)
		atomic_fetch_add(&ptstats.share_unshare, 1);
	atomic_fetch_add(&ptstats.shared, 1);
	if (seen == 1)
		atomic_fetch_add(&ptstats.shared_first, 1);
	return seen;
}

uint32_t ptshare_unshare_count(uint64_t pa)
{
	uint32_t seen = page_refs(pa);
	window();
	return seen;
}

void ptshare_unshare_inplace(void)
{
	atomic_fetch_add(&ptstats.unshare_inplace, 1);
}

bool ptshare_unshare_put(uint64_t pa, uint32_t seen)
{
	uint32_t before = page_ref_dec(pa);
	atomic_fetch_add(&ptstats.unshare_copy, 1);
	if (before > seen)
		atomic_fetch_add(&ptstats.share_unshare, 1);
	else if (before < seen)
		atomic_fetch_add(&ptstats.unshare_unshare, 1);
	if (before == 1)
		atomic_fetch_add(&ptstats.unshare_last, 1);
	return before == 1;
}

void ptshare_drop(uint64_t e, unsigned level, uint64_t base, const struct vrange *r, unsigned nr)
{
	if (level == 1) {
		page_put(e & PTE_ADDR);
		return;
	}
	uint64_t *t = table_of(e);
	if (page_ref_dec((uint64_t)t) == 1)
		ptshare_release(t, level - 1, base, r, nr);
}

void ptshare_release(uint64_t *t, unsigned level, uint64_t base, const struct vrange *r,
		     unsigned nr)
{
	uint64_t span = entry_span(level);
	unsigned next = 0, from, to;
	for (unsigned k = 0; k < nr; k++) {
		if (!range_slice(r, k, base, level, &next, &from, &to))
			continue;
		for (unsigned i = from; i < to; i++)
			if (t[i]) {
				ptshare_drop(t[i], level, base + i * span, r, nr);
				t[i] = 0;
			}
	}
	page_free_table(t);
	atomic_fetch_add(&ptstats.freed, 1);
}

void ptshare_print(void)
{
	kprintf("kernel: tables: shared %lu (write-protected %lu) fork-copied %lu unshared by copy "
		"%lu in place %lu freed %lu; races: share-share %lu share-unshare %lu "
		"unshare-unshare %lu unshare-last %lu\n",
		ptstats.shared, ptstats.shared_first, ptstats.fork_copied, ptstats.unshare_copy,
		ptstats.unshare_inplace, ptstats.freed, ptstats.share_share, ptstats.share_unshare,
		ptstats.unshare_unshare, ptstats.unshare_last);
}
