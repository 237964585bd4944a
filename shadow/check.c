/*
 * The invariant checker (shadow.h, shadow_check): recounts from the tables
 * themselves what the library keeps in counters, and compares.
 *   - every live PD and pmd page's count equals the links pointing at it,
 *     and a page shared by copies (SRC_MIXED) is read-only in each;
 *   - every guest frame's map count equals the present leaves of live user
 *     pmd pages that map it, and its link count the shadow links (and
 *     roots) that stand for it as a table, all at one level; no frame is
 *     both mapped and a table, and the kernel's tables are neither;
 *   - every pool page is free, in limbo, or referenced, never two of these
 *     (none lost, none both free and used), and the lists agree;
 *   - every entry has the shape the library writes (links: P, A and the
 *     guest's W, U, NX; leaves with A and D and no G/PCD/PWT/PAT, RAM
 *     frames only; the kernel and fixed slots as built);
 *   - with `sound`, each address space's shadow maps nothing its own guest
 *     walk does not allow: same frame, W, U and X no wider over the whole
 *     walk, W only once the guest entry is dirty (user slots).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct chk {
	struct shadow *sh;
	uint32_t *refs;  /* per pool page: links that point at it */
	uint8_t *wref;   /* per pool page: one of them is writable */
	uint32_t *maps;  /* per frame: present leaves of live user pmd pages */
	uint32_t *links; /* per frame: shadow links and roots that stand for it */
	uint8_t *level;  /* per frame: the level it is linked at */
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

static uint64_t frame_index(const struct shadow *sh, uint64_t gpa)
{
	return (gpa - sh->cfg.mem_gpa) >> PAGE_SHIFT;
}

/* Entry e (at va, level) links a pool page of `kind`; counts the
 * reference. `kernel`: the mirror's own links, which grant everything. */
static int chk_link(struct chk *c, uint64_t e, uint64_t va, unsigned level, uint8_t kind,
		    bool kernel, uint32_t *idx)
{
	struct shadow *sh = c->sh;
	uint64_t flags = e & ~PTE_FRAME;

	if (kernel ? flags != SPTE_TABLE : (flags & ~SPTE_LINK_BITS) != (PTE_P | PTE_A))
		return chk_fail(c, "level-%u link %#llx at va %#llx: flags %#llx", level,
				(unsigned long long)e, (unsigned long long)va,
				(unsigned long long)flags);
	if (!spage_of(sh, e, idx))
		return chk_fail(c, "level-%u link %#llx at va %#llx points outside the pool", level,
				(unsigned long long)e, (unsigned long long)va);
	if (sh->pool.pages[*idx].kind != kind)
		return chk_fail(c, "level-%u link at va %#llx points at a %s page, not %s", level,
				(unsigned long long)va, kind_name(sh->pool.pages[*idx].kind),
				kind_name(kind));
	c->refs[*idx]++;
	if (e & PTE_W)
		c->wref[*idx] = 1;
	return 0;
}

/* A guest table frame that a link (or a root) stands for, at `level`. */
static int chk_gtable(struct chk *c, uint64_t gframe, unsigned level, uint64_t va)
{
	uint64_t i;

	if (gframe == GFRAME_NONE)
		return 0; /* a pmd page of a guest 2 MiB page */
	if (!gmem_is_ram(c->sh, gframe, PAGE_SIZE))
		return chk_fail(c, "va %#llx: a link stands for %#llx, outside RAM",
				(unsigned long long)va, (unsigned long long)gframe);
	i = frame_index(c->sh, gframe);
	if (c->links[i] && c->level[i] != level)
		return chk_fail(c, "frame %#llx is linked as a level-%u and a level-%u table",
				(unsigned long long)gframe, c->level[i], level);
	c->links[i]++;
	c->level[i] = (uint8_t)level;
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

/* One pmd page (first visit only): its leaves' shapes, and for a user
 * page their frame counts. */
static int chk_pmd_leaves(struct chk *c, uint32_t idx, uint64_t base, bool kernel)
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
		if (!kernel)
			c->maps[frame_index(c->sh, e & PTE_FRAME)]++;
	}
	return 0;
}

