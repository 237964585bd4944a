/*
 * Guest table updates. For a registered address space the guest does not
 * write its tables itself: it asks, and the library, under the address
 * space's lock, checks the new entry, unshares the shadow pmd page the
 * entry feeds if it is shared, writes the guest entry and brings the
 * shadow in line. So no later fill can read a stale guest entry, and no
 * address space that changed a range still shares its pmd page.
 *
 * Each update is whole or not at all: everything that can fail (checks,
 * the page an unshare needs) comes before the first store.
 */
#include <errno.h>

#include "internal.h"

/* The shadow entry at `level` (2..4) on as's walk of va, or NULL. */
static pte_t *update_shadow_slot(struct shadow *sh, struct as *as, uint64_t va, unsigned level)
{
	pte_t *t = spage_table(sh, as->root);
	uint32_t idx;
	unsigned l;

	for (l = 4; l > level; l--) {
		if (!spage_of(sh, pte_load(&t[pt_index(va, l)]), &idx))
			return NULL;
		t = spage_table(sh, idx);
	}
	return &t[pt_index(va, level)];
}

/* A level-1 update: the pmd page holding va's shadow leaf (if any) is
 * made private first, then the leaf follows the new guest entry: removed
 * if the entry is not present or not accessed (the next access fills it
 * and sets A), else installed, writable only if dirty. */
static int update_pte(struct shadow *sh, struct as *as, const struct shadow_update *u, pte_t *gslot)
{
	pte_t *pdep = stree_pde(sh, as, u->va, NULL);
	uint64_t pde = pdep ? pte_load(pdep) : 0, e = 0;
	struct resv r = {0};
	struct gleaf l;
	uint32_t idx;
	int rc;

	if (pmd_write_protected(pde)) {
		rc = pool_reserve(sh, &r, pmd_unshare_pages(sh, pde));
		if (rc)
			return rc;
		pmd_unshare(sh, as, u->va, pdep, &r);
		pool_unreserve(sh, &r);
		pde = pte_load(pdep);
	}
	pte_store(gslot, u->value);
	STAT_INC(sh, guest_entries_written);
	if (!spage_of(sh, pde, &idx))
		return 0;
	if ((u->value & (PTE_P | PTE_A)) == (PTE_P | PTE_A) &&
	    !gwalk_va(sh, as->guest_root, u->va, &l) && l.present)
		e = sleaf_derive(&l);
	sleaf_set(sh, spage_table(sh, idx) + pt_index(u->va, 1), e);
	return 0;
}

static int update_one(struct shadow *sh, struct as *as, const struct shadow_update *u)
{
	unsigned level = u->level;
	struct gwalk w;
	uint64_t above;
	pte_t *gslot, *sslot;
	int rc;

	if (level < 1 || level > 4 || u->reserved || !va_canonical(u->va))
		return -EINVAL;
	if (va_kernel(sh, u->va))
		return -EPERM;
	rc = gwalk_region(sh, as->guest_root, u->va, level + 1, &w);
	if (rc)
		return rc;
	if (level < 4) {
		/* the tables above the entry must be there */
		above = w.entry[w.level];
		if (w.level != level + 1 || !(above & PTE_P))
			return -ENOENT;
		if (above & PTE_PS)
			return -EINVAL;
	}
	if (u->value & PTE_P) {
		rc = gentry_check(sh, level, u->value, w.table, false);
		if (rc)
			return rc;
	}
	gslot = gmem_table(sh, w.table[level]) + pt_index(u->va, level);
	if (level == 1)
		return update_pte(sh, as, u, gslot);

	/* A new table or 2 MiB page: drop the shadow built from the old one. */
	pte_store(gslot, u->value);
	STAT_INC(sh, guest_entries_written);
	sslot = update_shadow_slot(sh, as, u->va, level);
	if (sslot)
		stree_drop(sh, sslot, level);
	return 0;
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
