/*
 * Fork (docs/architecture.md, "The fork contract"). The guest has made
 * child_root's tables a copy of the parent's; under the parent's lock the
 * library
 *   1. checks that claim with reads only (-EINVAL, nothing changed),
 *   2. reserves every pool page the policy needs (-ENOMEM, nothing
 *      changed),
 *   3. clears W in every user-writable leaf of both guest trees
 *      (copy-on-write), and
 *   4. gives the child a shadow: shares the parent's pmd pages (share),
 *      copies them (copy), or gives it none (lazy).
 * Steps 3 and 4 cannot fail.
 *
 * Every user table page may appear once in the two trees together: a
 * child table that is also the parent's would let one address space's
 * updates change the other's tables behind its shadow, and a table reached
 * twice would make the walk exponential in a hostile tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PTE_AD (PTE_A | PTE_D)

/* Both trees at once, level by level. */
struct fork_walk {
	struct shadow *sh;
	uint64_t ppath[5], cpath[5]; /* tables on the current walk, [4] = roots */
	uint8_t *seen;               /* bitmap of user table pages met, by frame */
	bool cow;                    /* pass 2: clear W; else pass 1: compare */
	uint64_t written;            /* pass 2: guest entries that lost W */
};

/* Marks table page gpa as met; false if it was already. */
static bool fork_see(struct fork_walk *f, uint64_t gpa)
{
	uint64_t bit = (gpa - f->sh->cfg.mem_gpa) >> PAGE_SHIFT;
	uint8_t mask = (uint8_t)(1u << (bit & 7));

	if (f->seen[bit >> 3] & mask)
		return false;
	f->seen[bit >> 3] |= mask;
	return true;
}

static bool leaf_user_writable(uint64_t e)
{
	return (e & (PTE_P | PTE_W | PTE_U)) == (PTE_P | PTE_W | PTE_U);
}

/* Pass 1: the child leaf ce is the parent's pe, modulo A and D, and with
 * W perhaps already cleared if pe is user-writable. */
static bool fork_leaf_same(uint64_t pe, uint64_t ce)
{
	uint64_t p = pe & ~PTE_AD, c = ce & ~PTE_AD;

	if (leaf_user_writable(pe))
		c |= PTE_W;
	return p == c;
}

/*
 * Pass 2: copy-on-write; the guest may have cleared the child's W itself.
 * A load and a store, not a locked read-modify-write: this runs on every
 * leaf of every fork, and the only other writer of these entries is the
 * library under the same address-space lock. (A guest that writes its own
 * registered tables, or aliases a table page into another address space,
 * can lose its own bits this way, and nothing of the VMM's.)
 */
static void fork_cow(struct fork_walk *f, pte_t *slot)
{
	uint64_t e = pte_load(slot);

	if (leaf_user_writable(e)) {
		pte_store(slot, e & ~PTE_W);
		f->written++;
	}
}

static int fork_table(struct fork_walk *f, unsigned level);

/*
 * A leaf in both trees: the O(pages) part of every fork, kept lean. Pass
 * 1: the child's must be the parent's, and must not map a table of the
 * child's own walk (the child would share the parent's translation of that
 * frame, which its own walk refuses). Where the frame points is not
 * checked here: it is checked when the entry is filled, as always, and
 * only filled entries are shared or copied. Pass 2: clearing W is harmless
 * whatever a leaf says.
 */
static int fork_leaf(struct fork_walk *f, unsigned level, pte_t *ps, pte_t *cs, uint64_t pe,
		     uint64_t ce)
{
	if (f->cow) {
		fork_cow(f, ps);
		fork_cow(f, cs);
		return 0;
	}
	if (!fork_leaf_same(pe, ce))
		return -EINVAL;
	return gleaf_maps_path(level, ce, f->cpath) ? -ELOOP : 0;
}

/* Entry i of the tables at `level`. In pass 2 the guest may have changed
 * its tables since pass 1 (it should not, but it may): a table that no
 * longer checks out is skipped, never followed. */
