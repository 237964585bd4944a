/*
 * Page tables, the part common to both back-ends (see paging.h): the
 * kernel map, walks, the changes to one address space (pg_*), fork and
 * teardown. Table pages are shared between address spaces with the
 * protocol of ptshare.h; docs/guest.md ("Shared page tables") walks
 * through it.
 */
#include "paging.h"
#include "console.h"
#include "cpu.h"
#include "kparam.h"
#include "mm.h"
#include "paging_backend.h"
#include "pgtable.h"
#include "platform.h"
#include "ptshare.h"
#include "uapi.h"
#include "x86.h"

/* What a sharing fork allocates: the child's root and its PDPT (user
 * space is PML4 slot 1), taken under one allocator lock. */
#define FORK_SHARE_PAGES 2

/* The kernel root, its PDPT (slot 0 of every address space) and its PDs.
 * boot.S fills the first entries to map the image; paging_init the rest.
 * Never changed after paging_init (paging_map_mmio aside, QEMU only). */
uint64_t kernel_pml4[512] __attribute__((aligned(4096)));
uint64_t kernel_pdpt[512] __attribute__((aligned(4096)));
uint64_t kernel_pd[KERNEL_MAP_GIB][512] __attribute__((aligned(4096)));

static const struct pg_backend *backend;

void paging_init(void)
{
	uint64_t end = mm_ram_end();
	if (end > (uint64_t)KERNEL_MAP_GIB << 30) {
		kprintf("paging: using only the first %d GiB of RAM\n", KERNEL_MAP_GIB);
		end = (uint64_t)KERNEL_MAP_GIB << 30;
	}
	for (uint64_t g = 0; g < end; g += HUGE_PGSIZE) {
		if (!mm_granule_mapped(g))
			continue;
		kernel_pd[g >> 30][pt_index(g, 2)] = g | PTE_P | PTE_W | PTE_PS;
		kernel_pdpt[g >> 30] = (uint64_t)kernel_pd[g >> 30] | PTE_P | PTE_W;
	}
	lcr3((uint64_t)kernel_pml4);
	backend = platform.shadow ? &pg_shadow : &pg_native;
}

void paging_map_mmio(uint64_t pa)
{
	if (platform.umbra)
		panic("paging_map_mmio on umbra");
	uint64_t g = pa & ~(HUGE_PGSIZE - 1);
	if (g >> 30 >= KERNEL_MAP_GIB)
		panic("paging_map_mmio: %lx is beyond the kernel map", pa);
	kernel_pd[g >> 30][pt_index(g, 2)] = g | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
	kernel_pdpt[g >> 30] = (uint64_t)kernel_pd[g >> 30] | PTE_P | PTE_W;
	lcr3(rcr3());
}

uint64_t paging_kernel_root(void)
{
	return (uint64_t)kernel_pml4;
}

const char *paging_backend_name(void)
{
	return backend->name;
}

int as_create(struct as *as)
{
	as->root = page_alloc();
	as->handle = 0;
	if (!as->root)
		return -ENOMEM;
	as->root[UMBRA_KERNEL_PML4_SLOT] = kernel_pml4[UMBRA_KERNEL_PML4_SLOT];
	int err = backend->create(as);
	if (err < 0) {
		as->root[UMBRA_KERNEL_PML4_SLOT] = 0;
		page_free_clean(as->root);
		as->root = 0;
	}
	return err;
}

uint64_t as_pte(const struct as *as, uint64_t va)
{
	if (va < USER_BASE || va >= USER_STACK_TOP)
		return 0;
	uint64_t *t = as->root, w = PTE_W;
	for (unsigned level = 4; level > 1; level--) {
		uint64_t e = t[pt_index(va, level)];
		if (!(e & PTE_P))
			return 0;
		w &= e;
		t = table_of(e);
	}
	return t[pt_index(va, 1)] & (~PTE_W | w);
}

bool as_hidden_fault(struct as *as, uint64_t va, uint64_t err)
{
	return backend->hidden_fault(as, va, err);
}

void as_load(struct cpu *c, struct as *as)
{
	if (c->loaded != as)
		backend->load(c, as);
}

void pg_begin(struct pg_batch *b, struct as *as, const struct vrange *r, unsigned nr)
{
	b->as = as;
	b->r = r;
	b->nr = nr;
	b->n = 0;
	b->nput = 0;
	b->linked = false;
}

