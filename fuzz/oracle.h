/*
 * What the shadow harnesses hold the shadow library to, written apart from
 * it: a reference walk of the guest's tables, and the rule that every
 * translation the shadow gives a user VA is justified by that walk (the
 * same frame, no W, U or X the walk does not give, W only once the guest
 * entry is dirty). And the bookkeeping that says when the rule binds: not
 * after the guest changed a page table behind the library's back or wrote
 * its pool, which a guest may do but which voids what the library derived.
 */
#ifndef UMBRA_FUZZ_ORACLE_H
#define UMBRA_FUZZ_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shadow;

/* Guest memory as the harness lays it out: RAM [0, ram_size) at host, the
 * pool right above it (the VMM's layout). */
struct oracle {
	struct shadow *sh;
	uint8_t *host;
	uint64_t ram_size;
	uint64_t pool_size;
	/* the guest changed an entry of a table the library holds (a linked
	 * table, a registered root, a kernel-slot table) without a call */
	bool behind;
	bool pool_written; /* something wrote the shadow pool */
};

/* The reference walk's result for one VA. */
struct oracle_walk {
	bool present;
	uint64_t frame; /* 4 KiB frame of the VA */
	bool w, u, x;   /* effective over the walk */
	bool dirty;     /* D of the leaf entry */
};

void oracle__walk(const struct oracle *o, uint64_t root, uint64_t va, struct oracle_walk *w);

/*
 * A guest store of `value` to the 8 bytes at guest-physical gpa (RAM or
 * pool; the caller has bounds-checked it): records whether it voids the
 * rule, then stores. A store to a table the library holds that changes
 * nothing voids nothing.
 */
void oracle__guest_store(struct oracle *o, uint64_t gpa, uint64_t value);
/* The guest (or a page hypercall) is about to overwrite the RAM page at
 * gpa as a whole. */
void oracle__guest_page(struct oracle *o, uint64_t gpa);

/*
 * The checks after a call: the library's own checker (sound while the
 * rule binds), and the reference walk at each of the n VAs of each of the
 * address spaces (handle, root). Returns true if all hold; false, with
 * why, if the library broke a promise the guest did not void. A shadow
 * that reports itself corrupt after a pool write is the promised answer.
 */
struct oracle_as {
	uint32_t handle;
	uint64_t root;
};
bool oracle__check(struct oracle *o, const struct oracle_as *as, size_t nas, const uint64_t *va,
		   size_t nva, char *why, size_t why_len);

#endif