static int fork_entry(struct fork_walk *f, unsigned level, pte_t *ps, pte_t *cs)
{
	struct shadow *sh = f->sh;
	uint64_t pe = pte_load(ps), ce = pte_load(cs);
	int rc;

	if (!(pe & PTE_P) || !(ce & PTE_P))
		return ((pe ^ ce) & PTE_P) && !f->cow ? -EINVAL : 0;
	if (level > 1 && ((pe ^ ce) & PTE_PS))
		return f->cow ? 0 : -EINVAL;
	if (level == 1 || (pe & PTE_PS))
		return fork_leaf(f, level, ps, cs, pe, ce);
	rc = gentry_check(sh, level, pe, f->ppath, false);
	if (!rc)
		rc = gentry_check(sh, level, ce, f->cpath, false);
	if (rc)
		return f->cow ? 0 : rc;
	if ((pe & ~PTE_FRAME & ~PTE_AD) != (ce & ~PTE_FRAME & ~PTE_AD))
		return f->cow ? 0 : -EINVAL;
	f->ppath[level - 1] = pe & PTE_FRAME;
	f->cpath[level - 1] = ce & PTE_FRAME;
	if (!fork_see(f, f->ppath[level - 1]) || !fork_see(f, f->cpath[level - 1]))
		return f->cow ? 0 : -EINVAL;
	return fork_table(f, level - 1);
}

