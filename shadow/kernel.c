/*
 * The kernel-slot mirror (docs/architecture.md, "The kernel slot"). The
 * guest kernel lives in one PML4 slot that every address space shares.
 * The shadow mirrors that slot once, eagerly, when the first address space
 * is created: guest 2 MiB pages become shadow 2 MiB leaves, guest 4 KiB
 * pages shadow pmd pages (count 1: the mirror's PD entry). Every shadow
 * root links the mirror's PDPT; nothing in it is ever shared through the
 * protocol, write-protected, filled on a fault or updated, because the CPU
 * touches the kernel stack, IDT, GDT and TSS while it delivers a fault.
 *
 * The mirror lives while it has users: live address spaces, and vCPUs that
 * have the kernel-only root (handle 0) loaded. While it lives, the guest
 * tables it was built from are marked as the kernel's (frames.c), so that
 * no user table link and no user leaf can take them; the mirror's pages
 * remember which frames they were built from (spage_links), and its
 * leaves hold no frame references: the kernel maps all of RAM, and its
 * map is not a user mapping.
 */
#include <errno.h>

#include "internal.h"

#define PTE_AD (PTE_A | PTE_D)

/* A mirror leaf: the kernel's permissions as they are (the kernel slot's
 * dirty bits are not tracked: nothing fills it on a fault). */
static uint64_t kleaf(uint64_t frame, bool w, bool u, bool x)
{
	return frame | PTE_P | PTE_A | PTE_D | (w ? PTE_W : 0) | (u ? PTE_U : 0) | (x ? 0 : PTE_NX);
}

/*
 * Walks the guest's kernel slot under PML4 entry ge of root: with r NULL,
 * checks every entry and counts the pages the mirror needs into *pages;
 * with r, builds the mirror from r. Each entry is read once per pass; an
 * entry that changed between the passes into something invalid, or that
 * needs more pages than counted, fails the build (-EAGAIN), and the caller
 * tears down what was built.
 */
static int kmirror_walk(struct shadow *sh, uint64_t root, uint64_t ge, struct resv *r,
			unsigned *pages)
{
	uint64_t path[5] = {0, 0, 0, 0, root}, e3, e2, e1;
	pte_t *pdpt, *pd, *pt, *mpd = NULL, *mpt = NULL;
	bool w3, u3, x3, w2, u2, x2;
	unsigned i, j, k;
	uint32_t idx, kpd = NIL;
	int rc;

	path[3] = ge & PTE_FRAME;
	pdpt = gmem_table(sh, path[3]);
	if (r && table_mark_kernel(sh, path[3]))
		return -EAGAIN;
	for (i = 0; i < PT_ENTRIES; i++) {
		e3 = pte_load(&pdpt[i]);
		if (!(e3 & PTE_P))
			continue;
		rc = gentry_check(sh, 3, e3, path, true);
		if (rc)
			return r ? -EAGAIN : rc;
		w3 = (ge & e3 & PTE_W);
		u3 = (ge & e3 & PTE_U);
		x3 = !((ge | e3) & PTE_NX);
		path[2] = e3 & PTE_FRAME;
		pd = gmem_table(sh, path[2]);
		if (r) {
			if (r->n == 0 || table_mark_kernel(sh, path[2]))
				return -EAGAIN;
			idx = pool_take(sh, r, SPAGE_KPD);
			slink_install(sh, sh->kmirror.kpdpt, i, spage_gpa(sh, idx) | SPTE_TABLE,
				      path[2]);
			mpd = spage_table(sh, idx);
			kpd = idx;
		} else {
			++*pages;
		}
		for (j = 0; j < PT_ENTRIES; j++) {
			e2 = pte_load(&pd[j]);
			if (!(e2 & PTE_P))
				continue;
			rc = gentry_check(sh, 2, e2, path, true);
			if (rc)
				return r ? -EAGAIN : rc;
			w2 = w3 && (e2 & PTE_W);
			u2 = u3 && (e2 & PTE_U);
			x2 = x3 && !(e2 & PTE_NX);
			if (e2 & PTE_PS) {
				if (r)
					sentry_set(sh, &mpd[j],
						   kleaf(e2 & PTE_FRAME_2M, w2, u2, x2) | PTE_PS);
				continue;
			}
			path[1] = e2 & PTE_FRAME;
			pt = gmem_table(sh, path[1]);
			if (r) {
				if (r->n == 0 || table_mark_kernel(sh, path[1]))
					return -EAGAIN;
				idx = pool_take(sh, r, SPAGE_KPMD);
				atomic_store_explicit(&sh->pool.pages[idx].count, 1,
						      memory_order_relaxed);
				slink_install(sh, kpd, j, spage_gpa(sh, idx) | SPTE_TABLE, path[1]);
				mpt = spage_table(sh, idx);
			} else {
				++*pages;
			}
			for (k = 0; k < PT_ENTRIES; k++) {
				e1 = pte_load(&pt[k]);
				if (!(e1 & PTE_P))
					continue;
				rc = gentry_check(sh, 1, e1, path, true);
				if (rc)
					return r ? -EAGAIN : rc;
				if (!r)
					continue;
				pte_store(&mpt[k], kleaf(e1 & PTE_FRAME, w2 && (e1 & PTE_W),
							 u2 && (e1 & PTE_U), x2 && !(e1 & PTE_NX)));
				STAT_INC(sh, shadow_entries_written);
			}
		}
	}
	return 0;
}

/* Frees the mirror; users is zero and the mirror lock held. Works on a
 * mirror that a failed build left half-made. */
