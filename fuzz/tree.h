/*
 * The guest side of what the shadow library's callers do to their own
 * tables, for the soundness harness: map a page (making the tables on the
 * way), the child tree of a fork (as the guest kernel builds it, sharing
 * tables at one level or none), and the copy of a table it unshares. The
 * tables come from a range of frames the harness hands out; every store
 * goes through the oracle, which tells a store to a table the library
 * holds from one to a fresh page.
 */
#ifndef UMBRA_FUZZ_TREE_H
#define UMBRA_FUZZ_TREE_H

#include <stdbool.h>
#include <stdint.h>

struct oracle;

struct fuzz_tree {
	struct oracle *o;
	uint64_t next, end; /* frames still to hand out: [next, end) */
	unsigned kernel_slot;
};

/* A fresh, zeroed frame; 0 once the range is used up. */
uint64_t fuzz_tree__frame(struct fuzz_tree *t);

/*
 * Stores `leaf` as the entry at `level` (1, or 2 for a 2 MiB page) for va
 * under root, making missing tables (P, W, U, A) on the way. Nothing if a
 * table on the way is outside RAM, a leaf stands in the way, or the frames
 * ran out.
 */
void fuzz_tree__map(struct fuzz_tree *t, uint64_t root, uint64_t va, unsigned level, uint64_t leaf);

/*
 * The child root of a fork of the tree under root: private copies of its
 * tables, except that links to tables at level `share` (1: PTs, 2: PDs;
 * 0: none) point at the parent's tables, read-only; user leaves lose W;
 * the kernel slot's entry is the parent's. 0 if the frames ran out.
 */
uint64_t fuzz_tree__fork(struct fuzz_tree *t, uint64_t root, unsigned share);

/* A copy of the table at `level` for the guest's unshare: its user leaves
 * (level 1) or its links read-only. 0 if the frames ran out. */
uint64_t fuzz_tree__copy_table(struct fuzz_tree *t, uint64_t table, unsigned level);

/* The guest entry at `level` for va under root, and where it is (*gpa);
 * false if a table above is missing, outside RAM, or a leaf. */
bool fuzz_tree__entry(const struct fuzz_tree *t, uint64_t root, uint64_t va, unsigned level,
		      uint64_t *gpa, uint64_t *entry);

#endif