/* Sets the entry *slot at `level` on the walk of va (flags: UMBRA_PT_*,
 * shadow only). */
static void set(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level, uint64_t value,
		uint32_t flags)
{
	if (b->n == PG_BATCH)
		pg_commit(b);
	if (flags)
		backend->set_wp_below(b, slot, va, level, value);
	else
		backend->set(b, slot, va, level, value);
}

/* After the commit: drop the reference of entry e (at `level`, mapping
 * from base); or, with seen > 0, the unsharer's reference on the table
 * it copied, having read count `seen`. */
static void defer_put(struct pg_batch *b, uint64_t e, unsigned level, uint64_t base, uint32_t seen)
{
	if (b->nput == PG_BATCH)
		pg_commit(b);
	b->put[b->nput++] = (struct pg_put){.entry = e, .base = base, .level = level, .seen = seen};
}

void pg_commit(struct pg_batch *b)
{
	backend->commit(b);
	b->linked = false;
	for (unsigned i = 0; i < b->nput; i++) {
		const struct pg_put *p = &b->put[i];
		if (!p->seen)
			ptshare_drop(p->entry, p->level, p->base, b->r, b->nr);
		else if (ptshare_unshare_put(p->entry & PTE_ADDR, p->seen))
			ptshare_release(table_of(p->entry), p->level - 1, p->base, b->r, b->nr);
	}
	b->nput = 0;
}

/*
 * Native in-place unshare of t (entries at `level`, mapping from base),
 * whose last sharer is b->as: W goes wherever a copy that an earlier
 * unsharer made may still map the same thing. At the leaves that is a
 * frame whose count is above 1; a frame only t maps stays writable. Above
 * them W goes from every entry: a PT back at count 1 may still map frames
 * that a copy of it maps, and its own in-place unshare, on the first
 * write there, sorts that out.
 */
static void wp_shared(uint64_t *t, unsigned level, uint64_t base, const struct vrange *r,
		      unsigned nr)
{
	unsigned next = 0, from, to;
	for (unsigned k = 0; k < nr; k++) {
		if (!range_slice(r, k, base, level, &next, &from, &to))
			continue;
		for (unsigned i = from; i < to; i++) {
			uint64_t e = t[i];
			if ((e & (PTE_P | PTE_W)) == (PTE_P | PTE_W) &&
			    (level > 1 || page_refs(e & PTE_ADDR) > 1))
				t[i] = e & ~PTE_W;
		}
	}
}

/* Copies t's entries (at `level`, mapping from base) into the fresh page
 * c, read-only, each with a reference on what it points at. */
static void copy_entries(uint64_t *c, const uint64_t *t, unsigned level, uint64_t base,
			 const struct vrange *r, unsigned nr)
{
	unsigned next = 0, from, to;
	for (unsigned k = 0; k < nr; k++) {
		if (!range_slice(r, k, base, level, &next, &from, &to))
			continue;
		for (unsigned i = from; i < to; i++) {
			uint64_t e = t[i];
			if (!e)
				continue;
			if (level == 1)
				page_get(e & PTE_ADDR);
			else
				page_ref_inc(e & PTE_ADDR);
			c[i] = e & ~PTE_W;
		}
	}
}

/*
 * The table under the present entry *slot (at `level` > 1, on the walk of
 * va), made private to b->as: as it is if the entry is writable; made
 * writable in place if b->as is its last sharer; else copied, and the copy
 * linked in its place (the old table is put after the commit). *wp says
 * whether a write-protect of all entries is pending (UMBRA_PT_WP_BELOW,
 * not yet applied) in *slot's table on entry, and in the returned one on
 * return. NULL if out of memory (nothing changed).
 */
static uint64_t *make_private(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level,
			      bool *wp)
{
	uint64_t e = *wp ? *slot & ~PTE_W : *slot, base = va & ~(entry_span(level) - 1);
	uint64_t *t = table_of(e);
	*wp = false;
	if (e & PTE_W)
		return t;
	/* the protocol's per-process lock: only the CPU that runs the
	 * process (and so has its address space loaded) unshares for it */
	if (mycpu()->loaded != b->as)
		panic("unshare in an address space not loaded on this CPU");
	uint32_t seen = ptshare_unshare_count((uint64_t)t);
	if (seen == 1) {
		ptshare_unshare_inplace();
		if (backend->writes_tables) {
			wp_shared(t, level - 1, base, b->r, b->nr);
			set(b, slot, va, level, e | PTE_W, 0);
		} else {
			set(b, slot, va, level, e | PTE_W, UMBRA_PT_WP_BELOW);
			*wp = true;
		}
		return t;
	}
	uint64_t *c = page_alloc();
	if (!c)
		return 0;
	copy_entries(c, t, level - 1, base, b->r, b->nr);
	set(b, slot, va, level, (uint64_t)c | (e & ~PTE_ADDR) | PTE_W, 0);
	defer_put(b, e, level, base, seen);
	return c;
}

