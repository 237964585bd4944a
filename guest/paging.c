/*
 * Page tables, the part common to both back-ends (see paging.h): the
 * kernel map, walks, pg_map, and the fork-time copy.
 */
#include "paging.h"
#include "console.h"
#include "cpu.h"
#include "mm.h"
#include "paging_backend.h"
#include "platform.h"
#include "uapi.h"
#include "x86.h"

#define PTE_TABLE (PTE_P | PTE_W | PTE_U) /* a user table: the leaves decide */

/* The kernel root, its PDPT (slot 0 of every address space) and its PDs.
 * boot.S fills the first entries to map the image; paging_init the rest.
 * Never changed after paging_init (paging_map_mmio aside, QEMU only). */
uint64_t kernel_pml4[512] __attribute__((aligned(4096)));
uint64_t kernel_pdpt[512] __attribute__((aligned(4096)));
uint64_t kernel_pd[KERNEL_MAP_GIB][512] __attribute__((aligned(4096)));

static const struct pg_backend *backend;

static inline unsigned pt_index(uint64_t va, unsigned level)
{
	return (va >> (PGSHIFT + 9 * (level - 1))) & 511;
}

/* Bytes mapped by one entry at `level`. */
static inline uint64_t entry_span(unsigned level)
{
	return 1ull << (PGSHIFT + 9 * (level - 1));
}

static inline uint64_t *table_of(uint64_t entry)
{
	return (uint64_t *)(entry & PTE_ADDR);
}

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
	as->tables = 1;
	if (!as->root)
		return -ENOMEM;
	as->root[UMBRA_KERNEL_PML4_SLOT] = kernel_pml4[UMBRA_KERNEL_PML4_SLOT];
	int err = backend->create(as);
	if (err < 0) {
		page_put((uint64_t)as->root);
		as->root = 0;
	}
	return err;
}

