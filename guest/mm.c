/* Physical memory (see mm.h). */
#include <stdatomic.h>

#include "mm.h"
#include "console.h"
#include "lib.h"
#include "pageops.h"
#include "spinlock.h"
#include "uapi.h"
#include "x86.h"

#define RANGES_MAX 64

static struct memrange memmap[MEMMAP_MAX];
static unsigned nmemmap;

/*
 * mm_spin protects the free lists, the bump ranges and the counters. Each
 * free list links its pages through their first qword. Never-used RAM is
 * handed out from the bump ranges; it is zero because the machine is new
 * (umbra and QEMU give a guest zeroed RAM, and nothing but the image,
 * below the ranges, is loaded into it), which page_alloc checks on each
 * such page's first and last qword.
 */
static struct spinlock mm_spin = SPINLOCK_INIT("mm");
static uint64_t clean_list, dirty_list;
static struct {
	uint64_t next, end;
} ranges[RANGES_MAX];
static unsigned nranges, cur_range;
static uint64_t pages_used, pages_free;

/* Reference counts, indexed by frame number; atomic, not locked. */
static atomic_uint *refs;
static uint64_t nframes;

void mm_set_map(const struct memrange *map, unsigned n)
{
	nmemmap = n < MEMMAP_MAX ? n : MEMMAP_MAX;
	memcpy(memmap, map, nmemmap * sizeof(*map));
}

bool mm_granule_mapped(uint64_t base)
{
	uint64_t end = base + HUGE_PGSIZE;
	bool ram = false;
	if (base >= (uint64_t)KERNEL_MAP_GIB << 30)
		return false;
	for (unsigned i = 0; i < nmemmap; i++) {
		const struct memrange *m = &memmap[i];
		if (m->start >= end || m->end <= base)
			continue;
		if (m->type == MEM_RAM)
			ram = true;
		else if (m->end > 0x100000)
			return false;
	}
	return ram;
}

uint64_t mm_ram_end(void)
{
	uint64_t end = 0;
	for (unsigned i = 0; i < nmemmap; i++)
		if (memmap[i].type == MEM_RAM && memmap[i].end > end)
			end = memmap[i].end;
	return end;
}

bool mm_is_ram(uint64_t pa, uint64_t len)
{
	if (pa + len < pa)
		return false;
	for (unsigned i = 0; i < nmemmap; i++) {
		const struct memrange *m = &memmap[i];
		if (m->type == MEM_RAM && pa >= m->start && pa + len <= m->end)
			return mm_granule_mapped(pa & ~(HUGE_PGSIZE - 1)) &&
			       mm_granule_mapped((pa + len - 1) & ~(HUGE_PGSIZE - 1));
	}
	return false;
}

static void add_range(uint64_t start, uint64_t end)
{
	start = PG_ROUNDUP(start);
	end = PG_ROUNDDOWN(end);
	if (start >= end)
		return;
	if (nranges == RANGES_MAX) {
		kprintf("mm: more than %d RAM ranges; ignoring %lx-%lx\n", RANGES_MAX, start, end);
		return;
	}
	ranges[nranges].next = start;
	ranges[nranges].end = end;
	nranges++;
	pages_free += (end - start) / PGSIZE;
}

void mm_init(uint64_t kernel_end)
{
	uint64_t floor = kernel_end > 0x100000 ? kernel_end : 0x100000;
	/* Free RAM: the parts of RAM ranges above the image that lie in mapped granules. */
	for (unsigned i = 0; i < nmemmap; i++) {
		const struct memrange *m = &memmap[i];
		if (m->type != MEM_RAM || m->end <= floor)
			continue;
		uint64_t start = m->start > floor ? m->start : floor;
		uint64_t run = start;
		for (uint64_t g = start & ~(HUGE_PGSIZE - 1); g < m->end; g += HUGE_PGSIZE) {
			if (mm_granule_mapped(g))
				continue;
			add_range(run, g > run ? g : run);
			run = g + HUGE_PGSIZE;
		}
		if (run < m->end)
			add_range(run, m->end);
	}
	if (nranges == 0)
		panic("mm: no RAM above the kernel image (%lx)", kernel_end);
	/* The reference counts take the first pages of the first range. */
	nframes = mm_ram_end() / PGSIZE;
	uint64_t bytes = PG_ROUNDUP(nframes * sizeof(*refs));
	if (ranges[0].end - ranges[0].next < bytes)
		panic("mm: no room for %lu reference counts", nframes);
	refs = (atomic_uint *)ranges[0].next;
	ranges[0].next += bytes;
	pages_free -= bytes / PGSIZE;
	fill_qwords(refs, 0, bytes / 8);
}

