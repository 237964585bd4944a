/*
 * Address spaces: the handle table, create, destroy, and loading on vCPUs.
 *
 * A handle is (generation << 16) | (slot index + 1). Slots are
 * type-stable and their generation moves at destroy, so a stale handle
 * finds its slot, locks it, and is refused (-EBADF) instead of naming the
 * slot's next tenant. A slot whose generation would wrap is retired for
 * good: no handle ever names two address spaces (65536 tenants a slot,
 * max_as slots). A slot is claimed lock-free (as.claimed), so that
 * creating an address space, a fork's child included, takes no lock that
 * is shared between address spaces.
 *
 * The loaded_on rule (docs/architecture.md, "TLBs and freed pages"): an
 * address space is loaded on at most one vCPU, and every operation on it
 * comes from that vCPU or while it is loaded on none; otherwise -EBUSY.
 * Calls that name the same cpu must not run concurrently (one thread per
 * vCPU), which is what makes sh->loaded[cpu] the caller's own.
 */
#include <errno.h>

#include "internal.h"

#define HANDLE_SLOT_MASK 0xffffu

static uint32_t as_handle(const struct shadow *sh, const struct as *as)
{
	return (uint32_t)as->gen << 16 | (uint32_t)(as - sh->as + 1);
}

/* Locks the live address space `handle` names; -EBADF if none. */
int as_lookup(struct shadow *sh, uint32_t handle, struct as **out)
{
	uint32_t slot = handle & HANDLE_SLOT_MASK;
	struct as *as;

	if (slot == 0 || slot > sh->cfg.max_as)
		return -EBADF;
	as = &sh->as[slot - 1];
	pthread_mutex_lock(&as->lock);
	if (!as->live || as->gen != handle >> 16) {
		pthread_mutex_unlock(&as->lock);
		return -EBADF;
	}
	*out = as;
	return 0;
}

/* as_lookup() for an operation from `cpu`: -EINVAL for a cpu out of
 * range, -EBUSY if the address space is loaded on another vCPU. */
int as_get(struct shadow *sh, unsigned cpu, uint32_t handle, struct as **out)
{
	struct as *as;
	int rc;

	if (cpu >= sh->cfg.max_cpus)
		return -EINVAL;
	if (shadow_is_broken(sh))
		return -EUCLEAN;
	stats_act(sh, cpu);
	rc = as_lookup(sh, handle, &as);
	if (rc)
		return rc;
	if (as->loaded_on >= 0 && as->loaded_on != (int)cpu) {
		as_unlock(as);
		return -EBUSY;
	}
	*out = as;
	return 0;
}

void as_unlock(struct as *as)
{
	pthread_mutex_unlock(&as->lock);
}

/* Claims a free slot for a new address space; -ENOSPC if max_as are
 * alive (or being created). */