static void kmirror_teardown(struct shadow *sh)
{
	struct kmirror *km = &sh->kmirror;
	pte_t *pdpt, *pd;
	uint32_t idx, pmd;
	unsigned i, j;

	if (km->kpdpt != NIL) {
		pdpt = spage_table(sh, km->kpdpt);
		for (i = 0; i < PT_ENTRIES; i++) {
			if (!spage_of_kind(sh, pte_load(&pdpt[i]), SPAGE_KPD, &idx))
				continue;
			table_unmark_kernel(sh, spage_links(sh, km->kpdpt)[i]);
			pd = spage_table(sh, idx);
			for (j = 0; j < PT_ENTRIES; j++) {
				uint64_t e = pte_load(&pd[j]);

				if (!(e & PTE_PS) && spage_of_kind(sh, e, SPAGE_KPMD, &pmd)) {
					table_unmark_kernel(sh, spage_links(sh, idx)[j]);
					spage_put(sh, pmd);
				}
			}
			pool_free(sh, idx);
		}
		pool_free(sh, km->kpdpt);
		table_unmark_kernel(sh, km->guest_entry & PTE_FRAME);
	}
	if (km->kroot != NIL)
		pool_free(sh, km->kroot);
	km->kroot = km->kpdpt = NIL;
}

/* Builds the mirror from root; the mirror lock is held and users is 0. */
static int kmirror_build(struct shadow *sh, uint64_t root)
{
	struct kmirror *km = &sh->kmirror;
	uint64_t path[5] = {0, 0, 0, 0, root};
	uint64_t ge = pte_load(gmem_table(sh, root) + sh->cfg.kernel_slot);
	struct resv r = {0};
	unsigned pages = 2; /* the kernel-only root and the mirror's PDPT */
	int rc;

	if (!(ge & PTE_P))
		return -EINVAL;
	rc = gentry_check(sh, 4, ge, path, true);
	if (!rc)
		rc = kmirror_walk(sh, root, ge, NULL, &pages);
	if (!rc)
		rc = pool_reserve(sh, &r, pages);
	if (rc)
		return rc;
	km->kroot = pool_take(sh, &r, SPAGE_KROOT);
	km->kpdpt = pool_take(sh, &r, SPAGE_KPDPT);
	km->guest_entry = ge & ~PTE_AD;
	sentry_set(sh, spage_table(sh, km->kroot) + sh->cfg.kernel_slot, kmirror_link(sh));
	if (sh->cfg.fixed_entry)
		sentry_set(sh, spage_table(sh, km->kroot) + sh->cfg.fixed_slot,
			   sh->cfg.fixed_entry);
	rc = kmirror_walk(sh, root, ge, &r, NULL);
	pool_unreserve(sh, &r);
	if (rc) {
		kmirror_teardown(sh);
		return rc;
	}
	return 0;
}

/*
 * A reference to the mirror for a new address space with guest root
 * `root` (checked by the caller): builds the mirror if there is none; else
 * the root's kernel-slot entry must be the mirror's (modulo A and D), or
 * -EINVAL. -ENOMEM if the pool cannot hold a new mirror.
 */
int kmirror_get(struct shadow *sh, uint64_t root)
{
	struct kmirror *km = &sh->kmirror;
	uint64_t ge = pte_load(gmem_table(sh, root) + sh->cfg.kernel_slot);
	int rc = 0;

	pthread_mutex_lock(&km->lock);
	if (atomic_load_explicit(&km->users, memory_order_relaxed) > 0) {
		if ((ge & ~PTE_AD) == km->guest_entry)
			atomic_fetch_add_explicit(&km->users, 1, memory_order_relaxed);
		else
			rc = -EINVAL;
	} else {
		rc = kmirror_build(sh, root);
		if (!rc)
			atomic_store_explicit(&km->users, 1, memory_order_release);
	}
	pthread_mutex_unlock(&km->lock);
	return rc;
}

/* Another reference, for a caller that holds one (a fork's parent). */
void kmirror_ref(struct shadow *sh)
{
	atomic_fetch_add_explicit(&sh->kmirror.users, 1, memory_order_relaxed);
}

/* A reference if the mirror exists (shadow_switch to handle 0). */
bool kmirror_tryref(struct shadow *sh)
{
	unsigned u = atomic_load_explicit(&sh->kmirror.users, memory_order_acquire);

	while (u > 0) {
		if (atomic_compare_exchange_weak_explicit(&sh->kmirror.users, &u, u + 1,
							  memory_order_acquire,
							  memory_order_acquire))
			return true;
	}
	return false;
}

/* Drops a reference; the last one tears the mirror down under the lock, so
 * that a concurrent first create waits for it and then builds anew. */
void kmirror_put(struct shadow *sh)
{
	struct kmirror *km = &sh->kmirror;
	unsigned u = atomic_load_explicit(&km->users, memory_order_relaxed);

	while (u > 1) {
		if (atomic_compare_exchange_weak_explicit(
			    &km->users, &u, u - 1, memory_order_release, memory_order_relaxed))
			return;
	}
	pthread_mutex_lock(&km->lock);
	if (atomic_fetch_sub_explicit(&km->users, 1, memory_order_acq_rel) == 1)
		kmirror_teardown(sh);
	pthread_mutex_unlock(&km->lock);
}

/* The kernel-slot entry of every shadow root; the caller holds a reference. */
uint64_t kmirror_link(const struct shadow *sh)
{
	return spage_gpa(sh, sh->kmirror.kpdpt) | SPTE_TABLE;
}

/* The kernel-only root; the caller holds a reference. */
uint64_t kmirror_root(const struct shadow *sh)
{
	return spage_gpa(sh, sh->kmirror.kroot);
}