/* A fresh empty table linked at the missing entry *slot (at `level`, on
 * the walk of va); NULL if out of memory. */
static uint64_t *new_table(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level)
{
	uint64_t *t = page_alloc();
	if (!t)
		return 0;
	set(b, slot, va, level, (uint64_t)t | PTE_TABLE, 0);
	b->linked = true;
	return t;
}

int pg_prepare(struct pg_batch *b, uint64_t va, uint64_t **slot, uint64_t *pte)
{
	uint64_t *t = b->as->root;
	bool wp = false;
	for (unsigned level = 4; level > 1; level--) {
		uint64_t *s = &t[pt_index(va, level)];
		if (*s & PTE_P) {
			t = make_private(b, s, va, level, &wp);
		} else {
			t = new_table(b, s, va, level);
			wp = false;
		}
		if (!t)
			return -ENOMEM;
	}
	*slot = &t[pt_index(va, 1)];
	*pte = wp ? **slot & ~PTE_W : **slot;
	return 0;
}

void pg_set_leaf(struct pg_batch *b, uint64_t *slot, uint64_t va, uint64_t pte)
{
	set(b, slot, va, 1, pte, 0);
}

void pg_put_frame(struct pg_batch *b, uint64_t pa)
{
	defer_put(b, pa, 1, 0, 0);
}

int pg_map(struct pg_batch *b, uint64_t va, uint64_t pte)
{
	uint64_t *slot, old;
	int err = pg_prepare(b, va, &slot, &old);
	if (err == 0)
		pg_set_leaf(b, slot, va, pte);
	/* a table linked but not yet committed is invisible to the next walk */
	if (b->linked)
		pg_commit(b);
	return err;
}

/* Whether all that b's ranges reach of [base, base + size) lies in [start, end). */
static bool gone(const struct pg_batch *b, uint64_t base, uint64_t size, uint64_t start,
		 uint64_t end)
{
	for (unsigned k = 0; k < b->nr; k++) {
		uint64_t s = b->r[k].start > base ? b->r[k].start : base;
		uint64_t e = b->r[k].end < base + size ? b->r[k].end : base + size;
		if (s < e && (s < start || e > end))
			return false;
	}
	return true;
}

/* Unmaps [start, end) from the private table t (entries at `level`,
 * mapping from base; wp as for make_private). */
static int unmap_table(struct pg_batch *b, uint64_t *t, unsigned level, uint64_t base, bool wp,
		       uint64_t start, uint64_t end)
{
	uint64_t span = entry_span(level);
	unsigned from = pt_index(start > base ? start : base, level);
	unsigned to = pt_index((end < base + 512 * span ? end : base + 512 * span) - 1, level) + 1;
	for (unsigned i = from; i < to; i++) {
		uint64_t e = t[i], eb = base + i * span;
		if (!(e & PTE_P))
			continue;
		if (level == 1 || gone(b, eb, span, start, end)) {
			set(b, &t[i], eb, level, 0, 0);
			defer_put(b, e, level, eb, 0);
			continue;
		}
		bool cwp = wp;
		uint64_t *c = make_private(b, &t[i], eb, level, &cwp);
		if (!c)
			return -ENOMEM;
		int err = unmap_table(b, c, level - 1, eb, cwp, start, end);
		if (err < 0)
			return err;
	}
	return 0;
}

int pg_unmap(struct pg_batch *b, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0; /* unmap_table's bounds need a page in the range */
	int err = unmap_table(b, b->as->root, 4, 0, false, start, end);
	pg_commit(b);
	return err;
}

