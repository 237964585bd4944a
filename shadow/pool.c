/*
 * The shadow pool: the pages of guest-physical memory that hold shadow
 * tables, a free list, and the limbo where freed pages wait for a flush.
 *
 * Allocation is two-step so that every operation can be all-or-nothing:
 * pool_reserve() promises n pages or fails having changed nothing, and
 * pool_take() then cannot fail. What is left of a reservation goes back
 * with pool_unreserve().
 */
#include <config.h> /* MAP_ANONYMOUS under -std=c11 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

int pool_init(struct shadow *sh)
{
	struct pool *p = &sh->pool;
	uint32_t i;

	p->npages = (uint32_t)(sh->cfg.pool_size >> PAGE_SHIFT);
	p->pages = calloc(p->npages, sizeof(*p->pages));
	if (!p->pages)
		return -ENOMEM;
	/* Reserved, not committed: only upper-level pages touch theirs. */
	p->links = mmap(NULL, (size_t)p->npages * PT_ENTRIES * sizeof(*p->links),
			PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->links == MAP_FAILED) {
		free(p->pages);
		return -ENOMEM;
	}
	/*
	 * One pool page's links fill exactly one 4 KiB page of this array. A
	 * transparent huge page would commit and clear 512 pages' worth at a
	 * page's first use: measured nested (L1 under QEMU TCG, perf), two
	 * such clears were 11 ms of a 1 GiB parent's AS_FORK; without them
	 * the call took 3.5-4.2 ms instead of 10-14. Failure only costs that.
	 */
	(void)madvise((void *)p->links, (size_t)p->npages * PT_ENTRIES * sizeof(*p->links),
		      MADV_NOHUGEPAGE);
	if (pthread_mutex_init(&p->lock, NULL)) {
		munmap((void *)p->links, (size_t)p->npages * PT_ENTRIES * sizeof(*p->links));
		free(p->pages);
		return -ENOMEM;
	}
	for (i = 0; i < p->npages; i++) {
		atomic_store_explicit(&p->pages[i].kind, SPAGE_FREE, memory_order_relaxed);
		p->pages[i].next = i + 1 < p->npages ? i + 1 : NIL;
	}
	p->free_head = 0;
	p->nfree = p->npages;
	p->limbo_head = p->limbo_tail = NIL;
	memset(sh->mem + (sh->cfg.pool_gpa - sh->cfg.mem_gpa), 0, sh->cfg.pool_size);
	return 0;
}

void pool_fini(struct shadow *sh)
{
	pthread_mutex_destroy(&sh->pool.lock);
	munmap((void *)sh->pool.links,
	       (size_t)sh->pool.npages * PT_ENTRIES * sizeof(*sh->pool.links));
	free(sh->pool.pages);
}

pte_t *spage_table(const struct shadow *sh, uint32_t idx)
{
	return (pte_t *)(sh->mem + (sh->cfg.pool_gpa - sh->cfg.mem_gpa) +
			 ((uint64_t)idx << PAGE_SHIFT));
}

uint64_t spage_gpa(const struct shadow *sh, uint32_t idx)
{
	return sh->cfg.pool_gpa + ((uint64_t)idx << PAGE_SHIFT);
}

/* The guest frame each link of upper-level page idx stands for. */
_Atomic uint64_t *spage_links(const struct shadow *sh, uint32_t idx)
{
	return &sh->pool.links[(size_t)idx * PT_ENTRIES];
}

/* Taken by the current call of this thread's vCPU: no vCPU can have walked
 * it yet, so it may change in place whatever the flush mode. */
bool spage_fresh(const struct shadow *sh, uint32_t idx)
{
	return stats_actor.sh == sh && sh->pool.pages[idx].born == stats_actor.call;
}

uint8_t spage_kind(struct shadow *sh, uint32_t idx)
{
	return atomic_load_explicit(&sh->pool.pages[idx].kind, memory_order_relaxed);
}

/* The pool page a shadow table entry points at. False if the entry is not
 * present or does not point into the pool (only a corrupted shadow would;
 * the checker reports it). */
