/*
 * Guest-physical memory as the library sees it: one range [mem_gpa,
 * mem_end) with the shadow pool inside it. "RAM" is that range minus the
 * pool; a guest entry may point only into RAM. Every translation of a
 * guest-supplied address comes through here and is overflow-safe.
 *
 * Also the guest frame map counts: for each 4 KiB frame, how many present
 * entries of live pmd pages map it (the seed's "increment page").
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

int gmem_init(struct shadow *sh)
{
	uint64_t frames = sh->cfg.mem_size >> PAGE_SHIFT;

	sh->frame_maps = calloc(frames, sizeof(*sh->frame_maps));
	return sh->frame_maps ? 0 : -ENOMEM;
}

void gmem_fini(struct shadow *sh)
{
	free(sh->frame_maps);
}

/* [gpa, gpa + len) lies inside mem; len > 0. */
bool gmem_in_mem(const struct shadow *sh, uint64_t gpa, uint64_t len)
{
	return len > 0 && gpa >= sh->cfg.mem_gpa && gpa < sh->mem_end && len <= sh->mem_end - gpa;
}

/* [gpa, gpa + len) lies inside mem and does not touch the pool. */
bool gmem_is_ram(const struct shadow *sh, uint64_t gpa, uint64_t len)
{
	if (!gmem_in_mem(sh, gpa, len))
		return false;
	/* gpa + len cannot overflow: it is at most mem_end */
	return gpa + len <= sh->cfg.pool_gpa || gpa >= sh->pool_end;
}

/* The host address of the guest table page at gpa, or NULL if gpa is not a
 * 4 KiB aligned page of RAM. */
pte_t *gmem_table(const struct shadow *sh, uint64_t gpa)
{
	if ((gpa & (PAGE_SIZE - 1)) || !gmem_is_ram(sh, gpa, PAGE_SIZE))
		return NULL;
	return (pte_t *)(sh->mem + (gpa - sh->cfg.mem_gpa));
}

static atomic_uint *frame_count(const struct shadow *sh, uint64_t gpa)
{
	return &sh->frame_maps[(gpa - sh->cfg.mem_gpa) >> PAGE_SHIFT];
}

/*
 * Callers pass frames of shadow entries, which were checked to be RAM when
 * they were derived. The counts need no ordering of their own: a reference
 * is taken before the entry that holds it is published, and dropped after
 * that entry is gone (or its page is unreachable).
 */
void frame_get(struct shadow *sh, uint64_t gpa)
{
	atomic_fetch_add_explicit(frame_count(sh, gpa), 1, memory_order_relaxed);
}

void frame_put(struct shadow *sh, uint64_t gpa)
{
	atomic_fetch_sub_explicit(frame_count(sh, gpa), 1, memory_order_relaxed);
}

unsigned frame_maps(const struct shadow *sh, uint64_t gpa)
{
	if (!gmem_in_mem(sh, gpa, 1))
		return 0;
	return atomic_load_explicit(frame_count(sh, gpa), memory_order_relaxed);
}
