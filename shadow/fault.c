/*
 * Hidden faults: the guest's tables allow an access that the shadow does
 * not (yet). The library walks the guest tables itself, sets A (and D on a
 * write) in the guest leaf, and fills the shadow leaf.
 *
 * A fill into a pmd page whose PD entry is read-only (a shared page) is
 * seen by every sharer. That is right because every sharer's guest
 * entries are identical there (whoever changed the range unshared first),
 * but the fill must be read-only (the page is shared), and it may race
 * with another sharer filling the same entry: compare-and-swap on the
 * empty entry, the frame reference taken before and given back on a loss.
 * A write to such a page unshares first (share.c).
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

/* The kernel slot is mirrored whole and never filled: a fault there is
 * spurious or the guest's own. */
static int fault_kernel(struct shadow *sh, struct as *as, uint64_t va, unsigned access)
{
	struct shadow_translation t;

	if (!stree_translate(sh, as->root, va, &t) &&
	    !((access & SHADOW_ACCESS_WRITE) && !t.writable) &&
	    !((access & SHADOW_ACCESS_USER) && !t.user) &&
	    !((access & SHADOW_ACCESS_FETCH) && !t.exec)) {
		STAT_INC(sh, fault_spurious);
		return SHADOW_FAULT_SPURIOUS;
	}
	STAT_INC(sh, fault_guest);
	return SHADOW_FAULT_GUEST;
}

/* A read fill of an empty entry in a shared pmd page. Another sharer may
 * fill the same entry at once; its value is ours too (same guest entries),
 * so losing the race is as good as winning it. */
static void fill_shared(struct shadow *sh, pte_t *slot, const struct gleaf *l)
{
	uint64_t expected = 0, e = sleaf_derive(l) & ~PTE_W;

	frame_get(sh, l->frame);
	shadow_hook(sh, HOOK_FILL_CAS);
	if (pte_cas(slot, &expected, e)) {
		STAT_INC(sh, fill_shared);
		STAT_INC(sh, shadow_entries_written);
	} else {
		frame_put(sh, l->frame);
		STAT_INC(sh, fill_raced);
	}
}

/* Under as's lock: the guest walk l allows access at va. */
static int fault_fill(struct shadow *sh, struct as *as, uint64_t va, unsigned access,
		      struct gleaf *l)
{
	uint64_t pde = 0, pte = 0, bits;
	struct resv r = {0};
	pte_t *pdep, *ptep;
	unsigned need;
	bool write = access & SHADOW_ACCESS_WRITE, unshare;
	uint32_t idx;
	int rc;

	pdep = stree_pde(sh, as, va, NULL);
	if (pdep)
		pde = pte_load(pdep);
	if (spage_of(sh, pde, &idx)) {
		pte = pte_load(spage_table(sh, idx) + pt_index(va, 1));
		if (sleaf_allows(pde, pte, l->frame, access)) {
			STAT_INC(sh, fault_spurious);
			return SHADOW_FAULT_SPURIOUS;
		}
	}
	/*
	 * Decided once, on what we read above: another sharer may fill the
	 * empty entry meanwhile (then our compare-and-swap loses), but nothing
	 * else changes while we hold our lock and our reference.
	 */
	unshare = pmd_write_protected(pde) && (write || (pte & PTE_P));
	need = stree_missing(sh, as, va);
	if (unshare)
		need += pmd_unshare_pages(sh, pde);
	rc = pool_reserve(sh, &r, need);
	if (rc)
		return rc;

	/* Nothing has changed so far; from here on nothing fails. */
	bits = PTE_A | (write ? PTE_D : 0);
	if ((l->entry & bits) != bits) {
		l->entry |= pte_fetch_or(l->slot, bits) | bits;
		STAT_INC(sh, guest_entries_written);
	}
	pdep = stree_pde(sh, as, va, &r);
	if (!(pte_load(pdep) & PTE_P))
		sentry_set(sh, pdep, spage_gpa(sh, pmd_new(sh, &r)) | SPTE_TABLE);
	pde = pte_load(pdep);
	spage_of(sh, pde, &idx);
	ptep = spage_table(sh, idx) + pt_index(va, 1);
	if (pmd_write_protected(pde)) {
		if (!unshare) {
			fill_shared(sh, ptep, l);
			goto out;
		}
		pmd_unshare(sh, as, va, pdep, &r);
		spage_of(sh, pte_load(pdep), &idx);
		ptep = spage_table(sh, idx) + pt_index(va, 1);
	}
	sleaf_set(sh, ptep, sleaf_derive(l));
	STAT_INC(sh, fill_private);
out:
	pool_unreserve(sh, &r);
	return SHADOW_FAULT_FILLED;
}

int shadow_fault(struct shadow *sh, unsigned cpu, uint32_t handle, uint64_t va, unsigned access)
{
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
	} else {
		rc = gwalk_va(sh, as->guest_root, va, &l);
		if (!rc && !gleaf_allows(&l, access)) {
			STAT_INC(sh, fault_guest);
			rc = SHADOW_FAULT_GUEST;
		} else if (!rc) {
			rc = fault_fill(sh, as, va, access, &l);
		}
	}
	as_unlock(as);
	return rc;
}
