/*
 * x86-64 table geometry, shared by the files that walk user tables
 * (paging.c, ptshare.c). `level` is the level of a table's entries:
 * 1 = PT (4 KiB leaves), 2 = PD, 3 = PDPT, 4 = PML4.
 */
#ifndef GUEST_PGTABLE_H
#define GUEST_PGTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "paging.h"
#include "x86.h"

#define PTE_TABLE (PTE_P | PTE_W | PTE_U) /* a user table entry: the leaves decide */

static inline unsigned pt_index(uint64_t va, unsigned level)
{
	return (va >> (PGSHIFT + 9 * (level - 1))) & 511;
}

/* Bytes mapped by one entry at `level`. */
static inline uint64_t entry_span(unsigned level)
{
	return 1ull << (PGSHIFT + 9 * (level - 1));
}

static inline uint64_t *table_of(uint64_t entry)
{
	return (uint64_t *)(entry & PTE_ADDR);
}

/*
 * Range r[k]'s part of the table at `level` that maps from base, as the
 * entry indices [*from, *to), less the indices an earlier range already
 * had (*next: one past the last index handed out; start it at 0). The
 * ranges are sorted and disjoint, so two of them can share only the entry
 * at a boundary, and this hands out each entry once. False if r[k]
 * leaves nothing new here.
 */
static inline bool range_slice(const struct vrange *r, unsigned k, uint64_t base, unsigned level,
			       unsigned *next, unsigned *from, unsigned *to)
{
	uint64_t end = base + 512 * entry_span(level);
	uint64_t s = r[k].start > base ? r[k].start : base;
	uint64_t e = r[k].end < end ? r[k].end : end;
	if (s >= e)
		return false;
	*from = pt_index(s, level);
	*to = pt_index(e - 1, level) + 1;
	if (*from < *next)
		*from = *next;
	if (*from >= *to)
		return false;
	*next = *to;
	return true;
}

#endif /* GUEST_PGTABLE_H */