uint64_t *as_leaf(const struct as *as, uint64_t va)
{
	if (va < USER_BASE || va >= USER_STACK_TOP)
		return 0;
	uint64_t *t = as->root;
	for (unsigned level = 4; level > 1; level--) {
		uint64_t e = t[pt_index(va, level)];
		if (!(e & PTE_P))
			return 0;
		t = table_of(e);
	}
	return &t[pt_index(va, 1)];
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

void pg_begin(struct pg_batch *b, struct as *as)
{
	b->as = as;
	b->n = 0;
}

/*
 * The tables at `level` and below that va needs are missing, under the
 * empty entry *slot. Builds them in fresh pages (not yet part of the
 * tree, so written directly in both back-ends), puts pte in the new PT and
 * links the new chain with one update, committed at once so that later
 * walks find it.
 */
static int map_new_tables(struct pg_batch *b, uint64_t *slot, unsigned level, uint64_t va,
			  uint64_t pte)
{
	uint64_t *chain[3], *t;
	unsigned n = level - 1;
	for (unsigned i = 0; i < n; i++) {
		chain[i] = page_alloc();
		if (!chain[i]) {
			while (i-- > 0)
				page_put((uint64_t)chain[i]);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i + 1 < n; i++)
		chain[i][pt_index(va, level - 1 - i)] = (uint64_t)chain[i + 1] | PTE_TABLE;
	t = chain[n - 1];
	t[pt_index(va, 1)] = pte;
	b->as->tables += n;
	backend->set(b, slot, va, level, (uint64_t)chain[0] | PTE_TABLE);
	backend->commit(b);
	return 0;
}

int pg_map(struct pg_batch *b, uint64_t va, uint64_t pte)
{
	uint64_t *t = b->as->root;
	for (unsigned level = 4; level > 1; level--) {
		uint64_t *slot = &t[pt_index(va, level)];
		if (!(*slot & PTE_P))
			return map_new_tables(b, slot, level, va, pte);
		t = table_of(*slot);
	}
	backend->set(b, &t[pt_index(va, 1)], va, 1, pte);
	return 0;
}

void pg_set_leaf(struct pg_batch *b, uint64_t *slot, uint64_t va, uint64_t pte)
{
	backend->set(b, slot, va, 1, pte);
}

void pg_commit(struct pg_batch *b)
{
	backend->commit(b);
}

/* Whether a range after r[k] reaches the span [base, base + size). */
static bool reached_later(uint64_t base, uint64_t size, const struct vrange *r, unsigned nr,
			  unsigned k)
{
	for (unsigned j = k + 1; j < nr; j++)
		if (r[j].start < base + size && base < r[j].end)
			return true;
	return false;
}

/*
 * Tears down what the table t (at `level`) maps of [start, end), a part of
 * range r[k]: drops the leaves' frame references, clears every entry it
 * passes, and frees each table below that no later range reaches (earlier
 * ranges have been torn down already, so that table is empty now). One
 * pass per range.
 */
static void teardown(uint64_t *t, unsigned level, uint64_t start, uint64_t end,
		     const struct vrange *r, unsigned nr, unsigned k)
{
	unsigned from = pt_index(start, level), to = pt_index(end - 1, level) + 1;
	if (level == 1) {
		for (unsigned i = from; i < to; i++)
			if (t[i]) {
				page_put(t[i] & PTE_ADDR);
				t[i] = 0;
			}
		return;
	}
	uint64_t span = entry_span(level);
	for (uint64_t i = from, va = start, next; i < to; i++, va = next) {
		next = (va | (span - 1)) + 1;
		if (next > end)
			next = end;
		if (!t[i])
			continue;
		uint64_t *below = table_of(t[i]);
		teardown(below, level - 1, va, next, r, nr, k);
		if (!reached_later(va & ~(span - 1), span, r, nr, k)) {
			page_free_clean(below);
			t[i] = 0;
		}
	}
}

/* Frees all tables and frame references of an unregistered tree; each
 * table is empty when it is freed, because all user entries lie in the
 * ranges. */
static void free_tree(uint64_t *root, const struct vrange *r, unsigned nr)
{
	for (unsigned k = 0; k < nr; k++)
		if (r[k].start < r[k].end)
			teardown(root, 4, r[k].start, r[k].end, r, nr, k);
	root[UMBRA_KERNEL_PML4_SLOT] = 0;
	page_free_clean(root);
}

void as_destroy(struct as *as, const struct vrange *r, unsigned nr)
{
	backend->destroy(as);
	free_tree(as->root, r, nr);
	as->root = 0;
	as->handle = 0;
}

/* Fork state: the spare pages reserved for table copies. */
struct fork_copy {
	struct page_list spare;
	bool wp_parent;
};

/*
 * The child's table under its entry i, for the parent's table under pt[i]:
 * a fresh (zero) page the first time. The copy is sparse: entries are
 * filled as the ranges are walked, and all user entries lie in the ranges.
 */
static uint64_t *dup_entry(struct fork_copy *f, const uint64_t *pt, uint64_t *ct, unsigned i)
{
	if (!ct[i])
		ct[i] = (uint64_t)page_list_take(&f->spare) | (pt[i] & ~PTE_ADDR);
	return table_of(ct[i]);
}

/* Copies the leaves [from, to) of a PT, write-protected, and references
 * their frames. */
static void fork_leaves(struct fork_copy *f, uint64_t *pp, uint64_t *cp, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		uint64_t e = pp[i];
		if (!e)
			continue;
		if (e & PTE_W) {
			e &= ~PTE_W;
			if (f->wp_parent)
				pp[i] = e;
		}
		cp[i] = e;
		page_get(e & PTE_ADDR);
	}
}

static void fork_range(struct fork_copy *f, uint64_t *proot, uint64_t *croot, uint64_t start,
		       uint64_t end)
{
	for (uint64_t va = start, next; va < end; va = next) {
		uint64_t *pt = proot, *ct = croot;
		unsigned level;
		for (level = 4; level > 1; level--) {
			unsigned i = pt_index(va, level);
			if (!(pt[i] & PTE_P))
				break;
			ct = dup_entry(f, pt, ct, i);
			pt = table_of(pt[i]);
		}
		/* level > 1: nothing mapped under the missing entry; skip its span */
		uint64_t span = entry_span(level > 1 ? level : 2);
		next = (va | (span - 1)) + 1;
		if (next > end)
			next = end;
		if (level == 1)
			fork_leaves(f, pt, ct, pt_index(va, 1), pt_index(next - 1, 1) + 1);
	}
}

int as_fork(struct as *parent, struct as *child, const struct vrange *r, unsigned nr)
{
	/* Reserve the child's tables: as many as the parent has. */
	struct fork_copy f = {.wp_parent = backend->fork_wp_parent};
	if (page_list_alloc(&f.spare, parent->tables) < 0)
		return -ENOMEM;
	child->root = page_list_take(&f.spare);
	child->handle = 0;
	child->root[UMBRA_KERNEL_PML4_SLOT] = parent->root[UMBRA_KERNEL_PML4_SLOT];
	for (unsigned i = 0; i < nr; i++)
		if (r[i].start < r[i].end)
			fork_range(&f, parent->root, child->root, r[i].start, r[i].end);
	if (f.spare.n)
		panic("fork: %u of the parent's %u tables lie outside its ranges", f.spare.n,
		      parent->tables);
	child->tables = parent->tables;
	int err = backend->fork(parent, child);
	if (err < 0) {
		free_tree(child->root, r, nr);
		child->root = 0;
	}
	return err;
}
