/*
 * Fork (docs/architecture.md, "The fork contract"). The guest has made
 * child_root's user tables mirror the parent's: each entry either points
 * at the very table the parent's does (the guest shares that table: a PD
 * entry's PT or a PDPT entry's PD), or at a private copy to which the same
 * rule applies, or is a leaf equal to the parent's. Under the parent's
 * lock the library
 *   1. checks that claim with reads only, walking both trees and the
 *      parent's shadow together, and counts the pages the policy needs
 *      (-EINVAL/-EEXIST/-ETXTBSY, nothing changed);
 *   2. reserves them (-ENOMEM, nothing changed);
 *   3. in one more walk, clears W in both guest trees on the links to
 *      shared tables and on the user-writable leaves of private copies
 *      (copy-on-write), and builds the child's shadow by policy:
 *        share  the child links the parent's page of every table the
 *               guest shares (identity), and shares the parent's pmd pages
 *               of private PT copies by the seed's protocol (equality);
 *        copy   copies every page it would share;
 *        lazy   gives the child only its root.
 *      Nothing fails here; a link whose ownership another vCPU took
 *      meanwhile is left out of the child's shadow (its next fault says
 *      why).
 * The walk stops at tables the guest shares, so the work is O(entries of
 * the private copies): O(size / 1 GiB) when the guest shares its PDs.
 *
 * Every user table page may appear once in the two trees together, but
 * for shared ones: a table reached twice would make the walk exponential
 * in a hostile tree, and a private copy that is a table elsewhere would
 * let one address space's updates change another's tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PTE_AD (PTE_A | PTE_D)

static const uint8_t child_kind[5] = {
	[1] = SPAGE_PMD,
	[2] = SPAGE_PD,
	[3] = SPAGE_PDPT,
};

/* Both trees and the parent's shadow at once, level by level. */
struct fork_walk {
	struct shadow *sh;
	struct as *pa;
	enum shadow_policy policy;
	uint64_t ppath[5], cpath[5]; /* guest tables on the walk, [4] = roots */
	unsigned idx[5];             /* the entry index taken at each level */
	struct spath pp;             /* the parent's shadow pages on the walk, or NIL */
	uint32_t cpg[5];             /* pass 2: the child's shadow pages, or NIL */
	uint64_t *seen;              /* pass 1: table frames met, a hash set (0: empty) */
	size_t nseen, seen_cap;      /* seen_cap: a power of two, or 0 */
	bool cow;                    /* pass 2; else pass 1: check and count */
	unsigned need;               /* pass 1: pool pages the build may take */
	unsigned own;                /* pass 1: the parent's upper pages the build may change */
	uint64_t written;            /* pass 2: guest entries that lost W */
	struct resv *r;
};

static uint64_t fork_va(const struct fork_walk *f, unsigned level)
{
	return va_make(f->idx[4], level <= 3 ? f->idx[3] : 0, level <= 2 ? f->idx[2] : 0,
		       level <= 1 ? f->idx[1] : 0);
}