/* The PD page `pd` at va (first visit only): its links and the pmd pages
 * they reference. */
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
			rc = chk_link(c, e, eva, 2, kernel ? SPAGE_KPMD : SPAGE_PMD, kernel, &idx);
			if (!rc && !kernel)
				rc = chk_gtable(c, spage_links(c->sh, pd)[k], 1, eva);
			if (!rc && c->refs[idx] == 1)
				rc = chk_pmd_leaves(c, idx, eva, kernel);
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
		rc = chk_link(c, e, eva, 3, kernel ? SPAGE_KPD : SPAGE_PD, kernel, &idx);
		if (!rc && !kernel)
			rc = chk_gtable(c, spage_links(c->sh, pdpt)[j], 2, eva);
		if (!rc && c->refs[idx] == 1)
			rc = chk_pd(c, idx, eva, kernel);
		if (rc)
			return rc;
	}
	return 0;
}

/* A root: the kernel slot must be the mirror, the fixed slot the VMM's,
 * the rest its own. */
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
		if (sh->cfg.fixed_entry && i == sh->cfg.fixed_slot) {
			if (e != sh->cfg.fixed_entry)
				return chk_fail(c, "root %u: fixed slot %#llx is not the VMM's",
						root, (unsigned long long)e);
			continue;
		}
		if (!(e & PTE_P))
			continue;
		if (kernel_only)
			return chk_fail(c, "the kernel-only root maps slot %u", i);
		rc = chk_link(c, e, va_make(i, 0, 0, 0), 4, SPAGE_PDPT, false, &idx);
		if (!rc)
			rc = chk_gtable(c, spage_links(sh, root)[i], 3, va_make(i, 0, 0, 0));
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
	uint64_t tag = 0, src;
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
		src = atomic_load_explicit(&p->pages[i].src, memory_order_relaxed);
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
		if ((kind == SPAGE_PMD || kind == SPAGE_PD || kind == SPAGE_KPMD) &&
		    (uint32_t)count != c->refs[i])
			return chk_fail(c, "%s page %u: count %d, %u links point at it",
					kind_name(kind), i, count, c->refs[i]);
		if (kind == SPAGE_PMD && count > 1 && src == SRC_MIXED && c->wref[i])
			return chk_fail(c,
					"pmd page %u: shared by copies, count %d, and a "
					"writable link",
					i, count);
		if ((kind == SPAGE_ROOT || kind == SPAGE_PDPT || kind == SPAGE_KROOT ||
		     kind == SPAGE_KPD) &&
		    c->refs[i] != 1)
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
	struct shadow *sh = c->sh;
	uint64_t i, gpa, frames = sh->cfg.mem_size >> PAGE_SHIFT;
	unsigned maps, links, level;

	for (i = 0; i < frames; i++) {
		gpa = sh->cfg.mem_gpa + (i << PAGE_SHIFT);
		maps = frame_maps(sh, gpa);
		links = frame_links(sh, gpa);
		level = frame_level(sh, gpa);
		if (maps != c->maps[i])
			return chk_fail(c, "frame %#llx: map count %u, %u leaves map it",
					(unsigned long long)gpa, maps, c->maps[i]);
		if (links != c->links[i])
			return chk_fail(c, "frame %#llx: link count %u, %u links stand for it",
					(unsigned long long)gpa, links, c->links[i]);
		if (links && level != c->level[i])
			return chk_fail(c, "frame %#llx: a level-%u table linked at level %u",
					(unsigned long long)gpa, level, c->level[i]);
		if (maps && (links || level == 5))
			return chk_fail(c, "frame %#llx: a page table mapped by %u user leaves",
					(unsigned long long)gpa, maps);
		if (level == 5 && links)
			return chk_fail(c, "frame %#llx: a kernel table linked from user slots",
					(unsigned long long)gpa);
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

/* The shadow translation at va (its bits over the whole walk: W and U
 * ANDed, NX ORed) is allowed by guest_root's walk. */
static int chk_sound(struct chk *c, uint64_t guest_root, uint64_t va, uint64_t upper, uint64_t e)
{
	uint64_t frame = e & PTE_FRAME;
	bool w = upper & e & PTE_W, u = upper & e & PTE_U, x = !((upper | e) & PTE_NX);
	struct gleaf l;
	int rc;

	rc = gwalk_va(c->sh, guest_root, va, &l);
	if (rc)
		return chk_fail(c, "va %#llx: shadow maps it, guest walk of %#llx fails (%d)",
				(unsigned long long)va, (unsigned long long)guest_root, rc);
	if (!l.present)
		return chk_fail(c, "va %#llx: shadow maps %#llx, guest does not map it",
				(unsigned long long)va, (unsigned long long)frame);
	if (l.frame != frame)
		return chk_fail(c, "va %#llx: shadow maps %#llx, guest maps %#llx",
				(unsigned long long)va, (unsigned long long)frame,
				(unsigned long long)l.frame);
	if ((w && !l.w) || (u && !l.u) || (x && !l.x))
		return chk_fail(c, "va %#llx: shadow %#llx (links %#llx) is wider than the guest's",
				(unsigned long long)va, (unsigned long long)e,
				(unsigned long long)upper);
	if (w && !(l.entry & PTE_D))
		return chk_fail(c, "va %#llx: shadow writable but the guest entry is clean",
				(unsigned long long)va);
	return 0;
}

/* Soundness of one address space's user slots. `upper` carries W and U
 * ANDed and NX ORed over the links above. */
static int chk_as_sound(struct chk *c, struct as *as)
{
	struct shadow *sh = c->sh;
	pte_t *root = spage_table(sh, as->root), *t3, *t2, *t1;
	uint64_t e4, e3, e2, e, u4, u3, u2, va;
	uint32_t i3, i2, i1;
	unsigned i, j, k, m;
	int rc;

	for (i = 0; i < PT_ENTRIES; i++) {
		if (i == sh->cfg.kernel_slot || (sh->cfg.fixed_entry && i == sh->cfg.fixed_slot))
			continue;
		e4 = pte_load(&root[i]);
		if (!spage_of(sh, e4, &i3))
			continue;
		u4 = e4 & (PTE_W | PTE_U | PTE_NX);
		t3 = spage_table(sh, i3);
		for (j = 0; j < PT_ENTRIES; j++) {
			e3 = pte_load(&t3[j]);
			if (!spage_of(sh, e3, &i2))
				continue;
			u3 = (u4 & e3 & (PTE_W | PTE_U)) | ((u4 | e3) & PTE_NX);
			t2 = spage_table(sh, i2);
			for (k = 0; k < PT_ENTRIES; k++) {
				e2 = pte_load(&t2[k]);
				if (!spage_of(sh, e2, &i1))
					continue;
				u2 = (u3 & e2 & (PTE_W | PTE_U)) | ((u3 | e2) & PTE_NX);
				t1 = spage_table(sh, i1);
				for (m = 0; m < PT_ENTRIES; m++) {
					e = pte_load(&t1[m]);
					if (!(e & PTE_P))
						continue;
					va = va_make(i, j, k, m);
					rc = chk_sound(c, as->guest_root, va, u2, e);
					if (rc)
						return rc;
				}
			}
		}
	}
	return 0;
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
	if (shadow_is_broken(sh))
		return chk_fail(&c, "%s", sh->broken_why);
	c.refs = calloc(sh->pool.npages, sizeof(*c.refs));
	c.wref = calloc(sh->pool.npages, 1);
	c.maps = calloc(frames, sizeof(*c.maps));
	c.links = calloc(frames, sizeof(*c.links));
	c.level = calloc(frames, 1);
	if (!c.refs || !c.wref || !c.maps || !c.links || !c.level)
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
		rc = chk_gtable(&c, as->guest_root, 4, 0);
		if (!rc)
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
	free(c.links);
	free(c.level);
	return rc;
}

/*
 * Soundness of one address space, while other calls run: under its lock,
 * its shadow is its own except for shared pages, whose entries change only
 * by fills that every sharer's guest entries allow. Plus: a writable link
 * to a pmd page shared with others points at a page that stands for the
 * guest table the link stands for (identity); pages shared by copies are
 * linked read-only.
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
	if (shadow_is_broken(sh))
		return chk_fail(&c, "%s", sh->broken_why);
	rc = as_lookup(sh, handle, &as);
	if (rc)
		return rc;
	root = spage_table(sh, as->root);
	for (i = 0; i < PT_ENTRIES && !rc; i++) {
		if (i == sh->cfg.kernel_slot || (sh->cfg.fixed_entry && i == sh->cfg.fixed_slot) ||
		    !spage_of(sh, pte_load(&root[i]), &idx))
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
				if (atomic_load_explicit(&sh->pool.pages[pmd].count,
							 memory_order_relaxed) > 1 &&
				    !spage_identity(sh, pmd, spage_links(sh, pdi)[k]))
					rc = chk_fail(&c,
						      "va %#llx: writable link to a pmd page "
						      "shared by copies",
						      (unsigned long long)va_make(i, j, k, 0));
			}
		}
	}
	if (!rc)
		rc = chk_as_sound(&c, as);
	as_unlock(as);
	return rc;
}