static int fork_table(struct fork_walk *f, unsigned level)
{
	pte_t *pt = gmem_table(f->sh, f->ppath[level]), *ct = gmem_table(f->sh, f->cpath[level]);
	uint64_t pe, ce;
	unsigned i;
	int rc;

	for (i = 0; i < PT_ENTRIES; i++) {
		if (level == 4 && i == f->sh->cfg.kernel_slot) {
			pe = pte_load(&pt[i]);
			ce = pte_load(&ct[i]);
			if (!f->cow && (pe & ~PTE_AD) != (ce & ~PTE_AD))
				return -EINVAL;
			continue;
		}
		rc = fork_entry(f, level, &pt[i], &ct[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* One pass over both trees; returns what pass 1 found. */
static int fork_walk_trees(struct fork_walk *f, uint64_t proot, uint64_t croot, bool cow)
{
	memset(f->seen, 0, ((f->sh->cfg.mem_size >> PAGE_SHIFT) + 7) / 8);
	f->cow = cow;
	f->ppath[4] = proot;
	f->cpath[4] = croot;
	fork_see(f, proot);
	fork_see(f, croot);
	return fork_table(f, 4);
}

/* The pmd pages under one PD page, by policy. */
static void fork_pd(struct shadow *sh, pte_t *ppd, pte_t *cpd, enum shadow_policy policy,
		    struct resv *r)
{
	pte_t *src, *dst;
	uint64_t pde, e;
	uint32_t idx, copy;
	unsigned i, k, n;

	for (i = 0; i < PT_ENTRIES; i++) {
		pde = pte_load(&ppd[i]);
		if (!spage_of(sh, pde, &idx))
			continue;
		if (policy == SHADOW_SHARE) {
			pmd_share(sh, &ppd[i], &cpd[i]);
			continue;
		}
		src = spage_table(sh, idx);
		if (policy == SHADOW_COPY) {
			copy = pmd_new(sh, r);
			dst = spage_table(sh, copy);
			for (k = 0, n = 0; k < PT_ENTRIES; k++) {
				e = pte_load(&src[k]);
				if (!(e & PTE_P))
					continue;
				frame_get(sh, e & PTE_FRAME);
				pte_store(&dst[k], e & ~PTE_W);
				n++;
			}
			STAT_ADD(sh, shadow_entries_written, n);
			STAT_INC(sh, pmd_copied);
			sentry_set(sh, &cpd[i], spage_gpa(sh, copy) | SPTE_TABLE);
		}
		/* copy_page_range's write-protect of the parent, where the
		 * parent writes its page itself; a read-only PD entry already
		 * covers a shared page, which we must not write. */
		if (pmd_write_protected(pde))
			continue;
		for (k = 0, n = 0; k < PT_ENTRIES; k++) {
			e = pte_load(&src[k]);
			if (e & PTE_W) {
				pte_store(&src[k], e & ~PTE_W);
				flush_leaf(sh, e & PTE_FRAME);
				n++;
			}
		}
		STAT_ADD(sh, shadow_entries_written, n);
	}
}

/* Builds the child's shadow below its new root. The upper levels mirror
 * the parent's (lazy: only the parent's write-protect). */
static void fork_build(struct shadow *sh, struct as *pa, uint32_t croot, enum shadow_policy policy,
		       struct resv *r)
{
	pte_t *proot = spage_table(sh, pa->root), *cr = spage_table(sh, croot);
	pte_t *ppdpt, *cpdpt = NULL, *cpd = NULL;
	uint32_t idx, c;
	unsigned i, j;

	for (i = 0; i < PT_ENTRIES; i++) {
		if (i == sh->cfg.kernel_slot || !spage_of(sh, pte_load(&proot[i]), &idx))
			continue;
		ppdpt = spage_table(sh, idx);
		if (policy != SHADOW_LAZY) {
			c = pool_take(sh, r, SPAGE_PDPT);
			sentry_set(sh, &cr[i], spage_gpa(sh, c) | SPTE_TABLE);
			cpdpt = spage_table(sh, c);
		}
		for (j = 0; j < PT_ENTRIES; j++) {
			if (!spage_of(sh, pte_load(&ppdpt[j]), &idx))
				continue;
			if (policy != SHADOW_LAZY) {
				c = pool_take(sh, r, SPAGE_PD);
				sentry_set(sh, &cpdpt[j], spage_gpa(sh, c) | SPTE_TABLE);
				cpd = spage_table(sh, c);
			}
			fork_pd(sh, spage_table(sh, idx), cpd, policy, r);
		}
	}
}

int shadow_as_fork(struct shadow *sh, unsigned cpu, uint32_t parent, uint64_t child_root,
		   enum shadow_policy policy, uint32_t *child)
{
	struct fork_walk f = {.sh = sh};
	unsigned pdpts, pds, pmds, need;
	struct resv r = {0};
	struct as *pa, *ca;
	uint32_t root;
	int rc;

	if (!child || (policy != SHADOW_SHARE && policy != SHADOW_COPY && policy != SHADOW_LAZY))
		return -EINVAL;
	rc = as_get(sh, cpu, parent, &pa);
	if (rc)
		return rc;
	rc = groot_check(sh, child_root);
	if (!rc && child_root == pa->guest_root)
		rc = -EINVAL;
	if (rc)
		goto unlock;
	f.seen = malloc(((sh->cfg.mem_size >> PAGE_SHIFT) + 7) / 8);
	if (!f.seen) {
		rc = -ENOMEM;
		goto unlock;
	}
	rc = fork_walk_trees(&f, pa->guest_root, child_root, false);
	if (rc)
		goto free_seen;

	stree_count(sh, pa, &pdpts, &pds, &pmds);
	need = 1;
	if (policy != SHADOW_LAZY)
		need += pdpts + pds;
	if (policy == SHADOW_COPY)
		need += pmds;
	rc = as_claim(sh, &ca);
	if (rc)
		goto free_seen;
	rc = pool_reserve(sh, &r, need);
	if (rc) {
		as_unclaim(ca);
		goto free_seen;
	}

	/* Nothing has changed so far; from here on nothing fails. */
	fork_walk_trees(&f, pa->guest_root, child_root, true);
	STAT_ADD(sh, guest_entries_written, f.written);
	root = as_new_root(sh, &r);
	kmirror_ref(sh); /* the parent's reference keeps the mirror meanwhile */
	fork_build(sh, pa, root, policy, &r);
	pool_unreserve(sh, &r);
	if (policy == SHADOW_SHARE)
		STAT_INC(sh, forks_share);
	else if (policy == SHADOW_COPY)
		STAT_INC(sh, forks_copy);
	else
		STAT_INC(sh, forks_lazy);
	as_unlock(pa);
	free(f.seen);
	/*
	 * Published after the parent's lock is dropped, so that no thread ever
	 * holds two address-space locks. Until then nobody can reach the child;
	 * its references to shared pmd pages are counted already, so the
	 * parent may unshare or go away in between.
	 */
	*child = as_publish(sh, ca, child_root, root);
	return 0;
free_seen:
	free(f.seen);
unlock:
	as_unlock(pa);
	return rc;
}
