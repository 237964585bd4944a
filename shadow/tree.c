/*
 * One address space's shadow tables: a root, PDPT and PD pages of its own,
 * and pmd pages that it may share (share.c). Upper-level entries grant
 * everything (SPTE_TABLE); a shadow leaf carries the permissions, and a PD
 * entry without W write-protects a whole pmd page while it is shared.
 *
 * Everything here runs under the address space's lock.
 */
#include <errno.h>

#include "internal.h"

/* A leaf derived from the guest's: its frame, never wider than the guest
 * allows, A and D always set so that the CPU never writes the entry, and
 * W only once the guest entry is dirty, so that the first write faults and
 * sets the guest's D (docs/architecture.md, "Accessed and dirty bits"). */
uint64_t sleaf_derive(const struct gleaf *l)
{
	uint64_t e = l->frame | PTE_P | PTE_A | PTE_D;

	if (l->w && (l->entry & PTE_D))
		e |= PTE_W;
	if (l->u)
		e |= PTE_U;
	if (!l->x)
		e |= PTE_NX;
	return e;
}

/* The shadow entries pde (PD level) and pte (leaf) allow `access` to frame. */
bool sleaf_allows(uint64_t pde, uint64_t pte, uint64_t frame, unsigned access)
{
	if (!(pte & PTE_P) || (pte & PTE_FRAME) != frame)
		return false;
	if ((access & SHADOW_ACCESS_WRITE) && !(pde & pte & PTE_W))
		return false;
	if ((access & SHADOW_ACCESS_USER) && !(pte & PTE_U))
		return false;
	return !((access & SHADOW_ACCESS_FETCH) && (pte & PTE_NX));
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

/*
 * Sets a leaf of a pmd page that only this address space can write (its
 * PD entry is writable, or it is the page's only user): moves the frame
 * reference from the old entry to the new one, and advances the flush
 * generation if the change narrows what a vCPU may have cached.
 */
void sleaf_set(struct shadow *sh, pte_t *slot, uint64_t e)
{
	uint64_t old = pte_load(slot);

	if (old == e)
		return;
	if (e & PTE_P)
		frame_get(sh, e & PTE_FRAME);
	pte_store(slot, e);
	STAT_INC(sh, shadow_entries_written);
	if (old & PTE_P)
		frame_put(sh, old & PTE_FRAME);
	if (sleaf_narrows(old, e))
		flush_leaf(sh, old & PTE_FRAME);
}

/* A store into an upper-level table; the caller advances the flush
 * generation when the store removes or narrows something. */
void sentry_set(struct shadow *sh, pte_t *slot, uint64_t e)
{
	pte_store(slot, e);
	STAT_INC(sh, shadow_entries_written);
}

/*
 * The PD entry for va in as's shadow. With r, missing PDPT and PD pages are
 * taken from r (which must hold enough) and linked in; without, NULL when
 * one is missing. Works for the kernel slot too (read-only use).
 */
pte_t *stree_pde(struct shadow *sh, struct as *as, uint64_t va, struct resv *r)
{
	pte_t *t = spage_table(sh, as->root);
	pte_t *slot;
	uint32_t idx;
	uint64_t e;
	unsigned l;

	for (l = 4; l > 2; l--) {
		slot = &t[pt_index(va, l)];
		e = pte_load(slot);
		if (!(e & PTE_P)) {
			if (!r)
				return NULL;
			idx = pool_take(sh, r, l == 4 ? SPAGE_PDPT : SPAGE_PD);
			e = spage_gpa(sh, idx) | SPTE_TABLE;
			sentry_set(sh, slot, e);
		}
		if (!spage_of(sh, e, &idx))
			return NULL;
		t = spage_table(sh, idx);
	}
	return &t[pt_index(va, 2)];
}

/* How many pages stree_pde() and a new pmd page would need for va. */
unsigned stree_missing(struct shadow *sh, struct as *as, uint64_t va)
{
	pte_t *t = spage_table(sh, as->root);
	uint32_t idx;
	uint64_t e;
	unsigned l;

	for (l = 4; l >= 2; l--) {
		e = pte_load(&t[pt_index(va, l)]);
		if (!spage_of(sh, e, &idx))
			return l - 1;
		t = spage_table(sh, idx);
	}
	return 0;
}

/* Drops what entry e at `level` (2..4) points at: a pmd page is put, an
 * upper-level page is emptied and freed. */
static void stree_release(struct shadow *sh, uint64_t e, unsigned level)
{
	uint32_t idx;
	pte_t *t;
	unsigned i;

	if (!spage_of(sh, e, &idx))
		return;
	if (level == 2) {
		pmd_put(sh, idx);
		return;
	}
	t = spage_table(sh, idx);
	for (i = 0; i < PT_ENTRIES; i++)
		stree_release(sh, pte_load(&t[i]), level - 1);
	pool_free(sh, idx);
}

/* Removes the upper-level entry at slot (level 2..4) and the shadow
 * subtree under it. The entry goes first, so no walk through the slot can
 * reach a page after it is freed (the flush covers walks already cached). */
void stree_drop(struct shadow *sh, pte_t *slot, unsigned level)
{
	uint64_t e = pte_load(slot);

	if (!(e & PTE_P))
		return;
	sentry_set(sh, slot, 0);
	flush_advance(sh);
	stree_release(sh, e, level);
}

/* Frees the whole shadow of as, its root included; the kernel slot is the
 * mirror's and stays. */
void stree_free(struct shadow *sh, struct as *as)
{
	pte_t *t = spage_table(sh, as->root);
	unsigned i;

	for (i = 0; i < PT_ENTRIES; i++) {
		if (i != sh->cfg.kernel_slot)
			stree_release(sh, pte_load(&t[i]), 4);
	}
	pool_free(sh, as->root);
	as->root = NIL;
}

/* Pages of each kind in as's shadow outside the kernel slot (fork sizes its
 * reservation with it). */
void stree_count(struct shadow *sh, struct as *as, unsigned *pdpts, unsigned *pds, unsigned *pmds)
{
	pte_t *root = spage_table(sh, as->root), *pdpt, *pd;
	uint32_t idx;
	unsigned i, j, k;

	*pdpts = *pds = *pmds = 0;
	for (i = 0; i < PT_ENTRIES; i++) {
		if (i == sh->cfg.kernel_slot || !spage_of(sh, pte_load(&root[i]), &idx))
			continue;
		++*pdpts;
		pdpt = spage_table(sh, idx);
		for (j = 0; j < PT_ENTRIES; j++) {
			if (!spage_of(sh, pte_load(&pdpt[j]), &idx))
				continue;
			++*pds;
			pd = spage_table(sh, idx);
			for (k = 0; k < PT_ENTRIES; k++) {
				if (pte_load(&pd[k]) & PTE_P)
					++*pmds;
			}
		}
	}
}

/* The shadow walk the vCPU would do from root for va. */
int stree_translate(struct shadow *sh, uint32_t root, uint64_t va, struct shadow_translation *t)
{
	pte_t *table = spage_table(sh, root);
	uint64_t e = 0, writable = PTE_W;
	uint32_t idx;
	unsigned l;

	for (l = 4; l >= 1; l--) {
		e = pte_load(&table[pt_index(va, l)]);
		if (!(e & PTE_P))
			return -ENOENT;
		writable &= e;
		if (l == 1 || (l == 2 && (e & PTE_PS)))
			break;
		if (!spage_of(sh, e, &idx))
			return -ENOENT;
		table = spage_table(sh, idx);
	}
	t->gpa = l == 2 ? (e & PTE_FRAME_2M) | (va & (HUGE_SIZE - 1))
			: (e & PTE_FRAME) | (va & (PAGE_SIZE - 1));
	t->writable = writable;
	t->user = e & PTE_U;
	t->exec = !(e & PTE_NX);
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
	struct as *as;
	pte_t *pde;
	uint32_t idx;
	uint64_t e;
	int rc;

	if (!va_canonical(va))
		return -EINVAL;
	rc = as_lookup(sh, handle, &as);
	if (rc)
		return rc;
	pde = stree_pde(sh, as, va, NULL);
	e = pde ? pte_load(pde) : 0;
	if (!(e & PTE_PS) && spage_of(sh, e, &idx))
		rc = atomic_load_explicit(&sh->pool.pages[idx].count, memory_order_relaxed);
	else
		rc = -ENOENT;
	as_unlock(as);
	return rc;
}
