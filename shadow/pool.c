/*
 * The shadow pool: the pages of guest-physical memory that hold shadow
 * tables, a free list, and the limbo where freed pages wait for a flush.
 *
 * Allocation is two-step so that every operation can be all-or-nothing:
 * pool_reserve() promises n pages or fails having changed nothing, and
 * pool_take() then cannot fail. What is left of a reservation goes back
 * with pool_unreserve().
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int pool_init(struct shadow *sh)
{
	struct pool *p = &sh->pool;
	uint32_t i;

	p->npages = (uint32_t)(sh->cfg.pool_size >> PAGE_SHIFT);
	p->pages = calloc(p->npages, sizeof(*p->pages));
	if (!p->pages)
		return -ENOMEM;
	if (pthread_mutex_init(&p->lock, NULL)) {
		free(p->pages);
		return -ENOMEM;
	}
	for (i = 0; i < p->npages; i++) {
		p->pages[i].kind = SPAGE_FREE;
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

/* A zeroed page of `kind` out of r, which must hold one. */
uint32_t pool_take(struct shadow *sh, struct resv *r, enum spage_kind kind)
{
	struct pool *p = &sh->pool;
	uint32_t idx;

	assert(r->n > 0);
	pthread_mutex_lock(&p->lock);
	idx = p->free_head;
	p->free_head = p->pages[idx].next;
	p->nfree--;
	p->reserved--;
	p->pages[idx].kind = (uint8_t)kind;
	p->pages[idx].next = NIL;
	atomic_store_explicit(&p->pages[idx].count, 0, memory_order_relaxed);
	pool_note_usage(sh);
	pthread_mutex_unlock(&p->lock);
	r->n--;
	memset(spage_table(sh, idx), 0, PAGE_SIZE);
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
 * without, it is free at once and the flush generation moves so that the
 * VMM flushes before the guest runs again.
 */
void pool_free(struct shadow *sh, uint32_t idx)
{
	struct pool *p = &sh->pool;
	pte_t *t = spage_table(sh, idx);
	unsigned i;

	if (sh->cfg.poison) {
		for (i = 0; i < PT_ENTRIES; i++)
			pte_store(&t[i], SHADOW_POISON);
	}
	pthread_mutex_lock(&p->lock);
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
		flush_advance(sh);
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
