/*
 * Between paging.c and its two back-ends (paging_native.c,
 * paging_shadow.c). paging.c walks, copies and shares tables; a back-end
 * decides how a change reaches the MMU.
 */
#ifndef GUEST_PAGING_BACKEND_H
#define GUEST_PAGING_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "paging.h"

struct pg_backend {
	const char *name;
	/* The kernel writes the tables of a registered address space itself
	 * (native): fork write-protects the parent's entries, an in-place
	 * unshare its table's, then flush. Else (shadow) only the VMM writes
	 * them: AS_FORK and UMBRA_PT_WP_BELOW do that part. */
	bool writes_tables;
	/* Sets the entry *slot, at `level` (1 = PT) on the walk of va in b->as.
	 * b has room for one more update (paging.c commits first). */
	void (*set)(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level,
		    uint64_t value);
	/* !writes_tables: set, then clear W in the entries of the table that
	 * value points at (UMBRA_PT_WP_BELOW). */
	void (*set_wp_below)(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level,
			     uint64_t value);
	void (*commit)(struct pg_batch *b);
	/* writes_tables: the kernel wrote entries of as (loaded on this
	 * CPU) directly; make this CPU's MMU forget what it cached. */
	void (*flush)(struct as *as);
	/* as->root is built: register it. 0 or a negative errno. */
	int (*create)(struct as *as);
	/* child->root mirrors the parent's (as_fork): finish the fork. 0 or a
	 * negative errno (the caller then frees the child's tables). */
	int (*fork)(struct as *parent, struct as *child);
	/* Unregister; the caller frees the tables afterwards. */
	void (*destroy)(struct as *as);
	void (*load)(struct cpu *c, struct as *as);
	bool (*hidden_fault)(struct as *as, uint64_t va, uint64_t err);
};

extern const struct pg_backend pg_native, pg_shadow;

#endif /* GUEST_PAGING_BACKEND_H */
