/*
 * The paravirtual shadow back-end (umbra with UMBRA_CPUID_F_SHADOW; the
 * contract is in docs/abi.md and docs/architecture.md). The kernel never
 * writes a table of a registered address space: it queues
 * umbra_pt_updates and hands them to the VMM with UMBRA_HC_AS_UPDATE,
 * which writes the guest entry and brings the shadow in line (an in-place
 * unshare asks it to write-protect the table below too,
 * UMBRA_PT_WP_BELOW). It never loads CR3 either: UMBRA_HC_AS_SWITCH does.
 * Fork: paging.c has built the child's tree in fresh pages, sharing the
 * parent's tables or copying them (clearing W in the child only);
 * UMBRA_HC_AS_FORK checks it and write-protects the parent's side.
 *
 * A VMM error on a call that a correct kernel makes is a bug on one side
 * or the other: the kernel panics with the error rather than go on with
 * tables it no longer knows.
 */
#include "console.h"
#include "cpu.h"
#include "paging_backend.h"
#include "platform.h"
#include "uapi.h"

static void shadow_commit(struct pg_batch *b)
{
	if (!b->n)
		return;
	uint64_t first_error = 0;
	int64_t done = hypercall(UMBRA_HC_AS_UPDATE, b->as->handle, (uint64_t)b->u, b->n, 0, 0,
				 &first_error);
	if (done != (int64_t)b->n)
		panic("UMBRA_HC_AS_UPDATE(%u, %u updates) applied %ld; error %ld", b->as->handle,
		      b->n, done, (int64_t)first_error);
	b->n = 0;
}

static void queue(struct pg_batch *b, uint64_t va, unsigned level, uint64_t value, uint32_t flags)
{
	if (b->n == PG_BATCH)
		panic("shadow: update batch overflow");
	b->u[b->n++] =
		(struct umbra_pt_update){.va = va, .value = value, .level = level, .flags = flags};
}

static void shadow_set(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level,
		       uint64_t value)
{
	(void)slot;
	queue(b, va, level, value, 0);
}

static void shadow_set_wp_below(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level,
				uint64_t value)
{
	(void)slot;
	queue(b, va, level, value, UMBRA_PT_WP_BELOW);
}

static int shadow_create(struct as *as)
{
	int64_t h = hypercall(UMBRA_HC_AS_CREATE, (uint64_t)as->root, 0, 0, 0, 0, 0);
	if (h <= 0)
		return h < 0 ? (int)h : -EINVAL;
	as->handle = (uint32_t)h;
	return 0;
}

static int shadow_fork(struct as *parent, struct as *child)
{
	int64_t h = hypercall(UMBRA_HC_AS_FORK, parent->handle, (uint64_t)child->root, 0, 0, 0, 0);
	if (h == -UMBRA_ENOMEM || h == -UMBRA_ENOSPC)
		return -ENOMEM;
	if (h <= 0)
		panic("UMBRA_HC_AS_FORK(%u, %p): %ld", parent->handle, (void *)child->root, h);
	child->handle = (uint32_t)h;
	return 0;
}

static void shadow_destroy(struct as *as)
{
	int64_t r = hypercall(UMBRA_HC_AS_DESTROY, as->handle, 0, 0, 0, 0, 0);
	if (r != 0)
		panic("UMBRA_HC_AS_DESTROY(%u): %ld", as->handle, r);
}

static void shadow_load(struct cpu *c, struct as *as)
{
	uint32_t h = as ? as->handle : UMBRA_AS_KERNEL;
	int64_t r = hypercall(UMBRA_HC_AS_SWITCH, h, 0, 0, 0, 0, 0);
	if (r != 0)
		panic("UMBRA_HC_AS_SWITCH(%u): %ld", h, r);
	c->loaded = as;
}

/* The #PF error-code bits that UMBRA_HC_AS_FAULT takes (others are refused). */
#define PF_BITS (UMBRA_PF_PRESENT | UMBRA_PF_WRITE | UMBRA_PF_USER | UMBRA_PF_RSVD | UMBRA_PF_FETCH)

static bool shadow_hidden_fault(struct as *as, uint64_t va, uint64_t err)
{
	int64_t r = hypercall(UMBRA_HC_AS_FAULT, as->handle, va, err & PF_BITS, 0, 0, 0);
	switch (r) {
	case UMBRA_FAULT_FIXED:
	case UMBRA_FAULT_SPURIOUS:
		return true;
	case UMBRA_FAULT_GUEST:
		return false;
	default:
		panic("UMBRA_HC_AS_FAULT(%u, %lx, %lx): %ld", as->handle, va, err, r);
	}
}

const struct pg_backend pg_shadow = {
	.name = "shadow",
	.writes_tables = false,
	.set = shadow_set,
	.set_wp_below = shadow_set_wp_below,
	.commit = shadow_commit,
	.create = shadow_create,
	.fork = shadow_fork,
	.destroy = shadow_destroy,
	.load = shadow_load,
	.hidden_fault = shadow_hidden_fault,
};