void as_destroy(struct as *as, const struct vrange *r, unsigned nr)
{
	backend->destroy(as);
	as->root[UMBRA_KERNEL_PML4_SLOT] = 0;
	if (page_ref_dec((uint64_t)as->root) != 1)
		panic("as_destroy: root %p is shared", (void *)as->root);
	ptshare_release(as->root, 4, 0, r, nr);
	as->root = 0;
	as->handle = 0;
}

/* Fork state: the ranges, pages reserved for the child's tables, and
 * whether the kernel write-protects the parent's entries (native) or the
 * VMM does (shadow: AS_FORK). */
struct fork_state {
	const struct vrange *r;
	unsigned nr;
	struct page_list spare;
	bool wp_parent;
};

static uint64_t *fork_page(struct fork_state *f)
{
	return f->spare.n ? page_list_take(&f->spare) : page_alloc();
}

/*
 * Whether the child gets a copy of the parent's table under an entry at
 * `level` rather than sharing it. A PDPT page belongs to one address
 * space. Copying a sparse PD or PT (the program image's, the stack's)
 * instead of sharing it was measured slower at fork and no faster after
 * it (docs/guest.md), so with ptshare every PD is shared.
 */
static bool fork_copies(unsigned level)
{
	return level == 4 || !kparams.ptshare;
}

static int fork_table(struct fork_state *f, uint64_t *pt, uint64_t *ct, unsigned level,
		      uint64_t base);

/*
 * The child's entry *ce for the parent's present entry *pe (at `level` >
 * 1, mapping from base): the same table, shared (read-only in the child;
 * the parent's entry made read-only too if it was the only one), or a
 * fresh copy.
 */
static int fork_entry(struct fork_state *f, uint64_t *pe, uint64_t *ce, unsigned level,
		      uint64_t base)
{
	uint64_t e = *pe, *t = table_of(e);
	if (!fork_copies(level)) {
		if (ptshare_share((uint64_t)t) == 1 && f->wp_parent)
			*pe = e & ~PTE_W;
		*ce = e & ~PTE_W;
		return 0;
	}
	uint64_t *c = fork_page(f);
	if (!c)
		return -ENOMEM;
	*ce = (uint64_t)c | (e & ~PTE_ADDR);
	if (level < 4)
		atomic_fetch_add(&ptstats.fork_copied, 1);
	return fork_table(f, t, c, level - 1, base);
}

/* Copies the parent's table pt (entries at `level`, mapping from base)
 * into the child's fresh ct, over the ranges. Leaves are copied
 * write-protected, each with a reference on its frame. */
static int fork_table(struct fork_state *f, uint64_t *pt, uint64_t *ct, unsigned level,
		      uint64_t base)
{
	uint64_t span = entry_span(level);
	unsigned next = 0, from, to;
	for (unsigned k = 0; k < f->nr; k++) {
		if (!range_slice(f->r, k, base, level, &next, &from, &to))
			continue;
		for (unsigned i = from; i < to; i++) {
			uint64_t e = pt[i];
			if (!e)
				continue;
			if (level > 1) {
				int err = fork_entry(f, &pt[i], &ct[i], level, base + i * span);
				if (err < 0)
					return err;
				continue;
			}
			if (e & PTE_W) {
				e &= ~PTE_W;
				if (f->wp_parent)
					pt[i] = e;
			}
			page_get(e & PTE_ADDR);
			ct[i] = e;
		}
	}
	return 0;
}

int as_fork(struct as *parent, struct as *child, const struct vrange *r, unsigned nr)
{
	struct fork_state f = {.r = r, .nr = nr, .wp_parent = backend->writes_tables};
	int err = -ENOMEM;
	/* a copying fork, or a short reserve, takes its pages one by one */
	page_list_alloc(&f.spare, kparams.ptshare ? FORK_SHARE_PAGES : 0);
	child->handle = 0;
	child->root = fork_page(&f);
	if (child->root) {
		child->root[UMBRA_KERNEL_PML4_SLOT] = parent->root[UMBRA_KERNEL_PML4_SLOT];
		err = fork_table(&f, parent->root, child->root, 4, 0);
	}
	page_list_free(&f.spare);
	if (f.wp_parent)
		backend->flush(parent);
	if (err == 0)
		err = backend->fork(parent, child);
	if (err < 0 && child->root) {
		child->root[UMBRA_KERNEL_PML4_SLOT] = 0;
		page_ref_dec((uint64_t)child->root);
		ptshare_release(child->root, 4, 0, r, nr);
		child->root = 0;
	}
	return err;
}
