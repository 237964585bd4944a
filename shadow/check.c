/*
 * The invariant checker (shadow.h, shadow_check): recounts from the tables
 * themselves what the library keeps in counters, and compares.
 *   - every live pmd page's count equals the PD entries pointing at it,
 *     and a page with count > 1 is read-only in each of them;
 *   - every guest frame's map count equals the present leaves of live pmd
 *     pages that map it;
 *   - every pool page is free, in limbo, or referenced, never two of these
 *     (none lost, none both free and used), and the lists agree;
 *   - every entry has the shape the library writes (SPTE_TABLE upper
 *     entries, leaves with A and D and no G/PCD/PWT/PAT, RAM frames only);
 *   - with `sound`, each address space's shadow maps nothing its own guest
 *     walk does not allow: same frame, W, U and X no wider, W only once
 *     the guest entry is dirty (user slots).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct chk {
	struct shadow *sh;
	uint32_t *refs; /* per pool page: table entries that point at it */
	uint8_t *wref;  /* per pool page: one of them is writable */
	uint32_t *maps; /* per frame: present leaves of live pmd pages */
	char *why;
	size_t why_len;
};

__attribute__((format(printf, 2, 3))) static int chk_fail(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	if (c->why && c->why_len) {
		va_start(ap, fmt);
		vsnprintf(c->why, c->why_len, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}

static const char *kind_name(uint8_t kind)
{
	static const char *const names[] = {"free", "limbo", "root",  "pdpt", "pd",
					    "pmd",  "kroot", "kpdpt", "kpd",  "kpmd"};

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* Upper-level entry e (at va, level) must point at a pool page of `kind`;
 * counts the reference. */
static int chk_table_entry(struct chk *c, uint64_t e, uint64_t va, unsigned level, uint8_t kind,
			   uint32_t *idx)
{
	struct shadow *sh = c->sh;
	uint64_t flags = e & ~PTE_FRAME;

	if (flags != SPTE_TABLE && !(level == 2 && flags == (SPTE_TABLE & ~PTE_W)))
		return chk_fail(c, "level-%u entry %#llx at va %#llx: flags %#llx", level,
				(unsigned long long)e, (unsigned long long)va,
				(unsigned long long)flags);
	if (!spage_of(sh, e, idx))
		return chk_fail(c, "level-%u entry %#llx at va %#llx points outside the pool",
				level, (unsigned long long)e, (unsigned long long)va);
	if (sh->pool.pages[*idx].kind != kind)
		return chk_fail(c, "level-%u entry at va %#llx points at a %s page, not %s", level,
				(unsigned long long)va, kind_name(sh->pool.pages[*idx].kind),
				kind_name(kind));
	c->refs[*idx]++;
	if (e & PTE_W)
		c->wref[*idx] = 1;
	return 0;
}

static int chk_leaf(struct chk *c, uint64_t e, uint64_t va, bool huge)
{
	uint64_t size = huge ? HUGE_SIZE : PAGE_SIZE;
	uint64_t frame = e & (huge ? PTE_FRAME_2M : PTE_FRAME);
	uint64_t allowed = SPTE_LEAF_BITS | (huge ? PTE_PS : 0);

	if ((e & ~PTE_FRAME & ~allowed) || (huge && (e & (PTE_RSVD_2M | PTE_PAT2M))))
		return chk_fail(c, "leaf %#llx at va %#llx has bits the shadow never sets",
				(unsigned long long)e, (unsigned long long)va);
	if ((e & (PTE_A | PTE_D)) != (PTE_A | PTE_D))
		return chk_fail(c, "leaf %#llx at va %#llx lacks A or D", (unsigned long long)e,
				(unsigned long long)va);
	if (!gmem_is_ram(c->sh, frame, size))
		return chk_fail(c, "leaf %#llx at va %#llx maps outside RAM", (unsigned long long)e,
				(unsigned long long)va);
	return 0;
}

/* The shadow translation (pde, e) at va is allowed by guest_root's walk. */
static int chk_sound(struct chk *c, uint64_t guest_root, uint64_t va, uint64_t pde, uint64_t e,
		     bool huge)
{
	uint64_t frame = e & (huge ? PTE_FRAME_2M : PTE_FRAME);
	bool w = pde & e & PTE_W, kernel = va_kernel(c->sh, va);
	struct gleaf l;
	int rc;

	rc = gwalk_va(c->sh, guest_root, va, &l);
	if (rc)
		return chk_fail(c, "va %#llx: shadow maps it, guest walk of %#llx fails (%d)",
				(unsigned long long)va, (unsigned long long)guest_root, rc);
	if (!l.present || l.frame != frame)
		return chk_fail(c, "va %#llx: shadow maps %#llx, guest %s %#llx",
				(unsigned long long)va, (unsigned long long)frame,
				l.present ? "maps" : "does not map", (unsigned long long)l.frame);
	if ((w && !l.w) || ((e & PTE_U) && !l.u) || (!(e & PTE_NX) && !l.x))
		return chk_fail(c, "va %#llx: shadow %#llx (pde %#llx) is wider than the guest's",
				(unsigned long long)va, (unsigned long long)e,
				(unsigned long long)pde);
	if (w && !kernel && !(l.entry & PTE_D))
		return chk_fail(c, "va %#llx: shadow writable but the guest entry is clean",
				(unsigned long long)va);
	return 0;
}

/* One pmd page (first visit only): its leaves' shapes and frame counts. */
static int chk_pmd_leaves(struct chk *c, uint32_t idx, uint64_t base)
{
	pte_t *t = spage_table(c->sh, idx);
	uint64_t e;
	unsigned i;
	int rc;

	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&t[i]);
		if (!(e & PTE_P))
			continue;
		rc = chk_leaf(c, e, base + i * PAGE_SIZE, false);
		if (rc)
			return rc;
		c->maps[((e & PTE_FRAME) - c->sh->cfg.mem_gpa) >> PAGE_SHIFT]++;
	}
	return 0;
}

/* Every translation under PD page pd (the region of va) against the guest
 * tables at guest_root. */
static int chk_pd_sound(struct chk *c, uint64_t guest_root, pte_t *pd, uint64_t va)
{
	uint64_t pde, e, base;
	uint32_t idx;
	unsigned k, i;
	pte_t *t;
	int rc;

	for (k = 0; k < PT_ENTRIES; k++) {
		pde = pte_load(&pd[k]);
		if (!(pde & PTE_P))
			continue;
		base = va_make(pt_index(va, 4), pt_index(va, 3), k, 0);
		if (pde & PTE_PS) {
			rc = chk_sound(c, guest_root, base, pde, pde, true);
			if (rc)
				return rc;
			continue;
		}
		if (!spage_of(c->sh, pde, &idx))
			return chk_fail(c, "PD entry %#llx outside the pool",
					(unsigned long long)pde);
		t = spage_table(c->sh, idx);
		for (i = 0; i < PT_ENTRIES; i++) {
			e = pte_load(&t[i]);
			if (!(e & PTE_P))
				continue;
			rc = chk_sound(c, guest_root, base + i * PAGE_SIZE, pde, e, false);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Soundness of one address space's whole shadow, kernel slot included. */
static int chk_as_sound(struct chk *c, struct as *as)
{
	pte_t *root = spage_table(c->sh, as->root), *pdpt;
	uint32_t idx, pd;
	unsigned i, j;
	int rc;

	for (i = 0; i < PT_ENTRIES; i++) {
		if (!spage_of(c->sh, pte_load(&root[i]), &idx))
			continue;
		pdpt = spage_table(c->sh, idx);
		for (j = 0; j < PT_ENTRIES; j++) {
			if (!spage_of(c->sh, pte_load(&pdpt[j]), &pd))
				continue;
			rc = chk_pd_sound(c, as->guest_root, spage_table(c->sh, pd),
					  va_make(i, j, 0, 0));
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* The PD page `pd` at va: its entries and the pmd pages they reference. */
static int chk_pd(struct chk *c, uint32_t pd, uint64_t va, bool kernel)
{
	pte_t *t = spage_table(c->sh, pd);
	uint64_t e, eva;
	uint32_t idx;
	unsigned k;
	int rc;

	for (k = 0; k < PT_ENTRIES; k++) {
		e = pte_load(&t[k]);
		if (!(e & PTE_P))
			continue;
		eva = va_make(pt_index(va, 4), pt_index(va, 3), k, 0);
		if (kernel && (e & PTE_PS)) {
			rc = chk_leaf(c, e, eva, true);
		} else {
			rc = chk_table_entry(c, e, eva, 2, kernel ? SPAGE_KPMD : SPAGE_PMD, &idx);
			if (!rc && c->refs[idx] == 1)
				rc = chk_pmd_leaves(c, idx, eva);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* A PDPT page at va (one PML4 slot) and everything under it. */
static int chk_pdpt(struct chk *c, uint32_t pdpt, uint64_t va, bool kernel)
{
	pte_t *t = spage_table(c->sh, pdpt);
	uint64_t e, eva;
	uint32_t idx;
	unsigned j;
	int rc;

	for (j = 0; j < PT_ENTRIES; j++) {
		e = pte_load(&t[j]);
		if (!(e & PTE_P))
			continue;
		eva = va_make(pt_index(va, 4), j, 0, 0);
		rc = chk_table_entry(c, e, eva, 3, kernel ? SPAGE_KPD : SPAGE_PD, &idx);
		if (!rc)
			rc = chk_pd(c, idx, eva, kernel);
		if (rc)
			return rc;
	}
	return 0;
}

/* A root: the kernel slot must be the mirror, the rest its own. */
static int chk_root(struct chk *c, uint32_t root, bool kernel_only)
{
	struct shadow *sh = c->sh;
	pte_t *t = spage_table(sh, root);
	uint64_t e;
	uint32_t idx;
	unsigned i;
	int rc;

	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&t[i]);
		if (i == sh->cfg.kernel_slot) {
			if (e != kmirror_link(sh))
				return chk_fail(c, "root %u: kernel slot %#llx is not the mirror",
						root, (unsigned long long)e);
			c->refs[sh->kmirror.kpdpt]++;
			continue;
		}
		if (!(e & PTE_P))
			continue;
		if (kernel_only)
			return chk_fail(c, "the kernel-only root maps slot %u", i);
		rc = chk_table_entry(c, e, va_make(i, 0, 0, 0), 4, SPAGE_PDPT, &idx);
		if (!rc)
			rc = chk_pdpt(c, idx, va_make(i, 0, 0, 0), false);
		if (rc)
			return rc;
	}
	return 0;
}

/* Pool pages against the references counted, and the free and limbo
 * lists against the page kinds. */
static int chk_pool(struct chk *c, unsigned roots)
{
	struct shadow *sh = c->sh;
	struct pool *p = &sh->pool;
	uint32_t i, n, used = 0, nfree = 0, nlimbo = 0;
	uint64_t tag = 0;
	uint8_t kind;
	int count;

	for (i = p->free_head, n = 0; i != NIL && n <= p->npages; i = p->pages[i].next, n++) {
		if (p->pages[i].kind != SPAGE_FREE)
			return chk_fail(c, "page %u on the free list is %s", i,
					kind_name(p->pages[i].kind));
	}
	if (n != p->nfree)
		return chk_fail(c, "free list holds %u pages, nfree says %u", n, p->nfree);
	for (i = p->limbo_head, n = 0; i != NIL && n <= p->npages; i = p->pages[i].next, n++) {
		if (p->pages[i].kind != SPAGE_LIMBO || p->pages[i].tag < tag)
			return chk_fail(c, "page %u in limbo is %s, tag %llu", i,
					kind_name(p->pages[i].kind),
					(unsigned long long)p->pages[i].tag);
		tag = p->pages[i].tag;
	}
	if (n != p->nlimbo)
		return chk_fail(c, "limbo holds %u pages, nlimbo says %u", n, p->nlimbo);
	if (p->reserved > p->nfree)
		return chk_fail(c, "%u pages reserved, %u free", p->reserved, p->nfree);

	for (i = 0; i < p->npages; i++) {
		kind = p->pages[i].kind;
		count = atomic_load_explicit(&p->pages[i].count, memory_order_relaxed);
		if (kind == SPAGE_FREE || kind == SPAGE_LIMBO) {
			nfree += kind == SPAGE_FREE;
			nlimbo += kind == SPAGE_LIMBO;
			if (c->refs[i])
				return chk_fail(c, "page %u is %s and referenced %u times", i,
						kind_name(kind), c->refs[i]);
			continue;
		}
		used++;
		if (c->refs[i] == 0)
			return chk_fail(c, "page %u (%s) is in use and unreferenced: lost", i,
					kind_name(kind));
		if ((kind == SPAGE_PMD || kind == SPAGE_KPMD) && (uint32_t)count != c->refs[i])
			return chk_fail(c, "pmd page %u: count %d, %u PD entries point at it", i,
					count, c->refs[i]);
		if (kind == SPAGE_PMD && count > 1 && c->wref[i])
			return chk_fail(c, "pmd page %u: count %d and a writable PD entry", i,
					count);
		if (kind != SPAGE_PMD && kind != SPAGE_KPDPT && c->refs[i] != 1)
			return chk_fail(c, "%s page %u referenced %u times", kind_name(kind), i,
					c->refs[i]);
		if (kind == SPAGE_KPDPT && c->refs[i] != roots + 1)
			return chk_fail(c, "mirror PDPT linked %u times, %u roots", c->refs[i],
					roots + 1);
	}
	if (nfree != p->nfree || nlimbo != p->nlimbo || used + nfree + nlimbo != p->npages)
		return chk_fail(c, "pages: %u used, %u free, %u limbo of %u", used, nfree, nlimbo,
				p->npages);
	return 0;
}

static int chk_frames(struct chk *c)
{
	uint64_t i, frames = c->sh->cfg.mem_size >> PAGE_SHIFT;
	unsigned have;

	for (i = 0; i < frames; i++) {
		have = atomic_load_explicit(&c->sh->frame_maps[i], memory_order_relaxed);
		if (have != c->maps[i])
			return chk_fail(
				c, "frame %#llx: map count %u, %u leaves map it",
				(unsigned long long)(c->sh->cfg.mem_gpa + (i << PAGE_SHIFT)), have,
				c->maps[i]);
	}
	return 0;
}

/* The mirror's own pages: its kernel-only root and the tree below. */
static int chk_mirror(struct chk *c)
{
	struct shadow *sh = c->sh;
	struct kmirror *km = &sh->kmirror;
	int rc;

	if (atomic_load_explicit(&km->users, memory_order_relaxed) == 0)
		return km->kroot == NIL ? 0 : chk_fail(c, "no users but a mirror");
	if (sh->pool.pages[km->kroot].kind != SPAGE_KROOT ||
	    sh->pool.pages[km->kpdpt].kind != SPAGE_KPDPT)
		return chk_fail(c, "mirror root or PDPT has the wrong kind");
	c->refs[km->kroot]++;
	rc = chk_root(c, km->kroot, true);
	if (!rc)
		rc = chk_pdpt(c, km->kpdpt, va_make(sh->cfg.kernel_slot, 0, 0, 0), true);
	return rc;
}

int shadow_check(struct shadow *sh, bool sound, char *why, size_t why_len)
{
	uint64_t frames = sh->cfg.mem_size >> PAGE_SHIFT;
	struct chk c = {.sh = sh, .why = why, .why_len = why_len};
	unsigned i, roots = 0;
	struct as *as;
	int rc = -ENOMEM;

	if (why && why_len)
		why[0] = '\0';
	c.refs = calloc(sh->pool.npages, sizeof(*c.refs));
	c.wref = calloc(sh->pool.npages, 1);
	c.maps = calloc(frames, sizeof(*c.maps));
	if (!c.refs || !c.wref || !c.maps)
		goto out;
	pthread_mutex_lock(&sh->kmirror.lock);
	pthread_mutex_lock(&sh->pool.lock);
	rc = chk_mirror(&c);
	for (i = 0; i < sh->cfg.max_as && !rc; i++) {
		as = &sh->as[i];
		if (!as->live)
			continue;
		roots++;
		if (sh->pool.pages[as->root].kind != SPAGE_ROOT) {
			rc = chk_fail(&c, "address space %u: root is %s", i,
				      kind_name(sh->pool.pages[as->root].kind));
			break;
		}
		c.refs[as->root]++;
		rc = chk_root(&c, as->root, false);
		if (!rc && sound)
			rc = chk_as_sound(&c, as);
	}
	if (!rc)
		rc = chk_pool(&c, roots);
	if (!rc)
		rc = chk_frames(&c);
	pthread_mutex_unlock(&sh->pool.lock);
	pthread_mutex_unlock(&sh->kmirror.lock);
out:
	free(c.refs);
	free(c.wref);
	free(c.maps);
	return rc;
}

/*
 * Soundness of one address space, while other calls run: under its lock,
 * its shadow is its own except for shared pmd pages, whose entries change
 * only by fills that every sharer's guest entries allow.
 */
int shadow_check_as(struct shadow *sh, uint32_t handle, char *why, size_t why_len)
{
	struct chk c = {.sh = sh, .why = why, .why_len = why_len};
	pte_t *root, *pdpt, *pd;
	uint32_t idx, pdi, pmd;
	struct as *as;
	unsigned i, j, k;
	uint64_t pde;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	rc = as_lookup(sh, handle, &as);
	if (rc)
		return rc;
	root = spage_table(sh, as->root);
	for (i = 0; i < PT_ENTRIES && !rc; i++) {
		if (i == sh->cfg.kernel_slot || !spage_of(sh, pte_load(&root[i]), &idx))
			continue;
		pdpt = spage_table(sh, idx);
		for (j = 0; j < PT_ENTRIES && !rc; j++) {
			if (!spage_of(sh, pte_load(&pdpt[j]), &pdi))
				continue;
			pd = spage_table(sh, pdi);
			for (k = 0; k < PT_ENTRIES && !rc; k++) {
				pde = pte_load(&pd[k]);
				if (!(pde & PTE_W) || !spage_of(sh, pde, &pmd))
					continue;
				/* a writable PD entry: only we hold the page, so its
				 * count is 1 and stays 1 */
				if (atomic_load_explicit(&sh->pool.pages[pmd].count,
							 memory_order_relaxed) != 1)
					rc = chk_fail(
						&c, "va %#llx: writable PD entry, count %d",
						(unsigned long long)va_make(i, j, k, 0),
						atomic_load_explicit(&sh->pool.pages[pmd].count,
								     memory_order_relaxed));
			}
		}
	}
	if (!rc)
		rc = chk_as_sound(&c, as);
	as_unlock(as);
	return rc;
}