static atomic_uint *ref_of(uint64_t pa, const char *who)
{
	if ((pa & (PGSIZE - 1)) || pa / PGSIZE >= nframes)
		panic("%s: bad frame %lx", who, pa);
	return &refs[pa / PGSIZE];
}

enum page_kind {
	PAGE_CLEAN, /* from the clean list or never used: zero */
	PAGE_DIRTY, /* from the dirty list: old contents */
	PAGE_NONE,
};

static uint64_t pop(uint64_t *list)
{
	uint64_t pa = *list;
	if (pa)
		*list = *(uint64_t *)pa;
	return pa;
}

static uint64_t bump(void)
{
	while (cur_range < nranges && ranges[cur_range].next >= ranges[cur_range].end)
		cur_range++;
	if (cur_range == nranges)
		return 0;
	uint64_t pa = ranges[cur_range].next;
	ranges[cur_range].next += PGSIZE;
	uint64_t *p = (uint64_t *)pa;
	if (p[0] || p[PGSIZE / 8 - 1])
		panic("page_alloc: RAM at %lx was not zero at boot", pa);
	return pa;
}

/* Takes a free page, dirty ones first if prefer_dirty; *kind says
 * which. Caller holds mm_spin. */
static uint64_t take_locked(bool prefer_dirty, enum page_kind *kind)
{
	uint64_t pa = 0;
	*kind = PAGE_NONE;
	if (prefer_dirty && (pa = pop(&dirty_list)))
		*kind = PAGE_DIRTY;
	else if ((pa = pop(&clean_list)) || (pa = bump()))
		*kind = PAGE_CLEAN;
	else if ((pa = pop(&dirty_list)))
		*kind = PAGE_DIRTY;
	if (pa) {
		pages_used++;
		pages_free--;
	}
	return pa;
}

/* Gives a page just taken its count of 1 and, unless dirty is allowed,
 * zero contents. */
static void *ready(uint64_t pa, enum page_kind kind, bool dirty_ok)
{
	uint64_t *p = (uint64_t *)pa;
	if (!pa)
		return 0;
	atomic_uint *ref = ref_of(pa, "page_alloc");
	if (atomic_load_explicit(ref, memory_order_relaxed) != 0)
		panic("page_alloc: free frame %lx has a reference", pa);
	atomic_store_explicit(ref, 1, memory_order_relaxed);
	if (kind == PAGE_DIRTY && !dirty_ok) {
		page_clear(p);
	} else if (kind == PAGE_CLEAN) {
		p[0] = 0; /* the list link */
		if (p[PGSIZE / 8 - 1])
			panic("page_alloc: clean page %p was written to while free", (void *)p);
	}
	return p;
}

void *page_alloc(void)
{
	enum page_kind kind;
	spin_lock(&mm_spin);
	uint64_t pa = take_locked(false, &kind);
	spin_unlock(&mm_spin);
	return ready(pa, kind, false);
}

void *page_alloc_dirty(void)
{
	enum page_kind kind;
	spin_lock(&mm_spin);
	uint64_t pa = take_locked(true, &kind);
	spin_unlock(&mm_spin);
	return ready(pa, kind, true);
}

void page_get(uint64_t pa)
{
	if (atomic_fetch_add(ref_of(pa, "page_get"), 1) == 0)
		panic("page_get: frame %lx is free", pa);
}