bool spage_of(const struct shadow *sh, uint64_t entry, uint32_t *idx)
{
	uint64_t gpa = entry & PTE_FRAME;

	if (!(entry & PTE_P) || gpa < sh->cfg.pool_gpa || gpa >= sh->pool_end)
		return false;
	*idx = (uint32_t)((gpa - sh->cfg.pool_gpa) >> PAGE_SHIFT);
	return true;
}

/*
 * spage_of() for an entry read back from a table of ours that must point
 * at a page of `kind`: false if it is not present. Pointing outside the
 * pool or at a page of another kind is a corrupted shadow (reported, and
 * false): the kinds are ours, so a walk that checks them cannot loop.
 */
bool spage_of_kind(struct shadow *sh, uint64_t entry, enum spage_kind kind, uint32_t *idx)
{
	if (!(entry & PTE_P))
		return false;
	if (!spage_of(sh, entry, idx)) {
		shadow_corrupt(sh, "a shadow link %#llx points outside the pool",
			       (unsigned long long)entry);
		return false;
	}
	if (spage_kind(sh, *idx) != kind) {
		shadow_corrupt(sh, "a shadow link %#llx points at a page of the wrong kind",
			       (unsigned long long)entry);
		return false;
	}
	return true;
}

/*
 * Promises n more pages to r, all or none. When the free list is short
 * but pages wait in limbo, asks the VMM to flush (cfg.flush, called with
 * no lock of ours but the caller's address-space lock) and tries once more.
 * Returns 0, -ENOMEM, or the flush callback's error; r is unchanged on
 * failure.
 */
int pool_reserve(struct shadow *sh, struct resv *r, unsigned n)
{
	struct pool *p = &sh->pool;
	bool flushed = false;
	uint32_t limbo;
	int rc;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->nfree - p->reserved >= n) {
			p->reserved += n;
			pthread_mutex_unlock(&p->lock);
			r->n += n;
			return 0;
		}
		limbo = p->nlimbo;
		pthread_mutex_unlock(&p->lock);
		if (limbo == 0 || !sh->cfg.flush || flushed)
			break;
		rc = sh->cfg.flush(sh->cfg.flush_arg);
		if (rc < 0) {
			STAT_INC(sh, alloc_failures);
			return rc;
		}
		flushed = true;
	}
	STAT_INC(sh, alloc_failures);
	return -ENOMEM;
}

static void pool_note_usage(struct shadow *sh)
{
	uint64_t now = sh->pool.npages - sh->pool.nfree;

	atomic_store_explicit(&sh->stats.pages_now, now, memory_order_relaxed);
	if (now > atomic_load_explicit(&sh->stats.pages_peak, memory_order_relaxed))
		atomic_store_explicit(&sh->stats.pages_peak, now, memory_order_relaxed);
}

/* A zeroed page of `kind` out of r, or NIL if r is empty. */
uint32_t pool_take(struct shadow *sh, struct resv *r, enum spage_kind kind)
{
	struct pool *p = &sh->pool;
	uint32_t idx;

	if (r->n == 0) {
		/* More than reserved: the guest changed its tables between a
		 * call's count and its build (racing its own call from another
		 * vCPU). Callers skip what they cannot build. */
		STAT_INC(sh, alloc_failures);
		return NIL;
	}
	pthread_mutex_lock(&p->lock);
	idx = p->free_head;
	p->free_head = p->pages[idx].next;
	p->nfree--;
	p->reserved--;
	p->pages[idx].kind = (uint8_t)kind;
	p->pages[idx].next = NIL;
	p->pages[idx].born = stats_actor.sh == sh ? stats_actor.call : 0;
	atomic_store_explicit(&p->pages[idx].count, 0, memory_order_relaxed);
	atomic_store_explicit(&p->pages[idx].src, GFRAME_NONE, memory_order_relaxed);
	pool_note_usage(sh);
	pthread_mutex_unlock(&p->lock);
	r->n--;
	memset(spage_table(sh, idx), 0, PAGE_SIZE);
	if (kind == SPAGE_ROOT || kind == SPAGE_PDPT || kind == SPAGE_PD || kind == SPAGE_KPDPT ||
	    kind == SPAGE_KPD)
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			atomic_store_explicit(&spage_links(sh, idx)[i], GFRAME_NONE,
					      memory_order_relaxed);
	STAT_INC(sh, pages_allocated);
	return idx;
}