int as_claim(struct shadow *sh, struct as **out)
{
	unsigned n = sh->cfg.max_as, start, i;
	struct as *as;
	bool expected;

	start = atomic_load_explicit(&sh->as_hint, memory_order_relaxed) % n;
	for (i = 0; i < n; i++) {
		as = &sh->as[(start + i) % n];
		if (atomic_load_explicit(&as->claimed, memory_order_relaxed))
			continue;
		expected = false;
		if (atomic_compare_exchange_strong_explicit(&as->claimed, &expected, true,
							    memory_order_acquire,
							    memory_order_relaxed)) {
			atomic_store_explicit(&sh->as_hint, (start + i + 1) % n,
					      memory_order_relaxed);
			*out = as;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Gives a claimed slot back; release: the next claimer sees it clean. */
void as_unclaim(struct as *as)
{
	atomic_store_explicit(&as->claimed, false, memory_order_release);
}

/* Makes a claimed slot a live address space and returns its handle. Takes
 * the slot's lock; the caller holds no other address-space lock. */
uint32_t as_publish(struct shadow *sh, struct as *as, uint64_t guest_root, uint32_t root)
{
	uint32_t handle;

	pthread_mutex_lock(&as->lock);
	as->guest_root = guest_root;
	as->root = root;
	as->loaded_on = -1;
	as->live = true;
	handle = as_handle(sh, as);
	pthread_mutex_unlock(&as->lock);
	STAT_INC(sh, address_spaces_now);
	return handle;
}

/* A new shadow root out of r, with the kernel and fixed slots linked. */
uint32_t as_new_root(struct shadow *sh, struct resv *r)
{
	uint32_t root = pool_take(sh, r, SPAGE_ROOT);

	if (root == NIL)
		return NIL;
	sentry_set(sh, spage_table(sh, root) + sh->cfg.kernel_slot, kmirror_link(sh));
	if (sh->cfg.fixed_entry)
		sentry_set(sh, spage_table(sh, root) + sh->cfg.fixed_slot, sh->cfg.fixed_entry);
	return root;
}

int shadow_as_create(struct shadow *sh, unsigned cpu, uint64_t guest_root, uint32_t *handle)
{
	struct resv r = {0};
	struct as *as;
	uint32_t root;
	int rc;

	if (cpu >= sh->cfg.max_cpus || !handle)
		return -EINVAL;
	if (shadow_is_broken(sh))
		return -EUCLEAN;
	stats_act(sh, cpu);
	rc = groot_check(sh, guest_root);
	if (rc)
		return rc;
	rc = as_claim(sh, &as);
	if (rc)
		return rc;
	rc = table_link(sh, guest_root, 4, false);
	if (rc)
		goto unclaim;
	rc = pool_reserve(sh, &r, 1);
	if (rc)
		goto unlink;
	rc = kmirror_get(sh, guest_root);
	if (rc) {
		pool_unreserve(sh, &r);
		goto unlink;
	}
	root = as_new_root(sh, &r);
	pool_unreserve(sh, &r);
	*handle = as_publish(sh, as, guest_root, root);
	return 0;
unlink:
	table_unlink(sh, guest_root);
unclaim:
	as_unclaim(as);
	return rc;
}

/* Frees a live address space's shadow and slot; its lock is held and is
 * released. A slot whose generation has come round is retired: it stays
 * claimed for good. */
static void as_free(struct shadow *sh, struct as *as)
{
	stree_free(sh, as);
	as->live = false;
	as->gen++;
	pthread_mutex_unlock(&as->lock);
	if (as->gen != 0)
		as_unclaim(as);
	kmirror_put(sh);
	atomic_fetch_sub_explicit(&sh->stats.address_spaces_now, 1, memory_order_relaxed);
}

int shadow_as_destroy(struct shadow *sh, unsigned cpu, uint32_t handle)
{
	struct as *as;
	int rc;

	rc = as_get(sh, cpu, handle, &as);
	if (rc)
		return rc;
	if (as->loaded_on >= 0) {
		as_unlock(as);
		return -EBUSY;
	}
	as_free(sh, as);
	return 0;
}

/* Forgets that `prev` (a handle, LOADED_KERNEL or LOADED_NONE) is loaded
 * on cpu. */
static void as_unload(struct shadow *sh, unsigned cpu, uint64_t prev)
{
	struct as *as;

	if (prev == LOADED_KERNEL) {
		kmirror_put(sh);
	} else if (prev != LOADED_NONE && !as_lookup(sh, (uint32_t)prev, &as)) {
		if (as->loaded_on == (int)cpu)
			as->loaded_on = -1;
		as_unlock(as);
	}
}

int shadow_switch(struct shadow *sh, unsigned cpu, uint32_t handle, uint64_t *root_gpa)
{
	uint64_t prev;
	struct as *as;
	int rc;

	if (cpu >= sh->cfg.max_cpus || !root_gpa)
		return -EINVAL;
	if (shadow_is_broken(sh))
		return -EUCLEAN;
	stats_act(sh, cpu);
	prev = atomic_load_explicit(&sh->loaded[cpu], memory_order_relaxed);
	if (handle == 0) {
		if (prev != LOADED_KERNEL && !kmirror_tryref(sh))
			return -ENOENT;
		*root_gpa = kmirror_root(sh);
		if (prev != LOADED_KERNEL) {
			atomic_store_explicit(&sh->loaded[cpu], LOADED_KERNEL,
					      memory_order_relaxed);
			as_unload(sh, cpu, prev);
		}
		return 0;
	}
	rc = as_get(sh, cpu, handle, &as);
	if (rc)
		return rc;
	as->loaded_on = (int)cpu;
	*root_gpa = spage_gpa(sh, as->root);
	as_unlock(as);
	if (prev != handle) {
		atomic_store_explicit(&sh->loaded[cpu], handle, memory_order_relaxed);
		as_unload(sh, cpu, prev);
	}
	return 0;
}

int shadow_unload(struct shadow *sh, unsigned cpu)
{
	uint64_t prev;

	if (cpu >= sh->cfg.max_cpus)
		return -EINVAL;
	stats_act(sh, cpu);
	prev = atomic_exchange_explicit(&sh->loaded[cpu], LOADED_NONE, memory_order_relaxed);
	as_unload(sh, cpu, prev);
	return 0;
}

/* shadow_destroy(): everything goes, loaded or not; no other call runs. */
void as_teardown_all(struct shadow *sh)
{
	unsigned i;

	for (i = 0; i < sh->cfg.max_cpus; i++) {
		if (atomic_load_explicit(&sh->loaded[i], memory_order_relaxed) == LOADED_KERNEL)
			kmirror_put(sh);
		atomic_store_explicit(&sh->loaded[i], LOADED_NONE, memory_order_relaxed);
	}
	for (i = 0; i < sh->cfg.max_as; i++) {
		pthread_mutex_lock(&sh->as[i].lock);
		if (sh->as[i].live)
			as_free(sh, &sh->as[i]);
		else
			pthread_mutex_unlock(&sh->as[i].lock);
	}
}