/* Puts a free page on a list. Caller holds mm_spin. */
static void push_locked(uint64_t *list, uint64_t pa)
{
	*(uint64_t *)pa = *list;
	*list = pa;
	pages_used--;
	pages_free++;
}

static void push(uint64_t *list, uint64_t pa)
{
	spin_lock(&mm_spin);
	push_locked(list, pa);
	spin_unlock(&mm_spin);
}

void page_put(uint64_t pa)
{
	unsigned old = atomic_fetch_sub(ref_of(pa, "page_put"), 1);
	if (old == 0)
		panic("page_put: frame %lx is already free", pa);
	if (old == 1)
		push(&dirty_list, pa);
}

void page_free_clean(void *page)
{
	uint64_t pa = (uint64_t)page;
	unsigned old = atomic_exchange(ref_of(pa, "page_free_clean"), 0);
	if (old != 1)
		panic("page_free_clean: frame %lx has count %u", pa, old);
	push(&clean_list, pa);
}

uint32_t page_ref_inc(uint64_t pa)
{
	uint32_t old = atomic_fetch_add(ref_of(pa, "page_ref_inc"), 1);
	if (old == 0)
		panic("page_ref_inc: frame %lx is free", pa);
	return old;
}

uint32_t page_ref_dec(uint64_t pa)
{
	uint32_t old = atomic_fetch_sub(ref_of(pa, "page_ref_dec"), 1);
	if (old == 0)
		panic("page_ref_dec: frame %lx is already free", pa);
	return old;
}

void page_free_table(void *page)
{
	uint64_t pa = (uint64_t)page;
	uint32_t n = atomic_load(ref_of(pa, "page_free_table"));
	if (n != 0)
		panic("page_free_table: frame %lx has count %u", pa, n);
	push(&clean_list, pa);
}

uint32_t page_refs(uint64_t pa)
{
	return atomic_load(ref_of(pa, "page_refs"));
}

uint64_t mm_pages_used(void)
{
	spin_lock(&mm_spin);
	uint64_t n = pages_used;
	spin_unlock(&mm_spin);
	return n;
}

uint64_t mm_pages_free(void)
{
	spin_lock(&mm_spin);
	uint64_t n = pages_free;
	spin_unlock(&mm_spin);
	return n;
}

int page_list_alloc(struct page_list *l, unsigned n)
{
	uint64_t taken[PAGE_LIST_MAX];
	enum page_kind kind[PAGE_LIST_MAX];
	unsigned got = 0;
	if (n > PAGE_LIST_MAX)
		panic("page_list_alloc: %u pages is more than %u", n, PAGE_LIST_MAX);
	/* one lock for all, then the fills (if any) without it */
	spin_lock(&mm_spin);
	while (got < n && (taken[got] = take_locked(false, &kind[got])))
		got++;
	if (got < n)
		while (got > 0) {
			got--;
			push_locked(kind[got] == PAGE_CLEAN ? &clean_list : &dirty_list,
				    taken[got]);
		}
	spin_unlock(&mm_spin);
	l->head = 0;
	l->n = 0;
	if (got < n)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		uint64_t *p = ready(taken[i], kind[i], false);
		p[0] = l->head;
		l->head = (uint64_t)p;
		l->n++;
	}
	return 0;
}

void *page_list_take(struct page_list *l)
{
	if (!l->n)
		panic("page_list_take: empty list");
	uint64_t *p = (uint64_t *)l->head;
	l->head = p[0];
	p[0] = 0;
	l->n--;
	return p;
}

void page_list_free(struct page_list *l)
{
	if (!l->n)
		return;
	spin_lock(&mm_spin);
	while (l->n) {
		uint64_t *p = (uint64_t *)l->head;
		l->head = p[0];
		p[0] = 0;
		l->n--;
		atomic_uint *ref = ref_of((uint64_t)p, "page_list_free");
		if (atomic_exchange(ref, 0) != 1)
			panic("page_list_free: page %p is referenced", (void *)p);
		push_locked(&clean_list, (uint64_t)p);
	}
	spin_unlock(&mm_spin);
}