void pool_unreserve(struct shadow *sh, struct resv *r)
{
	if (r->n == 0)
		return;
	pthread_mutex_lock(&sh->pool.lock);
	sh->pool.reserved -= r->n;
	pthread_mutex_unlock(&sh->pool.lock);
	r->n = 0;
}

/* Puts page idx on the free list. Under p->lock. */
static void free_push(struct pool *p, uint32_t idx)
{
	p->pages[idx].kind = SPAGE_FREE;
	p->pages[idx].next = p->free_head;
	p->free_head = idx;
	p->nfree++;
}

/*
 * Frees a page nothing points at any more. A vCPU may still hold it in a
 * TLB or (on a shadow-paging KVM) in KVM's own cache: with cfg.defer_free
 * it waits in limbo until a flush that begins after now is done (flush.c);
 * without (SHADOW_FLUSH_TLB), whatever unlinked it made the vCPU that may
 * have walked it flush before it runs again, so it is free at once.
 * A page that is free already is a corrupted shadow (an entry read back
 * from the pool named it twice): reported, the lists left alone.
 */
void pool_free(struct shadow *sh, uint32_t idx)
{
	struct pool *p = &sh->pool;
	pte_t *t = spage_table(sh, idx);
	unsigned i;

	pthread_mutex_lock(&p->lock);
	if (p->pages[idx].kind == SPAGE_FREE || p->pages[idx].kind == SPAGE_LIMBO) {
		pthread_mutex_unlock(&p->lock);
		shadow_corrupt(sh, "pool page %u freed twice", idx);
		return;
	}
	if (sh->cfg.poison) {
		for (i = 0; i < PT_ENTRIES; i++)
			pte_store(&t[i], SHADOW_POISON);
	}
	if (sh->cfg.defer_free) {
		p->pages[idx].kind = SPAGE_LIMBO;
		p->pages[idx].tag = flush_tag(sh);
		p->pages[idx].next = NIL;
		if (p->limbo_tail == NIL)
			p->limbo_head = idx;
		else
			p->pages[p->limbo_tail].next = idx;
		p->limbo_tail = idx;
		p->nlimbo++;
	} else {
		free_push(p, idx);
	}
	pool_note_usage(sh);
	pthread_mutex_unlock(&p->lock);
	STAT_INC(sh, pages_freed);
}

/* Returns the limbo pages freed before flush number `seq` began to the
 * free list. Tags grow along the list: they are taken under the lock. */
void pool_limbo_release(struct shadow *sh, uint64_t seq)
{
	struct pool *p = &sh->pool;
	uint32_t idx;

	pthread_mutex_lock(&p->lock);
	while (p->limbo_head != NIL && p->pages[p->limbo_head].tag < seq) {
		idx = p->limbo_head;
		p->limbo_head = p->pages[idx].next;
		if (p->limbo_head == NIL)
			p->limbo_tail = NIL;
		p->nlimbo--;
		free_push(p, idx);
	}
	pool_note_usage(sh);
	pthread_mutex_unlock(&p->lock);
}

/* Pages a reservation could still get now (tests use it to size limits). */
uint32_t pool_available(struct shadow *sh)
{
	uint32_t n;

	pthread_mutex_lock(&sh->pool.lock);
	n = sh->pool.nfree - sh->pool.reserved;
	pthread_mutex_unlock(&sh->pool.lock);
	return n;
}

bool shadow_pool_full(struct shadow *sh)
{
	bool full;

	pthread_mutex_lock(&sh->pool.lock);
	full = sh->pool.nfree + sh->pool.nlimbo == sh->pool.npages && sh->pool.reserved == 0;
	pthread_mutex_unlock(&sh->pool.lock);
	return full;
}
