/*
 * Between paging.c and its two back-ends (paging_native.c,
 * paging_shadow.c). paging.c walks and copies tables; a back-end decides
 * how a change reaches the MMU.
 */
#ifndef GUEST_PAGING_BACKEND_H
#define GUEST_PAGING_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "paging.h"

struct pg_backend {
	const char *name;
	/* The fork copy may clear W in the parent's leaves itself (else the
	 * back-end's fork does it). */
	bool fork_wp_parent;
	/* Sets the entry *slot, at `level` (1 = PT) on the walk of va in b->as. */
	void (*set)(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level,
		    uint64_t value);
	void (*commit)(struct pg_batch *b);
	/* as->root is built: register it. 0 or a negative errno. */
	int (*create)(struct as *as);
	/* child->root is the copy of parent's: finish the fork. 0 or a
	 * negative errno (the caller then frees the child's tables). */
	int (*fork)(struct as *parent, struct as *child);
	/* Unregister; the caller frees the tables afterwards. */
	void (*destroy)(struct as *as);
	void (*load)(struct cpu *c, struct as *as);
	bool (*hidden_fault)(struct as *as, uint64_t va, uint64_t err);
};

extern const struct pg_backend pg_native, pg_shadow;

#endif /* GUEST_PAGING_BACKEND_H */