static bool seen_add(uint64_t *set, size_t cap, uint64_t gpa)
{
	size_t i = (size_t)(gpa >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ull & (cap - 1);

	for (; set[i]; i = (i + 1) & (cap - 1)) {
		if (set[i] == gpa)
			return false;
	}
	set[i] = gpa;
	return true;
}

/* Records table frame gpa as met (stored + 1: 0 marks an empty slot):
 * 0, -EINVAL if it was met already, -ENOMEM. O(1): the set doubles when
 * half full. */
static int fork_see(struct fork_walk *f, uint64_t gpa)
{
	uint64_t *n;
	size_t i, cap;

	if (2 * (f->nseen + 1) > f->seen_cap) {
		cap = f->seen_cap ? f->seen_cap * 2 : 256;
		n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (i = 0; i < f->seen_cap; i++) {
			if (f->seen[i])
				seen_add(n, cap, f->seen[i]);
		}
		free(f->seen);
		f->seen = n;
		f->seen_cap = cap;
	}
	if (!seen_add(f->seen, f->seen_cap, gpa + 1))
		return -EINVAL;
	f->nseen++;
	return 0;
}

/* Pass 2 follows a table only if pass 1 met it, and only once: a guest
 * that re-links its tables between the passes (from another vCPU) cannot
 * make the walk longer than pass 1's, which met every table once. A
 * followed table's entry (gpa + 1) gets 2 added. */
static bool fork_follow_once(struct fork_walk *f, uint64_t gpa)
{
	size_t i, mask = f->seen_cap - 1;

	if (!f->seen_cap)
		return false;
	for (i = (size_t)(gpa >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ull & mask; f->seen[i];
	     i = (i + 1) & mask) {
		if ((f->seen[i] & ~2ull) != gpa + 1)
			continue;
		if (f->seen[i] & 2)
			return false;
		f->seen[i] |= 2;
		return true;
	}
	return false;
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

/* Pass 2: clears W in guest entry *slot if `test` says so. A load and a
 * store, not a locked read-modify-write: the only other writer of these
 * entries is the library under the same address-space lock. */
static void fork_wp(struct fork_walk *f, pte_t *slot, bool leaf)
{
	uint64_t e = pte_load(slot);

	if (leaf ? leaf_user_writable(e) : (e & (PTE_P | PTE_W)) == (PTE_P | PTE_W)) {
		pte_store(slot, e & ~PTE_W);
		f->written++;
	}
}

/* The parent's shadow page for the table its entry i at `level` links, if
 * the parent's shadow has one and it stands for that guest table. */
static uint32_t fork_parent_child(struct fork_walk *f, unsigned level, unsigned i, uint64_t gframe)
{
	struct shadow *sh = f->sh;
	uint32_t page = f->pp.pg[level], child;

	if (page == NIL ||
	    atomic_load_explicit(&spage_links(sh, page)[i], memory_order_relaxed) != gframe ||
	    !spage_of_kind(sh, pte_load(spage_table(sh, page) + i), child_kind[level - 1], &child))
		return NIL;
	return child;
}

/* Pass 2: the parent's pages down to `level` may change in place. */
static void fork_own(struct fork_walk *f, unsigned level)
{
	spath_own(f->sh, f->pa, fork_va(f, level), &f->pp, level, f->r);
}

/* The present links of a PD page (pass 1: what a deep copy takes). */
static unsigned pd_links(struct shadow *sh, uint32_t pd)
{
	unsigned i, n = 0;

	for (i = 0; i < PT_ENTRIES; i++)
		n += (pte_load(spage_table(sh, pd) + i) & PTE_P) != 0;
	return n;
}

/* A private copy of pmd page src for a child, W cleared if `wp` (copy
 * policy), with a frame reference per leaf. */
static uint32_t pmd_copy(struct shadow *sh, uint32_t src, uint64_t srcid, bool wp, struct resv *r)
{
	uint32_t copy = pmd_new(sh, r, srcid);
	pte_t *s = spage_table(sh, src), *d;
	uint64_t e;
	unsigned k, n = 0;

	if (copy == NIL)
		return NIL;
	d = spage_table(sh, copy);
	for (k = 0; k < PT_ENTRIES; k++) {
		e = pte_load(&s[k]);
		if (!(e & PTE_P))
			continue;
		frame_ref(sh, e & PTE_FRAME);
		pte_store(&d[k], wp ? e & ~PTE_W : e);
		n++;
	}
	STAT_ADD(sh, shadow_entries_written, n);
	STAT_INC(sh, pmd_copied);
	return copy;
}

/* A private deep copy of PD page src (copy policy at a shared PD): its pmd
 * pages copied too, each a new link to the PT it stands for. */
static uint32_t pd_copy(struct shadow *sh, uint32_t src, uint64_t gpd, struct resv *r)
{
	uint32_t copy = pool_take(sh, r, SPAGE_PD), child, pmd;
	pte_t *s = spage_table(sh, src);
	uint64_t e, g;
	unsigned k;

	if (copy == NIL)
		return NIL;
	atomic_store_explicit(&sh->pool.pages[copy].count, 1, memory_order_relaxed);
	atomic_store_explicit(&sh->pool.pages[copy].src, gpd, memory_order_relaxed);
	for (k = 0; k < PT_ENTRIES; k++) {
		e = pte_load(&s[k]);
		g = atomic_load_explicit(&spage_links(sh, src)[k], memory_order_relaxed);
		if (!spage_of_kind(sh, e, SPAGE_PMD, &child) || slink_claim(sh, g, 1, true))
			continue;
		pmd = pmd_copy(sh, child, g != GFRAME_NONE ? g : SRC_HUGE, false, r);
		if (pmd == NIL) {
			if (g)
				table_unlink(sh, g);
			break;
		}
		slink_install(sh, copy, k, (e & ~PTE_FRAME) | spage_gpa(sh, pmd), g);
	}
	return copy;
}

/* PD page pd links a pmd page shared by copies: sharing pd by identity
 * would put that page behind a link other address spaces walk, where it
 * could never be unshared (share.c) without changing what they cached. */
static bool pd_links_mixed(struct shadow *sh, uint32_t pd)
{
	uint32_t pmd;
	unsigned k;

	for (k = 0; k < PT_ENTRIES; k++) {
		if (spage_of(sh, pte_load(spage_table(sh, pd) + k), &pmd) &&
		    atomic_load_explicit(&sh->pool.pages[pmd].src, memory_order_relaxed) ==
			    SRC_MIXED)
			return true;
	}
	return false;
}

/* Pass 2 at a table the guest shares (entry i at `level` of both trees
 * points at gframe): the parent's link loses W as the guest's did, and the
 * child links the parent's page for it (share), a copy (copy), or nothing
 * (lazy). */
static void fork_shared_table(struct fork_walk *f, unsigned level, unsigned i, uint64_t gframe,
			      uint64_t ce)
{
	struct shadow *sh = f->sh;
	uint32_t page, s = fork_parent_child(f, level, i, gframe), cp = f->cpg[level];
	uint64_t link;

	if (s == NIL)
		return;
	fork_own(f, level);
	page = f->pp.pg[level];
	link = pte_load(spage_table(sh, page) + i);
	slink_change(sh, f->pa, page, i, link & ~PTE_W);
	if (f->policy == SHADOW_LAZY || cp == NIL || slink_claim(sh, gframe, level - 1, true))
		return;
	if (f->policy == SHADOW_SHARE) {
		if (level == 3 && pd_links_mixed(sh, s)) {
			table_unlink(sh, gframe); /* the child builds its own */
			return;
		}
		spage_share_identity(sh, s, cp, i, ce, gframe);
		return;
	}
	s = level == 2 ? pmd_copy(sh, s, gframe, false, f->r) : pd_copy(sh, s, gframe, f->r);
	if (s == NIL) {
		table_unlink(sh, gframe);
		return;
	}
	slink_install(sh, cp, i, slink_value(sh, s, ce, false), gframe);
}

/* COPY mode: the parent's pmd page `pmd` (count 1, behind its PD link i)
 * becomes a fresh copy with W cleared, so that no leaf a vCPU may have
 * cached changes in place; its references move to the copy. */
static void pmd_replace_wp(struct fork_walk *f, unsigned i, uint32_t pmd)
{
	struct shadow *sh = f->sh;
	uint32_t copy = pool_take(sh, f->r, SPAGE_PMD), page = f->pp.pg[2];
	pte_t *s = spage_table(sh, pmd), *d;
	uint64_t e, link = pte_load(spage_table(sh, page) + i);
	unsigned k;

	if (copy == NIL)
		return;
	d = spage_table(sh, copy);
	for (k = 0; k < PT_ENTRIES; k++) {
		e = pte_load(&s[k]);
		if (e & PTE_P)
			pte_store(&d[k], e & ~PTE_W);
	}
	atomic_store_explicit(&sh->pool.pages[copy].count, 1, memory_order_relaxed);
	atomic_store_explicit(&sh->pool.pages[copy].src,
			      atomic_load_explicit(&sh->pool.pages[pmd].src, memory_order_relaxed),
			      memory_order_relaxed);
	slink_change(sh, f->pa, page, i, (link & ~PTE_FRAME) | spage_gpa(sh, copy));
	pool_free(sh, pmd);
	STAT_INC(sh, path_copies);
}

/* copy_page_range's write-protect of the parent's own pmd page (copy and
 * lazy policies); a page write-protected by its link already (shared by
 * copies) is left alone. */
static void fork_wp_parent_pmd(struct fork_walk *f, unsigned i, uint32_t pmd)
{
	struct shadow *sh = f->sh;
	uint32_t page = f->pp.pg[2];
	uint64_t link = pte_load(spage_table(sh, page) + i), e, base = fork_va(f, 2);
	pte_t *t = spage_table(sh, pmd);
	unsigned k;

	if (pmd_write_protected(sh, link, pmd) ||
	    atomic_load_explicit(&sh->pool.pages[pmd].count, memory_order_relaxed) > 1)
		return;
	if (flush_copies(sh) && !spage_fresh(sh, pmd)) {
		pmd_replace_wp(f, i, pmd);
		return;
	}
	for (k = 0; k < PT_ENTRIES; k++) {
		e = pte_load(&t[k]);
		if (e & PTE_W) {
			frame_ref(sh, e & PTE_FRAME); /* sleaf_set consumes one */
			sleaf_set(sh, f->pa, base + k * PAGE_SIZE, link, pmd, k, e & ~PTE_W);
		}
	}
}

/* Pass 2 at a private PT copy, or a 2 MiB page (entry i of the PDs): the
 * parent's pmd page for it, shared by the seed's protocol (share), copied
 * (copy) or not (lazy). */
static void fork_pmd(struct fork_walk *f, unsigned i, uint64_t pgframe, uint64_t cgframe,
		     uint64_t ce)
{
	struct shadow *sh = f->sh;
	uint32_t pmd = fork_parent_child(f, 2, i, pgframe), cp = f->cpg[2], copy;

	if (pmd == NIL)
		return;
	fork_own(f, 2);
	if (f->policy == SHADOW_SHARE) {
		if (cp != NIL && !slink_claim(sh, cgframe, 1, false))
			pmd_share(sh, f->pa, f->pp.pg[2], i, cp, i, ce, cgframe);
		return;
	}
	if (f->policy == SHADOW_COPY && cp != NIL && !slink_claim(sh, cgframe, 1, false)) {
		copy = pmd_copy(sh, pmd, cgframe != GFRAME_NONE ? cgframe : SRC_HUGE, true, f->r);
		if (copy == NIL) {
			if (cgframe != GFRAME_NONE)
				table_unlink(sh, cgframe);
		} else {
			slink_install(sh, cp, i, slink_value(sh, copy, ce, false), cgframe);
		}
	}
	fork_wp_parent_pmd(f, i, pmd);
}

/* Pass 2 at a private copy at `level` - 1: the child's shadow page for it,
 * if the parent has one and the policy builds the child's. */
static void fork_private_page(struct fork_walk *f, unsigned level, unsigned i, uint64_t ce)
{
	struct shadow *sh = f->sh;
	uint32_t cp = f->cpg[level], page;
	uint64_t cg = ce & PTE_FRAME;

	f->cpg[level - 1] = NIL;
	if (f->policy == SHADOW_LAZY || cp == NIL || f->pp.pg[level - 1] == NIL)
		return;
	if (slink_claim(sh, cg, level - 1, false))
		return;
	page = pool_take(sh, f->r, child_kind[level - 1]);
	if (page == NIL) {
		table_unlink(sh, cg);
		return;
	}
	if (level - 1 == 2) {
		atomic_store_explicit(&sh->pool.pages[page].count, 1, memory_order_relaxed);
		atomic_store_explicit(&sh->pool.pages[page].src, cg, memory_order_relaxed);
	}
	slink_install(sh, cp, i, slink_value(sh, page, ce, false), cg);
	f->cpg[level - 1] = page;
}

static int fork_table(struct fork_walk *f, unsigned level);

/* Pass 1 counting at a table the guest shares: what copy takes. */
static void fork_count_shared(struct fork_walk *f, unsigned level, unsigned i, uint64_t gframe)
{
	uint32_t s = fork_parent_child(f, level, i, gframe);

	if (s == NIL || f->policy != SHADOW_COPY)
		return;
	f->need += 1 + (level == 3 ? pd_links(f->sh, s) : 0);
}

/* Pass 1 counting at a private copy at `level` - 1 that the parent's
 * shadow has a page for: the child's own PDPT or PD page (share, copy);
 * at a PT, or a 2 MiB page, the parent's write-protected copy (copy and
 * lazy, COPY mode) and the child's copy (copy). */
static void fork_count_private(struct fork_walk *f, unsigned level)
{
	if (level > 2) {
		f->need += f->policy != SHADOW_LAZY;
		f->own++;
		return;
	}
	f->need += (f->policy != SHADOW_SHARE && flush_copies(f->sh)) + (f->policy == SHADOW_COPY);
}

/* Entry i of the tables at `level` (2..4, not a leaf): a shared table or
 * a private copy. */
static int fork_link(struct fork_walk *f, unsigned level, unsigned i, pte_t *ps, pte_t *cs,
		     uint64_t pe, uint64_t ce)
{
	struct shadow *sh = f->sh;
	uint64_t pf = pe & PTE_FRAME, cf = ce & PTE_FRAME;
	int rc;

	if (!f->cow) {
		rc = gentry_check(sh, level, pe, f->ppath, false);
		if (!rc)
			rc = gentry_check(sh, level, ce, f->cpath, false);
		if (rc)
			return rc;
		if ((pe & ~PTE_FRAME & ~PTE_AD & ~PTE_W) != (ce & ~PTE_FRAME & ~PTE_AD & ~PTE_W))
			return -EINVAL;
	}
	if (pf == cf) {
		if (f->cow) {
			fork_wp(f, ps, false);
			fork_wp(f, cs, false);
			fork_shared_table(f, level, i, pf, pte_load(cs));
			return 0;
		}
		if (level != 2 && level != 3)
			return -EINVAL; /* the guest shares PTs and PDs only */
		if (frame_links(sh, f->ppath[level]) > 1) {
			STAT_INC(sh, ownership_refusals);
			return -ETXTBSY; /* its link lies in a table shared already */
		}
		fork_count_shared(f, level, i, pf);
		return 0;
	}
	if (!f->cow) {
		if (frame_level(sh, cf) || frame_links(sh, cf)) {
			STAT_INC(sh, ownership_refusals);
			return -EEXIST;
		}
		if (frame_maps(sh, cf)) {
			STAT_INC(sh, ownership_refusals);
			return -EACCES;
		}
		/* copy-on-write would write a table the guest shares, or one
		 * that another shadow is built from (the parent's has no link
		 * to it here) */
		if (frame_links(sh, pf) > 1 ||
		    (frame_level(sh, pf) && fork_parent_child(f, level, i, pf) == NIL)) {
			STAT_INC(sh, ownership_refusals);
			return -ETXTBSY;
		}
		rc = fork_see(f, pf);
		if (!rc)
			rc = fork_see(f, cf);
		if (rc)
			return rc;
	} else if (!fork_follow_once(f, pf) || !fork_follow_once(f, cf)) {
		return 0;
	}
	f->ppath[level - 1] = pf;
	f->cpath[level - 1] = cf;
	f->pp.pg[level - 1] = fork_parent_child(f, level, i, pf);
	if (!f->cow && f->pp.pg[level - 1] != NIL)
		fork_count_private(f, level);
	if (f->cow && level > 2)
		fork_private_page(f, level, i, ce);
	rc = fork_table(f, level - 1);
	if (!rc && f->cow && level == 2)
		fork_pmd(f, i, pf, cf, pte_load(cs));
	return rc;
}

/* Entry i of the tables at `level`. In pass 2 the guest may have changed
 * its tables since pass 1 (it should not, but it may): a table that no
 * longer checks out is skipped, never followed. */
static int fork_entry(struct fork_walk *f, unsigned level, unsigned i, pte_t *ps, pte_t *cs)
{
	uint64_t pe = pte_load(ps), ce = pte_load(cs);
	int rc;

	f->idx[level] = i;
	if (!(pe & PTE_P) || !(ce & PTE_P))
		return ((pe ^ ce) & PTE_P) && !f->cow ? -EINVAL : 0;
	if (level > 1 && ((pe ^ ce) & PTE_PS))
		return f->cow ? 0 : -EINVAL;
	if (level == 1 || (pe & PTE_PS)) {
		if (f->cow) {
			fork_wp(f, ps, true);
			fork_wp(f, cs, true);
			if (level == 2)
				fork_pmd(f, i, GFRAME_NONE, GFRAME_NONE, pte_load(cs));
			return 0;
		}
		if (!fork_leaf_same(pe, ce))
			return -EINVAL;
		if (level == 2 && fork_parent_child(f, 2, i, GFRAME_NONE) != NIL)
			fork_count_private(f, 2);
		return gleaf_maps_path(level, ce, f->cpath) ? -ELOOP : 0;
	}
	if (f->cow && (gentry_check(f->sh, level, pe, f->ppath, false) ||
		       gentry_check(f->sh, level, ce, f->cpath, false)))
		return 0;
	rc = fork_link(f, level, i, ps, cs, pe, ce);
	return f->cow ? 0 : rc;
}

static int fork_table(struct fork_walk *f, unsigned level)
{
	pte_t *pt = gmem_table(f->sh, f->ppath[level]), *ct = gmem_table(f->sh, f->cpath[level]);
	uint64_t pe, ce;
	unsigned i;
	int rc;

	if (!pt || !ct)
		return f->cow ? 0 : -EFAULT;
	for (i = 0; i < PT_ENTRIES; i++) {
		if (level == 4 && i == f->sh->cfg.kernel_slot) {
			pe = pte_load(&pt[i]);
			ce = pte_load(&ct[i]);
			if (!f->cow && (pe & ~PTE_AD) != (ce & ~PTE_AD))
				return -EINVAL;
			continue;
		}
		if (level == 4 && va_fixed(f->sh, va_make(i, 0, 0, 0)))
			continue;
		rc = fork_entry(f, level, i, &pt[i], &ct[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* One pass over both trees; returns what pass 1 found. */
static int fork_walk_trees(struct fork_walk *f, uint64_t proot, uint64_t croot, bool cow,
			   uint32_t child_root)
{
	int rc;

	f->cow = cow;
	f->ppath[4] = proot;
	f->cpath[4] = croot;
	f->pp = (struct spath){.pg = {NIL, NIL, NIL, NIL, f->pa->root}};
	f->cpg[4] = child_root;
	f->cpg[3] = f->cpg[2] = f->cpg[1] = NIL;
	if (!cow) {
		f->need = 1; /* the child's root */
		f->own = 1;  /* the parent's */
		rc = fork_see(f, proot);
		if (!rc)
			rc = fork_see(f, croot);
		if (rc)
			return rc;
	}
	return fork_table(f, 4);
}

int shadow_as_fork(struct shadow *sh, unsigned cpu, uint32_t parent, uint64_t child_root,
		   enum shadow_policy policy, uint32_t *child)
{
	struct fork_walk f = {.sh = sh, .policy = policy};
	struct resv r = {0};
	struct as *pa, *ca;
	uint32_t root;
	int rc;

	if (!child || (policy != SHADOW_SHARE && policy != SHADOW_COPY && policy != SHADOW_LAZY))
		return -EINVAL;
	rc = as_get(sh, cpu, parent, &pa);
	if (rc)
		return rc;
	f.pa = pa;
	rc = groot_check(sh, child_root);
	if (!rc && child_root == pa->guest_root)
		rc = -EINVAL;
	if (!rc && (frame_links(sh, child_root) || frame_level(sh, child_root))) {
		STAT_INC(sh, ownership_refusals);
		rc = -EEXIST; /* a table already: a registered root, or below one */
	}
	if (rc)
		goto unlock;
	rc = fork_walk_trees(&f, pa->guest_root, child_root, false, NIL);
	if (rc)
		goto unlock;
	/* COPY mode may copy each upper page of the parent it changes */
	if (flush_copies(sh))
		f.need += f.own;
	rc = as_claim(sh, &ca);
	if (rc)
		goto unlock;
	rc = table_link(sh, child_root, 4, false);
	if (rc)
		goto unclaim;
	rc = pool_reserve(sh, &r, f.need);
	if (rc)
		goto unlink;

	/* Nothing has changed so far; from here on nothing fails. */
	f.r = &r;
	root = as_new_root(sh, &r);
	kmirror_ref(sh); /* the parent's reference keeps the mirror meanwhile */
	fork_walk_trees(&f, pa->guest_root, child_root, true, root);
	STAT_ADD(sh, guest_entries_written, f.written);
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
	 * its references to shared pages are counted already, so the parent
	 * may unshare or go away in between.
	 */
	*child = as_publish(sh, ca, child_root, root);
	return 0;
unlink:
	table_unlink(sh, child_root);
unclaim:
	as_unclaim(ca);
unlock:
	free(f.seen);
	as_unlock(pa);
	return rc;
}
